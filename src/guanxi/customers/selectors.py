"""Reads of accounts and contacts: querysets for lists and detail pages, "contains" searches."""

import re

from django.db import connection, models
from django.db.models import Prefetch, Q
from django.db.models.expressions import RawSQL

from guanxi.platform.phones import phone_digits

from .models import Account, AccountContact, Contact, ContactPoint, LifecycleChange


def account_list_queryset():
    return Account.objects.select_related("owner", "region", "business_line")


def account_detail_queryset():
    return Account.objects.select_related("owner", "region", "business_line", "parent", "created_by")


def contact_list_queryset():
    return Contact.objects.select_related("owner", "account")


def contact_detail_queryset():
    return Contact.objects.select_related("owner", "account", "created_by")


def account_related(account: Account, visible_contacts) -> dict:
    """What the account page shows beside its fields (a fixed number of queries)."""
    links = list(
        AccountContact.objects.filter(account=account, contact__in=visible_contacts)
        .select_related("contact")
        .order_by("contact__full_name")[:200]
    )
    return {
        "contact_links": links,
        "subsidiaries": list(account.subsidiaries.order_by("name")[:50]),
        "lifecycle_changes": list(LifecycleChange.objects.filter(account=account).select_related("changed_by")[:50]),
        "points": list(ContactPoint.objects.filter(account=account).order_by("-is_primary", "kind")),
        "tags": list(account.tags.all()),
    }


def contact_related(contact: Contact, visible_accounts) -> dict:
    return {
        "account_links": list(
            AccountContact.objects.filter(contact=contact, account__in=visible_accounts).select_related("account")
        ),
        "points": list(ContactPoint.objects.filter(contact=contact).order_by("kind", "-is_primary", "id")),
        "tags": list(contact.tags.all()),
    }


def contacts_with_points():
    return Contact.objects.prefetch_related(Prefetch("points", queryset=ContactPoint.objects.order_by("-is_primary")))


# --- "contains" searches over names, e-mail addresses and numbers ---------------------------------
# Shared by the global search (``search.selectors``) and the lists' search box
# (``customers.filters``): the same fragment finds the same records in both.

TRIGRAM = 3
# Numbers are searched only for fragments written like one: the digits of "lucy.thompson311"
# matched thousands of numbers containing "311" (6.5 ms over 1M contacts) that nobody typing it
# looks for.
NUMBER_LIKE = re.compile(r"[\d\s()+\-./]+")


def searchable_point_kinds(hidden) -> set[str]:
    """Contact point kinds one may search by when the fields ``hidden`` are hidden from one.

    Finding a person by an e-mail address or a number one may not see would reveal it.
    """
    kinds = ((ContactPoint.Kind.EMAIL, "email"), (ContactPoint.Kind.PHONE, "phone"))
    return {kind for kind, name in kinds if name not in hidden}


def number_digits(fragment: str) -> str:
    """The digits to look for among stored E.164 numbers; "" unless ``fragment`` is written like a number.

    Typed in national form ("010 8765 4321"), the trunk 0 is not in the stored number
    (+861087654321): without it the fragment matches what it matched, and more.
    """
    if not NUMBER_LIKE.fullmatch(fragment):
        return ""
    digits = phone_digits(fragment)
    if digits.startswith("0") and len(digits) > TRIGRAM:
        digits = digits[1:]
    return digits


def fts_candidates(model, column: str, fragment: str) -> Q:
    """SQLite: records whose ``column`` may contain ``fragment``, from its FTS5 trigram index.

    The index (``customers/0006``) answers ``LIKE`` case-insensitively and reads ``_`` and
    ``%`` as wildcards: a superset, which the caller's exact condition narrows. Elsewhere, or
    for fragments too short for trigrams, no condition.
    """
    if connection.vendor != "sqlite" or len(fragment) < TRIGRAM:
        return Q()
    table = connection.ops.quote_name(f"{model._meta.db_table}_fts")
    column = connection.ops.quote_name(column)
    return Q(pk__in=RawSQL(f"SELECT rowid FROM {table} WHERE {column} LIKE %s", [f"%{fragment}%"]))  # noqa: S608, S611 (quoted names, bound fragment)


def name_contains(model, field: str, fragment: str) -> Q:
    """``field`` contains ``fragment`` in any letter case (trigram indexes on both databases)."""
    return Q(**{f"{field}__icontains": fragment}) & fts_candidates(model, field, fragment)


def points_containing(kind: str, fragment: str):
    """Contact points of ``kind`` whose (normalised) value contains ``fragment`` as given."""
    return ContactPoint.objects.filter(
        Q(kind=kind, value__contains=fragment) & fts_candidates(ContactPoint, "value", fragment)
    )


def points_matching(fragment: str, kinds) -> models.QuerySet:
    """Contact points of ``kinds`` whose e-mail address or number contains ``fragment``."""
    found = []
    if ContactPoint.Kind.EMAIL in kinds:
        found.append(points_containing(ContactPoint.Kind.EMAIL, fragment.lower()))
    digits = number_digits(fragment)
    if len(digits) >= TRIGRAM and ContactPoint.Kind.PHONE in kinds:
        found.append(points_containing(ContactPoint.Kind.PHONE, digits))
    if not found:
        return ContactPoint.objects.none()
    return found[0] if len(found) == 1 else found[0] | found[1]
