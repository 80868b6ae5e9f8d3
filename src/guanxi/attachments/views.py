"""Attachment pages: the panel of a record (list + upload), download through a permission check, delete."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from guanxi.platform import registry

from . import services
from .models import Attachment


def _panel_response(request, item: services.Attachable, obj, *, errors=None, status=200):
    context = {
        "object": obj,
        "attachments": services.attachments_for(obj),
        "can_change": services.may_change(request.user, obj),
        "panel_url": f"{reverse(item.url_name)}?object_id={obj.pk}",
        "panel_id": f"gx-attachments-{item.slug}-{obj.pk}",
        "errors": errors or [],
        "max_mb": f"{services.max_upload_bytes() / 1048576:g}",
        "accept": ",".join(services.allowed_extensions()),
    }
    return render(request, "attachments/_panel.html", context, status=status)


def _back(request, obj):
    url = getattr(obj, "get_absolute_url", None)
    return HttpResponseRedirect(url() if url else "/")


@login_required
def panel(request, entity_key: str):
    """GET: the files of a record (a related panel, loaded with htmx). POST: upload one."""
    item = services.attachable(entity_key)
    object_id = request.GET.get("object_id") or request.POST.get("object_id")
    obj = services.parent_for(request.user, entity_key, object_id)
    if request.method == "POST":
        try:
            services.attachment_upload(
                actor=request.user,
                obj=obj,
                file=request.FILES.get("file"),
                description=request.POST.get("description", ""),
            )
        except ValidationError as exc:
            if not request.htmx:
                messages.error(request, " ".join(exc.messages))
                return _back(request, obj)
            return _panel_response(request, item, obj, errors=exc.messages, status=422)
        if not request.htmx:
            return _back(request, obj)
    return _panel_response(request, item, obj)


def _attachment(pk) -> Attachment:
    attachment = Attachment.objects.select_related("content_type").filter(pk=pk).first()
    if attachment is None:
        raise Http404
    return attachment


@login_required
def download(request, pk: int):
    """The file, if the user may see the record it belongs to (never a public media URL)."""
    attachment = _attachment(pk)
    services.parent_of(attachment, request.user)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404
    inline = bool(request.GET.get("inline")) and attachment.can_show_inline
    response = FileResponse(
        handle, as_attachment=not inline, filename=attachment.original_name, content_type=attachment.mime_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def delete(request, pk: int):
    attachment = _attachment(pk)
    obj = services.parent_of(attachment, request.user)
    item = services.attachable(registry.entity_for_model(type(obj)).key)
    services.attachment_delete(actor=request.user, attachment=attachment)
    if request.htmx:
        return _panel_response(request, item, obj)
    return _back(request, obj)
