"""Reads of the finance app: list and detail querysets, related rows, the approval inbox, contract
statistics and the expense report — always scoped by the permission service."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, DecimalField, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.http import Http404

from guanxi.access import permissions
from guanxi.platform.registry import Action

from .apps import CONTRACT, EXPENSE, INVOICE, PAYMENT
from .models import (
    ApprovalStatus,
    CommissionEntry,
    CommissionPlan,
    CommissionStatement,
    Contract,
    ContractApproval,
    ContractMilestone,
    ContractStatus,
    Expense,
    ExpenseStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    money,
)

ZERO = Decimal(0)
MONEY = DecimalField(max_digits=20, decimal_places=2)


# --- contracts -------------------------------------------------------------------------------------


def contract_list_queryset():
    return Contract.objects.select_related("account", "owner")


def contract_detail_queryset():
    return Contract.objects.select_related(
        "account", "contact", "owner", "opportunity", "order", "business_line", "our_signatory", "renewed_from",
        "approved_by", "created_by",
    )  # fmt: skip


def contract_milestones(contract: Contract) -> list[ContractMilestone]:
    rows = list(
        ContractMilestone.objects.filter(contract=contract).select_related("invoice").order_by("position", "id")
    )
    for row in rows:
        row.contract = contract  # computed amounts need the value: no query per row
    return rows


def contract_approvals(contract: Contract) -> list[ContractApproval]:
    return list(contract.approvals.select_related("requested_by", "approver", "decided_by").order_by("-requested_at"))


def contract_invoices(user, contract: Contract) -> list[Invoice]:
    return list(permissions.visible(user, Invoice.objects.filter(contract=contract)).order_by("-created_at"))


def contract_renewals(user, contract: Contract) -> list[Contract]:
    return list(permissions.visible(user, Contract.objects.filter(renewed_from=contract)).order_by("-start_date"))


def contracts_of(user, *, account=None, opportunity=None, order=None):
    qs = permissions.visible(user, Contract.objects.select_related("owner"))
    if account is not None:
        qs = qs.filter(account=account)
    if opportunity is not None:
        qs = qs.filter(opportunity=opportunity)
    if order is not None:
        qs = qs.filter(order=order)
    return list(qs.order_by("-start_date", "-id")[:100])


# --- invoices and payments ---------------------------------------------------------------------------


def invoice_list_queryset():
    return Invoice.objects.select_related("account", "owner")


def invoice_detail_queryset():
    return Invoice.objects.select_related(
        "account", "contact", "owner", "contract", "order", "business_line", "issued_by", "created_by"
    )


def invoice_lines(invoice: Invoice) -> list[InvoiceLine]:
    return list(InvoiceLine.objects.filter(invoice=invoice).select_related("product").order_by("position", "id"))


def invoice_payments(user, invoice: Invoice) -> list[Payment]:
    return list(
        permissions.visible(user, Payment.objects.filter(invoice=invoice).select_related("created_by")).order_by(
            "date", "pk"
        )
    )


def order_invoice(order) -> Invoice | None:
    """The invoice billing ``order`` (a void one does not count: the order may be billed again), if any."""
    return Invoice.objects.filter(order=order).exclude(status=InvoiceStatus.VOID).order_by("-pk").first()


def invoices_of(user, *, account=None, contract=None):
    qs = permissions.visible(user, Invoice.objects.select_related("owner"))
    if account is not None:
        qs = qs.filter(account=account)
    if contract is not None:
        qs = qs.filter(contract=contract)
    return list(qs.order_by("-created_at", "-id")[:100])


def payment_list_queryset():
    return Payment.objects.select_related("invoice__account", "owner", "created_by")


def payment_detail_queryset():
    return payment_list_queryset()


def open_invoices_for_payment(user):
    """Invoices a payment can be recorded against: issued and unpaid, visible to the user."""
    from .models import OPEN_INVOICE_STATUSES

    return permissions.visible(user, Invoice.objects.filter(status__in=OPEN_INVOICE_STATUSES).select_related("account"))


# --- commissions -------------------------------------------------------------------------------------------


def plan_list_queryset():
    return CommissionPlan.objects.annotate(member_count=Count("members", distinct=True))


def plan_detail_queryset():
    return CommissionPlan.objects.all()


def plan_rules(plan: CommissionPlan) -> tuple[list, list, list]:
    rates = list(
        plan.rates.select_related("category", "business_line").order_by("category__name", "business_line__name")
    )
    tiers = list(plan.tiers.order_by("threshold"))
    members = list(plan.members.order_by("full_name"))
    return rates, tiers, members


def entry_list_queryset():
    return CommissionEntry.objects.select_related("rep", "plan", "statement")


def entry_detail_queryset():
    return CommissionEntry.objects.select_related(
        "rep", "plan", "statement", "invoice", "payment", "opportunity", "reverses", "created_by"
    )


def statement_list_queryset():
    return CommissionStatement.objects.select_related("rep", "approved_by")


def statement_detail_queryset():
    return statement_list_queryset()


# --- expenses -----------------------------------------------------------------------------------------------


def expense_list_queryset():
    return Expense.objects.select_related("owner", "account", "opportunity")


def expense_detail_queryset():
    return Expense.objects.select_related("owner", "account", "opportunity", "approver", "decided_by", "created_by")


@dataclass
class ReportRow:
    owner_id: int
    owner: str
    currency: str
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)  # status → amount
    total: Decimal = ZERO


def expense_report(user, *, start: datetime.date | None, end: datetime.date | None, currency: str | None = None,
                   owner_id: int | None = None) -> tuple[list[ReportRow], dict]:  # fmt: skip
    """Per rep and currency: number of expenses and amounts by status in the period (what the user may see).

    One grouped query; returns the rows and the grand totals per currency.
    """
    qs = permissions.visible(user, Expense.objects.all())
    if start:
        qs = qs.filter(date__gte=start)
    if end:
        qs = qs.filter(date__lte=end)
    if currency:
        qs = qs.filter(currency=currency)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    grouped = (
        qs.order_by()
        .values("owner_id", "owner__full_name", "owner__email", "currency", "status")
        .annotate(n=Count("id"), s=Sum("amount"))
    )
    rows: dict[tuple[int, str], ReportRow] = {}
    grand: dict[str, ReportRow] = {}
    for g in grouped:
        key = (g["owner_id"], g["currency"])
        row = rows.setdefault(
            key,
            ReportRow(owner_id=g["owner_id"], owner=g["owner__full_name"] or g["owner__email"], currency=g["currency"]),
        )
        total = grand.setdefault(g["currency"], ReportRow(owner_id=0, owner="", currency=g["currency"]))
        for target in (row, total):
            target.count += g["n"]
            amount = money(g["s"] or ZERO)
            target.totals[g["status"]] = target.totals.get(g["status"], ZERO) + amount
            if g["status"] != ExpenseStatus.REJECTED:
                target.total += amount
    ordered = sorted(rows.values(), key=lambda r: (r.currency, -r.total, r.owner))
    return ordered, dict(sorted(grand.items()))


# --- approvals --------------------------------------------------------------------------------------------


def approvals_visible_to(user) -> bool:
    """Does the user decide finance approvals (a manager or an administrator) or ask for them?"""
    from guanxi.org.models import Member

    if not getattr(user, "is_authenticated", False):
        return False
    if permissions.is_tenant_admin(user):
        return True
    if permissions.has_action(user, CONTRACT, Action.EDIT) or permissions.has_action(user, EXPENSE, Action.EDIT):
        return True
    return Member.objects.filter(manager__user=user, is_active=True).exists()


def contract_approval_inbox(user):
    qs = ContractApproval.objects.filter(status=ApprovalStatus.PENDING)
    if not permissions.is_tenant_admin(user):
        qs = qs.filter(approver=user)
    return qs.select_related("contract__account", "contract__owner", "requested_by", "approver").order_by(
        "requested_at"
    )


def expense_approval_inbox(user):
    qs = Expense.objects.filter(status=ExpenseStatus.SUBMITTED)
    if not permissions.is_tenant_admin(user):
        qs = qs.filter(approver=user)
    return qs.select_related("owner", "account", "approver").order_by("submitted_at", "pk")


def my_requests(user, *, limit: int = 30) -> tuple[list, list]:
    contracts = list(
        ContractApproval.objects.filter(requested_by=user)
        .select_related("contract", "approver", "decided_by")
        .order_by("-requested_at")[:limit]
    )
    expenses = list(
        Expense.objects.filter(owner=user)
        .exclude(status=ExpenseStatus.DRAFT)
        .select_related("approver", "decided_by")
        .order_by("-submitted_at", "-pk")[:limit]
    )
    return contracts, expenses


def contract_approval_for(user, pk) -> ContractApproval:
    """A contract approval the user may see (requester, approver or administrator), else 404."""
    qs = ContractApproval.objects.select_related("contract", "requested_by")
    if not permissions.is_tenant_admin(user):
        qs = qs.filter(Q(approver=user) | Q(requested_by=user))
    try:
        return qs.get(pk=pk)
    except (ContractApproval.DoesNotExist, ValueError, TypeError):
        raise Http404


def expense_for_decision(user, pk) -> Expense:
    """A submitted expense the user may decide (its approver, or an administrator), else 404."""
    qs = Expense.objects.select_related("owner")
    if not permissions.is_tenant_admin(user):
        qs = qs.filter(approver=user)
    try:
        return qs.get(pk=pk)
    except (Expense.DoesNotExist, ValueError, TypeError):
        raise Http404


# --- contract statistics ---------------------------------------------------------------------------------


def _months(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    months, day = [], start.replace(day=1)
    while day <= end:
        months.append(day)
        day = datetime.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return months


def contract_currencies(user) -> list[str]:
    qs = permissions.visible(user, Contract.objects.all())
    return sorted(set(qs.order_by().values_list("currency", flat=True).distinct()))


def contract_stats(
    user, *, currency: str, start: datetime.date, end: datetime.date, owner_id: int | None = None
) -> dict:
    """Value by status, value by start month (``start``…``end``) and the renewal rate, of the contracts the user
    may see in ``currency``. A fixed number of grouped queries whatever the number of contracts.

    Renewal rate = renewed ÷ ended (renewed + expired + terminated), over contracts that ended
    (their end date) in the period.
    """
    qs = permissions.visible(user, Contract.objects.all()).filter(currency=currency)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    by_status = {
        row["status"]: (row["n"], money(row["v"] or ZERO))
        for row in qs.order_by().values("status").annotate(n=Count("id"), v=Sum("value"))
    }
    statuses = [(s, label, *by_status.get(s, (0, ZERO))) for s, label in ContractStatus.choices]
    monthly_rows = (
        qs.filter(start_date__gte=start.replace(day=1), start_date__lte=end)
        .order_by()
        .annotate(month=TruncMonth("start_date"))
        .values("month")
        .annotate(n=Count("id"), v=Coalesce(Sum("value"), ZERO, output_field=MONEY))
    )
    monthly = {}
    for row in monthly_rows:
        month = row["month"]
        if isinstance(month, datetime.datetime):
            month = month.date()
        monthly[month.replace(day=1)] = (row["n"], money(row["v"]))
    months = _months(start, end)
    ended = qs.filter(
        status__in=(ContractStatus.RENEWED, ContractStatus.EXPIRED, ContractStatus.TERMINATED),
        end_date__gte=start,
        end_date__lte=end,
    )
    ended_counts = dict(ended.order_by().values("status").annotate(n=Count("id")).values_list("status", "n"))
    renewed = ended_counts.get(ContractStatus.RENEWED, 0)
    ended_total = sum(ended_counts.values())
    in_force = qs.filter(status__in=(ContractStatus.ACTIVE, ContractStatus.EXPIRING)).aggregate(
        n=Count("id"), v=Sum("value")
    )
    return {
        "statuses": statuses,
        "months": [(m, *monthly.get(m, (0, ZERO))) for m in months],
        "renewed": renewed,
        "ended": ended_total,
        "expired": ended_counts.get(ContractStatus.EXPIRED, 0),
        "terminated": ended_counts.get(ContractStatus.TERMINATED, 0),
        "renewal_rate": (Decimal(renewed * 100) / ended_total).quantize(Decimal("0.1")) if ended_total else None,
        "in_force_count": in_force["n"] or 0,
        "in_force_value": money(in_force["v"] or ZERO),
        "total_value": sum((v for _s, _l, _n, v in statuses), ZERO),
        "total_count": sum(n for _s, _l, n, _v in statuses),
    }


def modules_for(user) -> dict[str, bool]:
    return {key: permissions.has_action(user, key, Action.VIEW) for key in (CONTRACT, INVOICE, PAYMENT, EXPENSE)}
