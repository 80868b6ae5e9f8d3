"""Reads of activities and notifications, always narrowed by the permission service."""

from __future__ import annotations

import calendar as pycalendar
import datetime
from dataclasses import dataclass, field

from django.apps import apps
from django.db.models import Prefetch, Q
from django.http import Http404
from django.utils import timezone

from guanxi.access import permissions
from guanxi.platform import registry
from guanxi.platform.registry import Action

from .models import Activity, ActivityParticipant, FollowUpPlan, FollowUpStep, Notification

ACTIVITY = "activities.activity"
AGENDA_KINDS = (Activity.Kind.TASK, Activity.Kind.MEETING, Activity.Kind.CALL)
CALENDAR_KINDS = (Activity.Kind.TASK, Activity.Kind.MEETING, Activity.Kind.CALL, Activity.Kind.EMAIL)
MY_DAY_LIMIT = 200
CALENDAR_LIMIT = 1000
FEED_PAST_DAYS = 90
FEED_FUTURE_DAYS = 400
FEED_LIMIT = 3000


def participants_prefetch() -> Prefetch:
    return Prefetch(
        "participants", queryset=ActivityParticipant.objects.select_related("user", "contact").order_by("pk")
    )


def activities_visible(user, action: str = Action.VIEW):
    """Activities ``user`` may ``action``, with the rows every list shows loaded."""
    return permissions.visible(user, Activity.objects.select_related("owner", "account", "contact"), action)


def activity_for(user, pk, action: str = Action.VIEW) -> Activity:
    """One activity (404 when out of reach), with its participants."""
    qs = Activity.objects.select_related("owner", "account", "contact", "created_by").prefetch_related(
        participants_prefetch()
    )
    return permissions.get_for(user, qs, pk, action)


def editable_ids(user, activities) -> set[int]:
    """The ids among ``activities`` the user may change: one query for a whole list."""
    ids = [a.pk for a in activities]
    if not ids:
        return set()
    return set(permissions.visible(user, Activity.objects.filter(pk__in=ids), Action.EDIT).values_list("pk", flat=True))


def involving(user) -> Q:
    """Activities owned by ``user`` or in which they take part."""
    return Q(owner=user) | Q(pk__in=ActivityParticipant.objects.filter(user=user).values("activity_id"))


def _day_start(day: datetime.date) -> datetime.datetime:
    """Midnight of ``day`` in the current (the user's) time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


# --- My day -----------------------------------------------------------------------------------


@dataclass
class MyDay:
    overdue: list = field(default_factory=list)
    today: list = field(default_factory=list)
    upcoming: list = field(default_factory=list)
    recent: list = field(default_factory=list)
    today_date: datetime.date | None = None
    editable: set = field(default_factory=set)

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.today or self.upcoming)


def my_day(user, *, now=None) -> MyDay:
    """Planned tasks, meetings and calls of ``user``: overdue, today, next 7 days; and what they logged lately.

    Three queries whatever the number of rows (plus the permission lookups).
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    start_today = _day_start(today)
    start_tomorrow = _day_start(today + datetime.timedelta(days=1))
    horizon = _day_start(today + datetime.timedelta(days=8))
    planned = list(
        activities_visible(user)
        .filter(involving(user), status=Activity.Status.PLANNED, kind__in=AGENDA_KINDS, starts_at__lt=horizon)
        .order_by("starts_at", "pk")[:MY_DAY_LIMIT]
    )
    day = MyDay(today_date=today)
    for a in planned:
        if a.starts_at < start_today:
            day.overdue.append(a)
        elif a.starts_at < start_tomorrow:
            day.today.append(a)
        else:
            day.upcoming.append(a)
    day.recent = list(
        activities_visible(user)
        .filter(created_by=user)
        .exclude(status=Activity.Status.PLANNED)
        .order_by("-created_at", "-pk")[:8]
    )
    day.editable = editable_ids(user, planned)
    return day


# --- calendar ---------------------------------------------------------------------------------


@dataclass
class CalendarDay:
    date: datetime.date
    in_month: bool = True
    is_today: bool = False
    events: list = field(default_factory=list)


def calendar_range(view: str, anchor: datetime.date, first_weekday: int) -> tuple[datetime.date, datetime.date]:
    """The first and the day after the last day shown (whole weeks starting on ``first_weekday``: 0 = Monday)."""
    if view == "week":
        start = anchor - datetime.timedelta(days=(anchor.weekday() - first_weekday) % 7)
        return start, start + datetime.timedelta(days=7)
    first = anchor.replace(day=1)
    last = first.replace(day=pycalendar.monthrange(first.year, first.month)[1])
    start = first - datetime.timedelta(days=(first.weekday() - first_weekday) % 7)
    end = last + datetime.timedelta(days=7 - ((last.weekday() - first_weekday) % 7))
    return start, end


def calendar_events(user, *, start: datetime.date, end: datetime.date, who=None):
    """Visible planned or done activities (not notes) between two local dates.

    ``who``: None for the user's own (owned or taking part), a user for a teammate's,
    ``"all"`` for every activity the user may see.
    """
    qs = activities_visible(user).filter(
        kind__in=CALENDAR_KINDS, starts_at__gte=_day_start(start), starts_at__lt=_day_start(end)
    )
    if who is None:
        qs = qs.filter(involving(user))
    elif who != "all":
        qs = qs.filter(involving(who))
    return list(qs.order_by("starts_at", "pk")[:CALENDAR_LIMIT])


def calendar_days(
    events, *, start: datetime.date, end: datetime.date, month: int | None, today: datetime.date
) -> list[CalendarDay]:
    days = {}
    d = start
    while d < end:
        days[d] = CalendarDay(date=d, in_month=month is None or d.month == month, is_today=d == today)
        d += datetime.timedelta(days=1)
    for event in events:
        local = timezone.localdate(event.starts_at)
        if local in days:
            days[local].events.append(event)
    return list(days.values())


def feed_activities(user, *, now=None) -> list[Activity]:
    """What the user's iCalendar feed shows: their visible calendar items from 90 days ago on."""
    now = now or timezone.now()
    return list(
        activities_visible(user)
        .filter(
            involving(user),
            kind__in=CALENDAR_KINDS,
            starts_at__gte=now - datetime.timedelta(days=FEED_PAST_DAYS),
            starts_at__lt=now + datetime.timedelta(days=FEED_FUTURE_DAYS),
        )
        .order_by("starts_at", "pk")[:FEED_LIMIT]
    )


# --- timelines --------------------------------------------------------------------------------


@dataclass
class TimelineParent:
    """The record a timeline belongs to: an account, a contact or any registered entity."""

    kind: str  # "account" | "contact" | "regarding"
    obj: object
    content_type_id: int | None = None

    @property
    def query(self) -> str:
        if self.kind == "regarding":
            return f"regarding_type={self.obj._meta.label_lower}&regarding_id={self.obj.pk}"
        return f"{self.kind}={self.obj.pk}"

    @property
    def fields(self) -> dict:
        """Hidden form fields naming the parent (quick log form, plan form)."""
        if self.kind == "regarding":
            return {"regarding_type": self.obj._meta.label_lower, "regarding_id": self.obj.pk}
        return {self.kind: self.obj.pk}

    @property
    def dom_id(self) -> str:
        return f"gx-timeline-{self.obj._meta.model_name}-{self.obj.pk}"


def timeline_parent(user, params) -> TimelineParent:
    """The parent record named in ``params`` (account / contact / regarding_type + regarding_id); 404 if not visible."""
    from django.contrib.contenttypes.models import ContentType

    from guanxi.customers.models import Account, Contact

    if params.get("account"):
        return TimelineParent("account", permissions.get_for(user, Account.objects.all(), params["account"]))
    if params.get("contact"):
        return TimelineParent(
            "contact", permissions.get_for(user, Contact.objects.select_related("account"), params["contact"])
        )
    label, pk = params.get("regarding_type") or "", params.get("regarding_id")
    if label and pk:
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            raise Http404
        if registry.entity_for_model(model) is None or model is Activity:
            raise Http404
        obj = permissions.get_for(user, model._default_manager.all(), pk)
        return TimelineParent("regarding", obj, ContentType.objects.get_for_model(model).pk)
    raise Http404


def timeline(user, parent: TimelineParent):
    """The parent's activities newest first (an account's include those of its contacts)."""
    from guanxi.customers.models import AccountContact, Contact

    qs = activities_visible(user).prefetch_related(participants_prefetch())
    if parent.kind == "account":
        account = parent.obj
        linked = AccountContact.objects.filter(account=account).values("contact_id")
        primary = Contact.objects.filter(account=account).values("pk")
        return qs.filter(Q(account=account) | Q(contact_id__in=linked) | Q(contact_id__in=primary))
    if parent.kind == "contact":
        return qs.filter(contact=parent.obj)
    return qs.filter(regarding_type_id=parent.content_type_id, regarding_id=parent.obj.pk)


# --- notifications ------------------------------------------------------------------------------


def notifications_for(user, *, unread_only: bool = False):
    qs = Notification.objects.filter(user=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs


def unread_count(user, limit: int = 99) -> int:
    """Unread notifications, counted up to ``limit`` + 1 (shown as "99+")."""
    return notifications_for(user, unread_only=True).order_by().values("pk")[: limit + 1].count()


def notification_for(user, pk) -> Notification:
    n = Notification.objects.filter(user=user, pk=pk).first() if str(pk).isdigit() else None
    if n is None:
        raise Http404
    return n


# --- follow-up plans ------------------------------------------------------------------------------


def plans(*, active_only: bool = False):
    from django.db.models import Count

    qs = FollowUpPlan.objects.annotate(step_count=Count("steps")).order_by("name")
    return qs.filter(is_active=True) if active_only else qs


def plan_for(pk) -> FollowUpPlan:
    plan = FollowUpPlan.objects.filter(pk=pk).first() if str(pk).isdigit() else None
    if plan is None:
        raise Http404
    return plan


def plan_steps(plan) -> list[FollowUpStep]:
    return list(FollowUpStep.objects.filter(plan=plan).order_by("position", "offset_days", "pk"))


def step_for(pk) -> FollowUpStep:
    step = FollowUpStep.objects.select_related("plan").filter(pk=pk).first() if str(pk).isdigit() else None
    if step is None:
        raise Http404
    return step
