"""/api/v1/tags and /api/v1/custom-fields: read by every member, changed by tenant administrators."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status

from guanxi.access import permissions
from guanxi.platform import registry
from guanxi.platform.api import PageOut, list_page

from . import services
from .models import CustomFieldDefinition, FieldType, Tag

router = Router(tags=["customisation"])


def _require_admin(request) -> None:
    if not permissions.is_tenant_admin(request.user):
        raise PermissionDenied


# --- tags --------------------------------------------------------------------------------------


class TagOut(Schema):
    id: int
    name: str
    color: str


class TagPage(PageOut):
    items: list[TagOut]


class TagIn(Schema):
    name: str
    color: str = "#64748b"


class TagPatch(Schema):
    name: str | None = None
    color: str | None = None


class TagFilters(Schema):
    q: str | None = None
    cursor: str | None = None
    limit: int = 50


@router.get("/tags", response=TagPage, summary="Tags")
def tags(request, filters: Query[TagFilters]):
    qs = Tag.objects.all()
    if filters.q:
        qs = qs.filter(name__icontains=filters.q.strip())
    return list_page(
        qs, sort="name", allowed_sorts={"name"}, cursor=filters.cursor, limit=filters.limit, serialize=lambda t: t
    )


@router.post("/tags", response={201: TagOut}, summary="Create a tag (administrators)")
def tag_create(request, payload: TagIn):
    _require_admin(request)
    tag = services.tag_save(actor=request.user, tag=Tag(name=payload.name, color=payload.color))
    return Status(201, tag)


@router.get("/tags/{tag_id}", response=TagOut, summary="One tag")
def tag_detail(request, tag_id: int):
    return get_object_or_404(Tag, pk=tag_id)


@router.patch("/tags/{tag_id}", response=TagOut, summary="Rename or recolour a tag (administrators)")
def tag_update(request, tag_id: int, payload: TagPatch):
    tag = get_object_or_404(Tag, pk=tag_id)
    _require_admin(request)
    for name, value in payload.dict(exclude_unset=True).items():
        if value is None:
            raise ValidationError({name: _("This field cannot be empty.")})
        setattr(tag, name, value)
    return services.tag_save(actor=request.user, tag=tag)


@router.delete("/tags/{tag_id}", response={204: None}, summary="Delete a tag (administrators)")
def tag_delete(request, tag_id: int):
    tag = get_object_or_404(Tag, pk=tag_id)
    _require_admin(request)
    services.tag_delete(actor=request.user, tag=tag)
    return Status(204, None)


# --- custom field definitions ------------------------------------------------------------------


class ChoiceSchema(Schema):
    value: str
    label_en: str = ""
    label_zh: str = ""


class CustomFieldOut(Schema):
    id: int
    entity: str
    key: str
    label_en: str
    label_zh: str
    field_type: FieldType
    choices: list[ChoiceSchema]
    required: bool
    help_text: str
    max_length: int | None
    min_value: Decimal | None
    max_value: Decimal | None
    position: int
    show_in_list: bool
    filterable: bool
    is_active: bool


class CustomFieldPage(PageOut):
    items: list[CustomFieldOut]


class CustomFieldIn(Schema):
    entity: str
    key: str
    field_type: FieldType
    label_en: str = ""
    label_zh: str = ""
    choices: list[ChoiceSchema] = []
    required: bool = False
    help_text: str = ""
    max_length: int | None = None
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    position: int | None = None
    show_in_list: bool = False
    filterable: bool = True
    is_active: bool = True


class CustomFieldPatch(Schema):
    key: str | None = None  # cannot change; accepted only if equal
    field_type: FieldType | None = None  # cannot change; accepted only if equal
    label_en: str | None = None
    label_zh: str | None = None
    choices: list[ChoiceSchema] | None = None
    required: bool | None = None
    help_text: str | None = None
    max_length: int | None = None
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    position: int | None = None
    show_in_list: bool | None = None
    filterable: bool | None = None
    is_active: bool | None = None


class CustomFieldFilters(Schema):
    entity: str | None = None
    active: bool | None = None
    cursor: str | None = None
    limit: int = 100


NULLABLE = {"max_length", "min_value", "max_value"}


def _check_entity(key: str) -> None:
    try:
        entity = registry.entity(key)
    except KeyError:
        entity = None
    if entity is None or not entity.custom_fields:
        keys = ", ".join(sorted(e.key for e in registry.entities() if e.custom_fields))
        raise ValidationError({"entity": _("Custom fields exist on: %(keys)s.") % {"keys": keys}})


def _check_labels_and_choices(definition: CustomFieldDefinition) -> None:
    errors = {}
    if not (definition.label_en or definition.label_zh):
        errors["label_en"] = [_("Give a label in English or Chinese.")]
    if definition.field_type in (FieldType.CHOICE, FieldType.MULTI_CHOICE):
        try:
            definition.choices = services.custom_field_choices_clean(definition.choices)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    else:
        definition.choices = []
    if errors:
        raise ValidationError(errors)


@router.get("/custom-fields", response=CustomFieldPage, summary="Custom field definitions")
def custom_fields(request, filters: Query[CustomFieldFilters]):
    """Definitions of the company's custom fields; `entity` (e.g. `customers.account`) narrows
    them to one record type. Values appear on records under `custom_fields.<key>`."""
    qs = CustomFieldDefinition.objects.all()
    if filters.entity:
        qs = qs.filter(entity=filters.entity)
    if filters.active is not None:
        qs = qs.filter(is_active=filters.active)
    return list_page(
        qs,
        sort="position",
        allowed_sorts={"position"},
        cursor=filters.cursor,
        limit=filters.limit,
        serialize=lambda d: d,
    )


@router.post("/custom-fields", response={201: CustomFieldOut}, summary="Add a custom field (administrators)")
def custom_field_create(request, payload: CustomFieldIn):
    _require_admin(request)
    data = payload.dict()
    _check_entity(data["entity"])
    if CustomFieldDefinition.objects.filter(entity=data["entity"], key=data["key"]).exists():
        raise ValidationError({"key": _("This record type already has a field with this key.")})
    if data["position"] is None:
        data["position"] = services.custom_field_next_position(data["entity"])
    definition = CustomFieldDefinition(**data)
    _check_labels_and_choices(definition)
    return Status(201, services.custom_field_save(actor=request.user, definition=definition))


@router.get("/custom-fields/{field_id}", response=CustomFieldOut, summary="One custom field definition")
def custom_field_detail(request, field_id: int):
    return get_object_or_404(CustomFieldDefinition, pk=field_id)


@router.patch("/custom-fields/{field_id}", response=CustomFieldOut, summary="Change a custom field (administrators)")
def custom_field_update(request, field_id: int, payload: CustomFieldPatch):
    definition = get_object_or_404(CustomFieldDefinition, pk=field_id)
    _require_admin(request)
    data = payload.dict(exclude_unset=True)
    errors = {}
    for name in ("key", "field_type"):
        if name in data and data.pop(name) != getattr(definition, name):
            errors[name] = [_("This cannot change after the field is created.")]
    for name, value in data.items():
        if value is None and name not in NULLABLE:
            errors[name] = [_("This field cannot be empty.")]
    if errors:
        raise ValidationError(errors)
    for name, value in data.items():
        setattr(definition, name, value)
    _check_labels_and_choices(definition)
    return services.custom_field_save(actor=request.user, definition=definition)


@router.delete(
    "/custom-fields/{field_id}", response={204: None}, summary="Delete a custom field and its values (administrators)"
)
def custom_field_delete(request, field_id: int):
    """Deletes the definition and the values stored under its key on every record. To hide a
    field but keep its values, PATCH `is_active: false` instead."""
    definition = get_object_or_404(CustomFieldDefinition, pk=field_id)
    _require_admin(request)
    services.custom_field_delete(actor=request.user, definition=definition)
    return Status(204, None)
