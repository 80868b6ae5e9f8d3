"""Platform-operator writes: creating, suspending and reactivating tenants."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.platform.context import tenant_context

from .models import Tenant


@transaction.atomic
def tenant_create(
    *,
    actor,
    name: str,
    slug: str,
    admin_email: str,
    admin_name: str,
    admin_password: str | None = None,
    default_language: str = "zh-hans",
    time_zone: str = "Asia/Shanghai",
    currency: str = "CNY",
    max_users: int | None = None,
) -> Tenant:
    """Create a tenant with its company unit, the built-in roles and a first administrator."""
    from guanxi.access.services import roles_create_builtin
    from guanxi.org.models import OrgUnit
    from guanxi.org.services import member_add, org_unit_save

    tenant = Tenant(
        name=name,
        slug=slug,
        default_language=default_language,
        time_zone=time_zone,
        currency=currency,
        max_users=max_users,
    )
    tenant.full_clean()
    tenant.save()
    with tenant_context(tenant, actor=actor):
        company = org_unit_save(actor=actor, unit=OrgUnit(name=name, kind=OrgUnit.Kind.COMPANY))
        roles = roles_create_builtin()
        member_add(
            actor=actor,
            email=admin_email,
            full_name=admin_name,
            password=admin_password,
            unit=company,
            roles=[roles["Administrator"]],
            is_admin=True,
        )
        audit.record(AuditAction.TENANT, tenant, note="tenant created")
    return tenant


@transaction.atomic
def tenant_suspend(*, actor, tenant: Tenant, reason: str) -> Tenant:
    tenant.status = Tenant.Status.SUSPENDED
    tenant.suspended_at = timezone.now()
    tenant.suspension_reason = reason
    tenant.save(update_fields=["status", "suspended_at", "suspension_reason"])
    with tenant_context(tenant, actor=actor):
        audit.record(AuditAction.TENANT, tenant, note=f"suspended: {reason}"[:300])
    return tenant


@transaction.atomic
def tenant_reactivate(*, actor, tenant: Tenant) -> Tenant:
    tenant.status = Tenant.Status.ACTIVE
    tenant.suspended_at = None
    tenant.suspension_reason = ""
    tenant.save(update_fields=["status", "suspended_at", "suspension_reason"])
    with tenant_context(tenant, actor=actor):
        audit.record(AuditAction.TENANT, tenant, note="reactivated")
    return tenant


def tenant_create_with_invite(*, actor, domain: str, use_https: bool = True, **fields) -> tuple[Tenant, str]:
    """``tenant_create`` (no password given), then email the first administrator a link to
    choose a password if they are new to Guanxi. Returns the tenant and ``"sent"``,
    ``"failed"`` or ``"not_needed"`` (an existing user who already has a password)."""
    import logging
    import smtplib

    from guanxi.org.models import Member
    from guanxi.org.services import set_password_email_send

    fields.pop("admin_password", None)
    tenant = tenant_create(actor=actor, **fields)
    with tenant_context(tenant, actor=actor):
        admin = Member.objects.select_related("user").get(user__email=fields["admin_email"].strip().lower()).user
    if admin.has_usable_password():
        return tenant, "not_needed"
    try:
        set_password_email_send(user=admin, tenant=tenant, domain=domain, use_https=use_https, inviter=None)
    except (OSError, smtplib.SMTPException):
        logging.getLogger(__name__).exception("Could not send the invitation email to user %s", admin.pk)
        return tenant, "failed"
    return tenant, "sent"
