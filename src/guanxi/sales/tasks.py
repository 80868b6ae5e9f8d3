"""Background tasks of the sales app (django-tasks)."""

from __future__ import annotations

import logging

from django_tasks import task

from guanxi.platform.context import RequestMeta, all_tenants_scope, tenant_context

logger = logging.getLogger(__name__)


@task()
def rescore_all_leads() -> dict[str, int]:
    """Recompute lead scores in every active tenant (e.g. nightly); {tenant slug: scores changed}."""
    from guanxi.tenancy.models import Tenant

    from .lead_services import leads_rescore_all

    with all_tenants_scope():  # platform code: the list of tenants to work for
        tenants = list(Tenant.objects.filter(status=Tenant.Status.ACTIVE).order_by("pk"))
    totals = {}
    for tenant in tenants:
        try:
            with tenant_context(tenant, meta=RequestMeta(via="task")):
                changed = leads_rescore_all()
        except Exception:
            logger.exception("Lead rescoring failed for tenant %s", tenant.pk)
            continue
        if changed:
            totals[tenant.slug] = changed
    return totals
