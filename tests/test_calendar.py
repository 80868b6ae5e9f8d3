"""Calendar month / week pages and the per-user iCalendar feed."""

import datetime
import re
import zoneinfo

import icalendar
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from guanxi.activities import services
from guanxi.customers import services as customers
from guanxi.identity.models import ApiToken
from guanxi.identity.services import api_token_create, api_token_revoke
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(day: datetime.date, hour: int, minute: int = 0, tz=SHANGHAI) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=tz)


def plan(user, subject, when, kind="meeting", **extra):
    return services.activity_create(
        actor=user, data={"kind": kind, "subject": subject, "starts_at": when, "status": "planned", **extra}
    )


@pytest.fixture
def rep_client(client, rep):
    client.force_login(rep)
    return client


def test_month_view_places_events_on_local_days(rep_client, tenant, rep):
    day = datetime.date(2030, 3, 14)
    with tenant_context(tenant, actor=rep):
        # 23:30 in Shanghai is still 15:30 UTC: it belongs to the 14th for the user.
        plan(rep, "Late dinner", at(day, 23, 30))
        plan(rep, "Breakfast meeting", at(day + datetime.timedelta(days=1), 7, 0))
        services.activity_create(actor=rep, data={"kind": "note", "subject": "A note is no event"})
    other = make_member(tenant)
    with tenant_context(tenant, actor=other):
        plan(other, "Someone else's", at(day, 10))
    response = rep_client.get(reverse("activities:calendar"), {"date": "2030-03-01"})
    assert response.status_code == 200
    days = {d.date: d for d in response.context["days"]}
    assert [e.subject for e in days[day].events] == ["Late dinner"]
    assert [e.subject for e in days[day + datetime.timedelta(days=1)].events] == ["Breakfast meeting"]
    assert all(
        d.date.weekday() == days_first for d, days_first in [(response.context["days"][0], 6)]
    )  # English: Sunday
    assert len(response.context["days"]) % 7 == 0
    html = response.content.decode()
    assert "23:30 Late dinner" in html and "Someone else" not in html and "A note is no event" not in html
    assert "gx-calendar" in html and "date=2030-02-01" in html and "date=2030-04-01" in html


def test_week_view_and_time_zone_of_the_user(rep_client, tenant, rep):
    rep.time_zone = "Europe/London"
    rep.save(update_fields=["time_zone"])
    day = datetime.date(2030, 6, 12)  # a Wednesday
    with tenant_context(tenant, actor=rep):
        plan(rep, "Call Shanghai", at(day, 16, 0), kind="call")  # 09:00 in London (BST)
    response = rep_client.get(reverse("activities:calendar"), {"view": "week", "date": day.isoformat()})
    assert response.status_code == 200
    days = response.context["days"]
    assert len(days) == 7 and days[0].date == datetime.date(2030, 6, 9)
    event_day = next(d for d in days if d.events)
    assert event_day.date == day and "09:00 Call Shanghai" in response.content.decode()
    assert response.context["prev_date"] == day - datetime.timedelta(days=7)


def test_calendar_of_a_teammate_only_shows_what_is_visible(client, tenant):
    manager = make_member(tenant, roles=("Sales manager",))
    rep = make_member(tenant)
    today = timezone.localdate()
    with tenant_context(tenant, actor=rep):
        plan(rep, "Rep's meeting", at(today, 10))
    client.force_login(rep)
    response = client.get(reverse("activities:calendar"), {"who": manager.pk})
    assert not any(d.events for d in response.context["days"])
    client.force_login(tenant.admin)
    response = client.get(reverse("activities:calendar"), {"who": rep.pk})
    assert [e.subject for d in response.context["days"] for e in d.events] == ["Rep's meeting"]
    response = client.get(reverse("activities:calendar"), {"who": "all"})
    assert [e.subject for d in response.context["days"] for e in d.events] == ["Rep's meeting"]


def test_calendar_query_count_does_not_grow(rep_client, tenant, rep):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    today = timezone.localdate()
    rep_client.get(reverse("activities:calendar"))
    with CaptureQueriesContext(connection) as few:
        rep_client.get(reverse("activities:calendar"))
    with tenant_context(tenant, actor=rep):
        account = customers.account_create(actor=rep, data={"name": "Acme"})
        for i in range(20):
            plan(rep, f"m{i}", at(today.replace(day=1) + datetime.timedelta(days=i % 27), 9), account=account)
    with CaptureQueriesContext(connection) as many:
        rep_client.get(reverse("activities:calendar"))
    assert len(many) == len(few)


# --- iCalendar feed ----------------------------------------------------------------------------


def feed_secret(client) -> str:
    response = client.post(reverse("activities:calendar_feed_manage"), {"action": "reset"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    url = re.search(r'value="(https?://[^"]+\.ics)"', response.content.decode()).group(1)
    return url.rsplit("/", 1)[1][: -len(".ics")]


def test_feed_lists_the_users_visible_activities(rep_client, tenant, rep):
    other = make_member(tenant)
    start = timezone.now() + datetime.timedelta(days=2)
    with tenant_context(tenant, actor=rep):
        account = customers.account_create(actor=rep, data={"name": "Acme, Inc."})
        meeting = plan(rep, "Contract signing", start, location="Room 3", account=account, body="Bring two copies")
        done_call = services.activity_create(
            actor=rep,
            data={"kind": "call", "subject": "Old call", "starts_at": timezone.now() - datetime.timedelta(days=3)},
        )
        services.activity_create(actor=rep, data={"kind": "note", "subject": "Just a note"})
    with tenant_context(tenant, actor=other):
        plan(other, "Other rep's meeting", start)
        joint = plan(other, "Joint but invisible", start)
        services.activity_update(actor=other, activity=joint, data={}, participant_users=[rep.pk])

    secret = feed_secret(rep_client)
    anonymous = Client()
    response = anonymous.get(reverse("activities:calendar_feed", args=[secret]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(response.content)
    events = {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {"Meeting: Contract signing", "Call: Old call"}
    e = events["Meeting: Contract signing"]
    assert str(e["UID"]) == f"activity-{meeting.pk}@{tenant.slug}.guanxi"
    assert e.decoded("DTSTART") == start.replace(microsecond=0) or e.decoded("DTSTART") == start
    assert e.decoded("DTEND") - e.decoded("DTSTART") == datetime.timedelta(hours=1)
    assert str(e["LOCATION"]) == "Room 3" and str(e["STATUS"]) == "CONFIRMED"
    assert "Acme, Inc." in str(e["DESCRIPTION"]) and "Bring two copies" in str(e["DESCRIPTION"])
    assert str(e["URL"]).endswith(meeting.get_absolute_url())
    # UIDs are stable from one fetch to the next.
    again = icalendar.Calendar.from_ical(anonymous.get(reverse("activities:calendar_feed", args=[secret])).content)
    assert sorted(str(x["UID"]) for x in again.walk("VEVENT")) == sorted(str(x["UID"]) for x in events.values())
    assert done_call.pk in [int(str(x["UID"]).split("-")[1].split("@")[0]) for x in again.walk("VEVENT")]


def test_revoked_or_reset_or_wrong_secrets_give_404(rep_client, tenant, rep):
    secret = feed_secret(rep_client)
    url = reverse("activities:calendar_feed", args=[secret])
    assert Client().get(url).status_code == 200
    new_secret = feed_secret(rep_client)  # reset: the old address stops working
    assert Client().get(url).status_code == 404
    new_url = reverse("activities:calendar_feed", args=[new_secret])
    assert Client().get(new_url).status_code == 200
    with tenant_context(tenant):
        token = ApiToken.objects.get(user=rep, scope="calendar", revoked_at__isnull=True)
        api_token_revoke(user=rep, token=token)
    assert Client().get(new_url).status_code == 404
    assert Client().get(reverse("activities:calendar_feed", args=["gx_nope_nope"])).status_code == 404
    # An ordinary API token is no calendar secret.
    with tenant_context(tenant, actor=rep):
        _t, api_secret = api_token_create(user=rep, name="api", scope="read")
    assert Client().get(reverse("activities:calendar_feed", args=[api_secret])).status_code == 404


def test_feed_stops_when_membership_ends_and_can_be_switched_off(rep_client, tenant, rep):
    from guanxi.org.models import Member

    secret = feed_secret(rep_client)
    url = reverse("activities:calendar_feed", args=[secret])
    page = rep_client.get(reverse("activities:calendar"))
    assert page.context["feed_token"] is not None and page.context["feed_url"] is None  # shown only once
    response = rep_client.post(
        reverse("activities:calendar_feed_manage"), {"action": "disable"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "Create my feed address" in response.content.decode()
    assert Client().get(url).status_code == 404
    secret = feed_secret(rep_client)
    with tenant_context(tenant):
        Member.objects.filter(user=rep).update(is_active=False)
    assert Client().get(reverse("activities:calendar_feed", args=[secret])).status_code == 404


def test_feed_secret_of_one_tenant_shows_only_that_tenant(client, tenant, other_tenant):
    from guanxi.org.services import member_add

    person = make_member(tenant, roles=("Administrator",))
    with tenant_context(other_tenant):
        member_add(actor=None, email=person.email, full_name="Same person", is_admin=True)
    with tenant_context(tenant, actor=person):
        plan(person, "In tenant one", timezone.now() + datetime.timedelta(days=1))
    with tenant_context(other_tenant, actor=person):
        plan(person, "In tenant two", timezone.now() + datetime.timedelta(days=1))
        _token, secret = services.calendar_feed_reset(user=person)
    cal = icalendar.Calendar.from_ical(Client().get(reverse("activities:calendar_feed", args=[secret])).content)
    assert [str(e["SUMMARY"]) for e in cal.walk("VEVENT")] == ["Meeting: In tenant two"]
