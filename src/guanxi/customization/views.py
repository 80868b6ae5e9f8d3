"""Customisation settings (tenant administrators): custom fields per record type, tags."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.org.forms import add_service_errors
from guanxi.org.views import admin_required
from guanxi.platform import registry

from . import services
from .forms import CHOICE_TYPES, NUMBER_TYPES, TEXT_TYPES, CustomFieldForm, TagForm
from .models import CustomFieldDefinition, Tag


def custom_field_entities() -> list[registry.Entity]:
    return [e for e in registry.entities() if e.custom_fields]


def _entity_or_404(key: str) -> registry.Entity:
    entity = next((e for e in custom_field_entities() if e.key == key), None)
    if entity is None:
        raise Http404
    return entity


def _list_url(entity_key: str) -> str:
    return f"{reverse('customization:custom_fields')}?entity={entity_key}"


# --- custom fields -----------------------------------------------------------------------------


@admin_required
def custom_fields(request):
    entities = custom_field_entities()
    if not entities:
        raise Http404
    entity = _entity_or_404(request.GET.get("entity") or entities[0].key)
    definitions = list(CustomFieldDefinition.objects.filter(entity=entity.key).order_by("position", "id"))
    return render(
        request,
        "customization/custom_fields.html",
        {"entities": entities, "entity": entity, "definitions": definitions},
    )


@admin_required
def custom_field_create(request, entity):
    entity = _entity_or_404(entity)
    definition = CustomFieldDefinition(entity=entity.key, position=services.custom_field_next_position(entity.key))
    return _custom_field_form(request, entity, definition)


@admin_required
def custom_field_edit(request, pk):
    definition = get_object_or_404(CustomFieldDefinition, pk=pk)
    return _custom_field_form(request, _entity_or_404(definition.entity), definition)


def _custom_field_form(request, entity, definition):
    form = CustomFieldForm(request.POST or None, instance=definition, entity_key=entity.key)
    if request.method == "POST" and form.is_valid():
        try:
            services.custom_field_save(actor=request.user, definition=form.instance)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The field was saved."))
            return redirect(_list_url(entity.key))
    return render(
        request,
        "customization/custom_field_form.html",
        {
            "form": form,
            "entity": entity,
            "definition": definition,
            "choice_types": list(CHOICE_TYPES),
            "number_types": list(NUMBER_TYPES),
            "text_types": list(TEXT_TYPES),
        },
    )


@admin_required
@require_POST
def custom_field_toggle(request, pk):
    """Deactivate (values kept, field hidden everywhere) or reactivate a field."""
    definition = get_object_or_404(CustomFieldDefinition, pk=pk)
    definition.is_active = not definition.is_active
    try:
        services.custom_field_save(actor=request.user, definition=definition)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        _toggled_message(request, definition)
    return redirect(_list_url(definition.entity))


def _toggled_message(request, definition):
    if definition.is_active:
        messages.success(request, _("The field “%(f)s” is active again.") % {"f": definition.label})
    else:
        messages.success(
            request, _("The field “%(f)s” was deactivated; its values are kept.") % {"f": definition.label}
        )


@admin_required
@require_POST
def custom_field_move(request, pk):
    definition = get_object_or_404(CustomFieldDefinition, pk=pk)
    offset = -1 if request.POST.get("direction") == "up" else 1
    services.custom_field_move(actor=request.user, definition=definition, offset=offset)
    return redirect(_list_url(definition.entity))


# --- tags --------------------------------------------------------------------------------------


@admin_required
def tags(request):
    counts = services.tag_usage_counts()
    rows = [(tag, counts.get(tag.pk, 0)) for tag in Tag.objects.order_by("name")]
    return render(request, "customization/tags.html", {"rows": rows})


@admin_required
def tag_create(request):
    return _tag_form(request, Tag())


@admin_required
def tag_edit(request, pk):
    return _tag_form(request, get_object_or_404(Tag, pk=pk))


def _tag_form(request, tag):
    form = TagForm(request.POST or None, instance=tag)
    if request.method == "POST" and form.is_valid():
        try:
            services.tag_save(actor=request.user, tag=form.instance)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The tag was saved."))
            return redirect("customization:tags")
    return render(request, "customization/tag_form.html", {"form": form, "tag": tag})


@admin_required
@require_POST
def tag_delete(request, pk):
    tag = get_object_or_404(Tag, pk=pk)
    services.tag_delete(actor=request.user, tag=tag)
    messages.success(request, _("The tag was deleted."))
    return redirect("customization:tags")
