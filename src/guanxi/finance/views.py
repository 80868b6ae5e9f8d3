"""Pages of the finance app: contracts (milestones, approval, renewal, statistics), invoices (line editor,
issue, void, PDF, payments), payments, commission plans / entries / statements, expenses (approval,
report), the approval inbox and the settings.

Views are thin: they parse input, call one service or selector and render.
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from guanxi.access import permissions
from guanxi.commerce import pricing
from guanxi.commerce.templatetags.commerce import money
from guanxi.platform.forms import posted_decision
from guanxi.platform.registry import Action
from guanxi.platform.views import Column, EntityViews, record_action, refusal_message

from . import commission_services, selectors, services
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
from .forms import (
    AdjustmentForm,
    CommissionPlanForm,
    CommissionStatementForm,
    ContractForm,
    DecisionForm,
    ExpenseForm,
    FinanceSettingsForm,
    InvoiceForm,
    PaymentForm,
    PaymentQuickForm,
    PeriodLockForm,
    ReasonForm,
    SubmitForm,
)
from .models import (
    ApprovalStatus,
    CommissionEntry,
    CommissionEntryKind,
    CommissionPlan,
    CommissionStatement,
    CommissionStatementStatus,
    Contract,
    ContractMilestone,
    ContractStatus,
    Expense,
    ExpenseStatus,
    Invoice,
    InvoiceStatus,
    Payment,
    allocate_milestones,
)

CONTRACT_BADGES = {
    ContractStatus.DRAFT: "text-bg-light",
    ContractStatus.UNDER_REVIEW: "text-bg-warning",
    ContractStatus.ACTIVE: "text-bg-success",
    ContractStatus.EXPIRING: "text-bg-info",
    ContractStatus.EXPIRED: "text-bg-secondary",
    ContractStatus.RENEWED: "text-bg-primary",
    ContractStatus.TERMINATED: "text-bg-dark",
}
INVOICE_BADGES = {
    InvoiceStatus.DRAFT: "text-bg-light",
    InvoiceStatus.ISSUED: "text-bg-primary",
    InvoiceStatus.PARTLY_PAID: "text-bg-info",
    InvoiceStatus.PAID: "text-bg-success",
    InvoiceStatus.OVERDUE: "text-bg-danger",
    InvoiceStatus.VOID: "text-bg-secondary",
}
EXPENSE_BADGES = {
    ExpenseStatus.DRAFT: "text-bg-light",
    ExpenseStatus.SUBMITTED: "text-bg-warning",
    ExpenseStatus.APPROVED: "text-bg-success",
    ExpenseStatus.REJECTED: "text-bg-danger",
}
STATEMENT_BADGES = {
    CommissionStatementStatus.OPEN: "text-bg-light",
    CommissionStatementStatus.APPROVED: "text-bg-success",
}
ENTRY_BADGES = {CommissionEntryKind.ACCRUAL: "text-bg-success", CommissionEntryKind.REVERSAL: "text-bg-danger",
                CommissionEntryKind.ADJUSTMENT: "text-bg-info"}  # fmt: skip


def _money_cell(field_name: str):
    def render_cell(obj):
        value = getattr(obj, field_name)
        if value is None:
            return ""
        return format_html('<span class="text-nowrap gx-amount">{} {}</span>', money(value), obj.currency)

    return render_cell


def _link(obj, label):
    return format_html('<a class="text-nowrap" href="{}">{}</a>', obj.get_absolute_url(), label)


def _done(request, url):
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or default
    return target if target.startswith("/") and not target.startswith("//") else default


class ServiceBulk:
    """Bulk actions through the entity's services (status rules apply), one record at a time."""

    bulk_assign = True
    bulk_tags = False

    def bulk_view(self, request):
        ids = [int(v) for v in request.POST.getlist("ids") if str(v).isdigit()]
        action = request.POST.get("action")
        back = _safe_next(request, self.url("list"))
        if not ids:
            messages.warning(request, _("Select at least one row first."))
            return HttpResponseRedirect(back)
        if action == "delete":
            permissions.require(request.user, self.entity_key, Action.DELETE)
            rows = permissions.visible(request.user, self.list_queryset(request), Action.DELETE).filter(pk__in=ids)
            done, refused = 0, []
            for obj in rows:
                try:
                    self.delete(request, obj)
                    done += 1
                except ValidationError as exc:
                    refused.append(_("%(label)s: %(value)s") % {"label": obj, "value": " ".join(exc.messages)})
            messages.success(
                request, ngettext("%(n)s record was deleted.", "%(n)s records were deleted.", done) % {"n": done}
            )
            if refused:
                messages.warning(request, " ".join(refused[:5]))
        elif action == "assign" and self.bulk_assign:
            from guanxi.org.selectors import member_users

            permissions.require(request.user, self.entity_key, Action.ASSIGN)
            owner = member_users().filter(pk=request.POST.get("owner") or 0).first()
            if owner is None:
                messages.error(request, _("Choose a new owner."))
                return HttpResponseRedirect(back)
            rows = permissions.visible(request.user, self.list_queryset(request), Action.ASSIGN).filter(pk__in=ids)
            n = 0
            for obj in rows:
                try:
                    self.update(request, obj, {"owner": owner})
                    n += 1
                except ValidationError:
                    continue
            messages.success(
                request,
                ngettext("%(n)s record now belongs to %(owner)s.", "%(n)s records now belong to %(owner)s.", n)
                % {"n": n, "owner": owner},
            )
        else:
            messages.error(request, _("This cannot be done with several records at once."))
        return HttpResponseRedirect(back)


# --- contracts ---------------------------------------------------------------------------------------


class ContractViews(ServiceBulk, EntityViews):
    entity_key = CONTRACT
    url_prefix = "contracts/"
    name = "contract"
    filterset_class = ContractFilterSet
    form_class = ContractForm
    detail_template = "finance/contract_detail.html"
    default_sort = "-updated_at"
    icon = "file-earmark-ruled"
    columns = [
        Column("number", pgettext_lazy("contract", "Number"), sort="number", kind="link", default=True,
               render=lambda c: _link(c, c.number)),
        Column("title", gettext_lazy("Title"), sort="title", default=True),
        Column("account", gettext_lazy("Account"), default=True),
        Column("status", gettext_lazy("Status"), kind="badge", badge_classes=CONTRACT_BADGES, default=True),
        Column("value", pgettext_lazy("contract", "Value"), sort="value", render=_money_cell("value"), default=True),
        Column("start_date", gettext_lazy("Start"), sort="start_date", kind="date", default=True),
        Column("end_date", gettext_lazy("End"), sort="end_date", kind="date", default=True),
        Column("owner", gettext_lazy("Owner"), default=True),
        Column("signed_date", gettext_lazy("Signed on"), kind="date"),
        Column("created_at", gettext_lazy("Created"), sort="created_at", kind="datetime"),
        Column("updated_at", gettext_lazy("Updated"), sort="updated_at", kind="datetime"),
    ]  # fmt: skip
    form_sections = [
        (gettext_lazy("Contract"), ["title", "account", "contact", "opportunity", "order", "owner", "business_line"]),
        (gettext_lazy("Term and value"), ["start_date", "end_date", "signed_date", "value", "currency"]),
        (gettext_lazy("Parties"), ["our_company", "our_signatory", "customer_signatory"]),
        (gettext_lazy("Terms"), ["terms", "notes"]),
    ]

    def list_queryset(self, request):
        return selectors.contract_list_queryset()

    def detail_queryset(self, request):
        return selectors.contract_detail_queryset()

    def initial_for_create(self, request):
        from guanxi.commerce.models import Order
        from guanxi.sales.models import Opportunity

        opportunity = order = None
        if str(request.GET.get("opportunity", "")).isdigit():
            opportunity = (
                permissions.visible(request.user, Opportunity.objects.all())
                .filter(pk=request.GET["opportunity"])
                .first()
            )
        if str(request.GET.get("order", "")).isdigit():
            order = permissions.visible(request.user, Order.objects.all()).filter(pk=request.GET["order"]).first()
        defaults = services.contract_defaults(opportunity=opportunity, order=order)
        initial = {k: getattr(v, "pk", v) for k, v in defaults.items()}
        initial["owner"] = request.user.pk
        return initial

    def create(self, request, data):
        return services.contract_create(actor=request.user, data=data)

    def update(self, request, obj, data):
        return services.contract_update(actor=request.user, contract=obj, data=data)

    def delete(self, request, obj):
        services.contract_delete(actor=request.user, contract=obj)

    def detail_context(self, request, obj):
        user = request.user
        can_edit = permissions.can(user, Action.EDIT, obj)
        milestones = selectors.contract_milestones(obj)
        approvals = selectors.contract_approvals(obj)
        pending = next((a for a in approvals if a.status == ApprovalStatus.PENDING), None)
        allowed = services.CONTRACT_TRANSITIONS.get(obj.status, ())
        scheduled = sum(allocate_milestones(obj.value, milestones), pricing.ZERO)
        can_invoice = obj.status in (ContractStatus.ACTIVE, ContractStatus.EXPIRING, ContractStatus.EXPIRED) and (
            permissions.has_action(user, INVOICE, Action.CREATE)
        )
        extra_rows = 3 if len(milestones) < 12 else 1
        return {
            "milestones": milestones,
            "milestone_rows": [*milestones, *[None] * extra_rows] if can_edit and obj.is_editable else milestones,
            "scheduled": scheduled,
            "unscheduled": obj.value - scheduled,
            "approvals": approvals,
            "pending_approval": pending,
            "can_decide": pending is not None and services.can_decide(user, pending),
            "can_submit": can_edit and obj.status == ContractStatus.DRAFT,
            "can_withdraw": can_edit and obj.status == ContractStatus.UNDER_REVIEW,
            "can_terminate": can_edit and ContractStatus.TERMINATED in allowed,
            "can_renew": can_edit and ContractStatus.RENEWED in allowed and permissions.has_action(user, CONTRACT, Action.CREATE),
            "can_invoice": can_invoice,
            "invoices": selectors.contract_invoices(user, obj),
            "renewals": selectors.contract_renewals(user, obj),
            "renewed_from_visible": obj.renewed_from_id is not None and permissions.can(user, Action.VIEW, obj.renewed_from),
            "status_badges": CONTRACT_BADGES,
            "invoice_badges": INVOICE_BADGES,
            "steps": [(s, label) for s, label in ContractStatus.choices if s not in (ContractStatus.RENEWED, ContractStatus.TERMINATED)],
            "submit_form": SubmitForm(),
            "decision_form": DecisionForm(),
            "reason_form": ReasonForm(),
            "approver": services.approver_for(obj.owner) if obj.status == ContractStatus.DRAFT else None,
            "our_company": obj.our_company or services.our_company_name(),
        }  # fmt: skip


def _contract_for(request, pk, action=Action.VIEW) -> Contract:
    return permissions.get_for(request.user, selectors.contract_detail_queryset(), pk, action)


def _posted_milestones(post) -> list[dict]:
    try:
        count = min(int(post.get("milestone_count", 0)), 100)
    except ValueError:
        count = 0
    rows = []
    for i in range(count):
        row = {
            name: (post.get(f"milestones-{i}-{name}") or "").strip()
            for name in ("due_date", "description", "amount", "percent")
        }
        if not any(row.values()) or post.get(f"milestones-{i}-remove"):
            continue
        rows.append({k: (v or None) for k, v in row.items()})
    return rows


@login_required
@require_POST
def contract_milestones(request, pk):
    """Save the milestone table of a draft contract (empty rows are ignored, ticked rows removed)."""
    contract = _contract_for(request, pk, Action.EDIT)
    return record_action(
        request,
        lambda: services.contract_set_milestones(
            actor=request.user, contract=contract, milestones=_posted_milestones(request.POST)
        ),
        success=_("The milestones were saved."),
        then=f"{contract.get_absolute_url()}#milestones",
    )


@login_required
@require_POST
def contract_submit(request, pk):
    contract = _contract_for(request, pk, Action.EDIT)
    form = SubmitForm(request.POST)
    form.is_valid()
    return record_action(
        request,
        lambda: services.contract_submit(
            actor=request.user, contract=contract, message=form.cleaned_data.get("message", "")
        ),
        success=_("The contract was submitted for approval."),
        then=contract.get_absolute_url(),
    )


@login_required
@require_POST
def contract_withdraw(request, pk):
    contract = _contract_for(request, pk, Action.EDIT)
    return record_action(
        request,
        lambda: services.contract_withdraw(actor=request.user, contract=contract),
        success=_("The approval request was withdrawn."),
        then=contract.get_absolute_url(),
    )


@login_required
@require_POST
def contract_decide(request, pk):
    """Approve or reject a contract (``pk`` is the approval request)."""
    approval = selectors.contract_approval_for(request.user, pk)
    approve, comment = posted_decision(request)
    return record_action(
        request,
        lambda: services.contract_decide(actor=request.user, approval=approval, approve=approve, comment=comment),
        success=_("Contract approved.") if approve else _("Contract rejected."),
        then=_safe_next(request, approval.contract.get_absolute_url()),
    )


@login_required
@require_POST
def contract_terminate(request, pk):
    contract = _contract_for(request, pk, Action.EDIT)
    form = ReasonForm(request.POST)
    form.is_valid()
    return record_action(
        request,
        lambda: services.contract_terminate(
            actor=request.user, contract=contract, reason=form.cleaned_data.get("reason", "")
        ),
        success=_("The contract was terminated."),
        then=contract.get_absolute_url(),
    )


@login_required
@require_POST
def contract_renew(request, pk):
    contract = _contract_for(request, pk, Action.EDIT)
    try:
        new = services.contract_renew(actor=request.user, contract=contract)
    except ValidationError as exc:
        refusal_message(request, exc)
        return redirect(contract.get_absolute_url())
    messages.success(request, _("The renewal %(number)s was created as a draft.") % {"number": new.number})
    return redirect(new.get_absolute_url())


@login_required
@require_POST
def milestone_invoice(request, pk, milestone_pk):
    """Bill one payment milestone of a contract: a draft invoice of its amount."""
    contract = _contract_for(request, pk)
    milestone = ContractMilestone.objects.filter(pk=milestone_pk, contract=contract).first()
    if milestone is None:
        raise Http404
    permissions.require(request.user, INVOICE, Action.CREATE)
    try:
        invoice = services.invoice_from_milestone(actor=request.user, milestone=milestone)
    except ValidationError as exc:
        refusal_message(request, exc)
        return redirect(contract.get_absolute_url())
    messages.success(request, _("A draft invoice was created for the milestone."))
    return redirect(invoice.get_absolute_url())


def _month_start(value: str | None, default: datetime.date) -> datetime.date:
    try:
        return datetime.date.fromisoformat((value or "") + ("-01" if value and len(value) == 7 else "")).replace(day=1)
    except ValueError:
        return default


@login_required
def contract_stats(request):
    """Contract value by status and by start month, renewal rate — of the contracts the user may see."""
    permissions.require(request.user, CONTRACT, Action.VIEW)
    from guanxi.org.selectors import member_user_choices

    today = timezone.localdate()
    default_start = datetime.date(today.year - 1, today.month, 1) + datetime.timedelta(days=31)
    start = _month_start(request.GET.get("start"), default_start.replace(day=1))
    end_month = _month_start(request.GET.get("end"), today.replace(day=1))
    if end_month < start:
        start, end_month = end_month, start
    end = commission_services.period_bounds(end_month, "month")[1]
    currencies = selectors.contract_currencies(request.user) or [services.finance_settings().default_currency]
    currency = (request.GET.get("currency") or "").upper()
    if currency not in currencies:
        currency = (
            services.finance_settings().default_currency
            if services.finance_settings().default_currency in currencies
            else currencies[0]
        )
    owner_id = int(request.GET["owner"]) if str(request.GET.get("owner", "")).isdigit() else None
    stats = selectors.contract_stats(request.user, currency=currency, start=start, end=end, owner_id=owner_id)
    charts = {
        "status": {"labels": [str(label) for _s, label, _n, _v in stats["statuses"]],
                   "values": [str(v) for _s, _l, _n, v in stats["statuses"]],
                   "counts": [n for _s, _l, n, _v in stats["statuses"]]},
        "months": {"labels": [m.strftime("%Y-%m") for m, _n, _v in stats["months"]],
                   "values": [str(v) for _m, _n, v in stats["months"]],
                   "counts": [n for _m, n, _v in stats["months"]]},
        "renewal": {"renewed": stats["renewed"], "expired": stats["expired"], "terminated": stats["terminated"]},
    }  # fmt: skip
    return render(
        request,
        "finance/contract_stats.html",
        {
            "stats": stats,
            "charts": charts,
            "currency": currency,
            "currencies": currencies,
            "start": start,
            "end": end,
            "owner_id": owner_id,
            "owners": member_user_choices(),
            "status_badges": CONTRACT_BADGES,
        },
    )


@login_required
@require_GET
def related_contracts(request):
    """The Contracts tab of an account, opportunity or order page (a related panel)."""
    from guanxi.commerce.models import Order, OrderStatus
    from guanxi.customers.models import Account
    from guanxi.sales.models import Opportunity

    if request.GET.get("account"):
        parent = permissions.get_for(request.user, Account.objects.all(), request.GET["account"])
        rows = selectors.contracts_of(request.user, account=parent)
        new_url = f"{reverse('finance:contract_create')}?account={parent.pk}"
    elif request.GET.get("opportunity"):
        parent = permissions.get_for(request.user, Opportunity.objects.all(), request.GET["opportunity"])
        rows = selectors.contracts_of(request.user, opportunity=parent)
        new_url = f"{reverse('finance:contract_create')}?opportunity={parent.pk}" if parent.status == "won" else None
    elif request.GET.get("order"):
        parent = permissions.get_for(request.user, Order.objects.all(), request.GET["order"])
        rows = selectors.contracts_of(request.user, order=parent)
        new_url = (
            f"{reverse('finance:contract_create')}?order={parent.pk}"
            if parent.status != OrderStatus.CANCELLED
            else None
        )
    else:
        raise Http404
    can_create = permissions.has_action(request.user, CONTRACT, Action.CREATE)
    return render(request, "finance/_related_contracts.html",
                  {"rows": rows, "new_url": new_url if can_create else None, "status_badges": CONTRACT_BADGES})  # fmt: skip


@login_required
@require_GET
def related_invoices(request):
    """The Invoices tab of an account page (a related panel)."""
    from guanxi.customers.models import Account

    if not request.GET.get("account"):
        raise Http404
    parent = permissions.get_for(request.user, Account.objects.all(), request.GET["account"])
    rows = selectors.invoices_of(request.user, account=parent)
    can_create = permissions.has_action(request.user, INVOICE, Action.CREATE)
    new_url = f"{reverse('finance:invoice_create')}?account={parent.pk}" if can_create else None
    return render(
        request, "finance/_related_invoices.html", {"rows": rows, "new_url": new_url, "status_badges": INVOICE_BADGES}
    )


# --- invoices -------------------------------------------------------------------------------------------


class InvoiceViews(ServiceBulk, EntityViews):
    entity_key = INVOICE
    url_prefix = "invoices/"
    name = "invoice"
    filterset_class = InvoiceFilterSet
    form_class = InvoiceForm
    detail_template = "finance/invoice_detail.html"
    default_sort = "-updated_at"
    icon = "receipt"
    columns = [
        Column("number", pgettext_lazy("invoice", "Number"), sort="number", kind="link", default=True,
               render=lambda i: _link(i, i.display_number)),
        Column("account", gettext_lazy("Account"), default=True),
        Column("status", gettext_lazy("Status"), kind="badge", badge_classes=INVOICE_BADGES, default=True),
        Column("total", gettext_lazy("Total"), sort="total", render=_money_cell("total"), default=True),
        Column("balance", gettext_lazy("Open balance"), render=_money_cell("balance"), default=True, field="amount_paid"),
        Column("invoice_date", gettext_lazy("Invoice date"), sort="invoice_date", kind="date", default=True),
        Column("due_date", pgettext_lazy("due date", "Due"), sort="due_date", kind="date", default=True),
        Column("owner", gettext_lazy("Owner"), default=True),
        Column("title", gettext_lazy("Subject")),
        Column("created_at", gettext_lazy("Created"), sort="created_at", kind="datetime"),
        Column("updated_at", gettext_lazy("Updated"), sort="updated_at", kind="datetime"),
    ]  # fmt: skip
    form_sections = [
        (gettext_lazy("Invoice"), ["title", "account", "contact", "contract", "order", "owner", "business_line"]),
        (gettext_lazy("Amounts and terms"), ["currency", "discount_percent", "payment_terms_days", "due_date"]),
        (gettext_lazy("Billing"), ["billing_address", "terms", "notes"]),
    ]

    def list_queryset(self, request):
        return selectors.invoice_list_queryset()

    def detail_queryset(self, request):
        return selectors.invoice_detail_queryset()

    def initial_for_create(self, request):
        conf = services.finance_settings()
        return {"owner": request.user.pk, "currency": conf.default_currency, "payment_terms_days": conf.invoice_due_days,
                "terms": conf.invoice_terms}  # fmt: skip

    def create(self, request, data):
        return services.invoice_create(actor=request.user, data=data)

    def update(self, request, obj, data):
        return services.invoice_update(actor=request.user, invoice=obj, data=data)

    def delete(self, request, obj):
        services.invoice_delete(actor=request.user, invoice=obj)

    def detail_context(self, request, obj):
        from guanxi.commerce.views import LineEditor, _stored_rows

        user = request.user
        lines = selectors.invoice_lines(obj)
        amounts = pricing.compute_document(
            [pricing.LineInput(quantity=li.quantity, unit_price=li.unit_price, discount_percent=li.discount_percent,
                               tax_rate=li.tax_rate, list_price=li.list_price) for li in lines],
            obj.discount_percent or pricing.ZERO,
        )  # fmt: skip
        can_edit = permissions.can(user, Action.EDIT, obj)
        editor = None
        if can_edit and obj.is_editable:
            editor = LineEditor(document=obj, rows=_stored_rows(lines, amounts), amounts=amounts, errors={},
                                discount_percent=obj.discount_percent,
                                preview_url=reverse("finance:invoice_lines_preview", args=[obj.pk]),
                                save_url=reverse("finance:invoice_lines", args=[obj.pk]))  # fmt: skip
        can_pay = obj.is_open and permissions.has_action(user, PAYMENT, Action.CREATE)
        return {
            "lines": lines,
            "amounts": amounts,
            "editor": editor,
            "payments": selectors.invoice_payments(user, obj),
            "can_issue": can_edit and obj.status == InvoiceStatus.DRAFT and bool(lines),
            "can_void": can_edit and obj.status not in (InvoiceStatus.DRAFT, InvoiceStatus.VOID),
            "can_pay": can_pay,
            "payment_form": PaymentQuickForm(initial={"amount": obj.balance, "date": timezone.localdate(),
                                                      "method": Payment.Method.BANK_TRANSFER}) if can_pay else None,
            "reason_form": ReasonForm(),
            "status_badges": INVOICE_BADGES,
            "contract_visible": obj.contract_id is not None and permissions.can(user, Action.VIEW, obj.contract),
            "order_visible": obj.order_id is not None and permissions.can(user, Action.VIEW, obj.order),
            "settings": services.finance_settings(),
        }  # fmt: skip


def _invoice_for(request, pk, action=Action.VIEW) -> Invoice:
    return permissions.get_for(request.user, selectors.invoice_detail_queryset(), pk, action)


def _invoice_editor(invoice, preview):
    from guanxi.commerce.views import _editor_from_preview

    return _editor_from_preview(invoice, preview, preview_url=reverse("finance:invoice_lines_preview", args=[invoice.pk]),
                                save_url=reverse("finance:invoice_lines", args=[invoice.pk]))  # fmt: skip


@login_required
@require_POST
def invoice_lines_preview(request, pk):
    """htmx: the line editor re-rendered with server-computed prices and totals (nothing is saved)."""
    from guanxi.commerce.views import _posted_lines, _preview_errors_for_new_rows

    invoice = _invoice_for(request, pk, Action.EDIT)
    if not invoice.is_editable:
        raise Http404
    rows = _posted_lines(request)
    preview = services.preview_invoice_lines(actor=request.user, invoice=invoice, raw_lines=rows,
                                             discount_percent=request.POST.get("discount_percent", "0"))  # fmt: skip
    _preview_errors_for_new_rows(preview, rows)
    return render(request, "commerce/_line_editor.html", {"editor": _invoice_editor(invoice, preview)})


@login_required
@require_POST
def invoice_lines(request, pk):
    """Save the line editor of a draft invoice (htmx or a plain form post)."""
    from guanxi.commerce.views import _blank_rows_ok, _posted_lines

    invoice = _invoice_for(request, pk, Action.EDIT)
    rows = _blank_rows_ok(_posted_lines(request))
    discount = request.POST.get("discount_percent", "0")
    try:
        services.invoice_set_lines(actor=request.user, invoice=invoice, lines=rows, discount_percent=discount)
    except ValidationError as exc:
        if request.htmx and hasattr(exc, "error_dict") and invoice.is_editable:
            preview = services.preview_invoice_lines(actor=request.user, invoice=invoice, raw_lines=rows,
                                                     discount_percent=discount)  # fmt: skip
            return render(
                request, "commerce/_line_editor.html", {"editor": _invoice_editor(invoice, preview)}, status=422
            )
        refusal_message(request, exc)
        return _done(request, invoice.get_absolute_url())
    messages.success(request, _("The lines were saved."))
    return _done(request, invoice.get_absolute_url())


@login_required
@require_POST
def invoice_issue(request, pk):
    invoice = _invoice_for(request, pk, Action.EDIT)
    try:
        invoice = services.invoice_issue(actor=request.user, invoice=invoice)
    except ValidationError as exc:
        refusal_message(request, exc)
    else:
        messages.success(request, _("Invoice %(number)s was issued.") % {"number": invoice.number})
    return redirect(invoice.get_absolute_url())


@login_required
@require_POST
def invoice_void(request, pk):
    invoice = _invoice_for(request, pk, Action.EDIT)
    form = ReasonForm(request.POST)
    form.is_valid()
    return record_action(
        request,
        lambda: services.invoice_void(actor=request.user, invoice=invoice, reason=form.cleaned_data.get("reason", "")),
        success=_("The invoice was voided; it keeps its number."),
        then=invoice.get_absolute_url(),
    )


@login_required
@require_POST
def invoice_pay(request, pk):
    """Record a payment from the invoice page."""
    invoice = _invoice_for(request, pk)
    form = PaymentQuickForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            " ".join(
                _("%(label)s: %(value)s") % {"label": form.fields[k].label, "value": " ".join(v)}
                for k, v in form.errors.items()
            ),
        )
        return redirect(invoice.get_absolute_url())
    return record_action(
        request,
        lambda: services.payment_create(actor=request.user, data={"invoice": invoice, **form.cleaned_data}),
        success=_("The payment was recorded."),
        then=invoice.get_absolute_url(),
    )


@login_required
@require_POST
def invoice_from_order(request, pk):
    """Bill a commerce order (``pk``): a draft invoice with the order's lines."""
    from guanxi.commerce.models import Order

    order = permissions.get_for(request.user, Order.objects.all(), pk)
    permissions.require(request.user, INVOICE, Action.CREATE)
    try:
        invoice = services.invoice_from_order(actor=request.user, order=order)
    except ValidationError as exc:
        refusal_message(request, exc)
        return redirect(order.get_absolute_url())
    messages.success(request, _("A draft invoice was created from the order."))
    return redirect(invoice.get_absolute_url())


@login_required
@require_GET
def invoice_pdf(request, pk):
    """The invoice as a PDF (download; ``?inline=1`` to view it in the browser)."""
    from .pdf import invoice_pdf as render_pdf

    invoice = _invoice_for(request, pk)
    response = HttpResponse(render_pdf(invoice), content_type="application/pdf")
    disposition = "inline" if request.GET.get("inline") else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{_pdf_name(invoice)}"'
    return response


def _pdf_name(invoice: Invoice) -> str:
    return f"{invoice.number or f'draft-{invoice.pk}'}.pdf"


# --- payments -----------------------------------------------------------------------------------------


class PaymentViews(ServiceBulk, EntityViews):
    entity_key = PAYMENT
    url_prefix = "payments/"
    name = "payment"
    filterset_class = PaymentFilterSet
    form_class = PaymentForm
    detail_template = "finance/payment_detail.html"
    default_sort = "-date"
    icon = "cash-coin"
    bulk_assign = False
    columns = [
        Column("date", pgettext_lazy("payment", "Date"), sort="date", kind="link", default=True,
               render=lambda p: _link(p, p.date.isoformat())),
        Column("invoice", gettext_lazy("Invoice"), default=True, render=lambda p: p.invoice.display_number),
        Column("account", gettext_lazy("Account"), default=True, render=lambda p: str(p.invoice.account), field="invoice"),
        Column("amount", gettext_lazy("Amount"), sort="amount", render=_money_cell("amount"), default=True),
        Column("method", gettext_lazy("Method"), kind="choice", default=True),
        Column("reference", gettext_lazy("Reference"), default=True),
        Column("owner", gettext_lazy("Owner")),
        Column("created_by", gettext_lazy("Recorded by")),
        Column("created_at", pgettext_lazy("timestamp", "Recorded"), sort="created_at", kind="datetime"),
    ]  # fmt: skip
    form_sections = [(gettext_lazy("Payment"), ["invoice", "amount", "date", "method", "reference", "notes"])]

    def list_queryset(self, request):
        return selectors.payment_list_queryset()

    def detail_queryset(self, request):
        return selectors.payment_detail_queryset()

    def initial_for_create(self, request):
        initial = {"date": timezone.localdate()}
        if str(request.GET.get("invoice", "")).isdigit():
            invoice = selectors.open_invoices_for_payment(request.user).filter(pk=request.GET["invoice"]).first()
            if invoice is not None:
                initial.update(invoice=invoice.pk, amount=invoice.balance)
        return initial

    def create(self, request, data):
        return services.payment_create(actor=request.user, data=data)

    def update(self, request, obj, data):
        return services.payment_update(actor=request.user, payment=obj, data=data)

    def delete(self, request, obj):
        services.payment_delete(actor=request.user, payment=obj)

    def detail_context(self, request, obj):
        return {
            "invoice_visible": permissions.can(request.user, Action.VIEW, obj.invoice),
            "entries": list(permissions.visible(request.user, obj.commission_entries.select_related("rep", "plan"))),
            "invoice_badges": INVOICE_BADGES,
        }


# --- commissions -------------------------------------------------------------------------------------------


class CommissionPlanViews(ServiceBulk, EntityViews):
    entity_key = PLAN
    url_prefix = "commissions/plans/"
    name = "commission_plan"
    filterset_class = CommissionPlanFilterSet
    form_class = CommissionPlanForm
    detail_template = "finance/commission_plan_detail.html"
    default_sort = "name"
    icon = "diagram-3"
    bulk_assign = False
    columns = [
        Column("name", gettext_lazy("Name"), sort="name", kind="link", default=True),
        Column("basis", gettext_lazy("Accrued"), kind="choice", default=True),
        Column("period", gettext_lazy("Attainment period"), kind="choice", default=True),
        Column("currency", gettext_lazy("Currency"), default=True),
        Column("default_rate", pgettext_lazy("commission rate", "Default rate (%)"), default=True),
        Column("member_count", gettext_lazy("Reps"), default=True,
               render=lambda p: str(getattr(p, "member_count", "")) if getattr(p, "member_count", 0) else _("Everyone")),
        Column("is_active", gettext_lazy("Active"), kind="bool", default=True),
        Column("valid_from", gettext_lazy("Valid from"), kind="date"),
        Column("valid_until", gettext_lazy("Valid until"), kind="date"),
        Column("updated_at", gettext_lazy("Updated"), sort="updated_at", kind="datetime"),
    ]  # fmt: skip
    form_sections = [
        (
            pgettext_lazy("commission plan", "Plan"),
            ["name", "basis", "period", "currency", "default_rate", "is_active"],
        ),
        (gettext_lazy("Validity"), ["valid_from", "valid_until", "description"]),
    ]

    def list_queryset(self, request):
        return selectors.plan_list_queryset()

    def detail_queryset(self, request):
        return selectors.plan_detail_queryset()

    def initial_for_create(self, request):
        return {"currency": services.finance_settings().default_currency}

    def create(self, request, data):
        return commission_services.plan_create(actor=request.user, data=data)

    def update(self, request, obj, data):
        return commission_services.plan_update(actor=request.user, plan=obj, data=data)

    def delete(self, request, obj):
        commission_services.plan_delete(actor=request.user, plan=obj)

    def detail_context(self, request, obj):
        from guanxi.commerce.models import ProductCategory
        from guanxi.org.models import BusinessLine
        from guanxi.org.selectors import member_user_choices

        rates, tiers, members = selectors.plan_rules(obj)
        can_edit = permissions.can(request.user, Action.EDIT, obj)
        return {
            "rates": rates,
            "tiers": tiers,
            "members": members,
            "rate_rows": [*rates, None, None] if can_edit else rates,
            "tier_rows": [*tiers, None, None] if can_edit else tiers,
            "categories": list(ProductCategory.objects.order_by("name")) if can_edit else [],
            "business_lines": list(BusinessLine.objects.order_by("name")) if can_edit else [],
            "member_choices": member_user_choices() if can_edit else [],
            "member_ids": {m.pk for m in members},
            "can_accrue": permissions.is_tenant_admin(request.user),
            "entry_count": obj.entries.count(),
        }


def _plan_rows(post, prefix: str, names: tuple[str, ...]) -> list[dict]:
    try:
        count = min(int(post.get(f"{prefix}_count", 0)), 100)
    except ValueError:
        count = 0
    rows = []
    for i in range(count):
        row = {name: (post.get(f"{prefix}-{i}-{name}") or "").strip() for name in names}
        if any(row.values()) and not post.get(f"{prefix}-{i}-remove"):
            rows.append(row)
    return rows


@login_required
@require_POST
def plan_rules(request, pk):
    """Save a plan's rates, tiers and reps (the tables on its page)."""
    plan = permissions.get_for(request.user, CommissionPlan.objects.all(), pk, Action.EDIT)
    try:
        commission_services.plan_set_rules(
            actor=request.user,
            plan=plan,
            rates=_plan_rows(request.POST, "rates", ("category", "business_line", "rate")),
            tiers=_plan_rows(request.POST, "tiers", ("threshold", "rate")),
        )
        commission_services.plan_set_members(actor=request.user, plan=plan,
                                             users=[v for v in request.POST.getlist("members") if v.isdigit()])  # fmt: skip
    except ValidationError as exc:
        refusal_message(request, exc)
    else:
        messages.success(request, _("The plan's rates were saved."))
    return redirect(plan.get_absolute_url())


@login_required
@require_POST
def commissions_accrue(request):
    """Catch up: accrue what is missing and reverse what no longer counts (administrators)."""
    counts = commission_services.commissions_accrue_missing(actor=request.user)
    messages.success(
        request,
        ngettext(
            "%(accrued)s entry accrued, %(reversed)s reversed.",
            "%(accrued)s entries accrued, %(reversed)s reversed.",
            counts["accrued"],
        )
        % counts,
    )
    return HttpResponseRedirect(_safe_next(request, reverse("finance:commission_entry_list")))


class CommissionEntryViews(ServiceBulk, EntityViews):
    entity_key = ENTRY
    url_prefix = "commissions/"
    name = "commission_entry"
    filterset_class = CommissionEntryFilterSet
    form_class = AdjustmentForm
    detail_template = "finance/commission_entry_detail.html"
    default_sort = "-date"
    icon = "percent"
    bulk_assign = False
    columns = [
        Column("date", gettext_lazy("Date"), sort="date", kind="link", default=True, render=lambda e: _link(e, e.date.isoformat())),
        Column("rep", gettext_lazy("Rep"), default=True),
        Column("kind", gettext_lazy("Kind"), kind="badge", badge_classes=ENTRY_BADGES, default=True),
        Column("description", gettext_lazy("Description"), default=True),
        Column("base_amount", gettext_lazy("Credited"), render=_money_cell("base_amount"), default=True),
        Column("rate", pgettext_lazy("commission rate", "Rate (%)"), default=True),
        Column("amount", gettext_lazy("Commission"), sort="amount", render=_money_cell("amount"), default=True),
        Column("plan", pgettext_lazy("commission plan", "Plan")),
        Column("statement", gettext_lazy("Statement"), render=lambda e: e.statement.period_label if e.statement_id else ""),
        Column("created_at", gettext_lazy("Created"), sort="created_at", kind="datetime"),
    ]  # fmt: skip
    form_sections = [(gettext_lazy("Adjustment"), ["rep", "plan", "date", "amount", "currency", "description"])]

    def list_queryset(self, request):
        return selectors.entry_list_queryset()

    def detail_queryset(self, request):
        return selectors.entry_detail_queryset()

    def initial_for_create(self, request):
        return {"rep": request.user.pk, "date": timezone.localdate(),
                "currency": services.finance_settings().default_currency}  # fmt: skip

    def create(self, request, data):
        return commission_services.adjustment_create(actor=request.user, data=data)

    def update(self, request, obj, data):
        raise ValidationError(_("Commission entries cannot be changed; add an adjustment instead."))

    def edit_view(self, request, pk):
        obj = permissions.get_for(request.user, self.detail_queryset(request), pk)
        messages.info(request, _("Commission entries cannot be changed; add an adjustment instead."))
        return redirect(obj.get_absolute_url())

    def delete(self, request, obj):
        commission_services.entry_delete(actor=request.user, entry=obj)

    def detail_context(self, request, obj):
        user = request.user
        return {
            "kind_badges": ENTRY_BADGES,
            "invoice_visible": obj.invoice_id is not None and permissions.can(user, Action.VIEW, obj.invoice),
            "payment_visible": obj.payment_id is not None and permissions.can(user, Action.VIEW, obj.payment),
            "opportunity_visible": obj.opportunity_id is not None
            and permissions.can(user, Action.VIEW, obj.opportunity),
            "statement_visible": obj.statement_id is not None and permissions.can(user, Action.VIEW, obj.statement),
            "reversal": CommissionEntry.objects.filter(reverses=obj).first(),
            "can_delete": obj.kind == CommissionEntryKind.ADJUSTMENT
            and not obj.is_locked
            and permissions.can(user, Action.DELETE, obj),
            "can_accrue": permissions.is_tenant_admin(user),
        }


class CommissionStatementViews(ServiceBulk, EntityViews):
    entity_key = STATEMENT
    url_prefix = "commissions/statements/"
    name = "commission_statement"
    filterset_class = CommissionStatementFilterSet
    form_class = CommissionStatementForm
    detail_template = "finance/commission_statement_detail.html"
    default_sort = "-period_start"
    icon = "journal-text"
    bulk_assign = False
    columns = [
        Column("period_start", gettext_lazy("Period"), sort="period_start", kind="link", default=True,
               render=lambda s: _link(s, s.period_label)),
        Column("rep", gettext_lazy("Rep"), default=True),
        Column("status", gettext_lazy("Status"), kind="badge", badge_classes=STATEMENT_BADGES, default=True),
        Column("entry_count", gettext_lazy("Entries"), default=True),
        Column("base_total", gettext_lazy("Credited"), render=_money_cell("base_total"), default=True),
        Column("commission_total", gettext_lazy("Commission"), sort="commission_total",
               render=_money_cell("commission_total"), default=True),
        Column("approved_by", gettext_lazy("Approved by")),
        Column("approved_at", pgettext_lazy("timestamp", "Approved"), kind="datetime"),
        Column("updated_at", gettext_lazy("Updated"), sort="updated_at", kind="datetime"),
    ]  # fmt: skip
    form_sections = [(gettext_lazy("Statement"), ["rep", "period_kind", "period_start", "currency", "notes"])]

    def list_queryset(self, request):
        return selectors.statement_list_queryset()

    def detail_queryset(self, request):
        return selectors.statement_detail_queryset()

    def initial_for_create(self, request):
        return {"rep": request.user.pk, "period_start": timezone.localdate(),
                "currency": services.finance_settings().default_currency}  # fmt: skip

    def create(self, request, data):
        return commission_services.statement_create(actor=request.user, data=data)

    def update(self, request, obj, data):
        from guanxi.platform import crud

        return crud.record_update(entity_key=STATEMENT, actor=request.user, instance=obj,
                                  data={"notes": data.get("notes", obj.notes)}, check_permission=False)[0]  # fmt: skip

    def edit_view(self, request, pk):
        """Only a statement's notes change (approvers write them)."""
        obj = permissions.get_for(request.user, self.detail_queryset(request), pk)
        if not commission_services.can_approve(request.user, obj):
            raise PermissionDenied
        if request.method == "POST":
            form = self.form_class(request.POST, instance=obj, user=request.user)
            if form.is_valid():
                self.update(request, obj, form.cleaned_data)
                messages.success(request, _("Your changes were saved."))
                return redirect(obj.get_absolute_url())
        else:
            form = self.form_class(instance=obj, user=request.user)
        return self._form_response(request, form, obj)

    def delete(self, request, obj):
        commission_services.statement_delete(actor=request.user, statement=obj)

    def detail_context(self, request, obj):
        commission_services.statement_refresh(obj)
        entries = list(commission_services.statement_entries(obj))
        return {
            "entries": entries,
            "kind_badges": ENTRY_BADGES,
            "status_badges": STATEMENT_BADGES,
            "can_approve": not obj.is_locked and commission_services.can_approve(request.user, obj),
            "can_reopen": obj.is_locked and commission_services.can_approve(request.user, obj),
            "can_delete": not obj.is_locked and permissions.can(request.user, Action.DELETE, obj),
        }


def _statement_for(request, pk) -> CommissionStatement:
    return permissions.get_for(request.user, selectors.statement_detail_queryset(), pk)


@login_required
@require_POST
def statement_approve(request, pk):
    statement = _statement_for(request, pk)
    return record_action(
        request,
        lambda: commission_services.statement_approve(actor=request.user, statement=statement),
        success=_("The statement was approved; its entries are locked."),
        then=statement.get_absolute_url(),
    )


@login_required
@require_POST
def statement_reopen(request, pk):
    statement = _statement_for(request, pk)
    return record_action(
        request,
        lambda: commission_services.statement_reopen(actor=request.user, statement=statement),
        success=_("The statement is open again."),
        then=statement.get_absolute_url(),
    )


@login_required
@require_POST
def period_lock(request):
    """Approve (lock) a month or quarter for every rep."""
    if not permissions.has_action(request.user, STATEMENT, Action.ADMINISTER):
        raise PermissionDenied
    form = PeriodLockForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the period to lock."))
    else:
        approved = commission_services.period_lock(
            actor=request.user, period_kind=form.cleaned_data["period_kind"], day=form.cleaned_data["day"],
            currency=form.cleaned_data["currency"].strip().upper(),
        )  # fmt: skip
        messages.success(
            request,
            ngettext("%(n)s statement was approved.", "%(n)s statements were approved.", len(approved))
            % {"n": len(approved)},
        )
    return redirect("finance:commission_statement_list")


# --- expenses ---------------------------------------------------------------------------------------------


class ExpenseViews(ServiceBulk, EntityViews):
    entity_key = EXPENSE
    url_prefix = "expenses/"
    name = "expense"
    filterset_class = ExpenseFilterSet
    form_class = ExpenseForm
    detail_template = "finance/expense_detail.html"
    default_sort = "-date"
    icon = "wallet2"
    columns = [
        Column("date", gettext_lazy("Date"), sort="date", kind="date", default=True),
        Column("description", gettext_lazy("Description"), kind="link", default=True,
               render=lambda e: _link(e, e.description)),
        Column("category", gettext_lazy("Category"), kind="choice", default=True),
        Column("amount", gettext_lazy("Amount"), sort="amount", render=_money_cell("amount"), default=True),
        Column("status", gettext_lazy("Status"), kind="badge", badge_classes=EXPENSE_BADGES, default=True),
        Column("owner", gettext_lazy("Rep"), default=True),
        Column("account", gettext_lazy("Account"), default=True),
        Column("opportunity", gettext_lazy("Opportunity")),
        Column("created_at", gettext_lazy("Created"), sort="created_at", kind="datetime"),
        Column("updated_at", gettext_lazy("Updated"), sort="updated_at", kind="datetime"),
    ]  # fmt: skip
    form_sections = [
        (gettext_lazy("Expense"), ["date", "category", "amount", "currency", "description"]),
        (pgettext_lazy("expense form section", "For"), ["account", "opportunity", "owner"]),
    ]

    def list_queryset(self, request):
        return selectors.expense_list_queryset()

    def detail_queryset(self, request):
        return selectors.expense_detail_queryset()

    def initial_for_create(self, request):
        return {"owner": request.user.pk, "date": timezone.localdate(),
                "currency": services.finance_settings().default_currency}  # fmt: skip

    def create(self, request, data):
        return services.expense_create(actor=request.user, data=data)

    def update(self, request, obj, data):
        return services.expense_update(actor=request.user, expense=obj, data=data)

    def delete(self, request, obj):
        services.expense_delete(actor=request.user, expense=obj)

    def detail_context(self, request, obj):
        user = request.user
        can_edit = permissions.can(user, Action.EDIT, obj)
        return {
            "status_badges": EXPENSE_BADGES,
            "can_submit": can_edit and obj.is_editable,
            "can_withdraw": can_edit and obj.status == ExpenseStatus.SUBMITTED,
            "can_decide": services.can_decide(user, obj)
            and (obj.owner_id != user.pk or permissions.is_tenant_admin(user)),
            "decision_form": DecisionForm(),
            "approver": services.approver_for(obj.owner) if obj.is_editable else None,
        }


def _expense_for(request, pk, action=Action.VIEW) -> Expense:
    return permissions.get_for(request.user, selectors.expense_detail_queryset(), pk, action)


@login_required
@require_POST
def expense_submit(request, pk):
    expense = _expense_for(request, pk, Action.EDIT)
    return record_action(
        request,
        lambda: services.expense_submit(actor=request.user, expense=expense),
        success=_("The expense was submitted for approval."),
        then=expense.get_absolute_url(),
    )


@login_required
@require_POST
def expense_withdraw(request, pk):
    expense = _expense_for(request, pk, Action.EDIT)
    return record_action(
        request,
        lambda: services.expense_withdraw(actor=request.user, expense=expense),
        success=_("The approval request was withdrawn."),
        then=expense.get_absolute_url(),
    )


@login_required
@require_POST
def expense_decide(request, pk):
    expense = selectors.expense_for_decision(request.user, pk)
    approve, comment = posted_decision(request)
    return record_action(
        request,
        lambda: services.expense_decide(actor=request.user, expense=expense, approve=approve, comment=comment),
        success=_("Expense approved.") if approve else _("Expense rejected."),
        then=_safe_next(request, expense.get_absolute_url()),
    )


@login_required
def expense_report(request):
    """Expenses per rep with totals by status, for a period and currency (what the user may see)."""
    permissions.require(request.user, EXPENSE, Action.VIEW)
    from guanxi.org.selectors import member_user_choices

    today = timezone.localdate()

    def day(name, default):
        try:
            return datetime.date.fromisoformat(request.GET.get(name) or "")
        except ValueError:
            return default

    start = day("start", today.replace(day=1))
    end = day("end", today)
    currency = (request.GET.get("currency") or "").strip().upper()[:3] or None
    owner_id = int(request.GET["owner"]) if str(request.GET.get("owner", "")).isdigit() else None
    rows, grand = selectors.expense_report(request.user, start=start, end=end, currency=currency, owner_id=owner_id)
    return render(
        request,
        "finance/expense_report.html",
        {
            "rows": rows,
            "grand": grand,
            "start": start,
            "end": end,
            "currency": currency or "",
            "owner_id": owner_id,
            "owners": member_user_choices(),
            "statuses": ExpenseStatus.choices,
            "list_url": reverse("finance:expense_list"),
        },
    )


# --- approvals and settings ---------------------------------------------------------------------------------


@login_required
def approvals(request):
    """Contracts and expenses waiting for the user's decision, and the user's own requests."""
    if not selectors.approvals_visible_to(request.user):
        raise PermissionDenied
    my_contracts, my_expenses = selectors.my_requests(request.user)
    return render(
        request,
        "finance/approvals.html",
        {
            "contracts": list(selectors.contract_approval_inbox(request.user)[:200]),
            "expenses": list(selectors.expense_approval_inbox(request.user)[:200]),
            "my_contracts": my_contracts,
            "my_expenses": my_expenses,
            "decision_form": DecisionForm(),
            "expense_badges": EXPENSE_BADGES,
            "is_admin": permissions.is_tenant_admin(request.user),
        },
    )


@login_required
def settings_view(request):
    if getattr(request, "tenant", None) is None or not permissions.is_tenant_admin(request.user):
        raise PermissionDenied
    conf = services.finance_settings()
    form = FinanceSettingsForm(request.POST or None, instance=conf)
    if request.method == "POST" and form.is_valid():
        try:
            services.finance_settings_update(actor=request.user, data={n: form.cleaned_data[n] for n in form.fields})
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for key, errors in exc.message_dict.items():
                    form.add_error(key if key in form.fields else None, errors)
            else:
                form.add_error(None, exc)
        else:
            messages.success(request, _("The settings were saved."))
            return redirect("finance:settings")
    return render(request, "finance/settings.html", {"form": form, "period_form": PeriodLockForm(
        initial={"day": timezone.localdate(), "currency": conf.default_currency})})  # fmt: skip


contract_views = ContractViews()
invoice_views = InvoiceViews()
payment_views = PaymentViews()
plan_views = CommissionPlanViews()
entry_views = CommissionEntryViews()
statement_views = CommissionStatementViews()
expense_views = ExpenseViews()
