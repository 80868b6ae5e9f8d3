"""Reads of accounts and contacts (querysets for lists and detail pages)."""

from django.db.models import Prefetch

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
