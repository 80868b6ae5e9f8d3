"""/api/v1/imports: upload a file, check it (dry run), start, follow, undo, download the errors.

An import runs in the background: ``POST /imports`` stores the file and guesses the
mapping (or takes ``mapping`` as a JSON object {column index: field}); with ``dry_run``
every row is checked without writing (``POST /imports/{id}/preview`` runs the check again,
e.g. after it stopped: ``preview.error``, or ``preview_stalled`` while it is still
"previewing"). ``POST /imports/{id}/start`` starts it; ``GET /imports/{id}`` reports status,
counts, progress and the check result.
"""

from __future__ import annotations

import datetime

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from . import selectors, services
from .models import ImportJob

router = Router(tags=["imports"])


class ImportOut(Schema):
    id: int
    entity: str
    status: str
    file_name: str
    format: str
    encoding: str
    delimiter: str
    header: list[str]
    mapping: dict[str, str]
    options: dict
    total_rows: int | None
    processed: int
    created: int
    updated: int
    skipped: int
    failed: int
    percent: int
    rows_per_second: float | None
    eta_seconds: int | None
    preview: dict | None
    preview_stalled: bool
    error: str
    error_file: str | None
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None


def _out(job: ImportJob) -> dict:
    preview = None
    if job.preview:
        preview = {k: job.preview.get(k) for k in ("processed", "counts", "errors_by_column", "rows", "done")}
        preview["error"] = job.preview_error or None
    return {
        "id": job.pk,
        "entity": job.entity,
        "status": job.status,
        "file_name": job.original_name,
        "format": job.format,
        "encoding": job.encoding,
        "delimiter": job.delimiter,
        "header": job.header,
        "mapping": job.mapping,
        "options": job.options,
        "total_rows": job.total_rows,
        "processed": job.processed,
        "created": job.created,
        "updated": job.updated,
        "skipped": job.skipped,
        "failed": job.failed,
        "percent": job.percent,
        "rows_per_second": round(job.rate, 1) if job.rate else None,
        "eta_seconds": job.eta_seconds,
        "preview": preview,
        "preview_stalled": job.preview_stalled,
        "error": job.error,
        "error_file": f"/api/v1/imports/{job.pk}/errors" if job.error_file else None,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


@router.post("", response={201: ImportOut}, summary="Upload a file to import")
def import_create(
    request,
    entity: Form[str],
    file: File[UploadedFile],
    mapping: Form[str] = "",
    options: Form[str] = "",
    dry_run: Form[bool] = False,
):
    """Multipart upload. ``mapping``: JSON {column index: field key} (guessed from the header when
    left out); ``options``: JSON {policy: skip|update|create, rules: [...], create_related,
    phone_region, day_first}; ``dry_run``: check every row now (poll ``GET /imports/{id}``)."""
    job = services.job_create(actor=request.user, entity=entity, upload=file)
    mapping_ = services.parse_json(mapping, "mapping")
    options_ = services.parse_json(options, "options")
    if mapping_ or options_ or dry_run:
        job = services.job_map(actor=request.user, job=job, mapping=mapping_ or job.mapping, options=options_)
    if dry_run:
        job = services.job_preview(actor=request.user, job=job)
    return Status(201, _out(job))


@router.get("", response=list[ImportOut], summary="Recent imports")
def import_list(request):
    return [_out(job) for job in selectors.jobs_for(request.user)[:50]]


@router.get("/{int:job_id}", response=ImportOut, summary="Status, counts and progress of an import")
def import_get(request, job_id: int):
    job = selectors.job_for(request.user, job_id)
    services.require_import(request.user, job.entity)
    return _out(job)


@router.post("/{int:job_id}/preview", response=ImportOut, summary="Run the preview (dry run) again")
def import_preview(request, job_id: int):
    """Check every row again without writing, e.g. after the check stopped (``preview.error``) or stalled
    (``preview_stalled``). Poll ``GET /imports/{id}`` until the status is ``previewed``."""
    job = selectors.job_for(request.user, job_id)
    return _out(services.job_preview(actor=request.user, job=job))


@router.post("/{int:job_id}/start", response=ImportOut, summary="Start (or resume) an import")
def import_start(request, job_id: int):
    job = selectors.job_for(request.user, job_id)
    if job.status == ImportJob.Status.UPLOADED:
        job = services.job_map(actor=request.user, job=job, mapping=job.mapping, options=job.options)
    return _out(services.job_start(actor=request.user, job=job))


@router.post("/{int:job_id}/cancel", response=ImportOut, summary="Cancel a running import")
def import_cancel(request, job_id: int):
    job = selectors.job_for(request.user, job_id)
    return _out(services.job_cancel(actor=request.user, job=job))


@router.post("/{int:job_id}/undo", response=ImportOut, summary="Undo an import")
def import_undo(request, job_id: int):
    job = selectors.job_for(request.user, job_id)
    return _out(services.job_undo(actor=request.user, job=job))


@router.get("/{int:job_id}/errors", summary="The rows that failed, with their reasons (CSV or XLSX)")
def import_errors(request, job_id: int):
    job = selectors.job_for(request.user, job_id)
    services.require_import(request.user, job.entity)
    if not job.error_file:
        raise Http404
    name = job.error_file.rsplit("/", 1)[-1]
    return FileResponse(default_storage.open(job.error_file, "rb"), as_attachment=True, filename=name)
