"""Duplicate candidates found by the scans, the scans themselves, and where merged records went."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.platform.models import TenantModel


class DuplicateCandidate(TenantModel):
    """Two records of one entity that look like the same customer (a pair; pairs form groups)."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("duplicate status", "Open")
        DISMISSED = "dismissed", _("Not duplicates")
        MERGED = "merged", _("Merged")

    entity = models.CharField(_("record type"), max_length=60)
    first_id = models.BigIntegerField()  # the smaller record id
    second_id = models.BigIntegerField()
    group_id = models.BigIntegerField()  # smallest record id of its group of connected open pairs
    score = models.PositiveSmallIntegerField(pgettext_lazy("similarity", "score"))
    reasons = models.JSONField(_("reasons"), default=list)  # [{"kind": "email", "value": …, "similarity": …}]
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    found_at = models.DateTimeField(_("found"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True, editable=False)
    resolved_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        verbose_name = _("duplicate candidate")
        verbose_name_plural = _("duplicate candidates")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "entity", "first_id", "second_id"], name="dedupe_pair_unique"),
            models.CheckConstraint(condition=models.Q(first_id__lt=models.F("second_id")), name="dedupe_pair_ordered"),
        ]
        indexes = [
            models.Index(fields=["tenant", "entity", "status", "-score"]),
            models.Index(fields=["tenant", "entity", "group_id"]),
            models.Index(fields=["tenant", "entity", "second_id"]),
        ]

    def __str__(self):
        return f"{self.entity} #{self.first_id} ~ #{self.second_id} ({self.score})"

    @property
    def record_ids(self) -> list[int]:
        return [self.first_id, self.second_id]


class DuplicateScan(TenantModel):
    """One run of the duplicate detection over a tenant's accounts and contacts."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        MANUAL = "manual", _("On demand")
        NIGHTLY = "nightly", _("Nightly")

    trigger = models.CharField(
        pgettext_lazy("scan trigger", "started"), max_length=10, choices=Trigger.choices, default=Trigger.MANUAL
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(pgettext_lazy("scan", "requested"), default=timezone.now, editable=False)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    stats = models.JSONField(default=dict, blank=True)  # {entity: {pairs, comparisons, skipped_blocks, …}}
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("duplicate scan")
        verbose_name_plural = _("duplicate scans")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"])]

    def __str__(self):
        return f"{self.get_trigger_display()} {self.created_at:%Y-%m-%d %H:%M} ({self.status})"


class MergeRedirect(TenantModel):
    """A record merged into another: its old URL leads to the surviving record."""

    entity = models.CharField(max_length=60)
    old_id = models.BigIntegerField()
    new_id = models.BigIntegerField()
    merged_at = models.DateTimeField(default=timezone.now, editable=False)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "entity", "old_id"], name="dedupe_redirect_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "entity", "new_id"])]

    def __str__(self):
        return f"{self.entity} #{self.old_id} → #{self.new_id}"
