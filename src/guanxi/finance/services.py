"""Writes of the finance app: settings, contracts, invoices, payments and expenses (commissions are in
``commission_services``).

Every function is keyword-only, atomic and audited; views, the API, tasks and the demo data call
these. Status changes are enforced here (``CONTRACT_TRANSITIONS``, invoice and expense rules), never
in a view. Invoice amounts are computed by ``guanxi.commerce.pricing`` (Decimal, half up to cents,
line by line).
"""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from guanxi.access import permissions
from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.commerce import pricing
from guanxi.platform import context, crud, registry
from guanxi.platform.registry import Action

from .apps import CONTRACT, EXPENSE, INVOICE, PAYMENT
from .models import (
    OPEN_INVOICE_STATUSES,
    ApprovalStatus,
    Contract,
    ContractApproval,
    ContractMilestone,
    ContractReminder,
    ContractStatus,
    Expense,
    ExpenseStatus,
    FinanceSettings,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    Sequence,
    allocate_milestones,
    money,
)

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
MAX_AMOUNT = Decimal(10) ** 15


def _pk(value):
    return getattr(value, "pk", value)


def _require_admin(actor) -> None:
    if actor is not None and not permissions.is_tenant_admin(actor):
        raise PermissionDenied


def _amount(value, field: str, *, positive: bool = True, allow_none: bool = False) -> Decimal | None:
    """A money amount from input: Decimal with at most 2 decimals, not negative (or > 0)."""
    amount = pricing.to_decimal(value, None)
    if amount is None:
        if allow_none:
            return None
        raise ValidationError({field: [_("Enter an amount.")]})
    if amount.normalize().as_tuple().exponent < -2:
        raise ValidationError({field: [_("At most 2 decimal places.")]})
    if (positive and amount <= 0) or amount < 0:
        raise ValidationError(
            {field: [_("The amount must be more than 0.") if positive else _("The amount cannot be negative.")]}
        )
    if amount >= MAX_AMOUNT:
        raise ValidationError({field: [_("The amount is too large.")]})
    return money(amount)


def _currency(value) -> str:
    return (value or "").strip().upper()


def _set_status(obj, status: str, *, note: str = "", changes: dict | None = None, **stamps):
    """Change a record's status with an UPDATE of the given columns, audited."""
    before = obj.status
    obj.status = status
    for name, value in stamps.items():
        setattr(obj, name, value)
    type(obj).objects.filter(pk=obj.pk).update(status=status, updated_at=timezone.now(), **stamps)
    audit.record(AuditAction.UPDATE, obj, changes={"status": [before, status], **(changes or {})}, note=note)
    return obj


# --- settings ------------------------------------------------------------------------------------------


def finance_settings() -> FinanceSettings:
    """The tenant's finance settings (created with the defaults on first use)."""
    cache = context.context_cache()
    row = cache.get("finance_settings")
    if row is not None:
        return row
    row = FinanceSettings.objects.first()
    if row is None:
        tenant = context.require_tenant()
        defaults = FinanceSettings(default_currency=(getattr(tenant, "currency", "") or "CNY")[:3])
        FinanceSettings.objects.bulk_create([defaults], ignore_conflicts=True)
        row = FinanceSettings.objects.get()
    cache["finance_settings"] = row
    return row


@transaction.atomic
def finance_settings_update(*, actor, data: dict) -> FinanceSettings:
    """Change the tenant's finance settings (tenant administrators only)."""
    _require_admin(actor)
    row = finance_settings()
    before = audit.snapshot(row)
    for name, value in data.items():
        setattr(row, name, value)
    row.default_currency = _currency(row.default_currency)
    if not (0 <= (row.default_tax_rate or 0) <= 100):
        raise ValidationError({"default_tax_rate": [_("A tax rate is between 0 and 100 %.")]})
    if row.renewal_reminder_days and row.expiry_warning_days and row.expiry_warning_days > row.renewal_reminder_days:
        raise ValidationError({"expiry_warning_days": [_("The last warning comes after the renewal reminder.")]})
    row.full_clean()
    row.save()
    changes = audit.diff(before, audit.snapshot(row))
    if changes:
        audit.record_change(AuditAction.UPDATE, row, changes)
    context.context_cache()["finance_settings"] = row
    return row


def our_company_name() -> str:
    conf = finance_settings()
    return conf.company_name or getattr(context.current_tenant(), "name", "")


# --- numbering ----------------------------------------------------------------------------------------


def next_number(key: str, prefix: str, day: datetime.date | None = None) -> str:
    """The next number of the tenant's ``key`` series for ``day``'s year, e.g. ``INV-2026-00042``.

    Call it inside the transaction that stores the number: the counter row stays locked
    (``SELECT … FOR UPDATE``) until that transaction ends, so concurrent callers wait, and a
    rollback gives the number back — no number is skipped or used twice.
    """
    year = (day or timezone.localdate()).year
    with transaction.atomic():
        sequence = Sequence.objects.select_for_update().filter(key=key, year=year).first()
        if sequence is None:
            # The year's first number: create the counter unless a concurrent transaction just did
            # (ON CONFLICT DO NOTHING waits for it), then lock whichever row exists.
            Sequence.objects.bulk_create([Sequence(key=key, year=year)], ignore_conflicts=True)
            sequence = Sequence.objects.select_for_update().get(key=key, year=year)
        sequence.last_value += 1
        sequence.save(update_fields=["last_value"])
    return f"{prefix}-{year}-{sequence.last_value:05d}"


# --- people: approvers and notifications --------------------------------------------------------------


def approver_for(user):
    """The person's manager (an active member other than them), or None: then any tenant administrator decides."""
    from guanxi.org.models import Member

    member = Member.objects.filter(user=user, is_active=True).select_related("manager__user").first()
    manager = member.manager if member is not None else None
    if manager is not None and manager.is_active and manager.user_id != user.pk:
        return manager.user
    return None


def tenant_admins() -> list:
    from guanxi.org.models import Member

    return [m.user for m in Member.objects.filter(is_admin=True, is_active=True).select_related("user")]


def notify(user, title_func, body_func, url: str) -> None:
    """An in-app notification in the user's language (e-mailed by the notification e-mail job)."""
    from guanxi.activities.models import Notification
    from guanxi.activities.services import notification_create, recipient_locale

    if user is None or not user.is_active:
        return
    with recipient_locale(user):
        title, body = str(title_func()), str(body_func())
    notification_create(user=user, kind=Notification.Kind.SYSTEM, title=title, body=body, url=url)


def _approval_recipients(approver, requester) -> list:
    if approver is not None:
        return [approver]
    admins = [u for u in tenant_admins() if u.pk != getattr(requester, "pk", None)]
    return admins or tenant_admins()


# --- references -----------------------------------------------------------------------------------------


def _visible(actor, model, value, field: str):
    """The record ``value`` (instance or id) of ``model`` if the actor may see it; ValidationError otherwise."""
    if value in (None, ""):
        return None
    pk = _pk(value)
    qs = model._default_manager.all()
    if actor is not None and registry.entity_for_model(model) is not None:
        qs = permissions.visible(actor, qs)
    obj = qs.filter(pk=pk).first() if str(pk).isdigit() else None
    if obj is None:
        raise ValidationError({field: [_("Select a record you can see.")]})
    return obj


def _links(actor, data: dict, instance, names: dict) -> dict:
    """Resolve foreign keys given as ids or instances (``<name>`` or ``<name>_id``) to visible records."""
    data = dict(data)
    for name in names:
        if f"{name}_id" in data:
            data[name] = data.pop(f"{name}_id")
    errors: dict[str, list[str]] = {}
    for name, model in names.items():
        if name not in data:
            continue
        current = getattr(instance, f"{name}_id", None) if instance is not None else None
        if current is not None and _pk(data[name]) == current:
            data[name] = getattr(instance, name)
            continue
        try:
            data[name] = _visible(actor, model, data[name], name)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return data


def _value(data: dict, instance, name: str):
    if name in data:
        return data[name]
    return getattr(instance, name, None) if instance is not None else None


def _same_account(data: dict, instance, names: tuple[str, ...]) -> None:
    account = _value(data, instance, "account")
    errors = {}
    for name in names:
        related = _value(data, instance, name)
        if account is not None and related is not None and getattr(related, "account_id", None) != account.pk:
            errors[name] = [_("This record belongs to another account.")]
    if errors:
        raise ValidationError(errors)


# --- contracts -------------------------------------------------------------------------------------------

CONTRACT_TRANSITIONS = {
    ContractStatus.DRAFT: (ContractStatus.UNDER_REVIEW,),
    ContractStatus.UNDER_REVIEW: (ContractStatus.ACTIVE, ContractStatus.DRAFT),
    ContractStatus.ACTIVE: (ContractStatus.EXPIRING, ContractStatus.EXPIRED, ContractStatus.RENEWED,
                            ContractStatus.TERMINATED),
    ContractStatus.EXPIRING: (ContractStatus.EXPIRED, ContractStatus.RENEWED, ContractStatus.TERMINATED),
    ContractStatus.EXPIRED: (ContractStatus.RENEWED,),
    ContractStatus.RENEWED: (),
    ContractStatus.TERMINATED: (),
}  # fmt: skip
CONTRACT_ALWAYS_EDITABLE = {"owner", "notes", "custom", "signed_date", "customer_signatory", "our_signatory", "contact"}
ENDED_STATUSES = (ContractStatus.EXPIRED, ContractStatus.RENEWED, ContractStatus.TERMINATED)


def _contract_move(contract: Contract, to: str, *, note: str = "", changes: dict | None = None, **stamps) -> Contract:
    if to not in CONTRACT_TRANSITIONS.get(contract.status, ()):
        raise ValidationError(
            _("A contract cannot go from %(from)s to %(to)s.")
            % {"from": contract.get_status_display(), "to": ContractStatus(to).label}
        )
    return _set_status(contract, to, note=note, changes=changes, **stamps)


def _contract_links(actor, data: dict, instance=None) -> dict:
    from guanxi.commerce.models import Order
    from guanxi.customers.models import Account, Contact
    from guanxi.org.models import BusinessLine
    from guanxi.sales.models import Opportunity

    data = _links(
        actor,
        data,
        instance,
        {
            "account": Account,
            "contact": Contact,
            "opportunity": Opportunity,
            "order": Order,
            "business_line": BusinessLine,
        },
    )
    if data.get("account") is None and instance is None:
        source = data.get("opportunity") or data.get("order")
        if source is not None:
            data["account"] = source.account
    _same_account(data, instance, ("contact", "opportunity", "order"))
    if "currency" in data:
        data["currency"] = _currency(data["currency"])
    return data


def _check_contract_values(data: dict, instance=None) -> None:
    errors = {}
    start, end = _value(data, instance, "start_date"), _value(data, instance, "end_date")
    if start and end and end < start:
        errors["end_date"] = [_("The end cannot be before the start.")]
    if "value" in data:
        try:
            data["value"] = _amount(data["value"], "value", positive=False)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


def contract_defaults(*, opportunity=None, order=None, account=None) -> dict:
    """What a new contract takes from its opportunity or order (title, account, value, currency, …)."""
    conf = finance_settings()
    today = timezone.localdate()
    data: dict = {"start_date": today, "end_date": _add_years(today, 1) - datetime.timedelta(days=1),
                  "currency": conf.default_currency, "our_company": our_company_name()}  # fmt: skip
    if account is not None:
        data.update(account=account, title=account.name)
    if opportunity is not None:
        data.update(
            account=opportunity.account,
            title=opportunity.name,
            value=opportunity.amount,
            currency=opportunity.currency,
            opportunity=opportunity,
            business_line=opportunity.business_line,
        )
        if opportunity.contact_id:
            data["contact"] = opportunity.contact
    if order is not None:
        data.update(account=order.account, title=str(order), value=order.total, currency=order.currency, order=order)
        if order.opportunity_id:
            data.setdefault("opportunity", order.opportunity)
        if order.contact_id:
            data.setdefault("contact", order.contact)
    return data


def _add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@transaction.atomic
def contract_create(*, actor, data: dict, milestones: list[dict] | None = None) -> Contract:
    """A draft contract, numbered ``C-<year>-<n>``; direct, or from an opportunity / order given in ``data``.

    Missing values come from the opportunity or order (account, title, value, currency, contact)
    and the settings (one year from today, our company).
    """
    if actor is not None:
        permissions.require(actor, CONTRACT, Action.CREATE)
    data = _contract_links(actor, data)
    defaults = contract_defaults(
        opportunity=data.get("opportunity"), order=data.get("order"), account=data.get("account")
    )
    for name, value in defaults.items():
        if data.get(name) in (None, ""):
            data[name] = value
    if data.get("account") is None:
        raise ValidationError({"account": [_("Choose the account the contract is with.")]})
    if data.get("opportunity") is not None and data["opportunity"].status != "won":
        raise ValidationError({"opportunity": [_("Only a won opportunity becomes a contract.")]})
    _check_contract_values(data)
    data["number"] = next_number("contract", "C")
    data["status"] = ContractStatus.DRAFT
    contract = crud.record_create(entity_key=CONTRACT, actor=actor, data=data)
    if milestones:
        contract_set_milestones(actor=actor, contract=contract, milestones=milestones)
    return contract


@transaction.atomic
def contract_update(*, actor, contract: Contract, data: dict) -> Contract:
    """Change a draft contract; once submitted only the owner, notes, signatories and signing date change."""
    data = _contract_links(actor, data, contract)
    if not contract.is_editable:
        blocked = {
            n for n in data if n not in CONTRACT_ALWAYS_EDITABLE and _pk(data[n]) != _pk(getattr(contract, n, None))
        }
        if blocked:
            raise ValidationError(
                {n: [_("This cannot change once the contract is submitted.")] for n in sorted(blocked)}
            )
        data = {k: v for k, v in data.items() if k in CONTRACT_ALWAYS_EDITABLE}
    _check_contract_values(data, contract)
    if "value" in data and data["value"] != contract.value:
        total = sum(allocate_milestones(data["value"], contract.milestones.order_by("position", "id")), ZERO)
        if total > data["value"]:
            raise ValidationError({"value": [_("The milestones add up to more than this value.")]})
    return crud.record_update(entity_key=CONTRACT, actor=actor, instance=contract, data=data)[0]


def _lock_contract(contract: Contract) -> Contract:
    return Contract.objects.select_for_update(of=("self",)).select_related("account", "owner").get(pk=contract.pk)


@transaction.atomic
def contract_set_milestones(*, actor, contract: Contract, milestones: list[dict]) -> list[ContractMilestone]:
    """Replace a draft contract's payment milestones: each a due date, a description and an amount or a percent.

    The milestones may not add up to more than the contract's value.
    """
    contract = _lock_contract(contract)
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, contract)
    if not contract.is_editable:
        raise ValidationError(_("The milestones of a submitted contract cannot change."))
    errors: dict[str, list[str]] = {}
    rows = []
    for index, raw in enumerate(milestones):
        prefix = f"milestones.{index}."
        due = raw.get("due_date")
        if isinstance(due, str):
            try:
                due = datetime.date.fromisoformat(due.strip()) if due.strip() else None
            except ValueError:
                due = None
        description = (raw.get("description") or "").strip()[:200]
        amount = pricing.to_decimal(raw.get("amount"), None)
        percent = pricing.to_decimal(raw.get("percent"), None)
        if due is None:
            errors.setdefault(prefix + "due_date", []).append(_("Enter the due date."))
        if not description:
            errors.setdefault(prefix + "description", []).append(_("Describe the milestone."))
        if (amount is None) == (percent is None):
            errors.setdefault(prefix + "amount", []).append(_("Give either an amount or a percent."))
        elif amount is not None:
            try:
                amount = _amount(amount, prefix + "amount")
            except ValidationError as exc:
                for key, messages in exc.message_dict.items():
                    errors.setdefault(key, []).extend(messages)
        elif not (0 < percent <= 100) or percent.normalize().as_tuple().exponent < -2:
            errors.setdefault(prefix + "percent", []).append(
                _("A percent is more than 0 and at most 100 (2 decimals).")
            )
        rows.append(ContractMilestone(contract=contract, position=index, due_date=due, description=description,
                                      amount=amount, percent=percent))  # fmt: skip
    if not errors:
        total = sum(allocate_milestones(contract.value, rows), ZERO)
        if total > contract.value:
            errors["milestones"] = [
                _("The milestones add up to %(total)s, more than the contract's value of %(value)s.")
                % {"total": f"{total:,.2f}", "value": f"{contract.value:,.2f}"}
            ]
    if errors:
        raise ValidationError(errors)
    before = [_milestone_repr(m, contract) for m in contract.milestones.all()]
    ContractMilestone.objects.filter(contract=contract).delete()
    ContractMilestone.objects.bulk_create(rows)
    after = [_milestone_repr(m, contract) for m in rows]
    if before != after:
        Contract.objects.filter(pk=contract.pk).update(updated_at=timezone.now())
        audit.record(AuditAction.UPDATE, contract, changes={"milestones": [before, after]})
    return list(contract.milestones.all())


def _milestone_repr(m: ContractMilestone, contract: Contract) -> str:
    share = f"{m.percent.normalize():f} %" if m.percent is not None else f"{m.amount:,.2f}"
    return f"{m.due_date}: {m.description} ({share} = {m.amount_of(contract.value):,.2f})"


@transaction.atomic
def contract_submit(*, actor, contract: Contract, message: str = "") -> ContractApproval:
    """Send a draft contract for approval to the owner's manager (or the tenant administrators)."""
    contract = _lock_contract(contract)
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, contract)
    if contract.status != ContractStatus.DRAFT:
        raise ValidationError(_("Only a draft contract can be submitted for approval."))
    if contract.value <= 0:
        raise ValidationError({"value": [_("Give the contract its value first.")]})
    requester = actor or contract.owner
    approver = approver_for(contract.owner)
    approval = ContractApproval.objects.create(
        contract=contract, requested_by=requester, approver=approver, message=(message or "").strip()
    )
    _contract_move(contract, ContractStatus.UNDER_REVIEW, note="submitted for approval", submitted_at=timezone.now())
    url = reverse("finance:approvals")
    for user in _approval_recipients(approver, requester):
        notify(
            user,
            lambda: _("Contract to approve: %(number)s") % {"number": contract.number},
            lambda: _("%(who)s asks you to approve “%(title)s” with %(account)s (%(value)s %(currency)s).")
            % {"who": requester, "title": contract.title, "account": contract.account,
               "value": f"{contract.value:,.2f}", "currency": contract.currency},
            url,
        )  # fmt: skip
    return approval


def can_decide(user, approval) -> bool:
    """The named approver or a tenant administrator decides a pending request (contract or expense)."""
    if getattr(approval, "status", None) not in (ApprovalStatus.PENDING, ExpenseStatus.SUBMITTED):
        return False
    return approval.approver_id == user.pk or permissions.is_tenant_admin(user)


@transaction.atomic
def contract_decide(*, actor, approval: ContractApproval, approve: bool, comment: str = "") -> ContractApproval:
    """Approve (the contract becomes active) or reject (back to draft, with the comment) a contract."""
    approval = (
        ContractApproval.objects.select_for_update(of=("self",))
        .select_related("contract", "requested_by")
        .get(pk=approval.pk)
    )
    if approval.status != ApprovalStatus.PENDING:
        raise ValidationError(_("This request was already decided."))
    if actor is not None and not can_decide(actor, approval):
        raise PermissionDenied
    comment = (comment or "").strip()
    if not approve and not comment:
        raise ValidationError({"comment": [_("Say why the contract is rejected.")]})
    contract = _lock_contract(approval.contract)
    if contract.status != ContractStatus.UNDER_REVIEW:
        raise ValidationError(_("The contract is no longer waiting for approval."))
    now = timezone.now()
    approval.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    approval.comment = comment
    approval.decided_at = now
    approval.decided_by = actor
    approval.save(update_fields=["status", "comment", "decided_at", "decided_by"])
    decision = "approved" if approve else "rejected"
    if approve:
        _contract_move(contract, ContractStatus.ACTIVE, note=f"approved{': ' + comment if comment else ''}",
                       changes={"approval": ["pending", f"approved by {actor}"]}, approved_at=now, approved_by=actor)  # fmt: skip
    else:
        _contract_move(contract, ContractStatus.DRAFT, note=f"rejected: {comment}",
                       changes={"approval": ["pending", f"rejected by {actor}"]})  # fmt: skip
    for user in {approval.requested_by, contract.owner}:
        notify(
            user,
            lambda: (
                (_("Contract approved: %(number)s") if approve else _("Contract rejected: %(number)s"))
                % {"number": contract.number}
            ),
            lambda: comment or contract.title,
            contract.get_absolute_url(),
        )
    logger.info("contract %s %s by %s", contract.pk, decision, getattr(actor, "pk", None))
    return approval


@transaction.atomic
def contract_withdraw(*, actor, contract: Contract) -> Contract:
    """Take a contract back from review (back to draft); its pending request is withdrawn."""
    contract = _lock_contract(contract)
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, contract)
    if contract.status != ContractStatus.UNDER_REVIEW:
        raise ValidationError(_("The contract is not waiting for approval."))
    ContractApproval.objects.filter(contract=contract, status=ApprovalStatus.PENDING).update(
        status=ApprovalStatus.CANCELLED, decided_at=timezone.now(), decided_by=actor
    )
    return _contract_move(contract, ContractStatus.DRAFT, note="approval request withdrawn")


@transaction.atomic
def contract_terminate(*, actor, contract: Contract, reason: str) -> Contract:
    """End a running contract early, with the reason."""
    contract = _lock_contract(contract)
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, contract)
    reason = (reason or "").strip()[:300]
    if not reason:
        raise ValidationError({"reason": [_("Give the reason for terminating the contract.")]})
    return _contract_move(contract, ContractStatus.TERMINATED, note="terminated", changes={"termination_reason": [None, reason]},
                          ended_at=timezone.now(), termination_reason=reason)  # fmt: skip


@transaction.atomic
def contract_renew(*, actor, contract: Contract, data: dict | None = None) -> Contract:
    """Renew a running or expired contract: a new draft for the next term, linked to it; it becomes renewed.

    The new contract starts the day after the old one ends, runs as long, has the same value,
    terms and parties, and the milestones moved by the same number of days (``data`` overrides).
    """
    contract = _lock_contract(contract)
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, contract)
        permissions.require(actor, CONTRACT, Action.CREATE)
    if ContractStatus.RENEWED not in CONTRACT_TRANSITIONS.get(contract.status, ()):
        raise ValidationError(_("Only an active, expiring or expired contract can be renewed."))
    start = contract.end_date + datetime.timedelta(days=1)
    shift = start - contract.start_date
    new_data = {
        "title": contract.title,
        "account": contract.account,
        "contact": contract.contact,
        "customer_signatory": contract.customer_signatory,
        "our_company": contract.our_company,
        "our_signatory": contract.our_signatory,
        "opportunity": contract.opportunity,
        "business_line": contract.business_line,
        "start_date": start,
        "end_date": start + datetime.timedelta(days=contract.term_days),
        "value": contract.value,
        "currency": contract.currency,
        "terms": contract.terms,
        "owner": contract.owner,
        **(data or {}),
    }
    _check_contract_values(new_data)
    new_data["number"] = next_number("contract", "C")
    new_data["status"] = ContractStatus.DRAFT
    new = crud.record_create(entity_key=CONTRACT, actor=None, data=new_data)
    Contract.objects.filter(pk=new.pk).update(renewed_from=contract, created_by=actor)
    new.renewed_from = contract
    ContractMilestone.objects.bulk_create(
        [
            ContractMilestone(contract=new, position=m.position, due_date=m.due_date + shift, description=m.description,
                              amount=m.amount, percent=m.percent)
            for m in contract.milestones.all()
        ]
    )  # fmt: skip
    _contract_move(contract, ContractStatus.RENEWED, note="renewed", changes={"renewal": [None, new.number]},
                   previous_status=contract.status, ended_at=timezone.now())  # fmt: skip
    return new


@transaction.atomic
def contract_delete(*, actor, contract: Contract) -> None:
    """Delete a draft contract; a deleted renewal gives the contract it renewed its status back."""
    from guanxi.attachments.services import attachments_delete_for

    contract = _lock_contract(contract)
    if contract.status != ContractStatus.DRAFT:
        raise ValidationError(_("Only draft contracts can be deleted; terminate it instead."))
    if contract.invoices.exists():
        raise ValidationError(_("This contract has invoices and cannot be deleted."))
    previous = contract.renewed_from
    attachments_delete_for(contract)
    crud.record_delete(entity_key=CONTRACT, actor=actor, instance=contract)
    if previous is not None and previous.status == ContractStatus.RENEWED:
        _set_status(previous, previous.previous_status or ContractStatus.EXPIRED, note="renewal deleted", ended_at=None)


def contracts_run_schedule(*, today: datetime.date | None = None) -> dict[str, int]:
    """The daily contract job of the current tenant; safe to run any number of times.

    * running contracts past their end become **expired** (the owner is told);
    * active contracts within the first warning threshold of their end become **expiring**;
    * the owner gets each warning (renewal reminder, expiry warning) once per contract and
      threshold — a notification, e-mailed by the notification e-mail job.
    """
    context.require_tenant()
    today = today or timezone.localdate()
    conf = finance_settings()
    thresholds = conf.warning_thresholds
    counts = {"expired": 0, "expiring": 0, "warnings": 0}
    with transaction.atomic():
        ended = list(
            Contract.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(status__in=(ContractStatus.ACTIVE, ContractStatus.EXPIRING), end_date__lt=today)
            .select_related("owner", "account")
        )
        for contract in ended:
            _contract_move(contract, ContractStatus.EXPIRED, note="term ended", ended_at=timezone.now())
            notify(
                contract.owner,
                lambda c=contract: _("Contract expired: %(number)s") % {"number": c.number},
                lambda c=contract: (
                    _("“%(title)s” with %(account)s ended on %(date)s.")
                    % {"title": c.title, "account": c.account, "date": c.end_date.isoformat()}
                ),
                contract.get_absolute_url(),
            )
        counts["expired"] = len(ended)
    if not thresholds:
        return counts
    horizon = today + datetime.timedelta(days=thresholds[0])
    with transaction.atomic():
        expiring = list(
            Contract.objects.select_for_update(of=("self",), skip_locked=True).filter(
                status=ContractStatus.ACTIVE, end_date__gte=today, end_date__lte=horizon
            )
        )
        for contract in expiring:
            _contract_move(contract, ContractStatus.EXPIRING, note="end approaching")
        counts["expiring"] = len(expiring)
    due = (
        Contract.objects.filter(status=ContractStatus.EXPIRING, end_date__gte=today, end_date__lte=horizon)
        .select_related("owner", "account")
        .order_by("end_date", "pk")
    )
    sent = {
        (c, t)
        for c, t in ContractReminder.objects.filter(contract__in=due).values_list("contract_id", "threshold_days")
    }
    for contract in due:
        days_left = (contract.end_date - today).days
        crossed = [t for t in thresholds if days_left <= t and (contract.pk, t) not in sent]
        if not crossed:
            continue
        claimed = []
        for threshold in crossed:
            with transaction.atomic():
                _reminder, created = ContractReminder.objects.get_or_create(
                    contract=contract, threshold_days=threshold, defaults={"end_date": contract.end_date}
                )
            if created:
                claimed.append(threshold)
        if not claimed:
            continue  # another worker sent these
        _warn(contract, min(claimed), days_left, conf)
        counts["warnings"] += 1
    return counts


def _warn(contract: Contract, threshold: int, days_left: int, conf: FinanceSettings) -> None:
    renewal = threshold == conf.renewal_reminder_days and threshold != conf.expiry_warning_days
    notify(
        contract.owner,
        lambda: (ngettext("Renew soon: %(number)s ends in %(days)s day", "Renew soon: %(number)s ends in %(days)s days",
                          days_left) if renewal
                 else ngettext("Contract %(number)s expires in %(days)s day", "Contract %(number)s expires in %(days)s days",
                               days_left)) % {"number": contract.number, "days": days_left},
        lambda: _("“%(title)s” with %(account)s ends on %(date)s (%(value)s %(currency)s).")
        % {"title": contract.title, "account": contract.account, "date": contract.end_date.isoformat(),
           "value": f"{contract.value:,.2f}", "currency": contract.currency},
        contract.get_absolute_url(),
    )  # fmt: skip
    audit.record(AuditAction.UPDATE, contract, changes={"warning": [None, f"{threshold} days"]},
                 note=f"{'renewal reminder' if renewal else 'expiry warning'} sent ({days_left} days left)")  # fmt: skip


# --- invoices ------------------------------------------------------------------------------------------

INVOICE_ALWAYS_EDITABLE = {"owner", "notes", "custom"}
LINE_FIELDS = ("position", "product_id", "sku", "description", "unit", "quantity", "list_price", "unit_price",
               "discount_percent", "tax_rate", "gross_amount", "discount_amount", "net_amount", "tax_amount", "total")  # fmt: skip
TOTAL_FIELDS = ("subtotal", "discount_total", "net_total", "tax_total", "total")


def _invoice_links(actor, data: dict, instance=None) -> dict:
    from guanxi.commerce.models import Order
    from guanxi.customers.models import Account, Contact
    from guanxi.org.models import BusinessLine

    data = _links(
        actor,
        data,
        instance,
        {"account": Account, "contact": Contact, "contract": Contract, "order": Order, "business_line": BusinessLine},
    )
    if data.get("account") is None and instance is None:
        source = data.get("contract") or data.get("order")
        if source is not None:
            data["account"] = source.account
    _same_account(data, instance, ("contact", "contract", "order"))
    if "currency" in data:
        data["currency"] = _currency(data["currency"])
    errors = {}
    if "discount_percent" in data:
        value = pricing.to_decimal(data["discount_percent"], None)
        if value is None or not (0 <= value <= 100):
            errors["discount_percent"] = [_("A discount is between 0 and 100 %.")]
        data["discount_percent"] = value
    if errors:
        raise ValidationError(errors)
    return data


@transaction.atomic
def invoice_create(*, actor, data: dict, lines: list[dict] | None = None) -> Invoice:
    """A draft invoice (no number until it is issued); direct, or for a contract or an order in ``data``.

    For an order and no ``lines``, the invoice bills the order: its lines, discount and totals are
    copied (the order must be confirmed and not billed yet).
    """
    if actor is not None:
        permissions.require(actor, INVOICE, Action.CREATE)
    conf = finance_settings()
    data = _invoice_links(actor, data)
    order = data.get("order")
    copy_order = order is not None and not lines
    if copy_order:
        order = data["order"] = _check_billable(order)
        data["currency"] = order.currency
        data["discount_percent"] = order.discount_percent
        if data.get("contact") is None:
            data["contact"] = order.contact
    if data.get("account") is None:
        raise ValidationError({"account": [_("Choose the account to bill.")]})
    source = data.get("contract") or order
    if not data.get("currency"):
        data["currency"] = getattr(source, "currency", None) or conf.default_currency
    if data.get("payment_terms_days") is None:
        data["payment_terms_days"] = conf.invoice_due_days
    if not data.get("terms"):
        data["terms"] = conf.invoice_terms
    if not data.get("billing_address"):
        data["billing_address"] = "\n".join([data["account"].name, *data["account"].address_lines])
    if data.get("business_line") is None:
        contract = data.get("contract")
        data["business_line"] = getattr(contract, "business_line", None)
    if not data.get("title") and source is not None:
        data["title"] = str(source)
    data["number"] = ""
    data["status"] = InvoiceStatus.DRAFT
    invoice = crud.record_create(entity_key=INVOICE, actor=actor, data=data)
    if copy_order:
        InvoiceLine.objects.bulk_create(
            [InvoiceLine(invoice=invoice, **{n: getattr(line, n) for n in LINE_FIELDS}) for line in order.lines.all()]
        )
        Invoice.objects.filter(pk=invoice.pk).update(**{n: getattr(order, n) for n in TOTAL_FIELDS})
        invoice.refresh_from_db()
        audit.record(AuditAction.UPDATE, invoice, changes={"lines": [None, f"from order {order.number}"],
                                                           "total": [None, invoice.total]})  # fmt: skip
    elif lines:
        invoice_set_lines(actor=actor, invoice=invoice, lines=lines)
        invoice.refresh_from_db()
    return invoice


def _check_billable(order):
    """The order, locked and fresh, if it may be billed; a ValidationError otherwise (a draft or cancelled
    order, or one billed already by an invoice that is not void)."""
    from guanxi.commerce.models import Order, OrderStatus

    # The order's row lock serialises concurrent billing of the same order (PostgreSQL; SQLite has one writer).
    order = Order.objects.select_for_update().filter(pk=order.pk).first() or order
    if order.status in (OrderStatus.DRAFT, OrderStatus.CANCELLED):
        raise ValidationError({"order": [_("Confirm the order before invoicing it.")]})
    existing = Invoice.objects.filter(order=order).exclude(status=InvoiceStatus.VOID).first()
    if existing is not None:
        raise ValidationError(
            {"order": [_("This order is already billed by %(invoice)s.") % {"invoice": existing.display_number}]}
        )
    return order


@transaction.atomic
def invoice_from_order(*, actor, order) -> Invoice:
    """Bill a confirmed (or fulfilled / closed) order: a draft invoice with its lines, discount and totals."""
    return invoice_create(
        actor=actor,
        data={"account": order.account_id, "order": order.pk, "owner": order.owner},
    )


@transaction.atomic
def invoice_from_milestone(*, actor, milestone: ContractMilestone) -> Invoice:
    """Bill a payment milestone of a running contract: one line of the milestone's amount (plus the default tax)."""
    contract = _lock_contract(milestone.contract)
    if actor is not None:
        permissions.require_can(actor, Action.VIEW, contract)
    milestone = ContractMilestone.objects.select_for_update().get(pk=milestone.pk)
    if contract.status not in (ContractStatus.ACTIVE, ContractStatus.EXPIRING, ContractStatus.EXPIRED):
        raise ValidationError(_("Only milestones of an approved contract are invoiced."))
    if milestone.invoiced:
        raise ValidationError(_("This milestone is already invoiced."))
    amount = milestone.amount_of(contract.value)
    conf = finance_settings()
    today = timezone.localdate()
    invoice = invoice_create(
        actor=actor,
        data={"account": contract.account, "contact": contract.contact, "contract": contract,
              "currency": contract.currency, "owner": contract.owner, "business_line": contract.business_line,
              "title": f"{contract.number} · {milestone.description}",
              "due_date": milestone.due_date if milestone.due_date >= today else None},
        lines=[{"description": f"{contract.title}: {milestone.description}", "quantity": "1", "unit_price": amount,
                "tax_rate": conf.default_tax_rate}],
    )  # fmt: skip
    ContractMilestone.objects.filter(pk=milestone.pk).update(invoiced=True, invoice=invoice)
    audit.record(
        AuditAction.UPDATE, contract, changes={"milestone": [milestone.description, f"invoiced ({invoice.pk})"]}
    )
    return invoice


def _release_milestones(invoice: Invoice, note: str) -> None:
    milestones = list(ContractMilestone.objects.filter(invoice=invoice).select_related("contract"))
    for m in milestones:
        ContractMilestone.objects.filter(pk=m.pk).update(invoiced=False, invoice=None)
        audit.record(AuditAction.UPDATE, m.contract, changes={"milestone": [m.description, "not invoiced"]}, note=note)


@transaction.atomic
def invoice_update(*, actor, invoice: Invoice, data: dict) -> Invoice:
    """Change a draft invoice; an issued one only takes its owner and notes."""
    data = _invoice_links(actor, data, invoice)
    if not invoice.is_editable:
        blocked = {
            n for n in data if n not in INVOICE_ALWAYS_EDITABLE and _pk(data[n]) != _pk(getattr(invoice, n, None))
        }
        if blocked:
            raise ValidationError(
                {n: [_("An issued invoice cannot change; void it and bill again.")] for n in sorted(blocked)}
            )
        data = {k: v for k, v in data.items() if k in INVOICE_ALWAYS_EDITABLE}
    invoice, changes = crud.record_update(entity_key=INVOICE, actor=actor, instance=invoice, data=data)
    if "owner" in changes:
        Payment.objects.filter(invoice=invoice).update(owner=invoice.owner)
    if ("discount_percent" in changes or "currency" in changes) and invoice.is_editable:
        lines = list(invoice.lines.all())
        _store_lines(actor, invoice, _raw_lines(lines), invoice.discount_percent)
    return invoice


def _raw_lines(lines) -> list[dict]:
    return [{"product": line.product_id, "description": line.description, "quantity": line.quantity,
             "unit_price": line.unit_price, "discount_percent": line.discount_percent, "tax_rate": line.tax_rate}
            for line in lines]  # fmt: skip


def preview_invoice_lines(*, actor, invoice: Invoice, raw_lines, discount_percent=None):
    """Resolve, price and compute lines like quotes and orders do (commerce ``preview_lines``); nothing is written."""
    from guanxi.commerce import services as commerce

    return commerce.preview_lines(
        actor=actor,
        raw_lines=raw_lines,
        discount_percent=invoice.discount_percent if discount_percent is None else discount_percent,
        account=invoice.account,
        channel="direct",
        currency=invoice.currency,
        day=timezone.localdate(),
    )


def _store_lines(actor, invoice: Invoice, raw_lines, discount_percent):
    preview = preview_invoice_lines(
        actor=actor, invoice=invoice, raw_lines=raw_lines, discount_percent=discount_percent
    )
    if not preview.is_valid:
        raise ValidationError(preview.errors)
    InvoiceLine.objects.filter(invoice=invoice).delete()
    objects = []
    for position, row in enumerate(preview.rows):
        a = row.amounts
        objects.append(
            InvoiceLine(invoice=invoice, position=position, product=row.product, sku=row.sku, description=row.description,
                        unit=row.unit, quantity=row.quantity, list_price=row.list_price, unit_price=row.unit_price,
                        discount_percent=row.discount_percent, tax_rate=row.tax_rate, gross_amount=a.gross,
                        discount_amount=a.discount_total, net_amount=a.net, tax_amount=a.tax, total=a.total)
        )  # fmt: skip
    InvoiceLine.objects.bulk_create(objects)
    amounts = preview.amounts
    values = {"subtotal": amounts.subtotal, "discount_total": amounts.discount_total, "net_total": amounts.net_total,
              "tax_total": amounts.tax_total, "total": amounts.total, "discount_percent": preview.discount_percent}  # fmt: skip
    for name, value in values.items():
        setattr(invoice, name, value)
    Invoice.objects.filter(pk=invoice.pk).update(**values, updated_at=timezone.now())
    return preview, objects


def _lines_summary(lines) -> list[str]:
    return [f"{line.quantity.normalize():f} × {line.description} @ {line.unit_price.normalize():f}" for line in lines]


@transaction.atomic
def invoice_set_lines(*, actor, invoice: Invoice, lines: list[dict], discount_percent=None) -> Invoice:
    """Replace a draft invoice's lines (products priced from the price books, or free text); totals recomputed."""
    invoice = Invoice.objects.select_for_update(of=("self",)).select_related("account__region").get(pk=invoice.pk)
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, invoice)
    if not invoice.is_editable:
        raise ValidationError(_("The lines of an issued invoice cannot change."))
    before_lines, before_total = _lines_summary(invoice.lines.all()), invoice.total
    _preview, objects = _store_lines(actor, invoice, lines, discount_percent)
    after_lines = _lines_summary(objects)
    changes = {}
    if before_lines != after_lines:
        changes["lines"] = [before_lines, after_lines]
    if before_total != invoice.total:
        changes["total"] = [before_total, invoice.total]
    if changes:
        audit.record(AuditAction.UPDATE, invoice, changes=changes)
    return invoice


def _lock_invoice(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update(of=("self",)).select_related("account", "owner").get(pk=invoice.pk)


@transaction.atomic
def invoice_issue(*, actor, invoice: Invoice, invoice_date: datetime.date | None = None) -> Invoice:
    """Issue a draft: it gets the tenant's next invoice number (``INV-<year>-<n>``), its date and due date.

    The number comes from the invoice counter, locked until this transaction ends: if anything
    here fails, the whole issue is rolled back with the counter, so numbers have no gaps.
    """
    invoice = _lock_invoice(invoice)
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, invoice)
    if invoice.status != InvoiceStatus.DRAFT:
        raise ValidationError(_("Only a draft invoice can be issued."))
    if not invoice.lines.exists() or invoice.total <= 0:
        raise ValidationError(_("Add lines with a total above 0 before issuing the invoice."))
    day = invoice_date or timezone.localdate()
    number = next_number("invoice", "INV", day)
    due = (
        invoice.due_date
        if invoice.due_date and invoice.due_date >= day
        else day + datetime.timedelta(days=invoice.payment_terms_days)
    )
    now = timezone.now()
    _set_status(invoice, InvoiceStatus.ISSUED, note="issued", changes={"number": [None, number]},
                number=number, invoice_date=day, due_date=due, issued_at=now, issued_by=actor)  # fmt: skip
    return invoice


@transaction.atomic
def invoice_void(*, actor, invoice: Invoice, reason: str) -> Invoice:
    """Cancel an issued invoice. It keeps its number (no gap); its milestone can be billed again and the
    commission on its payments is reversed."""
    from . import commission_services

    invoice = _lock_invoice(invoice)
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, invoice)
    if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        raise ValidationError(_("Only an issued invoice can be voided; delete a draft instead."))
    reason = (reason or "").strip()[:300]
    if not reason:
        raise ValidationError({"reason": [_("Give the reason for voiding the invoice.")]})
    _set_status(invoice, InvoiceStatus.VOID, note="voided", changes={"void_reason": [None, reason]},
                voided_at=timezone.now(), void_reason=reason)  # fmt: skip
    _release_milestones(invoice, "invoice voided")
    commission_services.reverse_for_invoice(invoice, note=_("invoice %(number)s voided") % {"number": invoice.number})
    return invoice


@transaction.atomic
def invoice_delete(*, actor, invoice: Invoice) -> None:
    """Delete a draft invoice (issued ones are voided, never deleted: their numbers stay)."""
    from guanxi.attachments.services import attachments_delete_for

    invoice = _lock_invoice(invoice)
    if invoice.status != InvoiceStatus.DRAFT:
        raise ValidationError(_("Only draft invoices can be deleted; void it instead."))
    _release_milestones(invoice, "invoice draft deleted")
    attachments_delete_for(invoice)
    crud.record_delete(entity_key=INVOICE, actor=actor, instance=invoice)


def _status_for(invoice: Invoice, paid: Decimal, today: datetime.date) -> str:
    if paid >= invoice.total:
        return InvoiceStatus.PAID
    if invoice.due_date is not None and invoice.due_date < today:
        return InvoiceStatus.OVERDUE
    if paid > 0:
        return InvoiceStatus.PARTLY_PAID
    return InvoiceStatus.ISSUED


def _apply_payments(invoice: Invoice, *, note: str) -> Invoice:
    """Recompute what an (already locked) invoice has received and its status."""
    paid = money(Payment.objects.filter(invoice=invoice).aggregate(s=Sum("amount"))["s"] or ZERO)
    before_paid, before_status = invoice.amount_paid, invoice.status
    if invoice.status == InvoiceStatus.VOID:
        status = InvoiceStatus.VOID
    else:
        status = _status_for(invoice, paid, timezone.localdate())
    stamps = {
        "amount_paid": paid,
        "paid_at": (invoice.paid_at or timezone.now()) if status == InvoiceStatus.PAID else None,
    }
    if status == InvoiceStatus.OVERDUE and invoice.overdue_since is None:
        stamps["overdue_since"] = invoice.due_date + datetime.timedelta(days=1)
    Invoice.objects.filter(pk=invoice.pk).update(status=status, updated_at=timezone.now(), **stamps)
    for name, value in stamps.items():
        setattr(invoice, name, value)
    invoice.status = status
    changes = {"amount_paid": [before_paid, paid]}
    if status != before_status:
        changes["status"] = [before_status, status]
    audit.record(AuditAction.UPDATE, invoice, changes=changes, note=note)
    return invoice


# --- payments ------------------------------------------------------------------------------------------


def _payment_values(data: dict, invoice: Invoice, *, other_paid: Decimal) -> dict:
    data = dict(data)
    errors = {}
    if "amount" in data:
        try:
            data["amount"] = _amount(data["amount"], "amount")
        except ValidationError as exc:
            errors.update(exc.message_dict)
        else:
            open_balance = invoice.total - other_paid
            if data["amount"] > open_balance:
                errors["amount"] = [
                    _("This is more than the open balance of %(balance)s %(currency)s: overpayments are refused.")
                    % {"balance": f"{open_balance:,.2f}", "currency": invoice.currency}
                ]
    if "date" in data and data["date"] is None:
        data["date"] = timezone.localdate()
    if data.get("date") and data["date"] > timezone.localdate() + datetime.timedelta(days=1):
        errors["date"] = [_("A payment cannot be received in the future.")]
    data["reference"] = (data.get("reference") or "").strip()[:120] if "reference" in data else data.get("reference")
    if data.get("reference") is None:
        data.pop("reference", None)
    if errors:
        raise ValidationError(errors)
    return data


@transaction.atomic
def payment_create(*, actor, data: dict) -> Payment:
    """Record money received against an open invoice; the invoice becomes partly paid or paid.

    Overpayment is refused. Commission plans paid "when invoices are paid" accrue for it.
    """
    from . import commission_services

    data = dict(data)
    if "invoice_id" in data:
        data["invoice"] = data.pop("invoice_id")
    if actor is not None:
        permissions.require(actor, PAYMENT, Action.CREATE)
    invoice = _visible(actor, Invoice, data.get("invoice"), "invoice")
    if invoice is None:
        raise ValidationError({"invoice": [_("Choose the invoice that is paid.")]})
    invoice = _lock_invoice(invoice)
    if invoice.status not in OPEN_INVOICE_STATUSES:
        raise ValidationError({"invoice": [_("Only an issued, unpaid invoice takes payments.")]})
    data.setdefault("amount", None)
    data = _payment_values(data, invoice, other_paid=invoice.amount_paid)
    data.update(invoice=invoice, owner=invoice.owner, currency=invoice.currency)
    data.setdefault("date", timezone.localdate())
    payment = crud.record_create(entity_key=PAYMENT, actor=actor, data=data)
    _apply_payments(invoice, note=f"payment {payment.amount} recorded")
    commission_services.accrue_for_payment(payment)
    return payment


@transaction.atomic
def payment_update(*, actor, payment: Payment, data: dict) -> Payment:
    """Correct a payment (amount, date, method, reference, notes); the invoice and commission follow."""
    from . import commission_services

    data = {k: v for k, v in data.items() if k in ("amount", "date", "method", "reference", "notes")}
    invoice = _lock_invoice(payment.invoice)
    other = money(
        Payment.objects.filter(invoice=invoice).exclude(pk=payment.pk).aggregate(s=Sum("amount"))["s"] or ZERO
    )
    data = _payment_values(data, invoice, other_paid=other)
    payment, changes = crud.record_update(entity_key=PAYMENT, actor=actor, instance=payment, data=data)
    if {"amount", "date"} & set(changes):
        _apply_payments(invoice, note="payment corrected")
        commission_services.reverse_for_payment(payment, note=_("payment corrected"))
        if invoice.status != InvoiceStatus.VOID:
            commission_services.accrue_for_payment(payment)
    return payment


@transaction.atomic
def payment_delete(*, actor, payment: Payment) -> None:
    """Remove a payment recorded by mistake (or refunded): the invoice reopens and its commission is reversed."""
    from . import commission_services

    invoice = _lock_invoice(payment.invoice)
    commission_services.reverse_for_payment(payment, note=_("payment removed"))
    crud.record_delete(entity_key=PAYMENT, actor=actor, instance=payment)
    _apply_payments(invoice, note="payment removed")


def invoices_mark_overdue(*, today: datetime.date | None = None) -> int:
    """Issued or partly paid invoices past their due date become overdue; their owners are told. Idempotent."""
    context.require_tenant()
    today = today or timezone.localdate()
    with transaction.atomic():
        due = list(
            Invoice.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(status__in=(InvoiceStatus.ISSUED, InvoiceStatus.PARTLY_PAID), due_date__lt=today)
            .select_related("owner", "account")
            .order_by("due_date", "pk")
        )
        for invoice in due:
            since = invoice.due_date + datetime.timedelta(days=1)
            _set_status(invoice, InvoiceStatus.OVERDUE, note="past due date", overdue_since=since)
            notify(
                invoice.owner,
                lambda i=invoice: _("Invoice overdue: %(number)s") % {"number": i.number},
                lambda i=invoice: _("%(account)s has not paid %(balance)s %(currency)s, due on %(date)s.")
                % {"account": i.account, "balance": f"{i.balance:,.2f}", "currency": i.currency,
                   "date": i.due_date.isoformat()},
                invoice.get_absolute_url(),
            )  # fmt: skip
    return len(due)


# --- expenses -------------------------------------------------------------------------------------------


def _expense_links(actor, data: dict, instance=None) -> dict:
    from guanxi.customers.models import Account
    from guanxi.sales.models import Opportunity

    data = _links(actor, data, instance, {"account": Account, "opportunity": Opportunity})
    opportunity = _value(data, instance, "opportunity")
    if opportunity is not None and _value(data, instance, "account") is None:
        data["account"] = opportunity.account
    _same_account(data, instance, ("opportunity",))
    if "currency" in data:
        data["currency"] = _currency(data["currency"])
    if "amount" in data:
        data["amount"] = _amount(data["amount"], "amount")
    if "description" in data:
        data["description"] = (data["description"] or "").strip()
    return data


@transaction.atomic
def expense_create(*, actor, data: dict) -> Expense:
    """Log a draft expense (the rep's own unless another owner is given)."""
    if actor is not None:
        permissions.require(actor, EXPENSE, Action.CREATE)
    data = _expense_links(actor, {"amount": None, **data})
    if not data.get("currency"):
        data["currency"] = finance_settings().default_currency
    if not data.get("date"):
        data["date"] = timezone.localdate()
    data["status"] = ExpenseStatus.DRAFT
    return crud.record_create(entity_key=EXPENSE, actor=actor, data=data)


@transaction.atomic
def expense_update(*, actor, expense: Expense, data: dict) -> Expense:
    """Change a draft or rejected expense; submitted and approved ones are fixed."""
    data = _expense_links(actor, data, expense)
    if not expense.is_editable:
        blocked = {n for n in data if n not in ("custom",) and _pk(data[n]) != _pk(getattr(expense, n, None))}
        if blocked:
            raise ValidationError({n: [_("A submitted expense cannot change.")] for n in sorted(blocked)})
    return crud.record_update(entity_key=EXPENSE, actor=actor, instance=expense, data=data)[0]


def _lock_expense(expense: Expense) -> Expense:
    return Expense.objects.select_for_update(of=("self",)).select_related("owner").get(pk=expense.pk)


@transaction.atomic
def expense_submit(*, actor, expense: Expense) -> Expense:
    """Send a draft (or rejected) expense to the rep's manager, or the administrators, for approval."""
    expense = _lock_expense(expense)
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, expense)
    if not expense.is_editable:
        raise ValidationError(_("Only a draft or rejected expense can be submitted."))
    approver = approver_for(expense.owner)
    _set_status(expense, ExpenseStatus.SUBMITTED, note="submitted for approval",
                changes={"approver": [None, str(approver) if approver else "administrators"]},
                approver=approver, submitted_at=timezone.now(), decided_at=None, decided_by=None, decision_comment="")  # fmt: skip
    for user in _approval_recipients(approver, expense.owner):
        notify(
            user,
            lambda: _("Expense to approve: %(amount)s %(currency)s") % {"amount": f"{expense.amount:,.2f}",
                                                                       "currency": expense.currency},
            lambda: f"{expense.owner} · {expense.get_category_display()} · {expense.description}",
            reverse("finance:approvals"),
        )  # fmt: skip
    return expense


@transaction.atomic
def expense_withdraw(*, actor, expense: Expense) -> Expense:
    expense = _lock_expense(expense)
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, expense)
    if expense.status != ExpenseStatus.SUBMITTED:
        raise ValidationError(_("The expense is not waiting for approval."))
    return _set_status(
        expense, ExpenseStatus.DRAFT, note="approval request withdrawn", approver=None, submitted_at=None
    )


@transaction.atomic
def expense_decide(*, actor, expense: Expense, approve: bool, comment: str = "") -> Expense:
    """The rep's manager or an administrator approves or rejects (with a comment) a submitted expense."""
    expense = _lock_expense(expense)
    if expense.status != ExpenseStatus.SUBMITTED:
        raise ValidationError(_("This expense is not waiting for approval."))
    if actor is not None:
        if not can_decide(actor, expense):
            if not permissions.can(actor, Action.VIEW, expense):
                raise Http404
            raise PermissionDenied
        if actor.pk == expense.owner_id and not permissions.is_tenant_admin(actor):
            raise PermissionDenied
    comment = (comment or "").strip()
    if not approve and not comment:
        raise ValidationError({"comment": [_("Say why the expense is rejected.")]})
    status = ExpenseStatus.APPROVED if approve else ExpenseStatus.REJECTED
    _set_status(expense, status, note=f"{status}{': ' + comment if comment else ''}",
                changes={"decision_comment": [None, comment]} if comment else None,
                decided_at=timezone.now(), decided_by=actor, decision_comment=comment)  # fmt: skip
    notify(
        expense.owner,
        lambda: (
            (_("Expense approved: %(description)s") if approve else _("Expense rejected: %(description)s"))
            % {"description": expense.description[:120]}
        ),
        lambda: comment or f"{expense.amount:,.2f} {expense.currency}",
        expense.get_absolute_url(),
    )
    return expense


@transaction.atomic
def expense_delete(*, actor, expense: Expense) -> None:
    from guanxi.attachments.services import attachments_delete_for

    expense = _lock_expense(expense)
    if not expense.is_editable:
        raise ValidationError(_("Only draft or rejected expenses can be deleted."))
    attachments_delete_for(expense)
    crud.record_delete(entity_key=EXPENSE, actor=actor, instance=expense)
