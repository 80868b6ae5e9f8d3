"""Background tasks of the sales app (django-tasks).

``manage.py run_scheduler`` enqueues ``nightly_lead_rescoring`` every minute: it recomputes a tenant's lead
scores once a night, in the tenant's night hours (a claimed row per day makes running it again, or twice at
once, do nothing). ``rescore_all_leads`` recomputes every tenant's scores at once (on demand).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django_tasks import task

from guanxi.platform.context import RequestMeta, all_tenants_scope, tenant_context

logger = logging.getLogger(__name__)


def _for_each_tenant(work: Callable[[], int | None], what: str) -> dict[str, int]:
    """Run ``work`` in every active tenant; {tenant slug: its result} where it did something."""
    from guanxi.tenancy.models import Tenant

    with all_tenants_scope():  # platform code: the list of tenants to work for
        tenants = list(Tenant.objects.filter(status=Tenant.Status.ACTIVE).order_by("pk"))
    totals = {}
    for tenant in tenants:
        try:
            with tenant_context(tenant, meta=RequestMeta(via="task")):
                changed = work()
        except Exception:
            logger.exception("%s failed for tenant %s", what, tenant.pk)
            continue
        if changed:
            totals[tenant.slug] = changed
    return totals


@task()
def rescore_all_leads() -> dict[str, int]:
    """Recompute lead scores in every active tenant now; {tenant slug: scores changed}."""
    from .lead_services import leads_rescore_all

    return _for_each_tenant(leads_rescore_all, "Lead rescoring")


@task()
def nightly_lead_rescoring() -> dict[str, int]:
    """Recompute lead scores in each active tenant once a night (its night hours); {tenant slug: scores changed}."""
    from .lead_services import leads_nightly_rescore

    return _for_each_tenant(leads_nightly_rescore, "Nightly lead rescoring")
