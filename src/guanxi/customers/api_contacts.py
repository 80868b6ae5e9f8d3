"""/api/v1/contacts: the same filters, services and permissions as the contact pages."""

from django.http import HttpRequest
from ninja import Status

from guanxi.access import permissions
from guanxi.platform.api_crud import EntityApi
from guanxi.platform.prefetch import prefetch, prefetched
from guanxi.platform.registry import Action

from . import selectors, services
from .api_schemas import ContactIn, ContactOut, ContactPatch, LinkIn
from .filters import ContactFilterSet
from .models import Account, AccountContact, ContactPoint


def _queryset():
    return selectors.contact_list_queryset().prefetch_related(
        prefetch("points", ContactPoint.objects.order_by("-is_primary", "id")),
        prefetch("account_links", AccountContact.objects.order_by("id")),
    )


def _points(data: dict) -> dict:
    for key in ("emails", "phones"):
        if data.get(key) is not None:
            data[key] = [(p["value"], p.get("label") or "work") for p in data[key]]
    return data


def _extra(contact, access) -> dict:
    points = prefetched(contact, "points")
    data = {
        "accounts": [
            {"account_id": link.account_id, "role": link.role, "note": link.note}
            for link in prefetched(contact, "account_links")
        ],
    }
    for key, kind, guard in (
        ("emails", ContactPoint.Kind.EMAIL, "email"),
        ("phones", ContactPoint.Kind.PHONE, "phone"),
    ):
        if access.can_see(guard):
            data[key] = [
                {"kind": p.kind, "value": p.value, "label": p.label, "is_primary": p.is_primary}
                for p in points
                if p.kind == kind
            ]
    return data


contacts_api = EntityApi(
    entity_key="customers.contact",
    out_schema=ContactOut,
    in_schema=ContactIn,
    patch_schema=ContactPatch,
    filterset_class=ContactFilterSet,
    queryset=_queryset,
    create=lambda actor, data, tags: services.contact_create(actor=actor, data=_points(data), tags=tags),
    update=lambda actor, obj, data, tags: services.contact_update(
        actor=actor, contact=obj, data=_points(data), tags=tags
    ),
    delete=lambda actor, obj: services.contact_delete(actor=actor, contact=obj),
    sorts={"full_name", "created_at", "updated_at", "birthday", "id"},
    default_sort="full_name",
    extra_out=_extra,
)

router = contacts_api.router("contacts")


@router.post("/{int:pk}/accounts", response={201: ContactOut}, exclude_unset=True, summary="Link to an account")
def link_account(request: HttpRequest, pk: int, payload: LinkIn):
    contact = permissions.get_for(request.user, _queryset(), pk, Action.EDIT)
    account = permissions.get_for(request.user, Account.objects.all(), payload.account_id)
    services.contact_link_account(
        actor=request.user, contact=contact, account=account, role=payload.role, note=payload.note
    )
    fresh = permissions.get_for(request.user, _queryset(), pk)
    return Status(201, contacts_api.serialize(fresh, permissions.field_access(request.user, "customers.contact")))


@router.delete("/{int:pk}/accounts/{int:account_id}", response={204: None}, summary="Unlink from an account")
def unlink_account(request: HttpRequest, pk: int, account_id: int):
    contact = permissions.get_for(request.user, _queryset(), pk, Action.EDIT)
    link = (
        AccountContact.objects.filter(contact=contact, account_id=account_id)
        .select_related("account", "contact")
        .first()
    )
    if link is None:
        from django.http import Http404

        raise Http404
    services.contact_unlink_account(actor=request.user, link=link)
    return Status(204, None)
