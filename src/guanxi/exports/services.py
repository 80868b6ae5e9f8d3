"""Exports are reads; what they write is their audit entry."""

from __future__ import annotations

from django.utils.translation import gettext as _

from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction, AuditEntry
from guanxi.platform import registry


def export_record(
    *, actor, entity_key: str, fmt: str, filters: str, columns: list[str], rows: int, complete: bool = True
) -> AuditEntry:
    """Audit one export: entity, filters, format, columns and the number of rows written."""
    entity = registry.entity(entity_key)
    changes = {
        "format": [None, fmt],
        "rows": [None, rows],
        "filters": [None, filters],
    }
    if columns:
        changes["columns"] = [None, ",".join(columns)]
    note = "" if complete else _("Not every row was written (interrupted, or more rows than the format holds).")
    return audit.record(
        AuditAction.EXPORT,
        model=entity.model,
        object_repr=str(entity.label_plural),
        actor=actor,
        changes=changes,
        note=note,
    )
