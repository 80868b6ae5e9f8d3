"""Finance pages: lists (query counts), details, contract / invoice / expense flows through the UI, invoice PDF,
statistics, expense report, approvals inbox, settings, permissions."""

import datetime
import io
from decimal import Decimal as D

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from guanxi.commerce import services as commerce_services
from guanxi.finance import commission_services, services
from guanxi.finance.models import (
    CommissionEntry,
    CommissionStatement,
    Contract,
    ContractStatus,
    Expense,
    ExpenseStatus,
    Invoice,
    InvoiceStatus,
    Payment,
)
from guanxi.finance.testing import make_finance_records
from guanxi.org.models import Member
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member
from guanxi.sales import services as sales_services

HTMX = {"HTTP_HX_REQUEST": "true"}
TODAY = datetime.date.today
LISTS = ("contract_list", "invoice_list", "payment_list", "commission_plan_list", "commission_entry_list",
         "commission_statement_list", "expense_list")  # fmt: skip
PAGES = ("contract_stats", "expense_report", "approvals", "settings")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def fin(tenant):
    admin = tenant.admin
    with tenant_context(tenant, actor=admin):
        records = make_finance_records(admin, "演示")
    # The test itself runs in the tenant (PostgreSQL's row-level security hides rows otherwise).
    with tenant_context(tenant, actor=admin):
        yield {"tenant": tenant, "admin": admin, **records}


def login(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def more_records(fin, n=12):
    admin = fin["admin"]
    for i in range(n):
        contract = services.contract_create(actor=admin, data={"account": fin["account"], "value": D("1000"),
                                                               "title": f"C{i}"})  # fmt: skip
        services.contract_set_milestones(actor=admin, contract=contract, milestones=[
            {"due_date": TODAY(), "description": f"M{j}", "amount": "10"} for j in range(3)])  # fmt: skip
        invoice = services.invoice_create(actor=admin, data={"account": fin["account"]},
                                          lines=[{"description": f"L{j}", "quantity": "1", "unit_price": "100"} for j in range(3)])  # fmt: skip
        services.invoice_issue(actor=admin, invoice=invoice)
        services.payment_create(actor=admin, data={"invoice": invoice, "amount": "10"})
        services.expense_create(actor=admin, data={"description": f"E{i}", "amount": "5", "account": fin["account"]})
        commission_services.plan_create(actor=admin, data={"name": f"Plan {i}"})
        commission_services.adjustment_create(actor=admin, data={"amount": "1", "description": f"A{i}"})
        commission_services.statement_create(
            actor=admin, data={"period_start": TODAY() - datetime.timedelta(days=40 * (i + 1))}
        )


def test_lists_and_pages_render_and_do_not_grow_in_queries(fin, django_assert_max_num_queries):
    client = login(fin["admin"])
    counts = {}
    for name in LISTS + PAGES:
        with django_assert_max_num_queries(60) as ctx:
            response = client.get(reverse(f"finance:{name}"))
        assert response.status_code == 200, name
        counts[name] = len(ctx.captured_queries)
    more_records(fin)
    for name, before in counts.items():
        with django_assert_max_num_queries(before + 1) as ctx:  # + a COUNT once there is more than one page
            response = client.get(reverse(f"finance:{name}"))
        assert response.status_code == 200, name
    page = client.get(reverse("finance:invoice_list")).content.decode()
    assert fin["invoice"].number in page


def test_detail_pages_do_not_grow_with_rows(fin, django_assert_max_num_queries):
    client = login(fin["admin"])
    admin = fin["admin"]
    small = services.contract_create(actor=admin, data={"account": fin["account"], "value": D("1000")})
    big = services.contract_create(actor=admin, data={"account": fin["account"], "value": D("1000")})
    services.contract_set_milestones(actor=admin, contract=big, milestones=[
        {"due_date": TODAY(), "description": f"M{j}", "amount": "10"} for j in range(10)])  # fmt: skip
    with django_assert_max_num_queries(80) as ctx:
        assert client.get(small.get_absolute_url()).status_code == 200
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        page = client.get(big.get_absolute_url()).content.decode()
    assert page.count('data-testid="milestone-row"') == 10 + 3  # and three empty rows to add more
    one = services.invoice_create(actor=admin, data={"account": fin["account"]},
                                  lines=[{"description": "x", "quantity": "1", "unit_price": "100"}])  # fmt: skip
    many = services.invoice_create(actor=admin, data={"account": fin["account"]},
                                   lines=[{"description": f"x{j}", "quantity": "1", "unit_price": "100"} for j in range(10)])  # fmt: skip
    for invoice in (one, many):
        services.invoice_issue(actor=admin, invoice=invoice)
    for _ in range(6):
        services.payment_create(actor=admin, data={"invoice": many, "amount": "10"})
    services.payment_create(actor=admin, data={"invoice": one, "amount": "10"})
    with django_assert_max_num_queries(80) as ctx:
        assert client.get(one.get_absolute_url()).status_code == 200
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        page = client.get(many.get_absolute_url()).content.decode()
    assert page.count('data-testid="payment-row"') == 6
    for obj in (fin["payment"], fin["plan"], fin["entry"], fin["statement"], fin["expense"]):
        assert client.get(obj.get_absolute_url()).status_code == 200, obj


def test_contract_flow_through_the_pages(fin, tenant):
    client = login(fin["admin"])
    opportunity = sales_services.opportunity_create(actor=fin["admin"], data={"name": "大单 Big deal",
                                                                              "account": fin["account"], "amount": D("250000")})  # fmt: skip
    sales_services.opportunity_mark_won(actor=fin["admin"], opportunity=opportunity, reason="Won")
    form = client.get(reverse("finance:contract_create") + f"?opportunity={opportunity.pk}").content.decode()
    assert "大单 Big deal" in form and "250000" in form
    response = client.post(reverse("finance:contract_create"), {
        "title": "", "account": fin["account"].pk, "opportunity": opportunity.pk, "owner": fin["admin"].pk,
        "start_date": TODAY().isoformat(), "end_date": "", "value": "", "currency": "",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    contract = Contract.objects.get(opportunity=opportunity)
    assert contract.title == "大单 Big deal" and contract.value == D("250000.00")
    response = client.post(reverse("finance:contract_milestones", args=[contract.pk]), {
        "milestone_count": "3",
        "milestones-0-due_date": TODAY().isoformat(), "milestones-0-description": "签约 Signing", "milestones-0-percent": "30",
        "milestones-1-due_date": TODAY().isoformat(), "milestones-1-description": "上线 Go-live", "milestones-1-amount": "175000",
    })  # fmt: skip
    assert response.status_code == 302
    assert contract.milestones.count() == 2
    client.post(reverse("finance:contract_submit", args=[contract.pk]), {"message": "请审批"})
    contract.refresh_from_db()
    assert contract.status == ContractStatus.UNDER_REVIEW
    approval = contract.approvals.get(status="pending")
    inbox = client.get(reverse("finance:approvals")).content.decode()
    assert contract.number in inbox
    client.post(reverse("finance:contract_decide", args=[approval.pk]), {"decision": "approve", "comment": "OK"})
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    page = client.get(contract.get_absolute_url()).content.decode()
    assert 'data-testid="invoice-milestone"' in page and "75,000.00" in page
    milestone = contract.milestones.order_by("position").first()
    response = client.post(reverse("finance:milestone_invoice", args=[contract.pk, milestone.pk]))
    invoice = Invoice.objects.get(contract=contract)
    assert response.status_code == 302 and response["Location"] == invoice.get_absolute_url()
    response = client.post(reverse("finance:contract_renew", args=[contract.pk]))
    renewal = Contract.objects.get(renewed_from=contract)
    assert response["Location"] == renewal.get_absolute_url()
    contract.refresh_from_db()
    assert contract.status == ContractStatus.RENEWED
    account_page = client.get(reverse("finance:related_contracts") + f"?account={fin['account'].pk}").content.decode()
    assert contract.number in account_page and renewal.number in account_page


def test_invoice_flow_through_the_pages(fin):
    from pypdf import PdfReader

    client = login(fin["admin"])
    response = client.post(reverse("finance:invoice_create"), {
        "title": "服务费 Service fee", "account": fin["account"].pk, "owner": fin["admin"].pk, "currency": "CNY",
        "discount_percent": "0", "payment_terms_days": "15", "billing_address": "北京市朝阳区", "terms": "", "notes": "",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    invoice = Invoice.objects.get(title="服务费 Service fee")
    editor = {"line_count": "1", "discount_percent": "0", "lines-0-description": "实施 Implementation",
              "lines-0-quantity": "3", "lines-0-unit_price": "33.335", "lines-0-tax_rate": "6"}  # fmt: skip
    preview = client.post(reverse("finance:invoice_lines_preview", args=[invoice.pk]), editor, **HTMX)
    assert preview.status_code == 200 and "106.01" in preview.content.decode()  # 100.01 + 6.00
    saved = client.post(reverse("finance:invoice_lines", args=[invoice.pk]), editor, **HTMX)
    assert saved.status_code == 204 and saved["HX-Redirect"] == invoice.get_absolute_url()
    invoice.refresh_from_db()
    assert invoice.total == D("106.01") and invoice.number == ""
    client.post(reverse("finance:invoice_issue", args=[invoice.pk]))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ISSUED and invoice.number.startswith("INV-")
    assert invoice.due_date == invoice.invoice_date + datetime.timedelta(days=15)
    response = client.post(reverse("finance:invoice_pay", args=[invoice.pk]),
                           {"amount": "200", "date": TODAY().isoformat(), "method": "wechat_pay", "reference": "WX1"})  # fmt: skip
    assert Payment.objects.filter(invoice=invoice).count() == 0  # overpayment refused
    client.post(reverse("finance:invoice_pay", args=[invoice.pk]),
                {"amount": "106.01", "date": TODAY().isoformat(), "method": "wechat_pay", "reference": "WX1"})  # fmt: skip
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    pdf = client.get(reverse("finance:invoice_pdf", args=[invoice.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert invoice.number in text and "实施 Implementation" in text and "北京市朝阳区" in text and "106.01" in text
    client.post(reverse("finance:invoice_void", args=[invoice.pk]), {"reason": "Duplicate"})
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.VOID


def test_invoice_from_an_order_page(fin):
    client = login(fin["admin"])
    order = fin["order"]
    response = client.post(reverse("finance:invoice_from_order", args=[order.pk]))
    assert response.status_code == 302 and response["Location"] == order.get_absolute_url()  # still a draft
    commerce_services.order_transition(actor=fin["admin"], order=order, to="confirmed")
    response = client.post(reverse("finance:invoice_from_order", args=[order.pk]))
    invoice = Invoice.objects.get(order=order)
    assert response["Location"] == invoice.get_absolute_url() and invoice.total == D("10.00")


def test_the_order_page_offers_billing_to_who_may_create_invoices(fin, tenant):
    order = fin["order"]
    admin = login(fin["admin"])
    bill_url = reverse("finance:invoice_from_order", args=[order.pk])
    assert 'data-testid="bill-order"' not in admin.get(order.get_absolute_url()).content.decode()  # a draft
    commerce_services.order_transition(actor=fin["admin"], order=order, to="confirmed")
    page = admin.get(order.get_absolute_url()).content.decode()
    assert 'data-testid="bill-order"' in page and f'action="{bill_url}"' in page and "Bill this order" in page
    readonly = login(make_member(tenant, roles=("Read only",)))
    page = readonly.get(order.get_absolute_url())
    assert page.status_code == 200 and 'data-testid="bill-order"' not in page.content.decode()
    assert readonly.post(bill_url).status_code == 403 and not Invoice.objects.filter(order=order).exists()
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    zh.force_login(fin["admin"])
    with translation.override(translation.get_language()):  # the locale middleware leaves zh-hans active
        assert "开具发票" in zh.get(order.get_absolute_url()).content.decode()
    response = admin.post(bill_url)  # the button's form
    invoice = Invoice.objects.get(order=order)
    assert response["Location"] == invoice.get_absolute_url()
    with translation.override(translation.get_language()):  # the locale middleware leaves zh-hans active
        page = zh.get(order.get_absolute_url()).content.decode()
    # Billed now: the button gives way to the invoice that bills the order.
    assert "开具发票" not in page and "已开票" in page and invoice.get_absolute_url() in page


def test_expense_flow_and_report(fin, tenant):
    manager = make_member(tenant, roles=("Sales manager",), name="经理 Manager")
    rep = make_member(tenant, roles=("Sales representative",), manager=Member.objects.get(user=manager), name="Rep Wu")
    rep_client, manager_client = login(rep), login(manager)
    response = rep_client.post(reverse("finance:expense_create"), {
        "date": TODAY().isoformat(), "category": "travel", "amount": "1280.00", "currency": "CNY",
        "description": "高铁 Train to Shanghai", "owner": rep.pk,
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    expense = Expense.objects.get(description="高铁 Train to Shanghai")
    assert expense.owner == rep
    assert manager_client.get(expense.get_absolute_url()).status_code == 200  # the manager sees their reps' expenses
    assert login(make_member(tenant)).get(expense.get_absolute_url()).status_code == 404
    rep_client.post(reverse("finance:expense_submit", args=[expense.pk]))
    expense.refresh_from_db()
    assert expense.status == ExpenseStatus.SUBMITTED and expense.approver == manager
    assert (
        rep_client.post(reverse("finance:expense_decide", args=[expense.pk]), {"decision": "approve"}).status_code
        == 404
    )
    inbox = manager_client.get(reverse("finance:approvals")).content.decode()
    assert "高铁 Train to Shanghai" in inbox
    manager_client.post(reverse("finance:expense_decide", args=[expense.pk]), {"decision": "approve", "comment": ""})
    expense.refresh_from_db()
    assert expense.status == ExpenseStatus.APPROVED
    report = manager_client.get(reverse("finance:expense_report")).content.decode()
    assert "Rep Wu" in report and "1,280.00" in report
    mine = rep_client.get(reverse("finance:expense_list")).content.decode()
    assert "高铁 Train to Shanghai" in mine and fin["expense"].description not in mine  # reps see their own


def test_commission_pages(fin):
    client = login(fin["admin"])
    statement = fin["statement"]
    page = client.get(statement.get_absolute_url()).content.decode()
    assert 'data-testid="statement-entry"' in page
    client.post(reverse("finance:commission_statement_approve", args=[statement.pk]))
    statement.refresh_from_db()
    assert statement.status == "approved"
    assert CommissionEntry.objects.filter(statement=statement).exists()
    response = client.post(reverse("finance:commission_plan_rules", args=[fin["plan"].pk]), {
        "rates_count": "1", "rates-0-category": "", "rates-0-business_line": "", "rates-0-rate": "",
        "tiers_count": "2", "tiers-0-threshold": "0", "tiers-0-rate": "3", "tiers-1-threshold": "100000", "tiers-1-rate": "5",
    })  # fmt: skip
    assert response.status_code == 302
    assert list(fin["plan"].tiers.values_list("rate", flat=True)) == [D("3"), D("5")]
    client.post(reverse("finance:commission_entry_create"),
                {"rep": fin["admin"].pk, "date": TODAY().isoformat(), "amount": "-12.5", "currency": "CNY",
                 "description": "Correction"})  # fmt: skip
    assert CommissionEntry.objects.filter(kind="adjustment", amount=D("-12.50")).exists()
    client.post(reverse("finance:period_lock"), {"period_kind": "month", "day": TODAY().isoformat(), "currency": "CNY"})
    assert CommissionStatement.objects.filter(status="approved").count() == 1  # the open statement of the month
    assert client.post(reverse("finance:commissions_accrue")).status_code == 302


def test_permissions_of_the_pages(fin, tenant):
    rep = make_member(tenant, roles=("Sales representative",))
    client = login(rep)
    for obj in (fin["contract"], fin["invoice"], fin["payment"], fin["entry"], fin["statement"], fin["expense"]):
        assert client.get(obj.get_absolute_url()).status_code == 404, obj
    assert client.get(reverse("finance:settings")).status_code == 403
    assert client.get(reverse("finance:commission_plan_list")).status_code == 200  # everyone reads the plans
    assert client.post(reverse("finance:commission_statement_approve", args=[fin["statement"].pk])).status_code == 404
    assert client.post(reverse("finance:period_lock"), {"period_kind": "month", "day": "2026-01-01"}).status_code == 403
    assert client.post(reverse("finance:commissions_accrue")).status_code == 403
    assert client.get(reverse("finance:payment_create")).status_code == 403
    readonly = make_member(tenant, roles=("Read only",))
    ro = login(readonly)
    assert ro.get(fin["invoice"].get_absolute_url()).status_code == 200
    assert ro.get(reverse("finance:expense_list")).status_code == 403
    assert ro.post(reverse("finance:invoice_void", args=[fin["invoice"].pk]), {"reason": "x"}).status_code == 404
    fin["invoice"].refresh_from_db()
    assert fin["invoice"].status != InvoiceStatus.VOID


def test_settings_page(fin):
    client = login(fin["admin"])
    data = {"renewal_reminder_days": "45", "expiry_warning_days": "10", "invoice_due_days": "20", "default_currency": "cny",
            "default_tax_rate": "13", "company_name": "关系科技 Guanxi Tech", "company_address": "上海",
            "company_tax_id": "91310000X", "bank_details": "ICBC 6222", "invoice_terms": "30 天付款"}  # fmt: skip
    assert client.post(reverse("finance:settings"), data).status_code == 302
    with tenant_context(fin["tenant"]):
        conf = services.finance_settings()
        assert (conf.renewal_reminder_days, conf.default_currency, conf.warning_thresholds) == (45, "CNY", [45, 10])


def test_the_sidebar_lists_the_finance_pages(fin):
    page = login(fin["admin"]).get(reverse("finance:contract_list")).content.decode()
    for label in ("Contracts", "Invoices", "Commission statements", "Expense report", "Finance settings"):
        assert label in page


def test_pages_render_in_chinese(fin):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(fin["admin"])
    urls = [reverse(f"finance:{name}") for name in LISTS + PAGES]
    urls += [obj.get_absolute_url() for obj in (fin["contract"], fin["invoice"], fin["payment"], fin["plan"],
                                                fin["entry"], fin["statement"], fin["expense"])]  # fmt: skip
    urls += [reverse("finance:contract_create"), reverse("finance:invoice_create"), reverse("finance:expense_create")]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert '<html lang="zh-hans"' in response.content.decode(), url
