"""Generic write services for registered entities: permission, validation, audit, atomicity.

Entity services (``customers.services.account_create`` …) call these and add their own
domain rules; views, API endpoints, imports and tasks call the entity services. Every
write here
  * checks the actor's permission through the permission service,
  * refuses changes to fields the actor may not write (restricted fields),
  * validates custom fields against the tenant's definitions,
  * runs ``full_clean`` and saves inside one transaction,
  * records an audit entry with field-level before/after values.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils.translation import gettext as _

from guanxi.access import permissions
from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction

from . import registry
from .registry import Action


def _check_writable_fields(actor, entity: registry.Entity, data: dict, instance=None) -> None:
    if actor is None:
        return
    access = permissions.field_access(actor, entity.key)
    blocked = []
    for name, value in data.items():
        if access.can_write(name):
            continue
        current = getattr(instance, name, None) if instance is not None else None
        if instance is None and value in (None, "", [], {}):
            continue
        if instance is not None and current == value:
            continue
        blocked.append(name)
    custom = data.get("custom") or {}
    for key in custom:
        name = f"custom.{key}"
        if not access.can_write(name):
            if instance is not None and (instance.custom or {}).get(key) == custom[key]:
                continue
            blocked.append(name)
    if blocked:
        raise ValidationError({name: _("You may not change this field.") for name in blocked})


def _custom_values(entity: registry.Entity, values: dict, instance=None, *, partial: bool) -> dict:
    from guanxi.customization.services import custom_values_clean

    existing = dict(getattr(instance, "custom", None) or {}) if instance is not None else {}
    return custom_values_clean(entity_key=entity.key, values=values, existing=existing, partial=partial)


def _validate(instance, entity, custom, *, partial: bool, run: bool) -> None:
    """Custom fields and model validation together, so every error is reported at once."""
    errors: dict = {}
    if run:
        try:
            instance.custom = _custom_values(entity, custom, instance if partial else None, partial=partial)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    try:
        instance.full_clean(exclude=["custom"] if errors else None)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _apply(instance, data: dict) -> dict[str, list]:
    m2m = {}
    for name, value in data.items():
        field = instance._meta.get_field(name)
        if field.many_to_many:
            m2m[name] = value
        else:
            setattr(
                instance, field.attname if field.is_relation and not isinstance(value, models.Model) else name, value
            )
    return m2m


def _set_m2m(instance, m2m: dict) -> dict:
    changes = {}
    for name, values in m2m.items():
        manager = getattr(instance, name)
        before = sorted(manager.values_list("pk", flat=True)) if instance.pk else []
        manager.set(values)
        after = sorted(v.pk if isinstance(v, models.Model) else v for v in values)
        if before != after:
            changes[name] = [before, after]
    return changes


def _label_m2m(instance, changes: dict) -> None:
    for field in instance._meta.many_to_many:
        if field.name not in changes:
            continue
        before, after = changes[field.name]
        ids = set(before or []) | set(after or [])
        labels = {o.pk: str(o) for o in field.related_model._default_manager.filter(pk__in=ids)}
        changes[field.name] = [
            [labels.get(i, f"#{i}") for i in before or []],
            [labels.get(i, f"#{i}") for i in after or []],
        ]


@transaction.atomic
def record_create(*, entity_key: str, actor, data: dict[str, Any]):
    """Create a record of a registered entity on behalf of ``actor`` (None: the system)."""
    entity = registry.entity(entity_key)
    if actor is not None:
        permissions.require(actor, entity.key, Action.CREATE)
    data = dict(data)
    custom = data.pop("custom", None)
    _check_writable_fields(actor, entity, {**data, "custom": custom or {}})
    instance = entity.model()
    if entity.owner_field and data.get(entity.owner_field) is None and f"{entity.owner_field}_id" not in data:
        data[entity.owner_field] = actor
    if hasattr(instance, "created_by_id") and actor is not None:
        instance.created_by = actor
    m2m = _apply(instance, data)
    _validate(instance, entity, custom or {}, partial=False, run=entity.custom_fields)
    instance.save()
    changes = audit.diff({}, {k: v for k, v in audit.snapshot(instance).items() if v not in (None, "", False)})
    changes.update(_set_m2m(instance, m2m))
    _label_m2m(instance, changes)
    audit.record_change(AuditAction.CREATE, instance, changes)
    return instance


@transaction.atomic
def record_update(*, entity_key: str, actor, instance, data: dict[str, Any], check_permission: bool = True):
    """Change ``instance``; only fields present in ``data`` are touched. Returns (instance, changes)."""
    entity = registry.entity(entity_key)
    if actor is not None and check_permission:
        permissions.require_can(actor, Action.EDIT, instance)
    data = dict(data)
    custom = data.pop("custom", None)
    _check_writable_fields(actor, entity, {**data, "custom": custom or {}}, instance)
    if entity.owner_field and entity.owner_field in data and actor is not None:
        new_owner = data[entity.owner_field]
        new_owner_id = getattr(new_owner, "pk", new_owner)
        if new_owner_id != getattr(instance, f"{entity.owner_field}_id") and not permissions.can(
            actor, Action.ASSIGN, instance
        ):
            raise ValidationError({entity.owner_field: _("You may not reassign this record.")})
    before = audit.snapshot(instance)
    m2m = _apply(instance, data)
    _validate(instance, entity, custom, partial=True, run=entity.custom_fields and custom is not None)
    after = audit.snapshot(instance)
    changes = audit.diff(before, after)
    if changes:
        instance.save()
    changes.update(_set_m2m(instance, m2m))
    if changes:
        _label_m2m(instance, changes)
        audit.record_change(AuditAction.UPDATE, instance, changes)
    return instance, changes


@transaction.atomic
def record_delete(*, entity_key: str, actor, instance) -> None:
    registry.entity(entity_key)  # only registered entities are deleted this way
    if actor is not None:
        permissions.require_can(actor, Action.DELETE, instance)
    before = audit.snapshot(instance)
    pk = instance.pk
    audit.record_deleted(instance, before)
    _delete_or_explain(lambda: instance.delete())
    instance.pk = pk


def _delete_or_explain(delete) -> None:
    """Run a delete; records that others still depend on give a clear error instead of a crash."""
    try:
        with transaction.atomic():
            delete()
    except (ProtectedError, RestrictedError) as exc:
        blockers = sorted(
            {str(obj._meta.verbose_name_plural) for obj in list(exc.protected_objects)[:50]}
            if isinstance(exc, ProtectedError)
            else {str(obj._meta.verbose_name_plural) for obj in list(exc.restricted_objects)[:50]}
        )
        raise ValidationError(
            _("This cannot be deleted while other records depend on it: %(what)s. Delete or move them first.")
            % {"what": ", ".join(blockers)}
        )


@transaction.atomic
def records_assign_owner(*, entity_key: str, actor, queryset, owner) -> int:
    """Bulk-assign ``owner`` to the records of ``queryset`` the actor may assign; audited per record."""
    entity = registry.entity(entity_key)
    field = entity.owner_field
    qs = permissions.visible(actor, queryset, Action.ASSIGN) if actor is not None else queryset
    rows = list(qs.exclude(**{f"{field}_id": owner.pk}).select_related(None))
    if not rows:
        return 0
    items = [(obj, {field: [getattr(obj, f"{field}_id"), owner.pk]}) for obj in rows]
    entity.model._default_manager.filter(pk__in=[o.pk for o in rows]).update(**{field: owner})
    audit.record_many(AuditAction.UPDATE, items, note=_("Bulk owner change"))
    return len(rows)


@transaction.atomic
def records_tag(*, entity_key: str, actor, queryset, tag, add: bool = True) -> int:
    """Add ``tag`` to (or remove it from) the records of ``queryset`` the actor may edit; audited."""
    entity = registry.entity(entity_key)
    qs = permissions.visible(actor, queryset, Action.EDIT) if actor is not None else queryset
    through = entity.model._meta.get_field("tags").remote_field.through
    owner_fk = next(f.name for f in through._meta.fields if f.related_model is entity.model)
    tagged = set(through.objects.filter(**{f"{owner_fk}__in": qs, "tag": tag}).values_list(f"{owner_fk}_id", flat=True))
    rows = [obj for obj in qs.select_related(None) if (obj.pk in tagged) != add]
    if not rows:
        return 0
    if add:
        through.objects.bulk_create([through(**{owner_fk: obj, "tag": tag}) for obj in rows], ignore_conflicts=True)
    else:
        through.objects.filter(**{f"{owner_fk}__in": [o.pk for o in rows], "tag": tag}).delete()
    change = [None, tag.name] if add else [tag.name, None]
    audit.record_many(AuditAction.UPDATE, [(obj, {"tags": change}) for obj in rows], note=_("Bulk tag change"))
    return len(rows)


@transaction.atomic
def records_delete(*, entity_key: str, actor, queryset) -> int:
    """Bulk delete of the records the actor may delete; each one audited with its last values."""
    entity = registry.entity(entity_key)
    qs = permissions.visible(actor, queryset, Action.DELETE) if actor is not None else queryset
    rows = list(qs)
    items = [
        (obj, audit.diff({k: v for k, v in audit.snapshot(obj).items() if v not in (None, "")}, {})) for obj in rows
    ]
    audit.record_many(AuditAction.DELETE, items, note=_("Bulk delete"))
    _delete_or_explain(lambda: entity.model._default_manager.filter(pk__in=[o.pk for o in rows]).delete())
    return len(rows)
