"""Global search over accounts and contacts by name, email or phone fragment (permission-scoped)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from guanxi.access import permissions
from guanxi.customers.models import Account, Contact, ContactPoint
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


def _matching_points(q: str):
    cond = Q(kind=ContactPoint.Kind.EMAIL, value__contains=q.lower())
    digits = phone_digits(q)
    if len(digits) >= 3:
        cond |= Q(kind=ContactPoint.Kind.PHONE, value__contains=digits)
    return ContactPoint.objects.filter(cond)


def global_search(user, query: str, *, limit: int = 8) -> SearchResults:
    """Accounts and contacts the user may see whose name, email or phone contains ``query``."""
    q = " ".join((query or "").split())[:100]
    if len(q) < MIN_LENGTH:
        return SearchResults(q, [], [])
    points = _matching_points(q)
    has_account_access = permissions.has_action(user, "customers.account", "view")
    has_contact_access = permissions.has_action(user, "customers.contact", "view")
    accounts, contacts = [], []
    if has_account_access:
        accounts = list(
            permissions.visible(user, Account.objects.all())
            .filter(Q(name__icontains=q) | Q(pk__in=points.filter(account__isnull=False).values("account_id")))
            .only("id", "name", "city", "phone", "lifecycle_stage", "kind")
            .order_by("name")[:limit]
        )
    if has_contact_access:
        contacts = list(
            permissions.visible(user, Contact.objects.all())
            .filter(Q(full_name__icontains=q) | Q(pk__in=points.filter(contact__isnull=False).values("contact_id")))
            .select_related("account")
            .only("id", "full_name", "title", "email", "phone", "account__id", "account__name")
            .order_by("full_name")[:limit]
        )
    return SearchResults(q, accounts, contacts)
