import django_filters
from django import forms
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from guanxi.access import permissions
from guanxi.org.selectors import member_users
from guanxi.platform import registry
from guanxi.platform.pagination import InvalidCursor, paginate
from guanxi.platform.registry import Action

from . import selectors
from .models import AuditAction


@login_required
def history(request, content_type_id, object_id):
    """The History tab of a record: who changed what, when (only for people who can see the record)."""
    ct = ContentType.objects.filter(pk=content_type_id).first()
    model = ct.model_class() if ct else None
    entity = registry.entity_for_model(model) if model else None
    if entity is None:
        raise Http404
    obj = permissions.get_for(request.user, model._default_manager.all(), object_id)
    access = permissions.field_access(request.user, entity.key)
    labels = selectors.field_labels(model)
    entries = []
    for entry in selectors.history_for(obj):
        changes = [
            (labels.get(name) or gettext(name), before, after)
            for name, (before, after) in selectors.ordered_changes(entry.changes)
            if access.can_see(name)
        ]
        entries.append((entry, changes))
    return render(request, "audit/_history.html", {"entries": entries})


class AuditFilterSet(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=AuditAction.choices, label=_("Action"))
    actor = django_filters.ModelChoiceFilter(
        queryset=lambda request: member_users(active_only=False),
        label=_("By"),
        widget=forms.Select(attrs={"data-gx-select": ""}),
    )
    record_type = django_filters.ChoiceFilter(method="filter_record_type", label=_("Record type"), choices=[])
    object_repr = django_filters.CharFilter(lookup_expr="icontains", label=pgettext_lazy("audited record", "Record"))
    ip = django_filters.CharFilter(label=_("IP address"))
    since = django_filters.DateFilter(
        field_name="at", lookup_expr="date__gte", label=_("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    until = django_filters.DateFilter(
        field_name="at", lookup_expr="date__lte", label=_("Until"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["record_type"].extra["choices"] = [
            (e.key, str(e.label_plural).capitalize()) for e in registry.entities()
        ]

    def filter_record_type(self, queryset, name, value):
        model = registry.entity(value).model
        return queryset.filter(content_type=ContentType.objects.get_for_model(model))


@login_required
def audit_log(request):
    """The tenant's audit log (administrators, or roles with view on "audit")."""
    if not permissions.has_action(request.user, "audit", Action.VIEW):
        raise PermissionDenied
    filterset = AuditFilterSet(request.GET, queryset=selectors.audit_log_queryset(), request=request)
    qs = filterset.qs if filterset.is_valid() else selectors.audit_log_queryset().none()
    try:
        page = paginate(qs, sort="-at", cursor=request.GET.get("cursor"), limit=50)
    except InvalidCursor:
        page = paginate(qs, sort="-at", limit=50)
    params = request.GET.copy()
    params.pop("cursor", None)

    def link(cursor):
        q = params.copy()
        q["cursor"] = cursor
        return "?" + q.urlencode()

    context = {
        "filterset": filterset,
        "page": page,
        "entries": selectors.with_change_rows(page.items),
        "next_url": link(page.next_cursor) if page.has_next else None,
        "prev_url": link(page.prev_cursor) if page.has_prev else None,
    }
    if request.htmx and request.htmx.target == "gx-audit-results":
        return render(request, "audit/_log_results.html", context)
    return render(request, "audit/log.html", context)
