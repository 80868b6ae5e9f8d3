"""The export of an entity list (``<entity>_export`` URLs, added by ``EntityViews.urls()``) and "My exports".

CSV and vCard stream while the user's browser reads them. Excel workbooks, and exports of more
than ``EXPORT_BACKGROUND_ROWS`` rows in any format, are prepared by the background worker: the
request only captures what to export and goes back to the list ("Preparing your export…"); the
file is then downloaded from "My exports" by the user who asked for it.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from guanxi.platform.registry import Action

from . import selectors, services
from .formats import format_for
from .writers import ExportJob

# Parameters that shape the page, not the rows.
NOT_FILTERS = ("format", "cursor", "per_page", "columns", "cols")


def filters_of(params) -> str:
    query = params.copy()
    for key in NOT_FILTERS:
        query.pop(key, None)
    return query.urlencode()


def export_file_name(views, fmt) -> str:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return f"{views.entity.label_plural}-{stamp}.{fmt.extension}"


def export_response(*, views, fmt, queryset, columns, sort, actor, filters: str):
    """A streamed CSV / vCard response of the rows."""
    job = ExportJob(
        entity_key=views.entity_key, queryset=queryset, columns=columns, sort=sort, actor=actor, filters=filters
    )
    filename = export_file_name(views, fmt)
    chunks = job.csv_chunks() if fmt.code == "csv" else job.vcf_chunks()
    response = StreamingHttpResponse(chunks, content_type=fmt.content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # let nginx pass the stream through
    return response


def export_or_queue(request, *, views, fmt, params, queryset, columns, sort):
    """Stream the export, or (Excel, many rows) queue it for the worker: (response or None, queued export or None)."""
    filters = filters_of(params)
    if not services.runs_in_background(fmt, queryset):
        response = export_response(
            views=views, fmt=fmt, queryset=queryset, columns=columns, sort=sort, actor=request.user, filters=filters
        )
        return response, None
    query = views.list_query(request, Action.EXPORT, params)
    job = services.export_request(
        actor=request.user,
        entity_key=views.entity_key,
        fmt=fmt.code,
        query=services.list_params(query),
        filters=filters,
        file_name=export_file_name(views, fmt),
    )
    return None, job


def entity_export(request, views):
    """Export what the list page shows — same filters, saved view, columns and sort — in ``?format=``."""
    if not request.GET.get("format"):  # the export menu always names a format; without one, show the list
        return HttpResponseRedirect(views.url("list") + "?" + filters_of(request.GET))
    fmt = format_for(views.entity_key, request.GET["format"])
    if fmt is None:
        raise Http404
    try:
        queryset, columns, sort = views.export_rows(request)
    except ValidationError:
        messages.error(request, _("Some filters are not valid; correct them before exporting."))
        return HttpResponseRedirect(views.url("list") + "?" + filters_of(request.GET))
    response, job = export_or_queue(
        request, views=views, fmt=fmt, params=request.GET, queryset=queryset, columns=columns, sort=sort
    )
    if response is not None:
        return response
    messages.info(
        request,
        format_html(
            '<span data-testid="export-queued">{}</span> <a href="{}" class="alert-link">{}</a>',
            _("Preparing your export… You will be notified when it is ready."),
            reverse("exports:detail", args=[job.pk]),
            _("My exports"),
        ),
    )
    back = request.GET.copy()
    back.pop("format", None)
    return HttpResponseRedirect(views.url("list") + "?" + back.urlencode())


# --- My exports -------------------------------------------------------------------------------


@login_required
@require_GET
def export_list(request):
    """The user's own exports prepared in the background: status, rows, download while kept."""
    if not selectors.may_export_anything(request.user):
        raise PermissionDenied
    jobs = list(selectors.exports_for(request.user)[:100])
    context = {"jobs": jobs, "polling": any(j.is_active for j in jobs), "file_days": settings.EXPORT_FILE_DAYS}
    if request.htmx and request.htmx.target == "gx-exports":
        return render(request, "exports/_export_table.html", context)
    return render(request, "exports/export_list.html", context)


@login_required
@require_GET
def export_detail(request, pk: int):
    """One export: what was asked, progress while it is prepared, then the download."""
    job = selectors.export_for(request.user, pk)
    fmt = format_for(job.entity, job.format)
    context = {
        "job": job,
        "format": fmt,
        "filters": selectors.filter_pairs(job.filters),
        "columns": selectors.column_labels(request, job) if job.format != "vcf" else [],
    }
    if request.htmx and request.htmx.target == "gx-export-status":
        return render(request, "exports/_export_status.html", context)
    return render(request, "exports/export_detail.html", context)


@login_required
@require_GET
def export_download(request, pk: int):
    """The prepared file, for the user who asked for it only (never a public URL)."""
    job = selectors.downloadable(request.user, pk)
    return download_response(job)


def download_response(job) -> FileResponse:
    fmt = format_for(job.entity, job.format)
    try:
        handle = job.file.open("rb")
    except FileNotFoundError:
        raise Http404
    response = FileResponse(
        handle, as_attachment=True, filename=job.file_name, content_type=fmt.content_type if fmt else None
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
