"""Background tasks of the commerce app (django-tasks), enqueued by ``manage.py run_scheduler``."""

from __future__ import annotations

import logging

from django_tasks import task

from guanxi.platform.context import RequestMeta, all_tenants_scope, tenant_context

logger = logging.getLogger(__name__)


@task()
def expire_quotes() -> dict[str, int]:
    """Mark open quotes past their validity date expired, in every active tenant; {tenant slug: count}."""
    from guanxi.tenancy.models import Tenant

    from . import services

    # Platform code: the list of tenants to work for crosses tenants on purpose.
    with all_tenants_scope():
        tenants = list(Tenant.objects.filter(status=Tenant.Status.ACTIVE).order_by("pk"))
    totals: dict[str, int] = {}
    for tenant in tenants:
        try:
            with tenant_context(tenant, meta=RequestMeta(via="task")):
                count = services.quotes_expire()
        except Exception:
            logger.exception("Expiring quotes failed for tenant %s", tenant.pk)
            continue
        if count:
            totals[tenant.slug] = count
    return totals
