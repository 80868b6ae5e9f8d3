"""Recording audit entries. Services call these; nothing edits or deletes entries."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db import models

from guanxi.platform import context

from .models import AuditAction, AuditEntry

SKIPPED_FIELDS = {"tenant", "updated_at", "search_text", "password"}


def _jsonable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def snapshot(obj: models.Model) -> dict:
    """Field values of ``obj`` as JSON-friendly data; foreign keys as raw ids."""
    data = {}
    for f in obj._meta.concrete_fields:
        if f.name in SKIPPED_FIELDS or f.primary_key:
            continue
        value = getattr(obj, f.attname)
        if f.name == "custom" and isinstance(value, dict):
            for key, item in value.items():
                data[f"custom.{key}"] = _jsonable(item)
        else:
            data[f.name] = _jsonable(value)
    return data


def diff(before: dict, after: dict) -> dict:
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def label_references(model, changes_list: list[dict]) -> None:
    """Replace foreign-key ids in changes by "label (#id)", one query per related model."""
    fk_fields = {
        f.name: f.related_model for f in model._meta.concrete_fields if f.is_relation and f.name not in SKIPPED_FIELDS
    }
    wanted: dict[str, set] = {}
    for changes in changes_list:
        for name, pair in changes.items():
            if name in fk_fields:
                wanted.setdefault(name, set()).update(v for v in pair if isinstance(v, int))
    for name, ids in wanted.items():
        related = fk_fields[name]
        labels = {o.pk: str(o) for o in related._base_manager.filter(pk__in=ids)} if ids else {}
        for changes in changes_list:
            if name in changes:
                changes[name] = [
                    f"{labels[v]} (#{v})" if isinstance(v, int) and v in labels else v for v in changes[name]
                ]


def _entry(
    action, obj=None, *, changes=None, note="", tenant=None, actor=None, model=None, object_id=None, object_repr=""
) -> AuditEntry:
    meta = context.current_meta()
    actor = actor if actor is not None else context.current_actor()
    if obj is not None:
        model = type(obj)
        object_id = obj.pk
        object_repr = str(obj)[:250]
    entry = AuditEntry(
        action=action,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=(str(actor) if actor is not None else meta.via)[:200],
        content_type=ContentType.objects.get_for_model(model) if model is not None else None,
        object_id=object_id,
        object_repr=object_repr,
        changes=_jsonable(changes or {}),
        ip=meta.ip,
        user_agent=(meta.user_agent or "")[:300],
        request_id=meta.request_id,
        via=meta.via,
        note=note[:300],
    )
    if tenant is not None:
        entry.tenant = tenant
    return entry


def record(
    action: str, obj=None, *, changes=None, note="", tenant=None, actor=None, model=None, object_id=None, object_repr=""
) -> AuditEntry:
    """Record one event. ``obj`` is the record concerned, if any; ``changes`` is {field: [before, after]}."""
    entry = _entry(
        action,
        obj,
        changes=changes,
        note=note,
        tenant=tenant,
        actor=actor,
        model=model,
        object_id=object_id,
        object_repr=object_repr,
    )
    if entry.tenant_id is None and context.current_tenant_id() is None:
        with context.all_tenants_scope(actor=actor):
            entry.save()
    else:
        entry.save()
    return entry


def record_many(action: str, items: Iterable[tuple[models.Model, dict]], *, note="") -> int:
    """Record one entry per (object, changes) pair in a single insert (bulk operations)."""
    items = list(items)
    if items:
        label_references(type(items[0][0]), [changes for _, changes in items])
    entries = [_entry(action, obj, changes=changes, note=note) for obj, changes in items]
    AuditEntry.objects.bulk_create(entries, batch_size=500)
    return len(entries)


def record_change(action: str, obj, changes: dict, *, note="") -> AuditEntry:
    """Record a create, update or delete of ``obj`` with labelled field changes."""
    label_references(type(obj), [changes])
    return record(action, obj, changes=changes, note=note)


def record_created(obj) -> AuditEntry:
    return record_change(
        AuditAction.CREATE, obj, diff({}, {k: v for k, v in snapshot(obj).items() if v not in (None, "")})
    )


def record_deleted(obj, before: dict | None = None) -> AuditEntry:
    before = before if before is not None else snapshot(obj)
    return record_change(AuditAction.DELETE, obj, diff({k: v for k, v in before.items() if v not in (None, "")}, {}))
