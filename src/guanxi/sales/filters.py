import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Industry, Source
from guanxi.customers.selectors import number_digits
from guanxi.org.models import BusinessLine, OrgUnit, Team
from guanxi.platform.filters import EntityFilterSet

from .models import Competitor, ForecastCategory, Lead, Opportunity, Pipeline, Stage

SELECT = {"data-gx-select": ""}


def _region_filter():
    return django_filters.ModelChoiceFilter(
        queryset=lambda r: OrgUnit.objects.order_by("path"),
        method="filter_region",
        label=_("Region"),
        widget=forms.Select(attrs=SELECT),
    )


class LeadFilterSet(EntityFilterSet):
    entity_key = "sales.lead"

    status = django_filters.MultipleChoiceFilter(
        choices=Lead.Status.choices, label=_("Status"), widget=forms.SelectMultiple(attrs=SELECT)
    )
    source = django_filters.MultipleChoiceFilter(
        choices=Source.choices, label=_("Source"), widget=forms.SelectMultiple(attrs=SELECT)
    )
    campaign = django_filters.CharFilter(lookup_expr="icontains", label=_("Campaign"))
    industry = django_filters.MultipleChoiceFilter(
        choices=Industry.choices, label=_("Industry"), widget=forms.SelectMultiple(attrs=SELECT)
    )
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte", label=_("Score ≥"))
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte", label=_("Score ≤"))
    region = _region_filter()
    business_line = django_filters.ModelChoiceFilter(
        queryset=lambda r: BusinessLine.objects.all(), label=_("Business line")
    )
    city = django_filters.CharFilter(lookup_expr="icontains", label=_("City"))
    web_form = django_filters.NumberFilter(field_name="web_form_id", label=_("Web form"), widget=forms.HiddenInput)

    class Meta:
        model = Lead
        fields = []

    def filter_region(self, queryset, name, value):
        return queryset.filter(region__path__startswith=value.path) if value else queryset

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        digits = number_digits(value)
        conditions = {
            "full_name": Q(full_name__icontains=value),
            "company": Q(company__icontains=value),
            "email": Q(email__icontains=value.lower()),
            "phone": Q(phone__contains=digits) if len(digits) >= 3 else None,
        }
        q = Q()
        for field, condition in conditions.items():
            # A field hidden from the user is not searched: finding a lead by it would reveal it.
            if condition is not None and field not in self.hidden_fields:
                q |= condition
        return queryset.filter(q) if q else queryset.none()


class OpportunityFilterSet(EntityFilterSet):
    entity_key = "sales.opportunity"

    status = django_filters.MultipleChoiceFilter(
        choices=Opportunity.Status.choices, label=_("Status"), widget=forms.SelectMultiple(attrs=SELECT)
    )
    pipeline = django_filters.ModelChoiceFilter(queryset=lambda r: Pipeline.objects.all(), label=_("Pipeline"))
    stage = django_filters.ModelMultipleChoiceFilter(
        queryset=lambda r: Stage.objects.select_related("pipeline").order_by("pipeline__name", "position"),
        label=_("Stage"),
        widget=forms.SelectMultiple(attrs=SELECT),
    )
    account = django_filters.NumberFilter(field_name="account_id", label=_("Account"), widget=forms.HiddenInput)
    forecast_category = django_filters.MultipleChoiceFilter(
        choices=ForecastCategory.choices, label=_("Forecast category"), widget=forms.SelectMultiple(attrs=SELECT)
    )
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte", label=_("Amount ≥"))
    amount_max = django_filters.NumberFilter(field_name="amount", lookup_expr="lte", label=_("Amount ≤"))
    close_after = django_filters.DateFilter(
        field_name="expected_close_date",
        lookup_expr="gte",
        label=_("Expected close from"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    close_before = django_filters.DateFilter(
        field_name="expected_close_date",
        lookup_expr="lte",
        label=_("Expected close until"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    team = django_filters.ModelChoiceFilter(queryset=lambda r: Team.objects.all(), label=_("Team"))
    business_line = django_filters.ModelChoiceFilter(
        queryset=lambda r: BusinessLine.objects.all(), label=_("Business line")
    )
    region = _region_filter()
    is_key_account = django_filters.BooleanFilter(label=_("Key account deal"))
    currency = django_filters.CharFilter(lookup_expr="iexact", label=_("Currency"))

    class Meta:
        model = Opportunity
        fields = []

    def filter_region(self, queryset, name, value):
        return queryset.filter(region__path__startswith=value.path) if value else queryset

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(account__name__icontains=value))


class CompetitorFilterSet(EntityFilterSet):
    entity_key = "sales.competitor"
    search_fields = ("name", "main_markets")

    status = django_filters.ChoiceFilter(choices=Competitor.Status.choices, label=_("Status"))

    class Meta:
        model = Competitor
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters.pop("owner", None)  # competitors have no owner
