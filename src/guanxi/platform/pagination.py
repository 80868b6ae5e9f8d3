"""Keyset (cursor) pagination shared by list pages and the API.

A page is fetched with ``WHERE (sort, id) > (last sort value, last id) ORDER BY sort, id
LIMIT n+1`` so page 10,000 costs what page 1 costs (with an index on the sort key),
unlike OFFSET. Cursors are opaque URL-safe strings carrying the boundary row's keys.
Nullable sort fields are sorted through ``Coalesce`` with a sentinel so the comparison
stays total.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import json
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import BooleanField, F, Func, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

COUNT_LIMIT = 10_000


class InvalidCursor(ValueError):
    pass


@dataclass
class Page:
    items: list
    next_cursor: str | None
    prev_cursor: str | None
    total: int | None  # capped at COUNT_LIMIT (+1 means "more than")
    total_is_exact: bool

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_prev(self) -> bool:
        return self.prev_cursor is not None


def _encode(values: list, direction: str) -> str:
    raw = json.dumps({"v": [_dump(v) for v in values], "d": direction}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _dump(value):
    if isinstance(value, datetime.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"d": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"dec": str(value)}
    return value


def _load(value):
    if isinstance(value, dict):
        if "dt" in value:
            return datetime.datetime.fromisoformat(value["dt"])
        if "d" in value:
            return datetime.date.fromisoformat(value["d"])
        if "dec" in value:
            return decimal.Decimal(value["dec"])
    return value


def _decode(cursor: str) -> tuple[list, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        direction = data["d"]
        if direction not in ("next", "prev"):
            raise ValueError
        return [_load(v) for v in data["v"]], direction
    except (ValueError, KeyError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidCursor("The cursor is not valid.") from exc


_SENTINELS = {
    models.DecimalField: decimal.Decimal("-1e15"),
    models.IntegerField: -(2**62),
    models.BigIntegerField: -(2**62),
    models.PositiveIntegerField: -1,
    models.FloatField: -1e300,
    models.DateTimeField: datetime.datetime(1, 1, 2, tzinfo=datetime.UTC),
    models.DateField: datetime.date(1, 1, 1),
    models.CharField: "",
}


def _sort_keys(queryset, sort: str) -> tuple[Any, list[tuple[str, bool]]]:
    """Annotate the sort keys; returns the queryset and [(alias, descending)] ending with the pk."""
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    keys = []
    if name not in ("pk", "id"):
        field = queryset.model._meta.get_field(name) if "__" not in name else None
        expr = F(name)
        if field is not None and field.null:
            sentinel = next((v for t, v in _SENTINELS.items() if isinstance(field, t)), None)
            if sentinel is None:
                raise ValueError(f"Cannot keyset-sort on nullable {name}")
            expr = Coalesce(F(name), Value(sentinel), output_field=field)
        queryset = queryset.annotate(_k0=expr)
        keys.append(("_k0", descending))
    keys.append(("pk", descending))
    return queryset, keys


class RowCompare(Func):
    """``(a, b) > (x, y)``: one row-value comparison, which a B-tree index on (a, b) answers with a range scan.

    The equivalent ``a > x OR (a = x AND b > y)`` is not an index condition: PostgreSQL then walks
    the index from the start and filters, so page 10,000 cost 10,000 pages of reading.
    """

    output_field = BooleanField()

    def __init__(self, lhs: list, op: str, rhs: list):
        super().__init__(*lhs, *rhs)
        self.op = op
        self.width = len(lhs)

    def as_sql(self, compiler, connection, **extra):
        parts, params = [], []
        for expression in self.get_source_expressions():
            sql, p = compiler.compile(expression)
            parts.append(sql)
            params.extend(p)
        n = self.width
        return f"({', '.join(parts[:n])}) {self.op} ({', '.join(parts[n:])})", params


def _row_values_supported(connection) -> bool:
    if connection.vendor == "sqlite":
        import sqlite3

        return sqlite3.sqlite_version_info >= (3, 15)
    return connection.vendor in ("postgresql", "mysql")


def _after(keys: list[tuple[str, bool]], values: list, reverse: bool, queryset=None) -> Q:
    """Rows strictly after (or before, if ``reverse``) the boundary in the ordering."""
    from django.db import connections

    directions = {desc for _alias, desc in keys}
    if queryset is not None and len(directions) == 1 and _row_values_supported(connections[queryset.db]):
        go_up = directions.pop() == reverse
        output = {alias: queryset.query.annotations.get(alias) for alias, _desc in keys}
        rhs = [
            Value(v, output_field=getattr(output[alias], "output_field", None)) if alias != "pk" else Value(v)
            for (alias, _desc), v in zip(keys, values, strict=True)
        ]
        return Q(RowCompare([F(alias) for alias, _desc in keys], ">" if go_up else "<", rhs))
    q = Q(pk__in=[])
    for i, (alias, desc) in enumerate(keys):
        go_up = desc == reverse
        cond = Q(**{f"{alias}__{'gt' if go_up else 'lt'}": values[i]})
        for j in range(i):
            cond &= Q(**{keys[j][0]: values[j]})
        q |= cond
    return q


def paginate(
    queryset,
    *,
    sort: str,
    cursor: str | None = None,
    limit: int = 50,
    count: bool = True,
    partitions: list[Q] | None = None,
) -> Page:
    """One page of ``queryset`` in ``sort`` order ("name" or "-updated_at"), after/before ``cursor``.

    ``partitions`` (``permissions.page_partitions``): conditions whose union is ``queryset``;
    the page is then taken from the first rows of each part, read in order one part at a time.
    """
    base = queryset
    queryset, keys = _sort_keys(queryset, sort)
    direction = "next"
    if cursor:
        values, direction = _decode(cursor)
        if len(values) != len(keys):
            raise InvalidCursor("The cursor belongs to another sort order.")
        queryset = queryset.filter(_after(keys, values, reverse=direction == "prev", queryset=queryset))
    order = [(f"-{a}" if d != (direction == "prev") else a) for a, d in keys]
    if partitions and len(partitions) > 1:
        queryset = queryset.filter(pk__in=_first_of_each(queryset, partitions, order, limit + 1))
    rows = list(queryset.order_by(*order)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if direction == "prev":
        rows.reverse()

    def key_of(obj):
        return [getattr(obj, a) if a != "pk" else obj.pk for a, _ in keys]

    has_next = more if direction == "next" else bool(cursor)
    has_prev = bool(cursor) if direction == "next" else more
    next_cursor = _encode(key_of(rows[-1]), "next") if rows and has_next else None
    prev_cursor = _encode(key_of(rows[0]), "prev") if rows and has_prev else None
    total, exact = (None, True)
    if count:
        if not cursor and not more:
            total = len(rows)  # the whole result is on this page: no COUNT query needed
        else:
            total, exact = capped_count(base)
    return Page(rows, next_cursor, prev_cursor, total, exact)


def _first_of_each(queryset, partitions: list[Q], order: list[str], n: int) -> RawSQL:
    """Ids of the first ``n`` rows of each part in ``order``: a UNION ALL of small ordered scans.

    The page is among them (each of its rows is among the first ``n`` of a part it belongs
    to), and the database finds each part's rows through that part's own index.
    """
    sqls, params = [], []
    for i, part in enumerate(partitions):
        sql, part_params = queryset.filter(part).order_by(*order).values("pk")[:n].query.sql_with_params()
        sqls.append(f"SELECT * FROM ({sql}) AS gx_part{i}")  # noqa: S608 - compiled by the ORM
        params.extend(part_params)
    return RawSQL(" UNION ALL ".join(sqls), params)  # noqa: S611 - only ORM-compiled SQL, values as parameters


def capped_count(queryset) -> tuple[int, bool]:
    """COUNT(*) that stops at COUNT_LIMIT + 1 rows, so huge tables answer "10,000+" quickly."""
    n = queryset.order_by().values("pk")[: COUNT_LIMIT + 1].count()
    return min(n, COUNT_LIMIT), n <= COUNT_LIMIT
