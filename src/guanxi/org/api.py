"""/api/v1/users, /units, /business-lines, /teams: the organisation of the company, read-only.

Every member of the tenant may read these (they describe colleagues and the structure,
not customer records). Changes go through the settings pages.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema

from guanxi.platform.api import PageOut, list_page

from . import selectors
from .models import BusinessLine, OrgUnit, Team

router = Router(tags=["organisation"])


# --- schemas -----------------------------------------------------------------------------------


class UserOut(Schema):
    id: int
    email: str
    full_name: str
    title: str
    unit_id: int | None
    manager_id: int | None  # the manager's user id
    business_line_ids: list[int]
    team_ids: list[int]
    is_admin: bool
    is_active: bool


class UserPage(PageOut):
    items: list[UserOut]


class UnitOut(Schema):
    id: int
    name: str
    code: str
    kind: str
    parent_id: int | None
    path: str
    depth: int


class UnitPage(PageOut):
    items: list[UnitOut]


class BusinessLineOut(Schema):
    id: int
    name: str
    code: str
    description: str
    is_active: bool


class BusinessLinePage(PageOut):
    items: list[BusinessLineOut]


class TeamOut(Schema):
    id: int
    name: str
    unit_id: int | None
    lead_id: int | None  # the lead's user id
    member_ids: list[int]  # user ids


class TeamPage(PageOut):
    items: list[TeamOut]


class UserFilters(Schema):
    q: str | None = None
    unit: int | None = None
    active: bool | None = None
    sort: str = "full_name"
    cursor: str | None = None
    limit: int = 50


class ListParams(Schema):
    cursor: str | None = None
    limit: int = 50


# --- users -------------------------------------------------------------------------------------


def _user_out(user) -> dict:
    member = user.tenant_members[0]
    return {
        "id": user.pk,
        "email": user.email,
        "full_name": user.full_name,
        "title": member.title,
        "unit_id": member.unit_id,
        "manager_id": member.manager.user_id if member.manager_id else None,
        "business_line_ids": sorted(b.pk for b in member.business_lines.all()),
        "team_ids": sorted(t.pk for t in member.teams.all()),
        "is_admin": member.is_admin,
        "is_active": member.is_active,
    }


@router.get("/users", response=UserPage, summary="People of the company")
def users(request, filters: Query[UserFilters]):
    """Members of the company. `q` searches name, email and job title; `unit` is a unit id
    (people directly in it); `active` filters on whether they may sign in. Sort by
    `full_name`, `email` or `id` (prefix `-` for descending)."""
    return list_page(
        selectors.tenant_users(q=filters.q or "", unit_id=filters.unit, active=filters.active),
        sort=filters.sort,
        allowed_sorts={"full_name", "email", "id"},
        cursor=filters.cursor,
        limit=filters.limit,
        serialize=_user_out,
    )


@router.get("/users/{user_id}", response=UserOut, summary="One person of the company")
def user_detail(request, user_id: int):
    return _user_out(get_object_or_404(selectors.tenant_users(), pk=user_id))


# --- units, business lines, teams --------------------------------------------------------------


@router.get("/units", response=UnitPage, summary="Organisation units in tree order")
def units(request, params: Query[ListParams]):
    return list_page(
        OrgUnit.objects.all(),
        sort="path",
        allowed_sorts={"path"},
        cursor=params.cursor,
        limit=params.limit,
        serialize=lambda u: u,
    )


@router.get("/units/{unit_id}", response=UnitOut, summary="One organisation unit")
def unit_detail(request, unit_id: int):
    return get_object_or_404(OrgUnit, pk=unit_id)


@router.get("/business-lines", response=BusinessLinePage, summary="Business lines")
def business_lines(request, params: Query[ListParams]):
    return list_page(
        BusinessLine.objects.all(),
        sort="name",
        allowed_sorts={"name"},
        cursor=params.cursor,
        limit=params.limit,
        serialize=lambda b: b,
    )


def _team_out(team: Team) -> dict:
    return {
        "id": team.pk,
        "name": team.name,
        "unit_id": team.unit_id,
        "lead_id": team.lead.user_id if team.lead_id else None,
        "member_ids": sorted(m.user_id for m in team.members.all()),
    }


@router.get("/teams", response=TeamPage, summary="Teams and their members")
def teams(request, params: Query[ListParams]):
    return list_page(
        Team.objects.select_related("lead").prefetch_related("members"),
        sort="name",
        allowed_sorts={"name"},
        cursor=params.cursor,
        limit=params.limit,
        serialize=_team_out,
    )
