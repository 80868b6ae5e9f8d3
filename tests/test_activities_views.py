"""Activity pages: My day, list, detail, forms, timeline, notifications, follow-up plans."""

import datetime
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.activities import services
from guanxi.activities.models import Activity, FollowUpPlan, FollowUpStep, Notification
from guanxi.customers import services as customers
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member, make_unit

HTMX = {"HTTP_HX_REQUEST": "true"}


def login(client, user):
    client.force_login(user)
    return client


def plan_task(user, subject, *, when, kind="task", **extra):
    return services.activity_create(
        actor=user, data={"kind": kind, "subject": subject, "starts_at": when, "status": "planned", **extra}
    )


def local_today_at(hour, days=0):
    day = timezone.localdate() + datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, 0)))


# --- My day -----------------------------------------------------------------------------------


def test_my_day_groups_overdue_today_and_upcoming(client, tenant, rep):
    colleague = make_member(tenant)
    with tenant_context(tenant, actor=rep):
        plan_task(rep, "Overdue task", when=local_today_at(9, days=-2))
        plan_task(rep, "Today's call", when=local_today_at(15), kind="call")
        plan_task(rep, "Meeting next week", when=local_today_at(10, days=5), kind="meeting")
        plan_task(rep, "Far away", when=local_today_at(10, days=20))
        services.activity_create(actor=rep, data={"kind": "note", "subject": "Logged a note"})
    with tenant_context(tenant, actor=colleague):
        plan_task(colleague, "Not mine", when=local_today_at(11))
        plan_task(colleague, "Joint visit", when=local_today_at(16))
        joint = Activity.objects.get(subject="Joint visit")
        services.activity_update(actor=colleague, activity=joint, data={}, participant_users=[rep.pk])
    response = login(client, rep).get(reverse("activities:my_day"))
    assert response.status_code == 200
    day = response.context["day"]
    assert [a.subject for a in day.overdue] == ["Overdue task"]
    assert [a.subject for a in day.today] == ["Today's call"]  # the joint visit is a colleague's, not visible
    assert [a.subject for a in day.upcoming] == ["Meeting next week"]
    assert [a.subject for a in day.recent] == ["Logged a note"]
    html = response.content.decode()
    assert "Overdue task" in html and "Far away" not in html and "Not mine" not in html
    assert reverse("/".join(["activities:activity_done"]), args=[day.today[0].pk]) in html


def test_my_day_shows_activities_in_which_the_user_takes_part_when_visible(client, tenant):
    north = make_unit(tenant, "North")
    manager = make_member(tenant, roles=("Sales manager",), unit=north)
    rep = make_member(tenant, unit=north)
    with tenant_context(tenant, actor=rep):
        joint = plan_task(rep, "Joint visit", when=local_today_at(16), kind="meeting")
        services.activity_update(actor=rep, activity=joint, data={}, participant_users=[manager.pk])
    response = login(client, manager).get(reverse("activities:my_day"))
    assert [a.subject for a in response.context["day"].today] == ["Joint visit"]


def test_my_day_query_count_does_not_grow_with_rows(client, tenant, rep, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, rep)
    with tenant_context(tenant, actor=rep):
        plan_task(rep, "one", when=local_today_at(9, days=-1))
    client.get(reverse("activities:my_day"))  # warm the permission cache
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("activities:my_day")).status_code == 200
    with tenant_context(tenant, actor=rep):
        account = customers.account_create(actor=rep, data={"name": "Acme"})
        for i in range(15):
            plan_task(rep, f"task {i}", when=local_today_at(9, days=i % 9 - 1), account=account)
            services.activity_create(actor=rep, data={"subject": f"note {i}", "account": account})
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("activities:my_day"))
    assert len(response.context["day"].upcoming) > 5
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
    with django_assert_max_num_queries(len(few)):
        client.get(reverse("activities:my_day"))


def test_one_click_done_and_reschedule_refresh_my_day(client, tenant, rep):
    with tenant_context(tenant, actor=rep):
        a = plan_task(rep, "Call Mr Li", when=local_today_at(9, days=-1), kind="call")
        b = plan_task(rep, "Send offer", when=local_today_at(11))
    login(client, rep)
    response = client.post(reverse("activities:activity_done", args=[a.pk]), {"partial": "my_day"}, **HTMX)
    assert response.status_code == 200
    day = response.context["day"]
    assert day.overdue == [] and [x.subject for x in day.today] == ["Send offer"]
    assert [x.subject for x in day.recent] == ["Call Mr Li"]  # now among the recently logged
    assert json.loads(response["HX-Trigger"])["gx:toast"]["message"].startswith("Done")
    with tenant_context(tenant):
        a.refresh_from_db()
    assert a.status == "done" and a.completed_at

    response = client.post(
        reverse("activities:activity_reschedule", args=[b.pk]), {"partial": "my_day", "to": "tomorrow"}, **HTMX
    )
    assert response.status_code == 200
    with tenant_context(tenant):
        b.refresh_from_db()
    assert timezone.localtime(b.starts_at).date() == timezone.localdate() + datetime.timedelta(days=1)
    assert timezone.localtime(b.starts_at).hour == 11
    assert response.context["day"].upcoming[0].pk == b.pk

    picked = (timezone.localtime() + datetime.timedelta(days=3)).replace(hour=8, minute=30, second=0, microsecond=0)
    response = client.post(
        reverse("activities:activity_reschedule", args=[b.pk]), {"starts_at": picked.strftime("%Y-%m-%dT%H:%M")}
    )
    assert response.status_code == 302
    with tenant_context(tenant):
        b.refresh_from_db()
    assert b.starts_at == picked


# --- list, detail, forms -----------------------------------------------------------------------


def test_activity_list_filters_and_query_count(client, tenant, rep):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    other = make_member(tenant)
    with tenant_context(tenant, actor=rep):
        account = customers.account_create(actor=rep, data={"name": "Acme"})
        plan_task(rep, "Overdue call", when=local_today_at(9, days=-3), kind="call", account=account)
        services.activity_create(actor=rep, data={"subject": "A note", "account": account})
    with tenant_context(tenant, actor=other):
        plan_task(other, "Other team's task", when=local_today_at(9))
    login(client, rep)
    url = reverse("activities:activity_list")
    response = client.get(url)
    assert response.status_code == 200
    subjects = [obj.subject for obj, _cells in response.context["rows"]]
    assert sorted(subjects) == ["A note", "Overdue call"]  # not the other team's
    assert [o.subject for o, _ in client.get(url, {"kind": "call"}).context["rows"]] == ["Overdue call"]
    assert [o.subject for o, _ in client.get(url, {"overdue": "1"}).context["rows"]] == ["Overdue call"]
    assert [o.subject for o, _ in client.get(url, {"status": "done"}).context["rows"]] == ["A note"]
    assert [o.subject for o, _ in client.get(url, {"q": "note"}).context["rows"]] == ["A note"]
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    assert [o.subject for o, _ in client.get(url, {"date_to": yesterday}).context["rows"]] == ["Overdue call"]
    assert [o.subject for o, _ in client.get(url, {"sort": "starts_at"}).context["rows"]] == [
        "Overdue call",
        "A note",
    ]

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    with tenant_context(tenant, actor=rep):
        for i in range(20):
            services.activity_create(actor=rep, data={"subject": f"n{i}", "account": account, "kind": "call"})
    with CaptureQueriesContext(connection) as many:
        response = client.get(url, {"per_page": 25})
    assert len(response.context["rows"]) == 22
    assert len(many) <= len(few) + 1  # + the COUNT now that there is more than one page... at most


def test_create_form_with_inline_validation(client, tenant, rep):
    with tenant_context(tenant, actor=rep):
        account = customers.account_create(actor=rep, data={"name": "Acme"})
    login(client, rep)
    url = reverse("activities:activity_create")
    page = client.get(url, {"account": account.pk, "date": "2030-05-06"})
    assert page.status_code == 200
    form = page.context["form"]
    assert form["account"].value() == str(account.pk) or form["account"].value() == account.pk
    assert timezone.localtime(form.initial["starts_at"]).hour == 9
    start = "2030-05-06T10:00"
    data = {
        "kind": "meeting",
        "subject": "Workshop",
        "status": "",
        "starts_at": start,
        "ends_at": "2030-05-06T09:00",
        "priority": "normal",
        "account": account.pk,
        "owner": rep.pk,
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "ends_at" in response.context["form"].errors
    with tenant_context(tenant):
        assert not Activity.objects.exists()
    data["ends_at"] = "2030-05-06T12:00"
    response = client.post(url, data)
    assert response.status_code == 302
    with tenant_context(tenant):
        a = Activity.objects.get()
    assert a.status == "planned" and a.account_id == account.pk
    assert timezone.localtime(a.starts_at).hour == 10  # read in the user's (tenant's) time zone
    assert response["Location"] == a.get_absolute_url()

    detail = client.get(a.get_absolute_url())
    assert detail.status_code == 200 and "Workshop" in detail.content.decode()
    edit = client.post(
        reverse("activities:activity_edit", args=[a.pk]), {**data, "status": "planned", "subject": "Workshop 2"}
    )
    assert edit.status_code == 302
    with tenant_context(tenant):
        a.refresh_from_db()
    assert a.subject == "Workshop 2"
    assert client.post(reverse("activities:activity_delete", args=[a.pk])).status_code == 302
    with tenant_context(tenant):
        assert not Activity.objects.exists()


def test_complete_page_creates_follow_up(client, tenant, rep):
    with tenant_context(tenant, actor=rep):
        a = plan_task(rep, "Demo", when=local_today_at(10), kind="meeting")
    login(client, rep)
    due = timezone.localdate() + datetime.timedelta(days=2)
    response = client.post(
        reverse("activities:activity_complete", args=[a.pk]),
        {"outcome": "interested", "next_step": "Send pricing", "follow_up_due": due.isoformat()},
    )
    assert response.status_code == 302
    with tenant_context(tenant):
        follow = Activity.objects.get(subject="Send pricing")
    assert timezone.localtime(follow.starts_at).date() == due
    bad = client.post(reverse("activities:activity_complete", args=[a.pk]), {"follow_up_due": due.isoformat()})
    assert bad.status_code == 200 and "next_step" in bad.context["form"].errors


def test_a_rep_cannot_open_another_teams_activity_unless_they_see_the_account(client, tenant):
    rep_a = make_member(tenant)
    rep_b = make_member(tenant)
    with tenant_context(tenant, actor=rep_b):
        theirs = plan_task(rep_b, "B's task", when=local_today_at(9))
    with tenant_context(tenant, actor=rep_a):
        account_a = customers.account_create(actor=rep_a, data={"name": "A's account"})
    with tenant_context(tenant, actor=rep_b):
        on_a = services.activity_create(actor=rep_b, data={"subject": "B's note on A's account"})
        # B logs on A's account through the system (B cannot see it): A sees it via the account.
        services.activity_update(actor=None, activity=on_a, data={"account": account_a.pk})
    login(client, rep_a)
    assert client.get(reverse("activities:activity_detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("activities:activity_detail", args=[on_a.pk])).status_code == 200
    assert client.post(reverse("activities:activity_done", args=[theirs.pk])).status_code == 404


# --- timeline --------------------------------------------------------------------------------


@pytest.fixture
def customer(tenant, rep):
    with tenant_context(tenant, actor=rep):
        account = customers.account_create(actor=rep, data={"name": "Acme"})
        contact = customers.contact_create(actor=rep, data={"family_name": "Zhang", "account": account})
        loose = customers.contact_create(actor=rep, data={"family_name": "Loose"})
    return account, contact, loose


def test_account_timeline_includes_its_contacts_newest_first(client, tenant, rep, customer):
    account, contact, loose = customer
    with tenant_context(tenant, actor=rep):
        now = timezone.now()
        services.activity_create(
            actor=rep, data={"subject": "On the account", "account": account, "starts_at": now - datetime.timedelta(2)}
        )
        services.activity_create(
            actor=rep,
            data={"subject": "With the contact", "contact": contact, "starts_at": now - datetime.timedelta(1)},
        )
        customers.contact_link_account(actor=rep, contact=loose, account=account)
        services.activity_create(actor=rep, data={"subject": "Linked contact", "contact": loose, "starts_at": now})
        services.activity_create(actor=rep, data={"subject": "Elsewhere"})
    login(client, rep)
    response = client.get(reverse("activities:timeline"), {"account": account.pk}, **HTMX)
    assert response.status_code == 200
    assert [a.subject for a in response.context["page"].items] == [
        "Linked contact",
        "With the contact",
        "On the account",
    ]
    html = response.content.decode()
    assert 'class="gx-timeline"' in html and "kind-note" in html and 'data-testid="quick-log"' in html
    response = client.get(reverse("activities:timeline"), {"contact": contact.pk})
    assert [a.subject for a in response.context["page"].items] == ["With the contact"]


def test_timeline_load_more_and_constant_queries(client, tenant, rep, customer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    account, contact, _loose = customer
    other = make_member(tenant)
    login(client, rep)
    url = reverse("activities:timeline")
    with tenant_context(tenant, actor=rep):
        services.activity_create(actor=rep, data={"subject": "first", "account": account}, participant_users=[other])
    client.get(url, {"account": account.pk})
    with CaptureQueriesContext(connection) as few:
        client.get(url, {"account": account.pk})
    with tenant_context(tenant, actor=rep):
        start = timezone.now() - datetime.timedelta(days=100)
        for i in range(30):
            services.activity_create(
                actor=rep,
                data={"subject": f"item {i:02d}", "contact": contact, "starts_at": start + datetime.timedelta(days=i)},
                participant_users=[other],
                participant_contacts=[contact],
            )
    with CaptureQueriesContext(connection) as many:
        page1 = client.get(url, {"account": account.pk})
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
    items = page1.context["page"].items
    assert len(items) == 20 and items[0].subject == "first" and items[1].subject == "item 29"
    cursor = page1.context["page"].next_cursor
    assert cursor and "Load more" in page1.content.decode()
    page2 = client.get(url, {"account": account.pk, "cursor": cursor}, **HTMX)
    assert [a.subject for a in page2.context["page"].items][:2] == ["item 10", "item 09"]
    assert len(page2.context["page"].items) == 11 and page2.context["page"].next_cursor is None
    assert 'data-testid="quick-log"' not in page2.content.decode()


def test_quick_log_form(client, tenant, rep, customer):
    account, contact, _loose = customer
    login(client, rep)
    url = reverse("activities:timeline_log")
    bad = client.post(url, {"contact": contact.pk, "kind": "call", "subject": "", "starts_at": ""}, **HTMX)
    assert bad.status_code == 200
    form = bad.context["form"]
    assert "subject" in form.errors and "starts_at" in form.errors
    assert "invalid-feedback" in bad.content.decode()
    due = timezone.localdate() + datetime.timedelta(days=1)
    ok = client.post(
        url,
        {
            "contact": contact.pk,
            "kind": "call",
            "subject": "Called about the order",
            "starts_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "direction": "outbound",
            "outcome": "connected",
            "next_step": "Send the contract",
            "follow_up_due": due.isoformat(),
        },
        **HTMX,
    )
    assert ok.status_code == 200
    assert json.loads(ok["HX-Trigger"])["gx:toast"]["message"].startswith("Logged")
    with tenant_context(tenant):
        call = Activity.objects.get(subject="Called about the order")
        follow = Activity.objects.get(subject="Send the contract")
    assert (call.kind, call.status, call.direction, call.outcome) == ("call", "done", "outbound", "connected")
    assert call.contact_id == contact.pk and call.account_id == account.pk
    assert follow.status == "planned" and timezone.localtime(follow.starts_at).date() == due
    assert [a.subject for a in ok.context["page"].items][:1] == ["Send the contract"]
    assert not ok.context["form"].is_bound  # a fresh form after logging


def test_timeline_parent_must_be_visible(client, tenant, rep, other_tenant):
    other_rep = make_member(tenant)
    with tenant_context(tenant, actor=other_rep):
        hidden = customers.account_create(actor=other_rep, data={"name": "Not yours"})
    login(client, rep)
    assert client.get(reverse("activities:timeline"), {"account": hidden.pk}).status_code == 404
    assert client.get(reverse("activities:timeline")).status_code == 404
    assert (
        client.get(reverse("activities:timeline"), {"regarding_type": "auth.permission", "regarding_id": 1}).status_code
        == 404
    )
    response = client.post(reverse("activities:timeline_log"), {"account": hidden.pk, "kind": "note", "subject": "x"})
    assert response.status_code == 404


# --- notifications ------------------------------------------------------------------------------


def test_notifications_page_badge_and_mark_read(client, tenant, rep):
    with tenant_context(tenant):
        for i in range(3):
            services.notification_create(user=rep, kind="system", title=f"Notice {i}", url="/activities/today/")
        services.notification_create(user=tenant.admin, kind="system", title="Not for the rep")
    login(client, rep)
    badge = client.get(reverse("activities:notification_badge"), **HTMX)
    assert badge.content.decode().strip() == '<span class="badge rounded-pill text-bg-danger">3</span>'
    page = client.get(reverse("activities:notifications"))
    html = page.content.decode()
    assert "Notice 2" in html and "Not for the rep" not in html
    first = page.context["page"].items[0]
    response = client.post(reverse("activities:notification_read", args=[first.pk]), **HTMX)
    assert response.status_code == 200 and "Mark read" not in response.content.decode()
    assert "2</span>" in client.get(reverse("activities:notification_badge")).content.decode()
    opened = client.get(reverse("activities:notification_open", args=[page.context["page"].items[1].pk]))
    assert opened.status_code == 302 and opened["Location"] == "/activities/today/"
    client.post(reverse("activities:notifications_read_all"))
    assert client.get(reverse("activities:notification_badge")).content.decode().strip() == ""
    with tenant_context(tenant):
        assert Notification.objects.filter(user=tenant.admin, read_at__isnull=True).count() == 1


def test_badge_counts_are_capped(client, tenant, rep):
    with tenant_context(tenant):
        Notification.objects.bulk_create([Notification(user=rep, title=f"n{i}") for i in range(105)])
    login(client, rep)
    assert "99+" in client.get(reverse("activities:notification_badge")).content.decode()


# --- follow-up plans --------------------------------------------------------------------------


def test_plan_pages_for_administrators_only(client, tenant, rep):
    login(client, rep)
    assert client.get(reverse("activities:plan_list")).status_code == 403
    assert client.get(reverse("activities:plan_create")).status_code == 403
    client.force_login(tenant.admin)
    response = client.post(reverse("activities:plan_create"), {"name": "Onboarding", "is_active": "on"})
    assert response.status_code == 302
    with tenant_context(tenant):
        plan = FollowUpPlan.objects.get()
    detail = reverse("activities:plan_detail", args=[plan.pk])
    assert response["Location"] == detail
    step_url = reverse("activities:step_create", args=[plan.pk])
    bad = client.post(step_url, {"kind": "task", "subject": "", "offset_days": "1", "due_time": "10:00"})
    assert bad.status_code == 200 and "subject" in bad.context["form"].errors
    for subject, offset in (("Call", 0), ("Visit", 3)):
        client.post(step_url, {"kind": "task", "subject": subject, "offset_days": offset, "due_time": "10:00"})
    page = client.get(detail)
    assert [s.subject for s in page.context["steps"]] == ["Call", "Visit"]
    visit = page.context["steps"][1]
    client.post(reverse("activities:step_move", args=[visit.pk]), {"direction": "up"})
    assert [s.subject for s in client.get(detail).context["steps"]] == ["Visit", "Call"]
    client.post(
        reverse("activities:step_edit", args=[visit.pk]),
        {"kind": "call", "subject": "Visit 2", "offset_days": 3, "due_time": "11:00"},
    )
    client.post(reverse("activities:step_delete", args=[page.context["steps"][0].pk]))
    assert [s.subject for s in client.get(detail).context["steps"]] == ["Visit 2"]
    duplicate = client.post(reverse("activities:plan_create"), {"name": "onboarding"})
    assert duplicate.status_code == 200 and "name" in duplicate.context["form"].errors
    assert "Onboarding" in client.get(reverse("activities:plan_list")).content.decode()
    client.post(reverse("activities:plan_delete", args=[plan.pk]))
    with tenant_context(tenant):
        assert not FollowUpPlan.objects.exists()


def test_apply_plan_inline_form(client, tenant, rep, customer):
    account, contact, _loose = customer
    with tenant_context(tenant, actor=tenant.admin):
        plan = services.followup_plan_save(actor=tenant.admin, plan=FollowUpPlan(name="Nurture"))
        services.followup_step_save(actor=tenant.admin, step=FollowUpStep(plan=plan, subject="Intro call"))
        services.followup_step_save(
            actor=tenant.admin, step=FollowUpStep(plan=plan, subject="Follow up", offset_days=5)
        )
    login(client, rep)
    url = reverse("activities:apply_plan")
    card = client.get(url, {"contact": contact.pk}, **HTMX)
    assert card.status_code == 200 and 'id="gx-apply-plan"' in card.content.decode()
    start = timezone.localdate() + datetime.timedelta(days=1)
    response = client.post(
        url, {"contact": contact.pk, "plan": plan.pk, "start": start.isoformat(), "owner": rep.pk}, **HTMX
    )
    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"])["activitiesChanged"] is True
    with tenant_context(tenant):
        tasks = list(Activity.objects.order_by("starts_at"))
    assert [t.subject for t in tasks] == ["Intro call", "Follow up"]
    assert timezone.localtime(tasks[1].starts_at).date() == start + datetime.timedelta(days=5)
    assert all(t.contact_id == contact.pk and t.account_id == account.pk for t in tasks)
    # A page version works without htmx; missing choices show inline errors.
    page = client.post(url, {"account": account.pk, "start": start.isoformat(), "owner": rep.pk})
    assert page.status_code == 200 and "plan" in page.context["form"].errors
    # Without an active plan a rep gets nothing on the record's page.
    with tenant_context(tenant):
        FollowUpPlan.objects.update(is_active=False)
    assert client.get(url, {"account": account.pk}, **HTMX).content == b""


def test_sidebar_items(client, tenant, rep):
    page = login(client, rep).get(reverse("activities:my_day"))
    labels = [item["label"] for _section, items in page.context["nav_sections"] for item in items]
    assert "My day" in labels and "Activities" in labels and "Calendar" in labels
    assert "Follow-up plans" not in labels
    client.force_login(tenant.admin)
    page = client.get(reverse("activities:my_day"))
    labels = [item["label"] for _section, items in page.context["nav_sections"] for item in items]
    assert "Follow-up plans" in labels


def test_home_redirects_to_my_day(client, rep):
    assert login(client, rep).get("/")["Location"] == reverse("activities:my_day")


def test_every_activities_route_with_an_id_answers_404_for_another_tenant(client, tenant, other_tenant):
    admin = tenant.admin
    with tenant_context(tenant, actor=admin):
        account = customers.account_create(actor=admin, data={"name": "Tenant A account"})
        contact = customers.contact_create(actor=admin, data={"family_name": "Tenant A", "account": account})
        activity = plan_task(admin, "Tenant A task", when=local_today_at(10), account=account)
        plan = services.followup_plan_save(actor=admin, plan=FollowUpPlan(name="Tenant A plan"))
        step = services.followup_step_save(actor=admin, step=FollowUpStep(plan=plan, subject="Tenant A step"))
        notification = services.notification_create(user=admin, kind="system", title="Tenant A notice")
    login(client, other_tenant.admin)  # passes every permission check in its own tenant
    urls = [
        reverse(f"activities:{name}", args=[activity.pk])
        for name in (
            "activity_detail",
            "activity_edit",
            "activity_delete",
            "activity_complete",
            "activity_done",
            "activity_cancel",
            "activity_reschedule",
        )
    ]
    urls += [
        reverse(f"activities:{name}", args=[plan.pk])
        for name in ("plan_detail", "plan_edit", "plan_delete", "step_create")
    ]
    urls += [reverse(f"activities:{name}", args=[step.pk]) for name in ("step_edit", "step_delete", "step_move")]
    urls += [
        reverse(f"activities:{name}", args=[notification.pk]) for name in ("notification_open", "notification_read")
    ]
    urls += [
        f"{reverse('activities:timeline')}?account={account.pk}",
        f"{reverse('activities:timeline')}?contact={contact.pk}",
        f"{reverse('activities:apply_plan')}?account={account.pk}",
        f"{reverse('activities:apply_plan')}?contact={contact.pk}",
    ]
    for url in urls:
        for method in (client.get, client.post):
            response = method(url, {"to": "tomorrow", "kind": "note", "subject": "x"})
            assert response.status_code in (404, 405), (url, response.status_code)
            assert "Tenant A" not in response.content.decode()
    response = client.post(reverse("activities:timeline_log"), {"account": account.pk, "kind": "note", "subject": "x"})
    assert response.status_code == 404
    calendar = client.get(reverse("activities:calendar"), {"who": admin.pk})
    assert "Tenant A" not in calendar.content.decode()
    with tenant_context(tenant):
        activity.refresh_from_db()
        notification.refresh_from_db()
        assert activity.status == "planned" and notification.read_at is None
        assert FollowUpStep.objects.count() == 1 and Activity.objects.count() == 1
