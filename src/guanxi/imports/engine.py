"""The import engine: reads a job's file in chunks, transforms, de-duplicates and writes them.

Per chunk (``CHUNK_SIZE`` rows): every cell is parsed by its target's transform; the
entity's writer builds record data and looks up relations; one query per active
de-duplication rule finds existing records; records to update are fetched in one query
and checked against ``permissions.visible(user, qs, "edit")``; every row is validated;
then, in ONE transaction, the writer bulk-writes the chunk, an ``ImportRow`` is stored for
every row and the job's checkpoint (``next_row``, counts, heartbeat) moves on. A crash
loses at most the chunk in progress, which is done again on resume; a bad row is reported
and never written. A chunk the database refuses (a constraint the checks missed) is redone
row by row, each in a savepoint, so only the offending rows fail.

A dry run (preview) runs the same steps without writing: counts over the whole file and
the first rows with their problems.
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import hashlib
import io
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from queue import Empty, Queue

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.validators import URLValidator, validate_email
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from guanxi.access import permissions
from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.platform.db import statistics
from guanxi.platform.phones import normalize_phone
from guanxi.platform.registry import Action

from . import fastwrite, readers, specs
from . import transforms as t
from .models import ImportJob, ImportRow

logger = logging.getLogger(__name__)

CHUNK_SIZE = 5000
PIPELINE = True  # parse the next chunk in a second thread while this one is written
# Refresh the planner's statistics after these chunks: a tenant importing into empty tables has
# statistics saying it has no rows, and PostgreSQL then answers the de-duplication look-ups by
# filtering every row of the tenant instead of probing the (tenant, kind, value) index (seconds
# per chunk at a million rows).
ANALYZE_AFTER = {1, 4, 16, 64, 256}
ANALYZE_MODELS = ("customers.Contact", "customers.Account", "customers.ContactPoint")
PREVIEW_ROWS = 50
STALE_AFTER = timedelta(minutes=5)
POLICIES = ("skip", "update", "create")
CREATED, UPDATED, SKIPPED, FAILED = (ImportRow.Action.CREATED, ImportRow.Action.UPDATED, ImportRow.Action.SKIPPED,
                                     ImportRow.Action.FAILED)  # fmt: skip
DEFERRED = "deferred"  # duplicate of a record created earlier in the same chunk: written in a next round


class Lost(Exception):
    """The job was cancelled, or another worker took it over: stop without writing."""


@dataclass(eq=False)
class Row:
    number: int
    cells: list
    values: dict = field(default_factory=dict)
    cell_errors: list = field(default_factory=list)  # [(column index, message)]
    errors: list = field(default_factory=list)  # [(field names, message)]
    warnings: list = field(default_factory=list)
    data: dict = field(default_factory=dict)
    custom: dict = field(default_factory=dict)
    tags: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    keys: dict = field(default_factory=dict)
    action: str = ""
    reason: str = ""
    match_id: int | None = None
    earlier: int | None = None
    instance: object = None
    obj: object = None
    changes: dict | None = None
    audit: dict = field(default_factory=dict)
    fields: list = field(default_factory=list)
    related: list = field(default_factory=list)

    def error(self, message, fields=()) -> None:
        self.errors.append((tuple(fields), str(message)))

    @property
    def failed(self) -> bool:
        return bool(self.cell_errors or self.errors)


class Bloom:
    """Keys seen in earlier chunks of a dry run, in constant memory (16 MiB, negligible false hits)."""

    def __init__(self, bits: int = 1 << 27, hashes: int = 7):
        self.bits, self.hashes = bits, hashes
        self.array = bytearray(bits // 8)

    def _positions(self, key: str):
        digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
        a, b = int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little") | 1
        return [(a + i * b) % self.bits for i in range(self.hashes)]

    def add(self, key: str) -> None:
        for p in self._positions(key):
            self.array[p >> 3] |= 1 << (p & 7)

    def __contains__(self, key: str) -> bool:
        return all(self.array[p >> 3] & (1 << (p & 7)) for p in self._positions(key))


def default_options(spec: specs.ImportSpec) -> dict:
    return {
        "policy": "skip",
        "rules": list(spec.default_rules),
        "create_related": True,
        "phone_region": settings.PHONE_DEFAULT_REGION,
        "day_first": False,
    }


def open_job_source(job: ImportJob) -> readers.Source:
    f = job.file.open("rb")
    source = readers.open_source(f, format=job.format, encoding=job.encoding, delimiter=job.delimiter, sheet=job.sheet)
    source._closers.append(f.close)
    return source


class Run:
    """One pass over a job's file: a dry run (preview) or the import itself."""

    def __init__(self, job: ImportJob, *, dry_run: bool, token: str = ""):
        self.job, self.dry_run, self.token = job, dry_run, token
        self.spec = specs.get(job.entity)
        self.actor = job.created_by
        self.options = {**default_options(self.spec), **(job.options or {})}
        self.targets = self.spec.target_map()
        self.header = list(job.header)
        self.columns = {int(i): self.targets[k] for i, k in (job.mapping or {}).items() if k in self.targets}
        self.field_columns: dict[str, list[int]] = {}
        for index, target in self.columns.items():
            for name in (*target.written_fields, target.key):
                self.field_columns.setdefault(name, []).append(index)
        self.rules = [rule for rule in self.spec.rules if rule.key in self.options["rules"]]
        self.policy = self.options["policy"] if self.options["policy"] in POLICIES else "skip"
        self.note = _("Import #%(id)s") % {"id": job.pk}
        self.writer = self.spec.writer(actor=self.actor, options=self.options, note=self.note)
        self.model = self.spec.entity.model
        self.content_type = ContentType.objects.get_for_model(self.model)
        self.bloom = Bloom() if dry_run else None
        self._lookups: dict = {}
        self._users: dict | None = None
        self.parsers = self._compile_parsers()

    # --- parsing cells ----------------------------------------------------------------------------

    def parse_row(self, row: Row) -> None:
        cells = row.cells
        width = len(cells)
        values = row.values
        for index, key, multi, parse in self.parsers:
            raw = cells[index] if index < width else None
            if raw is None or (raw.__class__ is str and (not raw or raw.isspace())):
                continue  # t.is_empty
            try:
                value = parse(raw)
            except ValidationError as exc:
                row.cell_errors.append((index, " ".join(exc.messages)))
                continue
            if value is None or value == "" or value == []:
                continue
            if multi:
                values.setdefault(key, []).extend(value if isinstance(value, list) else [value])
            else:
                values[key] = value

    def _compile_parsers(self) -> list:
        """(column, target key, multi, parse(raw)) per mapped column, in column order.

        ``parse`` is ``parse_value`` for the target, with shortcuts that give the same results
        for the frequent cases: plain text cells, e-mail and phone cells (the spec's parsers),
        names (cached: they repeat) and choices (cached per cell value).
        """
        parsers = []
        for index, target in sorted(self.columns.items()):
            parsers.append((index, target.key, target.multi, self._parser(target)))
        return parsers

    def _parser(self, target: specs.Target):
        kind = target.kind

        def generic(raw, target=target):
            return self.parse_value(target, raw)

        if target.definition is not None:
            return generic
        if kind == specs.TEXT:
            limit = target.max_length

            def text(raw):
                if raw.__class__ is not str:
                    return generic(raw)
                value = raw.strip()
                if limit and len(value) > limit:
                    return generic(raw)  # raises with the message
                return value

            return text
        if kind in (specs.EMAIL, specs.PHONE):
            single = self._email if kind == specs.EMAIL else self._phone

            def point(raw):
                return single(raw.strip()) if raw.__class__ is str else generic(raw)

            return point
        if kind in (specs.FULL_NAME, specs.CHOICE, specs.RELATION):
            cache: dict = {}

            def cached(raw):
                if raw.__class__ is not str:
                    return generic(raw)
                found = cache.get(raw)
                if found is None:
                    if len(cache) > 50_000:
                        cache.clear()
                    try:
                        found = cache[raw] = (generic(raw), None)
                    except ValidationError as exc:
                        found = cache[raw] = (None, exc)
                if found[1] is not None:
                    raise found[1]
                value = found[0]
                return list(value) if isinstance(value, list) else value

            return cached
        return generic

    def _email(self, value: str) -> str:
        parser = self.spec.parsers.get(specs.EMAIL)
        if parser is not None:
            return parser(value)
        value = value.strip().lower()
        validate_email(value)
        return value

    def _phone(self, value: str) -> str:
        parser = self.spec.parsers.get(specs.PHONE)
        region = self.options.get("phone_region") or None
        return parser(value, region) if parser is not None else normalize_phone(value, region)

    def parse_value(self, target: specs.Target, raw):
        kind = target.kind
        if target.definition is not None:
            return self.parse_custom(target, raw)
        if kind == specs.TEXT:
            text = t.text(raw)
            if target.max_length and len(text) > target.max_length:
                raise ValidationError(_("At most %(n)s characters.") % {"n": target.max_length})
            return text
        if kind == specs.EMAIL:
            return self._email(t.text(raw))
        if kind == specs.EMAILS:
            return [self._email(v) for v in t.split_list(raw)]
        if kind == specs.PHONE:
            return self._phone(t.text(raw))
        if kind == specs.PHONES:
            return [self._phone(v) for v in t.split_list(raw)]
        if kind == specs.DATE:
            return t.parse_date(raw, day_first=bool(self.options.get("day_first")))
        if kind == specs.BOOL:
            return t.parse_bool(raw)
        if kind == specs.CHOICE:
            return t.parse_choice(raw, target.choice_map())
        if kind == specs.DECIMAL:
            return t.parse_decimal(raw)
        if kind == specs.URL:
            text = t.text(raw)
            if "://" not in text:
                text = "https://" + text
            URLValidator(message=_("“%(value)s” is not a web address.") % {"value": t.text(raw)})(text)
            return text
        if kind == specs.TAGS:
            names = t.split_list(raw)
            if any(len(n) > 60 for n in names):
                raise ValidationError(_("Tags have at most 60 characters."))
            return names
        if kind == specs.USER:
            return self.user_id(t.text(raw))
        if kind == specs.LOOKUP:
            return self.lookup(target.lookup_model, t.text(raw))
        if kind == specs.FULL_NAME:
            return t.split_name(t.text(raw))
        return t.text(raw)  # RELATION and anything else: the text, resolved by the writer

    def parse_custom(self, target: specs.Target, raw):
        from guanxi.customization.models import FieldType
        from guanxi.customization.services import clean_value

        d = target.definition
        if d.field_type == FieldType.DATE:
            raw = t.parse_date(raw, day_first=bool(self.options.get("day_first")))
        elif d.field_type == FieldType.BOOLEAN:
            raw = t.parse_bool(raw)
        elif d.field_type == FieldType.CHOICE:
            raw = t.parse_choice(raw, target.choice_map())
        elif d.field_type == FieldType.MULTI_CHOICE:
            raw = [t.parse_choice(v, target.choice_map()) for v in t.split_list(raw)]
        elif d.field_type == FieldType.PHONE:
            raw = self._phone(t.text(raw))
        elif d.field_type in (FieldType.INTEGER, FieldType.DECIMAL):
            raw = t.parse_decimal(raw)
        elif d.field_type == FieldType.USER:
            raw = self.user_id(t.text(raw))
        elif not isinstance(raw, str):
            raw = t.text(raw)
        return clean_value(d, raw)

    def user_id(self, text: str) -> int:
        if self._users is None:
            from guanxi.org.models import Member

            self._users = {}
            names: dict[str, list[int]] = {}
            for uid, email, name in Member.objects.filter(is_active=True).values_list(
                "user_id", "user__email", "user__full_name"
            ):
                self._users[t.norm(email)] = uid
                names.setdefault(t.norm(name), []).append(uid)
            for name, ids in names.items():
                if len(ids) == 1:
                    self._users.setdefault(name, ids[0])
        uid = self._users.get(t.norm(text))
        if uid is None:
            raise ValidationError(_("No user “%(value)s” in this company.") % {"value": text})
        return uid

    def lookup(self, model, text: str) -> int:
        table = self._lookups.get(model)
        if table is None:
            table = {}
            for pk, name in model.objects.order_by("-pk").values_list("pk", "name"):
                table[t.norm(name)] = pk
            self._lookups[model] = table
        pk = table.get(t.norm(text))
        if pk is None:
            raise ValidationError(
                _("No %(kind)s named “%(value)s”.") % {"kind": model._meta.verbose_name, "value": text}
            )
        return pk

    # --- preparing a chunk ----------------------------------------------------------------------------

    def prepare(self, raw_rows: list[tuple[int, list]]) -> list[Row]:
        return self.finish(self.parse_chunk(raw_rows))

    def parse_chunk(self, raw_rows: list[tuple[int, list]]) -> list[Row]:
        """Cells to values to record data: no database access (it may run in the reading thread)."""
        rows = [Row(number, cells) for number, cells in raw_rows]
        for row in rows:
            self.parse_row(row)
        for row in rows:
            if not row.failed:
                self.writer.build(row)
        return rows

    def finish(self, rows: list[Row]) -> list[Row]:
        """Relations, de-duplication and validation of parsed rows (queries, one per kind per chunk)."""
        live = [row for row in rows if not row.failed]
        self.writer.resolve(live)
        self.decide([row for row in live if not row.failed])
        return rows

    @property
    def parses_without_database(self) -> bool:
        """No mapped column needs a query to parse (users and looked-up names load tables lazily)."""
        from guanxi.customization.models import FieldType

        for target in self.columns.values():
            if target.kind in (specs.USER, specs.LOOKUP):
                return False
            if target.definition is not None and target.definition.field_type == FieldType.USER:
                return False
        return True

    def chunks(self, numbered_rows) -> Iterator[tuple[list, list[Row]]]:
        """(raw rows, parsed rows) per chunk of ``CHUNK_SIZE`` rows.

        Reading the file and parsing cells is CPU work that needs no database: when the mapping
        allows it, it runs in a second thread, one chunk ahead, while this thread waits for the
        database to write the previous chunk (psycopg releases the GIL while it waits). At most
        two parsed chunks wait in the queue, so memory stays flat. Everything that reads or
        writes the database (look-ups, de-duplication, writes, checkpoints) stays in this
        thread, in file order, so resuming and exactly-once are as without the thread.
        """

        def batches():
            chunk: list = []
            for item in numbered_rows:
                chunk.append(item)
                if len(chunk) >= CHUNK_SIZE:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk

        if not (PIPELINE and self.parses_without_database):
            for chunk in batches():
                yield chunk, self.parse_chunk(chunk)
            return
        queue: Queue = Queue(maxsize=2)
        stop = threading.Event()
        language = translation.get_language()

        def produce():
            try:
                if language:
                    translation.activate(language)
                for chunk in batches():
                    if stop.is_set():
                        return
                    queue.put((chunk, self.parse_chunk(chunk)))
                queue.put(None)
            except BaseException as exc:  # handed to the writing thread
                queue.put(exc)

        thread = threading.Thread(target=contextvars.copy_context().run, args=(produce,), daemon=True)
        thread.start()
        try:
            while True:
                item = queue.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            while thread.is_alive():
                with contextlib.suppress(Empty):
                    queue.get_nowait()
                thread.join(0.05)

    def decide(self, rows: list[Row]) -> None:
        """Match rows against existing records, choose create / update / skip, load, validate."""
        found = {}
        with fastwrite.exact_lookups():
            for rule in self.rules:
                keys = {k for row in rows for k in row.keys.get(rule.key, ())}
                found[rule.key] = rule.lookup(keys) if keys else {}
        for row in rows:
            row.match_id, rule_label = None, ""
            for rule in self.rules:
                for key in row.keys.get(rule.key, ()):
                    ids = found[rule.key].get(key)
                    if ids:
                        row.match_id, rule_label = ids[0], rule.label
                        break
                if row.match_id:
                    break
            if row.match_id is None:
                row.action = CREATED
            elif self.policy == "create":
                row.action = CREATED
                row.warnings.append(_("Also matches an existing record (#%(id)s).") % {"id": row.match_id})
            elif self.policy == "skip":
                row.action = SKIPPED
                row.reason = _("Matches an existing record (#%(id)s) by %(rule)s.") % {
                    "id": row.match_id,
                    "rule": rule_label,
                }
            else:
                row.action = UPDATED
        self._name_skips([r for r in rows if r.action == SKIPPED])
        updates = [r for r in rows if r.action == UPDATED]
        if updates:
            ids = {r.match_id for r in updates}
            editable = set(
                permissions.visible(self.actor, self.model.objects.filter(pk__in=ids), Action.EDIT).values_list(
                    "pk", flat=True
                )
            )
            for row in updates:
                if row.match_id not in editable:
                    row.error(_("A matching record (#%(id)s) exists that you may not edit.") % {"id": row.match_id})
            self.writer.load([r for r in updates if not r.failed])
        for row in rows:
            if not row.failed and row.action in (CREATED, UPDATED):
                self.writer.validate(row)
        self._within_file([r for r in rows if not r.failed and r.action in (CREATED, UPDATED)])

    def _name_skips(self, rows: list[Row]) -> None:
        """Say which record (or which earlier row of this file) a skipped row duplicates: two queries."""
        if not rows:
            return
        ids = {r.match_id for r in rows}
        earlier = dict(
            ImportRow.objects.filter(
                job=self.job, content_type=self.content_type, object_id__in=ids, related=False
            ).values_list("object_id", "row_number")
        )
        labels = {o.pk: str(o) for o in self.model.objects.filter(pk__in=ids)}
        for row in rows:
            if row.match_id in earlier:
                row.reason = _("Duplicate of row %(n)s of this file.") % {"n": earlier[row.match_id]}
            else:
                row.reason = _("Matches “%(label)s” (#%(id)s).") % {
                    "label": labels.get(row.match_id, "?"),
                    "id": row.match_id,
                }

    def _within_file(self, rows: list[Row]) -> None:
        """Duplicates inside the file: of an earlier row of this chunk, or (dry run) of an earlier chunk."""
        if self.policy == "create":
            return
        seen: dict[tuple[str, str], Row] = {}
        for row in rows:
            earlier = None
            if row.action == CREATED:
                for rule in self.rules:
                    for key in row.keys.get(rule.key, ()):
                        earlier = seen.get((rule.key, key))
                        if earlier is not None:
                            break
                    if earlier is not None:
                        break
                if earlier is None and self._seen_before(row):
                    earlier = Row(0, [])
            if earlier is None:
                for rule in self.rules:
                    for key in row.keys.get(rule.key, ()):
                        seen.setdefault((rule.key, key), row)
                continue
            where = (
                _("row %(n)s of this file") % {"n": earlier.number}
                if earlier.number
                else _("an earlier row of this file")
            )
            if self.policy == "skip":
                row.action = SKIPPED
                row.reason = _("Duplicate of %(where)s.") % {"where": where}
            else:
                row.action = DEFERRED
                row.earlier = earlier.number
                row.reason = _("Updates the record of %(where)s.") % {"where": where}

    def _seen_before(self, row: Row) -> bool:
        """Dry run: has an earlier chunk a row with one of this row's keys?"""
        if self.bloom is None:
            return False
        return any(f"{rule.key}\x00{k}" in self.bloom for rule in self.rules for k in row.keys.get(rule.key, ()))

    # --- writing a chunk -----------------------------------------------------------------------------

    def write_chunk(self, raw_rows: list[tuple[int, list]], rows: list[Row]) -> list[Row]:
        """Write a prepared chunk with its ImportRows and checkpoint in one transaction."""
        last = raw_rows[-1][0]
        try:
            with transaction.atomic():
                fastwrite.asynchronous_commit()
                self._write_rounds(rows)
                self._record(rows, last)
        except DatabaseError:
            logger.warning("Import %s: chunk ending at row %s refused; retrying row by row", self.job.pk, last)
            self.writer.rollback()
            rows = self.prepare(raw_rows)
            with transaction.atomic():
                fastwrite.asynchronous_commit()
                self._write_one_by_one(rows)
                self._record(rows, last)
        except BaseException:
            self.writer.rollback()
            raise
        self.writer.commit()
        return rows

    def _write_rounds(self, rows: list[Row]) -> None:
        pending = rows
        while pending:
            creates = [r for r in pending if not r.failed and r.action == CREATED]
            updates = [r for r in pending if not r.failed and r.action == UPDATED]
            if creates or updates:
                self.writer.write(creates, updates)
            pending = [r for r in pending if not r.failed and r.action == DEFERRED]
            if pending:
                self._redo(pending)

    def _redo(self, rows: list[Row]) -> None:
        """Deferred rows: decide again now that the records of earlier rows exist."""
        for row in rows:
            row.warnings, row.reason, row.instance, row.match_id = [], "", None, None
        self.writer.resolve(rows)
        self.decide([r for r in rows if not r.failed])

    def _write_one_by_one(self, rows: list[Row]) -> None:
        for row in rows:
            if not row.failed and row.action == DEFERRED:
                self._redo([row])
            if row.failed or row.action not in (CREATED, UPDATED):
                continue
            state = self.writer.snapshot()
            try:
                with transaction.atomic():
                    if row.action == CREATED:
                        self.writer.write([row], [])
                    else:
                        self.writer.write([], [row])
            except DatabaseError as exc:
                self.writer.restore(state)
                row.obj, row.related = None, []
                row.error(_("Could not be saved: %(error)s") % {"error": str(exc).strip()[:200]})

    def _record(self, rows: list[Row], last: int) -> None:
        counts = {CREATED: 0, UPDATED: 0, SKIPPED: 0, FAILED: 0}
        if fastwrite.enabled():
            self._record_fast(rows, counts)
        else:
            self._record_models(rows, counts)
        now = timezone.now()
        done = ImportJob.objects.filter(pk=self.job.pk, status=ImportJob.Status.RUNNING, run_token=self.token).update(
            next_row=last,
            processed=F("processed") + len(rows),
            created=F("created") + counts[CREATED],
            updated=F("updated") + counts[UPDATED],
            skipped=F("skipped") + counts[SKIPPED],
            failed=F("failed") + counts[FAILED],
            heartbeat_at=now,
        )
        if done != 1:
            raise Lost

    def _record_fast(self, rows: list[Row], counts: dict) -> None:
        """The ImportRows of a chunk as plain rows (the same values as ``_record_models``)."""
        records = []
        job_id, own_ct = self.job.pk, self.content_type.pk
        for row in rows:
            action = FAILED if row.failed else row.action
            counts[action] += 1
            obj = row.obj
            records.append(
                {
                    "job_id": job_id,
                    "row_number": row.number,
                    "action": action,
                    "content_type_id": own_ct if obj is not None else None,
                    "object_id": obj.pk if obj is not None else None,
                    "related": False,
                    "changes": (row.changes or None) if action == UPDATED else None,
                    "values": [readers.cell_text(c) for c in row.cells] if action == FAILED else None,
                    "error": str(self.message(row) if action == FAILED else (row.reason if action == SKIPPED else "")),
                }
            )
            for related in row.related:
                records.append(
                    {
                        "job_id": job_id,
                        "row_number": row.number,
                        "action": CREATED,
                        "content_type_id": ContentType.objects.get_for_model(related).pk,
                        "object_id": related.pk,
                        "related": True,
                        "changes": None,
                        "values": None,
                        "error": "",
                    }
                )
        fastwrite.insert(ImportRow, records)

    def _record_models(self, rows: list[Row], counts: dict) -> None:
        records = []
        for row in rows:
            action = FAILED if row.failed else row.action
            counts[action] += 1
            records.append(
                ImportRow(
                    job=self.job,
                    row_number=row.number,
                    action=action,
                    content_type=self.content_type if row.obj is not None else None,
                    object_id=row.obj.pk if row.obj is not None else None,
                    changes=(row.changes or None) if action == UPDATED else None,
                    values=[readers.cell_text(c) for c in row.cells] if action == FAILED else None,
                    error=self.message(row) if action == FAILED else (row.reason if action == SKIPPED else ""),
                )
            )
            for obj in row.related:
                records.append(
                    ImportRow(
                        job=self.job,
                        row_number=row.number,
                        action=CREATED,
                        content_type=ContentType.objects.get_for_model(obj),
                        object_id=obj.pk,
                        related=True,
                    )
                )
        ImportRow.objects.bulk_create(records, batch_size=1000)

    # --- reporting -------------------------------------------------------------------------------------

    def column_name(self, index: int) -> str:
        return self.header[index] if index < len(self.header) else _("Column %(n)s") % {"n": index + 1}

    def problems(self, row: Row) -> tuple[dict[int, list[str]], list[str]]:
        """{column index: messages} and messages about the whole row."""
        cells: dict[int, list[str]] = {}
        general: list[str] = []
        for index, message in row.cell_errors:
            cells.setdefault(index, []).append(message)
        for fields, message in row.errors:
            columns = sorted({c for name in fields for c in self.field_columns.get(name, ())})
            if columns:
                for index in columns:
                    cells.setdefault(index, []).append(message)
            else:
                general.append(f"{', '.join(fields)}: {message}" if fields and fields[0] else message)
        return cells, general

    def message(self, row: Row) -> str:
        cells, general = self.problems(row)
        parts = [f"{self.column_name(i)}: {' '.join(m)}" for i, m in sorted(cells.items())]
        return "; ".join(parts + general)


# --- the dry run ---------------------------------------------------------------------------------------


def preview(job: ImportJob, token: str) -> None:
    """Check the whole file without writing; store counts and the first rows' outcomes on the job."""
    run = Run(job, dry_run=True, token=token)
    counts = {CREATED: 0, UPDATED: 0, SKIPPED: 0, FAILED: 0}
    by_column: dict[str, int] = {}
    sample: list[dict] = []
    processed = 0
    with open_job_source(job) as source:
        chunk: list = []

        def flush():
            nonlocal processed
            rows = run.prepare(chunk)
            for row in rows:
                action = FAILED if row.failed else (UPDATED if row.action == DEFERRED else row.action)
                counts[action] += 1
                cells, general = run.problems(row)
                for index in cells:
                    name = run.column_name(index)
                    by_column[name] = by_column.get(name, 0) + 1
                if general:
                    by_column["—"] = by_column.get("—", 0) + 1
                if len(sample) < PREVIEW_ROWS:
                    sample.append(
                        {
                            "number": row.number,
                            "cells": [readers.cell_text(c) for c in row.cells],
                            "problems": {str(i): " ".join(m) for i, m in cells.items()},
                            "errors": general,
                            "warnings": [str(w) for w in row.warnings],
                            "action": action,
                            "reason": str(row.reason),
                        }
                    )
                if not row.failed and row.action == CREATED:
                    for rule in run.rules:
                        for key in row.keys.get(rule.key, ()):
                            run.bloom.add(f"{rule.key}\x00{key}")
            processed += len(rows)
            state = {"processed": processed, "counts": counts, "rows": sample, "errors_by_column": by_column}
            if not ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PREVIEWING, run_token=token).update(
                preview=state, heartbeat_at=timezone.now()
            ):
                raise Lost

        for number, cells in source.rows():
            chunk.append((number, cells))
            if len(chunk) >= CHUNK_SIZE:
                flush()
                chunk = []
        if chunk:
            flush()
    state = {"processed": processed, "counts": counts, "rows": sample, "errors_by_column": by_column, "done": True}
    if not ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PREVIEWING, run_token=token).update(
        preview=state, status=ImportJob.Status.PREVIEWED, total_rows=processed, heartbeat_at=timezone.now()
    ):
        raise Lost


# --- the import ------------------------------------------------------------------------------------------


def claim(job: ImportJob) -> str | None:
    """Take a queued job (or a running one whose worker stopped beating): returns the run token."""
    token = uuid.uuid4().hex
    now = timezone.now()
    stale = now - STALE_AFTER
    taken = (
        ImportJob.objects.filter(pk=job.pk)
        .filter(
            Q(status=ImportJob.Status.QUEUED)
            | Q(status=ImportJob.Status.RUNNING, heartbeat_at__lt=stale)
            | Q(status=ImportJob.Status.RUNNING, heartbeat_at__isnull=True)
        )
        .update(
            status=ImportJob.Status.RUNNING,
            run_token=token,
            heartbeat_at=now,
            run_started_at=now,
            run_start_processed=F("processed"),
            started_at=Coalesce(F("started_at"), now),
            attempts=F("attempts") + 1,
            error="",
        )
    )
    return token if taken else None


def count_rows(job: ImportJob) -> int | None:
    if job.format == "xlsx":
        return None
    with open_job_source(job) as source:
        return sum(1 for _row in source.rows())


def run(job: ImportJob, token: str) -> None:
    """Import the job's file from its checkpoint on; the caller claimed it (``claim``)."""
    if job.total_rows is None:
        total = count_rows(job)
        if total is not None:
            ImportJob.objects.filter(pk=job.pk).update(total_rows=total)
    runner = Run(job, dry_run=False, token=token)
    with open_job_source(job) as source:
        for n, (chunk, rows) in enumerate(runner.chunks(source.rows(after=job.next_row)), start=1):
            runner.write_chunk(chunk, runner.finish(rows))
            if n in ANALYZE_AFTER:
                statistics.refresh(runner.writer.model, *ANALYZE_MODELS)
    job.refresh_from_db()
    error_file = write_error_file(job) if job.failed else ""
    finished = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING, run_token=token).update(
        status=ImportJob.Status.DONE,
        finished_at=timezone.now(),
        total_rows=F("processed"),
        error_file=error_file,
        run_token="",
    )
    if not finished:
        raise Lost
    job.refresh_from_db()
    hook = getattr(runner.writer, "import_finished", None)
    if hook is not None:
        hook(job)  # e.g. one notification per new owner, from the journal (so a resumed import counts all)
    audit.record(
        AuditAction.IMPORT,
        job,
        changes={
            "created": [None, job.created],
            "updated": [None, job.updated],
            "skipped": [None, job.skipped],
            "failed": [None, job.failed],
        },
        note=_("Import #%(id)s finished") % {"id": job.pk},
    )


def fail(job: ImportJob, token: str, message: str) -> None:
    ImportJob.objects.filter(pk=job.pk, run_token=token).update(
        status=ImportJob.Status.FAILED, error=message[:2000], finished_at=timezone.now(), run_token=""
    )


# --- the error file ------------------------------------------------------------------------------------


def write_error_file(job: ImportJob) -> str:
    """The failed rows as they were plus the reason: XLSX for XLSX files, else CSV (UTF-8 with BOM)."""
    header = [*job.header, _("Row"), _("Error")]
    rows = (
        ImportRow.objects.filter(job=job, action=FAILED, related=False)
        .order_by("row_number")
        .values_list("row_number", "values", "error")
    )
    base = job.original_name.rsplit(".", 1)[0][:80] or "import"
    if job.format == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet()
        ws.append(header)
        for number, values, error in rows.iterator(chunk_size=2000):
            ws.append([*(values or []), number, error])
        buffer = io.BytesIO()
        wb.save(buffer)
        content, name = buffer.getvalue(), f"{base}-errors.xlsx"
    else:
        buffer = io.StringIO()
        buffer.write("\ufeff")
        writer = csv.writer(buffer, delimiter=job.delimiter or ",", lineterminator="\r\n")
        writer.writerow(header)
        for number, values, error in rows.iterator(chunk_size=2000):
            writer.writerow([*(values or []), number, error])
        content, name = buffer.getvalue().encode("utf-8"), f"{base}-errors.csv"
    path = f"imports/{job.tenant_id}/errors/{uuid.uuid4().hex}/{name}"
    return default_storage.save(path, ContentFile(content))


# --- undo ----------------------------------------------------------------------------------------------


def undo(job: ImportJob) -> None:
    """Revert the job's updates (newest first, only values still as imported) and delete its records."""
    spec = specs.get(job.entity)
    writer = spec.writer(actor=job.created_by, options=job.options, note="")
    note = _("Undo of import #%(id)s") % {"id": job.pk}
    writer.note = note
    model = spec.entity.model
    updated = ImportRow.objects.filter(job=job, action=UPDATED, related=False).order_by("-row_number")
    batch: list = []
    for item in updated.values_list("object_id", "changes").iterator(chunk_size=1000):
        batch.append(item)
        if len(batch) >= 1000:
            _revert(writer, model, batch, note)
            _beat(job)
            batch = []
    if batch:
        _revert(writer, model, batch, note)
        _beat(job)
    created = ImportRow.objects.filter(job=job, action=CREATED)
    # The rows' own records first, then records created for them (e.g. new accounts of contacts).
    for related in (False, True):
        cts = created.filter(related=related).values_list("content_type_id", flat=True).distinct()
        for ct_id in sorted(set(cts)):
            ct_model = ContentType.objects.get_for_id(ct_id).model_class()
            ids_qs = created.filter(related=related, content_type_id=ct_id).values_list("object_id", flat=True)
            ids: list[int] = []
            for pk in ids_qs.iterator(chunk_size=2000):
                ids.append(pk)
                if len(ids) >= 1000:
                    _delete(ct_model, ids, note)
                    _beat(job)
                    ids = []
            if ids:
                _delete(ct_model, ids, note)


def _beat(job: ImportJob) -> None:
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())


@transaction.atomic
def _revert(writer, model, batch: list, note: str) -> None:
    objs = model.objects.in_bulk([pk for pk, _c in batch])
    items = [(objs[pk], changes or {}) for pk, changes in batch if pk in objs]
    done = writer.revert(items)
    if done:
        audit.record_many(AuditAction.UPDATE, done, note=note)


@transaction.atomic
def _delete(model, ids: list[int], note: str) -> None:
    objs = list(model.objects.filter(pk__in=ids))
    if not objs:
        return
    items = [(o, audit.diff({k: v for k, v in audit.snapshot(o).items() if v not in (None, "")}, {})) for o in objs]
    audit.record_many(AuditAction.DELETE, items, note=note)
    model.objects.filter(pk__in=[o.pk for o in objs]).delete()


def stale_jobs():
    """Running imports whose worker stopped beating (killed, crashed machine)."""
    return ImportJob.objects.filter(status=ImportJob.Status.RUNNING).filter(
        Q(heartbeat_at__lt=timezone.now() - STALE_AFTER) | Q(heartbeat_at__isnull=True)
    )
