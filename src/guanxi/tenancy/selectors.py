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


# Audit actions an operator may see for a tenant: administration, not customer data.
OPERATOR_AUDIT_ACTIONS = (
    "tenant",
    "permission_change",
    "login",
    "logout",
    "login_failed",
    "locked_out",
    "password_change",
    "token",
)


def tenant_overview(tenant: Tenant, *, audit_limit: int = 50) -> dict:
    """What an operator sees about one tenant: usage figures, its people (read-only) and its
    recent administrative audit entries. No customer records, no field values."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Max

    from guanxi.activities.models import Activity
    from guanxi.audit.models import AuditEntry
    from guanxi.customers.models import Account, Contact
    from guanxi.org.models import Member
    from guanxi.platform import registry
    from guanxi.platform.context import tenant_context

    with tenant_context(tenant):
        usage = {
            "members": Member.objects.count(),
            "active_members": Member.objects.filter(is_active=True).count(),
            "accounts": Account.objects.count(),
            "contacts": Contact.objects.count(),
            "activities": Activity.objects.count(),
            "last_activity": AuditEntry.objects.aggregate(m=Max("at"))["m"],
        }
        members = list(
            Member.objects.select_related("user", "unit").prefetch_related("roles").order_by("user__full_name")
        )
        record_types = [e.model for e in registry.entities()]
        record_cts = [ct.pk for ct in ContentType.objects.get_for_models(*record_types).values()]
        audit_entries = list(
            AuditEntry.objects.filter(action__in=OPERATOR_AUDIT_ACTIONS)
            .exclude(content_type_id__in=record_cts)
            .select_related("content_type")
            .order_by("-at", "-id")[:audit_limit]
        )
    return {"usage": usage, "members": members, "audit_entries": audit_entries}
