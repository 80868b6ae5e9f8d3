"""List filters of contracts, invoices, payments, commissions and expenses (list pages and API query parameters)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.org.models import BusinessLine
from guanxi.platform.filters import EntityFilterSet

from .models import (
    CommissionBasis,
    CommissionEntry,
    CommissionEntryKind,
    CommissionPeriod,
    CommissionPlan,
    CommissionStatement,
    CommissionStatementStatus,
    Contract,
    ContractStatus,
    Expense,
    ExpenseCategory,
    ExpenseStatus,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
)

SELECT = {"data-gx-select": ""}
DATE = {"type": "date"}


def _date(field_name: str, lookup: str, label):
    return django_filters.DateFilter(
        field_name=field_name, lookup_expr=lookup, label=label, widget=forms.DateInput(attrs=DATE)
    )


class _RepFilter(EntityFilterSet):
    """Commission records belong to their rep: "owner" filters the rep."""

    def filter_owner(self, queryset, name, value):
        if value == "me" and self.request is not None:
            return queryset.filter(rep_id=self.request.user.pk)
        try:
            return queryset.filter(rep_id=int(value))
        except (TypeError, ValueError):
            return queryset.none()


class ContractFilterSet(EntityFilterSet):
    entity_key = "finance.contract"

    status = django_filters.MultipleChoiceFilter(
        choices=ContractStatus.choices, label=_("Status"), widget=forms.SelectMultiple(attrs=SELECT)
    )
    account = django_filters.NumberFilter(field_name="account_id", label=_("Account"), widget=forms.HiddenInput)
    opportunity = django_filters.NumberFilter(
        field_name="opportunity_id", label=_("Opportunity"), widget=forms.HiddenInput
    )
    business_line = django_filters.ModelChoiceFilter(
        queryset=lambda r: BusinessLine.objects.all(), label=_("Business line")
    )
    currency = django_filters.CharFilter(label=_("Currency"), method="filter_currency")
    ends_after = _date("end_date", "gte", _("Ends from"))
    ends_before = _date("end_date", "lte", _("Ends until"))
    starts_after = _date("start_date", "gte", _("Starts from"))
    value_min = django_filters.NumberFilter(field_name="value", lookup_expr="gte", label=_("Value ≥"))
    value_max = django_filters.NumberFilter(field_name="value", lookup_expr="lte", label=_("Value ≤"))

    class Meta:
        model = Contract
        fields = []

    def filter_currency(self, queryset, name, value):
        return queryset.filter(currency=value.strip().upper()) if value.strip() else queryset

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__icontains=value) | Q(title__icontains=value) | Q(account__name__icontains=value)
        )


class InvoiceFilterSet(EntityFilterSet):
    entity_key = "finance.invoice"

    status = django_filters.MultipleChoiceFilter(
        choices=InvoiceStatus.choices, label=_("Status"), widget=forms.SelectMultiple(attrs=SELECT)
    )
    account = django_filters.NumberFilter(field_name="account_id", label=_("Account"), widget=forms.HiddenInput)
    contract = django_filters.NumberFilter(field_name="contract_id", label=_("Contract"), widget=forms.HiddenInput)
    order = django_filters.NumberFilter(field_name="order_id", label=_("Order"), widget=forms.HiddenInput)
    currency = django_filters.CharFilter(label=_("Currency"), method="filter_currency")
    issued_after = _date("invoice_date", "gte", _("Invoice date from"))
    issued_before = _date("invoice_date", "lte", _("Invoice date until"))
    due_before = _date("due_date", "lte", _("Due until"))
    unpaid = django_filters.BooleanFilter(method="filter_unpaid", label=_("Open balance"))
    total_min = django_filters.NumberFilter(field_name="total", lookup_expr="gte", label=_("Total ≥"))

    class Meta:
        model = Invoice
        fields = []

    def filter_currency(self, queryset, name, value):
        return queryset.filter(currency=value.strip().upper()) if value.strip() else queryset

    def filter_unpaid(self, queryset, name, value):
        if value is None:
            return queryset
        open_ = Q(status__in=(InvoiceStatus.ISSUED, InvoiceStatus.PARTLY_PAID, InvoiceStatus.OVERDUE))
        return queryset.filter(open_) if value else queryset.exclude(open_)

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__icontains=value) | Q(title__icontains=value) | Q(account__name__icontains=value)
        )


class PaymentFilterSet(EntityFilterSet):
    entity_key = "finance.payment"

    invoice = django_filters.NumberFilter(field_name="invoice_id", label=_("Invoice"), widget=forms.HiddenInput)
    method = django_filters.ChoiceFilter(choices=PaymentMethod.choices, label=_("Method"))
    date_after = _date("date", "gte", _("Received from"))
    date_before = _date("date", "lte", _("Received until"))
    currency = django_filters.CharFilter(label=_("Currency"), method="filter_currency")

    class Meta:
        model = Payment
        fields = []

    def filter_currency(self, queryset, name, value):
        return queryset.filter(currency=value.strip().upper()) if value.strip() else queryset

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(reference__icontains=value)
            | Q(invoice__number__icontains=value)
            | Q(invoice__account__name__icontains=value)
        )


class CommissionPlanFilterSet(EntityFilterSet):
    entity_key = "finance.commission_plan"
    search_fields = ("name",)

    basis = django_filters.ChoiceFilter(choices=CommissionBasis.choices, label=_("Accrued"))
    period = django_filters.ChoiceFilter(choices=CommissionPeriod.choices, label=_("Attainment period"))
    is_active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = CommissionPlan
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters.pop("owner", None)


class CommissionEntryFilterSet(_RepFilter):
    entity_key = "finance.commission_entry"
    search_fields = ("description", "source_key")

    kind = django_filters.ChoiceFilter(choices=CommissionEntryKind.choices, label=_("Kind"))
    plan = django_filters.ModelChoiceFilter(
        queryset=lambda r: CommissionPlan.objects.all(), label=pgettext_lazy("commission plan", "Plan")
    )
    date_after = _date("date", "gte", _("From"))
    date_before = _date("date", "lte", _("Until"))
    locked = django_filters.BooleanFilter(field_name="statement", lookup_expr="isnull", exclude=True, label=_("Locked"))
    statement = django_filters.NumberFilter(field_name="statement_id", label=_("Statement"), widget=forms.HiddenInput)
    currency = django_filters.CharFilter(label=_("Currency"), method="filter_currency")

    class Meta:
        model = CommissionEntry
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["owner"].label = _("Rep")

    def filter_currency(self, queryset, name, value):
        return queryset.filter(currency=value.strip().upper()) if value.strip() else queryset


class CommissionStatementFilterSet(_RepFilter):
    entity_key = "finance.commission_statement"

    status = django_filters.ChoiceFilter(choices=CommissionStatementStatus.choices, label=_("Status"))
    period_kind = django_filters.ChoiceFilter(choices=CommissionPeriod.choices, label=_("Period"))
    period_after = _date("period_start", "gte", _("From"))
    period_before = _date("period_start", "lte", _("Until"))

    class Meta:
        model = CommissionStatement
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["owner"].label = _("Rep")

    def filter_search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(rep__full_name__icontains=value) | Q(notes__icontains=value)) if value else queryset


class ExpenseFilterSet(EntityFilterSet):
    entity_key = "finance.expense"
    search_fields = ("description",)

    status = django_filters.MultipleChoiceFilter(
        choices=ExpenseStatus.choices, label=_("Status"), widget=forms.SelectMultiple(attrs=SELECT)
    )
    category = django_filters.MultipleChoiceFilter(
        choices=ExpenseCategory.choices, label=_("Category"), widget=forms.SelectMultiple(attrs=SELECT)
    )
    account = django_filters.NumberFilter(field_name="account_id", label=_("Account"), widget=forms.HiddenInput)
    opportunity = django_filters.NumberFilter(
        field_name="opportunity_id", label=_("Opportunity"), widget=forms.HiddenInput
    )
    date_after = _date("date", "gte", _("From"))
    date_before = _date("date", "lte", _("Until"))
    currency = django_filters.CharFilter(label=_("Currency"), method="filter_currency")

    class Meta:
        model = Expense
        fields = []

    def filter_currency(self, queryset, name, value):
        return queryset.filter(currency=value.strip().upper()) if value.strip() else queryset
