"""Global search over accounts and contacts by name, email or phone fragment (permission-scoped)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import F, Func, Q, TextField

from guanxi.access import permissions
from guanxi.customers.models import CJK, Account, Contact, ContactPoint
from guanxi.customers.selectors import (
    TRIGRAM,
    name_contains,
    number_digits,
    points_containing,
    searchable_point_kinds,
)

MIN_LENGTH = 1


@dataclass
class SearchResults:
    query: str
    accounts: list
    contacts: list
    account_access: permissions.FieldAccess = field(default_factory=permissions.FieldAccess)
    contact_access: permissions.FieldAccess = field(default_factory=permissions.FieldAccess)

    @property
    def empty(self) -> bool:
        return not self.accounts and not self.contacts


# A trigram index answers "contains" for fragments of three characters or more. Shorter ones
# (a two-character Chinese name, "li") match the start of a person's name instead, answered by
# the (tenant, name) b-tree as a range in each letter case: the planner misjudges how many names
# a short prefix matches and would rather read the table than the trigram index. Company names
# are searched anywhere from two Chinese characters: a Chinese one puts its brand after the city
# ("北京星辰信息技术" is found by "星辰"); on PostgreSQL a GIN index of the names' two-character
# fragments serves that (``guanxi_bigrams``), elsewhere the scan stops at the budget.
ACCOUNT_ANYWHERE = 2
# Matches taken from each source before they are ranked by name (at least; eight per result
# wanted). A common fragment ("wang") matches thousands of people; reading all of them to show
# six costs a random heap read each.
CANDIDATES = 64


def _prefix(field: str, variants) -> Q:
    """Values of ``field`` starting with one of ``variants``, as b-tree ranges (code point order)."""
    ranges = Q()
    for variant in sorted(set(variants)):
        ranges |= Q(**{f"{field}__gte": variant, f"{field}__lt": variant + "\U0010ffff"})
    return ranges


def _name_condition(model, field: str, q: str, anywhere_from: int = TRIGRAM) -> Q:
    if len(q) >= anywhere_from:
        condition = name_contains(model, field, q)
        if len(q) < TRIGRAM and connection.vendor == "postgresql":
            # Served by the GIN index on guanxi_bigrams(name) (customers/0004); the LIKE rechecks.
            condition &= Q(_bigrams__contains=[q.upper()])
        return condition
    return _prefix(field, (q, q.lower(), q.upper(), q.capitalize())) & Q(**{f"{field}__istartswith": q})


def _with_bigrams(queryset, field: str):
    """``queryset`` able to filter on ``_bigrams``: the indexed expression guanxi_bigrams(field)."""
    if connection.vendor != "postgresql":
        return queryset
    return queryset.alias(_bigrams=Func(F(field), function="guanxi_bigrams", output_field=ArrayField(TextField())))


def _point_sources(q: str, kinds: set[str]) -> tuple[list, list]:
    """Querysets of contact points of ``kinds`` matching ``q``: (asked first, asked only if too few).

    Addresses starting with the fragment come first, in address order: the planner walks the
    (tenant, kind, value) b-tree and stops at the budget. Only when they are too few to fill
    the results are addresses containing the fragment elsewhere looked for, through the
    trigram index, which for a fragment made of common trigrams ("wang", "zhang.wei") means
    intersecting long posting lists (9–14 ms over 2.9M addresses).
    """
    email = q.lower()
    first, then = [], []
    columns = ("kind", "account_id", "contact_id")
    if ContactPoint.Kind.EMAIL in kinds:
        prefix = ContactPoint.objects.filter(Q(kind=ContactPoint.Kind.EMAIL) & _prefix("value", [email]))
        first.append(prefix.order_by("value").values_list(*columns))
        if len(email) >= TRIGRAM:
            then.append(points_containing(ContactPoint.Kind.EMAIL, email).values_list(*columns))
    digits = number_digits(q)
    if len(digits) >= TRIGRAM and ContactPoint.Kind.PHONE in kinds:
        first.append(points_containing(ContactPoint.Kind.PHONE, digits).values_list(*columns))
    return first, then


def _gather(queries: list[tuple]) -> list[list[tuple]]:
    """Rows of each ``(values_list query, n)``: at most ``n`` of each, in one statement.

    Every query gives three columns (text, bigint, bigint). An ordered query is read along its
    order up to ``n`` (an index walk that stops early). On PostgreSQL each unordered query is a
    materialized CTE, which the planner plans for all its rows and the ``LIMIT`` then reads only
    as far as it needs. Told that only 64 rows are wanted, the planner reads a table or an owner
    index from its start, hoping to meet them early; when none of the rows it reads matches (a
    representative whose team owns no "Collins" among 200,000 contacts) it reads them all:
    430–500 ms. Planned whole, it reads the trigram index and then only the rows that match the
    fragment. All of them go in one ``UNION ALL``: each statement is a round trip and a
    compilation, which were most of a search's time once its queries were fast.
    """
    if connection.vendor != "postgresql":
        return [[tuple(row) for row in query[:n]] for query, n in queries]
    parts, params = [], []
    for i, (query, n) in enumerate(queries):
        # Compiled ORM SQL; ``i`` is this loop's integer.
        if query.query.order_by:
            sql, query_params = query[:n].query.sql_with_params()
            parts.append(f"(SELECT {i}, o.* FROM ({sql}) AS o)")  # noqa: S608
            params += query_params
        else:
            sql, query_params = query.query.sql_with_params()
            parts.append(f"(WITH matches AS MATERIALIZED ({sql}) SELECT {i}, * FROM matches LIMIT %s)")  # noqa: S608
            params += [*query_params, n]
    found: list[list[tuple]] = [[] for _ in queries]
    if parts:
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            for i, *row in cursor.fetchall():
                found[i].append(tuple(row))
    return found


class _NameSearch:
    """Searching one model by name: the name-matching queries over what the user may see."""

    def __init__(self, user, model, name_field: str, q: str, anywhere_from: int):
        """A restricted view ("owned by my team, or shared with me") is searched part by part
        (``permissions.page_partitions``): with "owner in (…)" alone beside the name condition,
        PostgreSQL can intersect the trigram index with the owner index, which the view's
        "or shared with me" subquery prevents."""
        self.user, self.model, self.name_field = user, model, name_field
        self.candidates: set[tuple] = set()  # (name, pk)
        self.point_ids: set[int] = set()
        self.queries = []
        condition = _name_condition(model, name_field, q, anywhere_from)
        for part in permissions.page_partitions(user, model, name_field, owners_together=True) or [None]:
            base = self.visible() if part is None else model.objects.filter(part)
            names = _with_bigrams(base, name_field) if anywhere_from < TRIGRAM else base
            self.queries.append(self._rows(names.filter(condition)))

    def visible(self):
        return permissions.visible(self.user, self.model.objects.all())

    def _rows(self, queryset):
        # Three columns as _gather wants them: (name, pk, a bigint that is not read).
        return queryset.order_by().values_list(self.name_field, "pk", "tenant_id")

    def others(self):
        """The visible ones of the records found by an address or number, not by name."""
        ids = self.point_ids - {pk for _name, pk in self.candidates}
        return (self._rows(self.visible().filter(pk__in=ids)), len(ids)) if ids else None

    def add(self, rows) -> None:
        self.candidates.update((name, pk) for name, pk, _unused in rows)

    def top(self, limit: int) -> tuple:
        """(queryset of the ``limit`` first by name, their ids in order).

        Ranked here rather than by ``ORDER BY name LIMIT`` in the database: PostgreSQL would
        walk the name index filtering on the few hundred candidate ids (7,650 rows read for
        "Anna", 8–22 ms) instead of fetching them by key. Every candidate came from a query
        of what the user may see (its parts, or ``others``), so they are fetched by key alone:
        the view's filter, compiled again, would cost more than the fetch."""
        ids = [pk for _name, pk in sorted(self.candidates)[:limit]]
        return self.model.objects.filter(pk__in=ids), ids


def _in_order(queryset, ids: list) -> list:
    objs = {obj.pk: obj for obj in queryset} if ids else {}
    return [objs[pk] for pk in ids if pk in objs]


def global_search(user, query: str, *, limit: int = 8) -> SearchResults:
    """Accounts and contacts the user may see whose name, email or phone contains ``query``.

    Fragments shorter than three characters match the start of a person's name or e-mail
    address; company names are matched anywhere from two Chinese characters. E-mail
    addresses containing the fragment elsewhere than at their start are looked for only when
    too few start with it.
    Each source (names, contact points) gives a bounded number of candidates, ranked by
    name, so a fragment that thousands of people share costs no more than a rare one.
    Addresses and numbers in fields hidden from the user (restricted fields) are not
    searched: finding a person by a number one may not see would reveal it.
    At most five statements: the candidates of every source; addresses containing the
    fragment (when too few start with it); the visibility of records found by address; the
    accounts and the contacts shown.
    """
    q = " ".join((query or "").split())[:100]
    if len(q) < MIN_LENGTH:
        return SearchResults(q, [], [])
    budget = max(CANDIDATES, limit * 8)
    see_accounts = permissions.has_action(user, "customers.account", "view")
    see_contacts = permissions.has_action(user, "customers.contact", "view")
    account_access = permissions.field_access(user, "customers.account") if see_accounts else permissions.FieldAccess()
    contact_access = permissions.field_access(user, "customers.contact") if see_contacts else permissions.FieldAccess()
    account_kinds = searchable_point_kinds(account_access.hidden) if see_accounts else set()
    contact_kinds = searchable_point_kinds(contact_access.hidden) if see_contacts else set()
    accounts = contacts = None
    if see_accounts:
        anywhere_from = ACCOUNT_ANYWHERE if CJK.search(q) else TRIGRAM
        accounts = _NameSearch(user, Account, "name", q, anywhere_from)
    if see_contacts:
        contacts = _NameSearch(user, Contact, "full_name", q, TRIGRAM)
    searches = [s for s in (accounts, contacts) if s is not None]

    def take(point_rows) -> None:
        for rows in point_rows:
            for kind, account_id, contact_id in rows:
                if account_id and kind in account_kinds:
                    accounts.point_ids.add(account_id)
                elif contact_id and kind in contact_kinds:
                    contacts.point_ids.add(contact_id)

    wanted = budget * 2
    first_points, then_points = _point_sources(q, account_kinds | contact_kinds)
    found = _gather([(p, wanted) for p in first_points] + [(n, budget) for s in searches for n in s.queries])
    take(found[: len(first_points)])
    names = iter(found[len(first_points) :])
    for search in searches:
        for _query in search.queries:
            search.add(next(names))
    # Enough addresses start with the fragment to fill the results twice over: those are the
    # better matches, and the trigram "contains" is the costly query.
    if then_points and sum(len(s.point_ids) for s in searches) < limit * 2:
        take(_gather([(p, wanted) for p in then_points]))
    others = [(s, s.others()) for s in searches]
    others = [(s, o) for s, o in others if o is not None]
    for (search, _query), rows in zip(others, _gather([o for _s, o in others]), strict=True):
        search.add(rows)
    shown_accounts, shown_contacts = [], []
    if accounts is not None:
        found_accounts, ids = accounts.top(limit)
        shown_accounts = _in_order(found_accounts.only("id", "name", "city", "phone", "lifecycle_stage", "kind"), ids)
    if contacts is not None:
        found_contacts, ids = contacts.top(limit)
        shown_contacts = _in_order(
            found_contacts.select_related("account").only(
                "id", "full_name", "title", "email", "phone", "account__id", "account__name"
            ),
            ids,
        )
    return SearchResults(q, shown_accounts, shown_contacts, account_access, contact_access)
