"""Background tasks (django-tasks): reminders and notification e-mails, for every active tenant.

``manage.py run_scheduler`` enqueues them every minute; ``manage.py db_worker`` runs them.
Both are idempotent and safe to run concurrently (see the services they call).
"""

from __future__ import annotations

import logging

from django_tasks import task

from guanxi.platform.context import RequestMeta, all_tenants_scope, tenant_context

from . import services

logger = logging.getLogger(__name__)


def _active_tenants() -> list:
    from guanxi.tenancy.models import Tenant

    # Platform code: the list of tenants to work for crosses tenants on purpose.
    with all_tenants_scope():
        return list(Tenant.objects.filter(status=Tenant.Status.ACTIVE).order_by("pk"))


def _for_each_tenant(work, label: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    for tenant in _active_tenants():
        try:
            with tenant_context(tenant, meta=RequestMeta(via="task")):
                count = work()
        except Exception:
            logger.exception("%s failed for tenant %s", label, tenant.pk)
            continue
        if count:
            totals[tenant.slug] = count
    return totals


@task()
def send_due_reminders() -> dict[str, int]:
    """Turn due reminders of planned activities into in-app notifications; {tenant slug: count}."""
    return _for_each_tenant(services.reminders_send_due, "Reminders")


@task()
def email_pending_notifications() -> dict[str, int]:
    """E-mail unread notifications not e-mailed yet (one message per user); {tenant slug: e-mails sent}."""
    return _for_each_tenant(services.notifications_email_pending, "Notification e-mails")
