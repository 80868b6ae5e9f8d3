"""Background tasks of the finance app (django-tasks), enqueued by ``manage.py run_scheduler``.

Both are idempotent and safe to run concurrently: contract warnings are claimed once per contract
and threshold (a unique row), and status changes lock their rows (skipping rows another worker holds).
"""

from __future__ import annotations

import logging

from django_tasks import task

from guanxi.platform.context import RequestMeta, all_tenants_scope, tenant_context

logger = logging.getLogger(__name__)


def _active_tenants() -> list:
    from guanxi.tenancy.models import Tenant

    # Platform code: the list of tenants to work for crosses tenants on purpose.
    with all_tenants_scope():
        return list(Tenant.objects.filter(status=Tenant.Status.ACTIVE).order_by("pk"))


@task()
def contract_warnings() -> dict[str, dict[str, int]]:
    """Renewal reminders and expiry warnings; active → expiring → expired, in every active tenant."""
    from . import services

    totals: dict[str, dict[str, int]] = {}
    for tenant in _active_tenants():
        try:
            with tenant_context(tenant, meta=RequestMeta(via="task")):
                counts = services.contracts_run_schedule()
        except Exception:
            logger.exception("Contract warnings failed for tenant %s", tenant.pk)
            continue
        if any(counts.values()):
            totals[tenant.slug] = counts
    return totals


@task()
def overdue_invoices() -> dict[str, int]:
    """Issued or partly paid invoices past their due date become overdue (owners notified); {tenant slug: count}."""
    from . import services

    totals: dict[str, int] = {}
    for tenant in _active_tenants():
        try:
            with tenant_context(tenant, meta=RequestMeta(via="task")):
                count = services.invoices_mark_overdue()
        except Exception:
            logger.exception("Overdue invoices failed for tenant %s", tenant.pk)
            continue
        if count:
            totals[tenant.slug] = count
    return totals
