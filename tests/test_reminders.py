"""Reminders and notification e-mails: the background tasks, run for real, mail through a real SMTP server."""

import datetime
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks import TaskResultStatus

from guanxi.activities import services
from guanxi.activities.models import Activity, Notification
from guanxi.activities.tasks import email_pending_notifications, send_due_reminders
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member, make_tenant
from tests.smtp import smtp_server  # noqa: F401 (fixture)


def planned(user, subject, *, starts_in, remind_before=None, status="planned"):
    starts = timezone.now() + starts_in
    data = {"kind": "task", "subject": subject, "starts_at": starts, "status": status}
    if remind_before is not None:
        data["reminder_at"] = starts - remind_before
    return services.activity_create(actor=user, data=data)


def run(task):
    result = task.enqueue()
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    return result.return_value


def test_due_reminders_become_notifications_once(tenant, other_tenant):
    rep = make_member(tenant)
    with tenant_context(tenant, actor=rep):
        due = planned(
            rep,
            "Call the buyer",
            starts_in=datetime.timedelta(minutes=10),
            remind_before=datetime.timedelta(minutes=15),
        )
        planned(rep, "Later", starts_in=datetime.timedelta(days=1), remind_before=datetime.timedelta(minutes=15))
        planned(rep, "No reminder", starts_in=datetime.timedelta(minutes=1))
        done = planned(
            rep, "Already done", starts_in=-datetime.timedelta(hours=1), remind_before=datetime.timedelta(minutes=5)
        )
        services.activity_complete(actor=rep, activity=done)
    with tenant_context(other_tenant, actor=other_tenant.admin):
        planned(
            other_tenant.admin,
            "Other tenant",
            starts_in=datetime.timedelta(0),
            remind_before=datetime.timedelta(hours=1),
        )
    suspended = make_tenant("Suspended")
    with tenant_context(suspended, actor=suspended.admin):
        planned(
            suspended.admin,
            "Suspended tenant",
            starts_in=datetime.timedelta(0),
            remind_before=datetime.timedelta(hours=1),
        )
    suspended.status = "suspended"
    suspended.save()

    assert run(send_due_reminders) == {tenant.slug: 1, other_tenant.slug: 1}
    with tenant_context(tenant):
        note = Notification.objects.get()
        due.refresh_from_db()
    assert note.user_id == rep.pk and note.kind == "reminder" and "Call the buyer" in note.title
    assert note.url == due.get_absolute_url() and due.reminded_at is not None
    assert run(send_due_reminders) == {}  # idempotent
    with tenant_context(tenant):
        assert Notification.objects.count() == 1
        # Rescheduling re-arms the reminder.
        services.activity_reschedule(actor=rep, activity=due, starts_at=timezone.now() + datetime.timedelta(minutes=5))
    assert run(send_due_reminders) == {tenant.slug: 1}


def test_pending_notifications_are_emailed_one_message_per_user(tenant, smtp_server):  # noqa: F811
    rep = make_member(tenant, name="Li Lei")
    rep.language = "en"
    rep.save(update_fields=["language"])
    boss = make_member(tenant, name="Han Meimei")
    with tenant_context(tenant, actor=tenant.admin):
        services.activity_create(
            actor=tenant.admin, data={"kind": "task", "subject": "Prepare the offer", "owner": rep.pk}
        )
        services.activity_create(
            actor=tenant.admin, data={"kind": "task", "subject": "Visit Shenzhen", "owner": rep.pk}
        )
        services.notification_create(user=boss, kind="system", title="Weekly report is ready", url="/activities/today/")
        read = services.notification_create(user=boss, kind="system", title="Already read")
        services.notification_mark_read(user=boss, notification=read)

    assert run(email_pending_notifications) == {tenant.slug: 2}
    messages = smtp_server.wait_for(2)
    assert len(messages) == 2
    to_rep = smtp_server.to(rep.email)
    assert len(to_rep) == 1
    text = smtp_server.text(to_rep[0])
    assert "Prepare the offer" in text and "Visit Shenzhen" in text and "Hello Li Lei" in text
    assert to_rep[0]["Subject"] == f"{tenant.name}: 2 new notifications"
    assert "Visit Shenzhen" in smtp_server.html(to_rep[0])
    to_boss = smtp_server.text(smtp_server.to(boss.email)[0])
    assert "Weekly report is ready" in to_boss and "Already read" not in to_boss
    with tenant_context(tenant):
        assert not Notification.objects.filter(emailed_at__isnull=True, read_at__isnull=True).exists()

    smtp_server.clear()
    assert run(email_pending_notifications) == {}  # nothing new: nothing sent
    assert smtp_server.messages == []


def test_a_refused_message_is_tried_again_next_run(tenant, smtp_server, settings):  # noqa: F811
    rep = make_member(tenant)
    with tenant_context(tenant):
        services.notification_create(user=rep, kind="system", title="Hello")
    good_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = closed_port()
    settings.EMAIL_TIMEOUT = 2
    assert run(email_pending_notifications) == {}
    with tenant_context(tenant):
        assert Notification.objects.get().emailed_at is None
    settings.EMAIL_PORT = good_port
    assert run(email_pending_notifications) == {tenant.slug: 1}
    assert smtp_server.wait_for(1)[0]["To"] == rep.email


def test_the_scheduler_enqueues_both_tasks(tenant, smtp_server):  # noqa: F811
    rep = make_member(tenant)
    with tenant_context(tenant, actor=rep):
        planned(
            rep, "Board meeting", starts_in=datetime.timedelta(minutes=5), remind_before=datetime.timedelta(minutes=30)
        )
    call_command("run_scheduler", "--once", verbosity=0)
    message = smtp_server.wait_for(1)[0]
    assert message["To"] == rep.email and "Reminder: Board meeting" in smtp_server.text(message)
    with tenant_context(tenant):
        assert Notification.objects.get().emailed_at is not None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_remind_once():
    if connection.vendor != "postgresql":
        pytest.skip("row locks with SKIP LOCKED are a PostgreSQL feature")
    tenant = make_tenant("Concurrent")
    rep = make_member(tenant)
    with tenant_context(tenant, actor=rep):
        for i in range(60):
            planned(rep, f"t{i}", starts_in=datetime.timedelta(minutes=1), remind_before=datetime.timedelta(minutes=5))
    counts, errors = [], []
    barrier = threading.Barrier(3)

    def worker():
        from django.db import connections

        try:
            barrier.wait()
            with tenant_context(tenant):
                counts.append(services.reminders_send_due())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(counts) == 60
    with tenant_context(tenant):
        assert Notification.objects.count() == 60
        assert not Activity.objects.filter(reminded_at__isnull=True).exists()


def closed_port() -> int:
    """A localhost port nothing listens on."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
