"""API shapes of contracts, invoices, payments, commissions and expenses. Money is a decimal string with its currency."""

import datetime
import decimal
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from .models import (
    CommissionBasis,
    CommissionPeriod,
    ExpenseCategory,
    PaymentMethod,
)


def _choice(choices):
    return Literal[tuple(v for v, _label in choices)]  # type: ignore[valid-type]


Money = decimal.Decimal
Currency = Field(None, min_length=3, max_length=3, description="ISO 4217 code, e.g. CNY, USD.")
MethodT = _choice(PaymentMethod.choices)
CategoryT = _choice(ExpenseCategory.choices)
BasisT = _choice(CommissionBasis.choices)
PeriodT = _choice(CommissionPeriod.choices)


# --- contracts -----------------------------------------------------------------------------------


class ContractOut(Schema):
    id: int
    number: str | None = None
    title: str | None = None
    status: str | None = None
    account_id: int | None = None
    contact_id: int | None = None
    customer_signatory: str | None = None
    our_company: str | None = None
    our_signatory_id: int | None = None
    opportunity_id: int | None = None
    order_id: int | None = None
    business_line_id: int | None = None
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    signed_date: datetime.date | None = None
    value: Money | None = None
    currency: str | None = None
    terms: str | None = None
    notes: str | None = None
    renewed_from_id: int | None = None
    submitted_at: datetime.datetime | None = None
    approved_at: datetime.datetime | None = None
    approved_by_id: int | None = None
    ended_at: datetime.datetime | None = None
    termination_reason: str | None = None
    days_left: int | None = Field(None, description="Days until the end, for running contracts.")
    owner_id: int | None = None
    custom_fields: dict[str, Any] | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


class MilestoneIn(Schema):
    due_date: datetime.date
    description: str = Field(..., min_length=1, max_length=200)
    amount: Money | None = Field(None, gt=0, description="A fixed amount, or:")
    percent: decimal.Decimal | None = Field(None, gt=0, le=100, description="A percentage of the contract value.")


class MilestoneOut(Schema):
    id: int
    position: int
    due_date: datetime.date
    description: str
    amount: Money | None = None
    percent: decimal.Decimal | None = None
    computed_amount: Money
    invoiced: bool
    invoice_id: int | None = None


class ContractIn(Schema):
    title: str = Field("", max_length=200, description="Default: the opportunity's, order's or account's name.")
    account_id: int | None = Field(None, description="Default: the opportunity's or order's account.")
    contact_id: int | None = None
    customer_signatory: str = Field("", max_length=150)
    our_company: str = Field("", max_length=200)
    our_signatory_id: int | None = None
    opportunity_id: int | None = Field(None, description="A won opportunity the contract comes from.")
    order_id: int | None = Field(None, description="An order the contract comes from.")
    business_line_id: int | None = None
    start_date: datetime.date | None = Field(None, description="Default: today.")
    end_date: datetime.date | None = Field(None, description="Default: one year after the start.")
    signed_date: datetime.date | None = None
    value: Money | None = Field(None, ge=0, description="Default: the opportunity's amount or the order's total.")
    currency: str | None = Currency
    terms: str = ""
    notes: str = ""
    owner_id: int | None = Field(None, description="Defaults to the caller.")
    custom_fields: dict[str, Any] | None = None
    milestones: list[MilestoneIn] | None = None


class ContractPatch(Schema):
    title: str | None = Field(None, min_length=1, max_length=200)
    account_id: int | None = None
    contact_id: int | None = None
    customer_signatory: str | None = Field(None, max_length=150)
    our_company: str | None = Field(None, max_length=200)
    our_signatory_id: int | None = None
    opportunity_id: int | None = None
    order_id: int | None = None
    business_line_id: int | None = None
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    signed_date: datetime.date | None = None
    value: Money | None = Field(None, ge=0)
    currency: str | None = Currency
    terms: str | None = None
    notes: str | None = None
    owner_id: int | None = None
    custom_fields: dict[str, Any] | None = None


class MilestonesIn(Schema):
    milestones: list[MilestoneIn] = Field([], description="The complete list; empty removes every milestone.")


class MessageIn(Schema):
    message: str = Field("", max_length=2000)


class ReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)


class DecisionIn(Schema):
    decision: Literal["approve", "reject"]
    comment: str = Field("", max_length=2000, description="Needed to reject.")


class ApprovalOut(Schema):
    id: int
    contract_id: int
    status: str
    requested_by_id: int
    approver_id: int | None = None
    message: str
    comment: str
    requested_at: datetime.datetime
    decided_at: datetime.datetime | None = None
    decided_by_id: int | None = None


class StatusRowOut(Schema):
    status: str
    count: int
    value: Money


class MonthRowOut(Schema):
    month: str
    count: int
    value: Money


class ContractStatsOut(Schema):
    currency: str
    start: datetime.date
    end: datetime.date
    by_status: list[StatusRowOut]
    by_start_month: list[MonthRowOut]
    renewed: int
    ended: int
    renewal_rate: decimal.Decimal | None = Field(None, description="Renewed ÷ ended in the period, in percent.")
    in_force_count: int
    in_force_value: Money


# --- invoices and payments -------------------------------------------------------------------------------


class InvoiceOut(Schema):
    id: int
    number: str | None = Field(None, description="Empty until the invoice is issued.")
    display_number: str | None = None
    status: str | None = None
    title: str | None = None
    account_id: int | None = None
    contact_id: int | None = None
    contract_id: int | None = None
    order_id: int | None = None
    business_line_id: int | None = None
    currency: str | None = None
    discount_percent: decimal.Decimal | None = None
    subtotal: Money | None = None
    discount_total: Money | None = None
    net_total: Money | None = None
    tax_total: Money | None = None
    total: Money | None = None
    amount_paid: Money | None = None
    balance: Money | None = None
    invoice_date: datetime.date | None = None
    due_date: datetime.date | None = None
    payment_terms_days: int | None = None
    billing_address: str | None = None
    issued_at: datetime.datetime | None = None
    paid_at: datetime.datetime | None = None
    overdue_since: datetime.date | None = None
    voided_at: datetime.datetime | None = None
    void_reason: str | None = None
    terms: str | None = None
    notes: str | None = None
    owner_id: int | None = None
    custom_fields: dict[str, Any] | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


class LineIn(Schema):
    product_id: int | None = Field(None, description="Empty for a free-text line.")
    description: str = Field("", max_length=300, description="Default: the product's name.")
    quantity: decimal.Decimal = Field(decimal.Decimal(1), gt=0)
    unit_price: Money | None = Field(None, ge=0, description="Default: the price from the price books.")
    discount_percent: decimal.Decimal = Field(decimal.Decimal(0), ge=0, le=100)
    tax_rate: decimal.Decimal | None = Field(None, ge=0, le=100, description="Free-text lines only.")


class InvoiceIn(Schema):
    title: str = Field("", max_length=200)
    account_id: int | None = Field(None, description="Default: the contract's or order's account.")
    contact_id: int | None = None
    contract_id: int | None = None
    order_id: int | None = None
    business_line_id: int | None = None
    currency: str | None = Currency
    discount_percent: decimal.Decimal = Field(decimal.Decimal(0), ge=0, le=100)
    payment_terms_days: int | None = Field(None, ge=0, le=365, description="Default: the tenant's setting.")
    due_date: datetime.date | None = Field(None, description="Default: the invoice date plus the payment terms.")
    billing_address: str = ""
    terms: str = ""
    notes: str = ""
    owner_id: int | None = None
    custom_fields: dict[str, Any] | None = None
    lines: list[LineIn] | None = None


class InvoicePatch(Schema):
    title: str | None = Field(None, max_length=200)
    account_id: int | None = None
    contact_id: int | None = None
    contract_id: int | None = None
    order_id: int | None = None
    business_line_id: int | None = None
    currency: str | None = Currency
    discount_percent: decimal.Decimal | None = Field(None, ge=0, le=100)
    payment_terms_days: int | None = Field(None, ge=0, le=365)
    due_date: datetime.date | None = None
    billing_address: str | None = None
    terms: str | None = None
    notes: str | None = None
    owner_id: int | None = None
    custom_fields: dict[str, Any] | None = None


class FromOrderIn(Schema):
    order_id: int


class IssueIn(Schema):
    invoice_date: datetime.date | None = Field(None, description="Default: today.")


class LinesIn(Schema):
    lines: list[LineIn]
    discount_percent: decimal.Decimal | None = Field(None, ge=0, le=100, description="Discount on the total (%).")


class PaymentOut(Schema):
    id: int
    invoice_id: int | None = None
    amount: Money | None = None
    currency: str | None = None
    date: datetime.date | None = None
    method: str | None = None
    reference: str | None = None
    notes: str | None = None
    owner_id: int | None = None
    created_by_id: int | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


class PaymentIn(Schema):
    invoice_id: int
    amount: Money = Field(..., gt=0)
    date: datetime.date | None = Field(None, description="Default: today.")
    method: MethodT = "bank_transfer"  # type: ignore[valid-type]
    reference: str = Field("", max_length=120)
    notes: str = ""


class PaymentPatch(Schema):
    amount: Money | None = Field(None, gt=0)
    date: datetime.date | None = None
    method: MethodT | None = None  # type: ignore[valid-type]
    reference: str | None = Field(None, max_length=120)
    notes: str | None = None


# --- commissions -----------------------------------------------------------------------------------------


class PlanOut(Schema):
    id: int
    name: str | None = None
    description: str | None = None
    is_active: bool | None = None
    basis: str | None = None
    period: str | None = None
    currency: str | None = None
    default_rate: decimal.Decimal | None = None
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


class PlanIn(Schema):
    name: str = Field(..., min_length=1, max_length=120)
    description: str = ""
    is_active: bool = True
    basis: BasisT = "payment"  # type: ignore[valid-type]
    period: PeriodT = "month"  # type: ignore[valid-type]
    currency: str = Field("CNY", min_length=3, max_length=3)
    default_rate: decimal.Decimal = Field(decimal.Decimal(0), ge=0, le=100)
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None


class PlanPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = None
    is_active: bool | None = None
    basis: BasisT | None = None  # type: ignore[valid-type]
    period: PeriodT | None = None  # type: ignore[valid-type]
    currency: str | None = Field(None, min_length=3, max_length=3)
    default_rate: decimal.Decimal | None = Field(None, ge=0, le=100)
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None


class RateIO(Schema):
    category_id: int | None = None
    business_line_id: int | None = None
    rate: decimal.Decimal = Field(..., ge=0, le=100)


class TierIO(Schema):
    threshold: Money = Field(..., ge=0, description="From this attainment in the period on…")
    rate: decimal.Decimal = Field(..., ge=0, le=100, description="…the rate (%) of lines without a special rate.")


class RulesIO(Schema):
    rates: list[RateIO] = []
    tiers: list[TierIO] = []
    member_ids: list[int] = Field([], description="Reps the plan applies to; empty: everyone.")


class EntryOut(Schema):
    id: int
    plan_id: int | None = None
    rep_id: int | None = None
    kind: str | None = None
    source_key: str | None = None
    payment_id: int | None = None
    invoice_id: int | None = None
    opportunity_id: int | None = None
    reverses_id: int | None = None
    date: datetime.date | None = None
    description: str | None = None
    base_amount: Money | None = None
    rate: decimal.Decimal | None = None
    amount: Money | None = None
    currency: str | None = None
    statement_id: int | None = None
    locked: bool | None = None
    created_at: datetime.datetime | None = None


class AdjustmentIn(Schema):
    rep_id: int | None = Field(None, description="Default: the caller.")
    plan_id: int | None = None
    date: datetime.date | None = None
    amount: Money = Field(..., description="Positive (bonus) or negative (correction).")
    currency: str = Field("CNY", min_length=3, max_length=3)
    description: str = Field(..., min_length=1, max_length=300)


class AdjustmentPatch(Schema):
    description: str | None = Field(None, max_length=300)


class AccrueIn(Schema):
    since: datetime.date | None = Field(None, description="Only payments and deals from this day on.")


class AccrueOut(Schema):
    accrued: int
    reversed: int


class StatementOut(Schema):
    id: int
    rep_id: int | None = None
    period_kind: str | None = None
    period_start: datetime.date | None = None
    period_end: datetime.date | None = None
    period_label: str | None = None
    currency: str | None = None
    status: str | None = None
    base_total: Money | None = None
    commission_total: Money | None = None
    entry_count: int | None = None
    approved_at: datetime.datetime | None = None
    approved_by_id: int | None = None
    notes: str | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


class StatementIn(Schema):
    rep_id: int | None = Field(None, description="Default: the caller.")
    period_kind: PeriodT = "month"  # type: ignore[valid-type]
    period_start: datetime.date | None = Field(None, description="Any day of the month or quarter; default today.")
    currency: str = Field("CNY", min_length=3, max_length=3)
    notes: str = ""


class StatementPatch(Schema):
    notes: str | None = None


class LockIn(Schema):
    period_kind: PeriodT = "month"  # type: ignore[valid-type]
    day: datetime.date
    currency: str = Field("CNY", min_length=3, max_length=3)


# --- expenses ------------------------------------------------------------------------------------------


class ExpenseOut(Schema):
    id: int
    date: datetime.date | None = None
    category: str | None = None
    amount: Money | None = None
    currency: str | None = None
    description: str | None = None
    account_id: int | None = None
    opportunity_id: int | None = None
    status: str | None = None
    approver_id: int | None = None
    submitted_at: datetime.datetime | None = None
    decided_at: datetime.datetime | None = None
    decided_by_id: int | None = None
    decision_comment: str | None = None
    owner_id: int | None = None
    custom_fields: dict[str, Any] | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


class ExpenseIn(Schema):
    date: datetime.date | None = None
    category: CategoryT = "other"  # type: ignore[valid-type]
    amount: Money = Field(..., gt=0)
    currency: str | None = Currency
    description: str = Field(..., min_length=1, max_length=300)
    account_id: int | None = None
    opportunity_id: int | None = None
    owner_id: int | None = None
    custom_fields: dict[str, Any] | None = None


class ExpensePatch(Schema):
    date: datetime.date | None = None
    category: CategoryT | None = None  # type: ignore[valid-type]
    amount: Money | None = Field(None, gt=0)
    currency: str | None = Currency
    description: str | None = Field(None, min_length=1, max_length=300)
    account_id: int | None = None
    opportunity_id: int | None = None
    owner_id: int | None = None
    custom_fields: dict[str, Any] | None = None


class ReportRowOut(Schema):
    owner_id: int
    owner: str
    currency: str
    count: int
    by_status: dict[str, Money]
    total: Money = Field(..., description="Every status but rejected.")
