"""Attachment endpoints for an entity's API router: list, upload, download and remove a record's files.

    attachment_routes(router, "finance.expense", load=lambda request, pk, action: …, slug="expenses")

adds ``GET/POST /{pk}/attachments`` and ``GET/DELETE /{pk}/attachments/{attachment_id}``; the same
services and permission checks as the pages.
"""

from __future__ import annotations

import datetime

from django.contrib.contenttypes.models import ContentType
from django.http import FileResponse, Http404
from ninja import File, Form, Schema, Status
from ninja.files import UploadedFile

from guanxi.platform.registry import Action

from . import services
from .models import Attachment


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    content_type: str
    description: str
    uploaded_by_id: int | None = None
    uploaded_at: datetime.datetime


def attachment_out(a: Attachment) -> dict:
    return {
        "id": a.pk,
        "name": a.original_name,
        "size": a.size,
        "content_type": a.mime_type,
        "description": a.description,
        "uploaded_by_id": a.uploaded_by_id,
        "uploaded_at": a.uploaded_at,
    }


def attachment_routes(router, entity_key: str, *, load, slug: str) -> None:
    """Add the attachment endpoints to ``router``; ``load(request, pk, action)`` returns the record or 404s."""

    def one(obj, attachment_id) -> Attachment:
        ct = ContentType.objects.get_for_model(type(obj))
        attachment = Attachment.objects.filter(pk=attachment_id, content_type=ct, object_id=obj.pk).first()
        if attachment is None:
            raise Http404
        return attachment

    @router.get("/{int:pk}/attachments", response=list[AttachmentOut], summary="Files of a record",
                operation_id=f"{slug}_attachments")  # fmt: skip
    def list_attachments(request, pk: int):
        return [attachment_out(a) for a in services.attachments_for(load(request, pk, Action.VIEW))]

    @router.post("/{int:pk}/attachments", response={201: AttachmentOut}, summary="Attach a file (multipart)",
                 operation_id=f"{slug}_attachment_upload")  # fmt: skip
    def upload_attachment(request, pk: int, file: File[UploadedFile] = None, description: Form[str] = ""):
        obj = load(request, pk, Action.VIEW)  # first: another tenant's or an unseen record answers 404
        attachment = services.attachment_upload(actor=request.user, obj=obj, file=file, description=description)
        return Status(201, attachment_out(attachment))

    @router.get("/{int:pk}/attachments/{int:attachment_id}", summary="Download a file",
                operation_id=f"{slug}_attachment_download", response={200: None})  # fmt: skip
    def download_attachment(request, pk: int, attachment_id: int):
        attachment = one(load(request, pk, Action.VIEW), attachment_id)
        try:
            handle = attachment.file.open("rb")
        except FileNotFoundError:
            raise Http404
        response = FileResponse(
            handle, as_attachment=True, filename=attachment.original_name, content_type=attachment.mime_type
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @router.delete("/{int:pk}/attachments/{int:attachment_id}", response={204: None}, summary="Remove a file",
                   operation_id=f"{slug}_attachment_delete")  # fmt: skip
    def delete_attachment(request, pk: int, attachment_id: int):
        attachment = one(load(request, pk, Action.VIEW), attachment_id)
        services.attachment_delete(actor=request.user, attachment=attachment)
        return Status(204, None)
