"""Attachments: which entities take files, upload / delete (permission-checked, audited), reads.

An app makes its records take files with :func:`register_attachable` in its ``AppConfig.ready``;
that also adds an "Attachments" tab (a related panel) to the record's detail page. Who may see a
record's files is who may see the record (``permissions.get_for``); who may add or remove them is
who may edit it, narrowed by the entity's own rule (``can_change``, e.g. "only while a draft").

Uploads are checked against a size limit (``settings.ATTACHMENTS_MAX_UPLOAD_BYTES``, default
``ATTACHMENTS_MAX_UPLOAD_MB`` from the environment, 10 MB) and a list of allowed file types
(``settings.ATTACHMENTS_ALLOWED_EXTENSIONS``); the first bytes of PDFs, images and office files
must match their extension, so an HTML page renamed ``.pdf`` is refused.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.access import permissions
from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.platform import registry
from guanxi.platform.registry import Action

from .models import Attachment, private_storage

logger = logging.getLogger(__name__)

# extension → (content type served, accepted leading bytes or None for text)
FILE_TYPES: dict[str, tuple[str, tuple[bytes, ...] | None]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", (b"RIFF",)),
    ".heic": ("image/heic", None),
    ".txt": ("text/plain; charset=utf-8", None),
    ".csv": ("text/csv; charset=utf-8", None),
    ".doc": ("application/msword", (b"\xd0\xcf\x11\xe0",)),
    ".xls": ("application/vnd.ms-excel", (b"\xd0\xcf\x11\xe0",)),
    ".ppt": ("application/vnd.ms-powerpoint", (b"\xd0\xcf\x11\xe0",)),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    ".pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", (b"PK\x03\x04",)),
    ".odt": ("application/vnd.oasis.opendocument.text", (b"PK\x03\x04",)),
    ".ods": ("application/vnd.oasis.opendocument.spreadsheet", (b"PK\x03\x04",)),
    ".ofd": ("application/ofd", (b"PK\x03\x04",)),  # Chinese electronic invoices (OFD)
    ".zip": ("application/zip", (b"PK\x03\x04",)),
    ".eml": ("message/rfc822", None),
}
MARKUP = (b"<!doctype", b"<html", b"<script", b"<svg", b"<?xml")


def max_upload_bytes() -> int:
    default = int(float(os.environ.get("ATTACHMENTS_MAX_UPLOAD_MB", "10")) * 1024 * 1024)
    return int(getattr(settings, "ATTACHMENTS_MAX_UPLOAD_BYTES", default))


def allowed_extensions() -> tuple[str, ...]:
    configured = getattr(settings, "ATTACHMENTS_ALLOWED_EXTENSIONS", None)
    if configured is None:
        return tuple(FILE_TYPES)
    return tuple(
        e.lower() if e.startswith(".") else f".{e.lower()}" for e in configured if f".{e.lstrip('.')}" in FILE_TYPES
    )


# --- which entities take attachments -----------------------------------------------------------


@dataclass
class Attachable:
    entity_key: str
    can_change: Callable | None = None  # can_change(user, obj) -> bool, on top of "may edit the record"

    @property
    def slug(self) -> str:
        return self.entity_key.replace(".", "_")

    @property
    def url_name(self) -> str:
        return f"attachments:panel_{self.slug}"


_attachable: dict[str, Attachable] = {}


def register_attachable(entity_key: str, *, can_change: Callable | None = None, label=None, order: int = 90):
    """Let records of ``entity_key`` take files, and add the Attachments tab to their detail page."""
    item = Attachable(entity_key=entity_key, can_change=can_change)
    _attachable[entity_key] = item
    registry.register_related_panel(
        entity_key,
        registry.RelatedPanel(label or gettext_lazy("Attachments"), item.url_name, "object_id", module=entity_key,
                              order=order),
    )  # fmt: skip
    return item


def attachables() -> list[Attachable]:
    return list(_attachable.values())


def attachable(entity_key: str) -> Attachable:
    try:
        return _attachable[entity_key]
    except KeyError:
        raise Http404


def _entity_of(obj) -> registry.Entity:
    entity = registry.entity_for_model(type(obj))
    if entity is None or entity.key not in _attachable:
        raise ValidationError(_("Files cannot be attached to this kind of record."))
    return entity


def parent_for(user, entity_key: str, object_id, action: str = Action.VIEW):
    """The record ``object_id`` of ``entity_key`` if it takes attachments and the user may ``action`` it; else 404."""
    attachable(entity_key)
    model = registry.entity(entity_key).model
    return permissions.get_for(user, model._default_manager.all(), object_id, action)


def parent_of(attachment: Attachment, user, action: str = Action.VIEW):
    """The record an attachment belongs to, if the user may ``action`` it; else 404."""
    model = attachment.content_type.model_class()
    entity = registry.entity_for_model(model) if model is not None else None
    if entity is None:
        raise Http404
    return parent_for(user, entity.key, attachment.object_id, action)


def may_change(user, obj) -> bool:
    """May ``user`` add files to / remove files from ``obj``?"""
    entity = registry.entity_for_model(type(obj))
    if entity is None or entity.key not in _attachable:
        return False
    if not permissions.can(user, Action.EDIT, obj):
        return False
    rule = _attachable[entity.key].can_change
    return rule is None or bool(rule(user, obj))


# --- reads -------------------------------------------------------------------------------------


def attachments_for(obj) -> list[Attachment]:
    ct = ContentType.objects.get_for_model(type(obj))
    return list(Attachment.objects.filter(content_type=ct, object_id=obj.pk).select_related("uploaded_by"))


def attachment_counts(model, ids) -> dict[int, int]:
    """{record id: number of files} for records of ``model`` (one query)."""
    from django.db.models import Count

    ct = ContentType.objects.get_for_model(model)
    rows = (
        Attachment.objects.filter(content_type=ct, object_id__in=list(ids))
        .values("object_id")
        .annotate(n=Count("id"))
        .values_list("object_id", "n")
    )
    return dict(rows)


# --- writes ------------------------------------------------------------------------------------


def clean_name(name: str) -> str:
    name = os.path.basename((name or "").replace("\\", "/"))
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = name.strip().strip(".") or "file"
    if len(name) > 200:
        stem, ext = os.path.splitext(name)
        name = stem[: 200 - len(ext)] + ext
    return name


def check_file(upload) -> tuple[str, str]:
    """(clean name, content type) of an acceptable upload; ValidationError({"file": …}) otherwise."""
    if upload is None:
        raise ValidationError({"file": [_("Choose a file.")]})
    name = clean_name(getattr(upload, "name", ""))
    extension = os.path.splitext(name)[1].lower()
    if extension not in allowed_extensions():
        raise ValidationError(
            {"file": [_("This type of file is not accepted. Allowed: %(types)s.")
                      % {"types": ", ".join(e.lstrip(".") for e in allowed_extensions())}]}
        )  # fmt: skip
    size = upload.size or 0
    if size <= 0:
        raise ValidationError({"file": [_("The file is empty.")]})
    limit = max_upload_bytes()
    if size > limit:
        raise ValidationError(
            {"file": [_("The file is too large (at most %(mb)s MB).") % {"mb": f"{limit / 1048576:g}"}]}
        )
    mime, signatures = FILE_TYPES[extension]
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if signatures is not None:
        if not any(head.startswith(s) for s in signatures):
            raise ValidationError(
                {"file": [_("The file's content does not match its type (%(ext)s).") % {"ext": extension}]}
            )
    elif head.lstrip().lower().startswith(MARKUP):
        raise ValidationError({"file": [_("Web pages and scripts cannot be attached.")]})
    return name, mime


@transaction.atomic
def attachment_upload(*, actor, obj, file, description: str = "") -> Attachment:
    """Attach ``file`` to ``obj`` (the actor must be allowed to change the record's files)."""
    _entity_of(obj)
    if actor is not None and not may_change(actor, obj):
        if not permissions.can(actor, Action.VIEW, obj):
            raise Http404
        raise PermissionDenied
    name, mime = check_file(file)
    attachment = Attachment(
        content_type=ContentType.objects.get_for_model(type(obj)),
        object_id=obj.pk,
        original_name=name,
        size=file.size,
        mime_type=mime,
        description=(description or "").strip()[:200],
        uploaded_by=actor,
    )
    attachment._fill_and_check_tenant()
    attachment.file.save(name, file, save=False)
    stored = attachment.file.name
    try:
        attachment.save()
        audit.record(AuditAction.UPDATE, obj, changes={"attachments": [None, name]}, note="file attached")
    except Exception:
        private_storage.delete(stored)
        raise
    delete_file_unless_committed(stored)
    return attachment


class _FileKeeper:
    """An on-commit callback that keeps a stored file: the file is deleted if the callback is discarded unrun.

    Django drops the on-commit callbacks of a transaction (or of a savepoint) that rolls back without
    calling them; this object is then released, and deletes the file the rolled-back row pointed to.
    (CPython releases it at once: nothing else refers to it.) Django also skips the callbacks that follow
    a callback that raises after a commit, so a failing (non-robust) callback registered earlier in the same
    transaction would remove a committed file; the file removals below are robust for that reason.
    """

    __slots__ = ("kept", "name")

    def __init__(self, name: str):
        self.name, self.kept = name, False

    def __call__(self):
        self.kept = True

    def __del__(self):
        if not self.kept:
            try:
                private_storage.delete(self.name)
            except Exception:  # never raise from a finaliser; the file stays (an orphan, as before)
                logger.exception("Could not delete the file %s of a rolled-back upload", self.name)


def delete_file_unless_committed(name: str) -> None:
    """Delete the stored file ``name`` unless the current transaction commits (a rolled-back upload leaves no
    orphan file). Outside a transaction the file is kept at once."""
    transaction.on_commit(_FileKeeper(name), robust=True)


@transaction.atomic
def attachment_delete(*, actor, attachment: Attachment) -> None:
    """Remove a file (the actor must be allowed to change the record's files); the file goes after commit."""
    model = attachment.content_type.model_class()
    obj = model._default_manager.filter(pk=attachment.object_id).first() if model is not None else None
    if actor is not None:
        if obj is None or not permissions.can(actor, Action.VIEW, obj):
            raise Http404
        if not may_change(actor, obj):
            raise PermissionDenied
    stored = attachment.file.name
    name = attachment.original_name
    attachment.delete()
    if obj is not None:
        audit.record(AuditAction.UPDATE, obj, changes={"attachments": [name, None]}, note="file removed")
    transaction.on_commit(lambda: private_storage.delete(stored), robust=True)


def attachments_delete_for(obj) -> int:
    """Delete every file of ``obj`` (its owner app calls this when the record itself is deleted)."""
    ct = ContentType.objects.get_for_model(type(obj))
    rows = list(Attachment.objects.filter(content_type=ct, object_id=obj.pk))
    names = [a.file.name for a in rows]
    Attachment.objects.filter(pk__in=[a.pk for a in rows]).delete()

    def remove():
        for stored in names:
            private_storage.delete(stored)

    transaction.on_commit(remove, robust=True)
    return len(rows)
