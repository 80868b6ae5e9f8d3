"""The per-user iCalendar (RFC 5545) feed of planned and done activities."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable

from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from .models import Activity

DEFAULT_DURATION = {
    Activity.Kind.MEETING: datetime.timedelta(hours=1),
    Activity.Kind.CALL: datetime.timedelta(minutes=15),
    Activity.Kind.TASK: datetime.timedelta(minutes=30),
    Activity.Kind.EMAIL: datetime.timedelta(minutes=15),
}
STATUS = {
    Activity.Status.PLANNED: "CONFIRMED",
    Activity.Status.DONE: "CONFIRMED",
    Activity.Status.CANCELLED: "CANCELLED",
}


def event_uid(activity: Activity, tenant) -> str:
    """Stable per activity: calendar clients update the same event when it changes."""
    return f"activity-{activity.pk}@{tenant.slug}.guanxi"


def _description(activity: Activity) -> str:
    lines = []
    if activity.account_id:
        lines.append(_("Account: %(account)s") % {"account": activity.account})
    if activity.contact_id:
        lines.append(_("Contact: %(contact)s") % {"contact": activity.contact})
    if activity.body:
        lines.append("")
        lines.append(activity.body)
    if activity.next_step:
        lines.append("")
        lines.append(_("Next step: %(step)s") % {"step": activity.next_step})
    return "\n".join(lines).strip()


def build_feed(activities: Iterable[Activity], *, tenant, name: str, absolute_url: Callable[[str], str]) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Guanxi CRM//Activities//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-published-ttl", "PT15M")
    now = timezone.now()
    for a in activities:
        event = Event()
        event.add("uid", event_uid(a, tenant))
        event.add("dtstamp", now)
        event.add("last-modified", a.updated_at or now)
        event.add("created", a.created_at or now)
        event.add("dtstart", a.starts_at)
        event.add("dtend", a.ends_at or a.starts_at + DEFAULT_DURATION.get(a.kind, datetime.timedelta(minutes=30)))
        event.add("summary", _("%(kind)s: %(subject)s") % {"kind": a.get_kind_display(), "subject": a.subject})
        description = _description(a)
        if description:
            event.add("description", description)
        if a.location:
            event.add("location", a.location)
        event.add("status", STATUS.get(a.status, "CONFIRMED"))
        event.add("url", absolute_url(a.get_absolute_url()))
        event.add("categories", [a.get_kind_display()])
        cal.add_component(event)
    return cal.to_ical()
