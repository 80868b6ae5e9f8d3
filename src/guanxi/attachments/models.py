"""Files attached to any registered record (receipts, signed contracts, …), stored per tenant.

Files live under ``MEDIA_ROOT/attachments/<tenant id>/…`` with random names and are only ever
served by ``attachments:download``, which checks that the user may see the record the file
belongs to (``permissions.get_for``); there is no public URL.
"""

from __future__ import annotations

import os
import uuid

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.platform.models import TenantModel


class PrivateStorage(FileSystemStorage):
    """``MEDIA_ROOT/attachments`` (read when used, so tests can move it), without a base URL: files are
    reachable through the download view only."""

    def __init__(self):
        super().__init__(base_url=None)

    @property
    def base_location(self):
        return os.path.join(settings.MEDIA_ROOT, "attachments")

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def url(self, name):
        raise ValueError("Attachments have no public URL; use attachments:download.")


private_storage = PrivateStorage()


def get_private_storage():
    return private_storage


def _upload_to(instance: Attachment, filename: str) -> str:
    extension = os.path.splitext(filename)[1].lower()[:10]
    now = timezone.now()
    return f"{instance.tenant_id}/{now:%Y}/{now:%m}/{uuid.uuid4().hex}{extension}"


class Attachment(TenantModel):
    """A file attached to one record of a registered entity."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    file = models.FileField(_("file"), storage=get_private_storage, upload_to=_upload_to, max_length=200)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    mime_type = models.CharField(pgettext_lazy("file", "content type"), max_length=100)
    description = models.CharField(_("description"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["-uploaded_at", "-id"]
        indexes = [models.Index(fields=["tenant", "content_type", "object_id", "-uploaded_at"])]

    def __str__(self):
        return self.original_name

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")

    @property
    def can_show_inline(self) -> bool:
        return self.is_image or self.mime_type == "application/pdf"
