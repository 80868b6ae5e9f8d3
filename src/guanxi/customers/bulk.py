"""Bulk writes of accounts and contacts (imports): a chunk of rows in a handful of queries.

The writers apply the same normalisation and validation as ``customers.services`` (E.164
phones, lower-case validated emails, ``compose_name``, custom-field validation, Django field
validators) and keep the same denormalised data: ``Contact.full_name``, primary
``email`` / ``phone``, ``ContactPoint`` rows for every email and phone, the ``AccountContact``
link of a contact's account, the first ``LifecycleChange`` of a new account, tag rows. They
write with ``bulk_create`` / ``bulk_update`` and look records up with one query per kind
per chunk, never per row. Auditing is one ``audit.record_many`` insert per model per chunk.

The import engine (``guanxi.imports.engine``) drives them; a row object there carries
``values`` (parsed cells by target key), ``data``/``custom``/``tags``/``extra`` (built here),
``keys`` (de-duplication keys by rule), ``instance`` (the record to update) and receives
``obj``, ``changes`` and ``related`` (records created because of the row).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Lookup, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.access import permissions
from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction, AuditEntry
from guanxi.customization.services import custom_values_clean, definitions_for, tags_get_or_create
from guanxi.imports import fastwrite
from guanxi.platform import context
from guanxi.platform.phones import normalize_phone
from guanxi.platform.registry import Action

from . import services
from .models import (
    Account,
    AccountContact,
    AccountTag,
    Contact,
    ContactPoint,
    ContactTag,
    LifecycleChange,
    compose_name,
)

CACHE_LIMIT = 50_000
ADDRESS = ("country", "province", "city", "district", "street", "postal_code")
SPACES = re.compile(r"\s+")


def name_key(name: str) -> str:
    """Names compare trimmed, case-insensitive, with runs of spaces as one."""
    return SPACES.sub(" ", (name or "").strip()).casefold()


def person_name(values: dict, data: dict, extra: tuple[str, ...] = ()) -> None:
    """Family and given name from a "full name" column (unless given apart), spaces collapsed."""
    if "full_name" in values:
        family, given = values["full_name"]
        data.setdefault("family_name", family)
        data.setdefault("given_name", given)
    for key in ("family_name", "given_name", *extra):
        if key in data:
            data[key] = SPACES.sub(" ", data[key].strip())


def _unique(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen, out = set(), []
    for value, label in pairs:
        if value not in seen:
            seen.add(value)
            out.append((value, label))
    return out


# A strict subset of what Django's ``validate_email`` accepts (plain ASCII dot-atom, host names,
# alphabetic TLD): a match is valid without running the validator; anything else is checked in full.
SIMPLE_EMAIL = re.compile(
    r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.[a-z]{2,63}"
)
# Chinese mobile numbers as people type them ("138 0013 8000", "+86 138-0013-8000"). For these,
# ``phonenumbers`` always answers "+86" + the 11 digits (checked for every prefix 130–199: 179 is
# the exception, a carrier-selection prefix, so it is left to ``phonenumbers``).
CN_MOBILE = re.compile(r"(\+86)?(1(?:[3-68-9]\d|7[0-8])\d{8})")


def clean_email(value: str) -> str:
    lowered = (value or "").strip().lower()
    if len(lowered) <= 320 and SIMPLE_EMAIL.fullmatch(lowered):
        return lowered
    emails, _phones = services.clean_contact_points([(value, "")], [])
    return emails[0][0] if emails else ""


def clean_phone(value: str, region: str | None = None) -> str:
    compact = (value or "").replace(" ", "").replace("-", "")
    match = CN_MOBILE.fullmatch(compact)
    if match and (match.group(1) or (region or settings.PHONE_DEFAULT_REGION) == "CN"):
        return "+86" + match.group(2)
    return normalize_phone(value, region or None)


@models.CharField.register_lookup
class AnyOf(Lookup):
    """``field__gx_any=[…]``: ``= ANY(%s)`` with one array parameter on PostgreSQL (an IN list elsewhere).

    The de-duplication lookups send thousands of keys per chunk; one array parameter spares
    building and parsing a statement with a placeholder per key.
    """

    lookup_name = "gx_any"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if not values:
            return "1 = 0", []
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


# --- the fast write path: rows as dicts, audit entries and references without model instances --------


class Ref:
    """A record written by the fast path: what the engine needs of it (pk, model, label)."""

    __slots__ = ("_meta", "label", "pk")

    def __init__(self, model, pk: int, label: str = ""):
        self._meta = model._meta
        self.pk = pk
        self.label = label

    def __str__(self) -> str:
        return self.label


_SNAPSHOT_FIELDS: dict = {}
_PLAIN = (str, int, bool, float)


def snapshot_values(model, values: dict) -> dict:
    """``audit.snapshot`` of a row given as {attname: value} (the same keys and JSON values)."""
    fields = _SNAPSHOT_FIELDS.get(model)
    if fields is None:
        fields = _SNAPSHOT_FIELDS[model] = [
            (f.name, f.attname)
            for f in fastwrite.Table.of(model).fields
            if f.name not in audit.SKIPPED_FIELDS and not f.primary_key
        ]
    data = {}
    jsonable = audit._jsonable
    for name, attname in fields:
        value = values.get(attname)
        if name == "custom" and isinstance(value, dict):
            for key, item in value.items():
                data[f"custom.{key}"] = jsonable(item)
        elif value is None or value.__class__ in _PLAIN:
            data[name] = value
        else:
            data[name] = jsonable(value)
    return data


_SORTED_FIELDS: dict = {}


def creation_changes(model, values: dict, tags: list[str]) -> dict:
    """The changes of a created record as ``BaseWriter._creation_changes`` records them."""
    custom = values.get("custom")
    if custom:
        items = sorted(snapshot_values(model, values).items())
    else:
        # No custom values: the snapshot's keys are the field names, walked in sorted order.
        fields = _SORTED_FIELDS.get(model)
        if fields is None:
            fields = _SORTED_FIELDS[model] = sorted(
                (f.name, f.attname)
                for f in fastwrite.Table.of(model).fields
                if f.name not in audit.SKIPPED_FIELDS and not f.primary_key and f.name != "custom"
            )
        jsonable = audit._jsonable
        items = []
        for name, attname in fields:
            value = values.get(attname)
            if value is None or value.__class__ in _PLAIN:
                items.append((name, value))
            else:
                items.append((name, jsonable(value)))
    changes = {k: [None, v] for k, v in items if v not in (None, "", False) and k != "created_by"}
    if tags:
        changes["tags"] = [None, ", ".join(tags)]
    return changes


class Labels:
    """``audit.label_references`` with the labels kept across chunks ({(model, pk): str(record)})."""

    LIMIT = 100_000

    def __init__(self):
        self.known: dict = {}

    def add(self, model, pk: int, label: str) -> None:
        self.known[(model, pk)] = label

    def apply(self, model, changes_list: list[dict]) -> None:
        fk_fields = _fk_fields(model)
        wanted: dict[str, set] = {}
        for changes in changes_list:
            for name, pair in changes.items():
                if name in fk_fields:
                    wanted.setdefault(name, set()).update(v for v in pair if isinstance(v, int))
        if len(self.known) > self.LIMIT:
            self.known.clear()
        for name, ids in wanted.items():
            related = fk_fields[name]
            missing = [pk for pk in ids if (related, pk) not in self.known]
            if missing:
                for o in related._base_manager.filter(pk__in=missing):
                    self.known[(related, o.pk)] = str(o)
            known = self.known
            for changes in changes_list:
                if name in changes:
                    changes[name] = [
                        f"{known[(related, v)]} (#{v})" if isinstance(v, int) and (related, v) in known else v
                        for v in changes[name]
                    ]


_FK_FIELDS: dict = {}


def _fk_fields(model) -> dict:
    """The foreign keys ``audit.label_references`` labels: {field name: related model}."""
    fields = _FK_FIELDS.get(model)
    if fields is None:
        fields = _FK_FIELDS[model] = {
            f.name: f.related_model
            for f in model._meta.concrete_fields
            if f.is_relation and f.name not in audit.SKIPPED_FIELDS
        }
    return fields


def audit_rows(
    action: str, model, items: list[tuple[int, str, dict]], *, note: str, at, labels: Labels | None = None
) -> list[dict]:
    """AuditEntry rows as ``audit.record_many`` writes them: [(object id, label, changes)], FKs labelled.

    The changes must be JSON values already (``snapshot_values`` makes them so).
    """
    from django.contrib.contenttypes.models import ContentType

    (labels or Labels()).apply(model, [changes for _pk, _label, changes in items])
    meta = context.current_meta()
    actor = context.current_actor()
    base = {
        "at": at,
        "action": action,
        "actor_id": actor.pk if actor is not None and actor.pk else None,
        "actor_label": (str(actor) if actor is not None else meta.via)[:200],
        "content_type_id": ContentType.objects.get_for_model(model).pk,
        "ip": meta.ip,
        "user_agent": (meta.user_agent or "")[:300],
        "request_id": meta.request_id,
        "via": meta.via,
        "note": note[:300],
    }
    return [
        {**base, "object_id": pk, "object_repr": label[:250], "changes": changes or {}} for pk, label, changes in items
    ]


# --- de-duplication lookups: {key: [ids]}, one query each -------------------------------------------


def _collect(rows: Iterable[tuple], into: dict | None = None) -> dict[str, list[int]]:
    found: dict[str, list[int]] = into if into is not None else {}
    for key, pk in rows:
        ids = found.setdefault(key, [])
        if pk not in ids:
            ids.append(pk)
    for ids in found.values():
        ids.sort()
    return found


def accounts_by_name(keys: set[str]) -> dict[str, list[int]]:
    if not keys:
        return {}
    rows = Account.objects.annotate(_k=Lower("name")).filter(_k__gx_any=keys).values_list("name", "pk")
    return _collect((name_key(name), pk) for name, pk in rows)


def _points(kind: str, owner: str, keys: set[str], extra_field: str) -> dict[str, list[int]]:
    if not keys:
        return {}
    model = Account if owner == "account" else Contact
    found = _collect(
        ContactPoint.objects.filter(kind=kind, value__gx_any=keys, **{f"{owner}__isnull": False}).values_list(
            "value", f"{owner}_id"
        )
    )
    # Records whose primary value has no ContactPoint row (written before points existed).
    return _collect(model.objects.filter(**{f"{extra_field}__gx_any": keys}).values_list(extra_field, "pk"), found)


def accounts_by_email(keys: set[str]) -> dict[str, list[int]]:
    return _points(ContactPoint.Kind.EMAIL, "account", keys, "email")


def accounts_by_phone(keys: set[str]) -> dict[str, list[int]]:
    return _points(ContactPoint.Kind.PHONE, "account", keys, "phone")


def contacts_by_email(keys: set[str]) -> dict[str, list[int]]:
    return _points(ContactPoint.Kind.EMAIL, "contact", keys, "email")


def contacts_by_phone(keys: set[str]) -> dict[str, list[int]]:
    return _points(ContactPoint.Kind.PHONE, "contact", keys, "phone")


def contacts_by_name_account(keys: set[str]) -> dict[str, list[int]]:
    """Keys "<name key>|<account id>" (rows with a known account only)."""
    pairs = [k.rsplit("|", 1) for k in keys if re.search(r"\|\d+$", k)]
    if not pairs:
        return {}
    names = {n for n, _a in pairs}
    accounts = {int(a) for _n, a in pairs}
    rows = (
        Contact.objects.filter(account_id__in=accounts)
        .annotate(_k=Lower("full_name"))
        .filter(_k__gx_any=names)
        .values_list("full_name", "account_id", "pk")
    )
    return _collect((f"{name_key(n)}|{a}", pk) for n, a, pk in rows)


# --- shared writer machinery ---------------------------------------------------------------------


class BaseWriter:
    """What account and contact writers share: field validation, custom fields, tags, updates."""

    model: type
    entity_key: str
    simple_fields: tuple[str, ...] = ()
    tag_model: type
    tag_fk: str

    def __init__(self, *, actor, options: dict, note: str):
        self.actor = actor
        self.options = options or {}
        self.note = note
        self.may_assign = actor is None or permissions.has_action(actor, self.entity_key, Action.ASSIGN)
        self.labels = Labels()

    # building ------------------------------------------------------------------------------------

    def build_common(self, row) -> None:
        values = row.values
        row.data = {k: values[k] for k in self.simple_fields if k in values}
        for key in ("region", "business_line"):
            if key in values:
                row.data[f"{key}_id"] = values[key]
        if "owner" in values:
            if values["owner"] != getattr(self.actor, "pk", None) and not self.may_assign:
                row.error(_("You may not assign records to someone else."), fields=("owner",))
                return
            row.data["owner_id"] = values["owner"]
        row.custom = {k[7:]: v for k, v in values.items() if k.startswith("custom.")}
        row.tags = list(dict.fromkeys(values.get("tags") or []))

    def resolve(self, rows: list) -> None:
        """Look up relations of a chunk (no writes)."""

    def commit(self) -> None:
        """The chunk's transaction committed: keep what was cached during it."""

    def rollback(self) -> None:
        """The chunk's transaction rolled back: forget what was cached during it."""

    def snapshot(self):
        """State to return to when a savepoint rolls back (``restore``)."""
        return None

    def restore(self, state) -> None:
        pass

    # validating ----------------------------------------------------------------------------------

    def load(self, rows: list) -> None:
        """Fetch the records to update (one query) and check reassignments."""
        ids = [row.match_id for row in rows]
        found = self.model.objects.in_bulk(ids)
        reassign = [r.match_id for r in rows if "owner_id" in r.data and r.match_id in found]
        assignable = set()
        if reassign and self.actor is not None:
            assignable = set(
                permissions.visible(self.actor, self.model.objects.filter(pk__in=reassign), Action.ASSIGN).values_list(
                    "pk", flat=True
                )
            )
        for row in rows:
            row.instance = found.get(row.match_id)
            if row.instance is None:
                row.error(_("The matching record was deleted meanwhile."))
            elif (
                "owner_id" in row.data
                and row.data["owner_id"] != row.instance.owner_id
                and self.actor is not None
                and row.match_id not in assignable
            ):
                row.error(_("You may not reassign this record."), fields=("owner",))

    def _fast_checks(self) -> dict:
        """Per model field, a cheap test that a value is what ``field.clean`` would return unchanged.

        A value passing it needs no ``clean``; any other value goes through ``clean`` (which gives
        the error messages). Only obvious cases pass: a string within ``max_length`` without NUL
        for a plain text field, a simple address for an email field, a known choice, a bool, a date.
        """
        checks = getattr(self, "_checks", None)
        if checks is not None:
            return checks
        import datetime

        from django.core import validators as v

        checks = {}
        for f in self.model._meta.concrete_fields:
            plain = all(isinstance(x, (v.MaxLengthValidator, v.ProhibitNullCharactersValidator)) for x in f.validators)
            internal = f.get_internal_type()
            if f.choices:
                allowed = {value for value, _label in f.flatchoices if value not in ("", None)}
                checks[f.name] = lambda value, allowed=allowed: value.__class__ is str and value in allowed
            elif isinstance(f, models.EmailField):
                checks[f.name] = lambda value, n=f.max_length: (
                    value.__class__ is str and len(value) <= n and bool(SIMPLE_EMAIL.fullmatch(value))
                )
            elif internal in ("CharField", "TextField") and plain:
                checks[f.name] = lambda value, n=f.max_length, blank=f.blank: (
                    value.__class__ is str
                    and (n is None or len(value) <= n)
                    and "\x00" not in value
                    and (blank or value != "")
                )
            elif internal == "BooleanField":
                checks[f.name] = lambda value: value is True or value is False
            elif internal == "DateField" and not f.validators:
                checks[f.name] = lambda value: value.__class__ is datetime.date
        self._checks = checks
        self._custom_required = any(d.is_active and d.required for d in definitions_for(self.entity_key))
        return checks

    def validate(self, row) -> None:
        """Django field validation of the given values and the tenant's custom-field rules."""
        errors: dict[str, list[str]] = {}
        instance = row.instance
        checks = self._fast_checks()
        data = row.data
        for name, value in data.items():
            if name.endswith("_id"):
                continue  # relations were resolved from existing rows
            check = checks.get(name)
            if check is not None and check(value):
                continue
            model_field = self.model._meta.get_field(name)
            try:
                data[name] = model_field.clean(value, instance)
            except ValidationError as exc:
                errors[name] = exc.messages
        if instance is None and not row.custom and not self._custom_required:
            row.custom = {}  # what custom_values_clean returns for no values and no required field
        else:
            try:
                row.custom = custom_values_clean(
                    entity_key=self.entity_key,
                    values=row.custom,
                    existing=dict(instance.custom or {}) if instance is not None else {},
                    partial=instance is not None,
                )
            except ValidationError as exc:
                errors.update(exc.message_dict)
        if errors:
            for name, messages in errors.items():
                row.error(" ".join(messages), fields=(name,))

    # writing -------------------------------------------------------------------------------------

    def _tags(self, rows) -> dict[str, object]:
        names = sorted({n for row in rows for n in row.tags})
        return {t.name: t for t in tags_get_or_create(names)} if names else {}

    def _new(self, row, now, **extra):
        obj = self.model(
            **row.data,
            custom=row.custom,
            created_by=self.actor,
            created_at=now,
            updated_at=now,
            **extra,
        )
        if obj.owner_id is None:
            obj.owner_id = self.actor.pk
        return obj

    def _creation_changes(self, obj, row) -> dict:
        changes = audit.diff(
            {}, {k: v for k, v in audit.snapshot(obj).items() if v not in (None, "", False) and k != "created_by"}
        )
        if row.tags:
            changes["tags"] = [None, ", ".join(row.tags)]
        return changes

    def _apply_update(self, row, now) -> tuple[dict, list[str]]:
        """Set the row's values on its instance; returns ({field: [before, after]}, changed fields)."""
        obj = row.instance
        changes: dict = {}
        fields: list[str] = []
        for name, value in row.data.items():
            attname = name
            if value in (None, ""):
                continue  # an empty cell never erases a value
            current = getattr(obj, attname)
            if current != value:
                key = name[:-3] if name.endswith("_id") else name
                changes[key] = [audit._jsonable(current), audit._jsonable(value)]
                setattr(obj, attname, value)
                fields.append(attname)
        if row.custom != (obj.custom or {}):
            before = obj.custom or {}
            for key in sorted(set(before) | set(row.custom)):
                if before.get(key) != row.custom.get(key):
                    changes[f"custom.{key}"] = [before.get(key), row.custom.get(key)]
            obj.custom = row.custom
            fields.append("custom")
        if fields:
            obj.updated_at = now
            fields.append("updated_at")
        return changes, fields

    def _add_tags(self, updates, tags_by_name) -> None:
        owner = self.tag_fk
        wanted = {row.instance.pk: [tags_by_name[n] for n in row.tags] for row in updates if row.tags}
        if not wanted:
            return
        have = set(
            self.tag_model.objects.filter(**{f"{owner}_id__in": list(wanted)}).values_list(f"{owner}_id", "tag_id")
        )
        new_rows = []
        for row in updates:
            added = [t for t in wanted.get(row.instance.pk, []) if (row.instance.pk, t.pk) not in have]
            if added:
                row.changes["_tags_added"] = [t.pk for t in added]
                row.audit["tags"] = [None, ", ".join(t.name for t in added)]
                new_rows += [self.tag_model(**{f"{owner}_id": row.instance.pk}, tag=t) for t in added]
                have |= {(row.instance.pk, t.pk) for t in added}
        self.tag_model.objects.bulk_create(new_rows, ignore_conflicts=True)

    def _audit(self, rows) -> None:
        items = [(row.obj, row.audit) for row in rows if row.obj is not None and (row.audit or row.instance is None)]
        if items:
            audit.record_many(AuditAction.IMPORT, items, note=self.note)

    # undo ----------------------------------------------------------------------------------------

    def revert(self, items: list[tuple[object, dict]]) -> list[tuple[object, dict]]:
        """Revert updates [(obj, changes)] whose values are still the imported ones; returns audit items."""
        now = timezone.now()
        done, changed_objs, fields = [], [], set()
        tag_deletes = Q(pk__in=[])
        for obj, changes in items:
            reverted = {}
            for name, pair in changes.items():
                if name.startswith("_"):
                    continue
                before, after = pair
                if name.startswith("custom."):
                    key = name[7:]
                    custom = dict(obj.custom or {})
                    if audit._jsonable(custom.get(key)) == after:
                        if before is None:
                            custom.pop(key, None)
                        else:
                            custom[key] = before
                        obj.custom = custom
                        fields.add("custom")
                        reverted[name] = [after, before]
                    continue
                model_field = obj._meta.get_field(name)
                attname = model_field.attname
                if after is not None and getattr(obj, attname) == model_field.to_python(after):
                    setattr(obj, attname, model_field.to_python(before) if before is not None else None)
                    fields.add(attname)
                    reverted[name] = [after, before]
            if changes.get("_tags_added"):
                tag_deletes |= Q(**{f"{self.tag_fk}_id": obj.pk, "tag_id__in": changes["_tags_added"]})
                reverted["tags"] = [_("added by the import"), None]
            self.revert_extra(obj, changes, reverted)
            if reverted:
                obj.updated_at = now
                changed_objs.append(obj)
                done.append((obj, reverted))
        if fields:
            self.model.objects.bulk_update(changed_objs, [*sorted(fields), "updated_at"], batch_size=500)
        self.tag_model.objects.filter(tag_deletes).delete()
        self.after_revert(done)
        return done

    def revert_extra(self, obj, changes: dict, reverted: dict) -> None:
        pass

    def after_revert(self, done: list) -> None:
        pass


# --- accounts ---------------------------------------------------------------------------------------


class AccountWriter(BaseWriter):
    model = Account
    entity_key = services.ACCOUNT
    tag_model = AccountTag
    tag_fk = "account"
    simple_fields = (
        "name", "kind", "industry", "size", "annual_revenue", "currency", "website", "phone", "email", "source",
        "lifecycle_stage", "rating", "description", *ADDRESS,
    )  # fmt: skip

    def build(self, row) -> None:
        self.build_common(row)
        if row.failed:
            return
        if "name" in row.data:
            row.data["name"] = SPACES.sub(" ", row.data["name"].strip())
        row.extra["parent"] = row.values.get("parent") or ""
        row.keys = {
            "name": [name_key(row.data["name"])] if row.data.get("name") else [],
            "email": [row.data["email"]] if row.data.get("email") else [],
            "phone": [row.data["phone"]] if row.data.get("phone") else [],
        }

    def resolve(self, rows) -> None:
        names = {name_key(r.extra["parent"]) for r in rows if r.extra.get("parent")}
        if not names:
            return
        qs = Account.objects.annotate(_k=Lower("name")).filter(_k__in=names)
        visible = permissions.visible(self.actor, qs, Action.VIEW) if self.actor is not None else qs
        found = dict(reversed(list(visible.order_by("pk").values_list("name", "pk"))))
        by_key = {name_key(n): pk for n, pk in found.items()}
        for row in rows:
            parent = row.extra.get("parent")
            if parent:
                if name_key(parent) in by_key:
                    row.data["parent_id"] = by_key[name_key(parent)]
                else:
                    row.error(_("No account named “%(name)s”.") % {"name": parent}, fields=("parent",))

    def validate(self, row) -> None:
        if row.instance is None and not row.data.get("name"):
            row.error(_("This field is required."), fields=("name",))
            return
        if row.instance is not None and name_key(row.data.get("name", "")) == name_key(row.instance.name):
            row.data.pop("name", None)  # the same name written differently: keep the record's spelling
        if row.instance is not None and row.data.get("parent_id") == row.instance.pk:
            row.error(_("An account cannot be its own parent or a parent of its parent."), fields=("parent",))
            return
        super().validate(row)

    def write(self, creates: list, updates: list) -> None:
        now = timezone.now()
        tags = self._tags(creates + updates)
        stages, points, tag_rows = [], [], []
        fast = fastwrite.enabled()
        if fast:
            self._write_creates_fast(creates, now, tags)
        else:
            objs = []
            for row in creates:
                row.obj = self._new(row, now, lifecycle_changed_at=now)
                objs.append(row.obj)
            Account.objects.bulk_create(objs)
            for row in creates:
                obj = row.obj
                stages.append(
                    LifecycleChange(
                        account=obj, from_stage="", to_stage=obj.lifecycle_stage, changed_at=now, changed_by=self.actor
                    )
                )
                points += self._points(obj)
                tag_rows += [AccountTag(account=obj, tag=tags[n]) for n in row.tags]
                row.audit = self._creation_changes(obj, row)
        for row in updates:
            row.obj = row.instance
            old_stage = row.instance.lifecycle_stage
            row.changes, fields = self._apply_update(row, now)
            if "lifecycle_stage" in row.changes:
                row.instance.lifecycle_changed_at = now
                fields.append("lifecycle_changed_at")
                stages.append(
                    LifecycleChange(
                        account=row.instance,
                        from_stage=old_stage,
                        to_stage=row.instance.lifecycle_stage,
                        changed_at=now,
                        changed_by=self.actor,
                    )
                )
            row.fields = fields
            row.audit = dict(row.changes)
        self._bulk_update(updates)
        resync = [row.instance for row in updates if {"email", "phone"} & set(row.changes)]
        if resync:
            ContactPoint.objects.filter(account__in=resync).delete()
            for obj in resync:
                points += self._points(obj)
        self._add_tags(updates, tags)
        if stages:
            LifecycleChange.objects.bulk_create(stages)
        if points:
            ContactPoint.objects.bulk_create(points)
        if tag_rows:
            AccountTag.objects.bulk_create(tag_rows, ignore_conflicts=True)
        if not fast:
            self._audit(creates)
        self._audit(updates)

    def _write_creates_fast(self, creates: list, now, tags: dict) -> None:
        """New accounts with their first lifecycle stage, email and phone, tags and audit entries, as plain rows."""
        if not creates:
            return
        actor_id = getattr(self.actor, "pk", None)
        ids = fastwrite.reserve_ids(Account, len(creates))
        defaults = fastwrite.Table.of(Account).defaults()
        accounts, stages, points, tag_rows, audits = [], [], [], [], []
        for row, pk in zip(creates, ids, strict=True):
            values = {
                **defaults,
                **row.data,
                "id": pk,
                "custom": row.custom,
                "created_by_id": actor_id,
                "created_at": now,
                "updated_at": now,
                "lifecycle_changed_at": now,
            }
            if values.get("owner_id") is None:
                values["owner_id"] = actor_id
            accounts.append(values)
            stages.append(
                {
                    "account_id": pk,
                    "from_stage": "",
                    "to_stage": values["lifecycle_stage"],
                    "changed_at": now,
                    "changed_by_id": actor_id,
                }
            )
            if values["email"]:
                points.append(
                    {"account_id": pk, "kind": "email", "value": values["email"], "label": "work", "is_primary": True}
                )
            if values["phone"]:
                points.append(
                    {"account_id": pk, "kind": "phone", "value": values["phone"], "label": "work", "is_primary": True}
                )
            for n in row.tags:
                tag_rows.append({"account_id": pk, "tag_id": tags[n].pk})
            row.obj = Ref(Account, pk, values["name"])
            row.audit = creation_changes(Account, values, row.tags)
            audits.append((pk, values["name"], row.audit))
        fastwrite.insert(Account, accounts)
        fastwrite.insert(LifecycleChange, stages)
        fastwrite.insert(ContactPoint, points)
        fastwrite.insert(AccountTag, tag_rows, ignore_conflicts=True)
        fastwrite.insert(
            AuditEntry, audit_rows(AuditAction.IMPORT, Account, audits, note=self.note, at=now, labels=self.labels)
        )

    def _bulk_update(self, updates) -> None:
        fields = sorted({f for row in updates for f in row.fields})
        objs = list({row.instance.pk: row.instance for row in updates if row.fields}.values())
        if objs:
            Account.objects.bulk_update(objs, fields, batch_size=500)

    @staticmethod
    def _points(obj) -> list[ContactPoint]:
        points = []
        if obj.email:
            points.append(ContactPoint(account=obj, kind="email", value=obj.email, label="work", is_primary=True))
        if obj.phone:
            points.append(ContactPoint(account=obj, kind="phone", value=obj.phone, label="work", is_primary=True))
        return points

    def after_revert(self, done) -> None:
        resync = [obj for obj, reverted in done if {"email", "phone"} & set(reverted)]
        if resync:
            ContactPoint.objects.filter(account__in=resync).delete()
            ContactPoint.objects.bulk_create([p for obj in resync for p in self._points(obj)])


# --- contacts ---------------------------------------------------------------------------------------


class ContactWriter(BaseWriter):
    model = Contact
    entity_key = services.CONTACT
    tag_model = ContactTag
    tag_fk = "contact"
    simple_fields = (
        "family_name", "given_name", "salutation", "title", "department", "birthday", "preferred_channel",
        "consent_email", "consent_sms", "consent_phone", "consent_mail", "description", *ADDRESS,
    )  # fmt: skip

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.may_create_accounts = self.options.get("create_related", True) and (
            self.actor is None or permissions.has_action(self.actor, services.ACCOUNT, Action.CREATE)
        )
        self.companies: dict[str, int | None] = {}  # name key → visible account id (None: exists, not visible)
        self.pending: dict[str, int] = {}

    def build(self, row) -> None:
        self.build_common(row)
        if row.failed:
            return
        values, data = row.values, row.data
        person_name(values, data)
        emails = [(values["email"], ContactPoint.Label.WORK)] if values.get("email") else []
        emails += [(e, ContactPoint.Label.OTHER) for e in values.get("extra_emails") or []]
        phones = [(values["mobile"], ContactPoint.Label.MOBILE)] if values.get("mobile") else []
        phones += [(values["phone"], ContactPoint.Label.WORK)] if values.get("phone") else []
        phones += [(p, ContactPoint.Label.OTHER) for p in values.get("extra_phones") or []]
        # Cells were cleaned one by one (clean_email / clean_phone); keep each value once, in order.
        row.extra["emails"], row.extra["phones"] = _unique(emails), _unique(phones)
        if row.extra["emails"]:
            data["email"] = row.extra["emails"][0][0]
        if row.extra["phones"]:
            data["phone"] = row.extra["phones"][0][0]
        row.extra["company"] = SPACES.sub(" ", values.get("account") or "").strip()
        name = compose_name(data.get("family_name", ""), data.get("given_name", ""))
        row.extra["name_key"] = name_key(name)
        row.keys = {
            "email": [e for e, _l in row.extra["emails"]],
            "phone": [p for p, _l in row.extra["phones"]],
            "name_account": [],
        }

    def resolve(self, rows) -> None:
        """Find the accounts named in the chunk (cached over chunks); then the name+company keys."""
        wanted = {name_key(r.extra["company"]) for r in rows if r.extra.get("company")}
        missing = wanted - self.companies.keys() - self.pending.keys()
        if missing:
            if len(self.companies) > CACHE_LIMIT:
                self.companies.clear()
            qs = Account.objects.annotate(_k=Lower("name")).filter(_k__gx_any=missing)
            every = {}
            for name, pk in qs.order_by("-pk").values_list("name", "pk"):
                every[name_key(name)] = pk  # the oldest account of a name wins
            visible = every
            if self.actor is not None and permissions.scope_q(self.actor, Account, Action.VIEW) is not None:
                ids = set(
                    permissions.visible(
                        self.actor, Account.objects.filter(pk__in=every.values()), Action.VIEW
                    ).values_list("pk", flat=True)
                )
                visible = {k: pk for k, pk in every.items() if pk in ids}
            for key in missing:
                if key in visible:
                    self.companies[key] = visible[key]
                elif key in every:
                    self.companies[key] = None
        for row in rows:
            company = row.extra.get("company")
            if not company:
                continue
            key = name_key(company)
            pk = self.pending.get(key, self.companies.get(key, 0))
            if pk:
                row.data["account_id"] = pk
                row.keys["name_account"] = [f"{row.extra['name_key']}|{pk}"]
            elif pk is None:
                row.error(
                    _("An account named “%(name)s” exists that you may not see.") % {"name": company},
                    fields=("account",),
                )
            elif self.may_create_accounts:
                row.extra["new_company"] = company
                row.keys["name_account"] = [f"{row.extra['name_key']}|new:{key}"]
                row.warnings.append(_("A new account “%(name)s” will be created.") % {"name": company})
            else:
                row.error(_("No account named “%(name)s”.") % {"name": company}, fields=("account",))

    def commit(self) -> None:
        self.companies.update(self.pending)
        self.pending = {}

    def rollback(self) -> None:
        self.pending = {}

    def snapshot(self):
        return dict(self.pending)

    def restore(self, state) -> None:
        self.pending = state

    def validate(self, row) -> None:
        if row.instance is None and not (row.data.get("family_name") or row.data.get("given_name")):
            row.error(_("Give at least a family name or a given name."), fields=("family_name", "given_name"))
            return
        super().validate(row)

    def _create_accounts(self, rows, now) -> None:
        names: dict[str, str] = {}
        for row in rows:
            company = row.extra.get("new_company")
            if company and name_key(company) not in self.pending:
                names.setdefault(name_key(company), company)
        if not names:
            return
        if fastwrite.enabled():
            accounts = self._create_accounts_fast(names, now)
        else:
            accounts = self._create_accounts_models(names, now)
        for key, account in accounts.items():
            self.pending[key] = account.pk
        claimed = set()
        for row in rows:
            company = row.extra.get("new_company")
            if company:
                key = name_key(company)
                account = accounts.get(key)
                row.data["account_id"] = self.pending[key]
                if account is not None and account.pk == row.data["account_id"] and key not in claimed:
                    claimed.add(key)
                    row.related.append(account)

    def _create_accounts_models(self, names: dict[str, str], now) -> dict:
        accounts = {
            key: Account(
                name=name[:200],
                owner=self.actor,
                created_by=self.actor,
                created_at=now,
                updated_at=now,
                lifecycle_changed_at=now,
            )
            for key, name in names.items()
        }
        Account.objects.bulk_create(list(accounts.values()))
        LifecycleChange.objects.bulk_create(
            [
                LifecycleChange(
                    account=a, from_stage="", to_stage=a.lifecycle_stage, changed_at=now, changed_by=self.actor
                )
                for a in accounts.values()
            ]
        )
        audit.record_many(
            AuditAction.IMPORT,
            [(a, {"name": [None, a.name], "owner": [None, a.owner_id]}) for a in accounts.values()],
            note=self.note,
        )
        return accounts

    def _create_accounts_fast(self, names: dict[str, str], now) -> dict:
        actor_id = getattr(self.actor, "pk", None)
        stage = Account._meta.get_field("lifecycle_stage").get_default()
        ids = fastwrite.reserve_ids(Account, len(names))
        rows, refs = [], {}
        for (key, name), pk in zip(names.items(), ids, strict=True):
            name = name[:200]
            rows.append(
                {
                    "id": pk,
                    "name": name,
                    "owner_id": actor_id,
                    "created_by_id": actor_id,
                    "created_at": now,
                    "updated_at": now,
                    "lifecycle_changed_at": now,
                }
            )
            refs[key] = Ref(Account, pk, name)
            self.labels.add(Account, pk, name)
        fastwrite.insert(Account, rows)
        fastwrite.insert(
            LifecycleChange,
            [
                {
                    "account_id": r["id"],
                    "from_stage": "",
                    "to_stage": stage,
                    "changed_at": now,
                    "changed_by_id": actor_id,
                }
                for r in rows
            ],
        )
        items = [(r["id"], r["name"], {"name": [None, r["name"]], "owner": [None, actor_id]}) for r in rows]
        fastwrite.insert(
            AuditEntry, audit_rows(AuditAction.IMPORT, Account, items, note=self.note, at=now, labels=self.labels)
        )
        return refs

    def write(self, creates: list, updates: list) -> None:
        now = timezone.now()
        self._create_accounts(creates + updates, now)
        tags = self._tags(creates + updates)
        points, links, tag_rows = [], [], []
        if fastwrite.enabled():
            self._write_creates_fast(creates, now, tags)
        else:
            objs = []
            for row in creates:
                consent = any(k.startswith("consent_") for k in row.data)
                row.obj = self._new(row, now, consent_updated_at=now if consent else None)
                row.obj.full_name = compose_name(row.obj.family_name, row.obj.given_name)
                objs.append(row.obj)
            Contact.objects.bulk_create(objs)
            for row in creates:
                obj = row.obj
                points += self._points(obj, row.extra["emails"], row.extra["phones"], primary=True)
                if obj.account_id:
                    links.append(AccountContact(account_id=obj.account_id, contact=obj))
                tag_rows += [ContactTag(contact=obj, tag=tags[n]) for n in row.tags]
                row.audit = self._creation_changes(obj, row)
                if row.extra["emails"] or row.extra["phones"]:
                    row.audit["emails and phones"] = [None, [v for v, _l in row.extra["emails"] + row.extra["phones"]]]
        if updates:
            points += self._update_contacts(updates, now)
        changed = list({row.instance.pk: row.instance for row in updates if row.fields}.values())
        if changed:
            fields = sorted({f for row in updates for f in row.fields})
            Contact.objects.bulk_update(changed, fields, batch_size=500)
        self._add_tags(updates, tags)
        existing_links = set()
        wanted = [(row.instance.pk, row.instance.account_id) for row in updates if "account" in row.changes]
        if wanted:
            existing_links = set(
                AccountContact.objects.filter(contact_id__in=[c for c, _a in wanted]).values_list(
                    "contact_id", "account_id"
                )
            )
        for row in updates:
            pair = (row.instance.pk, row.instance.account_id)
            if "account" in row.changes and row.instance.account_id and pair not in existing_links:
                links.append(AccountContact(account_id=row.instance.account_id, contact_id=row.instance.pk))
                row.changes["_links_added"] = [row.instance.account_id]
                existing_links.add(pair)
        if points:
            ContactPoint.objects.bulk_create(points)
        if links:
            AccountContact.objects.bulk_create(links, ignore_conflicts=True)
        if tag_rows:
            ContactTag.objects.bulk_create(tag_rows, ignore_conflicts=True)
        if not fastwrite.enabled():
            self._audit(creates)
        self._audit(updates)

    def _write_creates_fast(self, creates: list, now, tags: dict) -> None:
        """New contacts with their emails and phones, account links, tags and audit entries, as plain rows."""
        if not creates:
            return
        actor_id = getattr(self.actor, "pk", None)
        ids = fastwrite.reserve_ids(Contact, len(creates))
        defaults = fastwrite.Table.of(Contact).defaults()
        contacts, points, links, tag_rows, audits = [], [], [], [], []
        for row, pk in zip(creates, ids, strict=True):
            data = row.data
            values = {
                **defaults,
                **data,
                "id": pk,
                "custom": row.custom,
                "created_by_id": actor_id,
                "created_at": now,
                "updated_at": now,
                "consent_updated_at": now if any(k.startswith("consent_") for k in data) else None,
            }
            if values.get("owner_id") is None:
                values["owner_id"] = actor_id
            values["full_name"] = full_name = compose_name(values["family_name"], values["given_name"])
            contacts.append(values)
            emails, phones = row.extra["emails"], row.extra["phones"]
            for i, (v, lab) in enumerate(emails):
                points.append({"contact_id": pk, "kind": "email", "value": v, "label": lab, "is_primary": i == 0})
            for i, (v, lab) in enumerate(phones):
                points.append({"contact_id": pk, "kind": "phone", "value": v, "label": lab, "is_primary": i == 0})
            if values["account_id"]:
                links.append({"account_id": values["account_id"], "contact_id": pk})
            for n in row.tags:
                tag_rows.append({"contact_id": pk, "tag_id": tags[n].pk})
            row.obj = Ref(Contact, pk, full_name)
            changes = creation_changes(Contact, values, row.tags)
            if emails or phones:
                changes["emails and phones"] = [None, [v for v, _l in emails + phones]]
            row.audit = changes
            audits.append((pk, full_name, changes))
        fastwrite.insert(Contact, contacts)
        fastwrite.insert(ContactPoint, points)
        fastwrite.insert(AccountContact, links, ignore_conflicts=True)
        fastwrite.insert(ContactTag, tag_rows, ignore_conflicts=True)
        fastwrite.insert(
            AuditEntry, audit_rows(AuditAction.IMPORT, Contact, audits, note=self.note, at=now, labels=self.labels)
        )

    def _update_contacts(self, updates, now) -> list[ContactPoint]:
        """Apply values; new emails / phones are added (the primary one stays unless there was none)."""
        ids = [row.instance.pk for row in updates]
        have: dict[int, set[tuple[str, str]]] = {}
        for contact_id, kind, value in ContactPoint.objects.filter(contact_id__in=ids).values_list(
            "contact_id", "kind", "value"
        ):
            have.setdefault(contact_id, set()).add((kind, value))
        points = []
        for row in updates:
            obj = row.instance
            row.obj = obj
            if obj.email and "email" in row.data:
                row.data.pop("email")  # keep the primary address; the new one is added below
            if obj.phone and "phone" in row.data:
                row.data.pop("phone")
            row.changes, row.fields = self._apply_update(row, now)
            if {"family_name", "given_name"} & set(row.changes):
                before = obj.full_name
                obj.full_name = compose_name(obj.family_name, obj.given_name)
                if obj.full_name != before:
                    row.changes["full_name"] = [before, obj.full_name]
                    row.fields.append("full_name")
            if any(k.startswith("consent_") for k in row.changes):
                obj.consent_updated_at = now
                row.fields.append("consent_updated_at")
            existing = have.setdefault(obj.pk, set())
            added = []
            for kind, pairs in (("email", row.extra["emails"]), ("phone", row.extra["phones"])):
                primary_taken = any(k == kind for k, _v in existing)
                for value, label in pairs:
                    if (kind, value) in existing:
                        continue
                    points.append(
                        ContactPoint(contact=obj, kind=kind, value=value, label=label, is_primary=not primary_taken)
                    )
                    primary_taken = True
                    existing.add((kind, value))
                    added.append([kind, value])
            if added:
                row.changes["_points_added"] = added
            row.audit = {k: v for k, v in row.changes.items() if not k.startswith("_")}
            if added:
                row.audit["emails and phones"] = [None, [v for _k, v in added]]
        return points

    @staticmethod
    def _points(obj, emails, phones, *, primary: bool) -> list[ContactPoint]:
        return [
            ContactPoint(contact=obj, kind="email", value=v, label=lab, is_primary=primary and i == 0)
            for i, (v, lab) in enumerate(emails)
        ] + [
            ContactPoint(contact=obj, kind="phone", value=v, label=lab, is_primary=primary and i == 0)
            for i, (v, lab) in enumerate(phones)
        ]

    def revert_extra(self, obj, changes: dict, reverted: dict) -> None:
        if "full_name" in reverted or {"family_name", "given_name"} & set(reverted):
            obj.full_name = compose_name(obj.family_name, obj.given_name)
        added = changes.get("_points_added") or []
        if added:
            q = Q(pk__in=[])
            for kind, value in added:
                q |= Q(kind=kind, value=value)
            ContactPoint.objects.filter(q, contact=obj).delete()
            reverted["emails and phones"] = [[v for _k, v in added], None]
        if changes.get("_links_added"):
            AccountContact.objects.filter(contact=obj, account_id__in=changes["_links_added"]).delete()

    def after_revert(self, done) -> None:
        objs = [obj for obj, reverted in done if {"family_name", "given_name", "full_name"} & set(reverted)]
        if objs:
            Contact.objects.bulk_update(objs, ["full_name"], batch_size=500)
