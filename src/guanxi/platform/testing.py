"""Helpers for tests: building tenants, people with roles, and running code inside a tenant."""

from __future__ import annotations

import itertools

from guanxi.platform.context import all_tenants_scope, tenant_context

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery-staple"


def make_tenant(name: str | None = None, *, admin_email: str | None = None, language: str = "en"):
    """A tenant with its company unit, built-in roles and an administrator (returned as tenant.admin)."""
    from guanxi.org.models import Member
    from guanxi.tenancy.services import tenant_create

    n = next(_seq)
    name = name or f"Tenant {n}"
    admin_email = admin_email or f"admin{n}@example.com"
    with all_tenants_scope():
        tenant = tenant_create(
            actor=None,
            name=name,
            slug=f"t{n}",
            admin_email=admin_email,
            admin_name=f"Admin {n}",
            admin_password=PASSWORD,
            default_language=language,
        )
    with tenant_context(tenant):
        tenant.admin = Member.objects.select_related("user").get(user__email=admin_email).user
    return tenant


def make_member(
    tenant,
    *,
    roles=("Sales representative",),
    unit=None,
    manager=None,
    business_lines=(),
    teams=(),
    is_admin=False,
    email=None,
    name=None,
):
    """Add a person to ``tenant`` with built-in roles (by English name); returns their User."""
    from guanxi.access.models import Role
    from guanxi.org.services import member_add

    n = next(_seq)
    with tenant_context(tenant):
        member = member_add(
            actor=None,
            email=email or f"user{n}@example.com",
            full_name=name or f"User {n}",
            password=PASSWORD,
            unit=unit,
            manager=manager,
            roles=list(Role.objects.filter(name__in=roles)),
            business_lines=list(business_lines),
            teams=list(teams),
            is_admin=is_admin,
        )
        user = member.user
        user.member = member
    return user


def make_unit(tenant, name, parent=None, kind="region"):
    from guanxi.org.models import OrgUnit
    from guanxi.org.services import org_unit_save

    with tenant_context(tenant):
        if parent is None:
            parent = OrgUnit.objects.get(kind=OrgUnit.Kind.COMPANY)
        return org_unit_save(actor=None, unit=OrgUnit(name=name, parent=parent, kind=kind))
