"""/api/v1 products, price books, quotes (lines, actions, PDF) and orders; and no route reaches another tenant."""

import io
import json
import re
from decimal import Decimal as D

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from guanxi.commerce import services
from guanxi.commerce.models import (
    DiscountApproval,
    Order,
    PriceBook,
    PriceBookEntry,
    Product,
    ProductCategory,
    Quote,
    QuoteStatus,
    TaxClass,
)
from guanxi.customers import services as customer_services
from guanxi.identity.services import api_token_create
from guanxi.platform.context import all_tenants_scope, tenant_context
from guanxi.platform.testing import make_member, make_tenant

from .smtp import smtp_server  # noqa: F401 - fixture


def token_for(tenant, user, scope="write"):
    with tenant_context(tenant, actor=user):
        return api_token_create(user=user, name="t", scope=scope)[1]


class Api:
    def __init__(self, client, secret):
        self.client = client
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    def get(self, path, **params):
        return self.client.get(f"/api/v1{path}", params, **self.headers)

    def post(self, path, data=None):
        return self.client.post(f"/api/v1{path}", data or {}, content_type="application/json", **self.headers)

    def put(self, path, data):
        return self.client.put(f"/api/v1{path}", data, content_type="application/json", **self.headers)

    def patch(self, path, data):
        return self.client.patch(f"/api/v1{path}", data, content_type="application/json", **self.headers)

    def delete(self, path):
        return self.client.delete(f"/api/v1{path}", **self.headers)


@pytest.fixture
def api(client, tenant):
    api = Api(client, token_for(tenant, tenant.admin))
    api.as_user = lambda user, scope="write": Api(client, token_for(tenant, user, scope))
    return api


@pytest.fixture
def base(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        vat = TaxClass.objects.create(name="VAT 13", rate=13)
        account = customer_services.account_create(actor=tenant.admin, data={"name": "API 客户", "rating": "A"})
        contact = customer_services.contact_create(
            actor=tenant.admin, data={"family_name": "赵", "account": account, "email": "zhao@example.com"}
        )
    return {"vat": vat, "account": account, "contact": contact}


def test_catalogue_and_price_lookup(api, base):
    r = api.post(
        "/products", {"sku": "API-1", "name": "接口产品", "list_price": "99.90", "tax_class_id": base["vat"].pk}
    )
    assert r.status_code == 201, r.content
    product = r.json()
    assert product["list_price"] == "99.9000" and product["tax_rate"] == "13.000"
    assert api.post("/products", {"sku": "api-1", "name": "dup"}).json()["errors"]["sku"]
    r = api.post("/price-books", {"name": "Key accounts", "tier": "A", "currency": "cny"})
    assert r.status_code == 201, r.content
    book = r.json()
    assert book["currency"] == "CNY"
    r = api.post(f"/price-books/{book['id']}/entries", {"product_id": product["id"], "unit_price": "80"})
    assert r.status_code == 201
    entry = r.json()
    r = api.post(
        f"/price-books/{book['id']}/entries", {"product_id": product["id"], "unit_price": "70", "min_quantity": "10"}
    )
    assert r.status_code == 201
    assert len(api.get(f"/price-books/{book['id']}/entries").json()) == 2
    price = api.get(f"/products/{product['id']}/price", account_id=base["account"].pk, quantity="12").json()
    assert price["unit_price"] == "70.0000" and price["price_book_id"] == book["id"]
    price = api.get(f"/products/{product['id']}/price", quantity="1").json()  # no account: no tier book
    assert price["unit_price"] == "99.9000" and price["price_book_id"] is None
    assert api.get(f"/products/{product['id']}/price", currency="EUR").status_code == 404
    assert (
        api.patch(f"/price-books/{book['id']}/entries/{entry['id']}", {"unit_price": "75"}).json()["unit_price"]
        == "75.0000"
    )
    assert api.delete(f"/price-books/{book['id']}/entries/{entry['id']}").status_code == 204
    assert [p["sku"] for p in api.get("/products", q="接口").json()["items"]] == ["API-1"]
    assert api.get("/price-books", tier="A").json()["items"][0]["name"] == "Key accounts"  # fmt: skip


def test_quote_lifecycle_through_the_api(api, base, smtp_server):  # noqa: F811
    r = api.post(
        "/products", {"sku": "SVC", "name": "咨询 Consulting", "list_price": "33.335", "tax_class_id": base["vat"].pk}
    )
    product = r.json()
    r = api.post(
        "/quotes",
        {"account_id": base["account"].pk, "contact_id": base["contact"].pk, "title": "API quote",
         "lines": [{"product_id": product["id"], "quantity": "3"},
                   {"description": "Travel", "quantity": "1", "unit_price": "100", "tax_rate": "0"}]},
    )  # fmt: skip
    assert r.status_code == 201, r.content
    quote = r.json()
    assert quote["total"] == "213.01" and quote["status"] == "draft" and quote["needs_approval"] is False
    assert re.fullmatch(r"Q-\d{4}-\d{5}", quote["number"])
    lines = api.get(f"/quotes/{quote['id']}/lines").json()
    assert [line["total"] for line in lines["lines"]] == ["113.01", "100.00"]
    assert lines["taxes"][0] == {"rate": "13", "base": "100.01", "tax": "13.00"}
    # replace the lines with a big discount: needs approval, cannot be sent
    r = api.put(f"/quotes/{quote['id']}/lines",
                {"lines": [{"product_id": product["id"], "quantity": "3", "discount_percent": "30"}]})  # fmt: skip
    assert r.status_code == 200 and r.json()["total"] == "79.11"
    assert api.get(f"/quotes/{quote['id']}").json()["needs_approval"] is True
    r = api.post(f"/quotes/{quote['id']}/send", {})
    assert r.status_code == 422
    r = api.post(f"/quotes/{quote['id']}/request-approval", {"reason": "why not"})
    assert r.status_code == 201 and r.json()["status"] == "pending"
    r = api.post(f"/quotes/{quote['id']}/approval", {"decision": "approve", "comment": "ok"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    r = api.post(f"/quotes/{quote['id']}/send", {"cc": ["cc@example.com"]})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "sent"
    assert smtp_server.wait_for(1)[0]["To"] == "zhao@example.com"
    r = api.get(f"/quotes/{quote['id']}/pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    from pypdf import PdfReader

    assert "79.11" in PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
    r = api.post(f"/quotes/{quote['id']}/revise")
    assert r.status_code == 201 and r.json()["version"] == 2 and r.json()["display_number"].endswith(" v2")
    v2 = r.json()
    assert api.get(f"/quotes/{quote['id']}").json()["status"] == "superseded"
    assert api.patch(f"/quotes/{quote['id']}", {"title": "nope"}).status_code == 422
    r = api.patch(f"/quotes/{v2['id']}", {"discount_percent": "0"})
    assert r.status_code == 200
    r = api.put(f"/quotes/{v2['id']}/lines", {"lines": [{"product_id": product["id"], "quantity": "3"}]})
    assert r.json()["total"] == "113.01"
    r = api.post(f"/quotes/{v2['id']}/accept")
    assert r.status_code == 201, r.content
    order = r.json()
    assert order["quote_id"] == v2["id"] and order["total"] == "113.01" and order["status"] == "draft"
    assert api.post(f"/quotes/{v2['id']}/accept").status_code == 422
    assert api.post(f"/quotes/{v2['id']}/reject", {"reason": "x"}).status_code == 422
    # listing filters
    assert {q["id"] for q in api.get("/quotes", status="superseded").json()["items"]} == {quote["id"]}
    assert {q["id"] for q in api.get("/quotes", latest="true").json()["items"]} == {v2["id"]}


def test_orders_through_the_api(api, base):
    product = api.post("/products", {"sku": "HW", "name": "Terminal", "list_price": "500"}).json()
    r = api.post(
        "/orders",
        {"account_id": base["account"].pk, "channel": "ecommerce", "order_date": "2026-04-02",
         "lines": [{"product_id": product["id"], "quantity": "2"}]},
    )  # fmt: skip
    assert r.status_code == 201, r.content
    order = r.json()
    assert order["total"] == "1000.00" and order["channel"] == "ecommerce" and order["number"].startswith("SO-")
    r = api.post(f"/orders/{order['id']}/transition", {"to": "fulfilled"})
    assert r.status_code == 422
    r = api.post(f"/orders/{order['id']}/transition", {"to": "confirmed"})
    assert r.status_code == 200 and r.json()["confirmed_at"]
    assert api.put(f"/orders/{order['id']}/lines", {"lines": []}).status_code == 422
    r = api.patch(f"/orders/{order['id']}", {"tracking_number": "SF-1", "carrier": "SF"})
    assert r.status_code == 200 and r.json()["tracking_number"] == "SF-1"
    assert api.patch(f"/orders/{order['id']}", {"channel": "direct"}).status_code == 422
    assert [o["id"] for o in api.get("/orders", product=product["id"]).json()["items"]] == [order["id"]]
    assert api.get("/orders", date_from="2026-05-01").json()["items"] == []
    assert [o["id"] for o in api.get("/orders", status="confirmed", account=base["account"].pk).json()["items"]] == [
        order["id"]
    ]
    assert api.get("/orders", sort="-total").status_code == 200
    assert api.delete(f"/orders/{order['id']}").status_code == 422


def test_api_permissions_follow_roles(api, base, tenant):
    rep = make_member(tenant)
    rep_api = api.as_user(rep)
    quote = api.post("/quotes", {"account_id": base["account"].pk}).json()
    assert rep_api.get(f"/quotes/{quote['id']}").status_code == 404
    assert rep_api.post(f"/quotes/{quote['id']}/accept").status_code == 404
    assert rep_api.get("/quotes").json()["items"] == []
    assert rep_api.get("/products").status_code == 200
    assert rep_api.post("/products", {"sku": "R", "name": "R"}).status_code == 403
    assert rep_api.post("/quotes", {"account_id": base["account"].pk}).status_code == 422  # not their account
    reader = api.as_user(tenant.admin, scope="read")
    assert reader.post("/quotes", {"account_id": base["account"].pk}).status_code == 403


# --- tenant isolation ---------------------------------------------------------------------------

MARKER = "SECRET-COMMERCE-A"


@pytest.fixture
def tenant_a(db):
    tenant = make_tenant(f"Alpha {MARKER}")
    admin = tenant.admin
    with tenant_context(tenant, actor=admin):
        vat = TaxClass.objects.create(name=f"Tax {MARKER}", rate=13)
        category = ProductCategory.objects.create(name=f"Cat {MARKER}")
        product = Product.objects.create(sku="A-1", name=f"Product {MARKER}", list_price=10, tax_class=vat)
        book = PriceBook.objects.create(name=f"Book {MARKER}", is_default=True)
        entry = PriceBookEntry.objects.create(price_book=book, product=product, unit_price=9)
        account = customer_services.account_create(actor=admin, data={"name": f"Account {MARKER}"})
        quote = services.quote_create(
            actor=admin, data={"account": account, "title": f"Quote {MARKER}", "discount_percent": D("50")},
            lines=[{"product": product.pk, "quantity": 1}],
        )  # fmt: skip
        services.quote_request_approval(actor=admin, quote=quote)
        approval = DiscountApproval.objects.get(quote=quote)
        order = services.order_create(actor=admin, data={"account": account, "notes": MARKER},
                                      lines=[{"product": product.pk, "quantity": 1}])  # fmt: skip
    tenant.objs = {"product": product, "book": book, "entry": entry, "quote": quote, "order": order, "tax": vat,
                   "category": category, "approval": approval, "account": account}  # fmt: skip
    return tenant


def _walk(patterns, prefix="", namespace=None):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern), p.namespace or namespace)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), f"{namespace}:{p.name}" if namespace else p.name, p.pattern.converters


def _commerce_routes():
    walk = _walk
    for route, name, converters in walk(get_resolver().url_patterns):
        if not converters:
            continue
        if route.startswith("commerce/") or re.match(r"^api/v1/(products|price-books|quotes|orders)/", route):
            yield route, name


def _fill(route, objs):
    values = {
        "product": objs["product"].pk,
        "price_book": objs["book"].pk,
        "quote": objs["quote"].pk,
        "order": objs["order"].pk,
        "approval": objs["approval"].pk,
        "tax_class": objs["tax"].pk,
        "category": objs["category"].pk,
    }
    if route.startswith("api/v1/"):
        kind = {"products": "product", "price-books": "price_book", "quotes": "quote", "orders": "order"}[
            route.split("/")[2]
        ]
    else:
        segment = route.split("/")[1]
        kind = {"products": "product", "price-books": "price_book", "quotes": "quote", "orders": "order",
                "approvals": "approval"}.get(segment)  # fmt: skip
        if segment == "settings":
            kind = "category" if "categories" in route else "tax_class"
    params = {"pk": values[kind], "entry_pk": objs["entry"].pk, "entry_id": objs["entry"].pk}
    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: str(params[m.group(2)]), route)


def _state(tenant):
    with all_tenants_scope():
        return (
            sorted(Quote.objects.filter(tenant=tenant).values_list("status", "total", "version")),
            sorted(Order.objects.filter(tenant=tenant).values_list("status", "total")),
            list(PriceBookEntry.objects.filter(tenant=tenant).values_list("unit_price", flat=True)),
            list(Product.objects.filter(tenant=tenant).values_list("name", "is_active")),
            list(DiscountApproval.objects.filter(tenant=tenant).values_list("status", flat=True)),
            list(TaxClass.objects.filter(tenant=tenant).values_list("name", flat=True)),
        )


@pytest.mark.django_db
def test_no_commerce_route_reaches_another_tenants_objects(tenant_a):
    tenant_b = make_tenant("Beta")
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(tenant_b.admin)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(tenant_b, tenant_b.admin)}")
    before = _state(tenant_a)
    routes = list(_commerce_routes())
    assert len(routes) > 40
    failures, checked = [], 0
    for route, name in routes:
        url = _fill(route, tenant_a.objs)
        is_api = route.startswith("api/v1/")
        client = api if is_api else browser
        for method in ("get", "post", "put", "patch", "delete") if is_api else ("get", "post"):
            kwargs = {"content_type": "application/json", "data": json.dumps({})} if is_api and method != "get" else {}
            if is_api and method == "post" and name and "entries" in route:
                kwargs["data"] = json.dumps({"product_id": tenant_a.objs["product"].pk, "unit_price": "1"})
            if is_api and method == "post" and route.endswith("/approval"):
                kwargs["data"] = json.dumps({"decision": "approve"})
            if is_api and method == "post" and route.endswith("/transition"):
                kwargs["data"] = json.dumps({"to": "confirmed"})
            if is_api and method == "put":
                kwargs["data"] = json.dumps({"lines": []})
            response = getattr(client, method)(url, **kwargs)
            checked += 1
            body = response.content.decode(errors="replace")
            if response.status_code not in (404, 405) or MARKER in body:
                failures.append(f"{method.upper()} {url} ({name}) → {response.status_code}")
    assert not failures, "Tenant B reached tenant A's objects:\n" + "\n".join(failures)
    assert checked > 100
    assert _state(tenant_a) == before


@pytest.mark.django_db
def test_commerce_lists_show_nothing_of_another_tenant(tenant_a):
    tenant_b = make_tenant("Beta")
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(tenant_b.admin)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(tenant_b, tenant_b.admin, 'read')}")
    for path in ("products/", "price-books/", "quotes/", "orders/", "approvals/", "settings/", "products/options/",
                 "opportunities/options/"):  # fmt: skip
        response = browser.get(f"/commerce/{path}")
        assert response.status_code == 200, path
        assert MARKER not in response.content.decode(), path
    for path in ("products", "price-books", "quotes", "orders"):
        response = api.get(f"/api/v1/{path}")
        assert response.status_code == 200 and MARKER not in response.content.decode(), path
    # ids of tenant A given as filter values or references find nothing and create nothing
    objs = tenant_a.objs
    assert api.get("/api/v1/orders", {"product": objs["product"].pk}).json()["items"] == []
    writer = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(tenant_b, tenant_b.admin)}")
    r = writer.post("/api/v1/quotes", {"account_id": objs["account"].pk}, content_type="application/json")
    assert r.status_code == 422
    with tenant_context(tenant_b, actor=tenant_b.admin):
        account_b = customer_services.account_create(actor=tenant_b.admin, data={"name": "B"})
    r = writer.post(
        "/api/v1/quotes",
        {"account_id": account_b.pk, "price_book_id": objs["book"].pk, "lines": [{"product_id": objs["product"].pk}]},
        content_type="application/json",
    )
    assert r.status_code == 422 and MARKER not in r.content.decode()
    with tenant_context(tenant_b):
        assert not Quote.objects.exists()
    assert QuoteStatus.PENDING_APPROVAL in [s for s, _t, _v in _state(tenant_a)[0]]
