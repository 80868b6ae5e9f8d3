"""``GET /api/v1/exports/{entity}``: a list export with the list page's filters, streamed or prepared in the background.

One route per registered entity (``/exports/accounts``, ``/exports/contacts``,
``/exports/activities`` …), built from the entity registry. CSV and vCard stream (200). Excel,
and more than ``EXPORT_BACKGROUND_ROWS`` rows in any format, answer 202 with the export job
(``url``): poll ``GET /exports/jobs/{id}`` until ``status`` is ``done``, then ``GET
/exports/jobs/{id}/download`` (only the caller who asked can).
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from ninja import Router, Schema, Status

from guanxi.platform import registry

from . import selectors
from .formats import format_for, formats_for
from .models import ExportFile
from .views import download_response, export_or_queue

router = Router(tags=["exports"])


class ExportJobOut(Schema):
    id: int
    entity: str
    format: str
    status: str
    rows: int
    total_rows: int | None
    percent: int
    complete: bool
    file_name: str
    size: int
    error: str
    created_at: datetime.datetime
    finished_at: datetime.datetime | None
    expires_at: datetime.datetime | None
    url: str
    download_url: str | None


def _job_out(job: ExportFile) -> dict:
    return {
        "id": job.pk,
        "entity": job.entity,
        "format": job.format,
        "status": job.status,
        "rows": job.rows,
        "total_rows": job.total_rows,
        "percent": job.percent,
        "complete": job.complete,
        "file_name": job.file_name,
        "size": job.size,
        "error": job.error,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "expires_at": job.expires_at,
        "url": f"/api/v1/exports/jobs/{job.pk}",
        "download_url": f"/api/v1/exports/jobs/{job.pk}/download" if job.status == ExportFile.Status.DONE else None,
    }


@router.get("/jobs", response=list[ExportJobOut], summary="My exports prepared in the background")
def export_jobs(request: HttpRequest):
    """The caller's own background exports in this company, newest first (the last 50)."""
    return [_job_out(job) for job in selectors.exports_for(request.user)[:50]]


@router.get("/jobs/{int:job_id}", response=ExportJobOut, summary="Status of a background export")
def export_job(request: HttpRequest, job_id: int):
    """Status and progress of one of the caller's exports; 404 for anybody else's."""
    return _job_out(selectors.export_for(request.user, job_id))


@router.get("/jobs/{int:job_id}/download", summary="Download a prepared export", response={200: None})
def export_job_download(request: HttpRequest, job_id: int):
    """The file of a finished export, for the caller who asked for it, until it expires."""
    return download_response(selectors.downloadable(request.user, job_id))


def slug_for(entity: registry.Entity) -> str:
    """``customers.account`` → ``accounts``, ``activities.activity`` → ``activities``."""
    name = entity.model._meta.model_name
    return f"{name[:-1]}ies" if name.endswith("y") else f"{name}s"


def export_entity(request: HttpRequest, entity_key: str, fmt_code: str, columns: str | None):
    from guanxi.platform.views import entity_views

    try:
        views = entity_views(entity_key)
    except KeyError:
        raise Http404
    fmt = format_for(entity_key, fmt_code)
    if fmt is None:
        codes = ", ".join(f.code for f in formats_for(entity_key))
        raise ValidationError({"format": [f"Choose one of: {codes}."]})
    params = request.GET.copy()
    for key in ("format", "columns", "cols", "view"):
        params.pop(key, None)
    if columns:
        wanted = [c.strip() for c in columns.split(",") if c.strip()]
        known = {c.key for c in views.all_columns(request)}
        unknown = [c for c in wanted if c not in known]
        if unknown:
            raise ValidationError({"columns": [f"Unknown column: {', '.join(unknown)}."]})
        params["cols"] = ",".join(wanted)
    queryset, chosen, sort = views.export_rows(request, params)
    response, job = export_or_queue(
        request, views=views, fmt=fmt, params=params, queryset=queryset, columns=chosen, sort=sort
    )
    if response is not None:
        return response
    return Status(202, _job_out(job))


def _add_route(entity: registry.Entity) -> None:
    slug = slug_for(entity)
    formats = ", ".join(f"`{f.code}`" for f in formats_for(entity.key))

    def export(request: HttpRequest, format: str = "csv", columns: str | None = None):
        return export_entity(request, entity.key, format, columns)

    export.__name__ = f"export_{slug.replace('-', '_')}"
    export.__doc__ = (
        f"Export the {entity.label_plural} the caller may export, as {formats} (CSV is UTF-8 with a BOM). "
        "Filters take the same names as the list page and the list API (`q`, `owner`, `tag`, `cf_<key>`, …), "
        "`sort` as there; `columns=a,b,c` chooses the columns (the list's default columns otherwise). "
        "Fields the caller may not see are never exported. Every export is audited. CSV and vCard stream "
        "(200); Excel, and more rows than the server's background threshold, answer 202 with the export job: "
        "poll its `url` until `status` is `done`, then download `download_url`."
    )
    router.get(f"/{slug}", summary=f"Export {entity.label_plural}", response={200: None, 202: ExportJobOut})(export)


for _entity in registry.entities():
    _add_route(_entity)
