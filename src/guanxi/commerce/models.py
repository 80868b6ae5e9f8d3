"""Commerce: the product catalogue (price books, quotes and orders build on it)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.platform.models import TenantModel


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
    rate = models.DecimalField(_("rate (%)"), max_digits=6, decimal_places=3, default=0)

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
    unit = models.CharField(_("unit"), max_length=30, default="pcs")
    cost = models.DecimalField(_("cost"), max_digits=18, decimal_places=2, null=True, blank=True)
    list_price = models.DecimalField(_("list price"), max_digits=18, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    tax_class = models.ForeignKey(
        TaxClass, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("tax class")
    )
    is_active = models.BooleanField(_("active"), default=True)
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
