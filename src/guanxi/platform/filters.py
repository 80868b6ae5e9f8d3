"""List filters shared by list pages, the API and exports (django-filter FilterSets).

``EntityFilterSet`` adds what every entity list offers — free-text search, owner ("me"
included), tags, created range — plus one filter per filterable custom field of the tenant,
and drops filters on fields the user may not see (a filter on a hidden field would leak it);
the free-text search leaves those fields out too (``hidden_fields``).
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from guanxi.access import permissions
from guanxi.customization import services as custom
from guanxi.customization.models import FieldType, Tag

from . import registry


def owner_choices():
    from guanxi.org.selectors import member_user_choices

    return [("me", _("Me")), *[(str(pk), name) for pk, name in member_user_choices(active_only=False)]]


class EntityFilterSet(django_filters.FilterSet):
    entity_key: str = ""
    search_fields: tuple[str, ...] = ()  # icontains, OR-ed; override filter_search for more

    q = django_filters.CharFilter(method="filter_search", label=_("Search"))
    owner = django_filters.ChoiceFilter(
        method="filter_owner",
        label=_("Owner"),
        choices=owner_choices,
        widget=forms.Select(attrs={"data-gx-select": ""}),
    )
    tag = django_filters.ModelMultipleChoiceFilter(
        field_name="tags",
        queryset=lambda request: Tag.objects.all(),
        label=_("Tags"),
        widget=forms.SelectMultiple(attrs={"data-gx-select": ""}),
    )
    created_after = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__gte",
        label=_("Created from"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    created_before = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__lte",
        label=_("Created until"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        entity = registry.entity(self.entity_key)
        if not entity.tags:
            self.filters.pop("tag", None)
        self.custom_definitions = []
        if entity.custom_fields:
            for definition in custom.definitions_for(self.entity_key):
                if definition.filterable:
                    self._add_custom_filters(definition)
        self.hidden_fields: frozenset[str] = frozenset()  # fields the user may not see (search them neither)
        if request is not None and request.user.is_authenticated:
            hidden = self.hidden_fields = permissions.field_access(request.user, self.entity_key).hidden
            for name in list(self.filters):
                base = self.filters[name].field_name or name
                if base in hidden or (name.startswith("cf_") and f"custom.{self._cf_key(name)}" in hidden):
                    self.filters.pop(name)

    @staticmethod
    def _cf_key(name: str) -> str:
        key = name[3:]
        for suffix in ("_min", "_max"):
            if key.endswith(suffix):
                return key[: -len(suffix)]
        return key

    def _add_custom_filters(self, definition) -> None:
        t = definition.field_type
        name = f"cf_{definition.key}"
        label = definition.label

        def method(lookup):
            def apply(qs, _name, value):
                if value in (None, "", []):
                    return qs
                return custom.filter_queryset(qs, definition, value, lookup)

            return apply

        if t in (FieldType.INTEGER, FieldType.DECIMAL):
            self.filters[f"{name}_min"] = django_filters.NumberFilter(method=method("gte"), label=f"{label} ≥")
            self.filters[f"{name}_max"] = django_filters.NumberFilter(method=method("lte"), label=f"{label} ≤")
        elif t in (FieldType.DATE, FieldType.DATETIME):
            widget = forms.DateInput(attrs={"type": "date"})
            self.filters[f"{name}_min"] = django_filters.CharFilter(
                method=method("gte"), label=f"{label} ≥", widget=widget
            )
            self.filters[f"{name}_max"] = django_filters.CharFilter(
                method=method("lte"), label=f"{label} ≤", widget=widget
            )
        elif t == FieldType.BOOLEAN:
            self.filters[name] = django_filters.ChoiceFilter(
                method=method("exact"), label=label, choices=[("true", _("Yes")), ("false", _("No"))]
            )
        elif t in (FieldType.CHOICE, FieldType.MULTI_CHOICE):
            self.filters[name] = django_filters.ChoiceFilter(
                method=method("exact"), label=label, choices=definition.choice_options()
            )
        elif t == FieldType.USER:
            from guanxi.org.selectors import member_user_choices

            self.filters[name] = django_filters.ChoiceFilter(
                method=method("exact"), label=label, choices=member_user_choices()
            )
        else:
            self.filters[name] = django_filters.CharFilter(method=method("contains"), label=label)
        self.custom_definitions.append(definition)

    def filter_owner(self, queryset, name, value):
        if value == "me" and self.request is not None:
            return queryset.filter(owner_id=self.request.user.pk)
        try:
            return queryset.filter(owner_id=int(value))
        except (TypeError, ValueError):
            return queryset.none()

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value or not self.search_fields:
            return queryset
        q = Q()
        for field in self.search_fields:
            if field not in self.hidden_fields:  # searching a hidden field would reveal it
                q |= Q(**{f"{field}__icontains": value})
        return queryset.filter(q) if q else queryset.none()

    @property
    def form(self):
        form = super().form
        if not getattr(form, "_gx_styled", False):
            for bound_field in form:
                widget = bound_field.field.widget
                css = (
                    "form-select form-select-sm" if isinstance(widget, forms.Select) else "form-control form-control-sm"
                )
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()
            form._gx_styled = True
        return form

    @property
    def active_filters(self) -> list[tuple[str, str]]:
        """(label, value) of the filters in use, for the chips above the list."""
        if not self.is_bound or not hasattr(self.form, "cleaned_data"):
            return []
        chips = []
        for name, value in self.form.cleaned_data.items():
            if name == "q" or not any(v.strip() for v in self.data.getlist(name) if isinstance(v, str)):
                continue
            label = self.filters[name].label if name in self.filters else name
            choices = dict(getattr(self.form.fields[name], "choices", None) or [])
            items = value if hasattr(value, "__iter__") and not isinstance(value, str) else [value]
            value = ", ".join(str(choices.get(v, choices.get(str(v), v))) for v in items)
            chips.append((name, gettext("%(label)s: %(value)s") % {"label": label, "value": value}))
        return chips
