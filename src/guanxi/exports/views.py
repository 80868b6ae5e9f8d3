"""The export of an entity list (``<entity>_export`` URLs, added by ``EntityViews.urls()``)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponseRedirect, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from .formats import format_for
from .writers import ExportJob

# Parameters that shape the page, not the rows.
NOT_FILTERS = ("format", "cursor", "per_page", "columns", "cols")


def filters_of(params) -> str:
    query = params.copy()
    for key in NOT_FILTERS:
        query.pop(key, None)
    return query.urlencode()


def export_response(*, views, fmt, queryset, columns, sort, actor, filters: str):
    """A streamed CSV / vCard response or an Excel file response of the rows."""
    job = ExportJob(
        entity_key=views.entity_key, queryset=queryset, columns=columns, sort=sort, actor=actor, filters=filters
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    filename = f"{views.entity.label_plural}-{stamp}.{fmt.extension}"
    if fmt.code == "xlsx":
        return FileResponse(job.xlsx_file(), as_attachment=True, filename=filename, content_type=fmt.content_type)
    chunks = job.csv_chunks() if fmt.code == "csv" else job.vcf_chunks()
    response = StreamingHttpResponse(chunks, content_type=fmt.content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # let nginx pass the stream through
    return response


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
    return export_response(
        views=views,
        fmt=fmt,
        queryset=queryset,
        columns=columns,
        sort=sort,
        actor=request.user,
        filters=filters_of(request.GET),
    )
