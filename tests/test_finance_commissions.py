"""Commissions: tier and rate arithmetic (Decimal, half up), payment and won-deal accrual, idempotency,
reversal on void / payment removal / reopened deals, statements and period locking, adjustments."""

import datetime
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.commerce import services as commerce_services
from guanxi.commerce.models import ProductCategory
from guanxi.customers import services as customer_services
from guanxi.finance import commission_services as cs
from guanxi.finance import services
from guanxi.finance.models import CommissionEntry, CommissionPlan, CommissionStatement
from guanxi.org.models import BusinessLine
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member
from guanxi.sales import services as sales_services

TODAY = datetime.date.today


@pytest.fixture
def setup(in_tenant):
    admin = in_tenant.admin
    account = customer_services.account_create(actor=admin, data={"name": "Customer"})
    software = ProductCategory.objects.create(name="Software")
    erp = ProductCategory.objects.create(name="ERP", parent=software)
    services_cat = ProductCategory.objects.create(name="Services")
    line = BusinessLine.objects.create(name="Industry")
    erp_product = commerce_services.product_create(
        actor=admin, data={"sku": "ERP", "name": "ERP", "list_price": D("1000"), "category": erp}
    )
    consulting = commerce_services.product_create(
        actor=admin,
        data={
            "sku": "CONS",
            "name": "Consulting",
            "list_price": D("1000"),
            "category": services_cat,
            "business_line": line,
        },
    )
    return {"tenant": in_tenant, "admin": admin, "account": account, "software": software, "erp": erp,
            "line": line, "erp_product": erp_product, "consulting": consulting}  # fmt: skip


def plan(setup, **data):
    p = cs.plan_create(actor=setup["admin"], data={"name": data.pop("name", "Standard"), "basis": "payment",
                                                   "default_rate": D("3"), **data})  # fmt: skip
    return p


def paid_invoice(setup, lines, amount=None, owner=None, day=None):
    invoice = services.invoice_create(actor=setup["admin"], data={"account": setup["account"],
                                                                  "owner": owner or setup["admin"]}, lines=lines)  # fmt: skip
    invoice = services.invoice_issue(actor=setup["admin"], invoice=invoice)
    payment = services.payment_create(
        actor=setup["admin"], data={"invoice": invoice, "amount": amount or invoice.total, "date": day or TODAY()}
    )
    return invoice, payment


def test_tiers_are_progressive_by_attainment_and_rounded_half_up():
    tiers = [(D("0"), D("3")), (D("100000"), D("5"))]
    assert cs.tiered_amount(D("120000"), D("0"), tiers, D("0")) == D("3000") + D("1000")
    assert cs.tiered_amount(D("30000"), D("90000"), tiers, D("0")) == D("300") + D("1000")
    exact = cs.tiered_amount(D("33333.33"), D("90000"), tiers, D("0"))
    assert exact == D("300") + D("1166.6665")
    rules = cs.PlanRules.__new__(cs.PlanRules)  # a plan with those tiers, no special rates
    rules.plan, rules.category_rates, rules.line_rates, rules.parents, rules.tiers = (
        CommissionPlan(default_rate=D("0")),
        {},
        {},
        {},
        tiers,
    )
    assert rules.commission([cs.CreditLine(D("33333.33"))], D("90000")) == (D("33333.33"), D("1466.67"))
    # below the first tier the default rate applies
    assert cs.tiered_amount(D("100"), D("0"), [(D("50"), D("10"))], D("1")) == D("0.5") + D("5")
    assert cs.tiered_amount(D("100"), D("0"), [], D("2.5")) == D("2.5")


def test_allocation_adds_up_exactly():
    parts = cs.allocate(D("100.00"), [D("1"), D("1"), D("1")])
    assert parts == [D("33.33"), D("33.33"), D("33.34")] and sum(parts) == D("100.00")
    assert cs.allocate(D("10"), [D("0"), D("0")]) == [D("0"), D("10")]


def test_payment_accrual_uses_category_and_business_line_rates(setup):
    p = plan(setup)
    cs.plan_set_rules(
        actor=setup["admin"], plan=p,
        rates=[{"category": setup["software"].pk, "rate": "10"}, {"business_line": setup["line"].pk, "rate": "8"}],
        tiers=[{"threshold": "0", "rate": "3"}, {"threshold": "100000", "rate": "5"}],
    )  # fmt: skip
    invoice, payment = paid_invoice(setup, [
        {"product": setup["erp_product"].pk, "quantity": "1", "unit_price": "1000"},  # ERP ⊂ Software: 10 %
        {"product": setup["consulting"].pk, "quantity": "1", "unit_price": "1000"},  # its business line: 8 %
        {"description": "Travel", "quantity": "1", "unit_price": "500", "tax_rate": "6"},  # tiers: 3 %
    ])  # fmt: skip
    entry = CommissionEntry.objects.get()
    assert invoice.total == D("2530.00") and entry.base_amount == D("2500.00")  # tax is not credited
    assert entry.amount == D("100") + D("80") + D("15")
    assert entry.rate == D("7.8000") and entry.rep == setup["admin"] and entry.payment == payment
    assert entry.kind == "accrual" and entry.source_key == f"payment:{payment.pk}"


def test_partial_payments_credit_their_net_share(setup):
    plan(setup, default_rate=D("10"))
    invoice, _first = paid_invoice(setup, [{"description": "Work", "quantity": "1", "unit_price": "1000", "tax_rate": "13"}],
                                   amount=D("565.00"))  # fmt: skip
    entry = CommissionEntry.objects.get()
    assert entry.base_amount == D("500.00") and entry.amount == D("50.00")  # 565 × 1000 / 1130
    services.payment_create(actor=setup["admin"], data={"invoice": invoice, "amount": D("565.00")})
    assert CommissionEntry.objects.count() == 2
    assert sum(e.base_amount for e in CommissionEntry.objects.all()) == D("1000.00")


def test_accrual_is_idempotent_and_reversed_on_payment_removal_and_void(setup):
    plan(setup)
    invoice, payment = paid_invoice(setup, [{"description": "Work", "quantity": "1", "unit_price": "10000"}],
                                    amount=D("4000"))  # fmt: skip
    assert CommissionEntry.objects.count() == 1
    assert cs.accrue_for_payment(payment) == []  # re-running does not double count
    assert cs.commissions_accrue_missing(actor=setup["admin"]) == {"accrued": 0, "reversed": 0}
    assert CommissionEntry.objects.count() == 1
    services.payment_update(actor=setup["admin"], payment=payment, data={"amount": D("5000")})
    amounts = sorted(CommissionEntry.objects.values_list("kind", "amount"))
    assert amounts == [("accrual", D("120.00")), ("accrual", D("150.00")), ("reversal", D("-120.00"))]
    services.payment_delete(actor=setup["admin"], payment=payment)
    assert sum(CommissionEntry.objects.values_list("amount", flat=True)) == 0
    second = services.payment_create(actor=setup["admin"], data={"invoice": invoice, "amount": D("1000")})
    assert CommissionEntry.objects.filter(payment=second).count() == 1
    services.invoice_void(actor=setup["admin"], invoice=invoice, reason="Cancelled")
    assert sum(CommissionEntry.objects.values_list("amount", flat=True)) == 0
    assert cs.commissions_accrue_missing(actor=setup["admin"]) == {"accrued": 0, "reversed": 0}
    with pytest.raises(PermissionDenied):
        cs.commissions_accrue_missing(actor=make_member(setup["tenant"]))


def test_catch_up_accrues_what_was_missing(setup):
    paid_invoice(setup, [{"description": "Work", "quantity": "1", "unit_price": "1000"}])
    assert not CommissionEntry.objects.exists()  # no plan when it was paid
    plan(setup)
    assert cs.commissions_accrue_missing(actor=setup["admin"]) == {"accrued": 1, "reversed": 0}
    assert cs.commissions_accrue_missing(actor=setup["admin"]) == {"accrued": 0, "reversed": 0}
    assert CommissionEntry.objects.get().amount == D("30.00")


def test_plans_apply_to_their_reps_period_and_currency(setup):
    rep = make_member(setup["tenant"])
    p = plan(setup, valid_from=TODAY() + datetime.timedelta(days=1))
    paid_invoice(setup, [{"description": "Work", "quantity": "1", "unit_price": "100"}])
    assert not CommissionEntry.objects.exists()  # not valid yet
    cs.plan_update(actor=setup["admin"], plan=p, data={"valid_from": None})
    cs.plan_set_members(actor=setup["admin"], plan=p, users=[rep.pk])
    paid_invoice(setup, [{"description": "Work", "quantity": "1", "unit_price": "100"}])
    assert not CommissionEntry.objects.exists()  # the admin is not one of its reps
    paid_invoice(setup, [{"description": "Work", "quantity": "1", "unit_price": "100"}], owner=rep)
    assert CommissionEntry.objects.get().rep == rep
    invoice = services.invoice_create(actor=setup["admin"], data={"account": setup["account"], "currency": "USD",
                                                                  "owner": rep},
                                      lines=[{"description": "x", "quantity": "1", "unit_price": "5"}])  # fmt: skip
    services.payment_create(actor=setup["admin"], data={"invoice": services.invoice_issue(actor=setup["admin"],
                                                                                         invoice=invoice), "amount": "5"})  # fmt: skip
    assert CommissionEntry.objects.count() == 1  # a CNY plan ignores USD


def test_tier_attainment_counts_earlier_payments_of_the_period(setup):
    p = plan(setup, default_rate=D("0"))
    cs.plan_set_rules(
        actor=setup["admin"], plan=p, tiers=[{"threshold": "0", "rate": "3"}, {"threshold": "100000", "rate": "5"}]
    )
    paid_invoice(setup, [{"description": "A", "quantity": "1", "unit_price": "90000"}])
    paid_invoice(setup, [{"description": "B", "quantity": "1", "unit_price": "33333.33"}])
    amounts = list(CommissionEntry.objects.order_by("pk").values_list("amount", flat=True))
    assert amounts == [D("2700.00"), D("1466.67")]


def test_won_deals_accrue_through_the_sales_app_and_reopening_reverses(setup):
    plan(setup, name="Deals", basis="won_deal", default_rate=D("2"))
    deal = sales_services.opportunity_create(actor=setup["admin"], data={"name": "Deal", "account": setup["account"],
                                                                         "amount": D("20000")})  # fmt: skip
    sales_services.opportunity_line_save(actor=setup["admin"], opportunity=deal,
                                         data={"product": setup["erp_product"], "quantity": 2, "unit_price": D("5000")})  # fmt: skip
    assert not CommissionEntry.objects.exists()
    deal.refresh_from_db()
    deal = sales_services.opportunity_mark_won(actor=setup["admin"], opportunity=deal, reason="Best offer")
    entry = CommissionEntry.objects.get()
    assert (entry.opportunity, entry.base_amount, entry.amount) == (deal, D("10000.00"), D("200.00"))
    sales_services.opportunity_update(actor=setup["admin"], opportunity=deal, data={"description": "x"})
    assert CommissionEntry.objects.count() == 1  # saving a won deal again does not double count
    first_open = deal.pipeline.stages.filter(kind="open").order_by("position").first()
    sales_services.opportunity_update(actor=setup["admin"], opportunity=deal, data={"stage": first_open})
    assert sorted(CommissionEntry.objects.values_list("kind", "amount")) == [("accrual", D("200.00")),
                                                                              ("reversal", D("-200.00"))]  # fmt: skip
    deal.refresh_from_db()
    sales_services.opportunity_mark_won(actor=setup["admin"], opportunity=deal, reason="Signed after all")
    assert CommissionEntry.objects.filter(kind="accrual").count() == 2
    assert list(
        CommissionEntry.objects.filter(kind="accrual").order_by("generation").values_list("generation", flat=True)
    ) == [0, 1]


def test_statements_lock_entries_and_later_changes_go_to_the_next_period(setup):
    plan(setup, default_rate=D("10"))
    _invoice, payment = paid_invoice(setup, [{"description": "Work", "quantity": "1", "unit_price": "1000"}],
                                     amount=D("500"))  # fmt: skip
    statement = cs.statement_create(actor=setup["admin"], data={"period_start": TODAY()})
    assert statement.period_start == TODAY().replace(day=1) and statement.commission_total == D("50.00")
    with pytest.raises(ValidationError):
        cs.statement_create(actor=setup["admin"], data={"period_start": TODAY()})
    cs.adjustment_create(actor=setup["admin"], data={"amount": "-5.5", "description": "Correction"})
    cs.statement_refresh(statement)
    assert (statement.entry_count, statement.commission_total) == (2, D("44.50"))
    cs.statement_approve(actor=setup["admin"], statement=statement)
    statement.refresh_from_db()
    assert statement.is_locked and statement.commission_total == D("44.50")
    assert CommissionEntry.objects.filter(statement=statement).count() == 2
    services.payment_delete(actor=setup["admin"], payment=payment)  # the reversal cannot go into a locked month
    reversal = CommissionEntry.objects.get(kind="reversal")
    assert reversal.date == statement.period_end + datetime.timedelta(days=1) and reversal.statement is None
    statement.refresh_from_db()
    assert statement.commission_total == D("44.50")  # frozen
    adjustment = CommissionEntry.objects.get(kind="adjustment")
    with pytest.raises(ValidationError):
        cs.entry_delete(actor=setup["admin"], entry=adjustment)  # locked
    with pytest.raises(ValidationError):
        cs.entry_delete(actor=setup["admin"], entry=reversal)  # accruals and reversals are never deleted
    cs.statement_reopen(actor=setup["admin"], statement=statement)
    assert not CommissionEntry.objects.filter(statement__isnull=False).exists()


def test_period_lock_approves_every_reps_statement_and_reps_cannot_approve(setup):
    rep = make_member(setup["tenant"])
    plan(setup, default_rate=D("10"))
    paid_invoice(setup, [{"description": "Work", "quantity": "1", "unit_price": "100"}])
    paid_invoice(setup, [{"description": "Work", "quantity": "1", "unit_price": "300"}], owner=rep)
    with tenant_context(setup["tenant"], actor=rep), pytest.raises(PermissionDenied):
        cs.period_lock(actor=rep, period_kind="month", day=TODAY(), currency="CNY")
    approved = cs.period_lock(actor=setup["admin"], period_kind="quarter", day=TODAY(), currency="CNY")
    assert {(s.rep, s.commission_total, s.period_kind) for s in approved} == {
        (setup["admin"], D("10.00"), "quarter"),
        (rep, D("30.00"), "quarter"),
    }
    assert CommissionStatement.objects.filter(status="approved").count() == 2
    assert cs.period_lock(actor=setup["admin"], period_kind="quarter", day=TODAY(), currency="CNY") == []


def test_adjustments_need_an_amount_and_a_member(setup, other_tenant):
    with pytest.raises(ValidationError):
        cs.adjustment_create(actor=setup["admin"], data={"amount": "0", "description": "x"})
    with pytest.raises(ValidationError):
        cs.adjustment_create(actor=setup["admin"], data={"amount": "1", "description": ""})
    with pytest.raises(ValidationError):
        cs.adjustment_create(
            actor=setup["admin"], data={"amount": "1", "description": "x", "rep": other_tenant.admin.pk}
        )
    entry = cs.adjustment_create(actor=setup["admin"], data={"amount": "88.88", "description": "Bonus"})
    assert entry.kind == "adjustment" and entry.amount == D("88.88") and entry.base_amount == 0
    cs.entry_delete(actor=setup["admin"], entry=entry)
    assert not CommissionEntry.objects.exists()
