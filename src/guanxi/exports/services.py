"""Exports are reads; what they write is their audit entry, and for background exports the job and its file.

A list export that would hold a request open too long (every Excel workbook, and any format
above ``EXPORT_BACKGROUND_ROWS`` rows) becomes an ``ExportFile``: the request's list parameters,
user, language, time zone and request metadata are captured (``export_request``); the worker
evaluates the list again as that user (``export_run``: same filters, columns, permissions and
restricted fields, through the same writers), stores the file privately, audits the export as a
streamed one is audited and notifies the user. Files expire (``exports_expire``).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import tempfile
import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from guanxi.access import permissions
from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction, AuditEntry
from guanxi.platform import context, registry
from guanxi.platform.registry import Action

from .formats import format_for
from .models import ExportFile, export_storage

logger = logging.getLogger(__name__)

STALE_AFTER = datetime.timedelta(minutes=30)  # a preparing export whose worker wrote nothing for this long died
MAX_ATTEMPTS = 3  # runs of one export before a stalled one is given up
PROGRESS_EVERY = datetime.timedelta(seconds=2)
# Parameters of a list request that are not part of what is exported.
NOT_LIST_PARAMS = ("format", "cursor", "per_page", "columns", "view")

Status = ExportFile.Status


def export_record(
    *, actor, entity_key: str, fmt: str, filters: str, columns: list[str], rows: int, complete: bool = True
) -> AuditEntry:
    """Audit one export: entity, filters, format, columns and the number of rows written."""
    entity = registry.entity(entity_key)
    changes = {
        "format": [None, fmt],
        "rows": [None, rows],
        "filters": [None, filters],
    }
    if columns:
        changes["columns"] = [None, ",".join(columns)]
    note = "" if complete else _("Not every row was written (interrupted, or more rows than the format holds).")
    return audit.record(
        AuditAction.EXPORT,
        model=entity.model,
        object_repr=str(entity.label_plural),
        actor=actor,
        changes=changes,
        note=note,
    )


# --- background exports -------------------------------------------------------------------------


def runs_in_background(fmt, queryset) -> bool:
    """Excel always (the workbook is complete only at its end); other formats above the row threshold."""
    if fmt.code == "xlsx":
        return True
    limit = settings.EXPORT_BACKGROUND_ROWS
    return queryset.order_by().values("pk")[: limit + 1].count() > limit


def list_params(query) -> str:
    """The list parameters to evaluate again in the worker, from a ``views.list_query`` result.

    A saved view is replaced by its filters and columns, so the export is what the user saw
    when asking even if the view changes before the worker starts.
    """
    params = query.params.copy()
    for key in NOT_LIST_PARAMS:
        params.pop(key, None)
    params["cols"] = ",".join(query.chosen)
    params["sort"] = query.sort
    return params.urlencode()


def export_request(*, actor, entity_key: str, fmt: str, query: str, filters: str, file_name: str) -> ExportFile:
    """Queue an export of a list for ``actor`` (who must be allowed to export it); the worker prepares it."""
    from .tasks import run_export

    permissions.require(actor, entity_key, Action.EXPORT)
    if format_for(entity_key, fmt) is None:
        raise ValidationError({"format": [_("This format is not offered for these records.")]})
    meta = context.current_meta()
    with transaction.atomic():
        job = ExportFile.objects.create(
            entity=entity_key,
            format=fmt,
            query=query,
            filters=filters,
            language=translation.get_language() or settings.LANGUAGE_CODE,
            time_zone=str(timezone.get_current_timezone()),
            meta={"ip": meta.ip, "user_agent": meta.user_agent, "request_id": meta.request_id, "via": meta.via},
            file_name=file_name[:255],
            requested_by=actor,
        )
    run_export.enqueue(job.tenant_id, job.pk)
    job.refresh_from_db()  # a backend that runs tasks at once (tests) has finished it already
    return job


def _replayed_request(user, query: str) -> HttpRequest:
    """The list request as the worker replays it: the user and the captured parameters."""
    request = HttpRequest()
    request.method = "GET"
    request.user = user
    request.GET = QueryDict(query)
    request.htmx = False
    return request


def _entity_views(entity_key: str):
    from django.urls import get_resolver

    from guanxi.platform.views import entity_views

    get_resolver().url_patterns  # noqa: B018 - importing the URLconf registers every entity's views
    return entity_views(entity_key)


def _tz(name: str):
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_default_timezone()


def _claim(job: ExportFile) -> str | None:
    """Take a queued export for this run: returns the run's token, or None if another run has it."""
    now, token = timezone.now(), uuid.uuid4().hex
    taken = ExportFile.objects.filter(pk=job.pk, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now, run_token=token, attempts=F("attempts") + 1
    )
    return token if taken else None


def export_run(*, job: ExportFile) -> ExportFile:
    """Prepare a queued export (the task binds the tenant, the requesting user and the request's metadata).

    The list is evaluated again as the user with the captured parameters, so filters,
    columns, permissions and restricted fields are applied exactly as for a streamed export
    (a user who lost the right to export gets a failed job, nothing written). Idempotent: a
    job another worker took, or one already finished, is left alone.
    """
    from .writers import ExportJob

    token = _claim(job)
    if token is None:
        return job
    job.refresh_from_db()
    user = job.requested_by
    try:
        with translation.override(job.language), timezone.override(_tz(job.time_zone)):
            views = _entity_views(job.entity)
            fmt = format_for(job.entity, job.format)
            queryset, columns, sort = views.export_rows(_replayed_request(user, job.query))
            ExportFile.objects.filter(pk=job.pk).update(total_rows=queryset.count())
            last = {"at": timezone.now()}

            def progress(rows: int) -> None:
                now = timezone.now()
                if now - last["at"] >= PROGRESS_EVERY:
                    last["at"] = now
                    ExportFile.objects.filter(pk=job.pk, run_token=token).update(rows=rows, heartbeat_at=now)

            writer = ExportJob(
                entity_key=job.entity,
                queryset=queryset,
                columns=columns,
                sort=sort,
                actor=user,
                filters=job.filters,
                progress=progress,
            )
            path = f"{job.tenant_id}/{uuid.uuid4().hex}/export.{fmt.extension}"
            if fmt.code == "xlsx":
                with writer.xlsx_file() as handle:
                    stored = export_storage.save(path, File(handle))
            else:
                chunks = writer.csv_chunks() if fmt.code == "csv" else writer.vcf_chunks()
                with tempfile.TemporaryFile() as handle:
                    for chunk in chunks:
                        handle.write(chunk)
                    handle.seek(0)
                    stored = export_storage.save(path, File(handle))
    except Exception as exc:
        logger.exception("Export %s failed", job.pk)
        if isinstance(exc, PermissionDenied):
            message = gettext_lazy("You may no longer export these records.")
        elif isinstance(exc, ValidationError):
            message = gettext_lazy("Some filters are not valid any more; export the list again.")
        else:
            message = gettext_lazy("The export could not be prepared.")
        with translation.override(job.language):
            error = str(message)
        if ExportFile.objects.filter(pk=job.pk, run_token=token).update(
            status=Status.FAILED, error=error, finished_at=timezone.now(), run_token=""
        ):
            job.refresh_from_db()
            _notify(job)
        return job
    now = timezone.now()
    finished = ExportFile.objects.filter(pk=job.pk, status=Status.RUNNING, run_token=token).update(
        status=Status.DONE,
        file=stored,
        size=export_storage.size(stored),
        rows=writer.rows,
        complete=writer.complete,
        finished_at=now,
        heartbeat_at=now,
        expires_at=now + datetime.timedelta(days=settings.EXPORT_FILE_DAYS),
        run_token="",
    )
    if not finished:  # given up on while it worked (see exports_expire): another run owns the job
        _delete_file(stored)
        job.refresh_from_db()
        return job
    job.refresh_from_db()
    _notify(job)
    return job


def _notify(job: ExportFile) -> None:
    """Tell the user in the app (and by the notification e-mail) that the export is ready or failed."""
    from guanxi.activities.models import Notification
    from guanxi.activities.services import notification_create, recipient_locale

    user = job.requested_by
    if user is None or not user.is_active:
        return
    with recipient_locale(user):
        what = job.entity_label
        if job.status == Status.DONE:
            title = _("Your export is ready")
            body = ngettext(
                "%(records)s: %(n)s row in %(file)s, to download within %(days)s days.",
                "%(records)s: %(n)s rows in %(file)s, to download within %(days)s days.",
                job.rows,
            ) % {"records": what, "n": f"{job.rows:,}", "file": job.file_name, "days": settings.EXPORT_FILE_DAYS}
        else:
            title = _("Your export failed")
            body = f"{what}: {job.error}"
    notification_create(user=user, kind=Notification.Kind.SYSTEM, title=title, body=body, url=job.get_absolute_url())


def _delete_file(name: str) -> None:
    """Delete a prepared file and its (random, otherwise empty) folder."""
    export_storage.delete(name)
    with contextlib.suppress(OSError):  # another file in it, or already gone
        os.rmdir(os.path.dirname(export_storage.path(name)))


def exports_expire(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Delete the files of exports past their date, and fail exports whose worker died (current tenant)."""
    now = now or timezone.now()
    expired = 0
    for job in ExportFile.objects.filter(status=Status.DONE, expires_at__lte=now).only("pk", "file"):
        if ExportFile.objects.filter(pk=job.pk, status=Status.DONE).update(status=Status.EXPIRED, file=""):
            if job.file:
                transaction.on_commit(lambda name=job.file.name: _delete_file(name))
            expired += 1
    stale = ExportFile.objects.filter(status=Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
    stopped = restarted = 0
    for job in stale.select_related("requested_by"):
        same_run = ExportFile.objects.filter(pk=job.pk, status=Status.RUNNING, run_token=job.run_token)
        if job.attempts < MAX_ATTEMPTS:
            # Preparing an export writes nothing but its own new file: run it again from the start.
            if same_run.update(status=Status.QUEUED, run_token="", heartbeat_at=None, rows=0):
                restarted += 1
                transaction.on_commit(lambda pk=job.pk, tenant_id=job.tenant_id: _enqueue(tenant_id, pk))
            continue
        with translation.override(job.language or settings.LANGUAGE_CODE):
            error = _("The export stopped before the end (its worker was stopped). Export the list again.")
        if same_run.update(status=Status.FAILED, error=error, finished_at=now, run_token=""):
            stopped += 1
            job.status, job.error = Status.FAILED, error
            _notify(job)
    return {"expired": expired, "stopped": stopped, "restarted": restarted}


def _enqueue(tenant_id: int, pk: int) -> None:
    from .tasks import run_export

    run_export.enqueue(tenant_id, pk)
