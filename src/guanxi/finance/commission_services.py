"""Commissions: plans, accrual (idempotent, reversible), manual adjustments and statements.

How much a rep earns for a source (a payment of their invoice, or a deal they won):

1. The source is split into **credited lines**, net of tax. For a payment each invoice line is
   credited its share of the payment: the payment's net part ``round(payment × net total / total)``
   is divided over the lines in proportion to their net amounts, the last line taking the
   rounding rest — so the credited lines add up exactly. For a won deal the lines are the
   opportunity's product lines (or its amount when it has none).
2. Each line's **rate**: the plan's rate for the line's product category (or a parent category),
   else for its business line; lines matching no rate earn the plan's **tiers**: progressively by
   the rep's attainment in the plan's period (month or quarter) — e.g. tiers 0 → 3 % and
   100,000 → 5 %: with 90,000 already credited this month, a new 30,000 earns 10,000 × 3 % +
   20,000 × 5 %. Below the first tier (or without tiers) the plan's default rate applies.
   Every line counts toward the attainment, in order.
3. The commission is computed exactly and rounded **once per entry**, half up to cents.

Idempotency: an accrual is unique per (plan, rep, source, generation). Running the accrual for
the same source again does nothing while its accrual stands; when the source goes away (a payment
deleted or corrected, an invoice voided, a won deal reopened) the accrual is **reversed** by an
entry of the opposite amount, and a later accrual of the same source is a new generation.
A reversal is dated like its accrual unless that period is locked; then it goes to the first
open day. Entries of an approved statement are locked; new entries for a locked period are
dated after it.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.access import permissions
from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.platform import context, crud
from guanxi.platform.registry import Action

from .apps import ENTRY, PLAN, STATEMENT
from .models import (
    CommissionBasis,
    CommissionEntry,
    CommissionEntryKind,
    CommissionPeriod,
    CommissionPlan,
    CommissionPlanMember,
    CommissionRate,
    CommissionStatement,
    CommissionStatementStatus,
    CommissionTier,
    Invoice,
    InvoiceStatus,
    Payment,
    money,
)

ZERO = Decimal(0)
HUNDRED = Decimal(100)
RATE_PLACES = Decimal("0.0001")


# --- periods ---------------------------------------------------------------------------------------------


def period_bounds(day: datetime.date, kind: str) -> tuple[datetime.date, datetime.date]:
    """First and last day of the month or quarter containing ``day``."""
    if kind == CommissionPeriod.QUARTER:
        first_month = (day.month - 1) // 3 * 3 + 1
        start = day.replace(month=first_month, day=1)
        months = 3
    else:
        start = day.replace(day=1)
        months = 1
    index = start.year * 12 + start.month - 1 + months
    end = datetime.date(index // 12, index % 12 + 1, 1) - datetime.timedelta(days=1)
    return start, end


# --- the arithmetic ---------------------------------------------------------------------------------------


@dataclass
class CreditLine:
    base: Decimal
    category_id: int | None = None
    business_line_id: int | None = None
    description: str = ""


def tiered_amount(
    base: Decimal, start: Decimal, tiers: list[tuple[Decimal, Decimal]], default_rate: Decimal
) -> Decimal:
    """Exact (unrounded) commission on ``base`` credited from attainment ``start`` on, progressively by tiers.

    ``tiers`` are (threshold, rate %) sorted by threshold; below the first threshold (or with no
    tiers) ``default_rate`` applies.
    """
    if base <= 0:
        return ZERO
    bands: list[tuple[Decimal | None, Decimal | None, Decimal]] = []
    first = tiers[0][0] if tiers else None
    bands.append((None, first, default_rate))
    for i, (threshold, rate) in enumerate(tiers):
        upper = tiers[i + 1][0] if i + 1 < len(tiers) else None
        bands.append((threshold, upper, rate))
    end = start + base
    total = ZERO
    for low, high, rate in bands:
        lo = start if low is None else max(start, low)
        hi = end if high is None else min(end, high)
        if hi > lo:
            total += (hi - lo) * rate / HUNDRED
    return total


class PlanRules:
    """A plan's rates and tiers, loaded once (the category tree too), to price credited lines."""

    def __init__(self, plan: CommissionPlan):
        from guanxi.commerce.models import ProductCategory

        self.plan = plan
        self.category_rates: dict[int, Decimal] = {}
        self.line_rates: dict[int, Decimal] = {}
        for rate in CommissionRate.objects.filter(plan=plan):
            if rate.category_id:
                self.category_rates[rate.category_id] = rate.rate
            elif rate.business_line_id:
                self.line_rates[rate.business_line_id] = rate.rate
        self.tiers = [(t.threshold, t.rate) for t in CommissionTier.objects.filter(plan=plan).order_by("threshold")]
        self.parents = dict(ProductCategory.objects.values_list("id", "parent_id")) if self.category_rates else {}

    def fixed_rate(self, line: CreditLine) -> Decimal | None:
        category, seen = line.category_id, set()
        while category and category not in seen:
            if category in self.category_rates:
                return self.category_rates[category]
            seen.add(category)
            category = self.parents.get(category)
        if line.business_line_id and line.business_line_id in self.line_rates:
            return self.line_rates[line.business_line_id]
        return None

    def commission(self, lines: list[CreditLine], attainment_before: Decimal) -> tuple[Decimal, Decimal]:
        """(credited base, commission rounded half up to cents) of ``lines`` after ``attainment_before``."""
        running = attainment_before
        exact = ZERO
        base_total = ZERO
        for line in lines:
            rate = self.fixed_rate(line)
            if rate is not None:
                exact += line.base * rate / HUNDRED
            else:
                exact += tiered_amount(line.base, running, self.tiers, self.plan.default_rate)
            running += line.base
            base_total += line.base
        return base_total, money(exact)


def allocate(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split ``total`` (cents) in proportion to ``weights``; rounded half up, the last part takes the rest."""
    weight_sum = sum(weights, ZERO)
    if not weights:
        return []
    if weight_sum == 0:
        return [ZERO] * (len(weights) - 1) + [total]
    parts = [money(total * w / weight_sum) for w in weights[:-1]]
    return [*parts, total - sum(parts, ZERO)]


def payment_lines(payment: Payment) -> list[CreditLine]:
    """The credited lines of a payment (net of tax), see the module docstring."""
    invoice = payment.invoice
    if invoice.total <= 0:
        return []
    net_credit = money(payment.amount * invoice.net_total / invoice.total)
    lines = list(invoice.lines.select_related("product").order_by("position", "id"))
    if not lines:
        return [CreditLine(base=net_credit, business_line_id=invoice.business_line_id)]
    shares = allocate(net_credit, [line.net_amount for line in lines])
    return [
        CreditLine(
            base=share,
            category_id=line.product.category_id if line.product_id else None,
            business_line_id=(line.product.business_line_id if line.product_id else None) or invoice.business_line_id,
            description=line.description,
        )
        for line, share in zip(lines, shares, strict=True)
    ]


def opportunity_lines(opportunity) -> list[CreditLine]:
    lines = list(opportunity.lines.select_related("product").order_by("position", "id"))
    if not lines:
        return [CreditLine(base=money(opportunity.amount), business_line_id=opportunity.business_line_id)]
    return [
        CreditLine(
            base=money(line.total),
            category_id=line.product.category_id if line.product_id else None,
            business_line_id=(line.product.business_line_id if line.product_id else None)
            or opportunity.business_line_id,
            description=str(line),
        )
        for line in lines
    ]


# --- plans -------------------------------------------------------------------------------------------------


def plans_for(rep, basis: str, day: datetime.date, currency: str) -> list[CommissionPlan]:
    """Active plans of ``basis`` in ``currency`` valid on ``day`` that apply to ``rep`` (members, or everyone)."""
    plans = list(
        CommissionPlan.objects.filter(is_active=True, basis=basis, currency=currency).annotate(
            member_count=Count("members"),
            has_rep=Count("members", filter=Q(members=rep)),
        )
    )
    return [p for p in plans if p.applies_on(day) and (p.member_count == 0 or p.has_rep)]


def _plan_data(data: dict) -> dict:
    data = dict(data)
    if data.get("currency"):
        data["currency"] = data["currency"].strip().upper()
    rate = data.get("default_rate")
    if rate is not None and not (0 <= rate <= 100):
        raise ValidationError({"default_rate": [_("A rate is between 0 and 100 %.")]})
    start, end = data.get("valid_from"), data.get("valid_until")
    if start and end and end < start:
        raise ValidationError({"valid_until": [_("The end must be on or after the start.")]})
    return data


@transaction.atomic
def plan_create(*, actor, data: dict) -> CommissionPlan:
    data = _plan_data(data)
    if CommissionPlan.objects.filter(name__iexact=(data.get("name") or "").strip()).exists():
        raise ValidationError({"name": [_("Another plan has this name.")]})
    return crud.record_create(entity_key=PLAN, actor=actor, data=data)


@transaction.atomic
def plan_update(*, actor, plan: CommissionPlan, data: dict) -> CommissionPlan:
    data = _plan_data(data)
    name = (data.get("name") or "").strip()
    if name and CommissionPlan.objects.filter(name__iexact=name).exclude(pk=plan.pk).exists():
        raise ValidationError({"name": [_("Another plan has this name.")]})
    return crud.record_update(entity_key=PLAN, actor=actor, instance=plan, data=data)[0]


@transaction.atomic
def plan_delete(*, actor, plan: CommissionPlan) -> None:
    if plan.entries.exists():
        raise ValidationError(_("Commission was accrued under this plan: deactivate it instead."))
    crud.record_delete(entity_key=PLAN, actor=actor, instance=plan)


def _rate(value, field: str) -> Decimal:
    from guanxi.commerce.pricing import to_decimal

    rate = to_decimal(value, None)
    if rate is None or not (0 <= rate <= 100) or rate.normalize().as_tuple().exponent < -3:
        raise ValidationError({field: [_("A rate is between 0 and 100 % (3 decimals).")]})
    return rate


@transaction.atomic
def plan_set_rules(*, actor, plan: CommissionPlan, rates: list[dict] | None = None, tiers: list[dict] | None = None):
    """Replace a plan's category / business-line rates and/or its attainment tiers.

    ``rates``: [{"category": id | None, "business_line": id | None, "rate": "%"}] (one of the two);
    ``tiers``: [{"threshold": amount, "rate": "%"}] with distinct thresholds.
    """
    from guanxi.commerce.models import ProductCategory
    from guanxi.commerce.pricing import to_decimal
    from guanxi.org.models import BusinessLine

    if actor is not None:
        permissions.require_can(actor, Action.EDIT, plan)
    errors: dict[str, list[str]] = {}
    changes = {}
    if rates is not None:
        rows, seen = [], set()
        categories = {c.pk: c for c in ProductCategory.objects.all()}
        lines = {b.pk: b for b in BusinessLine.objects.all()}
        for i, raw in enumerate(rates):
            category = raw.get("category") or raw.get("category_id")
            line = raw.get("business_line") or raw.get("business_line_id")
            category, line = getattr(category, "pk", category), getattr(line, "pk", line)
            if bool(category) == bool(line):
                errors.setdefault(f"rates.{i}", []).append(_("Choose a product category or a business line."))
                continue
            category = int(category) if str(category or "").isdigit() else category
            line = int(line) if str(line or "").isdigit() else line
            if (category and category not in categories) or (line and line not in lines):
                errors.setdefault(f"rates.{i}", []).append(_("Select a record you can see."))
                continue
            key = ("c", int(category)) if category else ("l", int(line))
            if key in seen:
                errors.setdefault(f"rates.{i}", []).append(_("This category or business line has a rate already."))
                continue
            seen.add(key)
            try:
                rate = _rate(raw.get("rate"), f"rates.{i}.rate")
            except ValidationError as exc:
                for k, v in exc.message_dict.items():
                    errors.setdefault(k, []).extend(v)
                continue
            rows.append(
                CommissionRate(plan=plan, category_id=category or None, business_line_id=line or None, rate=rate)
            )
        if not errors:
            before = sorted(str(r) for r in plan.rates.select_related("category", "business_line"))
            CommissionRate.objects.filter(plan=plan).delete()
            CommissionRate.objects.bulk_create(rows)
            after = sorted(str(r) for r in plan.rates.select_related("category", "business_line"))
            if before != after:
                changes["rates"] = [before, after]
    if tiers is not None and not errors:
        rows, seen = [], set()
        for i, raw in enumerate(tiers):
            threshold = to_decimal(raw.get("threshold"), None)
            if threshold is None or threshold < 0:
                errors.setdefault(f"tiers.{i}.threshold", []).append(_("Enter an attainment of 0 or more."))
                continue
            threshold = money(threshold)
            if threshold in seen:
                errors.setdefault(f"tiers.{i}.threshold", []).append(_("Two tiers start at the same attainment."))
                continue
            seen.add(threshold)
            try:
                rate = _rate(raw.get("rate"), f"tiers.{i}.rate")
            except ValidationError as exc:
                for k, v in exc.message_dict.items():
                    errors.setdefault(k, []).extend(v)
                continue
            rows.append(CommissionTier(plan=plan, threshold=threshold, rate=rate))
        if not errors:
            before = [str(t) for t in plan.tiers.order_by("threshold")]
            CommissionTier.objects.filter(plan=plan).delete()
            CommissionTier.objects.bulk_create(sorted(rows, key=lambda t: t.threshold))
            after = [str(t) for t in plan.tiers.order_by("threshold")]
            if before != after:
                changes["tiers"] = [before, after]
    if errors:
        raise ValidationError(errors)
    if changes:
        CommissionPlan.objects.filter(pk=plan.pk).update(updated_at=timezone.now())
        audit.record(AuditAction.UPDATE, plan, changes=changes)
    return plan


@transaction.atomic
def plan_set_members(*, actor, plan: CommissionPlan, users) -> CommissionPlan:
    """The reps the plan applies to (empty: everyone)."""
    from guanxi.org.selectors import member_users

    if actor is not None:
        permissions.require_can(actor, Action.EDIT, plan)
    wanted = {getattr(u, "pk", u) for u in users}
    valid = set(member_users(active_only=False).filter(pk__in=wanted).values_list("pk", flat=True))
    if wanted - valid:
        raise ValidationError({"members": [_("Choose members of the company.")]})
    before = sorted(plan.members.values_list("pk", flat=True))
    CommissionPlanMember.objects.filter(plan=plan).exclude(user_id__in=valid).delete()
    CommissionPlanMember.objects.bulk_create(
        [CommissionPlanMember(plan=plan, user_id=pk) for pk in valid - set(before)], ignore_conflicts=True
    )
    if before != sorted(valid):
        audit.record(AuditAction.UPDATE, plan, changes={"members": [before, sorted(valid)]})
    return plan


# --- accrual ---------------------------------------------------------------------------------------------


def _locked_statement(rep_id: int, currency: str, day: datetime.date):
    return (
        CommissionStatement.objects.filter(
            rep_id=rep_id, currency=currency, status=CommissionStatementStatus.APPROVED,
            period_start__lte=day, period_end__gte=day,
        ).order_by("-period_end").first()
    )  # fmt: skip


def open_date(rep_id: int, currency: str, day: datetime.date) -> datetime.date:
    """``day``, or the first day after the rep's approved (locked) statements covering it."""
    for _i in range(100):
        locked = _locked_statement(rep_id, currency, day)
        if locked is None:
            return day
        day = locked.period_end + datetime.timedelta(days=1)
    return day


def attainment(plan: CommissionPlan, rep_id: int, day: datetime.date) -> Decimal:
    """What the rep has been credited under ``plan`` in the plan period containing ``day``."""
    start, end = period_bounds(day, plan.period)
    total = CommissionEntry.objects.filter(plan=plan, rep_id=rep_id, date__gte=start, date__lte=end).aggregate(
        s=Sum("base_amount")
    )["s"]
    return money(total or ZERO)  # sums are exact on PostgreSQL; SQLite's are quantized back to cents


def _accrue(plan, rep, source_key: str, lines: list[CreditLine], day: datetime.date, description: str, currency: str,
            **links) -> CommissionEntry | None:  # fmt: skip
    existing = CommissionEntry.objects.filter(
        plan=plan, rep=rep, source_key=source_key, kind=CommissionEntryKind.ACCRUAL
    )
    if existing.filter(reversal__isnull=True).exists():
        return None  # accrued already: idempotent
    generation = existing.count()
    entry_day = open_date(rep.pk, currency, day)
    before = attainment(plan, rep.pk, entry_day)
    base, amount = PlanRules(plan).commission(lines, before)
    if base == 0 and amount == 0:
        return None
    rate = (amount * HUNDRED / base).quantize(RATE_PLACES, rounding=ROUND_HALF_UP) if base else ZERO
    entry = CommissionEntry(
        plan=plan, rep=rep, kind=CommissionEntryKind.ACCRUAL, source_key=source_key, generation=generation,
        date=entry_day, description=description[:300], base_amount=base, rate=rate, amount=amount, currency=currency,
        **links,
    )  # fmt: skip
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError:
        return None  # a concurrent run accrued it
    audit.record_created(entry)
    return entry


def accrue_for_payment(payment: Payment) -> list[CommissionEntry]:
    """Accrue the invoice owner's commission for a payment under every "when paid" plan that applies."""
    invoice = payment.invoice
    if invoice.status == InvoiceStatus.VOID:
        return []
    rep = invoice.owner
    plans = plans_for(rep, CommissionBasis.PAYMENT, payment.date, payment.currency)
    if not plans:
        return []
    lines = payment_lines(payment)
    description = _("Payment of %(invoice)s (%(amount)s %(currency)s)") % {
        "invoice": invoice.display_number, "amount": f"{payment.amount:,.2f}", "currency": payment.currency}  # fmt: skip
    entries = []
    for plan in plans:
        entry = _accrue(plan, rep, f"payment:{payment.pk}", lines, payment.date, description, payment.currency,
                        payment=payment, invoice=invoice)  # fmt: skip
        if entry is not None:
            entries.append(entry)
    return entries


def accrue_for_opportunity(opportunity) -> list[CommissionEntry]:
    """Accrue the owner's commission for a won deal under every "when won" plan that applies."""
    if opportunity.status != "won":
        return []
    closed = opportunity.closed_at or timezone.now()
    day = timezone.localtime(closed).date() if timezone.is_aware(closed) else closed.date()
    plans = plans_for(opportunity.owner, CommissionBasis.WON_DEAL, day, opportunity.currency)
    if not plans:
        return []
    lines = opportunity_lines(opportunity)
    description = _("Won deal: %(name)s") % {"name": opportunity.name}
    entries = []
    for plan in plans:
        entry = _accrue(plan, opportunity.owner, f"opportunity:{opportunity.pk}", lines, day, description,
                        opportunity.currency, opportunity=opportunity)  # fmt: skip
        if entry is not None:
            entries.append(entry)
    return entries


def reverse_source(source_key: str, *, note: str) -> list[CommissionEntry]:
    """Reverse every standing accrual of a source with an entry of the opposite amount."""
    reversals = []
    today = timezone.localdate()
    standing = CommissionEntry.objects.filter(source_key=source_key, kind=CommissionEntryKind.ACCRUAL,
                                              reversal__isnull=True).select_related("rep")  # fmt: skip
    for accrual in standing:
        day = accrual.date if not accrual.is_locked else today
        entry = CommissionEntry(
            plan_id=accrual.plan_id, rep=accrual.rep, kind=CommissionEntryKind.REVERSAL,
            source_key=source_key, generation=accrual.generation, payment_id=accrual.payment_id,
            invoice_id=accrual.invoice_id, opportunity_id=accrual.opportunity_id, reverses=accrual, date=open_date(accrual.rep_id, accrual.currency, day),
            description=(_("Reversal: %(what)s") % {"what": note})[:300], base_amount=-accrual.base_amount,
            rate=accrual.rate, amount=-accrual.amount, currency=accrual.currency,
        )  # fmt: skip
        try:
            with transaction.atomic():
                entry.save()
        except IntegrityError:
            continue  # reversed concurrently
        audit.record_created(entry)
        reversals.append(entry)
    return reversals


def reverse_for_payment(payment: Payment, *, note: str) -> list[CommissionEntry]:
    return reverse_source(f"payment:{payment.pk}", note=note)


def reverse_for_invoice(invoice: Invoice, *, note: str) -> list[CommissionEntry]:
    reversals = []
    for payment in Payment.objects.filter(invoice=invoice):
        reversals += reverse_for_payment(payment, note=note)
    return reversals


def reverse_for_opportunity(opportunity, *, note: str) -> list[CommissionEntry]:
    return reverse_source(f"opportunity:{opportunity.pk}", note=note)


def opportunity_status_changed(opportunity) -> None:
    """Follow a deal: won → accrue; no longer won → reverse (called when an opportunity is saved)."""
    if opportunity.status == "won":
        if CommissionPlan.objects.filter(is_active=True, basis=CommissionBasis.WON_DEAL).exists():
            accrue_for_opportunity(opportunity)
    elif CommissionEntry.objects.filter(
        source_key=f"opportunity:{opportunity.pk}", kind=CommissionEntryKind.ACCRUAL, reversal__isnull=True
    ).exists():
        reverse_for_opportunity(opportunity, note=_("%(name)s reopened") % {"name": opportunity.name})


@transaction.atomic
def commissions_accrue_missing(*, actor, since: datetime.date | None = None) -> dict[str, int]:
    """Catch up: accrue every payment and won deal (since ``since``) not accrued yet, reverse accruals whose
    source is gone. Idempotent — running it again changes nothing. Tenant administrators only."""
    from guanxi.sales.models import Opportunity

    if actor is not None and not permissions.is_tenant_admin(actor):
        raise PermissionDenied
    context.require_tenant()
    counts = {"accrued": 0, "reversed": 0}
    payments = Payment.objects.exclude(invoice__status=InvoiceStatus.VOID).select_related("invoice__owner")
    if since is not None:
        payments = payments.filter(date__gte=since)
    if CommissionPlan.objects.filter(is_active=True, basis=CommissionBasis.PAYMENT).exists():
        for payment in payments.order_by("date", "pk"):
            counts["accrued"] += len(accrue_for_payment(payment))
    if CommissionPlan.objects.filter(is_active=True, basis=CommissionBasis.WON_DEAL).exists():
        won = Opportunity.objects.filter(status="won").select_related("owner")
        if since is not None:
            won = won.filter(closed_at__date__gte=since)
        for opportunity in won.order_by("closed_at", "pk"):
            counts["accrued"] += len(accrue_for_opportunity(opportunity))
    standing = CommissionEntry.objects.filter(kind=CommissionEntryKind.ACCRUAL, reversal__isnull=True)
    for entry in standing.filter(source_key__startswith="payment:").select_related("payment__invoice"):
        if entry.payment is None or entry.payment.invoice.status == InvoiceStatus.VOID:
            counts["reversed"] += len(reverse_source(entry.source_key, note=_("payment no longer counts")))
    for entry in standing.filter(source_key__startswith="opportunity:").select_related("opportunity"):
        if entry.opportunity is None or entry.opportunity.status != "won":
            counts["reversed"] += len(reverse_source(entry.source_key, note=_("deal no longer won")))
    return counts


# --- manual adjustments -----------------------------------------------------------------------------------


@transaction.atomic
def adjustment_create(*, actor, data: dict) -> CommissionEntry:
    """A manual commission entry (bonus or correction, positive or negative) for a rep."""
    from guanxi.commerce.pricing import to_decimal

    data = dict(data)
    if "rep_id" in data:
        data["rep"] = data.pop("rep_id")
    if "plan_id" in data:
        data["plan"] = data.pop("plan_id")
    if actor is not None:
        permissions.require(actor, ENTRY, Action.CREATE)
    amount = to_decimal(data.get("amount"), None)
    errors = {}
    if amount is None or amount == 0 or amount.normalize().as_tuple().exponent < -2:
        errors["amount"] = [_("Enter an amount other than 0 (2 decimals).")]
    if not (data.get("description") or "").strip():
        errors["description"] = [_("Say what the adjustment is for.")]
    if errors:
        raise ValidationError(errors)
    from guanxi.org.selectors import member_users

    rep = data.get("rep") or actor
    if rep is None or not member_users(active_only=False).filter(pk=getattr(rep, "pk", rep)).exists():
        raise ValidationError({"rep": [_("Choose a member of the company.")]})
    day = data.get("date") or timezone.localdate()
    currency = (data.get("currency") or "CNY").strip().upper()
    data.update(
        rep=rep, kind=CommissionEntryKind.ADJUSTMENT, source_key=f"adjustment:{uuid.uuid4().hex}",
        date=open_date(getattr(rep, "pk", rep), currency, day), amount=money(amount), base_amount=ZERO, rate=ZERO,
        currency=currency, description=data["description"].strip(),
    )  # fmt: skip
    return crud.record_create(entity_key=ENTRY, actor=actor, data=data)


@transaction.atomic
def entry_delete(*, actor, entry: CommissionEntry) -> None:
    """Only manual adjustments that are not locked in an approved statement can be deleted."""
    if entry.kind != CommissionEntryKind.ADJUSTMENT:
        raise ValidationError(_("Accrued commission is reversed, never deleted."))
    if entry.is_locked:
        raise ValidationError(_("This entry is in an approved statement."))
    crud.record_delete(entity_key=ENTRY, actor=actor, instance=entry)


# --- statements -----------------------------------------------------------------------------------------


def statement_entries(statement: CommissionStatement):
    """The entries a statement shows: its locked entries once approved; while open, the rep's unlocked
    entries of the period in its currency."""
    if statement.is_locked:
        qs = CommissionEntry.objects.filter(statement=statement)
    else:
        qs = CommissionEntry.objects.filter(
            rep_id=statement.rep_id,
            currency=statement.currency,
            date__gte=statement.period_start,
            date__lte=statement.period_end,
            statement__isnull=True,
        )
    return qs.select_related("plan", "invoice", "opportunity").order_by("date", "pk")


def statement_totals(statement: CommissionStatement) -> tuple[Decimal, Decimal, int]:
    row = statement_entries(statement).order_by().aggregate(b=Sum("base_amount"), c=Sum("amount"), n=Count("id"))
    return money(row["b"] or ZERO), money(row["c"] or ZERO), row["n"] or 0


def _refresh(statement: CommissionStatement) -> CommissionStatement:
    if statement.is_locked:
        return statement
    base, amount, count = statement_totals(statement)
    if (base, amount, count) != (statement.base_total, statement.commission_total, statement.entry_count):
        CommissionStatement.objects.filter(pk=statement.pk).update(base_total=base, commission_total=amount,
                                                                   entry_count=count)  # fmt: skip
        statement.base_total, statement.commission_total, statement.entry_count = base, amount, count
    return statement


def statement_refresh(statement: CommissionStatement) -> CommissionStatement:
    """Update an open statement's stored totals from its entries (not audited: derived values)."""
    return _refresh(statement)


@transaction.atomic
def statement_create(*, actor, data: dict) -> CommissionStatement:
    """A statement of a rep's commission for the month or quarter containing ``period_start``."""
    data = dict(data)
    if "rep_id" in data:
        data["rep"] = data.pop("rep_id")
    kind = data.get("period_kind") or CommissionPeriod.MONTH
    day = data.get("period_start") or timezone.localdate()
    if isinstance(day, str):
        day = datetime.date.fromisoformat(day)
    start, end = period_bounds(day, kind)
    rep = data.get("rep") or actor
    if rep is None:
        raise ValidationError({"rep": [_("Choose the rep.")]})
    currency = (data.get("currency") or "CNY").strip().upper()
    if CommissionStatement.objects.filter(rep=rep, period_start=start, period_end=end, currency=currency).exists():
        raise ValidationError({"period_start": [_("This rep has a statement for this period already.")]})
    data.update(rep=rep, period_kind=kind, period_start=start, period_end=end, currency=currency,
                status=CommissionStatementStatus.OPEN)  # fmt: skip
    statement = crud.record_create(entity_key=STATEMENT, actor=actor, data=data)
    return _refresh(statement)


@transaction.atomic
def statement_delete(*, actor, statement: CommissionStatement) -> None:
    if statement.is_locked:
        raise ValidationError(_("Reopen an approved statement before deleting it."))
    crud.record_delete(entity_key=STATEMENT, actor=actor, instance=statement)


def can_approve(user, statement: CommissionStatement) -> bool:
    """Administer rights on statements, and someone else's (tenant administrators may approve their own)."""
    if not permissions.has_action(user, STATEMENT, Action.ADMINISTER):
        return False
    return statement.rep_id != user.pk or permissions.is_tenant_admin(user)


@transaction.atomic
def statement_approve(*, actor, statement: CommissionStatement) -> CommissionStatement:
    """Approve a statement: its entries are locked in it and its totals frozen; the rep is told."""
    from .services import notify

    statement = CommissionStatement.objects.select_for_update().get(pk=statement.pk)
    if actor is not None:
        permissions.require_can(actor, Action.VIEW, statement)
        if not can_approve(actor, statement):
            raise PermissionDenied
    if statement.is_locked:
        raise ValidationError(_("This statement is approved already."))
    entries = statement_entries(statement)
    ids = list(entries.values_list("pk", flat=True))
    base, amount, count = statement_totals(statement)
    CommissionEntry.objects.filter(pk__in=ids).update(statement=statement)
    now = timezone.now()
    CommissionStatement.objects.filter(pk=statement.pk).update(
        status=CommissionStatementStatus.APPROVED, approved_at=now, approved_by=actor, base_total=base,
        commission_total=amount, entry_count=count, updated_at=now,
    )  # fmt: skip
    statement.refresh_from_db()
    audit.record(AuditAction.UPDATE, statement, changes={"status": ["open", "approved"], "commission_total": [None, amount]},
                 note="approved and locked")  # fmt: skip
    notify(
        statement.rep,
        lambda: _("Commission statement approved: %(period)s") % {"period": statement.period_label},
        lambda: f"{amount:,.2f} {statement.currency}",
        statement.get_absolute_url(),
    )
    return statement


@transaction.atomic
def statement_reopen(*, actor, statement: CommissionStatement) -> CommissionStatement:
    """Unlock an approved statement (its entries can be approved again, e.g. after a correction)."""
    statement = CommissionStatement.objects.select_for_update().get(pk=statement.pk)
    if actor is not None:
        permissions.require_can(actor, Action.VIEW, statement)
        if not can_approve(actor, statement):
            raise PermissionDenied
    if not statement.is_locked:
        raise ValidationError(_("This statement is open."))
    CommissionEntry.objects.filter(statement=statement).update(statement=None)
    CommissionStatement.objects.filter(pk=statement.pk).update(
        status=CommissionStatementStatus.OPEN, approved_at=None, approved_by=None, updated_at=timezone.now()
    )
    statement.refresh_from_db()
    audit.record(AuditAction.UPDATE, statement, changes={"status": ["approved", "open"]}, note="reopened")
    return _refresh(statement)


@transaction.atomic
def period_lock(*, actor, period_kind: str, day: datetime.date, currency: str) -> list[CommissionStatement]:
    """Approve the period for everyone: a statement per rep with unlocked entries in it, each approved."""
    if actor is not None and not permissions.has_action(actor, STATEMENT, Action.ADMINISTER):
        raise PermissionDenied
    start, end = period_bounds(day, period_kind)
    entries = CommissionEntry.objects.filter(date__gte=start, date__lte=end, currency=currency, statement__isnull=True)
    if actor is not None:
        entries = permissions.visible(actor, entries)
    approved = []
    for rep_id in sorted(set(entries.values_list("rep_id", flat=True))):
        statement = CommissionStatement.objects.filter(rep_id=rep_id, period_start=start, period_end=end,
                                                       currency=currency).first()  # fmt: skip
        if statement is None:
            statement = statement_create(actor=None, data={"rep": rep_id, "period_kind": period_kind,
                                                           "period_start": start, "currency": currency})  # fmt: skip
        if statement.is_locked:
            continue
        if actor is not None and statement.rep_id == actor.pk and not permissions.is_tenant_admin(actor):
            continue
        approved.append(statement_approve(actor=actor, statement=statement))
    return approved
