"""Attachments: upload rules (size, types, content sniffing), downloads only through the permission check,
the htmx panel, deletion (file removed after commit), rules of the owning entity (receipts of a submitted
expense are fixed), audit, and the API endpoints."""

import datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.test import Client
from django.urls import reverse

from guanxi.attachments import services as attachment_services
from guanxi.attachments.models import Attachment
from guanxi.audit.models import AuditEntry
from guanxi.finance import services
from guanxi.identity.services import api_token_create
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member, make_tenant

HTMX = {"HTTP_HX_REQUEST": "true"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def people(tenant):
    manager = make_member(tenant, roles=("Sales manager",), name="Manager")
    rep = make_member(tenant, roles=("Sales representative",), manager=manager.member, name="Rep")
    stranger = make_member(tenant, roles=("Sales representative",), name="Stranger")
    with tenant_context(tenant, actor=rep):
        expense = services.expense_create(actor=rep, data={"description": "Hotel", "amount": D("420"),
                                                           "date": datetime.date.today()})  # fmt: skip
    with tenant_context(tenant, actor=tenant.admin):
        yield {"tenant": tenant, "manager": manager, "rep": rep, "stranger": stranger, "expense": expense}


def login(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def panel_url(expense) -> str:
    return reverse("attachments:panel_finance_expense") + f"?object_id={expense.pk}"


def upload(client, expense, name, content, **extra):
    return client.post(
        reverse("attachments:panel_finance_expense"),
        {"object_id": expense.pk, "file": SimpleUploadedFile(name, content), "description": "收据 Receipt"},
        **extra,
    )


def test_upload_list_download_through_the_permission_check(people, media):
    rep, expense = people["rep"], people["expense"]
    response = upload(login(rep), expense, "发票 hotel.png", PNG, **HTMX)
    assert response.status_code == 200
    assert "发票 hotel.png" in response.content.decode()
    attachment = Attachment.objects.get()
    assert (attachment.original_name, attachment.size, attachment.mime_type) == (
        "发票 hotel.png",
        len(PNG),
        "image/png",
    )
    assert attachment.uploaded_by == rep
    stored = Path(media) / "attachments" / attachment.file.name
    assert stored.exists() and str(people["tenant"].pk) == attachment.file.name.split("/")[0]
    assert attachment.file.name != attachment.original_name  # random names on disk
    assert AuditEntry.objects.filter(object_id=expense.pk, changes__has_key="attachments").exists()
    download = reverse("attachments:download", args=[attachment.pk])
    for user in (rep, people["manager"], people["tenant"].admin):
        response = login(user).get(download)
        assert response.status_code == 200, user
        assert b"".join(response.streaming_content) == PNG
        assert response["X-Content-Type-Options"] == "nosniff" and "attachment" in response["Content-Disposition"]
    assert login(people["stranger"]).get(download).status_code == 404
    assert login(people["stranger"]).get(panel_url(expense)).status_code == 404
    inline = login(rep).get(download + "?inline=1")
    assert "inline" in inline["Content-Disposition"] and "sandbox" in inline["Content-Security-Policy"]
    with pytest.raises(ValueError):
        attachment.file.url  # noqa: B018 - no public URL exists


def test_types_and_size_are_checked(people, settings):
    client = login(people["rep"])
    for name, content in (
        ("page.html", b"<html><script>alert(1)</script></html>"),
        ("tool.exe", b"MZ\x90\x00"),
        ("fake.pdf", b"<!doctype html><p>not a pdf</p>"),
        ("fake.png", b"GIF89a-not-png"),
        ("note.txt", b"<script>alert(1)</script>"),
        ("empty.pdf", b""),
    ):
        response = upload(client, people["expense"], name, content, **HTMX)
        assert response.status_code == 422, name
    assert not Attachment.objects.exists()
    settings.ATTACHMENTS_MAX_UPLOAD_BYTES = 100
    response = upload(client, people["expense"], "big.png", PNG, **HTMX)
    assert response.status_code == 422 and "too large" in response.content.decode()
    settings.ATTACHMENTS_MAX_UPLOAD_BYTES = 10_000
    assert upload(client, people["expense"], "scan.pdf", PDF, **HTMX).status_code == 200
    settings.ATTACHMENTS_ALLOWED_EXTENSIONS = ["png"]
    assert upload(client, people["expense"], "scan2.pdf", PDF, **HTMX).status_code == 422
    assert Attachment.objects.count() == 1


def test_receipts_are_fixed_once_submitted_and_deleting_removes_the_file(
    people, media, django_capture_on_commit_callbacks
):
    rep, expense = people["rep"], people["expense"]
    client = login(rep)
    upload(client, expense, "a.png", PNG, **HTMX)
    attachment = Attachment.objects.get()
    path = Path(media) / "attachments" / attachment.file.name
    assert login(people["stranger"]).post(reverse("attachments:delete", args=[attachment.pk])).status_code == 404
    with tenant_context(people["tenant"], actor=rep):
        services.expense_submit(actor=rep, expense=expense)
    assert upload(client, expense, "b.png", PNG, **HTMX).status_code == 403
    assert client.post(reverse("attachments:delete", args=[attachment.pk]), **HTMX).status_code == 403
    page = client.get(panel_url(expense)).content.decode()
    assert "a.png" in page and 'data-testid="attachment-upload"' not in page
    with tenant_context(people["tenant"], actor=people["manager"]):
        services.expense_decide(actor=people["manager"], expense=expense, approve=False, comment="Unreadable")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("attachments:delete", args=[attachment.pk]), **HTMX)
    assert response.status_code == 200 and not Attachment.objects.exists()
    assert not path.exists()


def test_deleting_the_record_deletes_its_files(people, media, django_capture_on_commit_callbacks):
    rep, expense = people["rep"], people["expense"]
    upload(login(rep), expense, "a.png", PNG, **HTMX)
    path = Path(media) / "attachments" / Attachment.objects.get().file.name
    with django_capture_on_commit_callbacks(execute=True), tenant_context(people["tenant"], actor=rep):
        services.expense_delete(actor=rep, expense=expense)
    assert not Attachment.objects.exists() and not path.exists()


def test_another_tenant_never_reaches_a_file(people):
    upload(login(people["rep"]), people["expense"], "a.png", PNG, **HTMX)
    attachment = Attachment.objects.get()
    other = make_tenant("Other")
    client = login(other.admin)
    assert client.get(reverse("attachments:download", args=[attachment.pk])).status_code == 404
    assert client.post(reverse("attachments:delete", args=[attachment.pk])).status_code == 404
    assert client.get(panel_url(people["expense"])).status_code == 404
    assert upload(client, people["expense"], "x.png", PNG).status_code == 404
    assert Attachment.objects.count() == 1


def test_without_htmx_the_panel_redirects_back(people):
    response = upload(login(people["rep"]), people["expense"], "a.png", PNG)
    assert response.status_code == 302 and response["Location"] == people["expense"].get_absolute_url()
    response = upload(login(people["rep"]), people["expense"], "a.exe", b"MZ")
    assert response.status_code == 302 and Attachment.objects.count() == 1


def test_attachment_api(people):
    with tenant_context(people["tenant"], actor=people["rep"]):
        secret = api_token_create(user=people["rep"], name="t", scope="write")[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    base = f"/api/v1/expenses/{people['expense'].pk}/attachments"
    response = api.post(base, {"file": SimpleUploadedFile("r.png", PNG), "description": "taxi"})
    assert response.status_code == 201, response.content
    item = response.json()
    assert item["name"] == "r.png" and item["size"] == len(PNG) and item["content_type"] == "image/png"
    assert [a["id"] for a in api.get(base).json()] == [item["id"]]
    download = api.get(f"{base}/{item['id']}")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG
    bad = api.post(base, {"file": SimpleUploadedFile("r.html", b"<html></html>")})
    assert bad.status_code == 422 and "file" in bad.json()["errors"]
    assert api.delete(f"{base}/{item['id']}").status_code == 204
    assert api.get(base).json() == []
    with tenant_context(people["tenant"], actor=people["stranger"]):
        other_secret = api_token_create(user=people["stranger"], name="t", scope="write")[1]
    other = Client(HTTP_AUTHORIZATION=f"Bearer {other_secret}")
    assert other.get(base).status_code == 404
    assert other.post(base, {"file": SimpleUploadedFile("r.png", PNG)}).status_code == 404


def test_attachable_rules(people):
    expense = people["expense"]
    assert attachment_services.may_change(people["rep"], expense)
    assert not attachment_services.may_change(people["stranger"], expense)
    with pytest.raises(Http404):
        attachment_services.attachable("customers.account")
    assert attachment_services.clean_name("../../etc/pass\x00wd.png") == "passwd.png"
