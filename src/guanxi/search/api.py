"""/api/v1/search: the global search (typeahead, CTI look-ups by number) as JSON."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from .selectors import global_search

router = Router(tags=["search"])


class SearchIn(Schema):
    q: str = Field(
        ..., min_length=1, max_length=100, description="A fragment of a name, e-mail address or phone number."
    )
    limit: int = Field(8, ge=1, le=50, description="Results per kind (accounts, contacts).")


class AccountRef(Schema):
    id: int
    name: str


class AccountHit(Schema):
    id: int
    name: str
    kind: str
    lifecycle_stage: str | None = None
    city: str | None = None
    phone: str | None = None
    url: str


class ContactHit(Schema):
    id: int
    full_name: str
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    account: AccountRef | None = None
    url: str


class SearchOut(Schema):
    query: str
    accounts: list[AccountHit]
    contacts: list[ContactHit]


def _visible(obj, hidden, names) -> dict:
    # Restricted fields are left out, as in every other API output.
    return {name: getattr(obj, name) for name in names if name not in hidden}


@router.get("", response=SearchOut, exclude_unset=True, summary="Search accounts and contacts")
def search(request: HttpRequest, params: Query[SearchIn]):
    """Accounts and contacts the caller may see whose name contains the fragment, or one of
    whose e-mail addresses or phone numbers does; ranked by name. Fragments shorter than three
    characters match the start of a name or address (company names: anywhere, from two Chinese
    characters). Fields restricted for the caller are neither searched nor returned."""
    results = global_search(request.user, params.q, limit=params.limit)
    account_hidden, contact_hidden = results.account_access.hidden, results.contact_access.hidden
    return {
        "query": results.query,
        "accounts": [
            {
                "id": a.pk,
                "name": a.name,
                "kind": a.kind,
                "url": a.get_absolute_url(),
                **_visible(a, account_hidden, ("lifecycle_stage", "city", "phone")),
            }
            for a in results.accounts
        ],
        "contacts": [
            {
                "id": c.pk,
                "full_name": c.full_name,
                "account": {"id": c.account.pk, "name": c.account.name} if c.account_id else None,
                "url": c.get_absolute_url(),
                **_visible(c, contact_hidden, ("title", "email", "phone")),
            }
            for c in results.contacts
        ],
    }
