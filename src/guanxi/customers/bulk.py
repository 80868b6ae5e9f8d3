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

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.access import permissions
from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.customization.services import custom_values_clean, tags_get_or_create
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


def _unique(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen, out = set(), []
    for value, label in pairs:
        if value not in seen:
            seen.add(value)
            out.append((value, label))
    return out


def clean_email(value: str) -> str:
    emails, _phones = services.clean_contact_points([(value, "")], [])
    return emails[0][0] if emails else ""


def clean_phone(value: str, region: str | None = None) -> str:
    return normalize_phone(value, region or None)


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
    rows = Account.objects.annotate(_k=Lower("name")).filter(_k__in=keys).values_list("name", "pk")
    return _collect((name_key(name), pk) for name, pk in rows)


def _points(kind: str, owner: str, keys: set[str], extra_field: str) -> dict[str, list[int]]:
    if not keys:
        return {}
    model = Account if owner == "account" else Contact
    found = _collect(
        ContactPoint.objects.filter(kind=kind, value__in=keys, **{f"{owner}__isnull": False}).values_list(
            "value", f"{owner}_id"
        )
    )
    # Records whose primary value has no ContactPoint row (written before points existed).
    return _collect(model.objects.filter(**{f"{extra_field}__in": keys}).values_list(extra_field, "pk"), found)


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
        .filter(_k__in=names)
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

    def validate(self, row) -> None:
        """Django field validation of the given values and the tenant's custom-field rules."""
        errors: dict[str, list[str]] = {}
        instance = row.instance
        for name, value in row.data.items():
            if name.endswith("_id"):
                continue  # relations were resolved from existing rows
            model_field = self.model._meta.get_field(name)
            try:
                row.data[name] = model_field.clean(value, instance)
            except ValidationError as exc:
                errors[name] = exc.messages
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
        objs = []
        for row in creates:
            row.obj = self._new(row, now, lifecycle_changed_at=now)
            objs.append(row.obj)
        Account.objects.bulk_create(objs)
        stages, points, tag_rows = [], [], []
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
        LifecycleChange.objects.bulk_create(stages)
        ContactPoint.objects.bulk_create(points)
        AccountTag.objects.bulk_create(tag_rows, ignore_conflicts=True)
        self._audit(creates)
        self._audit(updates)

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
        if "full_name" in values:
            family, given = values["full_name"]
            data.setdefault("family_name", family)
            data.setdefault("given_name", given)
        for key in ("family_name", "given_name"):
            if key in data:
                data[key] = SPACES.sub(" ", data[key].strip())
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
            qs = Account.objects.annotate(_k=Lower("name")).filter(_k__in=missing)
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
        for key, account in accounts.items():
            self.pending[key] = account.pk
        for row in rows:
            company = row.extra.get("new_company")
            if company:
                account = accounts.get(name_key(company))
                row.data["account_id"] = self.pending[name_key(company)]
                if account is not None and account.pk == row.data["account_id"] and not getattr(account, "_claimed", 0):
                    account._claimed = 1
                    row.related.append(account)

    def write(self, creates: list, updates: list) -> None:
        now = timezone.now()
        self._create_accounts(creates + updates, now)
        tags = self._tags(creates + updates)
        objs = []
        for row in creates:
            consent = any(k.startswith("consent_") for k in row.data)
            row.obj = self._new(row, now, consent_updated_at=now if consent else None)
            row.obj.full_name = compose_name(row.obj.family_name, row.obj.given_name)
            objs.append(row.obj)
        Contact.objects.bulk_create(objs)
        points, links, tag_rows = [], [], []
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
        ContactPoint.objects.bulk_create(points)
        AccountContact.objects.bulk_create(links, ignore_conflicts=True)
        ContactTag.objects.bulk_create(tag_rows, ignore_conflicts=True)
        self._audit(creates)
        self._audit(updates)

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
