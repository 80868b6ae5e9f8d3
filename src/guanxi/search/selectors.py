"""Global search over accounts and contacts by name, email or phone fragment (permission-scoped)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from guanxi.access import permissions
from guanxi.customers.models import CJK, Account, Contact, ContactPoint
from guanxi.platform.phones import phone_digits

MIN_LENGTH = 1


@dataclass
class SearchResults:
    query: str
    accounts: list
    contacts: list

    @property
    def empty(self) -> bool:
        return not self.accounts and not self.contacts


# A trigram index answers "contains" for fragments of three characters or more. Shorter ones
# (a two-character Chinese name, "li") match the start of a person's name instead, answered by
# the (tenant, name) b-tree as a range in each letter case: the planner misjudges how many names
# a short prefix matches and would rather read the table than the trigram index. Company names
# are searched anywhere from two Chinese characters: a Chinese one puts its brand after the city
# ("北京星辰信息技术" is found by "星辰"); no index serves that, the scan stops at the budget.
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
        return Q(**{f"{field}__icontains": q})
    return _prefix(field, (q, q.lower(), q.upper(), q.capitalize())) & Q(**{f"{field}__istartswith": q})


def _matching_points(q: str):
    email = q.lower()
    if len(email) >= TRIGRAM:
        cond = Q(kind=ContactPoint.Kind.EMAIL, value__contains=email)
    else:
        # In address order: the planner then walks the (tenant, kind, value) b-tree and stops
        # at the budget instead of intersecting two bitmaps of every address with the prefix.
        return ContactPoint.objects.filter(Q(kind=ContactPoint.Kind.EMAIL) & _prefix("value", [email])).order_by(
            "value"
        )
    digits = phone_digits(q)
    if len(digits) >= 3:
        cond |= Q(kind=ContactPoint.Kind.PHONE, value__contains=digits)
    return ContactPoint.objects.filter(cond)


def _ranked(user, model, name_field: str, q: str, point_ids: set, budget: int, anywhere_from: int = TRIGRAM):
    """Records ``user`` may see among the name matches (at most ``budget``) and ``point_ids``."""
    visible = permissions.visible(user, model.objects.all())
    ids = set(visible.filter(_name_condition(name_field, q, anywhere_from)).values_list("pk", flat=True)[:budget])
    ids.update(point_ids)
    return visible.filter(pk__in=ids) if ids else None


def global_search(user, query: str, *, limit: int = 8) -> SearchResults:
    """Accounts and contacts the user may see whose name, email or phone contains ``query``.

    Fragments shorter than three characters match the start of a person's name or e-mail
    address; company names are matched anywhere from two Chinese characters.
    Each source (names, contact points) gives a bounded number of candidates, ranked by
    name, so a fragment that thousands of people share costs no more than a rare one.
    """
    q = " ".join((query or "").split())[:100]
    if len(q) < MIN_LENGTH:
        return SearchResults(q, [], [])
    budget = max(CANDIDATES, limit * 8)
    see_accounts = permissions.has_action(user, "customers.account", "view")
    see_contacts = permissions.has_action(user, "customers.contact", "view")
    account_ids, contact_ids = set(), set()
    if see_accounts or see_contacts:
        for account_id, contact_id in _matching_points(q).values_list("account_id", "contact_id")[: budget * 2]:
            (account_ids.add(account_id) if account_id else contact_ids.add(contact_id))
    accounts, contacts = [], []
    if see_accounts:
        found = _ranked(user, Account, "name", q, account_ids, budget, ACCOUNT_ANYWHERE if CJK.search(q) else TRIGRAM)
        if found is not None:
            accounts = list(
                found.only("id", "name", "city", "phone", "lifecycle_stage", "kind").order_by("name", "pk")[:limit]
            )
    if see_contacts:
        found = _ranked(user, Contact, "full_name", q, contact_ids, budget)
        if found is not None:
            contacts = list(
                found.select_related("account")
                .only("id", "full_name", "title", "email", "phone", "account__id", "account__name")
                .order_by("full_name", "pk")[:limit]
            )
    return SearchResults(q, accounts, contacts)
