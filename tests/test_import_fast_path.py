"""The import's fast write path (``imports.fastwrite``) writes exactly what the model path wrote.

Each test runs the same file through the import twice, in two tenants with the same data: once
with the fast path switched off (Django ``bulk_create`` of model instances, the reference) and
once with it on, then compares every row written — records, emails and phones, account links,
tags, lifecycle history, audit entries and ImportRows — with ids, timestamps and the two
administrators' names normalised. Undo and resume after a crash are checked on the fast path.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.audit.models import AuditEntry
from guanxi.customers import bulk
from guanxi.customers import services as customer_services
from guanxi.customers.models import (
    Account,
    AccountContact,
    AccountTag,
    Contact,
    ContactPoint,
    ContactTag,
    LifecycleChange,
)
from guanxi.customization.models import CustomFieldDefinition
from guanxi.imports import engine, fastwrite, services
from guanxi.imports.models import ImportJob, ImportRow
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def fast_on():
    yield
    fastwrite.ENABLED = True


def csv_bytes(rows) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


CONTACT_ROWS = [
    [
        "姓名",
        "公司",
        "邮箱",
        "手机",
        "电话",
        "其他电话",
        "职位",
        "生日",
        "标签",
        "等级",
        "城市",
        "Salutation",
        "Email opt-in",
    ],
    [
        "王伟",
        "北京星辰科技有限公司",
        "wang.wei@xingchen.cn",
        "138 0013 8000",
        "010-8888 9999",
        "",
        "经理",
        "1985-03-05",
        "VIP, 重点",
        "A",
        "北京市",
        "先生",
        "是",
    ],
    [
        "欧阳娜娜",
        "北京星辰科技有限公司",
        "NANA@xingchen.cn",
        "+86 139-0013-9000",
        "",
        "+1 650 253 0000",
        "工程师",
        "",
        "VIP",
        "B",
        "",
        "女士",
        "",
    ],
    [
        "John Smith",
        "Acme Ltd",
        "john@acme.example",
        "",
        "",
        "",
        "CEO",
        "",
        "",
        "",
        "",
        "Mr.",
        "no",
    ],  # an existing contact
    ["Mary Major", "acme ltd", "mary@acme.example", "179 0000 0000", "", "", "CFO", "", "", "C", "", "", ""],
    ["Mary Major", "Acme Ltd", "", "13900000001", "", "", "Chief financial officer", "", "", "", "", "", ""],
    ["李娜", "", "bad@", "", "", "", "", "2024-02-30", "", "Z", "", "", ""],  # fails: email, birthday, choice
    ["刘洋", "", "liuyang@example.cn", "123", "", "", "", "", "", "", "", "", ""],  # fails: phone
    [
        "Ünal Çelik",
        "Müller GmbH",
        "unal.celik@müller.example",
        "+49 89 1234567",
        "",
        "",
        "Einkauf",
        "12.05.1970",
        "",
        "",
        "München",
        "",
        "ja",
    ],
    ["", "Nameless Co", "nobody@example.com", "", "", "", "", "", "", "", "", "", ""],  # fails: no name
    [
        "张敏",
        "上海云帆贸易有限公司",
        "zhangmin@yunfan.com.cn",
        "13700137000",
        "",
        "",
        "",
        "",
        "客户",
        "",
        "上海市",
        "",
        "",
    ],
]


def _setup(tenant):
    """The same existing data in each tenant: an account, a contact, a custom field."""
    with tenant_context(tenant, actor=tenant.admin):
        account = customer_services.account_create(actor=tenant.admin, data={"name": "Acme Ltd"})
        customer_services.contact_create(
            actor=tenant.admin,
            data={"family_name": "Smith", "given_name": "John", "email": "john@acme.example", "account": account},
        )
        CustomFieldDefinition.objects.create(
            entity="customers.contact",
            key="grade",
            label_en="Grade",
            label_zh="等级",
            field_type="choice",
            choices=[{"value": "A"}, {"value": "B"}, {"value": "C"}],
        )


def _import(tenant, entity, content: bytes, *, options=None) -> ImportJob:
    admin = tenant.admin
    with tenant_context(tenant, actor=admin):
        job = services.job_create(actor=admin, entity=entity, upload=SimpleUploadedFile("f.csv", content))
        job = services.job_map(actor=admin, job=job, mapping=job.mapping, options=options or {})
        job = services.job_start(actor=admin, job=job)
        job.refresh_from_db()
        return job


def _norm(value, tenant):
    """Ids, the administrator's name and the job number out of a value, recursively."""
    if isinstance(value, dict):
        return {k: _norm(v, tenant) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_norm(v, tenant) for v in value]
    if isinstance(value, str):
        value = value.replace(str(tenant.admin), "<admin>")
        value = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00", "<now>", value)
        return re.sub(r"#\d+", "#", value)
    return value


def _state(tenant, job) -> dict:
    """Everything the import wrote, comparable across tenants."""
    with tenant_context(tenant, actor=tenant.admin):
        contacts = {c.pk: c for c in Contact.objects.all()}
        accounts = {a.pk: a for a in Account.objects.all()}
        users = {tenant.admin.pk: "<admin>"}

        def contact_key(pk):
            c = contacts.get(pk)
            return (c.full_name, c.email) if c else None

        def record(
            obj, skip=("id", "tenant", "created_at", "updated_at", "lifecycle_changed_at", "consent_updated_at")
        ):
            data = {}
            for f in obj._meta.concrete_fields:
                if f.name in skip:
                    continue
                value = getattr(obj, f.attname)
                if f.name in ("owner", "created_by"):
                    value = users.get(value, value)
                elif f.name in ("account", "parent"):
                    value = accounts[value].name if value else None
                data[f.name] = value
            data["has_consent_time"] = bool(getattr(obj, "consent_updated_at", None))
            return data

        def object_key(ct_model, pk):
            if ct_model == "contact":
                return contact_key(pk)
            if ct_model == "account":
                return accounts[pk].name if pk in accounts else None
            return pk

        entries = []
        for e in AuditEntry.objects.filter(note=f"Import #{job.pk}").select_related("content_type"):
            entries.append(
                (
                    e.action,
                    e.content_type.model,
                    object_key(e.content_type.model, e.object_id),
                    e.object_repr,
                    _norm(e.changes, tenant),
                    e.actor_id == tenant.admin.pk,
                    _norm(e.actor_label, tenant),
                    e.via,
                    e.request_id != "",
                )
            )
        rows = []
        for r in ImportRow.objects.filter(job=job).select_related("content_type"):
            model = r.content_type.model if r.content_type else None
            rows.append(
                (
                    r.row_number,
                    r.action,
                    r.related,
                    model,
                    object_key(model, r.object_id),
                    _norm(r.changes, tenant),
                    r.values,
                    _norm(r.error, tenant),
                )
            )
        return {
            "job": (job.status, job.processed, job.created, job.updated, job.skipped, job.failed),
            "contacts": sorted((record(c) for c in contacts.values()), key=repr),
            "accounts": sorted((record(a) for a in accounts.values()), key=repr),
            "points": sorted(
                [
                    (
                        contact_key(p.contact_id),
                        accounts[p.account_id].name if p.account_id else None,
                        p.kind,
                        p.value,
                        p.label,
                        p.is_primary,
                    )
                    for p in ContactPoint.objects.all()
                ],
                key=repr,
            ),
            "links": sorted(
                [
                    (contact_key(link.contact_id), accounts[link.account_id].name, link.role, link.note)
                    for link in AccountContact.objects.all()
                ],
                key=repr,
            ),
            "contact_tags": sorted(
                [(contact_key(t.contact_id), t.tag.name) for t in ContactTag.objects.select_related("tag")], key=repr
            ),
            "account_tags": sorted(
                [(accounts[t.account_id].name, t.tag.name) for t in AccountTag.objects.select_related("tag")], key=repr
            ),
            "stages": sorted(
                [
                    (accounts[s.account_id].name, s.from_stage, s.to_stage, users.get(s.changed_by_id))
                    for s in LifecycleChange.objects.all()
                ],
                key=repr,
            ),
            "audit": sorted(entries, key=repr),
            "import_rows": sorted(rows, key=repr),
        }


def _both(entity, content, *, options=None, chunk=4, monkeypatch=None):
    """(model path state, fast path state) of the same import in two tenants with the same data."""
    if monkeypatch is not None:
        monkeypatch.setattr(engine, "CHUNK_SIZE", chunk)
    states = []
    for fast in (False, True):
        fastwrite.ENABLED = fast
        tenant = make_tenant()
        _setup(tenant)
        job = _import(tenant, entity, content, options=options)
        states.append(_state(tenant, job))
    return states


@pytest.mark.parametrize("policy", ["skip", "update", "create"])
def test_contacts_fast_path_writes_what_the_model_path_wrote(policy, monkeypatch, fast_on):
    reference, fast = _both(
        "customers.contact", csv_bytes(CONTACT_ROWS), options={"policy": policy}, monkeypatch=monkeypatch
    )
    assert reference["job"][0] == "done" and reference["job"][2] >= 5, reference["job"]
    for key in reference:
        assert fast[key] == reference[key], key


def test_accounts_fast_path_writes_what_the_model_path_wrote(monkeypatch, fast_on):
    rows = [
        ["公司名称", "电话", "邮箱", "行业", "网站", "年营业额", "阶段", "标签", "上级公司"],
        ["  GLOBEX ", "", "", "金融", "globex.example", "1.200.000", "签约客户", "VIP", ""],
        ["Initech", "010 8888 9999", "hello@initech.example", "软件", "", "5万", "", "", "Acme Ltd"],
        ["Initech (HQ)", "", "HELLO@initech.example", "软件", "", "", "", "", ""],
        [
            "深圳创新电子有限公司",
            "0755-88886666",
            "sales@cx-dz.cn",
            "制造业",
            "https://cx-dz.cn",
            "1200万",
            "潜在客户",
            "重点;VIP",
            "",
        ],
        ["Bad Co", "12", "not-an-email", "太空", "", "lots", "", "", "Nowhere Inc"],
    ]
    for policy in ("skip", "update"):
        reference, fast = _both(
            "customers.account", csv_bytes(rows), options={"policy": policy}, monkeypatch=monkeypatch
        )
        assert reference["job"][0] == "done"
        for key in reference:
            assert fast[key] == reference[key], (policy, key)


def _people(n: int) -> bytes:
    rows = [["姓名", "公司", "手机", "邮箱"]]
    rows += [[f"客户{i}", f"公司{i % 7}", f"1380000{i:04d}", f"c{i}@example.cn"] for i in range(n)]
    return csv_bytes(rows)


def test_fast_path_undo_removes_everything(tenant, monkeypatch, fast_on):
    monkeypatch.setattr(engine, "CHUNK_SIZE", 10)
    with tenant_context(tenant, actor=tenant.admin):
        before = (Contact.objects.count(), Account.objects.count(), ContactPoint.objects.count())
    job = _import(tenant, "customers.contact", _people(35))
    assert (job.status, job.created) == ("done", 35)
    with tenant_context(tenant, actor=tenant.admin):
        assert Account.objects.count() == before[1] + 7
        assert ImportRow.objects.filter(job=job, related=True).count() == 7
        job = services.job_undo(actor=tenant.admin, job=job)
        assert job.status == ImportJob.Status.UNDONE
        assert (Contact.objects.count(), Account.objects.count(), ContactPoint.objects.count()) == before
        assert not AccountContact.objects.exists()
        assert AuditEntry.objects.filter(note=f"Undo of import #{job.pk}", action="delete").count() == 35 + 7


def test_fast_path_resumes_exactly_once(tenant, monkeypatch, fast_on):
    monkeypatch.setattr(engine, "CHUNK_SIZE", 10)
    original = bulk.ContactWriter._write_creates_fast
    calls = {"n": 0}

    def crashing(self, creates, now, tags):
        calls["n"] += 1
        original(self, creates, now, tags)
        if calls["n"] == 3:
            raise RuntimeError("worker killed")  # after the chunk's rows were written, before its commit

    monkeypatch.setattr(bulk.ContactWriter, "_write_creates_fast", crashing)
    job = _import(tenant, "customers.contact", _people(50))
    assert job.status == ImportJob.Status.FAILED and "worker killed" in job.error
    assert (job.processed, job.next_row) == (20, 21)
    with tenant_context(tenant, actor=tenant.admin):
        assert Contact.objects.count() == 20
        assert AuditEntry.objects.filter(note=f"Import #{job.pk}", content_type__model="contact").count() == 20
        job = services.job_start(actor=tenant.admin, job=job)
    assert (job.status, job.processed, job.created, job.failed) == ("done", 50, 50, 0)
    with tenant_context(tenant, actor=tenant.admin):
        assert sorted(Contact.objects.values_list("full_name", flat=True)) == sorted(f"客户{i}" for i in range(50))
        assert Account.objects.count() == 7 and AccountContact.objects.count() == 50
        assert ContactPoint.objects.count() == 100
        assert ImportRow.objects.filter(job=job, related=False).count() == 50
        assert AuditEntry.objects.filter(note=f"Import #{job.pk}", content_type__model="contact").count() == 50


def test_fast_path_refuses_rows_of_another_tenant(tenant, other_tenant):
    with tenant_context(tenant, actor=tenant.admin), pytest.raises(Exception, match="another tenant"):
        fastwrite.insert(ContactTag, [{"contact_id": 1, "tag_id": 1, "tenant_id": other_tenant.pk}])


def test_cheap_email_and_phone_checks_agree_with_the_full_ones():
    from guanxi.platform.phones import normalize_phone

    for raw in ["138 0013 8000", "+86 139-0013-9000", "13700137000", "+8615912345678", "186-1234-5678"]:
        assert bulk.clean_phone(raw) == normalize_phone(raw)
        assert bulk.clean_phone(raw, "CN") == normalize_phone(raw, "CN")
    assert bulk.clean_phone("13700137000", "US") == normalize_phone("13700137000", "US")
    assert bulk.clean_phone("179 0000 0000") == normalize_phone("179 0000 0000")  # not taken by the shortcut
    from django.core.validators import validate_email

    for raw in ["Wang.Wei@XingChen.cn", "a+b@sub.example.co.uk", "x_y-z@a-b.example"]:
        assert bulk.SIMPLE_EMAIL.fullmatch(raw.lower())
        validate_email(raw.lower())
        assert bulk.clean_email(raw) == raw.lower()
    for raw in ["bad@", "@x.cn", "a@b", "a..b@x.cn", "a@-x.cn"]:
        assert not bulk.SIMPLE_EMAIL.fullmatch(raw)
