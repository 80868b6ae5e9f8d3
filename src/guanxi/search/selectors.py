"""Global search over accounts and contacts by name, email or phone fragment (permission-scoped)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import F, Func, Q, TextField

from guanxi.access import permissions
from guanxi.customers.models import CJK, Account, Contact, ContactPoint
from guanxi.platform.phones import phone_digits

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
TRIGRAM = 3
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


def _name_condition(field: str, q: str, anywhere_from: int = TRIGRAM) -> Q:
    if len(q) >= anywhere_from:
        condition = Q(**{f"{field}__icontains": q})
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


def _point_sources(q: str, kinds: set[str]) -> list:
    """Querysets of contact points of ``kinds`` matching ``q``, best first.

    Addresses starting with the fragment come first, in address order: the planner walks the
    (tenant, kind, value) b-tree and stops at the budget. Only when they are too few to fill
    the results are addresses containing the fragment elsewhere looked for, through the
    trigram index, which for a fragment made of common trigrams ("wang", "zhang.wei") means
    intersecting long posting lists (9–14 ms over 2.9M addresses).
    """
    email = q.lower()
    first, then = [], []
    if ContactPoint.Kind.EMAIL in kinds:
        first.append(
            ContactPoint.objects.filter(Q(kind=ContactPoint.Kind.EMAIL) & _prefix("value", [email])).order_by("value")
        )
        if len(email) >= TRIGRAM:
            then.append(ContactPoint.objects.filter(kind=ContactPoint.Kind.EMAIL, value__contains=email))
    digits = phone_digits(q)
    if len(digits) >= TRIGRAM and len(email) >= TRIGRAM and ContactPoint.Kind.PHONE in kinds:
        first.append(ContactPoint.objects.filter(kind=ContactPoint.Kind.PHONE, value__contains=digits))
    return [*first, None, *then]  # None: stop here when enough addresses start with the fragment


def _searchable_kinds(access: permissions.FieldAccess) -> set[str]:
    """Contact point kinds a user may search by: a hidden field must not be probed by searching."""
    return {kind for kind, name in ((ContactPoint.Kind.EMAIL, "email"), (ContactPoint.Kind.PHONE, "phone"))
            if access.can_see(name)}  # fmt: skip


def _first(queries: list, n: int) -> set[tuple]:
    """Up to ``n`` rows of each unordered ``values_list`` query, whichever are cheapest to find.

    On PostgreSQL each query is a materialized CTE, which the planner plans for all its rows and
    the ``LIMIT`` then reads only as far as it needs, all in one statement. Told that only 64 rows
    are wanted, the planner reads a table or an owner index from its start, hoping to meet them
    early; when none of the rows it reads matches (a representative whose team owns no
    "Collins" among 200,000 contacts) it reads them all: 430–500 ms. Planned whole, it reads
    the trigram index and then only the rows that match the fragment.
    """
    if connection.vendor != "postgresql":
        return {row for query in queries for row in query[:n]}
    parts, params = [], []
    for query in queries:
        sql, query_params = query.query.sql_with_params()
        parts.append(f"(WITH matches AS MATERIALIZED ({sql}) SELECT * FROM matches LIMIT %s)")  # noqa: S608 (compiled ORM SQL)
        params += [*query_params, n]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return {tuple(row) for row in cursor.fetchall()}


def _ranked(user, model, name_field: str, q: str, point_ids: set, budget: int, limit: int, anywhere_from: int):
    """The ``limit`` first by name of the records ``user`` may see among the name matches (at most
    ``budget``) and ``point_ids``, as (queryset of them, their ids in order).

    Ranked here rather than by ``ORDER BY name LIMIT`` in the database: PostgreSQL would walk the
    name index filtering on the few hundred candidate ids (7,650 rows read for "Anna", 8–22 ms)
    instead of fetching them by key.

    A restricted view ("owned by my team, or shared with me") is searched part by part
    (``permissions.page_partitions``): with "owner in (…)" alone beside the name condition,
    PostgreSQL can intersect the trigram index with the owner index, which the view's
    "or shared with me" subquery prevents.
    """
    visible = permissions.visible(user, model.objects.all())
    parts = permissions.page_partitions(user, model, name_field, owners_together=True) or [None]
    queries = []
    for part in parts:
        base = visible if part is None else model.objects.filter(part)
        names = _with_bigrams(base, name_field) if anywhere_from < TRIGRAM else base
        queries.append(names.filter(_name_condition(name_field, q, anywhere_from)).values_list(name_field, "pk"))
    candidates = _first(queries, budget)
    others = set(point_ids) - {pk for _name, pk in candidates}
    if others:
        candidates.update(visible.filter(pk__in=others).values_list(name_field, "pk"))
    top = [pk for _name, pk in sorted(candidates)[:limit]]
    return visible.filter(pk__in=top), top


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
    """
    q = " ".join((query or "").split())[:100]
    if len(q) < MIN_LENGTH:
        return SearchResults(q, [], [])
    budget = max(CANDIDATES, limit * 8)
    see_accounts = permissions.has_action(user, "customers.account", "view")
    see_contacts = permissions.has_action(user, "customers.contact", "view")
    account_access = permissions.field_access(user, "customers.account") if see_accounts else permissions.FieldAccess()
    contact_access = permissions.field_access(user, "customers.contact") if see_contacts else permissions.FieldAccess()
    account_kinds = _searchable_kinds(account_access) if see_accounts else set()
    contact_kinds = _searchable_kinds(contact_access) if see_contacts else set()
    account_ids, contact_ids = set(), set()
    wanted = budget * 2
    for source in _point_sources(q, account_kinds | contact_kinds):
        if source is None:
            # Enough addresses start with the fragment to fill the results twice over: those
            # are the better matches, and the trigram "contains" is the costly query.
            if len(account_ids) + len(contact_ids) >= limit * 2:
                break
            continue
        points = source.values_list("account_id", "contact_id", "kind")
        # The prefix source is read in address order along its b-tree; the others are fenced.
        rows = points[:wanted] if points.query.order_by else _first([points], wanted)
        for account_id, contact_id, kind in rows:
            if account_id and kind in account_kinds:
                account_ids.add(account_id)
            elif contact_id and kind in contact_kinds:
                contact_ids.add(contact_id)
    accounts, contacts = [], []
    if see_accounts:
        anywhere_from = ACCOUNT_ANYWHERE if CJK.search(q) else TRIGRAM
        found, ids = _ranked(user, Account, "name", q, account_ids, budget, limit, anywhere_from)
        accounts = _in_order(found.only("id", "name", "city", "phone", "lifecycle_stage", "kind"), ids)
    if see_contacts:
        found, ids = _ranked(user, Contact, "full_name", q, contact_ids, budget, limit, TRIGRAM)
        contacts = _in_order(
            found.select_related("account").only(
                "id", "full_name", "title", "email", "phone", "account__id", "account__name"
            ),
            ids,
        )
    return SearchResults(q, accounts, contacts, account_access, contact_access)
