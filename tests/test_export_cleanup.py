"""Background exports: a waiting export whose task was lost is queued again; a user who leaves takes their files."""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from guanxi.activities.models import Notification
from guanxi.audit.models import AuditAction, AuditEntry
from guanxi.customers import services as customers
from guanxi.exports import services, tasks
from guanxi.exports.models import ExportFile, export_storage
from guanxi.identity.models import User
from guanxi.org import services as org
from guanxi.org.models import Member
from guanxi.platform.context import all_tenants_scope, tenant_context
from guanxi.platform.testing import make_member

Status = ExportFile.Status
RUN_EXPORT = tasks.run_export
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture(autouse=True)
def export_files(settings, tmp_path):
    settings.EXPORT_FILES_ROOT = tmp_path / "exports"
    return tmp_path / "exports"


@pytest.fixture
def account(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        return customers.account_create(actor=tenant.admin, data={"name": "北京华为技术有限公司"})


class HeldQueue(list):
    """Stands for ``run_export`` while no worker takes tasks: what is enqueued waits here (``enqueue``
    returns no result, as a backend that cannot tell whether a task is still waiting)."""

    def enqueue(self, *args):
        self.append(args)


@pytest.fixture
def queue(monkeypatch) -> HeldQueue:
    held = HeldQueue()
    monkeypatch.setattr(tasks, "run_export", held)
    return held


def export(tenant, user, *, query: str = "cols=name") -> ExportFile:
    """``user`` asks for an Excel export of the accounts (prepared at once unless the queue is held)."""
    with tenant_context(tenant, actor=user):
        return services.export_request(
            actor=user, entity_key="customers.account", fmt="xlsx", query=query, filters="", file_name="accounts.xlsx"
        )


def fetch(tenant, job: ExportFile) -> ExportFile:
    with tenant_context(tenant):
        return ExportFile.objects.get(pk=job.pk)


def age(tenant, job: ExportFile, *, minutes: float) -> None:
    """The export was (last) handed to the queue ``minutes`` ago."""
    with tenant_context(tenant):
        ExportFile.objects.filter(pk=job.pk).update(queued_at=timezone.now() - datetime.timedelta(minutes=minutes))


LOST = services.LOST_AFTER.total_seconds() / 60 + 1  # minutes: older than the threshold
NOTHING = {"expired": 0, "stopped": 0, "restarted": 0}


def sweep(tenant, capture) -> dict:
    """The periodic ``expire_exports`` task, its on-commit enqueues run; what it did in ``tenant``."""
    with capture(execute=True):
        return tasks.expire_exports.enqueue().return_value.get(tenant.slug, NOTHING)


# --- a lost task -----------------------------------------------------------------------------


def test_a_waiting_export_whose_task_was_lost_is_queued_again_and_finishes(
    tenant, other_tenant, account, queue, export_files, django_capture_on_commit_callbacks
):
    job = export(tenant, tenant.admin)
    theirs = export(other_tenant, other_tenant.admin)
    assert job.status == Status.QUEUED and queue == [(tenant.pk, job.pk), (other_tenant.pk, theirs.pk)]
    queue.clear()  # the tasks are lost (the queue went down, the worker died before taking them)
    age(tenant, job, minutes=LOST - 2)  # not yet: a worker may just be busy
    assert sweep(tenant, django_capture_on_commit_callbacks) == NOTHING and queue == []

    age(tenant, job, minutes=LOST)
    age(other_tenant, theirs, minutes=LOST)
    with tenant_context(tenant), django_capture_on_commit_callbacks(execute=True):
        assert services.exports_expire() == {**NOTHING, "restarted": 1}  # this tenant's only
    assert queue == [(tenant.pk, job.pk)]
    job = fetch(tenant, job)
    assert (job.status, job.attempts) == (Status.QUEUED, 1)  # the lost task was a try
    assert timezone.now() - job.queued_at < datetime.timedelta(minutes=1)  # waits again from now
    assert fetch(other_tenant, theirs).attempts == 0
    assert sweep(tenant, django_capture_on_commit_callbacks) == NOTHING  # just queued again: left alone

    assert RUN_EXPORT.call(*queue[0]) == Status.DONE  # a worker takes it
    job = fetch(tenant, job)
    assert (job.status, job.attempts, job.rows) == (Status.DONE, 2, 1)
    assert (export_files / job.file.name).is_file()
    with tenant_context(tenant):
        assert Notification.objects.filter(user=tenant.admin, title="Your export is ready").count() == 1


def test_a_waiting_export_lost_again_and_again_fails_with_a_message(
    tenant, account, queue, client, django_capture_on_commit_callbacks
):
    marketer = make_member(tenant, roles=("Marketer",))
    job = export(tenant, marketer)
    for tries in range(1, services.MAX_ATTEMPTS):
        age(tenant, job, minutes=LOST)
        assert sweep(tenant, django_capture_on_commit_callbacks) == {**NOTHING, "restarted": 1}
        assert fetch(tenant, job).attempts == tries
    assert len(queue) == services.MAX_ATTEMPTS  # the first task and two more, all lost
    age(tenant, job, minutes=LOST)
    assert sweep(tenant, django_capture_on_commit_callbacks) == {**NOTHING, "stopped": 1}
    job = fetch(tenant, job)
    assert (job.status, job.attempts) == (Status.FAILED, services.MAX_ATTEMPTS) and job.finished_at
    assert job.error == "The export was never started (no worker took it up). Export the list again."
    assert len(queue) == services.MAX_ATTEMPTS  # not queued again
    with tenant_context(tenant):
        notice = Notification.objects.get(user=marketer)
    assert notice.title == "Your export failed" and job.error in notice.body

    client.force_login(marketer)  # "My exports" says why
    page = client.get(reverse("exports:list")).content.decode()
    assert 'data-testid="export-error"' in page and "no worker took it up" in page
    assert "no worker took it up" in client.get(reverse("exports:detail", args=[job.pk])).content.decode()
    assert RUN_EXPORT.call(*queue[-1]) == "skipped"  # a task delivered after all does nothing

    chinese = export(tenant, marketer)  # in the language of the request
    with tenant_context(tenant):
        ExportFile.objects.filter(pk=chinese.pk).update(language="zh-hans", attempts=services.MAX_ATTEMPTS - 1)
    age(tenant, chinese, minutes=LOST)
    assert sweep(tenant, django_capture_on_commit_callbacks) == {**NOTHING, "stopped": 1}
    assert fetch(tenant, chinese).error == "导出始终未开始（没有后台进程处理）。请重新导出列表。"


def test_a_lost_task_counts_with_the_runs_of_the_same_export(
    tenant, account, queue, django_capture_on_commit_callbacks
):
    """One run died, then its new task was lost: the third try is the last one."""
    job = export(tenant, tenant.admin)
    with tenant_context(tenant):
        ExportFile.objects.filter(pk=job.pk).update(attempts=1)  # its first run died and it was queued again
    age(tenant, job, minutes=LOST)
    assert sweep(tenant, django_capture_on_commit_callbacks) == {**NOTHING, "restarted": 1}
    assert RUN_EXPORT.call(*queue[-1]) == Status.DONE
    assert fetch(tenant, job).attempts == services.MAX_ATTEMPTS  # had this run stalled too, it would fail


def test_an_export_being_prepared_is_left_alone(tenant, account, queue, monkeypatch):
    job = export(tenant, tenant.admin)
    age(tenant, job, minutes=60)  # it waited long, and a worker takes it now
    entity_views = services._entity_views
    during = []

    def sweep_meanwhile(entity_key):
        # The sweep runs while the export is being prepared, even well past the lost-task threshold.
        later = timezone.now() + services.LOST_AFTER + datetime.timedelta(minutes=1)
        during.append(services.exports_expire(now=later))
        return entity_views(entity_key)

    monkeypatch.setattr(services, "_entity_views", sweep_meanwhile)
    assert RUN_EXPORT.call(*queue[0]) == Status.DONE
    assert during == [NOTHING] and len(queue) == 1
    job = fetch(tenant, job)
    assert (job.status, job.attempts) == (Status.DONE, 1) and export_storage.exists(job.file.name)


def test_an_export_queued_again_and_delivered_twice_is_prepared_once(
    tenant, account, queue, monkeypatch, export_files, django_capture_on_commit_callbacks
):
    """The first task was only late: the worker gets it and the new one; one run prepares the export."""
    job = export(tenant, tenant.admin)
    age(tenant, job, minutes=LOST)
    assert sweep(tenant, django_capture_on_commit_callbacks) == {**NOTHING, "restarted": 1}
    first, second = queue
    assert first == second == (tenant.pk, job.pk)
    waiting = fetch(tenant, job)  # as a second worker read it before the first took it
    entity_views = services._entity_views
    meanwhile = []

    def second_worker(entity_key):
        meanwhile.append(RUN_EXPORT.call(*second))
        with tenant_context(tenant, actor=tenant.admin):
            assert waiting.status == Status.QUEUED
            meanwhile.append(services._claim(waiting))  # it cannot take it
            meanwhile.append(services.export_run(job=waiting).status)  # nor run it
        return entity_views(entity_key)

    monkeypatch.setattr(services, "_entity_views", second_worker)
    assert RUN_EXPORT.call(*first) == Status.DONE
    assert meanwhile == ["skipped", None, Status.QUEUED]
    job = fetch(tenant, job)
    assert (job.status, job.attempts, job.rows) == (Status.DONE, 2, 1)
    assert [p.name for p in export_files.rglob("*") if p.is_file()] == ["export.xlsx"]  # one file
    with tenant_context(tenant):
        assert AuditEntry.objects.filter(action=AuditAction.EXPORT).count() == 1
        assert Notification.objects.filter(user=tenant.admin).count() == 1
    assert RUN_EXPORT.call(*second) == "skipped"


def test_with_the_database_queue_a_task_still_waiting_is_not_lost(
    settings, tenant, account, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = DB_TASKS  # the production queue: tasks wait in the database for `db_worker`
    job = export(tenant, tenant.admin)
    job = fetch(tenant, job)
    assert job.status == Status.QUEUED and job.task_id
    assert DBTaskResult.objects.get(id=job.task_id).status == "READY"
    age(tenant, job, minutes=60)  # the worker is busy (or stopped): the task waits its turn
    with tenant_context(tenant), django_capture_on_commit_callbacks(execute=True):
        assert services.exports_expire() == NOTHING
    assert fetch(tenant, job).attempts == 0 and DBTaskResult.objects.count() == 1

    DBTaskResult.objects.all().delete()  # lost
    with tenant_context(tenant), django_capture_on_commit_callbacks(execute=True):
        assert services.exports_expire() == {**NOTHING, "restarted": 1}
    job = fetch(tenant, job)
    task = DBTaskResult.objects.get()
    assert (job.attempts, job.task_id, task.status) == (1, str(task.id), "READY")
    assert task.args_kwargs["args"] == [tenant.pk, job.pk]

    DBTaskResult.objects.filter(pk=task.pk).update(status="RUNNING")  # its worker died before taking the export
    age(tenant, job, minutes=LOST)
    with tenant_context(tenant), django_capture_on_commit_callbacks(execute=True):
        assert services.exports_expire() == {**NOTHING, "restarted": 1}
    assert fetch(tenant, job).attempts == 2 and DBTaskResult.objects.filter(status="READY").count() == 1


# --- a user who leaves -----------------------------------------------------------------------


def test_deactivating_a_member_deletes_their_export_files_only(
    admin_client, tenant, other_tenant, account, export_files, monkeypatch, django_capture_on_commit_callbacks
):
    leaving = make_member(tenant, roles=("Marketer",))
    make_member(other_tenant, roles=("Marketer",), email=leaving.email)  # also in another company
    colleague = make_member(tenant, roles=("Marketer",))
    ready = export(tenant, leaving)
    elsewhere = export(other_tenant, leaving)
    colleagues = export(tenant, colleague)
    queue = HeldQueue()
    monkeypatch.setattr(tasks, "run_export", queue)
    waiting = export(tenant, leaving)
    paths = {job.pk: export_files / job.file.name for job in (ready, elsewhere, colleagues)}
    assert all(path.is_file() for path in paths.values())

    with tenant_context(tenant):
        member = Member.objects.get(user=leaving)
    with django_capture_on_commit_callbacks() as removals:
        response = admin_client.post(reverse("org:member_deactivate", args=[member.pk]))
    assert response.status_code == 302
    assert paths[ready.pk].is_file()  # nothing is deleted before the deactivation commits
    for removal in removals:
        removal()
    assert not paths[ready.pk].exists() and not paths[ready.pk].parent.exists()
    assert not export_storage.exists(ready.file.name)
    ready, waiting = fetch(tenant, ready), fetch(tenant, waiting)
    assert (ready.status, ready.file.name) == (Status.EXPIRED, "") and ready.expires_at <= timezone.now()
    assert waiting.status == Status.FAILED and waiting.error == "Stopped: your access to this company was removed."
    assert RUN_EXPORT.call(*queue[0]) == "skipped"  # its task, delivered later, does nothing

    # A colleague's file, and the same person's file in their other company, stay.
    assert paths[colleagues.pk].is_file() and fetch(tenant, colleagues).status == Status.DONE
    assert paths[elsewhere.pk].is_file() and fetch(other_tenant, elsewhere).status == Status.DONE
    with tenant_context(tenant):
        assert not Member.objects.get(pk=member.pk).is_active


def test_deactivating_in_the_member_form_too_and_never_before_the_commit(
    tenant, account, export_files, django_capture_on_commit_callbacks
):
    leaving = make_member(tenant, roles=("Marketer",))
    job = export(tenant, leaving)
    path = export_files / job.file.name
    with tenant_context(tenant, actor=tenant.admin):
        member = Member.objects.get(user=leaving)
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
            org.member_deactivate(actor=tenant.admin, member=member)
            raise RuntimeError("rolled back")
        assert path.is_file() and fetch(tenant, job).status == Status.DONE  # rolled back: the file stays
        member.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            org.member_update(actor=tenant.admin, member=member, data={"title": "Still here"})
        assert path.is_file()  # an active member's change takes nothing
        with django_capture_on_commit_callbacks(execute=True):
            org.member_update(actor=tenant.admin, member=member, data={"is_active": False})
    assert not path.exists() and fetch(tenant, job).status == Status.EXPIRED


@pytest.mark.parametrize("when", ["before its rows are read", "after its file is written"])
def test_an_export_being_prepared_when_its_user_is_deactivated_leaves_no_file(
    when, tenant, account, export_files, monkeypatch, django_capture_on_commit_callbacks
):
    leaving = make_member(tenant, roles=("Marketer",))
    queue = HeldQueue()
    monkeypatch.setattr(tasks, "run_export", queue)
    job = export(tenant, leaving)

    def deactivate():
        with tenant_context(tenant, actor=tenant.admin):
            org.member_deactivate(actor=tenant.admin, member=Member.objects.get(user=leaving))

    if when == "before its rows are read":
        entity_views = services._entity_views
        monkeypatch.setattr(services, "_entity_views", lambda key: (deactivate(), entity_views(key))[1])
    else:
        save = export_storage.save
        monkeypatch.setattr(export_storage, "save", lambda *args: (save(*args), deactivate())[0])
    with django_capture_on_commit_callbacks(execute=True):
        assert RUN_EXPORT.call(*queue[0]) == Status.FAILED
    job = fetch(tenant, job)
    assert (job.status, job.file.name) == (Status.FAILED, "") and "access to this company" in job.error
    assert not any(p.is_file() for p in export_files.rglob("*"))  # the run removed what it wrote
    with tenant_context(tenant):
        assert not Notification.objects.filter(user=leaving).exists()


def test_deleting_a_user_deletes_their_export_files(
    tenant, other_tenant, account, export_files, django_capture_on_commit_callbacks
):
    leaving = make_member(tenant, roles=("Marketer",))
    make_member(other_tenant, roles=("Marketer",), email=leaving.email)
    colleague = make_member(tenant, roles=("Marketer",))
    theirs = [export(tenant, leaving), export(other_tenant, leaving)]
    kept = export(tenant, colleague)
    paths = [export_files / job.file.name for job in theirs]
    assert all(path.is_file() for path in paths)
    with all_tenants_scope(), django_capture_on_commit_callbacks(execute=True):  # platform operator code
        User.objects.get(pk=leaving.pk).delete()
    assert not any(path.exists() for path in paths)
    with all_tenants_scope():
        assert not ExportFile.objects.filter(pk__in=[job.pk for job in theirs]).exists()
    assert (export_files / kept.file.name).is_file() and fetch(tenant, kept).status == Status.DONE
