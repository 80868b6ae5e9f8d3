"""Background exports: Excel and large exports are prepared by the worker, downloaded from "My exports", and expire."""

from __future__ import annotations

import csv
import datetime
import io
import re

import openpyxl
import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.http import FileResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from guanxi.access import permissions
from guanxi.access.models import RestrictedField
from guanxi.activities.models import Notification
from guanxi.audit.models import AuditAction, AuditEntry
from guanxi.customers import services as customers
from guanxi.customization.models import SavedView
from guanxi.exports import services, tasks
from guanxi.exports.models import ExportFile, export_storage
from guanxi.identity.services import api_token_create
from guanxi.org.models import Member
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member

ACCOUNT_EXPORT = reverse("customers:account_export")
CONTACT_EXPORT = reverse("customers:contact_export")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Status = ExportFile.Status


@pytest.fixture(autouse=True)
def export_files(settings, tmp_path):
    settings.EXPORT_FILES_ROOT = tmp_path / "exports"
    return tmp_path / "exports"


@pytest.fixture
def accounts(tenant):
    admin = tenant.admin
    with tenant_context(tenant, actor=admin):
        huawei = customers.account_create(
            actor=admin,
            data={"name": "北京华为技术有限公司", "industry": "it", "city": "北京", "annual_revenue": "1250000.50"},
        )
        shop = customers.account_create(actor=admin, data={"name": "Acme Retail GmbH", "industry": "retail"})
    return huawei, shop


def bearer(tenant, user) -> dict:
    with tenant_context(tenant, actor=user):
        return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(user=user, name='t', scope='read')[1]}"}


def queued_from(response) -> ExportFile:
    """The export a list export request queued (the message links to it)."""
    assert response.status_code == 302
    message = [str(m) for m in get_messages(response.wsgi_request)][-1]
    assert 'data-testid="export-queued"' in message
    pk = int(re.search(r"/exports/(\d+)/", message).group(1))
    with tenant_context(response.wsgi_request.tenant):
        return ExportFile.objects.get(pk=pk)


def rows_of(raw: bytes) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(raw)).active.iter_rows(values_only=True))


def content(response) -> bytes:
    assert isinstance(response, FileResponse), response
    return b"".join(response.streaming_content)


RUN_EXPORT = tasks.run_export


class HeldQueue(list):
    """Stands for ``run_export`` while the worker is busy: what is enqueued waits here."""

    def enqueue(self, *args):
        self.append(args)


def hold_the_queue(monkeypatch) -> HeldQueue:
    queued = HeldQueue()
    monkeypatch.setattr(tasks, "run_export", queued)
    return queued


# --- the background export -------------------------------------------------------------------


def test_small_xlsx_export_is_prepared_in_the_background_with_the_lists_rows_and_columns(
    admin_client, tenant, accounts, export_files
):
    response = admin_client.get(
        ACCOUNT_EXPORT, {"format": "xlsx", "industry": "it", "cols": "name,city,annual_revenue"}
    )
    job = queued_from(response)
    assert "Preparing your export… You will be notified when it is ready." in str(
        list(get_messages(response.wsgi_request))[-1]
    )
    # Back to the list, same filters and columns.
    assert response["Location"].startswith(reverse("customers:account_list"))
    assert "industry=it" in response["Location"] and "format=" not in response["Location"]
    assert job.status == Status.DONE and (job.rows, job.total_rows, job.complete) == (1, 1, True)
    assert job.requested_by == tenant.admin and job.format == "xlsx" and job.file_name.endswith(".xlsx")
    assert job.file.name.startswith(f"{tenant.pk}/") and (export_files / job.file.name).is_file()
    assert job.expires_at - job.finished_at == datetime.timedelta(days=7)

    download = admin_client.get(reverse("exports:download", args=[job.pk]))
    assert download.status_code == 200 and download["Content-Type"] == XLSX_TYPE
    assert "attachment" in download["Content-Disposition"] and download["Cache-Control"] == "private, no-store"
    rows = rows_of(content(download))
    assert rows[0] == ("Name", "City", "Annual revenue")
    assert rows[1:] == [("北京华为技术有限公司", "北京", pytest.approx(1250000.50))]

    with tenant_context(tenant):
        # Audited as a streamed export is, from the request (web, same filters and columns).
        entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
        notice = Notification.objects.get(user=tenant.admin)
    assert entry.actor == tenant.admin and entry.via == "web" and entry.content_type.model == "account"
    assert entry.changes["format"] == [None, "xlsx"] and entry.changes["rows"] == [None, 1]
    assert entry.changes["filters"] == [None, "industry=it"]
    assert entry.changes["columns"] == [None, "name,city,annual_revenue"]
    assert notice.title == "Your export is ready" and notice.url == reverse("exports:detail", args=[job.pk])


def test_any_format_above_the_threshold_goes_to_the_background(admin_client, tenant, accounts, settings):
    response = admin_client.get(ACCOUNT_EXPORT, {"format": "csv", "cols": "name"})
    assert isinstance(response, StreamingHttpResponse)  # under the threshold: streamed as before
    settings.EXPORT_BACKGROUND_ROWS = 1
    job = queued_from(admin_client.get(ACCOUNT_EXPORT, {"format": "csv", "cols": "name,industry"}))
    assert job.status == Status.DONE and job.rows == 2 and job.file_name.endswith(".csv")
    raw = content(admin_client.get(reverse("exports:download", args=[job.pk])))
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["Name", "Industry"] and sorted(r[0] for r in rows[1:]) == sorted(
        ["北京华为技术有限公司", "Acme Retail GmbH"]
    )
    with tenant_context(tenant, actor=tenant.admin):
        for name, email in (("王伟", "wang@x.example"), ("李娜", "li@x.example")):
            customers.contact_create(actor=tenant.admin, data={"family_name": name, "email": email})
    job = queued_from(admin_client.get(CONTACT_EXPORT, {"format": "vcf"}))
    assert job.rows == 2 and b"BEGIN:VCARD" in content(admin_client.get(reverse("exports:download", args=[job.pk])))


def test_restricted_fields_and_the_users_scope_apply_in_the_worker(client, tenant, accounts):
    marketer = make_member(tenant, roles=("Marketer",))
    rep = make_member(tenant, roles=("Sales representative",))  # exports only their own accounts
    with tenant_context(tenant, actor=rep):
        RestrictedField.objects.create(module="customers.account", field_name="annual_revenue")
        customers.account_create(actor=rep, data={"name": "Rep's own account"})
    client.force_login(marketer)
    job = queued_from(client.get(ACCOUNT_EXPORT, {"format": "xlsx", "cols": "name,annual_revenue"}))
    rows = rows_of(content(client.get(reverse("exports:download", args=[job.pk]))))
    assert rows[0] == ("Name",) and len(rows) == 4
    client.force_login(rep)
    job = queued_from(client.get(ACCOUNT_EXPORT, {"format": "xlsx", "cols": "name"}))
    assert rows_of(content(client.get(reverse("exports:download", args=[job.pk])))) == [
        ("Name",),
        ("Rep's own account",),
    ]


def test_the_worker_uses_what_was_asked_and_the_users_rights_when_it_runs(client, tenant, accounts, monkeypatch):
    queued = hold_the_queue(monkeypatch)
    marketer = make_member(tenant, roles=("Marketer",))
    with tenant_context(tenant):
        view = SavedView.objects.create(
            entity="customers.account", name="IT", owner=marketer, query="industry=it", columns=["name", "city"]
        )
    client.force_login(marketer)
    first = queued_from(client.get(ACCOUNT_EXPORT, {"format": "xlsx", "view": view.pk}))
    second = queued_from(client.get(ACCOUNT_EXPORT, {"format": "xlsx", "cols": "name"}))
    assert first.status == second.status == Status.QUEUED and len(queued) == 2
    with tenant_context(tenant):
        # The saved view changes before the worker starts: the export is still what the user saw.
        SavedView.objects.filter(pk=view.pk).update(query="industry=retail", columns=["name"])
    RUN_EXPORT.call(*queued[0])
    with tenant_context(tenant):
        first.refresh_from_db()
    assert first.status == Status.DONE
    assert rows_of(content(client.get(reverse("exports:download", args=[first.pk])))) == [
        ("Name", "City"),
        ("北京华为技术有限公司", "北京"),
    ]
    # The user loses the right to export before the worker runs: nothing is written, they are told.
    with tenant_context(tenant):
        Member.objects.get(user=marketer).roles.clear()
        permissions.invalidate()
    RUN_EXPORT.call(*queued[1])
    with tenant_context(tenant):
        second.refresh_from_db()
        assert AuditEntry.objects.filter(action=AuditAction.EXPORT, actor=marketer).count() == 1  # the first only
        notice = Notification.objects.filter(user=marketer).order_by("id").last()
    assert second.status == Status.FAILED and not second.file and "no longer export" in second.error
    assert notice.title == "Your export failed"
    # Running a task twice does nothing more.
    assert RUN_EXPORT.call(*queued[0]) == "skipped"


def test_export_in_the_users_language(client, tenant, accounts):
    client.force_login(tenant.admin)
    streamed = b"".join(
        client.get(
            ACCOUNT_EXPORT, {"format": "csv", "cols": "name,industry"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
        ).streaming_content
    )
    header = next(csv.reader(io.StringIO(streamed.decode("utf-8-sig").split("\r\n")[0])))
    response = client.get(ACCOUNT_EXPORT, {"format": "xlsx", "cols": "name,industry"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    job = queued_from(response)
    assert job.language == "zh-hans"
    rows = rows_of(content(client.get(reverse("exports:download", args=[job.pk]))))
    assert list(rows[0]) == header and header != ["Name", "Industry"]


# --- pages and API ---------------------------------------------------------------------------


def test_my_exports_page_lists_the_users_own_exports(admin_client, client, tenant, accounts, monkeypatch):
    job = queued_from(admin_client.get(ACCOUNT_EXPORT, {"format": "xlsx"}))
    page = admin_client.get(reverse("exports:list")).content.decode()
    assert page.count('data-testid="export-row"') == 1 and reverse("exports:download", args=[job.pk]) in page
    assert 'hx-trigger="every 2s"' not in page  # nothing being prepared: no polling
    detail = admin_client.get(reverse("exports:detail", args=[job.pk])).content.decode()
    assert "Your export is ready." in detail and 'data-testid="export-download"' in detail
    fragment = admin_client.get(
        reverse("exports:detail", args=[job.pk]), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="gx-export-status"
    ).content.decode()
    assert "<html" not in fragment and 'data-testid="export-progress"' in fragment

    hold_the_queue(monkeypatch)
    waiting = queued_from(admin_client.get(ACCOUNT_EXPORT, {"format": "xlsx"}))
    page = admin_client.get(reverse("exports:list")).content.decode()
    assert page.count('data-testid="export-row"') == 2 and 'hx-trigger="every 2s"' in page
    detail = admin_client.get(reverse("exports:detail", args=[waiting.pk])).content.decode()
    assert "Waiting for a worker" in detail and 'hx-trigger="every 2s"' in detail
    # The export menu of the list says an export is being prepared and links to it.
    listing = admin_client.get(reverse("customers:account_list")).content.decode()
    assert 'data-testid="export-preparing"' in listing and reverse("exports:detail", args=[waiting.pk]) in listing
    assert reverse("exports:list") in listing
    contacts = admin_client.get(reverse("customers:contact_list")).content.decode()
    assert 'data-testid="export-preparing"' not in contacts  # only on the list being exported

    # Another person of the company sees none of it.
    colleague = make_member(tenant, roles=("Marketer",))
    client.force_login(colleague)
    assert 'data-testid="export-row"' not in client.get(reverse("exports:list")).content.decode()


def count_queries(fn) -> int:
    n = 0

    def counting(execute, sql, params, many, context):
        nonlocal n
        n += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counting):
        fn()
    return n


def test_my_exports_queries_do_not_grow_with_exports(admin_client, tenant, accounts):
    queued_from(admin_client.get(ACCOUNT_EXPORT, {"format": "xlsx"}))
    few = count_queries(lambda: admin_client.get(reverse("exports:list")))
    for _ in range(5):
        queued_from(admin_client.get(ACCOUNT_EXPORT, {"format": "xlsx"}))
    pages = []
    many = count_queries(lambda: pages.append(admin_client.get(reverse("exports:list"))))
    assert many <= few < 15
    assert pages[0].content.decode().count('data-testid="export-row"') == 6


def test_api_answers_202_with_the_job_and_the_caller_downloads_it(client, tenant, accounts):
    auth = bearer(tenant, tenant.admin)
    response = client.get("/api/v1/exports/accounts", {"format": "xlsx", "columns": "name", "industry": "it"}, **auth)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "done" and body["url"] == f"/api/v1/exports/jobs/{body['id']}"
    status = client.get(body["url"], **auth).json()
    assert (status["rows"], status["percent"], status["format"]) == (1, 100, "xlsx")
    raw = content(client.get(status["download_url"], **auth))
    assert rows_of(raw) == [("Name",), ("北京华为技术有限公司",)]
    listed = client.get("/api/v1/exports/jobs", **auth).json()
    assert [j["id"] for j in listed] == [body["id"]]
    with tenant_context(tenant):
        entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.via == "api" and entry.changes["filters"] == [None, "industry=it"]


# --- who may download ------------------------------------------------------------------------


def test_another_tenant_gets_404_for_the_pages_and_the_download(client, tenant, other_tenant, accounts):
    client.force_login(tenant.admin)
    job = queued_from(client.get(ACCOUNT_EXPORT, {"format": "xlsx"}))
    client.force_login(other_tenant.admin)
    for url in (
        reverse("exports:detail", args=[job.pk]),
        reverse("exports:download", args=[job.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert 'data-testid="export-row"' not in client.get(reverse("exports:list")).content.decode()
    auth = bearer(other_tenant, other_tenant.admin)
    for url in (f"/api/v1/exports/jobs/{job.pk}", f"/api/v1/exports/jobs/{job.pk}/download"):
        assert client.get(url, **auth).status_code == 404, url
    assert client.get("/api/v1/exports/jobs", **auth).json() == []


def test_another_user_of_the_same_tenant_gets_404_even_an_administrator(client, tenant, accounts):
    owner = make_member(tenant, roles=("Marketer",))
    client.force_login(owner)
    job = queued_from(client.get(ACCOUNT_EXPORT, {"format": "xlsx"}))
    assert client.get(reverse("exports:download", args=[job.pk])).status_code == 200
    for other in (make_member(tenant, roles=("Marketer",)), tenant.admin):
        client.force_login(other)
        assert client.get(reverse("exports:detail", args=[job.pk])).status_code == 404
        assert client.get(reverse("exports:download", args=[job.pk])).status_code == 404
        auth = bearer(tenant, other)
        assert client.get(f"/api/v1/exports/jobs/{job.pk}", **auth).status_code == 404
        assert client.get(f"/api/v1/exports/jobs/{job.pk}/download", **auth).status_code == 404
    # The owner who lost the right to export may not download any more.
    with tenant_context(tenant):
        Member.objects.get(user=owner).roles.clear()
        permissions.invalidate()
    client.force_login(owner)
    assert client.get(reverse("exports:download", args=[job.pk])).status_code == 403


# --- expiry ----------------------------------------------------------------------------------


def test_expiry_cleanup_removes_the_file(
    admin_client, tenant, other_tenant, accounts, export_files, django_capture_on_commit_callbacks
):
    old = queued_from(admin_client.get(ACCOUNT_EXPORT, {"format": "xlsx"}))
    fresh = queued_from(admin_client.get(ACCOUNT_EXPORT, {"format": "xlsx", "industry": "it"}))
    path = export_files / old.file.name
    assert path.is_file()
    assert tasks.expire_exports.enqueue().return_value == {}  # nothing is due yet
    with tenant_context(tenant):
        ExportFile.objects.filter(pk=old.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):  # the file goes once the status change is committed
        assert tasks.expire_exports.enqueue().return_value == {
            tenant.slug: {"expired": 1, "stopped": 0, "restarted": 0}
        }
    assert not path.exists() and not path.parent.exists()
    assert (export_files / fresh.file.name).is_file()
    with tenant_context(tenant):
        old.refresh_from_db()
    assert old.status == Status.EXPIRED and not old.file
    assert admin_client.get(reverse("exports:download", args=[old.pk])).status_code == 404
    assert "has expired" in admin_client.get(reverse("exports:detail", args=[old.pk])).content.decode()
    assert admin_client.get(reverse("exports:download", args=[fresh.pk])).status_code == 200
    assert not export_storage.exists(old.file.name or "missing")


def stall(tenant, job, *, attempts: int) -> None:
    """The worker preparing ``job`` died ``STALE_AFTER`` ago, on its ``attempts``-th run."""
    with tenant_context(tenant):
        ExportFile.objects.filter(pk=job.pk).update(
            status=Status.RUNNING,
            run_token="dead-worker",
            attempts=attempts,
            heartbeat_at=timezone.now() - services.STALE_AFTER - datetime.timedelta(minutes=1),
        )


def test_an_export_whose_worker_died_is_run_again(
    admin_client, tenant, accounts, export_files, monkeypatch, django_capture_on_commit_callbacks
):
    queue = hold_the_queue(monkeypatch)
    job = queued_from(admin_client.get(ACCOUNT_EXPORT, {"format": "xlsx"}))
    stall(tenant, job, attempts=1)
    queue.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.expire_exports.enqueue().return_value == {
            tenant.slug: {"expired": 0, "stopped": 0, "restarted": 1}
        }
    assert queue == [(tenant.pk, job.pk)]
    with tenant_context(tenant):
        job.refresh_from_db()
        assert (job.status, job.run_token, job.heartbeat_at) == (Status.QUEUED, "", None)
    RUN_EXPORT.call(*queue[0])  # the worker picks it up again
    with tenant_context(tenant):
        job.refresh_from_db()
    assert (job.status, job.attempts) == (Status.DONE, 2) and export_storage.exists(job.file.name)
    assert rows_of(content(admin_client.get(reverse("exports:download", args=[job.pk]))))[0][0]


def test_an_export_that_stalls_three_times_is_given_up(admin_client, tenant, accounts, monkeypatch):
    hold_the_queue(monkeypatch)
    job = queued_from(admin_client.get(ACCOUNT_EXPORT, {"format": "xlsx"}))
    stall(tenant, job, attempts=services.MAX_ATTEMPTS)
    assert tasks.expire_exports.enqueue().return_value == {tenant.slug: {"expired": 0, "stopped": 1, "restarted": 0}}
    with tenant_context(tenant):
        job.refresh_from_db()
        assert Notification.objects.filter(user=tenant.admin, title="Your export failed").exists()
    assert job.status == Status.FAILED and "Export the list again" in job.error


def test_a_run_given_up_on_cannot_finish_the_export(admin_client, tenant, accounts, export_files, monkeypatch):
    """The worker was slow, not dead: its export was handed to another run meanwhile."""
    queue = hold_the_queue(monkeypatch)
    job = queued_from(admin_client.get(ACCOUNT_EXPORT, {"format": "xlsx"}))
    claim = services._claim

    def claim_then_lose(job):
        token = claim(job)
        ExportFile.objects.filter(pk=job.pk).update(run_token="the-next-run")
        return token

    monkeypatch.setattr(services, "_claim", claim_then_lose)
    RUN_EXPORT.call(*queue[0])
    with tenant_context(tenant):
        job.refresh_from_db()
        assert not Notification.objects.filter(user=tenant.admin, title="Your export is ready").exists()
    assert (job.status, job.run_token, job.file.name) == (Status.RUNNING, "the-next-run", "")
    assert not any(p.is_file() for p in export_files.rglob("*"))  # its file was removed
