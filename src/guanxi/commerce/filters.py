"""List filters of products, price books, quotes and orders (list pages and API query parameters)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from guanxi.access import permissions
from guanxi.org.models import BusinessLine, OrgUnit
from guanxi.platform.filters import EntityFilterSet

from .models import (
    Channel,
    Order,
    OrderLine,
    OrderStatus,
    PriceBook,
    Product,
    ProductCategory,
    Quote,
    QuoteLine,
    QuoteStatus,
    TaxClass,
    Tier,
)

SELECT = {"data-gx-select": ""}
DATE = {"type": "date"}


class RemoteSelect(forms.Select):
    """A Tom Select loading its options from ``url``; only the chosen record is rendered as an option."""

    def __init__(self, url, model, attrs=None):
        super().__init__(attrs={**(attrs or {}), "data-gx-select": "", "data-gx-select-url": url})
        self.model = model
        self.user = None
        self.queryset = None  # the records that may be shown; default: what the user may see of ``model``

    def get_context(self, name, value, attrs):
        choices = [("", "")]
        pk = value[0] if isinstance(value, (list, tuple)) and value else value
        if pk not in (None, "") and str(pk).isdigit() and self.user is not None:
            qs = (
                self.queryset
                if self.queryset is not None
                else permissions.visible(self.user, self.model._default_manager.all())
            )
            obj = qs.filter(pk=pk).first()
            if obj is not None:
                choices.append((str(obj.pk), str(obj)))
        self.choices = choices
        return super().get_context(name, value, attrs)


class OwnerlessFilterSet(EntityFilterSet):
    """Catalogue records have no owner: no owner filter."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters.pop("owner", None)


class ProductFilterSet(OwnerlessFilterSet):
    entity_key = "commerce.product"
    search_fields = ("name", "sku", "description")

    kind = django_filters.ChoiceFilter(choices=Product.Kind.choices, label=_("Type"))
    category = django_filters.ModelChoiceFilter(
        queryset=lambda r: ProductCategory.objects.order_by("name"), label=_("Category"), method="filter_category"
    )
    tax_class = django_filters.ModelChoiceFilter(queryset=lambda r: TaxClass.objects.all(), label=_("Tax class"))
    business_line = django_filters.ModelChoiceFilter(
        queryset=lambda r: BusinessLine.objects.all(), label=_("Business line")
    )
    is_active = django_filters.BooleanFilter(label=_("Active"))
    currency = django_filters.CharFilter(lookup_expr="iexact", label=_("Currency"))
    list_price_min = django_filters.NumberFilter(field_name="list_price", lookup_expr="gte", label=_("List price ≥"))
    list_price_max = django_filters.NumberFilter(field_name="list_price", lookup_expr="lte", label=_("List price ≤"))

    class Meta:
        model = Product
        fields = []

    def filter_category(self, queryset, name, value):
        if not value:
            return queryset
        ids, frontier = {value.pk}, {value.pk}
        while frontier:  # the category and its sub-categories
            frontier = set(ProductCategory.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)) - ids
            ids |= frontier
        return queryset.filter(category_id__in=ids)


class PriceBookFilterSet(OwnerlessFilterSet):
    entity_key = "commerce.price_book"
    search_fields = ("name", "description")

    currency = django_filters.CharFilter(lookup_expr="iexact", label=_("Currency"))
    channel = django_filters.ChoiceFilter(choices=Channel.choices, label=_("Channel"))
    tier = django_filters.ChoiceFilter(choices=Tier.choices, label=_("Customer tier"))
    region = django_filters.ModelChoiceFilter(
        queryset=lambda r: OrgUnit.objects.order_by("path"), label=_("Region"), widget=forms.Select(attrs=SELECT)
    )
    is_active = django_filters.BooleanFilter(label=_("Active"))
    is_default = django_filters.BooleanFilter(label=_("Default"))

    class Meta:
        model = PriceBook
        fields = []


class _DocumentFilterSet(EntityFilterSet):
    """What quotes and orders share: customer, product, currency, amount."""

    line_model = None
    account = django_filters.NumberFilter(
        field_name="account_id",
        label=_("Customer"),
        widget=RemoteSelect(reverse_lazy("customers:account_options"), None),
    )
    contact = django_filters.NumberFilter(field_name="contact_id", label=_("Contact"), widget=forms.HiddenInput)
    opportunity = django_filters.NumberFilter(
        field_name="opportunity_id", label=_("Opportunity"), widget=forms.HiddenInput
    )
    product = django_filters.NumberFilter(
        method="filter_product",
        label=_("Product"),
        widget=RemoteSelect(reverse_lazy("commerce:product_options"), Product),
    )
    currency = django_filters.CharFilter(lookup_expr="iexact", label=_("Currency"))
    total_min = django_filters.NumberFilter(field_name="total", lookup_expr="gte", label=_("Total ≥"))
    total_max = django_filters.NumberFilter(field_name="total", lookup_expr="lte", label=_("Total ≤"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from guanxi.customers.models import Account

        user = getattr(self.request, "user", None)
        for name, model in (("account", Account), ("product", Product)):
            if name in self.filters:
                widget = self.filters[name].extra.get("widget")
                if isinstance(widget, RemoteSelect):
                    widget = RemoteSelect(widget.attrs["data-gx-select-url"], model)
                    widget.user = user if getattr(user, "is_authenticated", False) else None
                    self.filters[name].extra["widget"] = widget

    def filter_product(self, queryset, name, value):
        """Documents with a line of this product."""
        if value in (None, ""):
            return queryset
        parent = "quote_id" if self.line_model is QuoteLine else "order_id"
        return queryset.filter(pk__in=self.line_model.objects.filter(product_id=value).values(parent))

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        parent = "quote_id" if self.line_model is QuoteLine else "order_id"
        with_line = self.line_model.objects.filter(
            Q(sku__icontains=value) | Q(description__icontains=value) | Q(product__name__icontains=value)
        ).values(parent)
        return queryset.filter(
            Q(number__icontains=value)
            | Q(account__name__icontains=value)
            | Q(pk__in=with_line)  # a product on a line, by SKU or name
            | self.extra_search(value)
        )

    def extra_search(self, value) -> Q:
        return Q()


class QuoteFilterSet(_DocumentFilterSet):
    entity_key = "commerce.quote"
    line_model = QuoteLine

    status = django_filters.MultipleChoiceFilter(
        choices=QuoteStatus.choices, label=_("Status"), widget=forms.SelectMultiple(attrs=SELECT)
    )
    channel = django_filters.ChoiceFilter(choices=Channel.choices, label=_("Channel"))
    date_from = django_filters.DateFilter(
        field_name="quote_date", lookup_expr="gte", label=_("Date from"), widget=forms.DateInput(attrs=DATE)
    )
    date_to = django_filters.DateFilter(
        field_name="quote_date", lookup_expr="lte", label=_("Date until"), widget=forms.DateInput(attrs=DATE)
    )
    valid_until_before = django_filters.DateFilter(
        field_name="valid_until", lookup_expr="lte", label=_("Valid until ≤"), widget=forms.DateInput(attrs=DATE)
    )
    latest = django_filters.BooleanFilter(method="filter_latest", label=_("Latest versions only"))

    class Meta:
        model = Quote
        fields = []

    def extra_search(self, value) -> Q:
        return Q(title__icontains=value)

    def filter_latest(self, queryset, name, value):
        return queryset.exclude(status=QuoteStatus.SUPERSEDED) if value else queryset


class OrderFilterSet(_DocumentFilterSet):
    entity_key = "commerce.order"
    line_model = OrderLine

    status = django_filters.MultipleChoiceFilter(
        choices=OrderStatus.choices, label=_("Status"), widget=forms.SelectMultiple(attrs=SELECT)
    )
    channel = django_filters.ChoiceFilter(choices=Channel.choices, label=_("Sales channel"))
    date_from = django_filters.DateFilter(
        field_name="order_date", lookup_expr="gte", label=_("Ordered from"), widget=forms.DateInput(attrs=DATE)
    )
    date_to = django_filters.DateFilter(
        field_name="order_date", lookup_expr="lte", label=_("Ordered until"), widget=forms.DateInput(attrs=DATE)
    )
    quote = django_filters.NumberFilter(field_name="quote_id", label=_("Quote"), widget=forms.HiddenInput)

    class Meta:
        model = Order
        fields = []

    def extra_search(self, value) -> Q:
        return Q(tracking_number__icontains=value)
