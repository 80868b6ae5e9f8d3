"""Background exports (django-tasks): preparing one export, and deleting expired files.

``run_export`` gets the tenant id and the export id, and runs as the user who asked for the
export, with the request's metadata (so the audit entry says web or API, and the address), in
the request's language and time zone. ``expire_exports`` runs every minute from ``manage.py
run_scheduler``: it deletes expired files and queues again exports whose worker died or whose
task was lost (``services.exports_expire``).
"""

from __future__ import annotations

import logging

from django_tasks import task

from guanxi.platform.context import RequestMeta, all_tenants_scope, tenant_context

from . import services
from .models import ExportFile

logger = logging.getLogger(__name__)


def _active_tenants(tenant_id: int | None = None) -> list:
    from guanxi.tenancy.models import Tenant

    with all_tenants_scope():  # platform code: a task knows its tenant only by id
        tenants = Tenant.objects.filter(status=Tenant.Status.ACTIVE).order_by("pk")
        if tenant_id is not None:
            tenants = tenants.filter(pk=tenant_id)
        return list(tenants)


@task()
def run_export(tenant_id: int, export_id: int) -> str:
    tenants = _active_tenants(tenant_id)
    if not tenants:
        return "skipped"
    tenant = tenants[0]
    with tenant_context(tenant, meta=RequestMeta(via="task")):
        job = ExportFile.objects.select_related("requested_by").filter(pk=export_id).first()
        if job is None or job.status != ExportFile.Status.QUEUED:
            return "skipped"
    meta = RequestMeta(
        ip=job.meta.get("ip"),
        user_agent=job.meta.get("user_agent", ""),
        request_id=job.meta.get("request_id") or RequestMeta().request_id,
        via=job.meta.get("via") or "task",
    )
    with tenant_context(tenant, actor=job.requested_by, meta=meta):
        return services.export_run(job=job).status


@task()
def expire_exports() -> dict[str, dict[str, int]]:
    """Delete the files of expired exports and run again (or fail) exports whose worker died or whose
    task was lost, in every active tenant."""
    done = {}
    for tenant in _active_tenants():
        try:
            with tenant_context(tenant, meta=RequestMeta(via="task")):
                result = services.exports_expire()
        except Exception:
            logger.exception("Expiring exports failed for tenant %s", tenant.pk)
            continue
        if any(result.values()):
            done[tenant.slug] = result
    return done
