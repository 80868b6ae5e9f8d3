"""The generic streaming import: formats, mapping, dry run, de-duplication, errors, resume, undo, permissions."""

from __future__ import annotations

import csv
import datetime
import io
import json
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.audit.models import AuditEntry
from guanxi.customers import services as customer_services
from guanxi.customers.models import Account, AccountContact, Contact, ContactPoint, ContactTag, LifecycleChange
from guanxi.customization.models import CustomFieldDefinition
from guanxi.imports import engine, readers, services, specs, tasks
from guanxi.imports.models import ImportJob, ImportRow
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member

DATA = Path(__file__).parent / "data" / "imports"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(name: str, content: bytes | None = None) -> SimpleUploadedFile:
    if content is None:
        content = (DATA / name).read_bytes()
    return SimpleUploadedFile(name, content)


def csv_bytes(rows: list[list], *, delimiter=",", encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def run_import(tenant, actor, entity, file, *, mapping=None, options=None, preview=True, start=True) -> ImportJob:
    with tenant_context(tenant, actor=actor):
        job = services.job_create(actor=actor, entity=entity, upload=file)
        job = services.job_map(actor=actor, job=job, mapping=mapping or job.mapping, options=options or {})
        if preview:
            job = services.job_preview(actor=actor, job=job)
            assert job.status == ImportJob.Status.PREVIEWED, job.preview
        if start:
            job = services.job_start(actor=actor, job=job)
        job.refresh_from_db()
        return job


def targets_by_header(job) -> dict[str, str]:
    return {job.header[int(i)]: key for i, key in job.mapping.items()}


# --- formats and mapping guesses ----------------------------------------------------------------


def test_gbk_csv_with_chinese_headers(tenant):
    admin = tenant.admin
    job = run_import(tenant, admin, "customers.contact", upload("contacts_gbk.csv"))
    assert job.encoding == "gb18030" and job.delimiter == ","
    assert targets_by_header(job) == {
        "姓名": "full_name",
        "公司名称": "account",
        "手机号": "mobile",
        "邮箱": "email",
        "职位": "title",
        "生日": "birthday",
        "标签": "tags",
        "备注": "description",
    }
    assert job.status == ImportJob.Status.DONE
    assert (job.created, job.failed, job.skipped) == (3, 2, 0)
    with tenant_context(tenant, actor=admin):
        wang = Contact.objects.get(email="wang.wei@xingchen.cn")
        assert (wang.family_name, wang.given_name, wang.full_name) == ("王", "伟", "王伟")
        assert wang.phone == "+8613800138000" and wang.birthday == datetime.date(1985, 3, 5)
        assert wang.account.name == "北京星辰科技有限公司"
        assert sorted(ContactTag.objects.filter(contact=wang).values_list("tag__name", flat=True)) == ["VIP", "重点"]
        assert AccountContact.objects.filter(contact=wang, account=wang.account).exists()
        assert set(ContactPoint.objects.filter(contact=wang).values_list("kind", "value", "is_primary")) == {
            ("email", "wang.wei@xingchen.cn", True),
            ("phone", "+8613800138000", True),
        }
        ouyang = Contact.objects.get(email="nana@yunfan.com.cn")
        assert (ouyang.family_name, ouyang.given_name) == ("欧阳", "娜娜")
        assert ouyang.birthday == datetime.date(1990, 7, 12)
        # The two contacts of 北京星辰 share one new account; 刘洋 has none.
        assert Account.objects.filter(name="北京星辰科技有限公司").count() == 1
        assert Contact.objects.get(email="liuyang@example.cn").account is None
        assert LifecycleChange.objects.filter(account__name="上海云帆贸易有限公司").count() == 1
        failed = dict(ImportRow.objects.filter(job=job, action="failed").values_list("row_number", "error"))
    assert set(failed) == {4, 5}
    assert "生日" in failed[4]
    assert "手机号" in failed[5] and "邮箱" in failed[5]


def test_utf8_bom_semicolon_accounts_with_choice_labels(tenant):
    admin = tenant.admin
    job = run_import(tenant, admin, "customers.account", upload("accounts_utf8bom_semicolon.csv"))
    assert (job.encoding, job.delimiter) == ("utf-8-sig", ";")
    assert targets_by_header(job) == {
        "Company": "name",
        "Industry": "industry",
        "Phone": "phone",
        "E-mail": "email",
        "Website": "website",
        "Annual revenue": "annual_revenue",
        "Stage": "lifecycle_stage",
        "Rating": "rating",
    }
    assert (job.created, job.failed) == (3, 1)
    with tenant_context(tenant, actor=admin):
        muller = Account.objects.get(name="Müller Maschinenbau GmbH")
        assert muller.industry == "manufacturing" and muller.lifecycle_stage == "customer"
        assert str(muller.annual_revenue) == "1200000.00" and muller.website == "https://mueller-mb.de"
        assert muller.phone == "+49891234567"
        shenzhen = Account.objects.get(name="深圳创新电子有限公司")
        assert (shenzhen.industry, shenzhen.lifecycle_stage, shenzhen.rating) == ("manufacturing", "prospect", "B")
        assert str(shenzhen.annual_revenue) == "12000000.00" and shenzhen.phone == "+8675588886666"
        assert ContactPoint.objects.filter(account=shenzhen, kind="email", value="sales@cx-dz.cn").exists()
        assert LifecycleChange.objects.filter(account=shenzhen, to_stage="prospect").count() == 1
        error = ImportRow.objects.get(job=job, action="failed").error
    for column in ("Industry", "E-mail", "Annual revenue", "Rating"):
        assert column in error


def test_utf16_tab_separated(tenant):
    job = run_import(tenant, tenant.admin, "customers.contact", upload("contacts_utf16.txt"))
    assert (job.encoding, job.delimiter) == ("utf-16", "\t")
    assert job.created == 2 and job.failed == 0
    with tenant_context(tenant, actor=tenant.admin):
        smith = Contact.objects.get(family_name="Smith")
        assert smith.full_name == "John Smith" and smith.phone == "+16502530000" and smith.title == "CTO"
        assert Contact.objects.get(family_name="陈").full_name == "陈静"


def test_xlsx_with_excel_serial_date_streamed(tenant, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Last name", "First name", "Company", "E-mail", "Birthday", "Mobile", "Agrees to email"])
    ws.append(["Müller", "Hans", "Beispiel AG", "hans@beispiel.example", 32937, 8613800138001, "是"])
    ws.append(
        ["Li", "Lei", "Beispiel AG", "lilei@beispiel.example", datetime.datetime(1992, 5, 4), "13800138002", "no"]
    )
    ws.append([None, None, None, None, None, None, None])  # Excel leaves blank rows behind
    ws.append(["Wrong", "Date", "", "wrong@example.com", "not a date", "", ""])
    path = tmp_path / "contacts.xlsx"
    wb.save(path)
    job = run_import(tenant, tenant.admin, "customers.contact", upload("contacts.xlsx", path.read_bytes()))
    assert job.format == "xlsx"
    assert (job.created, job.failed) == (2, 1)
    with tenant_context(tenant, actor=tenant.admin):
        hans = Contact.objects.get(email="hans@beispiel.example")
        assert hans.birthday == datetime.date(1990, 3, 5)  # Excel serial 32937
        assert hans.phone == "+8613800138001" and hans.consent_email is True and hans.consent_updated_at
        lei = Contact.objects.get(email="lilei@beispiel.example")
        assert lei.birthday == datetime.date(1992, 5, 4) and lei.consent_email is False
        assert hans.account_id == lei.account_id
        assert ImportRow.objects.get(job=job, action="failed").row_number == 5
    # The error file of an XLSX import is an XLSX with the row and its reason.
    from django.core.files.storage import default_storage
    from openpyxl import load_workbook

    wb = load_workbook(default_storage.open(job.error_file, "rb"), read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0][-2:] == ("Row", "Error")
    assert rows[1][0] == "Wrong" and rows[1][-2] == 5 and "Birthday" in rows[1][-1]


@pytest.mark.parametrize("name", ["contacts_v3.vcf", "contacts_v4.vcf"])
def test_vcard(tenant, name):
    job = run_import(tenant, tenant.admin, "customers.contact", upload(name))
    assert job.format == "vcard" and job.failed == 0 and job.created == 2
    with tenant_context(tenant, actor=tenant.admin):
        if name == "contacts_v3.vcf":
            jay = Contact.objects.get(full_name="周杰")
            assert jay.phone == "+886912345678" and jay.email == "jay@music.example"
            assert jay.title == "制作人" and jay.department == "制作部" and jay.birthday == datetime.date(1979, 1, 18)
            assert jay.city == "台北" and jay.description == "第一次见面在展会, 聊得很好"
            assert set(ContactPoint.objects.filter(contact=jay).values_list("value", "label")) == {
                ("jay@music.example", "work"),
                ("jay.home@example.com", "other"),
                ("+886912345678", "mobile"),
                ("+886223456789", "work"),
            }
            assert jay.account.name == "台北音乐工作室"
            jane = Contact.objects.get(family_name="Doe")
            assert jane.description == "A long note that is folded over two lines."
        else:
            anna = Contact.objects.get(family_name="Schmidt")
            assert anna.phone == "+491701234567" and anna.birthday == datetime.date(1988, 4, 12)
            assert ContactPoint.objects.filter(contact=anna, value="+49301234567").exists()
            assert Contact.objects.get(full_name="孙丽").phone == "+8618612345678"


def test_mapping_guesses_custom_fields_by_key_and_labels(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        CustomFieldDefinition.objects.create(
            entity="customers.contact",
            key="vip_level",
            label_en="VIP level",
            label_zh="会员等级",
            field_type="choice",
            choices=[{"value": "gold", "label_en": "Gold", "label_zh": "金卡"}],
        )
        CustomFieldDefinition.objects.create(
            entity="customers.contact", key="wechat", label_en="WeChat ID", label_zh="微信号", field_type="text"
        )
        spec = specs.get("customers.contact")
        header = ["Name", "会员等级", "wechat", "E-Mail Address", "Mobile Phone", "公司", "Unknown"]
        guess = specs.guess_mapping(header, spec.targets())
    assert guess == {
        "0": "full_name",
        "1": "custom.vip_level",
        "2": "custom.wechat",
        "3": "email",
        "4": "mobile",
        "5": "account",
    }


def test_custom_field_values_and_choice_labels(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        CustomFieldDefinition.objects.create(
            entity="customers.contact",
            key="vip_level",
            label_en="VIP level",
            label_zh="会员等级",
            field_type="choice",
            choices=[{"value": "gold", "label_en": "Gold", "label_zh": "金卡"}],
        )
        CustomFieldDefinition.objects.create(
            entity="customers.contact", key="since", label_en="Customer since", field_type="date"
        )
    content = csv_bytes([["姓名", "会员等级", "Customer since"], ["赵六", "金卡", "2020.1.2"], ["钱七", "银卡", ""]])
    job = run_import(tenant, tenant.admin, "customers.contact", upload("c.csv", content))
    assert (job.created, job.failed) == (1, 1)
    with tenant_context(tenant, actor=tenant.admin):
        assert Contact.objects.get(full_name="赵六").custom == {"vip_level": "gold", "since": "2020-01-02"}
        assert "会员等级" in ImportRow.objects.get(job=job, action="failed").error


# --- dry run, de-duplication, errors ----------------------------------------------------------------


def _counts(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        return (
            Contact.objects.count(),
            Account.objects.count(),
            ContactPoint.objects.count(),
            AuditEntry.objects.filter(action="import", content_type__model__in=["contact", "account"]).count(),
        )


def test_dry_run_writes_nothing_and_reports_every_row(tenant):
    before = _counts(tenant)
    job = run_import(tenant, tenant.admin, "customers.contact", upload("contacts_gbk.csv"), start=False)
    assert _counts(tenant) == before
    preview = job.preview
    assert preview["done"] and preview["processed"] == 5
    assert preview["counts"] == {"created": 3, "updated": 0, "skipped": 0, "failed": 2}
    rows = {r["number"]: r for r in preview["rows"]}
    assert rows[4]["action"] == "failed" and "5" in rows[4]["problems"]  # the 生日 column
    assert set(rows[5]["problems"]) == {"2", "3"}  # 手机号 and 邮箱
    assert any("北京星辰" in w for w in rows[2]["warnings"])
    assert preview["errors_by_column"] == {"生日": 1, "手机号": 1, "邮箱": 1}
    with tenant_context(tenant, actor=tenant.admin):
        assert not ImportRow.objects.filter(job=job).exists()


def _people(rows):
    return csv_bytes([["Name", "Company", "Email", "Mobile", "Title"], *rows])


@pytest.fixture
def existing(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        account = customer_services.account_create(actor=tenant.admin, data={"name": "Acme Ltd"})
        contact = customer_services.contact_create(
            actor=tenant.admin,
            data={"family_name": "Smith", "given_name": "John", "email": "john@acme.example", "account": account},
        )
    return contact


FILE_ROWS = [
    ["John Smith", "ACME ltd ", "JOHN@acme.example", "", "CEO"],  # matches the existing contact by email
    ["Mary Major", "Acme Ltd", "mary@acme.example", "13800138000", "CFO"],
    ["Mary Major", "Acme Ltd", "", "138 0013 8000", "Chief financial officer"],  # duplicate of row 3 in the file
    ["Bob Bell", "Newco", "bob@newco.example", "", "Dev"],
]


def test_dedupe_skip(tenant, existing):
    job = run_import(tenant, tenant.admin, "customers.contact", upload("p.csv", _people(FILE_ROWS)))
    assert (job.created, job.updated, job.skipped, job.failed) == (2, 0, 2, 0)
    with tenant_context(tenant, actor=tenant.admin):
        existing.refresh_from_db()
        assert existing.title == ""
        assert Contact.objects.filter(full_name="Mary Major").count() == 1
        reasons = dict(ImportRow.objects.filter(job=job, action="skipped").values_list("row_number", "error"))
        assert "John Smith" in reasons[2] and "row 3" in reasons[4]
        assert Account.objects.filter(name__iexact="acme ltd").count() == 1  # the company matched case-insensitively


def test_dedupe_update_including_duplicates_inside_the_file(tenant, existing):
    job = run_import(
        tenant, tenant.admin, "customers.contact", upload("p.csv", _people(FILE_ROWS)), options={"policy": "update"}
    )
    assert (job.created, job.updated, job.skipped, job.failed) == (2, 2, 0, 0)
    with tenant_context(tenant, actor=tenant.admin):
        existing.refresh_from_db()
        assert existing.title == "CEO"
        mary = Contact.objects.get(full_name="Mary Major")
        assert mary.title == "Chief financial officer"  # the later row updated the record of the earlier one
        assert mary.phone == "+8613800138000" and mary.email == "mary@acme.example"
        assert ContactPoint.objects.filter(contact=mary).count() == 2
        entry = AuditEntry.objects.filter(action="import", object_id=existing.pk, content_type__model="contact").latest(
            "at"
        )
        assert entry.changes["title"] == ["", "CEO"] and f"#{job.pk}" in entry.note


def test_dedupe_create_anyway(tenant, existing):
    job = run_import(
        tenant, tenant.admin, "customers.contact", upload("p.csv", _people(FILE_ROWS)), options={"policy": "create"}
    )
    assert (job.created, job.updated, job.skipped) == (4, 0, 0)
    with tenant_context(tenant, actor=tenant.admin):
        assert Contact.objects.filter(full_name="John Smith").count() == 2
        assert Contact.objects.filter(full_name="Mary Major").count() == 2


def test_dedupe_rules_can_be_chosen(tenant, existing):
    rows = [["John Smith", "Acme Ltd", "other@acme.example", "", "CEO"]]
    job = run_import(
        tenant, tenant.admin, "customers.contact", upload("p.csv", _people(rows)), options={"rules": ["email"]}
    )
    assert (job.created, job.skipped) == (1, 0)
    job = run_import(
        tenant, tenant.admin, "customers.contact", upload("p.csv", _people(rows)), options={"rules": ["name_account"]}
    )
    assert (job.created, job.skipped) == (0, 1)


def test_account_dedupe_by_name_phone_email(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        customer_services.account_create(actor=tenant.admin, data={"name": "Globex", "phone": "010 8888 9999"})
    content = csv_bytes(
        [
            ["公司名称", "电话", "邮箱", "行业"],
            ["  GLOBEX ", "", "", "金融"],
            ["Globex Beijing", "+86 10 8888 9999", "", "金融"],
            ["Initech", "", "hello@initech.example", "软件"],
            ["Initech (HQ)", "", "HELLO@initech.example", "软件"],
        ]
    )
    job = run_import(tenant, tenant.admin, "customers.account", upload("a.csv", content), options={"policy": "update"})
    assert (job.created, job.updated) == (1, 3)
    with tenant_context(tenant, actor=tenant.admin):
        globex = Account.objects.get(phone="+861088889999")
        assert globex.industry == "finance" and globex.name == "Globex Beijing"  # the row matched by phone renamed it
        initech = Account.objects.get(email="hello@initech.example")  # created by row 4, updated by row 5
        assert initech.industry == "it" and initech.name == "Initech (HQ)"
        assert Account.objects.count() == 2


def test_error_file_has_original_row_and_reason(tenant, client):
    job = run_import(tenant, tenant.admin, "customers.contact", upload("contacts_gbk.csv"))
    client.force_login(tenant.admin)
    response = client.get(f"/imports/{job.pk}/errors/")
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel opens it right
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0] == ["姓名", "公司名称", "手机号", "邮箱", "职位", "生日", "标签", "备注", "Row", "Error"]
    assert rows[1][:8] == [
        "李娜",
        "北京星辰科技有限公司",
        "+86 137 0013 7000",
        "lina@xingchen.cn",
        "工程师",
        "2024-02-30",
        "",
        "生日写错了",
    ]
    assert rows[1][8] == "4" and "生日" in rows[1][9]
    assert rows[2][0] == "张敏" and "“123” is not a phone number." in rows[2][9]
    assert len(rows) == 3


def test_bad_rows_never_stop_good_rows_across_chunks(tenant, monkeypatch):
    monkeypatch.setattr(engine, "CHUNK_SIZE", 7)
    rows = [["Name", "Email"]]
    for i in range(40):
        rows.append([f"Person {i}", f"p{i}@example.com" if i % 5 else "broken@"])
    job = run_import(tenant, tenant.admin, "customers.contact", upload("many.csv", csv_bytes(rows)))
    assert (job.processed, job.created, job.failed, job.total_rows) == (40, 32, 8, 40)
    with tenant_context(tenant, actor=tenant.admin):
        assert Contact.objects.count() == 32
        assert AuditEntry.objects.filter(action="import", note=f"Import #{job.pk}").count() == 32
        assert ImportRow.objects.filter(job=job).count() == 40


# --- resume, stale jobs, undo -----------------------------------------------------------------------


def _big_file(n=50):
    rows = [["姓名", "公司", "手机"]]
    rows += [[f"客户{i}", f"公司{i % 7}", f"1380000{i:04d}"] for i in range(n)]
    return csv_bytes(rows)


def test_resume_after_a_crash_mid_import(tenant, monkeypatch):
    monkeypatch.setattr(engine, "CHUNK_SIZE", 10)
    from guanxi.customers import bulk

    original = bulk.ContactWriter.write
    calls = {"n": 0}

    def crashing(self, creates, updates):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        return original(self, creates, updates)

    monkeypatch.setattr(bulk.ContactWriter, "write", crashing)
    job = run_import(tenant, tenant.admin, "customers.contact", upload("big.csv", _big_file()))
    assert job.status == ImportJob.Status.FAILED and "worker killed" in job.error
    assert job.processed == 20 and job.next_row == 21  # two chunks committed (rows 2–21), the third rolled back
    with tenant_context(tenant, actor=tenant.admin):
        assert Contact.objects.count() == 20
        job = services.job_start(actor=tenant.admin, job=job)
    assert job.status == ImportJob.Status.DONE
    assert (job.processed, job.created, job.failed) == (50, 50, 0)
    with tenant_context(tenant, actor=tenant.admin):
        names = list(Contact.objects.values_list("full_name", flat=True))
        assert sorted(names) == sorted(f"客户{i}" for i in range(50))  # each row exactly once
        assert Account.objects.count() == 7
        assert ImportRow.objects.filter(job=job, related=False).count() == 50
        assert AccountContact.objects.count() == 50


def test_stale_running_job_is_picked_up_again(tenant, monkeypatch):
    monkeypatch.setattr(engine, "CHUNK_SIZE", 10)
    job = run_import(tenant, tenant.admin, "customers.contact", upload("big.csv", _big_file(25)), start=False)
    with tenant_context(tenant, actor=tenant.admin):
        # A worker claimed it, wrote nothing and died: its heartbeat is old.
        ImportJob.objects.filter(pk=job.pk).update(
            status="running", run_token="dead", heartbeat_at=job.created_at - datetime.timedelta(hours=1)
        )
    result = tasks.resume_stale_imports.enqueue()
    assert result.return_value == {tenant.slug: 1}
    with tenant_context(tenant, actor=tenant.admin):
        job.refresh_from_db()
        assert job.status == "done" and job.created == 25
        # A running job with a fresh heartbeat is left alone.
        ImportJob.objects.filter(pk=job.pk).update(status="running", heartbeat_at=datetime.datetime.now(datetime.UTC))
    assert tasks.resume_stale_imports.enqueue().return_value == {}


def test_undo_removes_created_and_reverts_updated(tenant, existing):
    with tenant_context(tenant, actor=tenant.admin):
        before_points = sorted(ContactPoint.objects.filter(contact=existing).values_list("value", flat=True))
    rows = [
        ["John Smith", "Other Corp", "john@acme.example", "13900139000", "CEO"],
        ["New Person", "Brand New Co", "new@person.example", "", "Dev"],
    ]
    job = run_import(
        tenant, tenant.admin, "customers.contact", upload("p.csv", _people(rows)), options={"policy": "update"}
    )
    assert (job.created, job.updated) == (1, 1)
    with tenant_context(tenant, actor=tenant.admin):
        existing.refresh_from_db()
        assert existing.title == "CEO" and existing.account.name == "Other Corp"
        job = services.job_undo(actor=tenant.admin, job=job)
        assert job.status == ImportJob.Status.UNDONE
        existing.refresh_from_db()
        assert existing.title == "" and existing.account.name == "Acme Ltd" and existing.phone == ""
        assert sorted(ContactPoint.objects.filter(contact=existing).values_list("value", flat=True)) == before_points
        assert not AccountContact.objects.filter(contact=existing, account__name="Other Corp").exists()
        assert not Contact.objects.filter(full_name="New Person").exists()
        assert not Account.objects.filter(name__in=["Other Corp", "Brand New Co"]).exists()
        notes = set(AuditEntry.objects.filter(note=f"Undo of import #{job.pk}").values_list("action", flat=True))
        assert notes == {"update", "delete"}


def test_undo_keeps_values_changed_after_the_import(tenant, existing):
    rows = [["John Smith", "", "john@acme.example", "", "CEO"]]
    job = run_import(
        tenant, tenant.admin, "customers.contact", upload("p.csv", _people(rows)), options={"policy": "update"}
    )
    with tenant_context(tenant, actor=tenant.admin):
        existing.refresh_from_db()
        customer_services.contact_update(actor=tenant.admin, contact=existing, data={"title": "Chairman"})
        services.job_undo(actor=tenant.admin, job=job)
        existing.refresh_from_db()
        assert existing.title == "Chairman"


# --- permissions ----------------------------------------------------------------------------------------


def test_user_without_import_permission_gets_403(tenant, rep, client):
    client.force_login(rep)  # sales representatives may create but not import
    assert client.get("/imports/new/").status_code == 403
    assert client.get("/imports/").status_code == 403
    response = client.post(
        "/api/v1/imports", {"entity": "customers.contact", "file": upload("contacts_gbk.csv")}, format="multipart"
    )
    assert response.status_code == 403
    with tenant_context(tenant, actor=rep), pytest.raises(PermissionDenied):
        services.job_create(actor=rep, entity="customers.contact", upload=upload("contacts_gbk.csv"))


def test_updates_only_touch_records_the_user_may_edit(tenant, existing):
    marketer = make_member(tenant, roles=("Marketer",))  # import, create and edit their own records
    rows = [["John Smith", "Acme Ltd", "john@acme.example", "", "Boss"], ["Own Person", "", "own@x.example", "", "A"]]
    job = run_import(
        tenant, marketer, "customers.contact", upload("p.csv", _people(rows)), options={"policy": "update"}
    )
    assert (job.created, job.updated, job.failed) == (1, 0, 1)
    with tenant_context(tenant, actor=marketer):
        existing.refresh_from_db()
        assert existing.title == ""
        assert "may not edit" in ImportRow.objects.get(job=job, action="failed").error
        own = Contact.objects.get(full_name="Own Person")
        assert own.owner_id == marketer.pk and own.created_by_id == marketer.pk
    rows = [["Own Person", "", "own@x.example", "", "Updated"]]
    job = run_import(
        tenant, marketer, "customers.contact", upload("p.csv", _people(rows)), options={"policy": "update"}
    )
    assert job.updated == 1
    with tenant_context(tenant, actor=marketer):
        assert Contact.objects.get(full_name="Own Person").title == "Updated"


def test_restricted_fields_are_refused_for_the_whole_job(tenant):
    from guanxi.access.models import RestrictedField

    marketer = make_member(tenant, roles=("Marketer",))
    with tenant_context(tenant, actor=tenant.admin):
        RestrictedField.objects.create(module="customers.contact", field_name="birthday")
    with tenant_context(tenant, actor=marketer):
        job = services.job_create(actor=marketer, entity="customers.contact", upload=upload("contacts_gbk.csv"))
        with pytest.raises(ValidationError) as exc:
            services.job_map(actor=marketer, job=job, mapping=job.mapping)
        assert "birthday" in str(exc.value.message_dict["mapping"])
        mapping = {i: key for i, key in job.mapping.items() if key != "birthday"}
        job = services.job_map(actor=marketer, job=job, mapping=mapping)
        assert job.status == ImportJob.Status.MAPPED


def test_mapping_validation(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        job = services.job_create(actor=tenant.admin, entity="customers.contact", upload=upload("contacts_gbk.csv"))
        with pytest.raises(ValidationError):
            services.job_map(actor=tenant.admin, job=job, mapping={"0": "email", "3": "email"})
        with pytest.raises(ValidationError):
            services.job_map(actor=tenant.admin, job=job, mapping={"3": "email"})  # no name column
        with pytest.raises(ValidationError):
            services.job_map(actor=tenant.admin, job=job, mapping={"0": "full_name", "1": "nonsense"})
        with pytest.raises(ValidationError):
            services.job_map(actor=tenant.admin, job=job, mapping=job.mapping, options={"policy": "merge"})


# --- tenants, queries, API, pages -------------------------------------------------------------------------


def test_every_route_with_an_id_is_404_for_another_tenant(tenant, other_tenant, client):
    job = run_import(tenant, tenant.admin, "customers.contact", upload("contacts_gbk.csv"))
    assert job.error_file
    client.force_login(other_tenant.admin)
    for path in ("", "mapping/", "progress/", "errors/"):
        assert client.get(f"/imports/{job.pk}/{path}").status_code == 404, path
    for path in ("check/", "start/", "cancel/", "undo/"):
        assert client.post(f"/imports/{job.pk}/{path}").status_code == 404, path
    for path in ("", "/errors"):
        assert client.get(f"/api/v1/imports/{job.pk}{path}").status_code == 404, path
    for path in ("/start", "/undo", "/cancel"):
        response = client.post(f"/api/v1/imports/{job.pk}{path}", content_type="application/json")
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/problem+json"
    with tenant_context(tenant, actor=tenant.admin):
        job.refresh_from_db()
        assert job.status == ImportJob.Status.DONE


def test_other_users_imports_are_hidden(tenant, client):
    marketer = make_member(tenant, roles=("Marketer",))
    job = run_import(tenant, tenant.admin, "customers.contact", upload("contacts_gbk.csv"))
    client.force_login(marketer)
    assert client.get(f"/imports/{job.pk}/").status_code == 404
    assert "contacts_gbk.csv" not in client.get("/imports/").content.decode()


def test_queries_per_chunk_do_not_grow_with_chunk_size(tenant, monkeypatch):
    with tenant_context(tenant, actor=tenant.admin):
        customer_services.account_create(actor=tenant.admin, data={"name": "公司1"})

    def queries_for(n):
        rows = [["姓名", "公司", "手机", "邮箱", "标签"]]
        rows += [[f"人{n}-{i}", f"公司{i % 3}", f"1390{n:03d}{i:04d}", f"p{n}-{i}@x.example", "A;B"] for i in range(n)]
        monkeypatch.setattr(engine, "CHUNK_SIZE", n)
        with tenant_context(tenant, actor=tenant.admin):
            job = services.job_create(
                actor=tenant.admin, entity="customers.contact", upload=upload("q.csv", csv_bytes(rows))
            )
            job = services.job_map(actor=tenant.admin, job=job, mapping=job.mapping, options={"policy": "update"})
            ImportJob.objects.filter(pk=job.pk).update(status="queued", total_rows=n)
            job.refresh_from_db()
            token = engine.claim(job)
            job.refresh_from_db()
            with CaptureQueriesContext(connection) as ctx:
                engine.run(job, token)
            job.refresh_from_db()
            assert job.created == n
        sql = [q["sql"] for q in ctx.captured_queries]
        inserts = [q for q in sql if q.startswith("INSERT")]
        return len(sql) - len(inserts), len(inserts)

    queries_for(5)  # creates the tags and companies, warms the content-type cache
    (small, small_inserts), (large, large_inserts) = queries_for(10), queries_for(200)
    # The same reads and updates for a chunk of 10 rows and of 200; inserts are one per table,
    # split only where the database limits the parameters of one statement (SQLite: 999).
    assert small == large, (small, large)
    assert large < 40
    assert large_inserts <= 3 * small_inserts, (small_inserts, large_inserts)
    if connection.vendor == "postgresql":
        assert large_inserts == small_inserts


def test_api_upload_dry_run_start_status_errors_undo(tenant, client):
    client.force_login(tenant.admin)
    response = client.post(
        "/api/v1/imports",
        {"entity": "customers.contact", "file": upload("contacts_gbk.csv"), "dry_run": "true"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "previewed" and body["preview"]["counts"]["failed"] == 2
    assert body["mapping"]["0"] == "full_name" and body["encoding"] == "gb18030"
    job_id = body["id"]
    with tenant_context(tenant, actor=tenant.admin):
        assert Contact.objects.count() == 0
    response = client.post(f"/api/v1/imports/{job_id}/start", content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "done"
    body = client.get(f"/api/v1/imports/{job_id}").json()
    assert (body["created"], body["failed"], body["percent"]) == (3, 2, 100)
    assert body["error_file"] == f"/api/v1/imports/{job_id}/errors"
    errors = client.get(body["error_file"])
    assert errors.status_code == 200 and "李娜" in b"".join(errors.streaming_content).decode("utf-8-sig")
    response = client.post(f"/api/v1/imports/{job_id}/undo", content_type="application/json")
    assert response.json()["status"] == "undone"
    with tenant_context(tenant, actor=tenant.admin):
        assert Contact.objects.count() == 0


def test_api_with_mapping_and_options(tenant, client, existing):
    client.force_login(tenant.admin)
    content = _people([["Johnny", "Acme Ltd", "john@acme.example", "", "CEO"]])
    response = client.post(
        "/api/v1/imports",
        {
            "entity": "customers.contact",
            "file": upload("p.csv", content),
            "mapping": json.dumps({"0": "given_name", "2": "email", "4": "title"}),
            "options": json.dumps({"policy": "update", "rules": ["email"]}),
        },
    )
    assert response.status_code == 201
    job_id = response.json()["id"]
    assert response.json()["status"] == "mapped"
    assert client.post(f"/api/v1/imports/{job_id}/start").json()["updated"] == 1
    with tenant_context(tenant, actor=tenant.admin):
        existing.refresh_from_db()
        assert (existing.given_name, existing.title) == ("Johnny", "CEO")
    bad = client.post(
        "/api/v1/imports", {"entity": "customers.contact", "file": upload("p.csv", content), "mapping": "[1]"}
    )
    assert bad.status_code == 422 and bad["Content-Type"] == "application/problem+json"


def test_pages_upload_map_check_start_result(tenant, client):
    client.force_login(tenant.admin)
    page = client.get("/imports/")
    assert page.status_code == 200 and "Import contacts" in page.content.decode()
    assert client.get("/imports/new/?entity=customers.contact").status_code == 200
    response = client.post("/imports/new/", {"entity": "customers.contact", "file": upload("contacts_gbk.csv")})
    assert response.status_code == 302
    job_id = int(response["Location"].split("/")[2])
    page = client.get(f"/imports/{job_id}/mapping/").content.decode()
    assert "王伟" in page and 'value="full_name" selected' in page
    post = {f"col_{i}": key for i, key in enumerate(["full_name", "account", "mobile", "email", "title", "", "", ""])}
    post.update(
        {
            "policy": "skip",
            "rules": ["email", "phone"],
            "create_related": "on",
            "phone_region": "CN",
            "save_as": "通讯录",
        }
    )
    response = client.post(f"/imports/{job_id}/mapping/", post)
    assert response.status_code == 302
    page = client.get(f"/imports/{job_id}/").content.decode()
    assert "Start the import" in page and "bg-danger-subtle" in page  # the bad cells are highlighted
    assert client.get(f"/imports/{job_id}/progress/").status_code == 200
    assert client.post(f"/imports/{job_id}/start/").status_code == 302
    page = client.get(f"/imports/{job_id}/").content.decode()
    assert "Download the rows with errors" in page and "Undo this import" in page
    with tenant_context(tenant, actor=tenant.admin):
        job = ImportJob.objects.get(pk=job_id)
        assert (job.created, job.failed) == (4, 1)  # the birthday column was not imported
        from guanxi.imports.models import SavedMapping

        saved = SavedMapping.objects.get(name="通讯录")
        assert saved.columns["姓名"] == "full_name"
    # A file with the same columns gets the saved mapping (here: the birthday left out).
    response = client.post("/imports/new/", {"entity": "customers.contact", "file": upload("contacts_gbk.csv")})
    with tenant_context(tenant, actor=tenant.admin):
        job = ImportJob.objects.latest("pk")
        assert "birthday" not in job.mapping.values() and job.options["rules"] == ["email", "phone"]
    # The progress fragment asks the page to reload when the status moved on.
    response = client.get(f"/imports/{job_id}/progress/?status=running")
    assert response.status_code == 204 and response["HX-Refresh"] == "true"


def test_navigation_shows_import_to_importers_only(tenant, rep, client):
    client.force_login(tenant.admin)
    assert 'href="/imports/"' in client.get("/imports/").content.decode()
    client.force_login(rep)
    assert 'href="/imports/"' not in client.get("/customers/contacts/").content.decode()


def test_reading_the_file_again_with_another_encoding(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        job = services.job_create(actor=tenant.admin, entity="customers.contact", upload=upload("contacts_gbk.csv"))
        job = services.job_set_format(actor=tenant.admin, job=job, encoding="cp1252", delimiter=";")
        assert len(job.header) == 1
        job = services.job_set_format(actor=tenant.admin, job=job, encoding="gb18030", delimiter=",")
        assert job.header[0] == "姓名" and job.mapping["0"] == "full_name"


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        ("姓名,公司\n张三,北京科技有限公司\n".encode("gbk"), "gb18030"),
        ("名前,會社\n陳大文,台灣電子股份有限公司\n".encode("big5"), "big5"),
        ("Name,Ville\nRené,Montréal\n".encode("cp1252"), "cp1252"),
        ("Name,City\nJosé,São Paulo\n".encode(), "utf-8"),
        ("Name\tCity\n王\t上海\n".encode("utf-16-le"), "utf-16-le"),
    ],
)
def test_encoding_detection(content, encoding):
    assert readers.detect_encoding(io.BytesIO(content)) == encoding


def test_encoding_detection_samples_the_whole_file():
    rows = "".join(f"客户{i},公司{i}\n" for i in range(60000)).encode()
    assert readers.detect_encoding(io.BytesIO(b"name,company\n" + rows)) == "utf-8"
    late = b"name,company\n" + b"a,b\n" * 200000 + "王伟,公司\n".encode("gbk")
    assert readers.detect_encoding(io.BytesIO(late)) == "gb18030"
