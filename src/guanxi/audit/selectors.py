"""Reading the audit trail."""

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext

from .models import AuditEntry

# Change keys shown before the field changes (PostgreSQL's jsonb does not keep the order keys were written in).
LEADING_KEYS = ("merged records", "merged into", "related records moved")


def ordered_changes(changes: dict | None) -> list[tuple[str, object]]:
    """The (key, [before, after]) pairs of an entry: a merge's summary first, then fields by name."""
    items = list((changes or {}).items())
    lead = {k: i for i, k in enumerate(LEADING_KEYS)}
    return sorted(items, key=lambda kv: (lead.get(kv[0], len(lead)), kv[0] if kv[0] not in lead else ""))


# Functions (model, pk) -> ids of records of the same model whose history became this record's
# (a merge keeps the merged records' entries; the dedupe app registers the lookup).
HISTORY_PREDECESSORS: list = []


def register_history_predecessors(lookup) -> None:
    if lookup not in HISTORY_PREDECESSORS:
        HISTORY_PREDECESSORS.append(lookup)


def history_for(obj, *, limit: int = 200) -> list[AuditEntry]:
    """The audit entries of one record and of the records merged into it, newest first.

    An entry of a merged record has ``from_merged_record`` set to that record's old id.
    """
    ct = ContentType.objects.get_for_model(obj)
    ids = {obj.pk}
    for lookup in HISTORY_PREDECESSORS:
        ids.update(lookup(type(obj), obj.pk))
    entries = list(
        AuditEntry.objects.filter(content_type=ct, object_id__in=ids)
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )
    for entry in entries:
        entry.from_merged_record = entry.object_id if entry.object_id != obj.pk else None
    return entries


def audit_log_queryset():
    return AuditEntry.objects.select_related("actor", "content_type")


def field_labels(model) -> dict[str, str]:
    """Human labels of a model's fields for the history view (custom fields by definition label)."""
    from guanxi.customization.services import definitions_for
    from guanxi.platform import registry

    labels = {f.name: str(f.verbose_name) for f in model._meta.get_fields() if hasattr(f, "verbose_name")}
    entity = registry.entity_for_model(model)
    if entity is not None and entity.custom_fields:
        labels.update({f"custom.{d.key}": d.label for d in definitions_for(entity.key, active_only=False)})
    return labels


def with_change_rows(entries) -> list:
    """Give each entry ``change_rows``: [(label, before, after)] with field labels in the reader's language.

    Change keys are stored in English (field names, ``custom.<key>``, or phrases such as "merged
    records"); they are shown with the field's label, else translated. One label lookup per record type.
    """
    entries = list(entries)
    labels_by_type: dict = {}
    for entry in entries:
        ct_id = entry.content_type_id
        if ct_id is not None and ct_id not in labels_by_type:
            model = ContentType.objects.get_for_id(ct_id).model_class()
            labels_by_type[ct_id] = field_labels(model) if model is not None else {}
        labels = labels_by_type.get(ct_id, {})
        entry.change_rows = [
            (
                labels.get(name) or (gettext(name) if name else name),
                *(pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)),
            )
            for name, pair in ordered_changes(entry.changes)
        ]
    return entries
