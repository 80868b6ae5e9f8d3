"""Commerce: the product catalogue, price books, quotes (with discount approvals) and orders.

Money is ``Decimal`` with the document's ``currency`` everywhere. How line amounts, discounts,
taxes and totals are computed and rounded is defined once in ``guanxi.commerce.pricing``.
"""

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.platform.models import OwnedModel, TenantModel


class ProductCategory(TenantModel):
    name = models.CharField(_("name"), max_length=120)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent category"),
    )

    class Meta:
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "parent", "name"], name="commerce_category_unique_name")
        ]

    def __str__(self):
        return self.name


class TaxClass(TenantModel):
    """A VAT / sales tax rate, e.g. 13 % goods, 6 % services, 0 % exempt."""

    name = models.CharField(_("name"), max_length=80)
    rate = models.DecimalField(pgettext_lazy("tax class", "rate (%)"), max_digits=6, decimal_places=3, default=0)

    class Meta:
        verbose_name = _("tax class")
        verbose_name_plural = _("tax classes")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="commerce_tax_class_unique_name")]

    def __str__(self):
        return self.name


class Product(TenantModel):
    """A product or service we sell."""

    class Kind(models.TextChoices):
        PRODUCT = "product", _("Product")
        SERVICE = "service", _("Service")

    sku = models.CharField(_("SKU"), max_length=60)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.PRODUCT)
    category = models.ForeignKey(
        ProductCategory,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="products",
        verbose_name=_("category"),
    )
    business_line = models.ForeignKey(
        "org.BusinessLine",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business line"),
    )
    unit = models.CharField(pgettext_lazy("unit of measure", "unit"), max_length=30, default="pcs")
    cost = models.DecimalField(_("cost"), max_digits=18, decimal_places=2, null=True, blank=True)
    list_price = models.DecimalField(_("list price"), max_digits=18, decimal_places=4, default=0)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    tax_class = models.ForeignKey(
        TaxClass, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("tax class")
    )
    is_active = models.BooleanField(pgettext_lazy("enabled", "active"), default=True)
    description = models.TextField(_("description"), blank=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, editable=False)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [
            models.Index(fields=["tenant", "name", "id"]),
            models.Index(fields=["tenant", "category"]),
            models.Index(fields=["tenant", "is_active", "name"]),
            models.Index(fields=["tenant", "business_line"]),
        ]
        constraints = [models.UniqueConstraint(fields=["tenant", "sku"], name="commerce_product_unique_sku")]

    def __str__(self):
        return f"{self.name} ({self.sku})"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("commerce:product_detail", args=[self.pk])


class Channel(models.TextChoices):
    """The sales channel a price book applies to and an order came through."""

    DIRECT = "direct", _("Direct sales")
    TELESALES = "telesales", _("Telesales")
    MOBILE = "mobile", pgettext_lazy("sales channel", "Mobile")
    ECOMMERCE = "ecommerce", _("E-commerce / API")


class Tier(models.TextChoices):
    """Customer tier of a price book, matched against the account's rating."""

    A = "A", _("A – key accounts")
    B = "B", _("B – important")
    C = "C", _("C – regular")
    D = "D", _("D – low")


class CommerceSettings(TenantModel):
    """The tenant's commerce settings (one row per tenant, created on first use)."""

    discount_approval_threshold_percent = models.DecimalField(
        _("discount approval threshold (%)"),
        max_digits=5,
        decimal_places=2,
        default=15,
        help_text=_("A quote with a discount above this needs a manager's approval before it is sent."),
    )
    quote_validity_days = models.PositiveSmallIntegerField(_("quotes are valid for (days)"), default=30)
    default_currency = models.CharField(_("default currency"), max_length=3, default="CNY")
    quote_terms = models.TextField(
        _("standard quote terms"), blank=True, help_text=_("Printed on every new quote; editable per quote.")
    )

    class Meta:
        verbose_name = _("commerce settings")
        verbose_name_plural = _("commerce settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="commerce_settings_one_per_tenant")]

    def __str__(self):
        return str(_("Commerce settings"))


class NumberSequence(TenantModel):
    """A per-tenant, per-year counter for document numbers (locked with SELECT … FOR UPDATE)."""

    key = models.CharField(max_length=20)  # "quote", "order"
    year = models.PositiveSmallIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key", "year"], name="commerce_sequence_unique_key_year")
        ]

    def __str__(self):
        return f"{self.key} {self.year}: {self.last_value}"


class PriceBook(TenantModel):
    """Prices in one currency, for a region, a customer tier and/or a channel (or the default book)."""

    name = models.CharField(_("name"), max_length=120)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    region = models.ForeignKey(
        "org.OrgUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("region"),
        help_text=_("Applies to accounts in this unit or below."),
    )
    tier = models.CharField(
        _("customer tier"),
        max_length=1,
        choices=Tier.choices,
        blank=True,
        help_text=_("Applies to accounts with this rating."),
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True)
    is_default = models.BooleanField(
        _("default price book"), default=False, help_text=_("Used when no more specific book applies.")
    )
    is_active = models.BooleanField(pgettext_lazy("enabled", "active"), default=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, editable=False)

    class Meta:
        verbose_name = _("price book")
        verbose_name_plural = _("price books")
        indexes = [
            models.Index(fields=["tenant", "name", "id"]),
            models.Index(fields=["tenant", "is_active", "currency"]),
            models.Index(fields=["tenant", "-updated_at", "-id"]),
        ]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="commerce_price_book_unique_name")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("commerce:price_book_detail", args=[self.pk])

    @property
    def specificity(self) -> int:
        """How many criteria the book sets (region, tier, channel): the most specific wins."""
        return sum(1 for v in (self.region_id, self.tier, self.channel) if v)

    def is_valid_on(self, day: datetime.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )


class PriceBookEntry(TenantModel):
    """A product's unit price in a book, from a minimum quantity on (volume tiers)."""

    price_book = models.ForeignKey(PriceBook, on_delete=models.CASCADE, related_name="entries")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_entries")
    unit_price = models.DecimalField(_("unit price"), max_digits=18, decimal_places=4)
    min_quantity = models.DecimalField(_("minimum quantity"), max_digits=14, decimal_places=3, default=1)

    class Meta:
        verbose_name = _("price book entry")
        verbose_name_plural = _("price book entries")
        ordering = ["price_book", "product__name", "min_quantity"]
        indexes = [models.Index(fields=["tenant", "product"])]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "price_book", "product", "min_quantity"], name="commerce_entry_unique_tier"
            ),
            models.CheckConstraint(condition=models.Q(unit_price__gte=0), name="commerce_entry_price_not_negative"),
            models.CheckConstraint(condition=models.Q(min_quantity__gt=0), name="commerce_entry_min_qty_positive"),
        ]

    def __str__(self):
        return f"{self.product} @ {self.unit_price} {self.price_book.currency}"


class DocumentTotals(models.Model):
    """Totals of a quote or an order, as computed by ``pricing.compute_document``."""

    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    discount_percent = models.DecimalField(_("discount on the total (%)"), max_digits=5, decimal_places=2, default=0)
    subtotal = models.DecimalField(_("subtotal"), max_digits=18, decimal_places=2, default=0, editable=False)
    discount_total = models.DecimalField(_("discounts"), max_digits=18, decimal_places=2, default=0, editable=False)
    net_total = models.DecimalField(_("net amount"), max_digits=18, decimal_places=2, default=0, editable=False)
    tax_total = models.DecimalField(_("tax"), max_digits=18, decimal_places=2, default=0, editable=False)
    total = models.DecimalField(_("total"), max_digits=18, decimal_places=2, default=0, editable=False)

    class Meta:
        abstract = True


class DocumentLine(TenantModel):
    """A line of a quote or an order: a product (or free text) with its price, discount and tax."""

    position = models.PositiveSmallIntegerField(_("position"), default=0)
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    sku = models.CharField(_("SKU"), max_length=60, blank=True)
    description = models.CharField(_("description"), max_length=300)
    unit = models.CharField(pgettext_lazy("unit of measure", "unit"), max_length=30, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3, default=1)
    list_price = models.DecimalField(
        _("list price"), max_digits=18, decimal_places=4, null=True, blank=True, help_text=_("Price book price.")
    )
    unit_price = models.DecimalField(_("unit price"), max_digits=18, decimal_places=4, default=0)
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2, default=0)
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=6, decimal_places=3, default=0)
    gross_amount = models.DecimalField(max_digits=18, decimal_places=2, default=0, editable=False)
    discount_amount = models.DecimalField(max_digits=18, decimal_places=2, default=0, editable=False)
    net_amount = models.DecimalField(_("net amount"), max_digits=18, decimal_places=2, default=0, editable=False)
    tax_amount = models.DecimalField(_("tax"), max_digits=18, decimal_places=2, default=0, editable=False)
    total = models.DecimalField(_("total"), max_digits=18, decimal_places=2, default=0, editable=False)

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    def __str__(self):
        return self.description


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPROVAL = "pending_approval", _("Pending approval")
    APPROVED = "approved", _("Approved")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", pgettext_lazy("quote status", "Rejected")
    EXPIRED = "expired", _("Expired")
    SUPERSEDED = "superseded", _("Superseded")


class Quote(OwnedModel, DocumentTotals):
    """An offer to a customer: numbered per tenant, versioned, approved when discounted, sent as a PDF."""

    Status = QuoteStatus

    number = models.CharField(pgettext_lazy("quote", "number"), max_length=30, editable=False)
    version = models.PositiveSmallIntegerField(_("version"), default=1, editable=False)
    previous_version = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="next_versions",
        editable=False,
        verbose_name=_("previous version"),
    )
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(_("status"), max_length=20, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT)
    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="quotes", verbose_name=_("account")
    )
    contact = models.ForeignKey(
        "customers.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="quotes",
        verbose_name=_("contact"),
    )
    opportunity = models.ForeignKey(
        "sales.Opportunity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="quotes",
        verbose_name=_("opportunity"),
    )
    price_book = models.ForeignKey(
        PriceBook,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("price book"),
        help_text=_("Leave empty to pick the most specific valid book for each product."),
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.DIRECT)
    quote_date = models.DateField(pgettext_lazy("quote", "date"), default=datetime.date.today)
    valid_until = models.DateField(_("valid until"))
    terms = models.TextField(_("terms"), blank=True)
    notes = models.TextField(_("internal notes"), blank=True)
    effective_discount_percent = models.DecimalField(
        _("overall discount (%)"), max_digits=6, decimal_places=2, default=0, editable=False
    )
    max_line_discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0, editable=False)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True, editable=False)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True, editable=False)
    rejected_at = models.DateTimeField(_("rejected"), null=True, blank=True, editable=False)
    rejection_reason = models.CharField(_("reason"), max_length=300, blank=True, editable=False)
    # The status before the quote was superseded or accepted: given back if the revision / order is deleted.
    previous_status = models.CharField(max_length=20, choices=QuoteStatus.choices, blank=True, editable=False)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        indexes = [
            models.Index(fields=["tenant", "-updated_at", "-id"]),
            models.Index(fields=["tenant", "-created_at", "-id"]),
            models.Index(fields=["tenant", "number", "version"]),
            models.Index(fields=["tenant", "status", "valid_until"]),
            models.Index(fields=["tenant", "owner", "status"]),
            models.Index(fields=["tenant", "account"]),
            models.Index(fields=["tenant", "opportunity"]),
            models.Index(fields=["tenant", "-quote_date", "-id"]),
            models.Index(fields=["tenant", "total", "id"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number", "version"], name="commerce_quote_unique_number")
        ]

    def __str__(self):
        return f"{self.display_number} {self.title}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("commerce:quote_detail", args=[self.pk])

    @property
    def display_number(self) -> str:
        return f"{self.number} v{self.version}" if self.version > 1 else self.number

    @property
    def is_editable(self) -> bool:
        """Lines, discounts and terms may change only before the quote goes out."""
        return self.status in (QuoteStatus.DRAFT, QuoteStatus.APPROVED)

    @property
    def is_read_only(self) -> bool:
        return not self.is_editable


class QuoteLine(DocumentLine):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")

    class Meta(DocumentLine.Meta):
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        indexes = [models.Index(fields=["tenant", "quote", "position"]), models.Index(fields=["tenant", "product"])]


class DiscountApproval(TenantModel):
    """A request to approve a quote's discount above the tenant's threshold, decided by a manager."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Withdrawn")

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="approvals", verbose_name=_("quote"))
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
        help_text=_("The requester's manager; empty means any tenant administrator."),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=6, decimal_places=2, default=0)
    threshold_percent = models.DecimalField(_("threshold (%)"), max_digits=5, decimal_places=2, default=0)
    quote_total = models.DecimalField(_("quote total"), max_digits=18, decimal_places=2, default=0)
    reason = models.TextField(_("reason for the discount"), blank=True)
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
        verbose_name = _("discount approval")
        verbose_name_plural = _("discount approvals")
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "status", "approver"]),
            models.Index(fields=["tenant", "quote"]),
            models.Index(fields=["tenant", "requested_by", "-requested_at"]),
        ]

    def __str__(self):
        return f"{self.quote.display_number}: {self.discount_percent} %"


class OrderStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    CONFIRMED = "confirmed", _("Confirmed")
    FULFILLED = "fulfilled", _("Fulfilled")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class Order(OwnedModel, DocumentTotals):
    """A sales order: from an accepted quote or entered directly, then confirmed, fulfilled and closed."""

    Status = OrderStatus

    number = models.CharField(pgettext_lazy("order", "number"), max_length=30, editable=False)
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.DRAFT)
    channel = models.CharField(_("sales channel"), max_length=20, choices=Channel.choices, default=Channel.DIRECT)
    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="orders", verbose_name=_("account")
    )
    contact = models.ForeignKey(
        "customers.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("contact"),
    )
    opportunity = models.ForeignKey(
        "sales.Opportunity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("opportunity"),
    )
    quote = models.ForeignKey(
        Quote,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        editable=False,
        verbose_name=_("quote"),
    )
    order_date = models.DateField(_("order date"), default=datetime.date.today)
    delivery_address = models.TextField(_("delivery address"), blank=True)
    requested_delivery_date = models.DateField(_("requested delivery date"), null=True, blank=True)
    carrier = models.CharField(_("carrier"), max_length=100, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True, editable=False)
    fulfilled_at = models.DateTimeField(_("fulfilled"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True, editable=False)
    cancel_reason = models.CharField(_("cancellation reason"), max_length=300, blank=True, editable=False)
    notes = models.TextField(_("notes"), blank=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["tenant", "-updated_at", "-id"]),
            models.Index(fields=["tenant", "-created_at", "-id"]),
            models.Index(fields=["tenant", "-order_date", "-id"]),
            models.Index(fields=["tenant", "status", "order_date"]),
            models.Index(fields=["tenant", "owner", "status"]),
            models.Index(fields=["tenant", "account", "order_date"]),
            models.Index(fields=["tenant", "channel"]),
            models.Index(fields=["tenant", "opportunity"]),
            models.Index(fields=["tenant", "total", "id"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="commerce_order_unique_number"),
            models.UniqueConstraint(
                fields=["tenant", "quote"], condition=models.Q(quote__isnull=False), name="commerce_order_one_per_quote"
            ),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("commerce:order_detail", args=[self.pk])

    @property
    def is_editable(self) -> bool:
        return self.status == OrderStatus.DRAFT


class OrderLine(DocumentLine):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")

    class Meta(DocumentLine.Meta):
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        indexes = [models.Index(fields=["tenant", "order", "position"]), models.Index(fields=["tenant", "product"])]
