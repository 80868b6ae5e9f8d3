"""Background tasks of imports (django-tasks): preview, import, undo, and picking up stalled imports.

Each task gets the tenant id and the job id, and runs inside that tenant's context as the
job's creator. ``resume_stale_imports`` runs every minute from ``manage.py run_scheduler``.
"""

from __future__ import annotations

import contextlib
import logging

from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from guanxi.platform.context import RequestMeta, all_tenants_scope, tenant_context

from . import engine, services
from .models import ImportJob

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def _job(tenant_id: int, job_id: int):
    from guanxi.tenancy.models import Tenant

    # Platform code: a task knows its tenant only by id.
    with all_tenants_scope():
        tenant = Tenant.objects.filter(pk=tenant_id, status=Tenant.Status.ACTIVE).first()
    if tenant is None:
        yield None
        return
    with tenant_context(tenant, meta=RequestMeta(via="task")):
        job = ImportJob.objects.select_related("created_by").filter(pk=job_id).first()
        if job is None or job.created_by is None:
            yield None
            return
        with tenant_context(tenant, actor=job.created_by, meta=RequestMeta(via="task")):
            yield job


@task()
def preview_import(tenant_id: int, job_id: int, token: str = "") -> str:
    """The dry run queued under ``token`` (tasks queued without one take the job's current token)."""
    with _job(tenant_id, job_id) as job:
        if job is None or job.status != ImportJob.Status.PREVIEWING:
            return "skipped"
        token = token or job.run_token
        if not services.preview_claim(job=job, token=token):
            return "superseded"
        try:
            engine.preview(job, token)
        except engine.Lost:
            return "superseded"
        except Exception as exc:
            logger.exception("Preview of import %s failed", job_id)
            ImportJob.objects.filter(pk=job.pk, run_token=token).update(
                status=ImportJob.Status.MAPPED, preview={"error": str(exc)[:500]}
            )
            return "failed"
        return "done"


@task()
def run_import(tenant_id: int, job_id: int) -> str:
    with _job(tenant_id, job_id) as job:
        if job is None:
            return "skipped"
        token = engine.claim(job)
        if token is None:
            return "not claimed"
        job.refresh_from_db()
        try:
            engine.run(job, token)
        except engine.Lost:
            return "stopped"
        except Exception as exc:
            logger.exception("Import %s failed", job_id)
            if isinstance(exc, engine.readers.FileProblem):
                message = str(exc)
            else:
                message = _("The import stopped: %(error)s") % {"error": exc}
            engine.fail(job, token, message)
            return "failed"
        return "done"


@task()
def undo_import(tenant_id: int, job_id: int) -> str:
    with _job(tenant_id, job_id) as job:
        if job is None or job.status != ImportJob.Status.UNDOING:
            return "skipped"
        try:
            engine.undo(job)
        except Exception as exc:
            logger.exception("Undo of import %s failed", job_id)
            ImportJob.objects.filter(pk=job.pk).update(error=_("Undo stopped: %(error)s") % {"error": exc})
            return "failed"
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.UNDONE, finished_at=timezone.now())
        return "done"


@task()
def resume_stale_imports() -> dict[str, int]:
    """Queue again the imports, undos and dry runs whose worker died (no heartbeat for ``engine.STALE_AFTER``).

    An import resumes from its checkpoint; a dry run starts again from the first row (it wrote
    nothing), up to ``services.PREVIEW_MAX_ATTEMPTS`` times.
    """
    from guanxi.tenancy.models import Tenant

    with all_tenants_scope():
        tenants = list(Tenant.objects.filter(status=Tenant.Status.ACTIVE).order_by("pk"))
    resumed: dict[str, int] = {}
    for tenant in tenants:
        with tenant_context(tenant, meta=RequestMeta(via="task")):
            stale = list(engine.stale_jobs().values_list("pk", flat=True))
            undoing = list(
                ImportJob.objects.filter(
                    status=ImportJob.Status.UNDOING, heartbeat_at__lt=timezone.now() - engine.STALE_AFTER
                ).values_list("pk", flat=True)
            )
            previews = services.previews_restart_stale()
        for job_id in stale:
            run_import.enqueue(tenant.pk, job_id)
        for job_id in undoing:
            with tenant_context(tenant, meta=RequestMeta(via="task")):
                ImportJob.objects.filter(pk=job_id).update(heartbeat_at=timezone.now())
            undo_import.enqueue(tenant.pk, job_id)
        for job_id, token in previews:
            preview_import.enqueue(tenant.pk, job_id, token)
        if stale or undoing or previews:
            resumed[tenant.slug] = len(stale) + len(undoing) + len(previews)
    return resumed
