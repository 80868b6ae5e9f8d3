"""Access settings (roles, sharing rules, restricted fields) and the record sharing panel.

The settings pages are for tenant administrators. The sharing panel is for anyone who may
edit the record it is about: detail pages load it with htmx, e.g.
``<div hx-get="{% url 'access:record_shares' ct_id obj.pk %}" hx-trigger="load"></div>``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.org.forms import add_service_errors
from guanxi.org.views import admin_required
from guanxi.platform import registry
from guanxi.platform.registry import Action

from . import permissions, services
from .forms import MATRIX_SCOPE_CHOICES, FieldRestrictionForm, RoleForm, ShareForm, SharingRuleForm, entity_choices
from .models import SCOPE_CHOICES, RecordShare, Role, SharingRule

# --- roles -------------------------------------------------------------------------------------


@admin_required
def roles(request):
    return render(request, "access/roles.html", {"roles": services.roles_with_counts()})


@admin_required
def role_create(request):
    return _role_form(request, Role())


@admin_required
def role_edit(request, pk):
    return _role_form(request, get_object_or_404(Role, pk=pk))


def _role_form(request, role: Role):
    form = RoleForm(request.POST or None, instance=role, grants=services.role_grants(role))
    if request.method == "POST" and form.is_valid():
        try:
            services.role_save(actor=request.user, role=form.instance, grants=form.grants())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The role was saved."))
            return redirect("access:roles")
    legend = [(dict(MATRIX_SCOPE_CHOICES)[scope], label) for scope, label in SCOPE_CHOICES]
    return render(request, "access/role_form.html", {"form": form, "role": role, "scope_legend": legend})


@admin_required
@require_POST
def role_delete(request, pk):
    role = get_object_or_404(Role, pk=pk)
    try:
        services.role_delete(actor=request.user, role=role)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The role was deleted."))
    return redirect("access:roles")


# --- sharing rules -----------------------------------------------------------------------------


@admin_required
def sharing_rules(request):
    labels = dict(entity_choices())
    rules = list(services.sharing_rules_list())
    for rule in rules:
        rule.module_label = labels.get(rule.module, rule.module)
    return render(request, "access/sharing_rules.html", {"rules": rules})


@admin_required
def sharing_rule_create(request):
    return _sharing_rule_form(request, SharingRule())


@admin_required
def sharing_rule_edit(request, pk):
    return _sharing_rule_form(request, get_object_or_404(SharingRule, pk=pk))


def _sharing_rule_form(request, rule: SharingRule):
    form = SharingRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        try:
            services.sharing_rule_save(actor=request.user, rule=form.instance)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The sharing rule was saved."))
            return redirect("access:sharing_rules")
    return render(request, "access/sharing_rule_form.html", {"form": form, "rule": rule})


@admin_required
@require_POST
def sharing_rule_delete(request, pk):
    rule = get_object_or_404(SharingRule, pk=pk)
    services.sharing_rule_delete(actor=request.user, rule=rule)
    messages.success(request, _("The sharing rule was deleted."))
    return redirect("access:sharing_rules")


# --- restricted fields -------------------------------------------------------------------------


def _entity_or_404(key: str) -> registry.Entity:
    try:
        return registry.entity(key)
    except KeyError:
        raise Http404


@admin_required
def restricted_fields(request):
    choices = entity_choices()
    if not choices:
        raise Http404
    key = request.GET.get("entity") or choices[0][0]
    entity = _entity_or_404(key)
    restrictions = services.field_restrictions(entity.key)
    roles = {r.pk: r for r in Role.objects.order_by("name")}
    rows = []
    for name, label in services.restrictable_fields(entity.key):
        grants = restrictions.get(name)
        rows.append(
            {
                "name": name,
                "label": label,
                "restricted": grants is not None,
                "see": [roles[r] for r, edit in (grants or {}).items() if not edit and r in roles],
                "edit": [roles[r] for r, edit in (grants or {}).items() if edit and r in roles],
            }
        )
    return render(
        request,
        "access/restricted_fields.html",
        {"entities": choices, "entity": entity, "rows": rows},
    )


@admin_required
def restricted_field_edit(request, module, field_name):
    entity = _entity_or_404(module)
    labels = dict(services.restrictable_fields(entity.key))
    if field_name not in labels:
        raise Http404
    roles = list(Role.objects.order_by("name"))
    form = FieldRestrictionForm(
        request.POST or None, roles=roles, grants=services.field_restrictions(entity.key).get(field_name)
    )
    if request.method == "POST" and form.is_valid():
        services.field_restriction_set(
            actor=request.user, module=entity.key, field_name=field_name, grants=form.grants()
        )
        messages.success(request, _("The field access was saved."))
        return redirect(f"{reverse('access:restricted_fields')}?entity={entity.key}")
    return render(
        request,
        "access/restricted_field_form.html",
        {"form": form, "entity": entity, "field_name": field_name, "field_label": labels[field_name]},
    )


# --- the record sharing panel ------------------------------------------------------------------


def _shared_record(request, content_type_id: int, object_id: int):
    """The record behind (content type, id) if it is a registered entity the user may edit, else 404."""
    if getattr(request, "tenant", None) is None:
        raise Http404
    try:
        content_type = ContentType.objects.get_for_id(content_type_id)
    except ContentType.DoesNotExist:
        raise Http404
    model = content_type.model_class()
    if model is None or registry.entity_for_model(model) is None:
        raise Http404
    return content_type, permissions.get_for(request.user, model, object_id, Action.EDIT)


def _panel(request, content_type, obj, form=None):
    if form is None:
        entity = registry.entity_for_model(type(obj))
        owner_id = getattr(obj, f"{entity.owner_field}_id") if entity.owner_field else None
        form = ShareForm(exclude_user_ids={owner_id})  # the owner has access already
    return render(
        request,
        "access/_share_panel.html",
        {
            "content_type": content_type,
            "obj": obj,
            "shares": services.record_shares(obj),
            "form": form,
        },
    )


@login_required
def record_shares(request, content_type_id, object_id):
    """GET: the sharing panel of a record. POST: share it with a person, team or unit."""
    content_type, obj = _shared_record(request, content_type_id, object_id)
    if request.method == "POST":
        form = ShareForm(request.POST)
        if form.is_valid():
            try:
                services.record_share_set(
                    actor=request.user, obj=obj, access=form.cleaned_data["access"], **form.grantee_kwargs()
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return _panel(request, content_type, obj)
        return _panel(request, content_type, obj, form)  # with the errors, shown in the panel
    return _panel(request, content_type, obj)


@login_required
@require_POST
def record_share_delete(request, content_type_id, object_id, share_id):
    content_type, obj = _shared_record(request, content_type_id, object_id)
    share = get_object_or_404(RecordShare, pk=share_id, content_type=content_type, object_id=obj.pk)
    services.record_share_delete(actor=request.user, share=share)
    return _panel(request, content_type, obj)
