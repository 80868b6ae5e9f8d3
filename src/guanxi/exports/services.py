"""Exports are reads; what they write is their audit entry, and for background exports the job and its file.

A list export that would hold a request open too long (every Excel workbook, and any format
above ``EXPORT_BACKGROUND_ROWS`` rows) becomes an ``ExportFile``: the request's list parameters,
user, language, time zone and request metadata are captured (``export_request``); the worker
evaluates the list again as that user (``export_run``: same filters, columns, permissions and
restricted fields, through the same writers), stores the file privately, audits the export as a
streamed one is audited and notifies the user. Files expire (``exports_expire``, which also runs
again an export whose worker died or whose task was lost), and go when the user leaves the tenant
(``exports_discard_for_user``) or the export row is deleted (``signals``).
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
LOST_AFTER = datetime.timedelta(minutes=10)  # a waiting export no worker started for this long lost its task
MAX_ATTEMPTS = 3  # tries of one export (runs, and tasks lost before a run) before it is given up
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
    _enqueue(context.require_tenant(), job.pk)
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
    """Take a queued export for this run: returns the run's token, or None if another run has it.

    One conditional update, so of two workers given the same export (its task queued again by
    ``exports_expire`` while the first was only late) one takes it and the other does nothing.
    """
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
        failed = ExportFile.objects.filter(pk=job.pk, run_token=token).update(
            status=Status.FAILED, error=error, finished_at=timezone.now(), run_token=""
        )
        _reload(job)  # failed by this run, or by whoever took the job from it
        if failed:
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
    if not finished:  # given up on while it worked (see exports_expire), or stopped (its user left)
        _delete_file(stored)
        _reload(job)
        return job
    job.refresh_from_db()
    _notify(job)
    return job


def _reload(job: ExportFile) -> None:
    """The job as it is now (a job deleted meanwhile, with its user, stays as it was)."""
    with contextlib.suppress(ExportFile.DoesNotExist):
        job.refresh_from_db()


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


def _delete_file_on_commit(name: str) -> None:
    """Delete a prepared file once the change that let it go commits (never a file a rollback keeps)."""
    transaction.on_commit(lambda: _delete_file(name), robust=True)


def exports_expire(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Delete the files of exports past their date, and run again exports whose worker died or whose
    task was lost (current tenant).

    ``restarted`` counts the exports queued again: a preparing export whose worker stopped beating
    for ``STALE_AFTER``, and a waiting one no worker started for ``LOST_AFTER`` (its task was lost:
    enqueueing failed, or the worker died before taking it). ``stopped`` counts those failed instead,
    after ``MAX_ATTEMPTS`` tries (a lost task counts as a try).
    """
    now = now or timezone.now()
    tenant = context.require_tenant()
    expired = 0
    for job in ExportFile.objects.filter(status=Status.DONE, expires_at__lte=now).only("pk", "file"):
        if ExportFile.objects.filter(pk=job.pk, status=Status.DONE).update(status=Status.EXPIRED, file=""):
            if job.file:
                _delete_file_on_commit(job.file.name)
            expired += 1
    stale = ExportFile.objects.filter(status=Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
    stopped = restarted = 0
    for job in stale.select_related("requested_by"):
        same_run = ExportFile.objects.filter(pk=job.pk, status=Status.RUNNING, run_token=job.run_token)
        if job.attempts < MAX_ATTEMPTS:
            # Preparing an export writes nothing but its own new file: run it again from the start.
            if same_run.update(
                status=Status.QUEUED, run_token="", heartbeat_at=None, rows=0, queued_at=now, task_id=""
            ):
                restarted += 1
                transaction.on_commit(lambda pk=job.pk: _enqueue(tenant, pk))
            continue
        with translation.override(job.language or settings.LANGUAGE_CODE):
            error = _("The export stopped before the end (its worker was stopped). Export the list again.")
        if same_run.update(status=Status.FAILED, error=error, finished_at=now, run_token=""):
            stopped += 1
            job.status, job.error = Status.FAILED, error
            _notify(job)
    lost = ExportFile.objects.filter(status=Status.QUEUED, queued_at__lt=now - LOST_AFTER)
    for job in lost.select_related("requested_by"):
        if _waiting_for_a_worker(job):
            continue  # the queue is busy, not lost: the task runs when a worker is free
        # Conditional on what was read: a worker that took it meanwhile (or another sweep) wins.
        same_wait = ExportFile.objects.filter(
            pk=job.pk, status=Status.QUEUED, attempts=job.attempts, queued_at=job.queued_at
        )
        tries = job.attempts + 1  # the lost task was a try
        if tries < MAX_ATTEMPTS:
            if same_wait.update(attempts=tries, queued_at=now, task_id=""):
                restarted += 1
                transaction.on_commit(lambda pk=job.pk: _enqueue(tenant, pk))
            continue
        with translation.override(job.language or settings.LANGUAGE_CODE):
            error = _("The export was never started (no worker took it up). Export the list again.")
        if same_wait.update(status=Status.FAILED, error=error, finished_at=now, attempts=tries, task_id=""):
            stopped += 1
            job.status, job.error = Status.FAILED, error
            _notify(job)
    return {"expired": expired, "stopped": stopped, "restarted": restarted}


def _enqueue(tenant, pk: int) -> None:
    """Hand an export to the queue, noting the task's id (to tell later a task still waiting from a lost one)."""
    from .tasks import run_export

    result = run_export.enqueue(tenant.pk, pk)
    task_id = str(getattr(result, "id", "") or "")
    if task_id:
        with context.tenant_context(tenant):  # may run on commit, after the caller's context ended
            ExportFile.objects.filter(pk=pk, status=Status.QUEUED).update(task_id=task_id[:64])


def _waiting_for_a_worker(job: ExportFile) -> bool:
    """Whether the queue holds the export's task not started yet (a busy queue rather than a lost task).

    Only a backend that keeps its tasks can tell (the database backend of ``manage.py db_worker``);
    with another one, an export no worker started within ``LOST_AFTER`` is taken as lost.
    """
    from django_tasks import TaskResultStatus
    from django_tasks.exceptions import TaskException

    from .tasks import run_export

    if not job.task_id or not run_export.get_backend().supports_get_result:
        return False
    try:
        return run_export.get_result(job.task_id).status == TaskResultStatus.READY
    except TaskException:  # no such task any more (or not this export's)
        return False


def exports_discard_for_user(*, user) -> dict[str, int]:
    """Remove what ``user`` exported in the current tenant, when they leave it (deactivated there).

    Ready exports are marked expired, as at their date, and their files deleted once the change
    commits; exports waiting or being prepared are stopped (failed, with a message for the user if
    they come back): a worker still writing one cannot finish it, and removes its own file.
    """
    now = timezone.now()
    mine = ExportFile.objects.filter(requested_by=user)
    stopped = 0
    # First the active ones, so no export becomes ready (with a file) after the ready ones are read.
    for job in mine.filter(status__in=ExportFile.ACTIVE).only("pk", "language"):
        with translation.override(job.language or settings.LANGUAGE_CODE):
            error = _("Stopped: your access to this company was removed.")
        stopped += ExportFile.objects.filter(pk=job.pk, status__in=ExportFile.ACTIVE).update(
            status=Status.FAILED, error=error, finished_at=now, run_token="", task_id=""
        )
    expired = 0
    for job in mine.filter(status=Status.DONE).only("pk", "file"):
        if ExportFile.objects.filter(pk=job.pk, status=Status.DONE).update(
            status=Status.EXPIRED, file="", expires_at=now
        ):
            if job.file:
                _delete_file_on_commit(job.file.name)
            expired += 1
    return {"expired": expired, "stopped": stopped}
