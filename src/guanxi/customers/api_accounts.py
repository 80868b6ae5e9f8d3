"""/api/v1/accounts: the same filters, services and permissions as the account pages."""

from guanxi.platform.api_crud import EntityApi

from . import selectors, services
from .api_schemas import AccountIn, AccountOut, AccountPatch
from .filters import AccountFilterSet

accounts_api = EntityApi(
    entity_key="customers.account",
    out_schema=AccountOut,
    in_schema=AccountIn,
    patch_schema=AccountPatch,
    filterset_class=AccountFilterSet,
    queryset=selectors.account_list_queryset,
    create=lambda actor, data, tags: services.account_create(actor=actor, data=data, tags=tags),
    update=lambda actor, obj, data, tags: services.account_update(actor=actor, account=obj, data=data, tags=tags),
    delete=lambda actor, obj: services.account_delete(actor=actor, account=obj),
    sorts={"name", "created_at", "updated_at", "annual_revenue", "lifecycle_stage", "id"},
    default_sort="name",
)

router = accounts_api.router("accounts")
