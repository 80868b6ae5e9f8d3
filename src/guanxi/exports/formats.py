"""The export formats and which entities offer which."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class ExportFormat:
    code: str  # the ``format`` query parameter
    label: object
    icon: str  # Bootstrap icon name
    extension: str
    content_type: str


CSV = ExportFormat("csv", _("CSV (UTF-8)"), "filetype-csv", "csv", "text/csv; charset=utf-8")
XLSX = ExportFormat(
    "xlsx",
    _("Excel workbook"),
    "file-earmark-excel",
    "xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
VCF = ExportFormat("vcf", _("vCard (address book)"), "person-vcard", "vcf", "text/vcard; charset=utf-8")

# Entities whose records are people with an address book card.
VCARD_ENTITIES = {"customers.contact"}


def formats_for(entity_key: str) -> tuple[ExportFormat, ...]:
    return (CSV, XLSX, VCF) if entity_key in VCARD_ENTITIES else (CSV, XLSX)


def format_for(entity_key: str, code: str) -> ExportFormat | None:
    return next((f for f in formats_for(entity_key) if f.code == code), None)
