"""Custom fields: one definition drives validation, forms, list columns, filters, API and export.

Values are stored in the entity's ``custom`` JSON column, keyed by the definition's
``key``, in a canonical JSON form: text as str, integer as int, decimal as a string
(exact), date as "YYYY-MM-DD", datetime as ISO 8601 UTC, boolean as bool, choice as
its value, multiple choice as a list of values, user as the user id, phone as E.164.
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.db.models import DecimalField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from guanxi.platform import context
from guanxi.platform.phones import normalize_phone

from .models import CustomFieldDefinition, FieldType, Tag

EMPTY = (None, "", [], {})


def definitions_for(entity_key: str, *, active_only: bool = True) -> list[CustomFieldDefinition]:
    """The tenant's custom field definitions of an entity (one query per request)."""
    cache = context.context_cache().setdefault("custom_field_definitions", {})
    if entity_key not in cache:
        cache[entity_key] = list(CustomFieldDefinition.objects.filter(entity=entity_key).order_by("position", "id"))
    defs = cache[entity_key]
    return [d for d in defs if d.is_active] if active_only else defs


def _invalidate_definitions() -> None:
    context.context_cache().pop("custom_field_definitions", None)


def clean_value(definition: CustomFieldDefinition, value: Any) -> Any:
    """Convert ``value`` (from a form, the API or an import) to its canonical stored form."""
    if isinstance(value, str):
        value = value.strip()
    if value in EMPTY:
        return None
    t = definition.field_type
    if t in (FieldType.TEXT, FieldType.LONG_TEXT):
        value = str(value)
        limit = definition.max_length or (255 if t == FieldType.TEXT else 10000)
        if len(value) > limit:
            raise ValidationError(_("At most %(n)s characters.") % {"n": limit})
        return value
    if t in (FieldType.INTEGER, FieldType.DECIMAL):
        try:
            number = decimal.Decimal(str(value).replace(",", "")) if not isinstance(value, bool) else None
        except decimal.InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise ValidationError(_("Enter a number."))
        if t == FieldType.INTEGER and number != number.to_integral_value():
            raise ValidationError(_("Enter a whole number."))
        if definition.min_value is not None and number < definition.min_value:
            raise ValidationError(_("Must be at least %(n)s.") % {"n": definition.min_value.normalize()})
        if definition.max_value is not None and number > definition.max_value:
            raise ValidationError(_("Must be at most %(n)s.") % {"n": definition.max_value.normalize()})
        return (
            int(number)
            if t == FieldType.INTEGER
            else str(number.normalize() if number == number.to_integral() else number)
        )
    if t == FieldType.DATE:
        if isinstance(value, datetime.datetime):
            value = value.date()
        if isinstance(value, datetime.date):
            return value.isoformat()
        parsed = _parse_date(str(value))
        if parsed is None:
            raise ValidationError(_("Enter a valid date (YYYY-MM-DD)."))
        return parsed.isoformat()
    if t == FieldType.DATETIME:
        parsed = value if isinstance(value, datetime.datetime) else parse_datetime(str(value).replace(" ", "T", 1))
        if parsed is None:
            raise ValidationError(_("Enter a valid date and time."))
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        return parsed.astimezone(datetime.UTC).isoformat()
    if t == FieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in {"1", "true", "yes", "y", "on", "是", "对"}:
            return True
        if text in {"0", "false", "no", "n", "off", "否", "不"}:
            return False
        raise ValidationError(_("Enter yes or no."))
    if t == FieldType.CHOICE:
        return _clean_choice(definition, value)
    if t == FieldType.MULTI_CHOICE:
        items = value if isinstance(value, (list, tuple)) else str(value).replace("；", ";").split(";")
        cleaned = [_clean_choice(definition, v) for v in items if str(v).strip()]
        return sorted(set(cleaned)) or None
    if t == FieldType.USER:
        from guanxi.org.models import Member

        try:
            user_id = int(getattr(value, "pk", value))
        except (TypeError, ValueError):
            raise ValidationError(_("Choose a user."))
        if not Member.objects.filter(user_id=user_id).exists():
            raise ValidationError(_("Choose a user of this company."))
        return user_id
    if t == FieldType.URL:
        value = str(value)
        if "://" not in value:
            value = "https://" + value
        URLValidator(message=_("Enter a valid web address."))(value)
        return value
    if t == FieldType.EMAIL:
        value = str(value).lower()
        EmailValidator(message=_("Enter a valid email address."))(value)
        return value
    if t == FieldType.PHONE:
        return normalize_phone(str(value))
    raise ValidationError(_("Unknown field type."))


def _parse_date(text: str) -> datetime.date | None:
    text = text.replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-").replace("日", "")
    parsed = parse_date(text)
    if parsed is None:
        try:
            parsed = datetime.datetime.strptime(text, "%d-%m-%Y").date()
        except ValueError:
            return None
    return parsed


def _clean_choice(definition: CustomFieldDefinition, value: Any) -> str:
    text = str(value).strip()
    for choice in definition.choices:
        if text == choice["value"] or text in (choice.get("label_en"), choice.get("label_zh")):
            return choice["value"]
    raise ValidationError(_("“%(value)s” is not one of the choices.") % {"value": text})


def custom_values_clean(*, entity_key: str, values: dict, existing: dict | None = None, partial: bool) -> dict:
    """Validate custom field ``values`` and merge them into ``existing``.

    Raises ``ValidationError`` keyed ``custom.<key>`` per bad value. With ``partial``
    only the keys present are checked; otherwise every required field must have a value.
    """
    defs = {d.key: d for d in definitions_for(entity_key, active_only=False)}
    result = dict(existing or {})
    errors: dict[str, list] = {}
    for key, raw in (values or {}).items():
        definition = defs.get(key)
        if definition is None or not definition.is_active:
            errors[f"custom.{key}"] = [_("There is no custom field “%(key)s”.") % {"key": key}]
            continue
        try:
            cleaned = clean_value(definition, raw)
        except ValidationError as exc:
            errors[f"custom.{key}"] = exc.messages
            continue
        if cleaned is None:
            result.pop(key, None)
        else:
            result[key] = cleaned
    for key, definition in defs.items():
        if not definition.is_active or not definition.required:
            continue
        if (partial and key not in (values or {})) or f"custom.{key}" in errors:
            continue
        if result.get(key) in EMPTY:
            errors[f"custom.{key}"] = [_("This field is required.")]
    if errors:
        raise ValidationError(errors)
    return result


def display_value(definition: CustomFieldDefinition, value: Any) -> str:
    if value in EMPTY:
        return ""
    t = definition.field_type
    if t == FieldType.BOOLEAN:
        return _("Yes") if value else _("No")
    if t == FieldType.CHOICE:
        return dict(definition.choice_options()).get(value, value)
    if t == FieldType.MULTI_CHOICE:
        options = dict(definition.choice_options())
        return ", ".join(options.get(v, v) for v in value)
    if t == FieldType.DATETIME:
        parsed = parse_datetime(value)
        return timezone.localtime(parsed).strftime("%Y-%m-%d %H:%M") if parsed else value
    if t == FieldType.USER:
        from guanxi.identity.models import User

        users = context.context_cache().setdefault("custom_user_labels", {})
        if value not in users:
            users[value] = str(User.objects.filter(pk=value).first() or f"#{value}")
        return users[value]
    return str(value)


# --- forms --------------------------------------------------------------------------------


def form_field(definition: CustomFieldDefinition) -> forms.Field:
    """A Django form field for a definition (values go through clean_value afterwards)."""
    common = {"label": definition.label, "required": definition.required, "help_text": definition.help_text}
    t = definition.field_type
    if t == FieldType.LONG_TEXT:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **common)
    if t == FieldType.INTEGER:
        return forms.IntegerField(**common)
    if t == FieldType.DECIMAL:
        return forms.DecimalField(**common)
    if t == FieldType.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if t == FieldType.DATETIME:
        return forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), **common)
    if t == FieldType.BOOLEAN:
        return forms.BooleanField(**{**common, "required": False})
    if t == FieldType.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *definition.choice_options()], **common)
    if t == FieldType.MULTI_CHOICE:
        return forms.MultipleChoiceField(
            choices=definition.choice_options(), widget=forms.CheckboxSelectMultiple, **common
        )
    if t == FieldType.USER:
        from guanxi.org.selectors import member_user_choices

        return forms.TypedChoiceField(choices=[("", "—"), *member_user_choices()], coerce=int, **common)
    if t == FieldType.URL:
        return forms.CharField(widget=forms.URLInput, **common)
    if t == FieldType.EMAIL:
        return forms.EmailField(**common)
    if t == FieldType.PHONE:
        return forms.CharField(widget=forms.TextInput(attrs={"type": "tel"}), **common)
    return forms.CharField(max_length=definition.max_length or 255, **common)


def form_initial(definition: CustomFieldDefinition, value: Any) -> Any:
    if value in EMPTY:
        return None
    if definition.field_type == FieldType.DATETIME:
        parsed = parse_datetime(value)
        return timezone.localtime(parsed).strftime("%Y-%m-%dT%H:%M") if parsed else value
    return value


# --- filters ------------------------------------------------------------------------------


def filter_queryset(queryset, definition: CustomFieldDefinition, value: Any, lookup: str = "exact"):
    """Filter ``queryset`` on one custom field; the same on SQLite and PostgreSQL."""
    path = f"custom__{definition.key}"
    t = definition.field_type
    if lookup == "isnull":
        return queryset.filter(**{f"{path}__isnull": bool(value)})
    if t in (FieldType.INTEGER, FieldType.DECIMAL) and lookup in ("gte", "lte"):
        alias = f"_cf_{definition.key}"
        number = Cast(KeyTextTransform(definition.key, "custom"), DecimalField(max_digits=30, decimal_places=6))
        return queryset.alias(**{alias: number}).filter(**{f"{alias}__{lookup}": decimal.Decimal(str(value))})
    if t in (FieldType.DATE, FieldType.DATETIME) and lookup in ("gte", "lte"):
        return queryset.filter(**{f"{path}__{lookup}": clean_value(definition, value)})
    if t == FieldType.MULTI_CHOICE:
        choice = _clean_choice(definition, value)
        if queryset.db == "default" and _vendor() == "postgresql":
            return queryset.filter(**{f"{path}__contains": [choice]})
        return queryset.filter(**{f"{path}__icontains": f'"{choice}"'})
    if t in (FieldType.TEXT, FieldType.LONG_TEXT, FieldType.EMAIL, FieldType.URL, FieldType.PHONE):
        return queryset.filter(**{f"{path}__icontains": str(value)})
    return queryset.filter(**{path: clean_value(definition, value)})


def _vendor() -> str:
    from django.db import connection

    return connection.vendor


# --- definitions and tags ------------------------------------------------------------------


@transaction.atomic
def custom_field_save(*, actor, definition: CustomFieldDefinition) -> CustomFieldDefinition:
    from guanxi.audit import services as audit
    from guanxi.audit.models import AuditAction

    creating = definition.pk is None
    before = {} if creating else audit.snapshot(CustomFieldDefinition.objects.get(pk=definition.pk))
    definition.full_clean()
    if definition.field_type in (FieldType.CHOICE, FieldType.MULTI_CHOICE) and not definition.choices:
        raise ValidationError({"choices": _("Give at least one choice.")})
    definition.save()
    _invalidate_definitions()
    audit.record_change(
        AuditAction.CREATE if creating else AuditAction.UPDATE,
        definition,
        audit.diff(before, audit.snapshot(definition)),
    )
    return definition


def tags_get_or_create(names: list[str]) -> list[Tag]:
    names = [n.strip() for n in names if n and n.strip()]
    existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=n) for n in dict.fromkeys(names) if n not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    return [existing[n] for n in dict.fromkeys(names)]


# --- administration (settings pages and API) ------------------------------------------------------


def custom_field_next_position(entity_key: str) -> int:
    """A position after the entity's last field (positions step by 10)."""
    from django.db.models import Max

    last = CustomFieldDefinition.objects.filter(entity=entity_key).aggregate(m=Max("position"))["m"]
    return (last or 0) + 10


@transaction.atomic
def custom_field_move(*, actor, definition: CustomFieldDefinition, offset: int) -> CustomFieldDefinition:
    """Move a field up (``offset`` < 0) or down among its entity's fields; renumbers 10, 20, …"""
    from guanxi.audit import services as audit
    from guanxi.audit.models import AuditAction

    defs = list(CustomFieldDefinition.objects.filter(entity=definition.entity).order_by("position", "id"))
    index = next(i for i, d in enumerate(defs) if d.pk == definition.pk)
    target = max(0, min(len(defs) - 1, index + offset))
    if target == index:
        return definition
    defs.insert(target, defs.pop(index))
    before = definition.position
    changed = []
    for i, d in enumerate(defs):
        if d.position != (i + 1) * 10:
            d.position = (i + 1) * 10
            changed.append(d)
    CustomFieldDefinition.objects.bulk_update(changed, ["position"])
    moved = next(d for d in defs if d.pk == definition.pk)
    definition.position = moved.position
    audit.record(AuditAction.UPDATE, definition, changes={"position": [before, definition.position]}, note="reordered")
    _invalidate_definitions()
    return definition


@transaction.atomic
def custom_field_delete(*, actor, definition: CustomFieldDefinition) -> int:
    """Delete a field definition with the values stored under its key and its field restriction.

    Returns how many records lost a value. (The settings pages deactivate fields instead,
    which keeps the values; deleting is offered by the API.)
    """
    from guanxi.access.models import RestrictedField
    from guanxi.audit import services as audit
    from guanxi.platform import registry

    cleared = 0
    try:
        entity = registry.entity(definition.entity)
    except KeyError:
        entity = None
    if entity is not None and entity.custom_fields:
        manager = entity.model._default_manager
        rows = list(manager.filter(custom__has_key=definition.key).only("pk", "custom"))
        for row in rows:
            row.custom.pop(definition.key, None)
        manager.bulk_update(rows, ["custom"], batch_size=500)
        cleared = len(rows)
    RestrictedField.objects.filter(module=definition.entity, field_name=f"custom.{definition.key}").delete()
    before = audit.snapshot(definition)
    audit.record_deleted(definition, before)
    definition.delete()
    _invalidate_definitions()
    context.context_cache().pop("restricted_fields", None)
    return cleared


@transaction.atomic
def tag_save(*, actor, tag: Tag) -> Tag:
    """Create, rename or recolour a tag."""
    from guanxi.audit import services as audit
    from guanxi.audit.models import AuditAction

    creating = tag.pk is None
    before = {} if creating else audit.snapshot(Tag.objects.get(pk=tag.pk))
    tag.name = (tag.name or "").strip()
    tag.full_clean()
    if Tag.objects.filter(name=tag.name).exclude(pk=tag.pk).exists():
        raise ValidationError({"name": _("A tag with this name exists already.")})
    tag.save()
    changes = audit.diff(before, audit.snapshot(tag))
    if changes or creating:
        audit.record_change(AuditAction.CREATE if creating else AuditAction.UPDATE, tag, changes)
    return tag


@transaction.atomic
def tag_delete(*, actor, tag: Tag) -> None:
    """Delete a tag; records that had it simply lose it."""
    from guanxi.audit import services as audit

    audit.record_deleted(tag)
    tag.delete()


def tag_usage_counts() -> dict[int, int]:
    """{tag id: number of tagged records} over every entity with tags (one query per entity)."""
    from django.db.models import Count

    from guanxi.platform import registry

    counts: dict[int, int] = {}
    for entity in registry.entities():
        if not entity.tags:
            continue
        through = entity.model._meta.get_field("tags").remote_field.through
        fk = next(f for f in through._meta.concrete_fields if f.is_relation and f.related_model is Tag)
        rows = through.objects.order_by().values(fk.attname).annotate(n=Count("pk")).values_list(fk.attname, "n")
        for tag_id, n in rows:
            counts[tag_id] = counts.get(tag_id, 0) + n
    return counts


def custom_field_choices_clean(choices) -> list[dict]:
    """Check and normalise choices [{"value", "label_en", "label_zh"}]: values non-empty, unique,
    at most 60 characters. Raises ``ValidationError({"choices": [...]})``."""
    rows, errors, seen = [], [], set()
    for choice in choices or []:
        if not isinstance(choice, dict):
            errors.append(_("Each choice is an object with value, label_en and label_zh."))
            continue
        row = {k: str(choice.get(k) or "").strip() for k in ("value", "label_en", "label_zh")}
        if not row["value"]:
            errors.append(_("Every choice needs a value."))
        elif row["value"] in seen:
            errors.append(_("The value “%(v)s” is used twice.") % {"v": row["value"]})
        elif len(row["value"]) > 60:
            errors.append(_("Values have at most 60 characters."))
        seen.add(row["value"])
        rows.append(row)
    if errors:
        raise ValidationError({"choices": list(dict.fromkeys(errors))})
    return rows
