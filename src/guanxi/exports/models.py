"""Exports prepared in the background: what was asked (list, filters, format), progress, and the private file.

Files live under ``EXPORT_FILES_ROOT/<tenant id>/<random>/`` (outside ``MEDIA_ROOT``, no URL) and
are served only by ``exports:download`` / the API download, to the user who asked for them, until
they expire (``EXPORT_FILE_DAYS``; the ``expire_exports`` job deletes them), or until the user
leaves the tenant (deactivated: ``exports_discard_for_user``; deleted: the row and its file go).
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.platform.models import TenantModel


class ExportStorage(FileSystemStorage):
    """``EXPORT_FILES_ROOT`` (read when used, so tests can move it), without a base URL."""

    def __init__(self):
        super().__init__(base_url=None)

    @property
    def base_location(self):
        return str(settings.EXPORT_FILES_ROOT)

    @property
    def location(self):
        import os

        return os.path.abspath(self.base_location)

    def url(self, name):
        raise ValueError("Export files have no public URL; use exports:download.")


export_storage = ExportStorage()


def get_export_storage():
    return export_storage


class ExportFile(TenantModel):
    """One export prepared by the background worker for the user who asked for it."""

    class Status(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("export status", "Waiting")
        RUNNING = "running", pgettext_lazy("export status", "Preparing")
        DONE = "done", pgettext_lazy("export status", "Ready")
        FAILED = "failed", pgettext_lazy("export status", "Failed")
        EXPIRED = "expired", pgettext_lazy("export status", "Expired")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    entity = models.CharField(_("record type"), max_length=60)
    format = models.CharField(_("format"), max_length=10)
    # The list's parameters as captured from the request (filters, columns, sort): the worker
    # evaluates them again as the same user, with the same permissions and restricted fields.
    query = models.TextField(blank=True)
    filters = models.TextField(_("filters"), blank=True)  # as audited: the request's filter string
    language = models.CharField(max_length=20, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    meta = models.JSONField(default=dict, blank=True)  # ip, user agent, request id, via of the request
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    rows = models.PositiveIntegerField(_("rows written"), default=0)
    complete = models.BooleanField(default=True)  # False: stopped at the format's row limit
    file = models.FileField(storage=get_export_storage, max_length=300, blank=True)
    file_name = models.CharField(_("file name"), max_length=255)
    size = models.BigIntegerField(_("size"), default=0)
    error = models.TextField(_("error"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("requested by")
    )
    created_at = models.DateTimeField(_("requested"), default=timezone.now, editable=False)
    # When its task was last handed to the queue, and the task's id when the backend gives one:
    # an export still waiting long after (``LOST_AFTER``) lost its task and is queued again.
    queued_at = models.DateTimeField(default=timezone.now)
    task_id = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The worker run that owns the job: a run whose worker was given up on cannot finish it.
    run_token = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("available until"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "requested_by", "-created_at"]),
            models.Index(fields=["tenant", "status", "expires_at"]),
        ]

    def __str__(self):
        return self.file_name

    def get_absolute_url(self) -> str:
        return reverse("exports:detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(100, int(self.rows * 100 / self.total_rows)) if self.total_rows else 0

    @property
    def entity_label(self) -> str:
        from guanxi.platform import registry

        try:
            return str(registry.entity(self.entity).label_plural)
        except KeyError:
            return self.entity
