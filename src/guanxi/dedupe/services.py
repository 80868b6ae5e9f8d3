"""Duplicate scans, review decisions and merging records (all writes of the dedupe app)."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from guanxi.access import permissions
from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.platform import context, registry
from guanxi.platform.models import TenantModel
from guanxi.platform.registry import Action

from . import detection
from .models import DuplicateCandidate, DuplicateScan, MergeRedirect

logger = logging.getLogger(__name__)

STALE_SCAN = datetime.timedelta(hours=2)  # a queued / running scan older than this is presumed dead
NIGHTLY_EVERY = datetime.timedelta(hours=20)
NIGHT_HOURS = range(1, 5)  # local hours of the tenant in which the nightly scan may start

Status = DuplicateCandidate.Status


# --- scans ----------------------------------------------------------------------------------


def _lock_tenant() -> None:
    """Serialise scan bookkeeping of the current tenant (two workers, two clicks)."""
    from guanxi.tenancy.models import Tenant

    Tenant.objects.select_for_update().filter(pk=context.current_tenant_id()).first()


def _active_scan() -> DuplicateScan | None:
    return (
        DuplicateScan.objects.filter(
            status__in=(DuplicateScan.Status.QUEUED, DuplicateScan.Status.RUNNING),
            created_at__gte=timezone.now() - STALE_SCAN,
        )
        .order_by("-created_at")
        .first()
    )


@transaction.atomic
def scan_request(*, actor) -> tuple[DuplicateScan, bool]:
    """Queue a scan on demand (one at a time per tenant); returns (scan, newly queued)."""
    if not any(permissions.has_action(actor, key, Action.EDIT) for key in detection.ENTITIES):
        raise PermissionDenied
    _lock_tenant()
    running = _active_scan()
    if running is not None:
        return running, False
    scan = DuplicateScan.objects.create(trigger=DuplicateScan.Trigger.MANUAL, requested_by=actor)
    tenant_id = context.current_tenant_id()

    def enqueue():
        from .tasks import run_duplicate_scan

        run_duplicate_scan.enqueue(tenant_id=tenant_id, scan_id=scan.pk)

    transaction.on_commit(enqueue)
    return scan, True


def is_night(now: datetime.datetime) -> bool:
    """Is it night in the current tenant's time zone?"""
    import zoneinfo

    try:
        tz = zoneinfo.ZoneInfo(context.require_tenant().time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = datetime.UTC
    return now.astimezone(tz).hour in NIGHT_HOURS


def nightly_scan_start(now: datetime.datetime | None = None) -> DuplicateScan | None:
    """Run tonight's scan if it is night and no scan ran in the last 20 hours.

    The scheduler calls this every minute: it is idempotent (a second call the same night
    does nothing) and costs no query outside the night hours.
    """
    now = now or timezone.now()
    if not is_night(now):
        return None
    with transaction.atomic():
        _lock_tenant()
        if DuplicateScan.objects.filter(created_at__gte=now - NIGHTLY_EVERY).exists() or _active_scan():
            return None
        scan = DuplicateScan.objects.create(trigger=DuplicateScan.Trigger.NIGHTLY, created_at=now)
    return scan_run(scan=scan)


def scan_run(*, scan: DuplicateScan | None = None, entities: Iterable[str] = detection.ENTITIES) -> DuplicateScan:
    """Detect duplicates of each entity and store them as candidates (idempotent).

    Detection reads outside a transaction (it may take a while); storing each entity's
    result is one transaction.
    """
    if scan is None:
        scan = DuplicateScan.objects.create(trigger=DuplicateScan.Trigger.MANUAL)
    if scan.status not in (DuplicateScan.Status.QUEUED, DuplicateScan.Status.RUNNING):
        return scan
    scan.status, scan.started_at = DuplicateScan.Status.RUNNING, timezone.now()
    scan.save(update_fields=["status", "started_at"])
    stats = {}
    try:
        for key in entities:
            found = detection.detect(key)
            stats[key] = {**found.stats, **candidates_store(entity_key=key, found=found.scored())}
    except Exception as exc:
        logger.exception("Duplicate scan %s failed", scan.pk)
        scan.status, scan.error = DuplicateScan.Status.FAILED, str(exc)[:300]
    else:
        scan.status = DuplicateScan.Status.DONE
    scan.finished_at, scan.stats = timezone.now(), stats
    scan.save(update_fields=["status", "finished_at", "stats", "error"])
    return scan


def _groups(pairs: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Record id → smallest id of its connected group (union-find; a root is its group's smallest id)."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in list(parent)}


@transaction.atomic
def candidates_store(*, entity_key: str, found: dict[tuple[int, int], tuple[int, list]]) -> dict[str, int]:
    """Bring the stored candidates of an entity in line with a detection result.

    New pairs are added, open pairs updated or (no longer found) removed; pairs someone
    dismissed stay dismissed, so running a scan again changes nothing.
    """
    existing = {(c.first_id, c.second_id): c for c in DuplicateCandidate.objects.filter(entity=entity_key)}
    decided = {k for k, c in existing.items() if c.status != Status.OPEN}
    open_pairs = [k for k in found if k not in decided]
    group_of = _groups(open_pairs)
    new, changed, stale = [], [], []
    for key in open_pairs:
        score, reasons = found[key]
        group = group_of.get(key[0], key[0])
        current = existing.get(key)
        if current is None:
            new.append(
                DuplicateCandidate(
                    entity=entity_key, first_id=key[0], second_id=key[1], group_id=group, score=score, reasons=reasons
                )
            )
        elif (current.score, current.reasons, current.group_id) != (score, reasons, group):
            current.score, current.reasons, current.group_id = score, reasons, group
            changed.append(current)
    for key, candidate in existing.items():
        if candidate.status == Status.OPEN and key not in found:
            stale.append(candidate.pk)
    DuplicateCandidate.objects.bulk_create(new, batch_size=1000)
    DuplicateCandidate.objects.bulk_update(changed, ["score", "reasons", "group_id", "updated_at"], batch_size=1000)
    for start in range(0, len(stale), 1000):
        DuplicateCandidate.objects.filter(pk__in=stale[start : start + 1000]).delete()
    return {"new": len(new), "updated": len(changed), "removed": len(stale)}


# --- review ---------------------------------------------------------------------------------


@transaction.atomic
def candidates_dismiss(*, actor, entity_key: str, candidate_ids: Iterable[int]) -> int:
    """Mark pairs as "not duplicates"; later scans leave them alone. Both records must be editable."""
    ids = list(candidate_ids)
    candidates = list(DuplicateCandidate.objects.filter(entity=entity_key, pk__in=ids, status=Status.OPEN))
    model = registry.entity(entity_key).model
    record_ids = {i for c in candidates for i in c.record_ids}
    editable = set(
        permissions.visible(actor, model._default_manager.filter(pk__in=record_ids), Action.EDIT).values_list(
            "pk", flat=True
        )
    )
    allowed = [c for c in candidates if set(c.record_ids) <= editable]
    if len(allowed) != len(set(ids)):
        raise Http404
    now = timezone.now()
    DuplicateCandidate.objects.filter(pk__in=[c.pk for c in allowed]).update(
        status=Status.DISMISSED, resolved_at=now, resolved_by=actor
    )
    for c in allowed:
        audit.record(
            AuditAction.UPDATE,
            c,
            changes={"status": [Status.OPEN.label, Status.DISMISSED.label]},
            note=_("Marked as not duplicates"),
        )
    return len(allowed)


# --- merge ----------------------------------------------------------------------------------


def mergeable_fields(entity_key: str) -> list[models.Field]:
    """The model fields whose value can be picked from any of the merged records."""
    model = registry.entity(entity_key).model
    return [
        f
        for f in model._meta.concrete_fields
        if f.editable and not f.primary_key and f.name not in ("tenant", "custom", "created_by")
    ]


def _updater(entity_key: str):
    from guanxi.customers import services as customers

    if entity_key == detection.ACCOUNT:
        return lambda actor, obj, data: customers.account_update(actor=actor, account=obj, data=data)
    if entity_key == detection.CONTACT:
        return lambda actor, obj, data: customers.contact_update(actor=actor, contact=obj, data=data)
    from guanxi.platform import crud

    return lambda actor, obj, data: crud.record_update(entity_key=entity_key, actor=actor, instance=obj, data=data)[0]


def _choice_data(entity_key: str, actor, winner, by_id: dict, choices: dict) -> dict:
    """Service input for the winner from ``choices`` {field or ``custom.<key>``: id of the record whose value wins}."""
    from guanxi.customization import services as custom

    model = type(winner)
    access = permissions.field_access(actor, entity_key)
    fields = {f.name: f for f in mergeable_fields(entity_key)}
    definitions = (
        {d.key: d for d in custom.definitions_for(entity_key)} if registry.entity(entity_key).custom_fields else {}
    )
    data: dict = {}
    custom_data: dict = {}
    errors: dict[str, list] = {}
    for name, source_id in (choices or {}).items():
        try:
            source = by_id[int(source_id)]
        except (KeyError, TypeError, ValueError):
            errors[name] = [_("Choose one of the records being merged.")]
            continue
        known = name[7:] in definitions if name.startswith("custom.") else name in fields
        if not known:
            errors[name] = [_("This field cannot be chosen.")]
            continue
        if source.pk == winner.pk:
            continue
        if not access.can_write(name):
            errors[name] = [_("You may not change this field.")]
            continue
        if name.startswith("custom."):
            custom_data[name[7:]] = (source.custom or {}).get(name[7:])
            continue
        field = fields[name]
        if field.is_relation:
            value = getattr(source, field.attname)
            if field.related_model is model and value in by_id:
                value = None  # a record cannot point to itself once merged
            data[name] = value
        else:
            data[name] = getattr(source, name)
    if errors:
        raise ValidationError(errors)
    if custom_data:
        data["custom"] = custom_data
    return data


def _relations(model) -> list:
    """Reverse one-to-many / one-to-one relations pointing at ``model`` (hidden ones included)."""
    return [
        f
        for f in model._meta.get_fields(include_hidden=True)
        if f.auto_created and not f.concrete and (f.one_to_many or f.one_to_one)
    ]


def _manager(model):
    return model._default_manager if issubclass(model, TenantModel) else model._base_manager


def _unique_sets(model, fk_name: str) -> list[tuple[str, ...]]:
    sets = []
    for constraint in model._meta.constraints:
        unique = isinstance(constraint, models.UniqueConstraint) and constraint.condition is None
        if unique and fk_name in (constraint.fields or ()):
            sets.append(tuple(f for f in constraint.fields if f not in (fk_name, "tenant")))
    for together in model._meta.unique_together:
        if fk_name in together:
            sets.append(tuple(f for f in together if f not in (fk_name, "tenant")))
    if model._meta.get_field(fk_name).unique:
        sets.append(())
    return sets


def _move_relations(winner, loser_ids: list[int], skip: set) -> dict[str, int]:
    """Point every row referring to a loser at the winner; rows that would break a unique rule are dropped."""
    model = type(winner)
    moved: dict[str, int] = {}
    for rel in _relations(model):
        related = rel.related_model
        fk = rel.field
        if related._meta.label in skip:
            continue
        manager = _manager(related)
        rows = manager.filter(**{f"{fk.name}__in": loser_ids})
        if related is model:
            rows = rows.exclude(pk__in=[winner.pk, *loser_ids])
        unique_sets = _unique_sets(related, fk.name)
        label = f"{related._meta.verbose_name_plural}"
        if not unique_sets:
            n = rows.update(**{fk.attname: winner.pk})
        else:
            attnames = {s: [related._meta.get_field(f).attname for f in s] for s in unique_sets}
            taken = {
                s: {tuple(getattr(r, a) for a in attnames[s]) for r in manager.filter(**{fk.name: winner.pk})}
                for s in unique_sets
            }
            n, drop, keep = 0, [], []
            for row in rows:
                keys = {s: tuple(getattr(row, a) for a in attnames[s]) for s in unique_sets}
                if any(keys[s] in taken[s] for s in unique_sets):
                    drop.append(row.pk)
                    continue
                for s in unique_sets:
                    taken[s].add(keys[s])
                keep.append(row.pk)
            if drop:
                manager.filter(pk__in=drop).delete()
            if keep:
                n = manager.filter(pk__in=keep).update(**{fk.attname: winner.pk})
        if n:
            moved[str(label)] = moved.get(str(label), 0) + n
    return moved


def _generic_references(model) -> list[tuple[type, str, str]]:
    """(model, content-type FK attname, object id field) of rows pointing at any record by content type."""
    from django.apps import apps

    skip = {"audit.AuditEntry", "access.RecordShare"}  # history stays; shares are merged below
    found = []
    for candidate in apps.get_models():
        if not issubclass(candidate, TenantModel) or candidate._meta.label in skip:
            continue
        for f in candidate._meta.concrete_fields:
            if not (f.is_relation and f.related_model is ContentType):
                continue
            if f.name.endswith("_type"):
                id_name = f"{f.name[: -len('_type')]}_id"
            elif f.name == "content_type":
                id_name = "object_id"
            else:
                continue
            try:
                id_field = candidate._meta.get_field(id_name)
            except FieldDoesNotExist:
                continue
            if isinstance(id_field, models.IntegerField):
                found.append((candidate, f.attname, id_name))
    return found


def _move_generic(winner, loser_ids: list[int]) -> dict[str, int]:
    ct = ContentType.objects.get_for_model(type(winner))
    moved = {}
    for related, ct_attname, id_name in _generic_references(type(winner)):
        n = related._default_manager.filter(**{ct_attname: ct.pk, f"{id_name}__in": loser_ids}).update(
            **{id_name: winner.pk}
        )
        if n:
            label = str(related._meta.verbose_name_plural)
            moved[label] = moved.get(label, 0) + n
    return moved


def _move_shares(winner, loser_ids: list[int]) -> int:
    """Shares of the losers go to the winner; one share per grantee, the wider access kept."""
    from guanxi.access.models import AccessLevel, RecordShare

    ct = ContentType.objects.get_for_model(type(winner))
    current = {
        (s.user_id, s.team_id, s.unit_id): s for s in RecordShare.objects.filter(content_type=ct, object_id=winner.pk)
    }
    moved = 0
    for share in RecordShare.objects.filter(content_type=ct, object_id__in=loser_ids).order_by("pk"):
        grantee = (share.user_id, share.team_id, share.unit_id)
        kept = current.get(grantee)
        if kept is None:
            RecordShare.objects.filter(pk=share.pk).update(object_id=winner.pk)
            current[grantee] = share
            moved += 1
            continue
        if share.access == AccessLevel.EDIT and kept.access != AccessLevel.EDIT:
            RecordShare.objects.filter(pk=kept.pk).update(access=AccessLevel.EDIT)
            kept.access = AccessLevel.EDIT
        RecordShare.objects.filter(pk=share.pk).delete()
    return moved


def _merge_points(winner, owner_field: str, points: list[tuple[str, str, str]]) -> None:
    """Give the winner every email / phone any merged record had (identical values once)."""
    from guanxi.customers.models import ContactPoint

    have = set(ContactPoint.objects.filter(**{owner_field: winner}).values_list("kind", "value"))
    rows = []
    for kind, value, label in points:
        if (kind, value) in have:
            continue
        have.add((kind, value))
        rows.append(ContactPoint(**{owner_field: winner}, kind=kind, value=value, label=label, is_primary=False))
    ContactPoint.objects.bulk_create(rows)
    for kind, primary in ((ContactPoint.Kind.EMAIL, winner.email), (ContactPoint.Kind.PHONE, winner.phone)):
        if primary:
            ContactPoint.objects.filter(**{owner_field: winner}, kind=kind).update(
                is_primary=models.Case(models.When(value=primary, then=models.Value(True)), default=models.Value(False))
            )


def _fill_blank_mirrors(data: dict, winner, points: list[tuple[str, str, str]], access) -> None:
    """An empty email / phone field of the winner takes the first address the merged records have.

    (These fields mirror the primary email and phone, so a merged address becomes primary.)
    """
    for kind in ("email", "phone"):
        if kind in data or getattr(winner, kind) or not access.can_write(kind):
            continue
        first = next((value for k, value, _label in points if k == kind), None)
        if first:
            data[kind] = first


def _points_as_lists(data: dict, points: list[tuple[str, str, str]]) -> None:
    """A contact's email / phone taken from another record: pass every address, the chosen one first.

    (The contact service rewrites a contact's emails and phones from these lists, so none is lost.)
    """
    for kind, name in (("email", "emails"), ("phone", "phones")):
        if kind not in data:
            continue
        chosen = data.pop(kind)
        values = [(v, label) for k, v, label in points if k == kind]
        label = next((lab for v, lab in values if v == chosen), "")
        ordered, seen = [], set()
        for value, lab in ([(chosen, label)] if chosen else []) + values:
            if value not in seen:
                seen.add(value)
                ordered.append((value, lab))
        data[name] = ordered


def _break_parent_cycle(winner) -> bool:
    """After moving subsidiaries, the winner must not be its own ancestor."""
    model = type(winner)
    if not hasattr(winner, "parent_id"):
        return False
    seen, parent_id = set(), model._default_manager.filter(pk=winner.pk).values_list("parent_id", flat=True).first()
    while parent_id and parent_id not in seen:
        if parent_id == winner.pk:
            model._default_manager.filter(pk=winner.pk).update(parent=None)
            winner.parent_id = None
            return True
        seen.add(parent_id)
        parent_id = model._default_manager.filter(pk=parent_id).values_list("parent_id", flat=True).first()
    return False


def _update_candidates(entity_key: str, winner_id: int, loser_ids: list[int], actor) -> None:
    merged = {winner_id, *loser_ids}
    now = timezone.now()
    touching = DuplicateCandidate.objects.filter(entity=entity_key).filter(
        models.Q(first_id__in=loser_ids) | models.Q(second_id__in=loser_ids)
    )
    for candidate in touching:
        ids = set(candidate.record_ids)
        if ids <= merged:
            DuplicateCandidate.objects.filter(pk=candidate.pk).update(
                status=Status.MERGED, resolved_at=now, resolved_by=actor
            )
            continue
        other = (ids - merged).pop()
        first, second = sorted((winner_id, other))
        exists = DuplicateCandidate.objects.filter(entity=entity_key, first_id=first, second_id=second).exists()
        if exists:
            candidate.delete()
        else:
            DuplicateCandidate.objects.filter(pk=candidate.pk).update(
                first_id=first, second_id=second, group_id=min(candidate.group_id, first)
            )


@transaction.atomic
def merge_records(*, actor, entity_key: str, winner, losers: Iterable, choices: dict | None = None):
    """Merge ``losers`` into ``winner``: pick field values, keep every related record, delete the losers.

    ``choices`` maps a field name (or ``custom.<key>``) to the id of the record whose value
    the winner takes. Activities, emails and phones, account links, contacts and
    subsidiaries, tags, shares and lifecycle history move to the winner (identical ones
    once); the losers' own history stays. Audit: the winner's service records its field
    changes (an update entry), then the winner gets one ``merge`` entry naming the losers
    (display name and id), the values picked from them and the related records moved; each
    loser gets a ``merge`` entry pointing to the winner with the values it held. Their old
    URLs redirect to the winner. The actor must be allowed to edit the winner and delete
    every loser.
    """
    from guanxi.customers.models import ContactPoint

    entity = registry.entity(entity_key)
    model = entity.model
    losers = list(losers)
    if not losers:
        raise ValidationError(_("Choose at least two records to merge."))
    if any(not isinstance(o, model) for o in [winner, *losers]):
        raise ValidationError(_("Only records of the same kind can be merged."))
    loser_ids = [o.pk for o in losers]
    if winner.pk in loser_ids or len(set(loser_ids)) != len(loser_ids):
        raise ValidationError(_("A record cannot be merged into itself."))
    permissions.require(actor, entity_key, Action.EDIT)
    permissions.require_can(actor, Action.EDIT, winner)
    for loser in losers:
        permissions.require_can(actor, Action.DELETE, loser)

    # Fresh copies, locked for the rest of the transaction.
    rows = {o.pk: o for o in model._default_manager.select_for_update().filter(pk__in=[winner.pk, *loser_ids])}
    if len(rows) != len(loser_ids) + 1:
        raise Http404
    winner, losers = rows[winner.pk], [rows[i] for i in loser_ids]
    data = _choice_data(entity_key, actor, winner, rows, choices or {})
    before = audit.snapshot(winner)
    loser_snapshots = {o.pk: audit.snapshot(o) for o in losers}
    loser_labels = {o.pk: str(o) for o in losers}

    owner_field = (
        "account" if entity_key == detection.ACCOUNT else "contact" if entity_key == detection.CONTACT else None
    )
    points = []
    if owner_field:
        for record in [winner, *losers]:
            points += list(
                ContactPoint.objects.filter(**{owner_field: record})
                .order_by("-is_primary", "id")
                .values_list("kind", "value", "label")
            )

    moved = _move_relations(winner, loser_ids, skip={"customers.ContactPoint"})
    moved.update(_move_generic(winner, loser_ids))
    shares = _move_shares(winner, loser_ids)
    if shares:
        moved[gettext_noop("shares")] = shares

    if owner_field:
        _fill_blank_mirrors(data, winner, points, permissions.field_access(actor, entity_key))
    if entity_key == detection.CONTACT:
        _points_as_lists(data, points)
    if data:
        winner = _updater(entity_key)(actor, winner, data)
    if owner_field:
        _merge_points(winner, owner_field, points)
    _break_parent_cycle(winner)

    # The losers go; their history stays, with a merge entry saying where they went (and what they held).
    winner.refresh_from_db()
    winner_label = f"{winner} (#{winner.pk})"
    note = _("Merged into %(name)s (#%(id)s)") % {"name": winner, "id": winner.pk}
    for loser in losers:
        removed = {k: v for k, v in loser_snapshots[loser.pk].items() if v not in (None, "")}
        changes = {gettext_noop("merged into"): [None, winner_label], **audit.diff(removed, {})}
        audit.record_change(AuditAction.MERGE, loser, changes, note=note[:300])
    model._default_manager.filter(pk__in=loser_ids).delete()

    MergeRedirect.objects.filter(entity=entity_key, new_id__in=loser_ids).update(new_id=winner.pk)
    MergeRedirect.objects.bulk_create(
        [MergeRedirect(entity=entity_key, old_id=i, new_id=winner.pk, merged_by=actor) for i in loser_ids]
    )
    _update_candidates(entity_key, winner.pk, loser_ids, actor)

    # One merge entry on the winner: the records merged into it, the values picked from them, what moved.
    # (The winner's own update entry, written by its service above, keeps the field-level changes too.)
    picked = {k: v for k, v in audit.diff(before, audit.snapshot(winner)).items() if k in (choices or {})}
    changes = {
        gettext_noop("merged records"): [None, ", ".join(f"{loser_labels[o.pk]} (#{o.pk})" for o in losers)],
        **picked,
    }
    if moved:
        changes[gettext_noop("related records moved")] = [
            None,
            ", ".join(f"{k}: {n}" for k, n in sorted(moved.items())),
        ]
    note = ngettext(
        "Merged %(n)s duplicate into this record", "Merged %(n)s duplicates into this record", len(losers)
    ) % {"n": len(losers)}
    audit.record_change(AuditAction.MERGE, winner, changes, note=note)
    return winner
