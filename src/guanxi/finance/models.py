"""Finance: contracts (milestones, approvals, renewals), invoices and payments, commissions, expenses.

Money is ``Decimal`` with the record's ``currency`` everywhere. Invoice lines and totals use the
commerce app's document model and arithmetic (``guanxi.commerce.pricing``: every amount rounded
half up to cents line by line, documents sum their rounded lines).
"""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.commerce.models import DocumentLine, DocumentTotals
from guanxi.platform.models import OwnedModel, TenantModel, TimeStampedModel

CENT = Decimal("0.01")


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class FinanceSettings(TenantModel):
    """The tenant's finance settings (one row per tenant, created on first use)."""

    renewal_reminder_days = models.PositiveSmallIntegerField(
        _("renewal reminder (days before the end)"),
        default=30,
        help_text=_("The owner is reminded to renew this many days before a contract ends (0: never)."),
    )
    expiry_warning_days = models.PositiveSmallIntegerField(
        _("expiry warning (days before the end)"),
        default=7,
        help_text=_("A last warning this many days before a contract ends (0: never)."),
    )
    invoice_due_days = models.PositiveSmallIntegerField(_("invoices are due after (days)"), default=30)
    default_currency = models.CharField(_("default currency"), max_length=3, default="CNY")
    default_tax_rate = models.DecimalField(
        _("default tax rate (%)"),
        max_digits=6,
        decimal_places=3,
        default=0,
        help_text=_("Used on invoices of contract milestones (milestone amounts are net of tax)."),
    )
    company_name = models.CharField(
        _("our company name"), max_length=200, blank=True, help_text=_("Empty: the company's name in Guanxi.")
    )
    company_address = models.TextField(_("our address"), blank=True)
    company_tax_id = models.CharField(_("our tax ID"), max_length=60, blank=True)
    bank_details = models.TextField(_("bank details"), blank=True, help_text=_("Printed on invoices."))
    invoice_terms = models.TextField(_("standard invoice terms"), blank=True)

    class Meta:
        verbose_name = _("finance settings")
        verbose_name_plural = _("finance settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="finance_settings_one_per_tenant")]

    def __str__(self):
        return str(_("Finance settings"))

    @property
    def warning_thresholds(self) -> list[int]:
        """Days before the end at which owners are warned, largest first (e.g. [30, 7])."""
        return sorted({d for d in (self.renewal_reminder_days, self.expiry_warning_days) if d}, reverse=True)


class Sequence(TenantModel):
    """A per-tenant, per-year counter for document numbers, locked with SELECT … FOR UPDATE."""

    key = models.CharField(max_length=20)  # "contract", "invoice"
    year = models.PositiveSmallIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "key", "year"], name="finance_sequence_unique")]

    def __str__(self):
        return f"{self.key} {self.year}: {self.last_value}"


# --- contracts --------------------------------------------------------------------------------------


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    UNDER_REVIEW = "under_review", _("Under review")
    ACTIVE = "active", pgettext_lazy("contract status", "Active")
    EXPIRING = "expiring", _("Expiring")
    EXPIRED = "expired", _("Expired")
    RENEWED = "renewed", _("Renewed")
    TERMINATED = "terminated", _("Terminated")


class Contract(OwnedModel):
    """An agreement with an account: parties, term, value, terms and payment milestones."""

    Status = ContractStatus

    number = models.CharField(pgettext_lazy("contract", "number"), max_length=30, editable=False)
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(_("status"), max_length=20, choices=ContractStatus.choices, default=ContractStatus.DRAFT)
    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="contracts", verbose_name=_("account")
    )
    contact = models.ForeignKey(
        "customers.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contracts",
        verbose_name=_("customer contact"),
    )
    customer_signatory = models.CharField(
        _("customer signatory"),
        max_length=150,
        blank=True,
        help_text=_("Name and title of who signs for the customer."),
    )
    our_company = models.CharField(
        _("our company"), max_length=200, blank=True, help_text=_("Empty: the company name from the finance settings.")
    )
    our_signatory = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("our signatory"),
    )
    opportunity = models.ForeignKey(
        "sales.Opportunity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contracts",
        verbose_name=_("opportunity"),
    )
    order = models.ForeignKey(
        "commerce.Order",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contracts",
        verbose_name=_("order"),
    )
    business_line = models.ForeignKey(
        "org.BusinessLine",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business line"),
    )
    start_date = models.DateField(_("start"))
    end_date = models.DateField(_("end"))
    signed_date = models.DateField(_("signed on"), null=True, blank=True)
    value = models.DecimalField(pgettext_lazy("contract", "value"), max_digits=18, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    terms = models.TextField(_("terms"), blank=True)
    notes = models.TextField(_("internal notes"), blank=True)
    renewed_from = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="renewals",
        editable=False,
        verbose_name=_("renewal of"),
    )
    # The status before the contract was renewed: given back if the renewal draft is deleted.
    previous_status = models.CharField(max_length=20, choices=ContractStatus.choices, blank=True, editable=False)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True, editable=False)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True, editable=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("approved by"),
    )
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True, editable=False)
    termination_reason = models.CharField(_("termination reason"), max_length=300, blank=True, editable=False)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        indexes = [
            models.Index(fields=["tenant", "-updated_at", "-id"]),
            models.Index(fields=["tenant", "-created_at", "-id"]),
            models.Index(fields=["tenant", "status", "end_date"]),
            models.Index(fields=["tenant", "owner", "status"]),
            models.Index(fields=["tenant", "account"]),
            models.Index(fields=["tenant", "opportunity"]),
            models.Index(fields=["tenant", "order"]),
            models.Index(fields=["tenant", "business_line"]),
            models.Index(fields=["tenant", "start_date", "id"]),
            models.Index(fields=["tenant", "end_date", "id"]),
            models.Index(fields=["tenant", "value", "id"]),
            models.Index(fields=["tenant", "number", "id"]),
            models.Index(fields=["tenant", "title", "id"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="finance_contract_unique_number"),
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")), name="finance_contract_dates"
            ),
            models.CheckConstraint(condition=models.Q(value__gte=0), name="finance_contract_value_not_negative"),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("finance:contract_detail", args=[self.pk])

    @property
    def is_editable(self) -> bool:
        """Parties, term, value, terms and milestones change only while a draft."""
        return self.status == ContractStatus.DRAFT

    @property
    def is_in_force(self) -> bool:
        return self.status in (ContractStatus.ACTIVE, ContractStatus.EXPIRING)

    @property
    def days_left(self) -> int | None:
        if not self.is_in_force:
            return None
        return (self.end_date - timezone.localdate()).days

    @property
    def term_days(self) -> int:
        return (self.end_date - self.start_date).days


class ContractMilestone(TenantModel):
    """A payment milestone: due date, a fixed amount or a percentage of the contract value, invoiced or not."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="milestones")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    due_date = models.DateField(_("due date"))
    description = models.CharField(_("description"), max_length=200)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2, null=True, blank=True)
    percent = models.DecimalField(_("percent of the value"), max_digits=5, decimal_places=2, null=True, blank=True)
    invoiced = models.BooleanField(_("invoiced"), default=False)
    invoice = models.ForeignKey(
        "Invoice", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("invoice")
    )

    class Meta:
        verbose_name = _("payment milestone")
        verbose_name_plural = _("payment milestones")
        ordering = ["position", "due_date", "id"]
        indexes = [models.Index(fields=["tenant", "contract", "position"]), models.Index(fields=["tenant", "invoice"])]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(amount__isnull=False, percent__isnull=True) | models.Q(amount__isnull=True, percent__isnull=False)),
                name="finance_milestone_amount_or_percent",
            ),
        ]  # fmt: skip

    def __str__(self):
        return self.description

    def amount_of(self, value: Decimal) -> Decimal:
        """The milestone's amount for a contract of ``value``: its own amount, or its share of the percents.

        Percent milestones are rounded cumulatively (see ``allocate_milestones``), so 33.33 % + 33.33 % +
        33.34 % of 100.00 give exactly 100.00 and never a cent more than the contract's value.
        """
        if self.amount is not None:
            return self.amount
        siblings = list(self.contract.milestones.order_by("position", "id")) if self.pk else [self]
        amounts = allocate_milestones(value, siblings)
        return next((a for m, a in zip(siblings, amounts, strict=True) if m.pk == self.pk), amounts[-1])

    @property
    def computed_amount(self) -> Decimal:
        return self.amount_of(self.contract.value)


def allocate_milestones(value: Decimal, milestones) -> list[Decimal]:
    """Amounts of ``milestones`` (in order) for a contract of ``value``.

    Fixed amounts stay as they are; a percent milestone gets the difference between the rounded
    cumulative percents after and before it, so the percent milestones add up exactly.
    """
    amounts, cumulative = [], Decimal(0)
    for m in milestones:
        if m.amount is not None:
            amounts.append(m.amount)
            continue
        before = money(value * cumulative / Decimal(100))
        cumulative += m.percent or 0
        amounts.append(money(value * cumulative / Decimal(100)) - before)
    return amounts


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Withdrawn")


class ContractApproval(TenantModel):
    """A request to approve a contract, decided by the owner's manager or a tenant administrator."""

    Status = ApprovalStatus

    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="approvals", verbose_name=_("contract")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approver"),
        help_text=_("The owner's manager; empty means any tenant administrator."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    message = models.TextField(_("message"), blank=True)
    comment = models.TextField(_("approver's comment"), blank=True)
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )

    class Meta:
        verbose_name = _("contract approval")
        verbose_name_plural = _("contract approvals")
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "status", "approver"]),
            models.Index(fields=["tenant", "contract"]),
        ]

    def __str__(self):
        return f"{self.contract.number}: {self.get_status_display()}"


class ContractReminder(TenantModel):
    """A warning sent for a contract at one threshold (days before its end): each one once."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="reminders")
    threshold_days = models.PositiveSmallIntegerField()
    end_date = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "contract", "threshold_days"], name="finance_reminder_once")
        ]

    def __str__(self):
        return f"{self.contract_id} −{self.threshold_days}d"


# --- invoices and payments ---------------------------------------------------------------------------


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")
    PARTLY_PAID = "partly_paid", _("Partly paid")
    PAID = "paid", _("Paid")
    OVERDUE = "overdue", _("Overdue")
    VOID = "void", pgettext_lazy("invoice status", "Void")


OPEN_INVOICE_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.PARTLY_PAID, InvoiceStatus.OVERDUE)


class Invoice(OwnedModel, DocumentTotals):
    """A bill to an account: numbered without gaps when issued, paid by payments, voided (keeping its number)."""

    Status = InvoiceStatus

    number = models.CharField(pgettext_lazy("invoice", "number"), max_length=30, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="invoices", verbose_name=_("account")
    )
    contact = models.ForeignKey(
        "customers.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invoices",
        verbose_name=_("contact"),
    )
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices", verbose_name=_("contract")
    )
    order = models.ForeignKey(
        "commerce.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices",
        verbose_name=_("order"),
    )
    business_line = models.ForeignKey(
        "org.BusinessLine",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business line"),
    )
    title = models.CharField(_("subject"), max_length=200, blank=True)
    invoice_date = models.DateField(_("invoice date"), null=True, blank=True, editable=False)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), default=30)
    billing_address = models.TextField(_("billing address"), blank=True)
    amount_paid = models.DecimalField(
        pgettext_lazy("amount", "paid"), max_digits=18, decimal_places=2, default=0, editable=False
    )
    paid_at = models.DateTimeField(pgettext_lazy("timestamp", "paid"), null=True, blank=True, editable=False)
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True, editable=False)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("issued by"),
    )
    overdue_since = models.DateField(_("overdue since"), null=True, blank=True, editable=False)
    voided_at = models.DateTimeField(_("voided"), null=True, blank=True, editable=False)
    void_reason = models.CharField(_("reason for voiding"), max_length=300, blank=True, editable=False)
    terms = models.TextField(_("terms"), blank=True)
    notes = models.TextField(_("internal notes"), blank=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        indexes = [
            models.Index(fields=["tenant", "-updated_at", "-id"]),
            models.Index(fields=["tenant", "-created_at", "-id"]),
            models.Index(fields=["tenant", "status", "due_date"]),
            models.Index(fields=["tenant", "owner", "status"]),
            models.Index(fields=["tenant", "account"]),
            models.Index(fields=["tenant", "contract"]),
            models.Index(fields=["tenant", "order"]),
            models.Index(fields=["tenant", "business_line"]),
            models.Index(fields=["tenant", "number", "id"]),
            models.Index(fields=["tenant", "invoice_date", "id"]),
            models.Index(fields=["tenant", "due_date", "id"]),
            models.Index(fields=["tenant", "total", "id"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "number"], condition=~models.Q(number=""), name="finance_invoice_unique_number"
            ),
            models.CheckConstraint(condition=models.Q(amount_paid__gte=0), name="finance_invoice_paid_not_negative"),
            models.CheckConstraint(
                condition=models.Q(amount_paid__lte=models.F("total")), name="finance_invoice_no_overpayment"
            ),
        ]

    def __str__(self):
        return self.number or str(_("Draft invoice #%(id)s") % {"id": self.pk})

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("finance:invoice_detail", args=[self.pk])

    @property
    def display_number(self) -> str:
        return str(self)

    @property
    def balance(self) -> Decimal:
        return self.total - self.amount_paid

    @property
    def is_editable(self) -> bool:
        return self.status == InvoiceStatus.DRAFT

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_INVOICE_STATUSES

    @property
    def days_overdue(self) -> int:
        if not self.is_open or self.due_date is None:
            return 0
        return max(0, (timezone.localdate() - self.due_date).days)


class InvoiceLine(DocumentLine):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")

    class Meta(DocumentLine.Meta):
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        indexes = [models.Index(fields=["tenant", "invoice", "position"]), models.Index(fields=["tenant", "product"])]


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    ALIPAY = "alipay", _("Alipay")
    WECHAT_PAY = "wechat_pay", _("WeChat Pay")
    CARD = "card", _("Card")
    CASH = "cash", _("Cash")
    CHEQUE = "cheque", _("Cheque")
    OTHER = "other", _("Other")


class Payment(TenantModel, TimeStampedModel):
    """Money received against an invoice. Its owner is the invoice's owner (who sees it)."""

    Method = PaymentMethod

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments", verbose_name=_("invoice"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False,
                              verbose_name=_("owner"))  # fmt: skip
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, editable=False)
    date = models.DateField(pgettext_lazy("payment", "date"), default=datetime.date.today)
    method = models.CharField(
        _("method"), max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.BANK_TRANSFER
    )
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("recorded by"),
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        indexes = [
            models.Index(fields=["tenant", "invoice", "date"]),
            models.Index(fields=["tenant", "-date", "-id"]),
            models.Index(fields=["tenant", "-updated_at", "-id"]),
            models.Index(fields=["tenant", "-created_at", "-id"]),
            models.Index(fields=["tenant", "owner"]),
            models.Index(fields=["tenant", "amount", "id"]),
        ]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="finance_payment_positive")]

    def __str__(self):
        return f"{self.invoice.display_number}: {self.amount} {self.currency} ({self.date:%Y-%m-%d})"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("finance:payment_detail", args=[self.pk])


# --- commissions ----------------------------------------------------------------------------------------


class CommissionBasis(models.TextChoices):
    PAYMENT = "payment", _("When invoices are paid")
    WON_DEAL = "won_deal", _("When deals are won")


class CommissionPeriod(models.TextChoices):
    MONTH = "month", pgettext_lazy("period", "Month")
    QUARTER = "quarter", pgettext_lazy("period", "Quarter")


class CommissionPlan(TenantModel, TimeStampedModel):
    """How reps earn commission: rates by product category / business line, tiers by attainment in a period."""

    Basis = CommissionBasis
    Period = CommissionPeriod

    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(pgettext_lazy("enabled", "active"), default=True)
    basis = models.CharField(
        _("accrued"), max_length=10, choices=CommissionBasis.choices, default=CommissionBasis.PAYMENT
    )
    period = models.CharField(
        _("attainment period"),
        max_length=10,
        choices=CommissionPeriod.choices,
        default=CommissionPeriod.MONTH,
        help_text=_("Tiers apply to what a rep brings in per month or per quarter."),
    )
    currency = models.CharField(
        _("currency"), max_length=3, default="CNY", help_text=_("Only amounts in this currency earn commission.")
    )
    default_rate = models.DecimalField(
        pgettext_lazy("commission rate", "default rate (%)"),
        max_digits=6,
        decimal_places=3,
        default=0,
        help_text=_("For lines no category or business-line rate matches, below the first tier."),
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="CommissionPlanMember",
        blank=True,
        related_name="+",
        verbose_name=_("reps"),
        help_text=_("Empty: every member of the company."),
    )

    class Meta:
        verbose_name = _("commission plan")
        verbose_name_plural = _("commission plans")
        indexes = [
            models.Index(fields=["tenant", "name", "id"]),
            models.Index(fields=["tenant", "is_active", "basis"]),
            models.Index(fields=["tenant", "-updated_at", "-id"]),
            models.Index(fields=["tenant", "-created_at", "-id"]),
        ]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="finance_plan_unique_name")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("finance:commission_plan_detail", args=[self.pk])

    def applies_on(self, day: datetime.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )


class CommissionPlanMember(TenantModel):
    plan = models.ForeignKey(CommissionPlan, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "plan", "user"], name="finance_plan_member_unique")]


class CommissionRate(TenantModel):
    """A fixed rate for lines of a product category (incl. its sub-categories) or of a business line."""

    plan = models.ForeignKey(CommissionPlan, on_delete=models.CASCADE, related_name="rates")
    category = models.ForeignKey(
        "commerce.ProductCategory",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product category"),
    )
    business_line = models.ForeignKey(
        "org.BusinessLine",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business line"),
    )
    rate = models.DecimalField(pgettext_lazy("commission rate", "rate (%)"), max_digits=6, decimal_places=3)

    class Meta:
        verbose_name = _("commission rate")
        verbose_name_plural = _("commission rates")
        indexes = [models.Index(fields=["tenant", "plan"])]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(category__isnull=False, business_line__isnull=True)
                           | models.Q(category__isnull=True, business_line__isnull=False)),
                name="finance_rate_category_or_line",
            ),
        ]  # fmt: skip

    def __str__(self):
        return f"{self.category or self.business_line}: {self.rate} %"


class CommissionTier(TenantModel):
    """From ``threshold`` of attainment in the period on, the default rate becomes ``rate`` (progressively)."""

    plan = models.ForeignKey(CommissionPlan, on_delete=models.CASCADE, related_name="tiers")
    threshold = models.DecimalField(_("from attainment of"), max_digits=18, decimal_places=2, default=0)
    rate = models.DecimalField(pgettext_lazy("commission rate", "rate (%)"), max_digits=6, decimal_places=3)

    class Meta:
        verbose_name = _("commission tier")
        verbose_name_plural = _("commission tiers")
        ordering = ["threshold"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "plan", "threshold"], name="finance_tier_unique_threshold")
        ]

    def __str__(self):
        return f"≥ {self.threshold}: {self.rate} %"


class CommissionStatementStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("statement status", "Open")
    APPROVED = "approved", _("Approved (locked)")


class CommissionStatement(TenantModel, TimeStampedModel):
    """A rep's commission for a month or a quarter; approving it locks its entries."""

    Status = CommissionStatementStatus

    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("rep"))
    period_kind = models.CharField(
        _("period"), max_length=10, choices=CommissionPeriod.choices, default=CommissionPeriod.MONTH
    )
    period_start = models.DateField(pgettext_lazy("period", "from"))
    period_end = models.DateField(pgettext_lazy("period", "until"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    status = models.CharField(
        _("status"), max_length=10, choices=CommissionStatementStatus.choices, default=CommissionStatementStatus.OPEN
    )
    base_total = models.DecimalField(_("credited"), max_digits=18, decimal_places=2, default=0, editable=False)
    commission_total = models.DecimalField(_("commission"), max_digits=18, decimal_places=2, default=0, editable=False)
    entry_count = models.PositiveIntegerField(_("entries"), default=0, editable=False)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True, editable=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("approved by"),
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("commission statement")
        verbose_name_plural = _("commission statements")
        indexes = [
            models.Index(fields=["tenant", "rep", "period_start"]),
            models.Index(fields=["tenant", "-period_start", "-id"]),
            models.Index(fields=["tenant", "-updated_at", "-id"]),
            models.Index(fields=["tenant", "-created_at", "-id"]),
            models.Index(fields=["tenant", "status", "period_start"]),
            models.Index(fields=["tenant", "commission_total", "id"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "rep", "period_start", "period_end", "currency"], name="finance_statement_unique"
            ),
        ]

    def __str__(self):
        return f"{self.rep} · {self.period_label}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("finance:commission_statement_detail", args=[self.pk])

    @property
    def period_label(self) -> str:
        if self.period_kind == CommissionPeriod.QUARTER:
            return f"{self.period_start.year} Q{(self.period_start.month - 1) // 3 + 1}"
        return f"{self.period_start:%Y-%m}"

    @property
    def is_locked(self) -> bool:
        return self.status == CommissionStatementStatus.APPROVED


class CommissionEntryKind(models.TextChoices):
    ACCRUAL = "accrual", _("Accrual")
    REVERSAL = "reversal", _("Reversal")
    ADJUSTMENT = "adjustment", _("Adjustment")


class CommissionEntry(TenantModel):
    """Commission earned (or taken back) by a rep for one payment, won deal or manual adjustment."""

    Kind = CommissionEntryKind

    plan = models.ForeignKey(
        CommissionPlan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
        verbose_name=pgettext_lazy("commission plan", "plan"),
    )
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("rep"))
    kind = models.CharField(
        _("kind"), max_length=12, choices=CommissionEntryKind.choices, default=CommissionEntryKind.ACCRUAL
    )
    # What the entry is for: "payment:<id>", "opportunity:<id>" or "adjustment:<uuid>"; with the generation
    # (how many earlier accruals of the same source were reversed) it makes accruals idempotent.
    source_key = models.CharField(max_length=80, editable=False)
    generation = models.PositiveSmallIntegerField(default=0, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="commission_entries",
                                verbose_name=_("payment"))  # fmt: skip
    invoice = models.ForeignKey(Invoice, on_delete=models.SET_NULL, null=True, blank=True, related_name="commission_entries",
                                verbose_name=_("invoice"))  # fmt: skip
    opportunity = models.ForeignKey(
        "sales.Opportunity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="commission_entries",
        verbose_name=_("opportunity"),
    )
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversal", verbose_name=_("reverses")
    )
    date = models.DateField(_("date"))
    description = models.CharField(_("description"), max_length=300)
    base_amount = models.DecimalField(_("credited amount"), max_digits=18, decimal_places=2, default=0)
    rate = models.DecimalField(pgettext_lazy("commission rate", "rate (%)"), max_digits=8, decimal_places=4, default=0)
    amount = models.DecimalField(_("commission"), max_digits=18, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    statement = models.ForeignKey(
        CommissionStatement,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="entries",
        editable=False,
        verbose_name=_("statement"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, editable=False)

    class Meta:
        verbose_name = _("commission entry")
        verbose_name_plural = _("commission entries")
        indexes = [
            models.Index(fields=["tenant", "rep", "date"]),
            models.Index(fields=["tenant", "-date", "-id"]),
            models.Index(fields=["tenant", "-created_at", "-id"]),
            models.Index(fields=["tenant", "-updated_at", "-id"]),
            models.Index(fields=["tenant", "plan", "rep", "date"]),
            models.Index(fields=["tenant", "source_key"]),
            models.Index(fields=["tenant", "statement"]),
            models.Index(fields=["tenant", "amount", "id"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "plan", "rep", "source_key", "generation"],
                condition=models.Q(kind="accrual"),
                name="finance_commission_accrual_once",
            ),
        ]

    def __str__(self):
        return f"{self.rep} · {self.date:%Y-%m-%d} · {self.amount} {self.currency}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("finance:commission_entry_detail", args=[self.pk])

    @property
    def is_locked(self) -> bool:
        return self.statement_id is not None


# --- expenses ---------------------------------------------------------------------------------------------


class ExpenseStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class ExpenseCategory(models.TextChoices):
    TRAVEL = "travel", _("Travel")
    LODGING = "lodging", _("Lodging")
    MEALS = "meals", _("Meals")
    ENTERTAINMENT = "entertainment", _("Customer entertainment")
    TRANSPORT = "transport", _("Local transport")
    GIFTS = "gifts", _("Gifts")
    EVENTS = "events", _("Events and trade shows")
    OFFICE = "office", _("Office and supplies")
    OTHER = "other", _("Other")


class Expense(OwnedModel):
    """A cost a rep paid for business, against an account or an opportunity, with receipts and an approval."""

    Status = ExpenseStatus
    Category = ExpenseCategory

    date = models.DateField(_("date"), default=datetime.date.today)
    category = models.CharField(
        _("category"), max_length=20, choices=ExpenseCategory.choices, default=ExpenseCategory.OTHER
    )
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    description = models.CharField(_("description"), max_length=300)
    account = models.ForeignKey(
        "customers.Account",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="expenses",
        verbose_name=_("account"),
    )
    opportunity = models.ForeignKey(
        "sales.Opportunity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="expenses",
        verbose_name=_("opportunity"),
    )
    status = models.CharField(_("status"), max_length=12, choices=ExpenseStatus.choices, default=ExpenseStatus.DRAFT)
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("approver"),
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True, editable=False)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("decided by"),
    )
    decision_comment = models.TextField(_("approver's comment"), blank=True, editable=False)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        verbose_name = _("expense")
        verbose_name_plural = _("expenses")
        indexes = [
            models.Index(fields=["tenant", "-date", "-id"]),
            models.Index(fields=["tenant", "-updated_at", "-id"]),
            models.Index(fields=["tenant", "-created_at", "-id"]),
            models.Index(fields=["tenant", "owner", "status", "date"]),
            models.Index(fields=["tenant", "status", "approver"]),
            models.Index(fields=["tenant", "account"]),
            models.Index(fields=["tenant", "opportunity"]),
            models.Index(fields=["tenant", "amount", "id"]),
        ]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="finance_expense_positive")]

    def __str__(self):
        return f"{self.description} ({self.amount} {self.currency})"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("finance:expense_detail", args=[self.pk])

    @property
    def is_editable(self) -> bool:
        return self.status in (ExpenseStatus.DRAFT, ExpenseStatus.REJECTED)
