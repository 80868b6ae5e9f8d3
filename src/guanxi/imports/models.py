"""Import jobs: an uploaded file, its mapping to an entity's fields, and what each row became."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from guanxi.platform.models import TenantModel


def upload_path(instance, filename: str) -> str:
    """MEDIA_ROOT/imports/<tenant id>/<random>/<original name>: names never collide or leak."""
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in filename)[-120:] or "upload"
    return f"imports/{instance.tenant_id}/{uuid.uuid4().hex}/{safe}"


class ImportJob(TenantModel):
    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        MAPPED = "mapped", _("Mapped")
        PREVIEWING = "previewing", _("Checking")
        PREVIEWED = "previewed", _("Checked")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        UNDOING = "undoing", _("Undoing")
        UNDONE = "undone", _("Undone")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"
        VCARD = "vcard", "vCard"

    ACTIVE = (Status.PREVIEWING, Status.QUEUED, Status.RUNNING, Status.UNDOING)

    entity = models.CharField(_("record type"), max_length=60)
    file = models.FileField(_("file"), upload_to=upload_path, max_length=300)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.BigIntegerField(_("size"), default=0)
    format = models.CharField(_("format"), max_length=10, choices=Format.choices)
    encoding = models.CharField(_("encoding"), max_length=30, blank=True)
    delimiter = models.CharField(_("delimiter"), max_length=2, blank=True)
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    header = models.JSONField(_("columns"), default=list, blank=True)
    # {"<column index>": "<target key>"}; unmapped columns are left out.
    mapping = models.JSONField(_("mapping"), default=dict, blank=True)
    # {"policy": "skip"|"update"|"create", "rules": [...], "create_related": bool, "phone_region": "CN"}
    options = models.JSONField(_("options"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    created = models.PositiveIntegerField(pgettext_lazy("import result", "created"), default=0)
    updated = models.PositiveIntegerField(pgettext_lazy("import result", "updated"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    # Checkpoint: the last file row (1-based, header included) whose outcome is committed.
    next_row = models.PositiveIntegerField(default=0)
    preview = models.JSONField(default=dict, blank=True)
    run_token = models.CharField(max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    run_started_at = models.DateTimeField(null=True, blank=True)
    run_start_processed = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Workers that started the current dry run (a stale one is restarted up to a limit, see services).
    preview_attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(_("error"), blank=True)
    error_file = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("by")
    )
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"]),
            models.Index(fields=["tenant", "created_by", "-created_at"]),
            models.Index(fields=["tenant", "status", "heartbeat_at"]),
        ]

    def __str__(self):
        return f"#{self.pk} {self.original_name}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def percent(self) -> int:
        if self.status in (self.Status.DONE, self.Status.UNDONE):
            return 100
        total = self.total_rows or 0
        done = self.preview.get("processed", 0) if self.status == self.Status.PREVIEWING else self.processed
        return min(100, int(done * 100 / total)) if total else 0

    @property
    def preview_waiting(self) -> bool:
        """A dry run asked for and not yet started by a worker (its heartbeat is set when one takes it)."""
        return self.status == self.Status.PREVIEWING and self.heartbeat_at is None

    @property
    def preview_stalled(self) -> bool:
        """A dry run whose worker stopped beating; the sweeper restarts it, the user may run it again."""
        from .engine import STALE_AFTER

        return (
            self.status == self.Status.PREVIEWING
            and self.heartbeat_at is not None
            and self.heartbeat_at < timezone.now() - STALE_AFTER
        )

    @property
    def preview_error(self) -> str:
        """Why the last dry run did not finish, in the reader's language ("" if it did not fail)."""
        preview = self.preview or {}
        if preview.get("stalled"):
            return gettext(
                "Checking the file stopped before the end several times (the worker running it was stopped). "
                "Run the preview again; if it stops again, split the file into smaller ones."
            )
        return preview.get("error") or ""

    @property
    def rate(self) -> float | None:
        """Rows per second of the current (or last) run."""
        if not self.run_started_at:
            return None
        end = self.finished_at if self.finished_at and self.finished_at > self.run_started_at else timezone.now()
        seconds = (end - self.run_started_at).total_seconds()
        done = self.processed - self.run_start_processed
        return done / seconds if seconds > 0 and done > 0 else None

    @property
    def eta_seconds(self) -> int | None:
        rate = self.rate
        if not rate or not self.total_rows or self.status != self.Status.RUNNING:
            return None
        return max(0, int((self.total_rows - self.processed) / rate))


class ImportRow(TenantModel):
    """What one row of the file became; drives undo, resume and the error file."""

    class Action(models.TextChoices):
        CREATED = "created", pgettext_lazy("import result", "Created")
        UPDATED = "updated", pgettext_lazy("import result", "Updated")
        SKIPPED = "skipped", _("Skipped")
        FAILED = "failed", _("Failed")

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rows")
    row_number = models.PositiveIntegerField(_("row"))
    action = models.CharField(_("result"), max_length=10, choices=Action.choices)
    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    object_id = models.BigIntegerField(null=True, blank=True)
    # A record created because of the row (e.g. a contact's new account), not the row's own record.
    related = models.BooleanField(default=False)
    # Updates: {field: [before, after]} to revert; failed rows: the original cells.
    changes = models.JSONField(null=True, blank=True)
    values = models.JSONField(null=True, blank=True)
    error = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("imported row")
        verbose_name_plural = _("imported rows")
        indexes = [
            models.Index(fields=["tenant", "job", "action", "row_number"]),
            models.Index(fields=["tenant", "job", "content_type", "object_id"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "job", "row_number"],
                condition=models.Q(related=False),
                name="imports_row_once",
            )
        ]


class SavedMapping(TenantModel):
    """A reusable column mapping for an entity: {normalised header: target key} plus options."""

    entity = models.CharField(_("record type"), max_length=60)
    name = models.CharField(_("name"), max_length=80)
    columns = models.JSONField(_("columns"), default=dict)
    options = models.JSONField(_("options"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("saved mapping")
        verbose_name_plural = _("saved mappings")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "entity", "name"], name="imports_saved_mapping_unique")
        ]

    def __str__(self):
        return self.name
