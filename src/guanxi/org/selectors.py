"""Reads of the organisation (current tenant)."""

from __future__ import annotations

from guanxi.platform import context

from .models import Member, OrgUnit


def member_user_choices(*, active_only: bool = True) -> list[tuple[int, str]]:
    """(user id, name) of the tenant's members, for owner / user pickers (cached per request)."""
    cache = context.context_cache()
    key = f"member_user_choices:{active_only}"
    if key not in cache:
        qs = Member.objects.select_related("user").order_by("user__full_name")
        if active_only:
            qs = qs.filter(is_active=True)
        cache[key] = [(m.user_id, m.user.full_name or m.user.email) for m in qs]
    return cache[key]


def member_users(*, active_only: bool = True):
    """The users who are members of the current tenant, as a User queryset."""
    from guanxi.identity.models import User

    members = Member.objects.filter(is_active=True) if active_only else Member.objects.all()
    return User.objects.filter(pk__in=members.values("user_id")).order_by("full_name")


def units_tree() -> list[OrgUnit]:
    """All units in tree order (by materialised path), each with ``depth`` for indentation."""
    return list(OrgUnit.objects.order_by("path"))


# --- administration ---------------------------------------------------------------------------


def members_for_admin(*, q: str = "", unit_id: int | None = None, active: bool | None = None):
    """Members with everything the People page shows, loaded in a fixed number of queries."""
    from django.db.models import Prefetch, Q

    from guanxi.access.models import Role

    from .models import BusinessLine, Team

    qs = Member.objects.select_related("user", "unit", "manager__user").prefetch_related(
        Prefetch("roles", queryset=Role.objects.order_by("name")),
        Prefetch("business_lines", queryset=BusinessLine.objects.order_by("name")),
        Prefetch("teams", queryset=Team.objects.order_by("name")),
    )
    if q:
        q = q.strip()
        qs = qs.filter(Q(user__full_name__icontains=q) | Q(user__email__icontains=q) | Q(title__icontains=q))
    if unit_id:
        qs = qs.filter(unit_id=unit_id)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs


def units_with_counts() -> list[OrgUnit]:
    """All units in tree order with ``member_count`` and ``child_count`` (one query)."""
    from django.db.models import Count

    return list(
        OrgUnit.objects.annotate(
            member_count=Count("members", distinct=True), child_count=Count("children", distinct=True)
        ).order_by("path")
    )


def business_lines_with_counts():
    from django.db.models import Count

    from .models import BusinessLine

    return BusinessLine.objects.annotate(member_count=Count("members", distinct=True)).order_by("name")


def teams_for_admin():
    from django.db.models import Count

    from .models import Team

    return (
        Team.objects.select_related("unit", "lead__user")
        .annotate(member_count=Count("members", distinct=True))
        .order_by("name")
    )


def tenant_users(*, q: str = "", unit_id: int | None = None, active: bool | None = None):
    """Users who are members of the current tenant (a User queryset for the API), each with
    ``tenant_members`` = [their membership, with manager, business lines and teams loaded]."""
    from django.db.models import Prefetch, Q

    from guanxi.identity.models import User

    members = Member.objects.all()
    if unit_id is not None:
        members = members.filter(unit_id=unit_id)
    if active is not None:
        members = members.filter(is_active=active)
    if q.strip():
        q = q.strip()
        members = members.filter(Q(user__full_name__icontains=q) | Q(user__email__icontains=q) | Q(title__icontains=q))
    member_rows = Member.objects.select_related("manager").prefetch_related("business_lines", "teams")
    return User.objects.filter(pk__in=members.values("user_id")).prefetch_related(
        Prefetch("memberships", queryset=member_rows, to_attr="tenant_members")
    )
