"""/api/v1/contracts, /invoices, /payments, /commission-plans, /commissions (entries and statements),
/expenses: the same filters, services and permissions as the pages."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.utils import timezone
from ninja import Router, Status

from guanxi.access import permissions
from guanxi.attachments.api import attachment_routes
from guanxi.platform.api_crud import EntityApi
from guanxi.platform.registry import Action

from . import commission_services, selectors, services
from .api_schemas import (
    AccrueIn,
    AccrueOut,
    AdjustmentIn,
    AdjustmentPatch,
    ApprovalOut,
    ContractIn,
    ContractOut,
    ContractPatch,
    ContractStatsOut,
    DecisionIn,
    EntryOut,
    ExpenseIn,
    ExpenseOut,
    ExpensePatch,
    FromOrderIn,
    InvoiceIn,
    InvoiceOut,
    InvoicePatch,
    IssueIn,
    LinesIn,
    LockIn,
    MessageIn,
    MilestoneOut,
    MilestonesIn,
    PaymentIn,
    PaymentOut,
    PaymentPatch,
    PlanIn,
    PlanOut,
    PlanPatch,
    ReasonIn,
    ReportRowOut,
    RulesIO,
    StatementIn,
    StatementOut,
    StatementPatch,
)
from .apps import CONTRACT, ENTRY, EXPENSE, INVOICE, PAYMENT, PLAN, STATEMENT
from .filters import (
    CommissionEntryFilterSet,
    CommissionPlanFilterSet,
    CommissionStatementFilterSet,
    ContractFilterSet,
    ExpenseFilterSet,
    InvoiceFilterSet,
    PaymentFilterSet,
)
from .models import CommissionPlan, ContractApproval, ContractMilestone

router = Router()


def _pop(data: dict, name: str):
    data = dict(data)
    return data, data.pop(name, None)


# --- contracts -------------------------------------------------------------------------------------


def _milestones_in(items) -> list[dict] | None:
    if items is None:
        return None
    return [{"due_date": m["due_date"], "description": m["description"], "amount": m.get("amount"),
             "percent": m.get("percent")} for m in items]  # fmt: skip


contracts_api = EntityApi(
    entity_key=CONTRACT,
    out_schema=ContractOut,
    in_schema=ContractIn,
    patch_schema=ContractPatch,
    filterset_class=ContractFilterSet,
    queryset=selectors.contract_list_queryset,
    create=lambda actor, data, tags: services.contract_create(
        actor=actor, data=_pop(data, "milestones")[0], milestones=_milestones_in(_pop(data, "milestones")[1])
    ),
    update=lambda actor, obj, data, tags: services.contract_update(actor=actor, contract=obj, data=data),
    delete=lambda actor, obj: services.contract_delete(actor=actor, contract=obj),
    sorts={"updated_at", "created_at", "start_date", "end_date", "value", "number", "id"},
    default_sort="-updated_at",
    extra_out=lambda obj, access: {"days_left": obj.days_left},
)
contracts_router = Router(tags=["contracts"])


def _contract(request, pk, action=Action.VIEW):
    return permissions.get_for(request.user, selectors.contract_detail_queryset(), pk, action)


def _contract_out(request, pk) -> dict:
    return contracts_api.serialize(_contract(request, pk), permissions.field_access(request.user, CONTRACT))


@contracts_router.get("/stats", response=ContractStatsOut, summary="Contract statistics",
                      operation_id="contracts_stats")  # fmt: skip
def contract_stats(request, currency: str | None = None, start: datetime.date | None = None,
                   end: datetime.date | None = None, owner_id: int | None = None):  # fmt: skip
    """Value by status and by start month, and the renewal rate (renewed ÷ ended in the period), of the contracts
    the caller may see in one currency. Default period: the last twelve months."""
    permissions.require(request.user, CONTRACT, Action.VIEW)
    today = timezone.localdate()
    end = end or today
    start = start or datetime.date(end.year - 1, end.month, 1)
    currency = (currency or services.finance_settings().default_currency).upper()
    stats = selectors.contract_stats(request.user, currency=currency, start=start, end=end, owner_id=owner_id)
    return {
        "currency": currency,
        "start": start,
        "end": end,
        "by_status": [{"status": s, "count": n, "value": v} for s, _label, n, v in stats["statuses"]],
        "by_start_month": [{"month": m.strftime("%Y-%m"), "count": n, "value": v} for m, n, v in stats["months"]],
        "renewed": stats["renewed"],
        "ended": stats["ended"],
        "renewal_rate": stats["renewal_rate"],
        "in_force_count": stats["in_force_count"],
        "in_force_value": stats["in_force_value"],
    }


def _milestones_out(contract) -> list[dict]:
    return [
        {"id": m.pk, "position": m.position, "due_date": m.due_date, "description": m.description, "amount": m.amount,
         "percent": m.percent, "computed_amount": m.amount_of(contract.value), "invoiced": m.invoiced,
         "invoice_id": m.invoice_id}
        for m in selectors.contract_milestones(contract)
    ]  # fmt: skip


@contracts_router.get("/{int:pk}/milestones", response=list[MilestoneOut], summary="Payment milestones of a contract",
                      operation_id="contracts_milestones")  # fmt: skip
def contract_milestones(request, pk: int):
    return _milestones_out(_contract(request, pk))


@contracts_router.put("/{int:pk}/milestones", response=list[MilestoneOut], summary="Replace the milestones of a draft",
                      operation_id="contracts_milestones_replace")  # fmt: skip
def contract_set_milestones(request, pk: int, payload: MilestonesIn):
    """Each milestone has an amount or a percent of the value; together they may not exceed the value (422)."""
    contract = _contract(request, pk, Action.EDIT)
    services.contract_set_milestones(actor=request.user, contract=contract,
                                     milestones=_milestones_in(payload.model_dump()["milestones"]))  # fmt: skip
    return _milestones_out(_contract(request, pk))


def _approval_out(a: ContractApproval) -> dict:
    return {"id": a.pk, "contract_id": a.contract_id, "status": a.status, "requested_by_id": a.requested_by_id,
            "approver_id": a.approver_id, "message": a.message, "comment": a.comment, "requested_at": a.requested_at,
            "decided_at": a.decided_at, "decided_by_id": a.decided_by_id}  # fmt: skip


@contracts_router.post("/{int:pk}/submit", response={201: ApprovalOut}, summary="Submit a draft for approval",
                       operation_id="contracts_submit")  # fmt: skip
def contract_submit(request, pk: int, payload: MessageIn):
    """To the owner's manager, or the tenant administrators when the owner has none (they are notified)."""
    approval = services.contract_submit(actor=request.user, contract=_contract(request, pk, Action.EDIT),
                                        message=payload.message)  # fmt: skip
    return Status(201, _approval_out(approval))


@contracts_router.post("/{int:pk}/approval", response=ApprovalOut, summary="Approve or reject a contract",
                       operation_id="contracts_decide")  # fmt: skip
def contract_decide(request, pk: int, payload: DecisionIn):
    """The approver named on the request or a tenant administrator decides; approved contracts become active."""
    contract = _contract(request, pk)
    approval = ContractApproval.objects.filter(contract=contract, status=ContractApproval.Status.PENDING).first()
    if approval is None:
        raise Http404
    approval = services.contract_decide(actor=request.user, approval=approval, approve=payload.decision == "approve",
                                        comment=payload.comment)  # fmt: skip
    return _approval_out(approval)


@contracts_router.post("/{int:pk}/withdraw", response=ContractOut, exclude_unset=True,
                       summary="Take a contract back from review", operation_id="contracts_withdraw")  # fmt: skip
def contract_withdraw(request, pk: int):
    services.contract_withdraw(actor=request.user, contract=_contract(request, pk, Action.EDIT))
    return _contract_out(request, pk)


@contracts_router.post("/{int:pk}/terminate", response=ContractOut, exclude_unset=True,
                       summary="Terminate a running contract", operation_id="contracts_terminate")  # fmt: skip
def contract_terminate(request, pk: int, payload: ReasonIn):
    services.contract_terminate(actor=request.user, contract=_contract(request, pk, Action.EDIT), reason=payload.reason)
    return _contract_out(request, pk)


@contracts_router.post("/{int:pk}/renew", response={201: ContractOut}, exclude_unset=True,
                       summary="Renew: a new draft for the next term", operation_id="contracts_renew")  # fmt: skip
def contract_renew(request, pk: int):
    """The old contract becomes renewed; the new draft starts the day after it ends, linked to it."""
    new = services.contract_renew(actor=request.user, contract=_contract(request, pk, Action.EDIT))
    return Status(201, _contract_out(request, new.pk))


def _invoice(request, pk, action=Action.VIEW):
    return permissions.get_for(request.user, selectors.invoice_detail_queryset(), pk, action)


def _invoice_out(request, pk) -> dict:
    return invoices_api.serialize(_invoice(request, pk), permissions.field_access(request.user, INVOICE))


@contracts_router.post("/{int:pk}/milestones/{int:milestone_id}/invoice", response={201: InvoiceOut},
                       exclude_unset=True, summary="Bill a payment milestone", operation_id="contracts_milestone_invoice")  # fmt: skip
def milestone_invoice(request, pk: int, milestone_id: int):
    contract = _contract(request, pk)
    milestone = ContractMilestone.objects.filter(pk=milestone_id, contract=contract).first()
    if milestone is None:
        raise Http404
    permissions.require(request.user, INVOICE, Action.CREATE)
    invoice = services.invoice_from_milestone(actor=request.user, milestone=milestone)
    return Status(201, _invoice_out(request, invoice.pk))


attachment_routes(contracts_router, CONTRACT, load=_contract, slug="contracts")


# --- invoices ---------------------------------------------------------------------------------------


def _lines_in(lines) -> list[dict] | None:
    if lines is None:
        return None
    return [{"product": line["product_id"], "description": line.get("description", ""), "quantity": line["quantity"],
             "unit_price": line.get("unit_price"), "discount_percent": line.get("discount_percent"),
             "tax_rate": line.get("tax_rate")} for line in lines]  # fmt: skip


invoices_api = EntityApi(
    entity_key=INVOICE,
    out_schema=InvoiceOut,
    in_schema=InvoiceIn,
    patch_schema=InvoicePatch,
    filterset_class=InvoiceFilterSet,
    queryset=selectors.invoice_list_queryset,
    create=lambda actor, data, tags: services.invoice_create(
        actor=actor, data=_pop(data, "lines")[0], lines=_lines_in(_pop(data, "lines")[1])
    ),
    update=lambda actor, obj, data, tags: services.invoice_update(actor=actor, invoice=obj, data=data),
    delete=lambda actor, obj: services.invoice_delete(actor=actor, invoice=obj),
    sorts={"updated_at", "created_at", "invoice_date", "due_date", "total", "number", "id"},
    default_sort="-updated_at",
    extra_out=lambda obj, access: {"balance": obj.balance, "display_number": obj.display_number},
)
invoices_router = Router(tags=["invoices"])


@invoices_router.post("/from-order", response={201: InvoiceOut}, exclude_unset=True,
                      summary="Bill an order", operation_id="invoices_from_order")  # fmt: skip
def invoice_from_order(request, payload: FromOrderIn):
    """A draft invoice with the order's lines, discount and totals (the order must be confirmed; once per order)."""
    from guanxi.commerce.models import Order

    order = permissions.get_for(request.user, Order.objects.all(), payload.order_id)
    permissions.require(request.user, INVOICE, Action.CREATE)
    invoice = services.invoice_from_order(actor=request.user, order=order)
    return Status(201, _invoice_out(request, invoice.pk))


def _lines_out(invoice) -> dict:
    from guanxi.commerce import pricing

    lines = selectors.invoice_lines(invoice)
    amounts = pricing.compute_document(
        [pricing.LineInput(quantity=li.quantity, unit_price=li.unit_price, discount_percent=li.discount_percent,
                           tax_rate=li.tax_rate, list_price=li.list_price) for li in lines],
        invoice.discount_percent or pricing.ZERO,
    )  # fmt: skip
    names = ("sku", "description", "unit", "quantity", "list_price", "unit_price", "discount_percent", "tax_rate",
             "gross_amount", "discount_amount", "net_amount", "tax_amount", "total")  # fmt: skip
    return {
        "lines": [{"id": li.pk, "position": li.position, "product_id": li.product_id, **{n: getattr(li, n) for n in names}}
                  for li in lines],
        "currency": invoice.currency,
        "discount_percent": invoice.discount_percent,
        **{n: getattr(invoice, n) for n in ("subtotal", "discount_total", "net_total", "tax_total", "total")},
        "taxes": [{"rate": t.rate, "base": t.base, "tax": t.tax} for t in amounts.taxes],
    }  # fmt: skip


def _lines_schema():
    from guanxi.commerce.api_schemas import LinesOut

    return LinesOut


@invoices_router.get("/{int:pk}/lines", response=_lines_schema(), summary="Lines and totals of an invoice",
                     operation_id="invoices_lines")  # fmt: skip
def invoice_lines(request, pk: int):
    return _lines_out(_invoice(request, pk))


@invoices_router.put("/{int:pk}/lines", response=_lines_schema(), summary="Replace the lines of a draft invoice",
                     operation_id="invoices_lines_replace")  # fmt: skip
def invoice_set_lines(request, pk: int, payload: LinesIn):
    """Prices left out come from the price books; amounts, taxes and totals are computed by the server."""
    data = payload.model_dump()
    services.invoice_set_lines(actor=request.user, invoice=_invoice(request, pk, Action.EDIT),
                               lines=_lines_in(data["lines"]), discount_percent=data["discount_percent"])  # fmt: skip
    return _lines_out(_invoice(request, pk))


@invoices_router.post("/{int:pk}/issue", response=InvoiceOut, exclude_unset=True,
                      summary="Issue a draft: it gets its number", operation_id="invoices_issue")  # fmt: skip
def invoice_issue(request, pk: int, payload: IssueIn):
    """Numbers are per tenant and year, sequential and without gaps (``INV-2026-00042``)."""
    services.invoice_issue(
        actor=request.user, invoice=_invoice(request, pk, Action.EDIT), invoice_date=payload.invoice_date
    )
    return _invoice_out(request, pk)


@invoices_router.post("/{int:pk}/void", response=InvoiceOut, exclude_unset=True,
                      summary="Void an issued invoice (it keeps its number)", operation_id="invoices_void")  # fmt: skip
def invoice_void(request, pk: int, payload: ReasonIn):
    services.invoice_void(actor=request.user, invoice=_invoice(request, pk, Action.EDIT), reason=payload.reason)
    return _invoice_out(request, pk)


@invoices_router.get("/{int:pk}/pdf", summary="The invoice as a PDF", operation_id="invoices_pdf",
                     response={200: None})  # fmt: skip
def invoice_pdf(request, pk: int):
    """`application/pdf`."""
    from .pdf import invoice_pdf as render_pdf

    invoice = _invoice(request, pk)
    response = HttpResponse(render_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number or f"draft-{invoice.pk}"}.pdf"'
    return response


def _payment_out(request, payment) -> dict:
    return payments_api.serialize(payment, permissions.field_access(request.user, PAYMENT))


@invoices_router.get("/{int:pk}/payments", response=list[PaymentOut], exclude_unset=True,
                     summary="Payments of an invoice", operation_id="invoices_payments")  # fmt: skip
def invoice_payments(request, pk: int):
    return [_payment_out(request, p) for p in selectors.invoice_payments(request.user, _invoice(request, pk))]


attachment_routes(invoices_router, INVOICE, load=_invoice, slug="invoices")


# --- payments ------------------------------------------------------------------------------------------

payments_api = EntityApi(
    entity_key=PAYMENT,
    out_schema=PaymentOut,
    in_schema=PaymentIn,
    patch_schema=PaymentPatch,
    filterset_class=PaymentFilterSet,
    queryset=selectors.payment_list_queryset,
    create=lambda actor, data, tags: services.payment_create(actor=actor, data=data),
    update=lambda actor, obj, data, tags: services.payment_update(actor=actor, payment=obj, data=data),
    delete=lambda actor, obj: services.payment_delete(actor=actor, payment=obj),
    sorts={"date", "amount", "created_at", "updated_at", "id"},
    default_sort="-date",
)


# --- commissions --------------------------------------------------------------------------------------

plans_api = EntityApi(
    entity_key=PLAN,
    out_schema=PlanOut,
    in_schema=PlanIn,
    patch_schema=PlanPatch,
    filterset_class=CommissionPlanFilterSet,
    queryset=selectors.plan_list_queryset,
    create=lambda actor, data, tags: commission_services.plan_create(actor=actor, data=data),
    update=lambda actor, obj, data, tags: commission_services.plan_update(actor=actor, plan=obj, data=data),
    delete=lambda actor, obj: commission_services.plan_delete(actor=actor, plan=obj),
    sorts={"name", "created_at", "updated_at", "id"},
    default_sort="name",
)
plans_router = Router(tags=["commission-plans"])


def _rules_out(plan) -> dict:
    rates, tiers, members = selectors.plan_rules(plan)
    return {
        "rates": [
            {"category_id": r.category_id, "business_line_id": r.business_line_id, "rate": r.rate} for r in rates
        ],
        "tiers": [{"threshold": t.threshold, "rate": t.rate} for t in tiers],
        "member_ids": [m.pk for m in members],
    }


@plans_router.get("/{int:pk}/rules", response=RulesIO, summary="Rates, tiers and reps of a plan",
                  operation_id="commission_plans_rules")  # fmt: skip
def plan_rules(request, pk: int):
    return _rules_out(permissions.get_for(request.user, CommissionPlan.objects.all(), pk))


@plans_router.put("/{int:pk}/rules", response=RulesIO, summary="Replace the rates, tiers and reps of a plan",
                  operation_id="commission_plans_rules_replace")  # fmt: skip
def plan_set_rules(request, pk: int, payload: RulesIO):
    plan = permissions.get_for(request.user, CommissionPlan.objects.all(), pk, Action.EDIT)
    data = payload.model_dump()
    commission_services.plan_set_rules(actor=request.user, plan=plan, rates=data["rates"], tiers=data["tiers"])
    commission_services.plan_set_members(actor=request.user, plan=plan, users=data["member_ids"])
    return _rules_out(plan)


def _entry_update(actor, obj, data, tags):
    from django.core.exceptions import ValidationError

    raise ValidationError("Commission entries cannot be changed; add an adjustment instead.")


entries_api = EntityApi(
    entity_key=ENTRY,
    out_schema=EntryOut,
    in_schema=AdjustmentIn,
    patch_schema=AdjustmentPatch,
    filterset_class=CommissionEntryFilterSet,
    queryset=selectors.entry_list_queryset,
    create=lambda actor, data, tags: commission_services.adjustment_create(actor=actor, data=data),
    update=_entry_update,
    delete=lambda actor, obj: commission_services.entry_delete(actor=actor, entry=obj),
    sorts={"date", "amount", "created_at", "id"},
    default_sort="-date",
    references={"rep_id": "rep", "plan_id": "plan"},
    extra_out=lambda obj, access: {"locked": obj.is_locked},
)
entries_router = Router(tags=["commissions"])


@entries_router.post("/accrue", response=AccrueOut, summary="Accrue missing commission (administrators)",
                     operation_id="commissions_accrue")  # fmt: skip
def commissions_accrue(request, payload: AccrueIn):
    """Accrues every payment and won deal not accrued yet and reverses accruals whose source no longer counts.
    Idempotent: running it twice changes nothing the second time."""
    if not permissions.is_tenant_admin(request.user):
        raise PermissionDenied
    return commission_services.commissions_accrue_missing(actor=request.user, since=payload.since)


def _statement_update(actor, obj, data, tags):
    from guanxi.platform import crud

    if not commission_services.can_approve(actor, obj):
        raise PermissionDenied
    return crud.record_update(entity_key=STATEMENT, actor=actor, instance=obj, data={"notes": data.get("notes", obj.notes)},
                              check_permission=False)[0]  # fmt: skip


statements_api = EntityApi(
    entity_key=STATEMENT,
    out_schema=StatementOut,
    in_schema=StatementIn,
    patch_schema=StatementPatch,
    filterset_class=CommissionStatementFilterSet,
    queryset=selectors.statement_list_queryset,
    create=lambda actor, data, tags: commission_services.statement_create(actor=actor, data=data),
    update=_statement_update,
    delete=lambda actor, obj: commission_services.statement_delete(actor=actor, statement=obj),
    sorts={"period_start", "commission_total", "created_at", "updated_at", "id"},
    default_sort="-period_start",
    references={"rep_id": "rep"},
    extra_out=lambda obj, access: {"period_label": obj.period_label},
)
statements_router = Router(tags=["commission-statements"])


def _statement(request, pk):
    return permissions.get_for(request.user, selectors.statement_detail_queryset(), pk)


def _statement_out(request, pk) -> dict:
    statement = commission_services.statement_refresh(_statement(request, pk))
    return statements_api.serialize(statement, permissions.field_access(request.user, STATEMENT))


@statements_router.get("/{int:pk}/entries", response=list[EntryOut], exclude_unset=True,
                       summary="Entries of a statement", operation_id="commission_statements_entries")  # fmt: skip
def statement_entries(request, pk: int):
    access = permissions.field_access(request.user, ENTRY)
    return [entries_api.serialize(e, access) for e in commission_services.statement_entries(_statement(request, pk))]


@statements_router.post("/{int:pk}/approve", response=StatementOut, exclude_unset=True,
                        summary="Approve and lock a statement", operation_id="commission_statements_approve")  # fmt: skip
def statement_approve(request, pk: int):
    commission_services.statement_approve(actor=request.user, statement=_statement(request, pk))
    return _statement_out(request, pk)


@statements_router.post("/{int:pk}/reopen", response=StatementOut, exclude_unset=True,
                        summary="Unlock an approved statement", operation_id="commission_statements_reopen")  # fmt: skip
def statement_reopen(request, pk: int):
    commission_services.statement_reopen(actor=request.user, statement=_statement(request, pk))
    return _statement_out(request, pk)


@statements_router.post("/lock", response=list[StatementOut], exclude_unset=True,
                        summary="Approve a period for every rep", operation_id="commission_statements_lock")  # fmt: skip
def period_lock(request, payload: LockIn):
    approved = commission_services.period_lock(actor=request.user, period_kind=payload.period_kind, day=payload.day,
                                               currency=payload.currency.upper())  # fmt: skip
    access = permissions.field_access(request.user, STATEMENT)
    return [statements_api.serialize(s, access) for s in approved]


# --- expenses ------------------------------------------------------------------------------------------

expenses_api = EntityApi(
    entity_key=EXPENSE,
    out_schema=ExpenseOut,
    in_schema=ExpenseIn,
    patch_schema=ExpensePatch,
    filterset_class=ExpenseFilterSet,
    queryset=selectors.expense_list_queryset,
    create=lambda actor, data, tags: services.expense_create(actor=actor, data=data),
    update=lambda actor, obj, data, tags: services.expense_update(actor=actor, expense=obj, data=data),
    delete=lambda actor, obj: services.expense_delete(actor=actor, expense=obj),
    sorts={"date", "amount", "created_at", "updated_at", "id"},
    default_sort="-date",
)
expenses_router = Router(tags=["expenses"])


def _expense(request, pk, action=Action.VIEW):
    return permissions.get_for(request.user, selectors.expense_detail_queryset(), pk, action)


def _expense_out(request, pk) -> dict:
    return expenses_api.serialize(_expense(request, pk), permissions.field_access(request.user, EXPENSE))


@expenses_router.get("/report", response=list[ReportRowOut], summary="Expense report per rep",
                     operation_id="expenses_report")  # fmt: skip
def expense_report(request, start: datetime.date | None = None, end: datetime.date | None = None,
                   currency: str | None = None, owner_id: int | None = None):  # fmt: skip
    """Per rep and currency: count and amounts by status in the period, of the expenses the caller may see."""
    permissions.require(request.user, EXPENSE, Action.VIEW)
    rows, _grand = selectors.expense_report(request.user, start=start, end=end,
                                            currency=(currency or "").upper() or None, owner_id=owner_id)  # fmt: skip
    return [{"owner_id": r.owner_id, "owner": r.owner, "currency": r.currency, "count": r.count, "by_status": r.totals,
             "total": r.total} for r in rows]  # fmt: skip


@expenses_router.post("/{int:pk}/submit", response=ExpenseOut, exclude_unset=True,
                      summary="Submit an expense for approval", operation_id="expenses_submit")  # fmt: skip
def expense_submit(request, pk: int):
    services.expense_submit(actor=request.user, expense=_expense(request, pk, Action.EDIT))
    return _expense_out(request, pk)


@expenses_router.post("/{int:pk}/withdraw", response=ExpenseOut, exclude_unset=True,
                      summary="Take an expense back from approval", operation_id="expenses_withdraw")  # fmt: skip
def expense_withdraw(request, pk: int):
    services.expense_withdraw(actor=request.user, expense=_expense(request, pk, Action.EDIT))
    return _expense_out(request, pk)


@expenses_router.post("/{int:pk}/decision", response=ExpenseOut, exclude_unset=True,
                      summary="Approve or reject an expense", operation_id="expenses_decide")  # fmt: skip
def expense_decide(request, pk: int, payload: DecisionIn):
    """The rep's manager named on the request, or a tenant administrator; rejecting needs a comment."""
    services.expense_decide(actor=request.user, expense=_expense(request, pk), approve=payload.decision == "approve",
                            comment=payload.comment)  # fmt: skip
    return _expense_out(request, pk)


attachment_routes(expenses_router, EXPENSE, load=_expense, slug="expenses")


# --- assembly: the action routers first, so "/contracts/stats" is not taken for an id ------------------

for prefix, tag, extra, api in (
    ("/contracts", "contracts", contracts_router, contracts_api),
    ("/invoices", "invoices", invoices_router, invoices_api),
    ("/commission-plans", "commission-plans", plans_router, plans_api),
    ("/commissions/statements", "commission-statements", statements_router, statements_api),
    ("/commissions", "commissions", entries_router, entries_api),
    ("/expenses", "expenses", expenses_router, expenses_api),
):
    router.add_router(prefix, extra)
    router.add_router(prefix, api.router(tag))
router.add_router("/payments", payments_api.router("payments"))
