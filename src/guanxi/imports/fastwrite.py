"""The import's fast write path: rows as plain tuples, written in one bulk statement per table.

Django's ``bulk_create`` builds a model instance per row and an ``INSERT … VALUES`` statement
with one parameter per cell; for an import writing half a dozen rows per file row that work
dominates. Here a row is a dict of column values built directly from the parsed cells; the
missing columns take the model field's default, and the rows are written:

* on PostgreSQL with ``COPY … FROM STDIN`` (psycopg 3 ``cursor.copy()``) into a temporary
  staging table, then ``INSERT INTO <table> SELECT … FROM <staging>``. ``COPY FROM`` into the
  table itself is impossible: PostgreSQL refuses it on tables with row-level security, and
  every tenant table has it. The ``INSERT … SELECT`` runs through Django's cursor, so the
  tenant session settings are sent and the RLS ``WITH CHECK`` policy checks every row;
* on SQLite with ``executemany`` of one prepared ``INSERT``.

Primary keys that other rows need (contacts, accounts) are reserved up front: PostgreSQL
``nextval`` of the table's sequence over ``generate_series``; SQLite, whose writer holds the
database lock for the whole transaction (``BEGIN IMMEDIATE``), takes the next free ids.

Tenant safety is the same as ``TenantQuerySet.bulk_create``: every row is written with the
tenant in context (``require_tenant``), and PostgreSQL's policy refuses any other.

``ENABLED`` switches the path off (the writers then use ``bulk_create``); the tests compare
both paths row by row.
"""

from __future__ import annotations

import contextlib
import json
import operator
from collections.abc import Iterable, Iterator

from django.db import connection, models

from guanxi.platform import context

ENABLED = True


def enabled() -> bool:
    return ENABLED and connection.vendor in ("postgresql", "sqlite")


class Table:
    """How to write rows of one model: columns, defaults and value conversion for the vendor."""

    _cache: dict = {}

    def __init__(self, model: type[models.Model]):
        self.model = model
        self.name = model._meta.db_table
        fields = list(model._meta.concrete_fields)
        self.pk = model._meta.pk.attname
        self.fields = fields
        self.attnames = [f.attname for f in fields]
        self.columns = [f.column for f in fields]
        self.static_defaults: dict = {}
        self.callable_defaults: dict = {}
        for f in fields:
            if f.primary_key:
                continue
            if f.has_default() and callable(f.default):
                self.callable_defaults[f.attname] = f
            else:
                self.static_defaults[f.attname] = f.get_default()

    @classmethod
    def of(cls, model) -> Table:
        table = cls._cache.get(model)
        if table is None:
            table = cls._cache[model] = cls(model)
        return table

    def defaults(self) -> dict:
        """Column values of a new row (callable defaults evaluated once per call)."""
        values = dict(self.static_defaults)
        for name, f in self.callable_defaults.items():
            values[name] = f.get_default()
        return values


def _sqlite_converters(table: Table):
    from django.conf import settings
    from django.utils import timezone

    out = []
    for f in table.fields:
        internal = f.get_internal_type()
        if isinstance(f, models.JSONField):
            out.append(lambda v, f=f: None if v is None else json.dumps(v, cls=f.encoder))
        elif internal == "DateTimeField":

            def dt(v):
                if v is None:
                    return None
                if timezone.is_aware(v) and settings.USE_TZ:
                    v = timezone.make_naive(v, connection.timezone)
                return str(v)

            out.append(dt)
        elif internal == "DateField":
            out.append(lambda v: None if v is None else v.isoformat())
        elif internal == "BooleanField":
            out.append(lambda v: None if v is None else int(v))
        elif internal == "DecimalField":
            out.append(lambda v, f=f: f.get_db_prep_save(v, connection))
        else:
            out.append(None)
    return out


def _postgres_converters(table: Table):
    out = []
    for f in table.fields:
        if isinstance(f, models.JSONField):
            out.append(lambda v, f=f: None if v is None else json.dumps(v, cls=f.encoder))
        else:
            out.append(None)
    return out


def reserve_ids(model, n: int) -> list[int]:
    """``n`` new primary keys of ``model``'s table (call inside the writing transaction)."""
    if n <= 0:
        return []
    table = Table.of(model)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table.name, model._meta.pk.column, n],
            )
            return [r[0] for r in cursor.fetchall()]
        quoted = connection.ops.quote_name(table.name)
        cursor.execute(f"SELECT max({connection.ops.quote_name(model._meta.pk.column)}) FROM {quoted}")  # noqa: S608
        top = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table.name])
        row = cursor.fetchone()
        start = max(top, row[0] if row and row[0] else 0) + 1
        return list(range(start, start + n))


def insert(model, rows: Iterable[dict], *, ignore_conflicts: bool = False) -> int:
    """Insert rows (dicts of attname → value; missing ones take the field default) of ``model``.

    Rows without a primary key get one from the database. Every row belongs to the tenant
    in context, when the model is a tenant model.
    """
    from guanxi.platform.models import TenantModel

    rows = list(rows)
    if not rows:
        return 0
    table = Table.of(model)
    with_pk = table.pk in rows[0]
    attnames = [a for a in table.attnames if with_pk or a != table.pk]
    columns = [c for a, c in zip(table.attnames, table.columns, strict=True) if with_pk or a != table.pk]
    tenant_id = None
    if issubclass(model, TenantModel):
        tenant_id = getattr(context.current_tenant(), "pk", None)
        if tenant_id is None:
            raise context.TenantNotSet(f"Cannot write {model._meta.label} without a tenant.")
    defaults = table.defaults()
    if tenant_id is not None:
        defaults["tenant_id"] = tenant_id
    converters = _postgres_converters(table) if connection.vendor == "postgresql" else _sqlite_converters(table)
    convert = [c for a, c in zip(table.attnames, converters, strict=True) if with_pk or a != table.pk]
    special = [(i, c) for i, c in enumerate(convert) if c is not None]
    tenant_index = attnames.index("tenant_id") if tenant_id is not None else None
    tuples = []
    pick = operator.itemgetter(*attnames)
    for row in rows:
        values = list(pick({**defaults, **row}))
        if tenant_index is not None:
            if values[tenant_index] not in (None, tenant_id):
                raise context.TenantMismatch(
                    f"{model._meta.label} of another tenant written in tenant {tenant_id}'s context."
                )
            values[tenant_index] = tenant_id
        for i, c in special:
            values[i] = c(values[i])
        tuples.append(values)
    if connection.vendor == "postgresql":
        _copy_insert(table, columns, tuples, ignore_conflicts)
    else:
        _sqlite_insert(table, columns, tuples, ignore_conflicts)
    return len(tuples)


def _copy_insert(table: Table, columns: list[str], tuples: list, ignore_conflicts: bool) -> None:
    qn = connection.ops.quote_name
    staging = qn(f"gx_stage_{table.name}")
    cols = ", ".join(qn(c) for c in columns)
    with connection.cursor() as cursor:
        # A temporary table has no row-level security (it is private to this session), so COPY works.
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} AS SELECT * FROM {qn(table.name)} WITH NO DATA"  # noqa: S608
        )
        raw = cursor.cursor
        with raw.copy(f"COPY {staging} ({cols}) FROM STDIN") as copy:
            for values in tuples:
                copy.write_row(values)
        conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
        cursor.execute(f"INSERT INTO {qn(table.name)} ({cols}) SELECT {cols} FROM {staging}{conflict}")  # noqa: S608
        cursor.execute(f"TRUNCATE {staging}")


def _sqlite_insert(table: Table, columns: list[str], tuples: list, ignore_conflicts: bool) -> None:
    qn = connection.ops.quote_name
    verb = "INSERT OR IGNORE" if ignore_conflicts else "INSERT"
    sql = f"{verb} INTO {qn(table.name)} ({', '.join(qn(c) for c in columns)}) VALUES ({', '.join('?' * len(columns))})"
    connection.ensure_connection()
    connection.connection.executemany(sql, tuples)


def asynchronous_commit() -> None:
    """Let this transaction's commit return before its WAL reaches the disk (PostgreSQL).

    Each import chunk commits its rows together with its checkpoint, so a commit lost in a
    crash loses the chunk and its checkpoint together: the resumed import writes that chunk
    again, never half of it. The database stays consistent (``synchronous_commit = off`` is not
    ``fsync = off``); a chunk's commit no longer waits for the disk flush (about 0.3 s here).
    """
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO off")


@contextlib.contextmanager
def exact_lookups() -> Iterator[None]:
    """Keep PostgreSQL on its b-trees for "value = ANY(thousands of keys)" look-ups.

    The trigram indexes of names, e-mails and phones answer ``=`` too (pg_trgm 1.6), one index
    scan per key, and on a young tenant's statistics the planner chose them: 8.5 s per
    de-duplication look-up of 5,000 keys, an import of 100,000 rows at 400 rows/s in a new
    database. Those indexes are only reachable through bitmap scans, which this turns off for
    the block; the (tenant, kind, value) b-trees take the keys in one index scan.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET enable_bitmapscan = off")
    try:
        yield
    finally:
        if connection.connection is not None and not connection.needs_rollback:
            with connection.cursor() as cursor:
                cursor.execute("RESET enable_bitmapscan")
