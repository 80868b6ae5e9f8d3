"""Filters of the activity list and the activity API (one FilterSet for both)."""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.platform.filters import EntityFilterSet

from .models import Activity, ActivityParticipant

DATE = forms.DateInput(attrs={"type": "date"})
YES = [("1", _("Yes"))]


def _midnight(day: datetime.date) -> datetime.datetime:
    """Midnight of ``day`` in the user's (current) time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class ActivityFilterSet(EntityFilterSet):
    entity_key = "activities.activity"
    search_fields = ("subject", "body", "next_step")

    kind = django_filters.ChoiceFilter(choices=Activity.Kind.choices, label=_("Type"))
    status = django_filters.ChoiceFilter(choices=Activity.Status.choices, label=_("Status"))
    date_from = django_filters.DateFilter(method="filter_date_from", label=_("From"), widget=DATE)
    date_to = django_filters.DateFilter(method="filter_date_to", label=_("Until"), widget=DATE)
    due_after = django_filters.IsoDateTimeFilter(
        field_name="starts_at", lookup_expr="gte", label=_("Due from"), widget=forms.HiddenInput
    )
    due_before = django_filters.IsoDateTimeFilter(
        field_name="starts_at", lookup_expr="lt", label=_("Due before"), widget=forms.HiddenInput
    )
    mine = django_filters.ChoiceFilter(
        choices=YES, method="filter_mine", label=_("Mine (owner or taking part)"), empty_label=_("Anyone's")
    )
    overdue = django_filters.ChoiceFilter(choices=YES, method="filter_overdue", label=_("Overdue"), empty_label="—")
    account = django_filters.NumberFilter(field_name="account_id", label=_("Account"), widget=forms.HiddenInput)
    contact = django_filters.NumberFilter(field_name="contact_id", label=_("Contact"), widget=forms.HiddenInput)

    class Meta:
        model = Activity
        fields = []

    def filter_date_from(self, queryset, name, value):
        return queryset.filter(starts_at__gte=_midnight(value)) if value else queryset

    def filter_date_to(self, queryset, name, value):
        return queryset.filter(starts_at__lt=_midnight(value + datetime.timedelta(days=1))) if value else queryset

    def filter_mine(self, queryset, name, value):
        if not value or self.request is None:
            return queryset
        user = self.request.user
        return queryset.filter(
            Q(owner=user) | Q(pk__in=ActivityParticipant.objects.filter(user=user).values("activity_id"))
        )

    def filter_overdue(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(status=Activity.Status.PLANNED, starts_at__lt=timezone.now())
