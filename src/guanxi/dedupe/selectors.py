"""Reads of the dedupe app: the review list, the merge page, where a merged record went."""

from __future__ import annotations

import datetime
import decimal
from dataclasses import dataclass, field

from django.db.models import Count, Max
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.access import permissions
from guanxi.customization import services as custom
from guanxi.platform import registry
from guanxi.platform.phones import format_phone
from guanxi.platform.registry import Action

from .detection import ACCOUNT, CONTACT, ENTITIES
from .models import DuplicateCandidate, DuplicateScan, MergeRedirect
from .services import mergeable_fields

GROUPS_PER_PAGE = 20

# What the review list shows of each record (model fields; restricted fields are left out).
SUMMARY_FIELDS = {
    ACCOUNT: ("name", "city", "phone", "email", "website", "owner", "created_at"),
    CONTACT: ("full_name", "account", "title", "email", "phone", "city", "owner", "created_at"),
}
REASON_LABELS = {
    "email": gettext_lazy("Same email"),
    "phone": gettext_lazy("Same phone"),
    "website": gettext_lazy("Same website"),
    "name": gettext_lazy("Similar name"),
    "name_same_account": gettext_lazy("Similar name, same account"),
    "name_same_city": gettext_lazy("Similar name, same city"),
}
ENTITY_ALIASES = {
    "account": ACCOUNT,
    "accounts": ACCOUNT,
    ACCOUNT: ACCOUNT,
    "contact": CONTACT,
    "contacts": CONTACT,
    CONTACT: CONTACT,
}


def entity_key_for(name: str | None) -> str | None:
    return ENTITY_ALIASES.get((name or "").strip())


def reviewable_entities(user) -> list[str]:
    """The entities whose duplicates the user may review (edit right on them)."""
    return [key for key in ENTITIES if permissions.has_action(user, key, Action.EDIT)]


def merged_into(user, entity_key: str, pk) -> int | None:
    """The id of the record ``pk`` was merged into, if the user may see it."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    new_id = MergeRedirect.objects.filter(entity=entity_key, old_id=pk).values_list("new_id", flat=True).first()
    if new_id is None:
        return None
    model = registry.entity(entity_key).model
    if not permissions.visible(user, model._default_manager.filter(pk=new_id)).exists():
        return None
    return new_id


def last_scan() -> DuplicateScan | None:
    return DuplicateScan.objects.order_by("-created_at", "-id").first()


# --- the review list ---------------------------------------------------------------------------


def display(obj, name: str) -> str:
    value = getattr(obj, name, None)
    if value is None or value == "":
        return ""
    model_field = obj._meta.get_field(name)
    if getattr(model_field, "choices", None):
        return str(getattr(obj, f"get_{name}_display")())
    if name == "phone":
        return format_phone(value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime.datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, datetime.date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, decimal.Decimal):
        return formats.localize(value, use_l10n=True)
    return str(value)


def record_queryset(entity_key: str):
    from guanxi.customers import selectors

    return selectors.account_list_queryset() if entity_key == ACCOUNT else selectors.contact_list_queryset()


@dataclass
class Group:
    group_id: int
    score: int
    records: list = field(default_factory=list)  # [(obj, [(label, value)])]
    reasons: list = field(default_factory=list)  # [(label, value, score)]
    candidate_ids: list = field(default_factory=list)

    @property
    def record_ids(self) -> str:
        return ",".join(str(obj.pk) for obj, _values in self.records)


def candidates_for(user, entity_key: str, status: str):
    model = registry.entity(entity_key).model
    visible = permissions.visible(user, model._default_manager.all()).values("pk")
    return DuplicateCandidate.objects.filter(
        entity=entity_key, status=status, first_id__in=visible, second_id__in=visible
    )


def candidate_groups(user, entity_key: str, *, status: str = "open", page: int = 1) -> dict:
    """One page of duplicate groups the user may see (both records of a pair visible), best first."""
    candidates = candidates_for(user, entity_key, status)
    groups_qs = candidates.values("group_id").annotate(top=Max("score"), n=Count("id")).order_by("-top", "group_id")
    page = max(page, 1)
    start = (page - 1) * GROUPS_PER_PAGE
    rows = list(groups_qs[start : start + GROUPS_PER_PAGE + 1])
    has_next = len(rows) > GROUPS_PER_PAGE
    rows = rows[:GROUPS_PER_PAGE]
    pairs = list(candidates.filter(group_id__in=[r["group_id"] for r in rows]).order_by("-score", "id"))
    record_ids = {i for c in pairs for i in c.record_ids}
    records = {o.pk: o for o in permissions.visible(user, record_queryset(entity_key)).filter(pk__in=record_ids)}
    access = permissions.field_access(user, entity_key)
    names = [n for n in SUMMARY_FIELDS[entity_key] if access.can_see("family_name" if n == "full_name" else n)]
    model = registry.entity(entity_key).model
    columns = [str(model._meta.get_field(n).verbose_name).capitalize() for n in names]
    groups = {r["group_id"]: Group(group_id=r["group_id"], score=r["top"]) for r in rows}
    for candidate in pairs:
        group = groups[candidate.group_id]
        group.candidate_ids.append(candidate.pk)
        for rid in candidate.record_ids:
            if rid in records and all(obj.pk != rid for obj, _v in group.records):
                group.records.append((records[rid], [display(records[rid], n) for n in names]))
        for reason in candidate.reasons:
            label = str(REASON_LABELS.get(reason.get("kind"), reason.get("kind")))
            value = str(reason.get("value") or "")
            if reason.get("kind") in ("email", "phone", "website") and not access.can_see(reason["kind"]):
                value = ""
            if reason.get("kind") == "phone" and value:
                value = format_phone(value)
            entry = (label, value)
            if entry not in [(lab, val) for lab, val, _s in group.reasons]:
                group.reasons.append((label, value, candidate.score))
    for group in groups.values():
        group.records.sort(key=lambda r: r[0].pk)
    return {
        "groups": [g for g in groups.values() if len(g.records) > 1],
        "columns": columns,
        "page": page,
        "has_next": has_next,
        "has_prev": page > 1,
    }


# --- the merge page --------------------------------------------------------------------------


@dataclass
class MergeRow:
    name: str  # field name or custom.<key>
    label: str
    values: list  # [(record id, display value)] in record order
    chosen: int  # record id whose value is preselected
    differs: bool
    writable: bool
    errors: list = field(default_factory=list)


def merge_records_for(user, entity_key: str, ids: list[int]) -> list:
    """The records to merge, in the given order; 404 unless the user may see every one."""
    from django.http import Http404

    ids = list(dict.fromkeys(ids))
    if len(ids) < 2:
        raise Http404
    found = {o.pk: o for o in permissions.visible(user, record_queryset(entity_key)).filter(pk__in=ids)}
    if len(found) != len(ids):
        raise Http404
    return [found[i] for i in ids]


def merge_rows(user, entity_key: str, records: list, winner) -> list[MergeRow]:
    """One row per field that has a value somewhere: the values side by side, the winner's preselected
    unless it is empty and another record has one."""
    access = permissions.field_access(user, entity_key)
    rows = []
    for f in mergeable_fields(entity_key):
        if not access.can_see(f.name):
            continue
        values = [(o.pk, display(o, f.name)) for o in records]
        raw = [(o.pk, getattr(o, f.attname)) for o in records]
        rows.append(_row(f.name, str(f.verbose_name).capitalize(), values, raw, winner, access))
    if registry.entity(entity_key).custom_fields:
        for d in custom.definitions_for(entity_key):
            name = f"custom.{d.key}"
            if not access.can_see(name):
                continue
            raw = [(o.pk, (o.custom or {}).get(d.key)) for o in records]
            values = [(pk, custom.display_value(d, v)) for pk, v in raw]
            rows.append(_row(name, str(d.label), values, raw, winner, access))
    return [r for r in rows if any(v for _pk, v in r.values)]


def _row(name, label, values, raw, winner, access) -> MergeRow:
    def empty(v):
        return v in (None, "", [], {})

    by_id = dict(raw)
    chosen = winner.pk
    if empty(by_id.get(winner.pk)) and access.can_write(name):
        chosen = next((pk for pk, v in raw if not empty(v)), winner.pk)
    distinct = {str(v) for _pk, v in raw}
    return MergeRow(
        name=name,
        label=label,
        values=values,
        chosen=chosen,
        differs=len(distinct) > 1,
        writable=access.can_write(name),
    )


def open_duplicates_of(user, obj) -> dict | None:
    """{count, merge_url} when ``obj`` has open duplicate candidates the user may review, else None."""
    from django.db.models import Q
    from django.urls import reverse
    from django.utils.http import urlencode

    entity = registry.entity_for_model(type(obj))
    if entity is None or entity.key not in ENTITIES or not permissions.has_action(user, entity.key, Action.EDIT):
        return None
    others = set()
    for first, second in DuplicateCandidate.objects.filter(
        Q(first_id=obj.pk) | Q(second_id=obj.pk), entity=entity.key, status=DuplicateCandidate.Status.OPEN
    ).values_list("first_id", "second_id"):
        others.add(second if first == obj.pk else first)
    if not others:
        return None
    visible = sorted(
        permissions.visible(user, entity.model._default_manager.filter(pk__in=others)).values_list("pk", flat=True)
    )
    if not visible:
        return None
    ids = ",".join(str(i) for i in [obj.pk, *visible])
    return {
        "count": len(visible),
        "merge_url": reverse("dedupe:merge") + "?" + urlencode({"entity": entity.key, "ids": ids}),
    }


def merged_record_ids(model, pk) -> list[int]:
    """Ids of the records of ``model`` merged into record ``pk`` (redirects point to the last survivor)."""
    from guanxi.platform import registry

    entity = registry.entity_for_model(model)
    if entity is None:
        return []
    return list(MergeRedirect.objects.filter(entity=entity.key, new_id=pk).values_list("old_id", flat=True))
