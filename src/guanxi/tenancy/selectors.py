"""Reading tenants and a user's memberships (platform-level: crosses tenants on purpose)."""

from __future__ import annotations

from django.db.models import Count, Max

from guanxi.platform.context import all_tenants_scope

from .models import Tenant


def memberships_for_user(user) -> list:
    """The active memberships of ``user`` in active or suspended tenants, tenant loaded."""
    from guanxi.org.models import Member

    if not user.is_authenticated:
        return []
    with all_tenants_scope():
        return list(Member.objects.filter(user=user, is_active=True).select_related("tenant").order_by("tenant__name"))


def membership(user, tenant_id: int):
    from guanxi.org.models import Member

    with all_tenants_scope():
        return Member.objects.filter(user=user, tenant_id=tenant_id, is_active=True).select_related("tenant").first()


def tenant_usage() -> list[dict]:
    """Per-tenant usage figures for the operator pages (one grouped query per table)."""
    from guanxi.activities.models import Activity
    from guanxi.audit.models import AuditEntry
    from guanxi.customers.models import Account, Contact
    from guanxi.org.models import Member

    with all_tenants_scope():
        tenants = list(Tenant.objects.all())
        counts: dict[str, dict[int, int]] = {}
        for label, model in (
            ("members", Member),
            ("accounts", Account),
            ("contacts", Contact),
            ("activities", Activity),
        ):
            counts[label] = dict(
                model.objects.values("tenant_id").annotate(n=Count("id")).values_list("tenant_id", "n")
            )
        last = dict(
            AuditEntry.objects.exclude(tenant=None)
            .values("tenant_id")
            .annotate(m=Max("at"))
            .values_list("tenant_id", "m")
        )
    return [
        {"tenant": t, **{label: counts[label].get(t.pk, 0) for label in counts}, "last_activity": last.get(t.pk)}
        for t in tenants
    ]
