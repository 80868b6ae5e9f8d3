"""/api/v1 contracts, invoices, payments, commission plans / entries / statements, expenses: CRUD, actions,
permissions and query counts."""

import datetime

import pytest
from django.test import Client

from guanxi.customers import services as customer_services
from guanxi.finance import commission_services, services
from guanxi.finance.models import CommissionEntry, Contract, Invoice
from guanxi.finance.testing import make_finance_records
from guanxi.identity.services import api_token_create
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member

TODAY = datetime.date.today


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def token_for(tenant, user, scope="write"):
    with tenant_context(tenant, actor=user):
        return api_token_create(user=user, name="t", scope=scope)[1]


class Api:
    def __init__(self, secret):
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    def get(self, path, **params):
        return self.client.get(f"/api/v1{path}", params, **self.headers)

    def post(self, path, data=None):
        return self.client.post(f"/api/v1{path}", data or {}, content_type="application/json", **self.headers)

    def put(self, path, data):
        return self.client.put(f"/api/v1{path}", data, content_type="application/json", **self.headers)

    def patch(self, path, data):
        return self.client.patch(f"/api/v1{path}", data, content_type="application/json", **self.headers)

    def delete(self, path):
        return self.client.delete(f"/api/v1{path}", **self.headers)


@pytest.fixture
def api(tenant):
    return Api(token_for(tenant, tenant.admin))


@pytest.fixture
def account(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        return customer_services.account_create(actor=tenant.admin, data={"name": "深圳科技 Shenzhen Tech"})


def test_contract_lifecycle_over_the_api(api, account, tenant):
    response = api.post("/contracts", {
        "title": "SaaS 订阅", "account_id": account.pk, "value": "36000.00", "start_date": TODAY().isoformat(),
        "milestones": [{"due_date": TODAY().isoformat(), "description": "Year 1", "percent": "100"}],
    })  # fmt: skip
    assert response.status_code == 201, response.content
    contract = response.json()
    assert contract["number"].startswith("C-") and contract["status"] == "draft" and contract["value"] == "36000.00"
    pk = contract["id"]
    milestones = api.get(f"/contracts/{pk}/milestones").json()
    assert milestones[0]["computed_amount"] == "36000.00" and not milestones[0]["invoiced"]
    too_much = api.put(f"/contracts/{pk}/milestones", {"milestones": [
        {"due_date": TODAY().isoformat(), "description": "A", "amount": "36000.01"}]})  # fmt: skip
    assert too_much.status_code == 422 and "milestones" in too_much.json()["errors"]
    assert (
        api.patch(f"/contracts/{pk}", {"end_date": (TODAY() - datetime.timedelta(days=1)).isoformat()}).status_code
        == 422
    )
    approval = api.post(f"/contracts/{pk}/submit", {"message": "Please"})
    assert approval.status_code == 201 and approval.json()["status"] == "pending"
    assert api.patch(f"/contracts/{pk}", {"value": "1"}).status_code == 422
    decided = api.post(f"/contracts/{pk}/approval", {"decision": "approve", "comment": "OK"})
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    assert api.get(f"/contracts/{pk}").json()["status"] == "active"
    invoice = api.post(f"/contracts/{pk}/milestones/{milestones[0]['id']}/invoice")
    assert invoice.status_code == 201 and invoice.json()["total"] == "36000.00" and invoice.json()["number"] == ""
    renewal = api.post(f"/contracts/{pk}/renew")
    assert renewal.status_code == 201 and renewal.json()["renewed_from_id"] == pk
    assert api.get(f"/contracts/{pk}").json()["status"] == "renewed"
    assert api.post(f"/contracts/{renewal.json()['id']}/terminate", {"reason": "x"}).status_code == 422  # a draft
    stats = api.get("/contracts/stats", currency="CNY").json()
    by_status = {row["status"]: row for row in stats["by_status"]}
    assert by_status["renewed"]["count"] == 1 and by_status["draft"]["value"] == "36000.00"
    assert stats["renewal_rate"] is None  # nothing ended within the period yet
    listed = api.get("/contracts", status="draft").json()
    assert [c["id"] for c in listed["items"]] == [renewal.json()["id"]]


def test_invoices_and_payments_over_the_api(api, account, tenant):
    response = api.post("/invoices", {"account_id": account.pk, "lines": [
        {"description": "咨询 Consulting", "quantity": "3", "unit_price": "33.335", "tax_rate": "6"}]})  # fmt: skip
    assert response.status_code == 201, response.content
    invoice = response.json()
    assert invoice["number"] == "" and invoice["total"] == "106.01" and invoice["balance"] == "106.01"
    pk = invoice["id"]
    lines = api.put(f"/invoices/{pk}/lines", {"lines": [{"description": "Work", "quantity": "2", "unit_price": "50",
                                                          "tax_rate": "13"}], "discount_percent": "10"}).json()  # fmt: skip
    assert lines["total"] == "101.70" and lines["taxes"][0]["tax"] == "11.70"
    assert api.post("/payments", {"invoice_id": pk, "amount": "1"}).status_code == 422  # a draft
    issued = api.post(f"/invoices/{pk}/issue", {}).json()
    assert issued["number"].startswith("INV-") and issued["status"] == "issued"
    assert api.post(f"/invoices/{pk}/issue", {}).status_code == 422
    assert api.put(f"/invoices/{pk}/lines", {"lines": []}).status_code == 422
    over = api.post("/payments", {"invoice_id": pk, "amount": "101.71"})
    assert over.status_code == 422 and "amount" in over.json()["errors"]
    paid = api.post("/payments", {"invoice_id": pk, "amount": "100", "method": "alipay", "reference": "ALI-1"})
    assert paid.status_code == 201 and paid.json()["owner_id"] == tenant.admin.pk
    assert api.get(f"/invoices/{pk}").json()["status"] == "partly_paid"
    assert api.patch(f"/payments/{paid.json()['id']}", {"amount": "101.70"}).status_code == 200
    assert api.get(f"/invoices/{pk}").json()["status"] == "paid"
    assert [p["reference"] for p in api.get(f"/invoices/{pk}/payments").json()] == ["ALI-1"]
    pdf = api.get(f"/invoices/{pk}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert api.delete(f"/invoices/{pk}").status_code == 422  # issued invoices are voided, not deleted
    voided = api.post(f"/invoices/{pk}/void", {"reason": "Wrong"}).json()
    assert voided["status"] == "void" and voided["number"] == issued["number"]
    assert api.get("/invoices", unpaid="true").json()["items"] == []


def test_commissions_over_the_api(api, account, tenant):
    plan = api.post("/commission-plans", {"name": "销售提成 Sales", "basis": "payment", "default_rate": "0"})
    assert plan.status_code == 201, plan.content
    rules = api.put(f"/commission-plans/{plan.json()['id']}/rules", {
        "tiers": [{"threshold": "0", "rate": "3"}, {"threshold": "100000", "rate": "5"}], "rates": [], "member_ids": []})  # fmt: skip
    assert rules.status_code == 200 and [t["rate"] for t in rules.json()["tiers"]] == ["3.000", "5.000"]
    with tenant_context(tenant, actor=tenant.admin):
        invoice = services.invoice_create(actor=tenant.admin, data={"account": account},
                                          lines=[{"description": "Big", "quantity": "1", "unit_price": "120000"}])  # fmt: skip
        services.invoice_issue(actor=tenant.admin, invoice=invoice)
    api.post("/payments", {"invoice_id": invoice.pk, "amount": "120000"})
    entries = api.get("/commissions").json()["items"]
    assert [(e["base_amount"], e["amount"], e["kind"]) for e in entries] == [("120000.00", "4000.00", "accrual")]
    assert api.patch(f"/commissions/{entries[0]['id']}", {"description": "x"}).status_code == 422
    assert api.delete(f"/commissions/{entries[0]['id']}").status_code == 422
    adjustment = api.post("/commissions", {"amount": "-100", "description": "Clawback", "currency": "CNY"})
    assert adjustment.status_code == 201 and adjustment.json()["kind"] == "adjustment"
    assert api.post("/commissions/accrue", {}).json() == {"accrued": 0, "reversed": 0}
    statement = api.post("/commissions/statements", {"period_kind": "quarter", "period_start": TODAY().isoformat()})
    assert statement.status_code == 201 and statement.json()["commission_total"] == "3900.00"
    spk = statement.json()["id"]
    assert len(api.get(f"/commissions/statements/{spk}/entries").json()) == 2
    approved = api.post(f"/commissions/statements/{spk}/approve").json()
    assert approved["status"] == "approved"
    assert api.get("/commissions", locked="true").json()["items"][0]["locked"] is True
    assert api.post(f"/commissions/statements/{spk}/reopen").json()["status"] == "open"
    assert (
        api.post("/commissions/statements/lock", {"period_kind": "quarter", "day": TODAY().isoformat()}).status_code
        == 200
    )


def test_expenses_over_the_api(tenant, account):
    manager = make_member(tenant, roles=("Sales manager",))
    rep = make_member(tenant, roles=("Sales representative",), manager=manager.member)
    rep_api, manager_api = Api(token_for(tenant, rep)), Api(token_for(tenant, manager))
    created = rep_api.post("/expenses", {"amount": "230.40", "description": "出租车 Taxi", "category": "transport"})
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["owner_id"] == rep.pk and created.json()["currency"] == "CNY"
    assert rep_api.post(f"/expenses/{pk}/submit").json()["status"] == "submitted"
    assert rep_api.post(f"/expenses/{pk}/decision", {"decision": "approve"}).status_code == 403
    assert manager_api.post(f"/expenses/{pk}/decision", {"decision": "reject"}).status_code == 422  # needs a comment
    decided = manager_api.post(f"/expenses/{pk}/decision", {"decision": "approve"}).json()
    assert decided["status"] == "approved" and decided["decided_by_id"] == manager.pk
    report = manager_api.get("/expenses/report").json()
    assert report == [{"owner_id": rep.pk, "owner": rep.full_name, "currency": "CNY", "count": 1,
                       "by_status": {"approved": "230.40"}, "total": "230.40"}]  # fmt: skip
    assert rep_api.delete(f"/expenses/{pk}").status_code == 422


def test_permissions_over_the_api(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        records = make_finance_records(tenant.admin, "P")
    rep = make_member(tenant, roles=("Sales representative",))
    rep_api = Api(token_for(tenant, rep))
    for path in (f"/contracts/{records['contract'].pk}", f"/invoices/{records['invoice'].pk}",
                 f"/payments/{records['payment'].pk}", f"/commissions/{records['entry'].pk}",
                 f"/commissions/statements/{records['statement'].pk}", f"/expenses/{records['expense'].pk}"):  # fmt: skip
        assert rep_api.get(path).status_code == 404, path
    assert rep_api.get("/invoices").json()["items"] == []
    assert rep_api.get("/commissions").json()["items"] == []
    assert rep_api.post("/payments", {"invoice_id": records["invoice"].pk, "amount": "1"}).status_code == 422  # unseen
    with tenant_context(tenant, actor=tenant.admin):
        theirs = services.invoice_create(actor=tenant.admin, data={"account": records["account"], "owner": rep},
                                         lines=[{"description": "x", "quantity": "1", "unit_price": "9"}])  # fmt: skip
        services.invoice_issue(actor=tenant.admin, invoice=theirs)
    assert rep_api.get(f"/invoices/{theirs.pk}").status_code == 200
    assert rep_api.post("/payments", {"invoice_id": theirs.pk, "amount": "1"}).status_code == 403  # reps do not record
    assert rep_api.post("/commission-plans", {"name": "Mine"}).status_code == 403
    assert rep_api.post("/commissions/accrue", {}).status_code == 403
    assert rep_api.get("/commission-plans").status_code == 200
    read = Api(token_for(tenant, tenant.admin, scope="read"))
    assert read.post(f"/invoices/{records['invoice'].pk}/void", {"reason": "x"}).status_code == 403
    with tenant_context(tenant):
        assert Invoice.objects.get(pk=records["invoice"].pk).status == "partly_paid"
        assert CommissionEntry.objects.count() == 1 and Contract.objects.count() == 1


def test_list_query_counts_do_not_grow(api, tenant, account, django_assert_max_num_queries):
    made = []

    def make(n):
        with tenant_context(tenant, actor=tenant.admin):
            for _ in range(n):
                made.append(make_finance_records(tenant.admin, f"M{len(made)}"))
                day = TODAY() - datetime.timedelta(days=31 * len(made))
                commission_services.statement_create(actor=tenant.admin, data={"period_start": day})

    make(1)
    paths = ("/contracts", "/invoices", "/payments", "/commission-plans", "/commissions", "/commissions/statements",
             "/expenses")  # fmt: skip
    counts = {}
    for path in paths:
        api.get(path)
        with django_assert_max_num_queries(30) as captured:
            assert api.get(path).status_code == 200, path
        counts[path] = len(captured.captured_queries)
    make(4)
    for path, n in counts.items():
        with django_assert_max_num_queries(n + 1):
            response = api.get(path, limit=3)
        assert response.status_code == 200 and len(response.json()["items"]) == 3, path


def test_openapi_lists_the_finance_routes(api):
    spec = api.get("/openapi.json").json()
    for path in ("/api/v1/contracts", "/api/v1/invoices/{pk}/issue", "/api/v1/payments", "/api/v1/commission-plans",
                 "/api/v1/commissions/statements/{pk}/approve", "/api/v1/expenses/{pk}/decision",
                 "/api/v1/contracts/stats"):  # fmt: skip
        assert path in spec["paths"], path
