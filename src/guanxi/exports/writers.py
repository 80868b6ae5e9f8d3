"""Writing a list to CSV, Excel or vCard in batches, so memory stays flat for a million rows.

Rows are read in keyset batches (``platform.pagination.paginate`` with the list's own sort),
one query per batch plus one per prefetched relation: the number of queries grows with the
number of batches, never with the number of rows. CSV and vCard are generators for a
``StreamingHttpResponse``; they run after the view has returned, so each batch re-enters the
request's tenant, actor, language and time zone (``RunContext``). Excel goes through an
openpyxl write-only workbook into a temporary file. Excel exports and large exports run in the
background worker (``exports.services.export_run``), which writes the same output to a private file.

Values are raw but readable: choice labels in the user's language, dates and times ISO
(local time), phones E.164, money and numbers as numbers, tags joined with ";", custom
fields as ``customization.services.display_value`` shows them.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import decimal
import html
import io
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone, translation
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from guanxi.access import permissions
from guanxi.customization import services as custom
from guanxi.customization.models import FieldType
from guanxi.platform import context, registry
from guanxi.platform.pagination import paginate

BATCH_SIZE = 2000
XLSX_MAX_ROWS = 1_048_575  # an Excel sheet holds 1,048,576 rows, the header included
BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


# --- context -------------------------------------------------------------------------------


@dataclass
class RunContext:
    """The request's tenant, actor, language and time zone, re-entered for each batch of a stream."""

    tenant: object
    actor: object
    meta: context.RequestMeta
    language: str
    tz: datetime.tzinfo

    @classmethod
    def capture(cls) -> RunContext:
        return cls(
            tenant=context.require_tenant(),
            actor=context.current_actor(),
            meta=context.current_meta(),
            language=translation.get_language(),
            tz=timezone.get_current_timezone(),
        )

    @contextlib.contextmanager
    def active(self):
        with (
            context.tenant_context(self.tenant, actor=self.actor, meta=self.meta),
            translation.override(self.language),
            timezone.override(self.tz),
        ):
            yield


def batches(queryset, sort: str, *, prefetch=(), size: int | None = None) -> Iterator[list]:
    """The rows of ``queryset`` in ``sort`` order, ``size`` at a time (keyset pages)."""
    cursor = None
    while True:
        page = paginate(queryset, sort=sort, cursor=cursor, limit=size or BATCH_SIZE, count=False)
        if page.items and prefetch:
            prefetch_related_objects(page.items, *prefetch)
        if page.items:
            yield page.items
        if not page.has_next:
            return
        cursor = page.next_cursor


# --- values --------------------------------------------------------------------------------


class ValueFormatter:
    """Turns a record into the export values of the chosen columns."""

    def __init__(self, entity_key: str, columns: list, *, native: bool):
        self.columns = columns
        self.native = native  # Excel: numbers, dates and times as such; CSV: text
        entity = registry.entity(entity_key)
        self.definitions = {d.key: d for d in custom.definitions_for(entity_key)} if entity.custom_fields else {}
        self.user_labels: dict = {}

    @property
    def needs_tags(self) -> bool:
        return any(c.kind == "tags" for c in self.columns)

    def header(self) -> list[str]:
        return [str(c.label) for c in self.columns]

    def row(self, obj) -> list:
        return [self.value(obj, c) for c in self.columns]

    def value(self, obj, column):
        if column.render is not None:
            return html.unescape(strip_tags(str(column.render(obj))))
        if column.key.startswith("custom."):
            return self._custom(obj, column.key[7:])
        value = getattr(obj, column.key, None)
        if column.kind in ("choice", "badge"):
            return str(getattr(obj, f"get_{column.key}_display")()) if value else ""
        if column.kind == "tags":
            return ";".join(t.name for t in value.all()) if value is not None else ""
        if value is None or value == "":
            return ""
        if column.kind == "bool" or isinstance(value, bool):
            return _("Yes") if value else _("No")
        return self._plain(value)

    def _plain(self, value):
        if isinstance(value, datetime.datetime):
            local = timezone.localtime(value) if timezone.is_aware(value) else value
            return local.replace(tzinfo=None, microsecond=0) if self.native else local.strftime(DATETIME_FORMAT)
        if isinstance(value, datetime.date):
            return value if self.native else value.isoformat()
        if isinstance(value, (int, float, decimal.Decimal)):
            return value if self.native else str(value)
        return str(value)

    def _custom(self, obj, key: str):
        definition = self.definitions.get(key)
        value = (obj.custom or {}).get(key)
        if definition is None or value in custom.EMPTY:
            return ""
        t = definition.field_type
        if self.native and t in (FieldType.INTEGER, FieldType.DECIMAL):
            try:
                return decimal.Decimal(str(value)) if t == FieldType.DECIMAL else int(value)
            except (ValueError, decimal.InvalidOperation):
                return str(value)
        if self.native and t == FieldType.DATE:
            try:
                return datetime.date.fromisoformat(value)
            except (TypeError, ValueError):
                return str(value)
        if t == FieldType.USER:
            return self._user_label(value)
        return custom.display_value(definition, value)

    def _user_label(self, user_id) -> str:
        if user_id not in self.user_labels:
            from guanxi.org.selectors import member_user_choices

            if not self.user_labels:
                self.user_labels.update(member_user_choices(active_only=False))
            self.user_labels.setdefault(user_id, f"#{user_id}")
        return str(self.user_labels[user_id])


def csv_safe(value, column) -> str:
    """Text a spreadsheet will not run as a formula (phones keep their leading "+")."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and column.kind not in ("phone", "money") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        decimal.Decimal(text)
    except decimal.InvalidOperation:
        return False
    return True


# --- the export of one list ------------------------------------------------------------------


@dataclass
class ExportJob:
    entity_key: str
    queryset: object
    columns: list
    sort: str
    actor: object
    filters: str = ""
    run: RunContext = field(default_factory=RunContext.capture)
    batch_size: int | None = None
    rows: int = 0
    complete: bool = True  # False once an Excel sheet is full
    progress: Callable[[int], None] | None = None  # called with the rows written so far after each batch

    def _progress(self) -> None:
        if self.progress is not None:
            self.progress(self.rows)

    @property
    def entity(self) -> registry.Entity:
        return registry.entity(self.entity_key)

    def _finish(self, fmt: str, *, complete: bool = True) -> None:
        from .services import export_record

        export_record(
            actor=self.actor,
            entity_key=self.entity_key,
            fmt=fmt,
            filters=self.filters,
            columns=[c.key for c in self.columns] if fmt != "vcf" else [],
            rows=self.rows,
            complete=complete,
        )

    # --- CSV ------------------------------------------------------------------------------
    def csv_chunks(self) -> Iterator[bytes]:
        """UTF-8 with a byte order mark (Excel then reads Chinese correctly), one chunk per batch."""
        complete = False
        try:
            with self.run.active():
                formatter = ValueFormatter(self.entity_key, self.columns, native=False)
                prefetch = ("tags",) if formatter.needs_tags else ()
                source = batches(self.queryset, self.sort, prefetch=prefetch, size=self.batch_size)
                buffer = io.StringIO()
                writer = csv.writer(buffer)
                writer.writerow(formatter.header())
            yield (BOM + buffer.getvalue()).encode()
            while True:
                with self.run.active():
                    batch = next(source, None)
                    if batch is None:
                        break
                    buffer = io.StringIO()
                    writer = csv.writer(buffer)
                    for obj in batch:
                        writer.writerow([csv_safe(v, c) for v, c in zip(formatter.row(obj), self.columns, strict=True)])
                    self.rows += len(batch)
                    self._progress()
                yield buffer.getvalue().encode()
            complete = True
        finally:
            with self.run.active():
                self._finish("csv", complete=complete)

    # --- Excel ----------------------------------------------------------------------------
    def xlsx_file(self):
        """A temporary file holding the workbook (deleted when closed), positioned at its start."""
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
        from openpyxl.styles import Font

        with self.run.active():
            formatter = ValueFormatter(self.entity_key, self.columns, native=True)
            workbook = Workbook(write_only=True)
            sheet = workbook.create_sheet(title=_sheet_title(str(self.entity.label_plural)))
            bold = Font(bold=True)
            header = []
            for label in formatter.header():
                cell = WriteOnlyCell(sheet, value=label)
                cell.font = bold
                header.append(cell)
            sheet.append(header)
            prefetch = ("tags",) if formatter.needs_tags else ()
            complete = True
            for batch in batches(self.queryset, self.sort, prefetch=prefetch, size=self.batch_size):
                room = XLSX_MAX_ROWS - self.rows
                for obj in batch[:room]:
                    sheet.append(
                        [_xlsx_cell(sheet, v, WriteOnlyCell, ILLEGAL_CHARACTERS_RE) for v in formatter.row(obj)]
                    )
                self.rows += min(len(batch), room)
                self._progress()
                if len(batch) > room:
                    complete = False
                    break
            output = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - handed to FileResponse, which closes it
            try:
                workbook.save(output)
            except BaseException:
                output.close()
                raise
            output.seek(0)
            self.complete = complete
            self._finish("xlsx", complete=complete)
        return output

    # --- vCard ----------------------------------------------------------------------------
    def vcf_chunks(self) -> Iterator[bytes]:
        """vCard 3.0 cards of contacts: names, organisation, title, every email and phone, address, birthday, note."""
        complete = False
        try:
            with self.run.active():
                access = permissions.field_access(self.actor, self.entity_key)
                from guanxi.customers.models import ContactPoint

                prefetch = [Prefetch("points", queryset=ContactPoint.objects.order_by("-is_primary", "kind", "id"))]
                if access.can_see("tags"):
                    prefetch.append("tags")
                source = batches(self.queryset, self.sort, prefetch=prefetch, size=self.batch_size)
            while True:
                with self.run.active():
                    batch = next(source, None)
                    if batch is None:
                        break
                    chunk = "".join(contact_vcard(obj, access) for obj in batch)
                    self.rows += len(batch)
                    self._progress()
                yield chunk.encode()
            complete = True
        finally:
            with self.run.active():
                self._finish("vcf", complete=complete)


def _sheet_title(label: str) -> str:
    for ch in "[]:*?/\\":
        label = label.replace(ch, " ")
    return label[:31] or "Sheet"


def _xlsx_cell(sheet, value, cell_class, illegal):
    if isinstance(value, str):
        value = illegal.sub("", value)
        if value.startswith("="):
            cell = cell_class(sheet, value=value)
            cell.data_type = "s"  # text, never a formula
            return cell
        return value
    if isinstance(value, datetime.datetime):
        cell = cell_class(sheet, value=value)
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
        return cell
    if isinstance(value, datetime.date):
        cell = cell_class(sheet, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    return value


# --- vCard ---------------------------------------------------------------------------------

EMAIL_TYPES = {"work": ["INTERNET", "WORK"], "home": ["INTERNET", "HOME"]}
PHONE_TYPES = {"work": ["WORK", "VOICE"], "mobile": ["CELL", "VOICE"], "home": ["HOME", "VOICE"], "fax": ["FAX"]}


def contact_vcard(contact, access) -> str:
    """One vCard 3.0 of a contact, leaving out the fields the user may not see."""
    import vobject

    from guanxi.customers.models import compose_name

    def seen(name: str) -> bool:
        return access.can_see(name)

    card = vobject.vCard()
    family = contact.family_name if seen("family_name") else ""
    given = contact.given_name if seen("given_name") else ""
    prefix = contact.get_salutation_display() if contact.salutation and seen("salutation") else ""
    card.add("n").value = vobject.vcard.Name(family=family, given=given, prefix=str(prefix))
    card.add("fn").value = compose_name(family, given)
    org = []
    if contact.account_id and seen("account"):
        org.append(contact.account.name)
    if contact.department and seen("department"):
        org = org or [""]
        org.append(contact.department)
    if org:
        card.add("org").value = org
    if contact.title and seen("title"):
        card.add("title").value = contact.title
    for point in contact.points.all():
        if point.kind == "email" and seen("email"):
            line = card.add("email")
            line.value = point.value
            line.type_paramlist = [*EMAIL_TYPES.get(point.label, ["INTERNET"]), *(["PREF"] if point.is_primary else [])]
        elif point.kind == "phone" and seen("phone"):
            line = card.add("tel")
            line.value = point.value
            line.type_paramlist = [*PHONE_TYPES.get(point.label, ["VOICE"]), *(["PREF"] if point.is_primary else [])]
    address = {
        name: getattr(contact, name) if seen(name) else ""
        for name in ("street", "district", "city", "province", "postal_code", "country")
    }
    if any(address.values()):
        card.add("adr").value = vobject.vcard.Address(
            street=address["street"],
            extended=address["district"],
            city=address["city"],
            region=address["province"],
            code=address["postal_code"],
            country=address["country"],
        )
    if contact.birthday and seen("birthday"):
        card.add("bday").value = contact.birthday.isoformat()
    if contact.description and seen("description"):
        card.add("note").value = contact.description
    if seen("tags"):
        tags = [t.name for t in contact.tags.all()]
        if tags:
            card.add("categories").value = tags
    return card.serialize()
