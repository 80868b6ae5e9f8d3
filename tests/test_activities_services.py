"""Activity services: validation, status rules, participants, follow-ups, notifications, plans."""

import datetime
import zoneinfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from guanxi.activities import services
from guanxi.activities.models import Activity, ActivityParticipant, FollowUpPlan, FollowUpStep, Notification
from guanxi.audit.models import AuditEntry
from guanxi.customers import services as customers
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def acme(in_tenant):
    admin = in_tenant.admin
    account = customers.account_create(actor=admin, data={"name": "Acme Trading"})
    contact = customers.contact_create(actor=admin, data={"family_name": "王", "given_name": "伟", "account": account})
    return account, contact


def test_logging_a_note_and_planning_a_task(in_tenant, acme):
    admin = in_tenant.admin
    account, _contact = acme
    note = services.activity_create(actor=admin, data={"subject": "Met at the fair", "account": account})
    assert note.kind == Activity.Kind.NOTE and note.status == Activity.Status.DONE
    assert note.completed_at is not None and note.owner == admin and note.created_by == admin

    task = services.activity_create(actor=admin, data={"kind": "task", "subject": "Send the quote", "account": account})
    assert task.status == Activity.Status.PLANNED and task.completed_at is None

    future_call = services.activity_create(
        actor=admin,
        data={"kind": "call", "subject": "Call back", "starts_at": timezone.now() + datetime.timedelta(days=1)},
    )
    assert future_call.status == Activity.Status.PLANNED
    entry = AuditEntry.objects.get(content_type__model="activity", object_id=task.pk, action="create")
    assert entry.changes["subject"] == [None, "Send the quote"]


def test_contact_without_account_takes_the_contacts_account(in_tenant, acme):
    account, contact = acme
    a = services.activity_create(actor=in_tenant.admin, data={"subject": "Call", "kind": "call", "contact": contact.pk})
    assert a.contact_id == contact.pk and a.account_id == account.pk


def test_end_must_be_after_start(in_tenant):
    start = timezone.now()
    with pytest.raises(ValidationError) as err:
        services.activity_create(
            actor=in_tenant.admin,
            data={"kind": "meeting", "subject": "Lunch", "starts_at": start, "ends_at": start},
        )
    assert "ends_at" in err.value.message_dict
    a = services.activity_create(
        actor=in_tenant.admin,
        data={
            "kind": "meeting",
            "subject": "Lunch",
            "starts_at": start,
            "ends_at": start + datetime.timedelta(hours=1),
        },
    )
    with pytest.raises(ValidationError) as err:
        services.activity_update(
            actor=in_tenant.admin, activity=a, data={"starts_at": start + datetime.timedelta(hours=2)}
        )
    assert "ends_at" in err.value.message_dict


def test_customer_records_must_be_visible_to_the_actor(tenant):
    rep_a = make_member(tenant)
    rep_b = make_member(tenant)
    with tenant_context(tenant, actor=rep_b):
        hidden = customers.account_create(actor=rep_b, data={"name": "B's account"})
        hidden_contact = customers.contact_create(actor=rep_b, data={"family_name": "Hidden"})
    with tenant_context(tenant, actor=rep_a):
        with pytest.raises(ValidationError) as err:
            services.activity_create(actor=rep_a, data={"subject": "x", "account": hidden.pk})
        assert "account" in err.value.message_dict
        with pytest.raises(ValidationError) as err:
            services.activity_create(actor=rep_a, data={"subject": "x", "contact": hidden_contact})
        assert "contact" in err.value.message_dict
        with pytest.raises(ValidationError) as err:
            services.activity_create(actor=rep_a, data={"subject": "x"}, participant_contacts=[hidden_contact.pk])
        assert "participant_contacts" in err.value.message_dict
        assert not Activity.objects.exists()


def test_owner_must_be_a_member(in_tenant, other_tenant):
    with pytest.raises(ValidationError) as err:
        services.activity_create(actor=in_tenant.admin, data={"subject": "x", "owner": other_tenant.admin.pk})
    assert "owner" in err.value.message_dict


def test_participants_are_set_and_replaced(in_tenant, acme):
    admin = in_tenant.admin
    account, contact = acme
    colleague = make_member(in_tenant)
    other = customers.contact_create(actor=admin, data={"family_name": "Li", "account": account})
    a = services.activity_create(
        actor=admin,
        data={"kind": "meeting", "subject": "Kick-off", "account": account},
        participant_users=[colleague],
        participant_contacts=[contact.pk, other.pk],
    )
    rows = ActivityParticipant.objects.filter(activity=a)
    assert {(p.user_id, p.contact_id) for p in rows} == {(colleague.pk, None), (None, contact.pk), (None, other.pk)}
    services.activity_update(
        actor=admin, activity=a, data={"subject": "Kick-off meeting"}, participant_contacts=[other.pk]
    )
    rows = ActivityParticipant.objects.filter(activity=a)
    assert {(p.user_id, p.contact_id) for p in rows} == {(colleague.pk, None), (None, other.pk)}
    services.activity_update(actor=admin, activity=a, data={}, participant_users=[])
    assert list(ActivityParticipant.objects.filter(activity=a).values_list("contact_id", flat=True)) == [other.pk]
    changes = [
        e.changes["participants"]
        for e in AuditEntry.objects.filter(object_id=a.pk, content_type__model="activity").order_by("id")
        if "participants" in e.changes
    ]
    assert len(changes) == 3 and "王伟" in changes[0][1] and "王伟" not in changes[1][1]


def test_assigning_a_task_to_someone_else_notifies_them(in_tenant):
    admin = in_tenant.admin
    rep = make_member(in_tenant)
    task = services.activity_create(actor=admin, data={"kind": "task", "subject": "Visit the plant", "owner": rep.pk})
    note = Notification.objects.get(user=rep)
    assert note.kind == Notification.Kind.ASSIGNED and "Visit the plant" in note.title
    assert note.url == task.get_absolute_url()
    # Own tasks and done activities notify nobody; re-assigning notifies the new owner.
    services.activity_create(actor=admin, data={"kind": "task", "subject": "Mine"})
    services.activity_create(actor=admin, data={"kind": "note", "subject": "Logged", "owner": rep.pk})
    assert Notification.objects.count() == 1
    other = make_member(in_tenant)
    services.activity_update(actor=admin, activity=task, data={"owner": other.pk})
    assert Notification.objects.filter(user=other, kind="assigned").count() == 1


def test_complete_with_next_step_creates_the_follow_up(in_tenant, acme):
    admin = in_tenant.admin
    account, contact = acme
    call = services.activity_create(
        actor=admin, data={"kind": "call", "subject": "Discovery call", "contact": contact, "status": "planned"}
    )
    due = timezone.localdate() + datetime.timedelta(days=3)
    done = services.activity_complete(
        actor=admin, activity=call, outcome="interested", next_step="Send the brochure", follow_up_due=due
    )
    call.refresh_from_db()
    assert call.status == "done" and call.completed_at and call.outcome == "interested"
    follow = done.follow_up
    assert follow.kind == "task" and follow.status == "planned" and follow.subject == "Send the brochure"
    assert follow.owner_id == admin.pk and follow.contact_id == contact.pk and follow.account_id == account.pk
    local = timezone.localtime(follow.starts_at, SHANGHAI)  # the tenant's time zone
    assert (local.date(), local.time()) == (due, datetime.time(9, 0))
    # Without a date there is no follow-up task.
    other = services.activity_create(actor=admin, data={"kind": "task", "subject": "t"})
    assert services.activity_complete(actor=admin, activity=other, next_step="later").follow_up is None


def test_cancel_reschedule_and_delete(in_tenant):
    admin = in_tenant.admin
    start = timezone.now() + datetime.timedelta(days=1)
    a = services.activity_create(
        actor=admin,
        data={
            "kind": "meeting",
            "subject": "Review",
            "starts_at": start,
            "ends_at": start + datetime.timedelta(hours=1),
            "reminder_at": start - datetime.timedelta(minutes=15),
        },
    )
    Activity.objects.filter(pk=a.pk).update(reminded_at=timezone.now())
    a.refresh_from_db()
    new_start = start + datetime.timedelta(days=2)
    a = services.activity_reschedule(actor=admin, activity=a, starts_at=new_start)
    a.refresh_from_db()
    assert a.ends_at == new_start + datetime.timedelta(hours=1)
    assert a.reminder_at == new_start - datetime.timedelta(minutes=15)
    assert a.reminded_at is None  # reminds again at the new time
    services.activity_cancel(actor=admin, activity=a)
    a.refresh_from_db()
    assert a.status == "cancelled"
    pk = a.pk
    services.activity_delete(actor=admin, activity=a)
    assert not Activity.objects.filter(pk=pk).exists()
    assert AuditEntry.objects.filter(object_id=pk, content_type__model="activity", action="delete").exists()


def test_a_rep_cannot_change_someone_elses_activity(tenant):
    rep_a = make_member(tenant)
    rep_b = make_member(tenant)
    with tenant_context(tenant, actor=rep_b):
        a = services.activity_create(actor=rep_b, data={"kind": "task", "subject": "B's"})
    with tenant_context(tenant, actor=rep_a), pytest.raises(Exception) as err:
        services.activity_complete(actor=rep_a, activity=a)
    assert err.type.__name__ in ("Http404", "PermissionDenied")


# --- follow-up plans --------------------------------------------------------------------------


@pytest.fixture
def plan(in_tenant):
    admin = in_tenant.admin
    plan = services.followup_plan_save(actor=admin, plan=FollowUpPlan(name="New customer"))
    for offset, at, subject, remind in [
        (0, datetime.time(10, 0), "Welcome call", 30),
        (2, datetime.time(14, 30), "Send the starter kit", None),
        (7, datetime.time(9, 15), "Check in", 60 * 24),
    ]:
        services.followup_step_save(
            actor=admin,
            step=FollowUpStep(
                plan=plan, offset_days=offset, due_time=at, subject=subject, remind_minutes_before=remind
            ),
        )
    return plan


def test_only_administrators_manage_plans(in_tenant, plan):
    rep = make_member(in_tenant)
    with pytest.raises(PermissionDenied):
        services.followup_plan_save(actor=rep, plan=FollowUpPlan(name="Mine"))
    with pytest.raises(PermissionDenied):
        services.followup_step_delete(actor=rep, step=plan.steps.first())
    with pytest.raises(ValidationError) as err:
        services.followup_plan_save(actor=in_tenant.admin, plan=FollowUpPlan(name="new CUSTOMER"))
    assert "name" in err.value.message_dict


def test_steps_keep_their_order(in_tenant, plan):
    admin = in_tenant.admin
    steps = list(plan.steps.order_by("position"))
    assert [s.position for s in steps] == [0, 1, 2]
    services.followup_step_move(actor=admin, step=steps[2], offset=-1)
    assert list(plan.steps.order_by("position").values_list("subject", flat=True)) == [
        "Welcome call",
        "Check in",
        "Send the starter kit",
    ]
    services.followup_step_delete(actor=admin, step=steps[0])
    assert list(plan.steps.order_by("position").values_list("position", "subject")) == [
        (0, "Check in"),
        (1, "Send the starter kit"),
    ]


def test_applying_a_plan_creates_dated_tasks_in_the_owners_time_zone(in_tenant, plan, acme):
    admin = in_tenant.admin
    account, contact = acme
    berlin = make_member(in_tenant)
    berlin.time_zone = "Europe/Berlin"
    berlin.save(update_fields=["time_zone"])
    start = datetime.date(2026, 3, 27)  # daylight saving time starts in Berlin on the 29th
    tasks = services.followup_plan_apply(actor=admin, plan=plan, contact=contact, start=start, owner=berlin)
    assert len(tasks) == 3
    tz = zoneinfo.ZoneInfo("Europe/Berlin")
    got = [(timezone.localtime(t.starts_at, tz).replace(tzinfo=None), t.subject) for t in tasks]
    assert got == [
        (datetime.datetime(2026, 3, 27, 10, 0), "Welcome call"),
        (datetime.datetime(2026, 3, 29, 14, 30), "Send the starter kit"),
        (datetime.datetime(2026, 4, 3, 9, 15), "Check in"),
    ]
    assert tasks[0].starts_at.astimezone(datetime.UTC).hour == 9  # CET (+1)
    assert tasks[1].starts_at.astimezone(datetime.UTC).hour == 12  # CEST (+2)
    assert tasks[0].reminder_at == tasks[0].starts_at - datetime.timedelta(minutes=30)
    assert tasks[1].reminder_at is None
    assert tasks[2].reminder_at == tasks[2].starts_at - datetime.timedelta(days=1)
    for t in tasks:
        assert (t.status, t.owner_id, t.contact_id, t.account_id) == ("planned", berlin.pk, contact.pk, account.pk)
        assert t.plan_step_id is not None
    # One notification for the new owner, not one per task.
    assert Notification.objects.filter(user=berlin).count() == 1

    # The admin's own tasks use the tenant's time zone (Asia/Shanghai).
    mine = services.followup_plan_apply(actor=admin, plan=plan, account=account, start=start)
    assert timezone.localtime(mine[0].starts_at, SHANGHAI).time() == datetime.time(10, 0)
    assert mine[0].contact_id is None and not Notification.objects.filter(user=admin).exists()


def test_plan_application_rules(in_tenant, plan, acme):
    admin = in_tenant.admin
    account, _contact = acme
    with pytest.raises(ValidationError):
        services.followup_plan_apply(actor=admin, plan=plan, start=timezone.localdate())
    empty = services.followup_plan_save(actor=admin, plan=FollowUpPlan(name="Empty"))
    with pytest.raises(ValidationError) as err:
        services.followup_plan_apply(actor=admin, plan=empty, account=account, start=timezone.localdate())
    assert "plan" in err.value.message_dict
    plan.is_active = False
    services.followup_plan_save(actor=admin, plan=plan)
    with pytest.raises(ValidationError):
        services.followup_plan_apply(actor=admin, plan=plan, account=account, start=timezone.localdate())
    assert not Activity.objects.exists()
