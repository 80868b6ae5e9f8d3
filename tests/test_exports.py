"""List exports: CSV (UTF-8 with BOM), Excel and vCard, with the list's filters, columns and permissions."""

import csv
import datetime
import io
import re

import openpyxl
import pytest
import vobject
from django.contrib.messages import get_messages
from django.db import connection
from django.http import FileResponse, StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guanxi.access.models import RestrictedField
from guanxi.audit.models import AuditAction, AuditEntry
from guanxi.customers import services
from guanxi.customers.models import Account
from guanxi.customization.models import CustomFieldDefinition, SavedView, Tag
from guanxi.exports import writers
from guanxi.identity.services import api_token_create
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member

ACCOUNT_EXPORT = reverse("customers:account_export")
CONTACT_EXPORT = reverse("customers:contact_export")


@pytest.fixture(autouse=True)
def export_files(settings, tmp_path):
    settings.EXPORT_FILES_ROOT = tmp_path / "exports"


def body(response) -> bytes:
    if isinstance(response, (StreamingHttpResponse, FileResponse)):
        return b"".join(response.streaming_content)
    return response.content


def xlsx(client, url, params, **extra) -> bytes:
    """Excel exports are prepared in the background (the test task backend runs them at once): the file."""
    response = client.get(url, params, **extra)
    if url.startswith("/api/"):
        assert response.status_code == 202, response.content
        download = response.json()["download_url"]
    else:
        assert response.status_code == 302
        (message,) = [str(m) for m in get_messages(response.wsgi_request)]
        download = reverse("exports:download", args=[re.search(r"/exports/(\d+)/", message).group(1)])
    response = client.get(download, **extra)
    assert response.status_code == 200 and isinstance(response, FileResponse)
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return body(response)


def read_csv(response) -> list[list[str]]:
    raw = body(response)
    assert raw.startswith("\ufeff".encode())  # the BOM: Excel reads the file as UTF-8
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


@pytest.fixture
def data(tenant):
    admin = tenant.admin
    with tenant_context(tenant, actor=admin):
        CustomFieldDefinition.objects.create(
            entity="customers.account",
            key="tier",
            label_en="Tier",
            label_zh="等级",
            field_type="choice",
            choices=[{"value": "gold", "label_en": "Gold", "label_zh": "金牌"}],
        )
        CustomFieldDefinition.objects.create(
            entity="customers.account", key="seats", label_en="Seats", field_type="integer"
        )
        vip, key = Tag.objects.create(name="VIP"), Tag.objects.create(name="重点客户")
        huawei = services.account_create(
            actor=admin,
            data={
                "name": "北京华为技术有限公司",
                "industry": "it",
                "phone": "010 8888 6666",
                "annual_revenue": "1250000.50",
                "city": "北京",
                "custom": {"tier": "gold", "seats": 120},
            },
            tags=[vip, key],
        )
        shop = services.account_create(
            actor=admin, data={"name": "Acme Retail GmbH", "industry": "retail", "city": "Berlin"}
        )
        wang = services.contact_create(
            actor=admin,
            data={
                "family_name": "王",
                "given_name": "伟",
                "salutation": "mr",
                "title": "采购经理",
                "department": "采购部",
                "account": huawei,
                "emails": [("wang.wei@huawei.example", "work"), ("ww@home.example", "home")],
                "phones": [("138 0013 8000", "mobile"), ("010 6666 8888", "work")],
                "birthday": datetime.date(1985, 3, 14),
                "city": "北京",
                "street": "长安街1号",
                "postal_code": "100000",
                "country": "中国",
                "description": "喜欢喝茶; likes tea, green",
            },
            tags=[vip],
        )
    return {"huawei": huawei, "shop": shop, "wang": wang, "vip": vip}


def test_csv_export_streams_what_the_list_shows_with_chinese_text(admin_client, data):
    cols = "name,industry,phone,annual_revenue,tags,custom.tier,custom.seats,created_at"
    response = admin_client.get(ACCOUNT_EXPORT, {"format": "csv", "cols": cols})
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == ["Name", "Industry", "Phone", "Annual revenue", "Tags", "Tier", "Seats", "Created"]
    assert len(rows) == 3  # header + both accounts, in the list's order (by name)
    by_name = {r[0]: r for r in rows[1:]}
    huawei = by_name["北京华为技术有限公司"]
    assert huawei[1] == "Information technology"  # choice label, not the stored value
    assert huawei[2] == "+861088886666"  # E.164
    assert huawei[3] == "1250000.50"  # a plain number
    assert sorted(huawei[4].split(";")) == sorted(["VIP", "重点客户"])
    assert huawei[5] == "Gold" and huawei[6] == "120"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", huawei[7])
    assert by_name["Acme Retail GmbH"][3] == ""


def test_labels_follow_the_users_language(client, tenant, data):
    client.force_login(tenant.admin)
    response = client.get(ACCOUNT_EXPORT, {"format": "csv", "cols": "name,custom.tier"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    rows = read_csv(response)
    assert rows[0][1] == "等级"
    assert ["北京华为技术有限公司", "金牌"] in rows


def test_export_respects_filters_search_and_saved_views(admin_client, tenant, data):
    rows = read_csv(admin_client.get(ACCOUNT_EXPORT, {"format": "csv", "industry": "retail", "cols": "name"}))
    assert [r[0] for r in rows[1:]] == ["Acme Retail GmbH"]
    rows = read_csv(admin_client.get(ACCOUNT_EXPORT, {"format": "csv", "q": "华为", "cols": "name"}))
    assert [r[0] for r in rows[1:]] == ["北京华为技术有限公司"]
    rows = read_csv(admin_client.get(ACCOUNT_EXPORT, {"format": "csv", "tag": data["vip"].pk, "cols": "name"}))
    assert [r[0] for r in rows[1:]] == ["北京华为技术有限公司"]
    rows = read_csv(admin_client.get(ACCOUNT_EXPORT, {"format": "csv", "cf_tier": "gold", "cols": "name"}))
    assert [r[0] for r in rows[1:]] == ["北京华为技术有限公司"]
    rows = read_csv(admin_client.get(ACCOUNT_EXPORT, {"format": "csv", "sort": "-name", "cols": "name"}))
    assert [r[0] for r in rows[1:]] == sorted([r[0] for r in rows[1:]], reverse=True)
    with tenant_context(tenant):
        view = SavedView.objects.create(
            entity="customers.account",
            name="Retail",
            owner=tenant.admin,
            query="industry=retail",
            columns=["name", "city"],
        )
    rows = read_csv(admin_client.get(ACCOUNT_EXPORT, {"format": "csv", "view": view.pk}))
    assert rows == [["Name", "City"], ["Acme Retail GmbH", "Berlin"]]


def test_default_columns_and_no_format_goes_back_to_the_list(admin_client, data):
    rows = read_csv(admin_client.get(ACCOUNT_EXPORT, {"format": "csv"}))
    assert rows[0] == ["Name", "Stage", "Industry", "City", "Phone", "Owner", "Updated"]
    response = admin_client.get(ACCOUNT_EXPORT, {"industry": "it"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("customers:account_list"))
    assert admin_client.get(ACCOUNT_EXPORT, {"format": "pdf"}).status_code == 404
    assert admin_client.get(ACCOUNT_EXPORT, {"format": "vcf"}).status_code == 404  # vCards are for people


def test_xlsx_export_reads_back_with_numbers_and_dates(admin_client, data):
    raw = xlsx(
        admin_client, ACCOUNT_EXPORT, {"format": "xlsx", "cols": "name,annual_revenue,custom.seats,tags,created_at"}
    )
    workbook = openpyxl.load_workbook(io.BytesIO(raw))
    sheet = workbook.active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Name", "Annual revenue", "Seats", "Tags", "Created")
    huawei = next(r for r in rows if r[0] == "北京华为技术有限公司")
    assert huawei[1] == pytest.approx(1250000.50) and huawei[2] == 120
    assert sorted(huawei[3].split(";")) == ["VIP", "重点客户"]
    assert isinstance(huawei[4], datetime.datetime)


def test_spreadsheet_formulas_are_never_exported_as_formulas(admin_client, tenant):
    with tenant_context(tenant, actor=tenant.admin):
        services.account_create(actor=tenant.admin, data={"name": '=HYPERLINK("http://evil.example","x")'})
    rows = read_csv(admin_client.get(ACCOUNT_EXPORT, {"format": "csv", "cols": "name,phone"}))
    assert rows[1][0].startswith("'=")
    cell = openpyxl.load_workbook(
        io.BytesIO(xlsx(admin_client, ACCOUNT_EXPORT, {"format": "xlsx", "cols": "name"}))
    ).active["A2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_vcard_export_of_contacts(admin_client, data):
    response = admin_client.get(CONTACT_EXPORT, {"format": "vcf"})
    assert response.status_code == 200 and isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/vcard")
    cards = list(vobject.readComponents(body(response).decode()))
    assert len(cards) == 1
    card = cards[0]
    assert card.version.value == "3.0"
    assert card.fn.value == "王伟"
    assert (card.n.value.family, card.n.value.given) == ("王", "伟")
    assert card.org.value == ["北京华为技术有限公司", "采购部"]
    assert card.title.value == "采购经理"
    emails = {e.value: e.params.get("TYPE") for e in card.contents["email"]}
    assert set(emails) == {"wang.wei@huawei.example", "ww@home.example"}
    assert "PREF" in emails["wang.wei@huawei.example"]
    phones = {t.value for t in card.contents["tel"]}
    assert phones == {"+8613800138000", "+861066668888"}
    assert card.adr.value.street == "长安街1号" and card.adr.value.city == "北京" and card.adr.value.code == "100000"
    assert card.bday.value == "1985-03-14"
    assert card.note.value == "喜欢喝茶; likes tea, green"
    assert card.categories.value == ["VIP"]


def test_restricted_fields_are_never_exported(client, tenant, data):
    rep = make_member(tenant, roles=("Marketer",))  # may export every account and contact
    with tenant_context(tenant):
        RestrictedField.objects.create(module="customers.account", field_name="annual_revenue")
        RestrictedField.objects.create(module="customers.account", field_name="custom.tier")
        RestrictedField.objects.create(module="customers.contact", field_name="birthday")
        RestrictedField.objects.create(module="customers.contact", field_name="email")
    client.force_login(rep)
    rows = read_csv(client.get(ACCOUNT_EXPORT, {"format": "csv", "cols": "name,annual_revenue,custom.tier,phone"}))
    assert rows[0] == ["Name", "Phone"]
    assert "1250000.50" not in str(rows) and "Gold" not in str(rows)
    workbook = openpyxl.load_workbook(
        io.BytesIO(xlsx(client, ACCOUNT_EXPORT, {"format": "xlsx", "cols": "name,annual_revenue"}))
    )
    assert [c.value for c in workbook.active[1]] == ["Name"]
    card = next(vobject.readComponents(body(client.get(CONTACT_EXPORT, {"format": "vcf"})).decode()))
    assert "bday" not in card.contents and "email" not in card.contents
    assert card.fn.value == "王伟" and "tel" in card.contents


def test_export_needs_an_export_grant(client, tenant, data):
    agent = make_member(tenant, roles=("Service agent",))  # sees every account, may not export
    client.force_login(agent)
    assert client.get(reverse("customers:account_list")).status_code == 200
    assert 'data-testid="export-button"' not in client.get(reverse("customers:account_list")).content.decode()
    assert client.get(ACCOUNT_EXPORT, {"format": "csv"}).status_code == 403
    assert client.get(CONTACT_EXPORT, {"format": "vcf"}).status_code == 403
    with tenant_context(tenant):
        assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_export_button_offers_the_entitys_formats(admin_client, data):
    page = admin_client.get(reverse("customers:contact_list")).content.decode()
    assert 'data-testid="export-button"' in page
    assert f"{CONTACT_EXPORT}?format=vcf" in page and f"{CONTACT_EXPORT}?format=xlsx" in page
    page = admin_client.get(reverse("customers:account_list")).content.decode()
    assert f"{ACCOUNT_EXPORT}?format=csv" in page and "format=vcf" not in page


def test_export_is_limited_to_records_the_user_may_export(client, tenant, data):
    rep = make_member(tenant, roles=("Sales representative",))  # views the team's records, exports own ones
    with tenant_context(tenant, actor=rep):
        services.account_create(actor=rep, data={"name": "Rep's own account"})
    client.force_login(rep)
    rows = read_csv(client.get(ACCOUNT_EXPORT, {"format": "csv", "cols": "name"}))
    assert [r[0] for r in rows[1:]] == ["Rep's own account"]


def test_another_tenants_data_never_appears(admin_client, tenant, other_tenant, data):
    with tenant_context(other_tenant, actor=other_tenant.admin):
        services.account_create(actor=other_tenant.admin, data={"name": "Globex secret 上海"})
        services.contact_create(actor=other_tenant.admin, data={"family_name": "Secret", "email": "s@globex.example"})
    for url, fmt in (
        (ACCOUNT_EXPORT, "csv"),
        (ACCOUNT_EXPORT, "xlsx"),
        (CONTACT_EXPORT, "csv"),
        (CONTACT_EXPORT, "vcf"),
    ):
        if fmt == "xlsx":
            raw = xlsx(admin_client, url, {"format": fmt})
            values = [
                v for row in openpyxl.load_workbook(io.BytesIO(raw)).active.iter_rows(values_only=True) for v in row
            ]
            raw = " ".join(str(v) for v in values).encode()
        else:
            raw = body(admin_client.get(url, {"format": fmt}))
        assert b"Globex" not in raw and b"Secret" not in raw and "上海".encode() not in raw


def test_every_export_is_audited(admin_client, tenant, data):
    read_csv(admin_client.get(ACCOUNT_EXPORT, {"format": "csv", "industry": "it", "cols": "name,phone"}))
    body(admin_client.get(CONTACT_EXPORT, {"format": "vcf"}))
    xlsx(admin_client, ACCOUNT_EXPORT, {"format": "xlsx"})
    with tenant_context(tenant):
        entries = list(AuditEntry.objects.filter(action=AuditAction.EXPORT).order_by("id"))
    assert len(entries) == 3
    csv_entry, vcf_entry, xlsx_entry = entries
    assert csv_entry.actor == tenant.admin and csv_entry.content_type.model == "account"
    assert csv_entry.changes["format"] == [None, "csv"]
    assert csv_entry.changes["rows"] == [None, 1]
    assert csv_entry.changes["filters"] == [None, "industry=it"]
    assert csv_entry.changes["columns"] == [None, "name,phone"]
    assert vcf_entry.content_type.model == "contact" and vcf_entry.changes["rows"] == [None, 1]
    assert xlsx_entry.changes["format"] == [None, "xlsx"] and xlsx_entry.changes["rows"] == [None, 2]


def test_streaming_reads_in_batches_and_queries_do_not_grow_with_rows(admin_client, tenant, monkeypatch):
    with tenant_context(tenant, actor=tenant.admin):
        tag = Tag.objects.create(name="T")
        for i in range(25):
            services.account_create(actor=tenant.admin, data={"name": f"客户 {i:03d}"}, tags=[tag])

    def count(params):
        response = admin_client.get(ACCOUNT_EXPORT, {"format": "csv", "cols": "name,owner,region,tags", **params})
        assert isinstance(response, StreamingHttpResponse)
        with CaptureQueriesContext(connection) as queries:
            rows = read_csv(response)
        return len(rows) - 1, len(queries.captured_queries)

    n_all, q_one_batch = count({})
    n_few, q_few = count({"q": "客户 00"})  # 10 rows
    assert (n_all, n_few) == (25, 10)
    assert q_one_batch == q_few  # one batch either way: the query count does not depend on the row count
    monkeypatch.setattr(writers, "BATCH_SIZE", 10)
    n_batched, q_batched = count({})
    assert n_batched == 25
    # three batches of ≤10 rows: two more batches, each one page query and one tag prefetch
    assert q_batched == q_one_batch + 2 * 2


def test_a_million_rows_would_not_be_held_in_memory(admin_client, tenant, monkeypatch):
    """The CSV is produced batch by batch while the client reads it."""
    with tenant_context(tenant, actor=tenant.admin):
        for i in range(7):
            services.account_create(actor=tenant.admin, data={"name": f"Firm {i}"})
    monkeypatch.setattr(writers, "BATCH_SIZE", 3)
    response = admin_client.get(ACCOUNT_EXPORT, {"format": "csv", "cols": "name"})
    chunks = list(response.streaming_content)
    assert len(chunks) == 1 + 3  # header, then one chunk per batch of 3
    assert all(chunk.count(b"\n") <= 3 for chunk in chunks[1:])


# --- API ------------------------------------------------------------------------------------


def bearer(tenant, user, scope="read"):
    with tenant_context(tenant, actor=user):
        return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(user=user, name='t', scope=scope)[1]}"}


def test_api_export_streams_with_filters_and_columns(client, tenant, data):
    auth = bearer(tenant, tenant.admin)
    response = client.get(
        "/api/v1/exports/accounts", {"format": "csv", "columns": "name,phone", "industry": "it"}, **auth
    )
    assert response.status_code == 200 and isinstance(response, StreamingHttpResponse)
    assert read_csv(response) == [["Name", "Phone"], ["北京华为技术有限公司", "+861088886666"]]
    response = client.get("/api/v1/exports/contacts", {"format": "vcf"}, **auth)
    assert next(vobject.readComponents(body(response).decode())).fn.value == "王伟"
    raw = xlsx(client, "/api/v1/exports/accounts", {"format": "xlsx", "columns": "name"}, **auth)
    assert openpyxl.load_workbook(io.BytesIO(raw)).active["A1"].value == "Name"
    with tenant_context(tenant):
        entry = AuditEntry.objects.filter(action=AuditAction.EXPORT).order_by("id").first()
    assert entry.via == "api" and entry.changes["filters"] == [None, "industry=it"]


def test_api_export_errors(client, tenant, data):
    auth = bearer(tenant, tenant.admin)
    r = client.get("/api/v1/exports/accounts", {"format": "vcf"}, **auth)
    assert r.status_code == 422 and "format" in r.json()["errors"]
    r = client.get("/api/v1/exports/accounts", {"columns": "name,nope"}, **auth)
    assert r.status_code == 422 and "columns" in r.json()["errors"]
    r = client.get("/api/v1/exports/accounts", {"created_after": "not a date"}, **auth)
    assert r.status_code == 422
    agent = make_member(tenant, roles=("Service agent",))
    assert client.get("/api/v1/exports/accounts", **bearer(tenant, agent)).status_code == 403
    with tenant_context(tenant):
        RestrictedField.objects.create(module="customers.account", field_name="phone")
    marketer = make_member(tenant, roles=("Marketer",))
    r = client.get("/api/v1/exports/accounts", {"columns": "name,phone"}, **bearer(tenant, marketer))
    assert r.status_code == 422  # a hidden field is no column for this caller


def test_api_export_stays_in_the_tokens_tenant(client, tenant, other_tenant, data):
    with tenant_context(other_tenant, actor=other_tenant.admin):
        services.account_create(actor=other_tenant.admin, data={"name": "Globex secret"})
    rows = read_csv(
        client.get("/api/v1/exports/accounts", {"columns": "name"}, **bearer(other_tenant, other_tenant.admin))
    )
    assert rows == [["Name"], ["Globex secret"]]
    with tenant_context(tenant):
        assert Account.objects.count() == 2


def test_excel_stops_at_its_row_limit(admin_client, tenant, data, monkeypatch):
    monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 1)
    raw = xlsx(admin_client, ACCOUNT_EXPORT, {"format": "xlsx", "cols": "name"})
    assert len(list(openpyxl.load_workbook(io.BytesIO(raw)).active.iter_rows())) == 2
    with tenant_context(tenant):
        entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.changes["rows"] == [None, 1] and entry.note


def test_every_entity_list_exports_the_same_way(admin_client, client, tenant, data):
    from guanxi.activities.models import Activity

    with tenant_context(tenant, actor=tenant.admin):
        Activity.objects.create(subject="电话回访", owner=tenant.admin, account=data["huawei"], kind="call")
    rows = read_csv(
        admin_client.get(reverse("activities:activity_export"), {"format": "csv", "cols": "subject,kind,account"})
    )
    assert rows == [["Subject", "Type", "Account"], ["电话回访", "Call", "北京华为技术有限公司"]]
    rows = read_csv(client.get("/api/v1/exports/activities", {"columns": "subject"}, **bearer(tenant, tenant.admin)))
    assert rows == [["Subject"], ["电话回访"]]
