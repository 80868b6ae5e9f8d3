"""REST API of activities: /api/v1/activities (list, get, create, patch, delete, complete)."""

from __future__ import annotations

import datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import QueryDict
from ninja import Query, Router, Schema, Status
from pydantic import Field

from guanxi.access import permissions
from guanxi.platform.api import list_page
from guanxi.platform.registry import Action

from . import selectors, services
from .filters import ActivityFilterSet
from .models import Activity

router = Router(tags=["activities"])
ACTIVITY = services.ACTIVITY

Kind = Literal["note", "call", "meeting", "task", "email"]
StatusValue = Literal["planned", "done", "cancelled"]
SORTS = {"starts_at", "created_at", "updated_at"}


class ParticipantsOut(Schema):
    user_ids: list[int]
    contact_ids: list[int]


class ActivityOut(Schema):
    """An activity. Fields hidden from you by field restrictions are left out."""

    id: int
    kind: str | None = None
    subject: str | None = None
    body: str | None = None
    status: str | None = None
    starts_at: datetime.datetime | None = None
    ends_at: datetime.datetime | None = None
    direction: str | None = None
    outcome: str | None = None
    next_step: str | None = None
    priority: str | None = None
    location: str | None = None
    account_id: int | None = None
    contact_id: int | None = None
    owner_id: int | None = None
    reminder_at: datetime.datetime | None = None
    completed_at: datetime.datetime | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None
    participants: ParticipantsOut | None = None
    url: str | None = None


class ActivityPage(Schema):
    items: list[ActivityOut]
    next_cursor: str | None = None
    prev_cursor: str | None = None
    total: int | None = None
    total_is_exact: bool = True


class ActivityIn(Schema):
    kind: Kind = "note"
    subject: str = Field(max_length=200)
    body: str = ""
    status: StatusValue | None = Field(None, description="Default: planned for tasks and future items, else done.")
    starts_at: datetime.datetime | None = Field(None, description="Due time of a task / start; default now.")
    ends_at: datetime.datetime | None = None
    direction: Literal["", "inbound", "outbound"] = ""
    outcome: str = ""
    next_step: str = ""
    follow_up_due: datetime.date | datetime.datetime | None = Field(
        None, description="With next_step: also create a follow-up task due then."
    )
    priority: Literal["low", "normal", "high"] = "normal"
    location: str = ""
    account_id: int | None = None
    contact_id: int | None = Field(None, description="Without account_id, the contact's account is used.")
    owner_id: int | None = Field(None, description="Default: you.")
    reminder_at: datetime.datetime | None = None
    participant_user_ids: list[int] | None = None
    participant_contact_ids: list[int] | None = None


class ActivityPatch(Schema):
    kind: Kind | None = None
    subject: str | None = Field(None, max_length=200)
    body: str | None = None
    status: StatusValue | None = None
    starts_at: datetime.datetime | None = None
    ends_at: datetime.datetime | None = None
    direction: Literal["", "inbound", "outbound"] | None = None
    outcome: str | None = None
    next_step: str | None = None
    priority: Literal["low", "normal", "high"] | None = None
    location: str | None = None
    account_id: int | None = None
    contact_id: int | None = None
    owner_id: int | None = None
    reminder_at: datetime.datetime | None = None
    participant_user_ids: list[int] | None = None
    participant_contact_ids: list[int] | None = None


class CompleteIn(Schema):
    outcome: str = ""
    next_step: str = ""
    follow_up_due: datetime.date | datetime.datetime | None = None


class CompleteOut(Schema):
    activity: ActivityOut
    follow_up: ActivityOut | None = None


class ActivityFilters(Schema):
    kind: Kind | None = None
    status: StatusValue | None = None
    owner: str | None = Field(None, description="Owner user id, or `me`.")
    account: int | None = None
    contact: int | None = None
    due_after: datetime.datetime | None = Field(None, description="starts_at ≥ this.")
    due_before: datetime.datetime | None = Field(None, description="starts_at < this.")
    mine: bool = Field(False, description="Only activities you own or take part in.")
    overdue: bool = False
    q: str | None = Field(None, description="Text in subject, details or next step.")
    sort: str = Field("-starts_at", description="starts_at, created_at or updated_at; '-' for descending.")
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


def serialize(a: Activity, access: permissions.FieldAccess) -> dict:
    people = list(a.participants.all())
    data = {
        "id": a.pk,
        "kind": a.kind,
        "subject": a.subject,
        "body": a.body,
        "status": a.status,
        "starts_at": a.starts_at,
        "ends_at": a.ends_at,
        "direction": a.direction,
        "outcome": a.outcome,
        "next_step": a.next_step,
        "priority": a.priority,
        "location": a.location,
        "account_id": a.account_id,
        "contact_id": a.contact_id,
        "owner_id": a.owner_id,
        "reminder_at": a.reminder_at,
        "completed_at": a.completed_at,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
        "participants": {
            "user_ids": [p.user_id for p in people if p.user_id],
            "contact_ids": [p.contact_id for p in people if p.contact_id],
        },
        "url": a.get_absolute_url(),
    }
    for key in list(data):
        name = key[:-3] if key.endswith("_id") and key != "id" else key
        if name in access.hidden:
            del data[key]
    return data


def _data(payload: dict) -> tuple[dict, list | None, list | None]:
    users = payload.pop("participant_user_ids", None)
    contacts = payload.pop("participant_contact_ids", None)
    for key in ("account_id", "contact_id", "owner_id"):
        if key in payload:
            payload[key[:-3]] = payload.pop(key)
    return payload, users, contacts


def _fresh(user, pk) -> dict:
    return serialize(selectors.activity_for(user, pk), permissions.field_access(user, ACTIVITY))


@router.get("", response=ActivityPage, exclude_unset=True, summary="List activities")
def list_activities(request, filters: Query[ActivityFilters]):
    """The same filters as the activity list page; cursor pagination (`next_cursor`)."""
    permissions.require(request.user, ACTIVITY, Action.VIEW)
    f = filters.dict()
    params = QueryDict(mutable=True)
    for key in ("kind", "status", "owner", "account", "contact", "q"):
        if f[key] not in (None, ""):
            params[key] = str(f[key])
    for key in ("due_after", "due_before"):
        if f[key] is not None:
            params[key] = f[key].isoformat()
    for key in ("mine", "overdue"):
        if f[key]:
            params[key] = "1"
    queryset = selectors.activities_visible(request.user).prefetch_related(selectors.participants_prefetch())
    filterset = ActivityFilterSet(params, queryset=queryset, request=request)
    if not filterset.is_valid():
        raise ValidationError({k: [str(m) for m in v] for k, v in filterset.errors.items()})
    access = permissions.field_access(request.user, ACTIVITY)
    return list_page(
        filterset.qs,
        sort=f["sort"],
        allowed_sorts=SORTS,
        cursor=f["cursor"],
        limit=f["limit"],
        serialize=lambda a: serialize(a, access),
    )


@router.get("/{int:activity_id}", response=ActivityOut, exclude_unset=True, summary="Get an activity")
def get_activity(request, activity_id: int):
    return _fresh(request.user, activity_id)


@router.post("", response={201: ActivityOut}, exclude_unset=True, summary="Create an activity")
def create_activity(request, payload: ActivityIn):
    data, users, contacts = _data(payload.dict())
    follow_up_due = data.pop("follow_up_due", None)
    if not data.get("status"):
        data.pop("status", None)
    activity = services.activity_create(
        actor=request.user,
        data=data,
        participant_users=users,
        participant_contacts=contacts,
        follow_up_due=follow_up_due,
    )
    return Status(201, _fresh(request.user, activity.pk))


@router.patch("/{int:activity_id}", response=ActivityOut, exclude_unset=True, summary="Change an activity")
def update_activity(request, activity_id: int, payload: ActivityPatch):
    activity = selectors.activity_for(request.user, activity_id, Action.EDIT)
    data, users, contacts = _data(payload.dict(exclude_unset=True))
    for key in ("kind", "subject", "status", "starts_at", "priority", "owner"):
        if key in data and data[key] is None:
            data.pop(key)  # not nullable: null means "unchanged"
    for key in ("body", "direction", "outcome", "next_step", "location"):
        if key in data and data[key] is None:
            data[key] = ""
    services.activity_update(
        actor=request.user, activity=activity, data=data, participant_users=users, participant_contacts=contacts
    )
    return _fresh(request.user, activity_id)


@router.delete("/{int:activity_id}", response={204: None}, summary="Delete an activity")
def delete_activity(request, activity_id: int):
    activity = selectors.activity_for(request.user, activity_id, Action.DELETE)
    services.activity_delete(actor=request.user, activity=activity)
    return Status(204, None)


@router.post("/{int:activity_id}/complete", response=CompleteOut, exclude_unset=True, summary="Mark an activity done")
def complete_activity(request, activity_id: int, payload: CompleteIn):
    activity = selectors.activity_for(request.user, activity_id, Action.EDIT)
    activity = services.activity_complete(
        actor=request.user,
        activity=activity,
        outcome=payload.outcome,
        next_step=payload.next_step,
        follow_up_due=payload.follow_up_due,
    )
    follow_up = activity.follow_up
    return {
        "activity": _fresh(request.user, activity_id),
        "follow_up": _fresh(request.user, follow_up.pk)
        if follow_up is not None and permissions.can(request.user, Action.VIEW, follow_up)
        else None,
    }
