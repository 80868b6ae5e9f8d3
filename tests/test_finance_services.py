"""Finance services: contracts (numbering, milestones, approval, transitions, renewal), invoices (gapless
numbering, totals, issue / void), payments (status, overpayment), expenses (approval)."""

import datetime
import threading
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.utils import timezone

from guanxi.activities.models import Notification
from guanxi.audit.models import AuditEntry
from guanxi.commerce import services as commerce_services
from guanxi.commerce.models import TaxClass
from guanxi.customers import services as customer_services
from guanxi.finance import services
from guanxi.finance.models import (
    Contract,
    ContractApproval,
    ContractStatus,
    Expense,
    ExpenseStatus,
    Invoice,
    InvoiceStatus,
    Payment,
    Sequence,
)
from guanxi.org.models import Member
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member, make_tenant
from guanxi.sales import services as sales_services

TODAY = datetime.date.today


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def books(in_tenant):
    admin = in_tenant.admin
    account = customer_services.account_create(actor=admin, data={"name": "北京华润 Huarun", "city": "北京"})
    contact = customer_services.contact_create(
        actor=admin, data={"family_name": "王", "given_name": "芳", "account": account, "email": "wang@huarun.example"}
    )
    return {"tenant": in_tenant, "admin": admin, "account": account, "contact": contact}


def new_contract(books, actor=None, **data):
    actor = actor or books["admin"]
    start = data.pop("start_date", TODAY())
    return services.contract_create(
        actor=actor,
        data={"title": "ERP 维护 Maintenance", "account": books["account"], "value": D("120000"), "start_date": start,
              "end_date": start + datetime.timedelta(days=364), **data},
    )  # fmt: skip


def new_invoice(books, lines=None, actor=None, **data):
    actor = actor or books["admin"]
    return services.invoice_create(
        actor=actor,
        data={"account": books["account"], **data},
        lines=lines if lines is not None else [{"description": "Consulting", "quantity": "1", "unit_price": "1000"}],
    )


def won_opportunity(books, amount="50000"):
    opportunity = sales_services.opportunity_create(
        actor=books["admin"], data={"name": "年度续约 Renewal deal", "account": books["account"], "amount": D(amount)}
    )
    return sales_services.opportunity_mark_won(actor=books["admin"], opportunity=opportunity, reason="Price")


# --- contracts --------------------------------------------------------------------------------------------


def test_contract_numbers_are_sequential_per_tenant(books, other_tenant):
    year = timezone.localdate().year
    first, second = new_contract(books), new_contract(books)
    assert (first.number, second.number) == (f"C-{year}-00001", f"C-{year}-00002")
    assert first.status == ContractStatus.DRAFT and first.owner == books["admin"]
    with tenant_context(other_tenant, actor=other_tenant.admin):
        account = customer_services.account_create(actor=other_tenant.admin, data={"name": "Other"})
        assert services.contract_create(actor=other_tenant.admin, data={"account": account}).number == f"C-{year}-00001"


def test_contract_from_a_won_opportunity_takes_its_values(books):
    opportunity = won_opportunity(books)
    contract = services.contract_create(actor=books["admin"], data={"opportunity": opportunity.pk})
    assert contract.account == books["account"] and contract.title == opportunity.name
    assert contract.value == D("50000.00") and contract.currency == "CNY"
    assert contract.end_date == services._add_years(contract.start_date, 1) - datetime.timedelta(days=1)
    open_deal = sales_services.opportunity_create(
        actor=books["admin"], data={"name": "Open", "account": books["account"]}
    )
    with pytest.raises(ValidationError) as exc:
        services.contract_create(actor=books["admin"], data={"opportunity": open_deal})
    assert "opportunity" in exc.value.message_dict


def test_contract_from_an_order(books):
    order = commerce_services.order_create(
        actor=books["admin"], data={"account": books["account"]},
        lines=[{"description": "Licence", "quantity": "3", "unit_price": "1000"}],
    )  # fmt: skip
    contract = services.contract_create(actor=books["admin"], data={"order": order})
    assert contract.order == order and contract.value == order.total == D("3000.00")
    assert contract.account == books["account"]


def test_contract_dates_and_accounts_are_checked(books):
    with pytest.raises(ValidationError) as exc:
        new_contract(books, end_date=TODAY() - datetime.timedelta(days=400))
    assert "end_date" in exc.value.message_dict
    other = customer_services.account_create(actor=books["admin"], data={"name": "Other"})
    stranger = customer_services.contact_create(actor=books["admin"], data={"family_name": "X", "account": other})
    with pytest.raises(ValidationError) as exc:
        new_contract(books, contact=stranger)
    assert "contact" in exc.value.message_dict


def test_milestones_amounts_and_percentages_round_half_up(books):
    contract = new_contract(books, value=D("10.05"))
    milestones = services.contract_set_milestones(
        actor=books["admin"], contract=contract,
        milestones=[{"due_date": TODAY(), "description": "Signing", "percent": "50"},
                    {"due_date": TODAY().isoformat(), "description": "Go-live", "amount": "5.02"}],
    )  # fmt: skip
    assert [m.amount_of(contract.value) for m in milestones] == [D("5.03"), D("5.02")]  # 5.025 → 5.03
    with pytest.raises(ValidationError) as exc:
        services.contract_set_milestones(
            actor=books["admin"], contract=contract,
            milestones=[{"due_date": TODAY(), "description": "A", "percent": "50"},
                        {"due_date": TODAY(), "description": "B", "amount": "5.03"}],
        )  # fmt: skip
    assert "milestones" in exc.value.message_dict  # 5.03 + 5.03 > 10.05
    with pytest.raises(ValidationError) as exc:
        services.contract_set_milestones(
            actor=books["admin"], contract=contract,
            milestones=[{"due_date": None, "description": "", "amount": "1", "percent": "1"}],
        )  # fmt: skip
    assert {"milestones.0.due_date", "milestones.0.description", "milestones.0.amount"} <= set(exc.value.message_dict)
    with pytest.raises(ValidationError):
        services.contract_update(actor=books["admin"], contract=contract, data={"value": D("9")})


def test_approval_goes_to_the_owners_manager(books, tenant):
    manager = make_member(tenant, roles=("Sales manager",), name="经理 Manager")
    rep = make_member(tenant, roles=("Sales representative",), manager=Member.objects.get(user=manager))
    with tenant_context(tenant, actor=rep):
        account = customer_services.account_create(actor=rep, data={"name": "Rep account"})
        contract = services.contract_create(actor=rep, data={"account": account, "value": D("1000")})
        approval = services.contract_submit(actor=rep, contract=contract, message="Standard terms")
        assert approval.approver == manager
        contract.refresh_from_db()
        assert contract.status == ContractStatus.UNDER_REVIEW
        with pytest.raises(ValidationError):  # no changes while under review
            services.contract_set_milestones(actor=rep, contract=contract, milestones=[])
        with pytest.raises(ValidationError):
            services.contract_update(actor=rep, contract=contract, data={"value": D("5")})
        with pytest.raises(PermissionDenied):
            services.contract_decide(actor=rep, approval=approval, approve=True)
    note = Notification.objects.get(user=manager)
    assert contract.number in note.title
    with tenant_context(tenant, actor=manager):
        with pytest.raises(ValidationError):  # rejecting needs a reason
            services.contract_decide(actor=manager, approval=approval, approve=False)
        services.contract_decide(actor=manager, approval=approval, approve=True, comment="OK")
    contract.refresh_from_db()
    approval.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    assert (contract.approved_by, approval.status, approval.decided_by) == (manager, "approved", manager)
    assert Notification.objects.filter(user=rep, title__contains=contract.number).exists()
    assert AuditEntry.objects.filter(object_id=contract.pk, changes__has_key="approval").exists()


def test_without_a_manager_the_administrators_decide_and_rejection_returns_to_draft(books, tenant):
    rep = make_member(tenant, roles=("Sales representative",))
    with tenant_context(tenant, actor=rep):
        account = customer_services.account_create(actor=rep, data={"name": "Rep account"})
        contract = services.contract_create(actor=rep, data={"account": account, "value": D("1000")})
        approval = services.contract_submit(actor=rep, contract=contract)
    assert approval.approver is None
    assert Notification.objects.filter(user=books["admin"]).count() == 1
    services.contract_decide(actor=books["admin"], approval=approval, approve=False, comment="Wrong price")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.DRAFT
    with tenant_context(tenant, actor=rep):
        second = services.contract_submit(actor=rep, contract=contract)
        services.contract_withdraw(actor=rep, contract=contract)
    second.refresh_from_db()
    assert second.status == ContractApproval.Status.CANCELLED
    assert ContractApproval.objects.filter(contract=contract).count() == 2


def approve(books, contract):
    approval = services.contract_submit(actor=books["admin"], contract=contract)
    services.contract_decide(actor=books["admin"], approval=approval, approve=True)
    contract.refresh_from_db()
    return contract


def test_transitions_are_enforced(books):
    contract = new_contract(books)
    with pytest.raises(ValidationError):
        services.contract_terminate(actor=books["admin"], contract=contract, reason="x")
    with pytest.raises(ValidationError):
        services.contract_renew(actor=books["admin"], contract=contract)
    contract = approve(books, contract)
    with pytest.raises(ValidationError):
        services.contract_submit(actor=books["admin"], contract=contract)
    with pytest.raises(ValidationError):
        services.contract_terminate(actor=books["admin"], contract=contract, reason="  ")
    services.contract_terminate(actor=books["admin"], contract=contract, reason="Customer went bankrupt")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.TERMINATED and contract.ended_at is not None
    with pytest.raises(ValidationError):
        services.contract_renew(actor=books["admin"], contract=contract)
    with pytest.raises(ValidationError):
        services.contract_delete(actor=books["admin"], contract=contract)


def test_renewal_creates_a_linked_draft_and_deleting_it_restores_the_old_status(books):
    start = TODAY() - datetime.timedelta(days=300)
    contract = new_contract(books, start_date=start)
    services.contract_set_milestones(actor=books["admin"], contract=contract, milestones=[
        {"due_date": start + datetime.timedelta(days=10), "description": "Q1", "percent": "25"}])  # fmt: skip
    contract = approve(books, contract)
    renewal = services.contract_renew(actor=books["admin"], contract=contract)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.RENEWED and contract.previous_status == ContractStatus.ACTIVE
    assert renewal.renewed_from == contract and renewal.status == ContractStatus.DRAFT
    assert renewal.start_date == contract.end_date + datetime.timedelta(days=1)
    assert renewal.term_days == contract.term_days and renewal.value == contract.value
    assert renewal.number != contract.number
    milestone = renewal.milestones.get()
    assert milestone.due_date == start + datetime.timedelta(days=10) + (renewal.start_date - contract.start_date)
    assert not milestone.invoiced
    services.contract_delete(actor=books["admin"], contract=renewal)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE


def test_contract_schedule_moves_statuses_and_warns_once_per_threshold(books):
    today = TODAY()
    soon = approve(books, new_contract(books, start_date=today - datetime.timedelta(days=340)))  # ends in 24 days
    urgent = approve(books, new_contract(books, start_date=today - datetime.timedelta(days=360)))  # ends in 4 days
    ended = approve(books, new_contract(books, start_date=today - datetime.timedelta(days=400)))  # ended
    later = approve(books, new_contract(books, start_date=today))  # a year to go
    counts = services.contracts_run_schedule(today=today)
    assert counts == {"expired": 1, "expiring": 2, "warnings": 2}
    statuses = dict(Contract.objects.values_list("pk", "status"))
    assert statuses[soon.pk] == statuses[urgent.pk] == ContractStatus.EXPIRING
    assert statuses[ended.pk] == ContractStatus.EXPIRED and statuses[later.pk] == ContractStatus.ACTIVE
    notes = list(Notification.objects.filter(user=books["admin"]).values_list("title", flat=True))
    assert any(soon.number in t and "24" in t for t in notes)
    assert any(urgent.number in t and "4" in t for t in notes)
    assert any(ended.number in t for t in notes)
    before = Notification.objects.count()
    assert services.contracts_run_schedule(today=today) == {"expired": 0, "expiring": 0, "warnings": 0}
    assert Notification.objects.count() == before
    # 20 days later the first one crosses 7 days: its last warning comes once; the urgent one has ended
    counts = services.contracts_run_schedule(today=today + datetime.timedelta(days=20))
    assert counts == {"expired": 1, "expiring": 0, "warnings": 1}
    assert services.contracts_run_schedule(today=today + datetime.timedelta(days=20))["warnings"] == 0


def test_warning_thresholds_follow_the_settings(books):
    services.finance_settings_update(actor=books["admin"], data={"renewal_reminder_days": 60, "expiry_warning_days": 0})
    contract = approve(books, new_contract(books, start_date=TODAY() - datetime.timedelta(days=320)))  # 44 days left
    assert services.contracts_run_schedule()["warnings"] == 1
    contract.refresh_from_db()
    assert contract.status == ContractStatus.EXPIRING
    with pytest.raises(ValidationError):
        services.finance_settings_update(
            actor=books["admin"], data={"renewal_reminder_days": 7, "expiry_warning_days": 30}
        )


# --- invoices and payments ------------------------------------------------------------------------------------


def test_invoice_totals_taxes_and_rounding(books):
    vat = TaxClass.objects.create(name="VAT 13%", rate=13)
    product = commerce_services.product_create(
        actor=books["admin"], data={"sku": "ERP", "name": "ERP", "list_price": D("33.335"), "tax_class": vat}
    )
    invoice = new_invoice(books, lines=[
        {"product": product.pk, "quantity": "3"},  # 100.005 → 100.01, tax 13.0013 → 13.00
        {"description": "Travel", "quantity": "1", "unit_price": "0.125", "tax_rate": "13"},  # 0.13 + 0.02
        {"description": "Travel", "quantity": "1", "unit_price": "0.125", "tax_rate": "13"},
    ])  # fmt: skip
    assert invoice.number == "" and invoice.status == InvoiceStatus.DRAFT
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (D("100.27"), D("13.04"), D("113.31"))
    assert invoice.total == sum(line.total for line in invoice.lines.all())
    services.invoice_update(actor=books["admin"], invoice=invoice, data={"discount_percent": D("10")})
    invoice.refresh_from_db()
    # per line: 100.01 × 10 % = 10.001 → 10.00; 0.13 × 10 % = 0.013 → 0.01 (twice)
    assert invoice.discount_total == D("10.02") and invoice.net_total == D("90.25")


def test_issuing_numbers_invoices_without_gaps_even_when_issuing_fails(books, monkeypatch):
    year = timezone.localdate().year
    drafts = [new_invoice(books) for _ in range(3)]
    empty = new_invoice(books, lines=[])
    assert not Invoice.objects.exclude(number="").exists()  # drafts have no number
    first = services.invoice_issue(actor=books["admin"], invoice=drafts[0])
    assert first.number == f"INV-{year}-00001" and first.status == InvoiceStatus.ISSUED
    assert first.due_date == first.invoice_date + datetime.timedelta(days=30)
    with pytest.raises(ValidationError):
        services.invoice_issue(actor=books["admin"], invoice=empty)  # no lines
    original = services.audit.record

    def failing(action, obj=None, **kwargs):
        if isinstance(obj, Invoice) and obj.pk == drafts[1].pk:
            raise RuntimeError("storage failed after the number was taken")
        return original(action, obj, **kwargs)

    monkeypatch.setattr(services.audit, "record", failing)
    with pytest.raises(RuntimeError):
        services.invoice_issue(actor=books["admin"], invoice=drafts[1])
    monkeypatch.setattr(services.audit, "record", original)
    drafts[1].refresh_from_db()
    assert drafts[1].number == "" and drafts[1].status == InvoiceStatus.DRAFT
    third = services.invoice_issue(actor=books["admin"], invoice=drafts[2])
    assert third.number == f"INV-{year}-00002"  # the failed issue gave its number back
    services.invoice_void(actor=books["admin"], invoice=first, reason="Wrong customer")
    first.refresh_from_db()
    assert first.status == InvoiceStatus.VOID and first.number == f"INV-{year}-00001"  # void keeps its number
    assert services.invoice_issue(actor=books["admin"], invoice=drafts[1]).number == f"INV-{year}-00003"
    with pytest.raises(ValidationError):
        services.invoice_issue(actor=books["admin"], invoice=drafts[1])
    with pytest.raises(ValidationError):
        services.invoice_set_lines(actor=books["admin"], invoice=drafts[1], lines=[])
    with pytest.raises(ValidationError):
        services.invoice_delete(actor=books["admin"], invoice=drafts[1])
    assert Sequence.objects.get(key="invoice").last_value == 3


def test_payments_move_the_status_and_overpayment_is_refused(books):
    invoice = new_invoice(
        books, lines=[{"description": "Work", "quantity": "1", "unit_price": "1000", "tax_rate": "6"}]
    )
    with pytest.raises(ValidationError):  # a draft takes no payments
        services.payment_create(actor=books["admin"], data={"invoice": invoice, "amount": "10"})
    invoice = services.invoice_issue(actor=books["admin"], invoice=invoice)
    first = services.payment_create(
        actor=books["admin"], data={"invoice": invoice, "amount": "600.00", "method": "alipay"}
    )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PARTLY_PAID and invoice.amount_paid == D("600.00")
    assert first.owner == invoice.owner and first.currency == "CNY" and first.created_by == books["admin"]
    with pytest.raises(ValidationError) as exc:
        services.payment_create(actor=books["admin"], data={"invoice": invoice, "amount": "460.01"})
    assert "amount" in exc.value.message_dict
    for bad in ("0", "-5", "1.001", None):
        with pytest.raises(ValidationError):
            services.payment_create(actor=books["admin"], data={"invoice": invoice, "amount": bad})
    services.payment_create(actor=books["admin"], data={"invoice": invoice, "amount": "460.00"})
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.balance == 0 and invoice.paid_at is not None
    with pytest.raises(ValidationError):
        services.payment_create(actor=books["admin"], data={"invoice": invoice, "amount": "0.01"})
    with pytest.raises(ValidationError):
        services.payment_update(actor=books["admin"], payment=first, data={"amount": "600.01"})
    services.payment_delete(actor=books["admin"], payment=first)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PARTLY_PAID and invoice.amount_paid == D("460.00")


def test_overdue_detection_is_idempotent_and_tells_the_owner(books):
    invoice = new_invoice(books, payment_terms_days=10)
    services.invoice_issue(actor=books["admin"], invoice=invoice, invoice_date=TODAY() - datetime.timedelta(days=15))
    paid = services.invoice_issue(
        actor=books["admin"], invoice=new_invoice(books), invoice_date=TODAY() - datetime.timedelta(days=90)
    )
    services.payment_create(actor=books["admin"], data={"invoice": paid, "amount": paid.total})
    current = services.invoice_issue(actor=books["admin"], invoice=new_invoice(books))
    assert services.invoices_mark_overdue() == 1
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OVERDUE and invoice.overdue_since == invoice.due_date + datetime.timedelta(
        days=1
    )
    assert invoice.days_overdue == 5
    assert Notification.objects.filter(user=books["admin"], title__contains=invoice.number).count() == 1
    assert services.invoices_mark_overdue() == 0
    assert Notification.objects.filter(user=books["admin"], title__contains=invoice.number).count() == 1
    services.payment_create(actor=books["admin"], data={"invoice": invoice, "amount": "100"})
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OVERDUE  # still past due
    services.payment_create(actor=books["admin"], data={"invoice": invoice, "amount": invoice.balance})
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    current.refresh_from_db()
    assert current.status == InvoiceStatus.ISSUED


def test_invoice_from_an_order_copies_lines_and_totals_once(books):
    order = commerce_services.order_create(
        actor=books["admin"], data={"account": books["account"], "discount_percent": D("5")},
        lines=[{"description": "Licence", "quantity": "3", "unit_price": "999.99", "tax_rate": "13"}],
    )  # fmt: skip
    with pytest.raises(ValidationError):  # a draft order is not billed
        services.invoice_from_order(actor=books["admin"], order=order)
    commerce_services.order_transition(actor=books["admin"], order=order, to="confirmed")
    order.refresh_from_db()
    invoice = services.invoice_from_order(actor=books["admin"], order=order)
    assert invoice.order == order and invoice.total == order.total and invoice.discount_percent == D("5")
    assert [(li.quantity, li.unit_price, li.total) for li in invoice.lines.all()] == [
        (li.quantity, li.unit_price, li.total) for li in order.lines.all()
    ]
    with pytest.raises(ValidationError):
        services.invoice_from_order(actor=books["admin"], order=order)
    services.invoice_delete(actor=books["admin"], invoice=invoice)
    assert services.invoice_from_order(actor=books["admin"], order=order).total == order.total
    services.invoice_delete(actor=books["admin"], invoice=Invoice.objects.get(order=order))
    again = services.invoice_create(actor=books["admin"], data={"order": order.pk, "title": "Billing 开票"})
    assert again.total == order.total and again.account == books["account"] and again.lines.count() == 1
    assert again.title == "Billing 开票"


def test_invoice_from_a_milestone_and_void_releases_it(books):
    services.finance_settings_update(actor=books["admin"], data={"default_tax_rate": D("6")})
    contract = new_contract(books, value=D("30000"))
    services.contract_set_milestones(actor=books["admin"], contract=contract, milestones=[
        {"due_date": TODAY() + datetime.timedelta(days=5), "description": "Kick-off", "percent": "33.33"}])  # fmt: skip
    milestone = contract.milestones.get()
    with pytest.raises(ValidationError):  # not approved yet
        services.invoice_from_milestone(actor=books["admin"], milestone=milestone)
    approve(books, contract)
    invoice = services.invoice_from_milestone(actor=books["admin"], milestone=milestone)
    line = invoice.lines.get()
    assert line.unit_price == D("9999.00") and line.tax_rate == D("6") and invoice.total == D("10598.94")
    assert invoice.contract == contract and invoice.due_date == milestone.due_date
    milestone.refresh_from_db()
    assert milestone.invoiced and milestone.invoice == invoice
    with pytest.raises(ValidationError):
        services.invoice_from_milestone(actor=books["admin"], milestone=milestone)
    services.invoice_issue(actor=books["admin"], invoice=invoice)
    services.invoice_void(actor=books["admin"], invoice=invoice, reason="Re-bill")
    milestone.refresh_from_db()
    assert not milestone.invoiced and milestone.invoice is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_issuing_has_no_gaps_and_no_duplicates(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are what this checks; SQLite serialises writers anyway")
    tenant = make_tenant("Numbers")
    with tenant_context(tenant, actor=tenant.admin):
        account = customer_services.account_create(actor=tenant.admin, data={"name": "A"})
        drafts = [
            services.invoice_create(actor=tenant.admin, data={"account": account},
                                    lines=[{"description": "x", "quantity": "1", "unit_price": "10"}]).pk
            for _ in range(24)
        ]  # fmt: skip
    failing_ids = set(drafts[::4])  # every fourth issue fails after taking its number
    original = services.audit.record

    def record(action, obj=None, **kwargs):
        if isinstance(obj, Invoice) and obj.pk in failing_ids and kwargs.get("note") == "issued":
            raise RuntimeError("boom")
        return original(action, obj, **kwargs)

    monkeypatch.setattr(services.audit, "record", record)
    numbers, failures, errors = [], [], []
    barrier = threading.Barrier(4)
    chunks = [drafts[i::4] for i in range(4)]

    def worker(ids):
        from django.db import connections

        try:
            barrier.wait()
            for pk in ids:
                with tenant_context(tenant, actor=tenant.admin):
                    try:
                        numbers.append(
                            services.invoice_issue(actor=tenant.admin, invoice=Invoice.objects.get(pk=pk)).number
                        )
                    except RuntimeError:
                        failures.append(pk)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(failures) == len(failing_ids) == 6
    year = timezone.localdate().year
    assert sorted(numbers) == [f"INV-{year}-{n:05d}" for n in range(1, 19)]  # 18 issued, numbered 1…18, no gap
    with tenant_context(tenant):
        assert Sequence.objects.get(key="invoice").last_value == 18
        assert Invoice.objects.filter(status="draft").count() == 6
        assert set(Invoice.objects.exclude(number="").values_list("number", flat=True)) == set(numbers)


# --- expenses ----------------------------------------------------------------------------------------------


def test_expense_approval_by_the_manager(books, tenant):
    manager = make_member(tenant, roles=("Sales manager",), name="经理 Manager")
    rep = make_member(tenant, roles=("Sales representative",), manager=Member.objects.get(user=manager))
    other_rep = make_member(tenant, roles=("Sales representative",))
    with tenant_context(tenant, actor=rep):
        with pytest.raises(ValidationError):  # an account the rep cannot see
            services.expense_create(actor=rep, data={"description": "x", "amount": "1", "account": books["account"].pk})
        account = customer_services.account_create(actor=rep, data={"name": "Rep account"})
        expense = services.expense_create(actor=rep, data={"description": "客户晚宴 Dinner", "amount": "688.5",
                                                           "category": "entertainment", "account": account.pk})  # fmt: skip
        assert expense.amount == D("688.50") and expense.owner == rep and expense.status == ExpenseStatus.DRAFT
        with pytest.raises(ValidationError):
            services.expense_create(actor=rep, data={"description": "x", "amount": "0"})
        services.expense_submit(actor=rep, expense=expense)
        expense.refresh_from_db()
        assert expense.status == ExpenseStatus.SUBMITTED and expense.approver == manager
        with pytest.raises(ValidationError):  # fixed once submitted
            services.expense_update(actor=rep, expense=expense, data={"amount": "1"})
        with pytest.raises(PermissionDenied):
            services.expense_decide(actor=rep, expense=expense, approve=True)
    with tenant_context(tenant, actor=other_rep), pytest.raises(Http404):  # not their manager: cannot even see it
        services.expense_decide(actor=other_rep, expense=expense, approve=True)
    assert Notification.objects.filter(user=manager, title__contains="688.50").exists()
    with tenant_context(tenant, actor=manager):
        with pytest.raises(ValidationError):
            services.expense_decide(actor=manager, expense=expense, approve=False)
        services.expense_decide(actor=manager, expense=expense, approve=False, comment="Receipt missing")
    expense.refresh_from_db()
    assert expense.status == ExpenseStatus.REJECTED and expense.decision_comment == "Receipt missing"
    assert Notification.objects.filter(user=rep, body="Receipt missing").exists()
    with tenant_context(tenant, actor=rep):
        services.expense_update(actor=rep, expense=expense, data={"amount": "600"})
        services.expense_submit(actor=rep, expense=expense)
    with tenant_context(tenant, actor=manager):
        services.expense_decide(actor=manager, expense=expense, approve=True)
    expense.refresh_from_db()
    assert expense.status == ExpenseStatus.APPROVED and expense.decided_by == manager
    with tenant_context(tenant, actor=rep), pytest.raises(ValidationError):
        services.expense_delete(actor=rep, expense=expense)


def test_payment_records_need_the_invoice_to_be_visible(books, tenant):
    rep = make_member(tenant, roles=("Sales representative",))
    invoice = services.invoice_issue(actor=books["admin"], invoice=new_invoice(books))
    with tenant_context(tenant, actor=rep), pytest.raises(PermissionDenied):  # reps do not record payments
        services.payment_create(actor=rep, data={"invoice": invoice, "amount": "1"})
    assert not Payment.objects.exists()
    assert not Expense.objects.exists()


def test_existing_tenants_get_the_finance_grants(tenant):
    """The data migration gives built-in roles of tenants made before the finance app what new tenants get."""
    import importlib

    from django.apps import apps

    from guanxi.access.models import RolePermission
    from guanxi.access.services import BUILTIN_ROLES, _expand

    migration = importlib.import_module("guanxi.finance.migrations.0002_builtin_role_grants")
    with tenant_context(tenant):
        expected = set(
            RolePermission.objects.filter(module__startswith="finance.").values_list(
                "role__name", "module", "action", "scope"
            )
        )
        assert {
            (n, m, a, s) for n, spec in BUILTIN_ROLES.items() for m, a, s in _expand(spec) if m.startswith("finance.")
        } == expected
        RolePermission.objects.filter(module__startswith="finance.").delete()
    migration.grant(apps, None)
    with tenant_context(tenant):
        restored = set(
            RolePermission.objects.filter(module__startswith="finance.").values_list(
                "role__name", "module", "action", "scope"
            )
        )
    assert restored == expected


def test_percent_milestones_add_up_to_the_contract_value_exactly():
    from decimal import Decimal as D

    from guanxi.finance.models import ContractMilestone, allocate_milestones

    rows = [ContractMilestone(percent=D(p)) for p in ("30", "40", "30")]
    assert allocate_milestones(D("151.05"), rows) == [D("45.32"), D("60.42"), D("45.31")]
    assert sum(allocate_milestones(D("151.05"), rows)) == D("151.05")
    thirds = [ContractMilestone(percent=D(p)) for p in ("33.33", "33.33", "33.34")]
    assert sum(allocate_milestones(D("100.00"), thirds)) == D("100.00")
