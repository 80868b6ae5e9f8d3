"""Background duplicate scans: on demand (one tenant) and nightly (every active tenant).

``manage.py run_scheduler`` enqueues ``nightly_duplicate_scan`` every minute; it starts a
tenant's scan only in the tenant's night hours and only if none ran in the last 20 hours,
so running it again (or twice at once) does nothing.
"""

from __future__ import annotations

import logging

from django_tasks import task

from guanxi.platform.context import RequestMeta, all_tenants_scope, tenant_context

from . import services

logger = logging.getLogger(__name__)


def _tenant(tenant_id: int):
    from guanxi.tenancy.models import Tenant

    with all_tenants_scope():  # platform code: finding the tenant a job belongs to
        return Tenant.objects.filter(pk=tenant_id, status=Tenant.Status.ACTIVE).first()


@task()
def run_duplicate_scan(tenant_id: int, scan_id: int) -> dict:
    """Run a queued scan of one tenant; returns its statistics."""
    from .models import DuplicateScan

    tenant = _tenant(tenant_id)
    if tenant is None:
        return {}
    with tenant_context(tenant, meta=RequestMeta(via="task")):
        scan = DuplicateScan.objects.filter(pk=scan_id).first()
        if scan is None:
            return {}
        return services.scan_run(scan=scan).stats


@task()
def nightly_duplicate_scan() -> dict[str, dict]:
    """Scan every active tenant for which it is night and no scan ran today; {tenant slug: stats}."""
    from guanxi.tenancy.models import Tenant

    with all_tenants_scope():
        tenants = list(Tenant.objects.filter(status=Tenant.Status.ACTIVE).order_by("pk"))
    done = {}
    for tenant in tenants:
        try:
            with tenant_context(tenant, meta=RequestMeta(via="task")):
                scan = services.nightly_scan_start()
        except Exception:
            logger.exception("Nightly duplicate scan failed for tenant %s", tenant.pk)
            continue
        if scan is not None:
            done[tenant.slug] = scan.stats
    return done
