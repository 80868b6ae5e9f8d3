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
