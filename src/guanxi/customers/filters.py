import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.org.models import BusinessLine, OrgUnit
from guanxi.platform.filters import EntityFilterSet

from .models import Account, CompanySize, Contact, Industry, LifecycleStage, Rating, Source
from .selectors import name_contains, points_matching, searchable_point_kinds

SELECT = {"data-gx-select": ""}


class AccountFilterSet(EntityFilterSet):
    entity_key = "customers.account"

    kind = django_filters.ChoiceFilter(choices=Account.Kind.choices, label=_("Type"))
    lifecycle_stage = django_filters.MultipleChoiceFilter(
        choices=LifecycleStage.choices, label=_("Lifecycle stage"), widget=forms.SelectMultiple(attrs=SELECT)
    )
    industry = django_filters.MultipleChoiceFilter(
        choices=Industry.choices, label=_("Industry"), widget=forms.SelectMultiple(attrs=SELECT)
    )
    size = django_filters.ChoiceFilter(choices=CompanySize.choices, label=pgettext_lazy("company size", "Size"))
    rating = django_filters.MultipleChoiceFilter(
        choices=Rating.choices, label=_("Rating"), widget=forms.SelectMultiple(attrs=SELECT)
    )
    source = django_filters.ChoiceFilter(choices=Source.choices, label=_("Source"))
    region = django_filters.ModelChoiceFilter(
        queryset=lambda r: OrgUnit.objects.order_by("path"),
        method="filter_region",
        label=_("Region"),
        widget=forms.Select(attrs=SELECT),
    )
    business_line = django_filters.ModelChoiceFilter(
        queryset=lambda r: BusinessLine.objects.all(), label=_("Business line")
    )
    annual_revenue_min = django_filters.NumberFilter(
        field_name="annual_revenue", lookup_expr="gte", label=_("Annual revenue ≥")
    )
    annual_revenue_max = django_filters.NumberFilter(
        field_name="annual_revenue", lookup_expr="lte", label=_("Annual revenue ≤")
    )
    city = django_filters.CharFilter(lookup_expr="icontains", label=_("City"))

    class Meta:
        model = Account
        fields = []

    def filter_region(self, queryset, name, value):
        return queryset.filter(region__path__startswith=value.path) if value else queryset

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        points = points_matching(value, searchable_point_kinds(self.hidden_fields))
        return queryset.filter(
            name_contains(Account, "name", value) | Q(pk__in=points.filter(account__isnull=False).values("account_id"))
        )


class ContactFilterSet(EntityFilterSet):
    entity_key = "customers.contact"

    account = django_filters.NumberFilter(method="filter_account", label=_("Account"), widget=forms.HiddenInput)
    preferred_channel = django_filters.ChoiceFilter(choices=Contact.Channel.choices, label=_("Preferred channel"))
    consent_email = django_filters.BooleanFilter(label=_("Agrees to email"))
    consent_sms = django_filters.BooleanFilter(label=_("Agrees to SMS"))
    city = django_filters.CharFilter(lookup_expr="icontains", label=_("City"))
    birthday_month = django_filters.NumberFilter(field_name="birthday", lookup_expr="month", label=_("Birthday month"))

    class Meta:
        model = Contact
        fields = []

    def filter_account(self, queryset, name, value):
        return queryset.filter(Q(account_id=value) | Q(account_links__account_id=value)).distinct()

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        points = points_matching(value, searchable_point_kinds(self.hidden_fields))
        return queryset.filter(
            name_contains(Contact, "full_name", value)
            | Q(pk__in=points.filter(contact__isnull=False).values("contact_id"))
        )
