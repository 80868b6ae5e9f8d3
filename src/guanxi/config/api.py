"""The /api/v1/ API: one NinjaAPI with a router per business app."""

from importlib import import_module

from guanxi.platform.api import build_api

api = build_api()

# (path prefix, module holding `router`)
ROUTERS = [
    ("/accounts", "guanxi.customers.api_accounts"),
    ("/contacts", "guanxi.customers.api_contacts"),
    ("/activities", "guanxi.activities.api"),
    ("/", "guanxi.customization.api"),
    ("/", "guanxi.org.api"),
    ("/", "guanxi.identity.api"),
    ("/", "guanxi.sales.api"),
    ("/", "guanxi.commerce.api"),
    ("/", "guanxi.finance.api"),
    ("/imports", "guanxi.imports.api"),
    ("/exports", "guanxi.exports.api"),
    ("/duplicates", "guanxi.dedupe.api"),
    ("/search", "guanxi.search.api"),
]

for prefix, module in ROUTERS:
    try:
        router = import_module(module).router
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        continue  # the app has no API yet
    api.add_router(prefix, router)
