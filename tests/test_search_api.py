"""GET /api/v1/search: JSON results, problem+json on bad input, tenants and restricted fields respected."""

import pytest
from django.test import Client

from guanxi.access import services as access_services
from guanxi.access.models import Role
from guanxi.customers import services
from guanxi.identity.services import api_token_create
from guanxi.platform.context import tenant_context


def search(tenant, user, **params):
    return Client().get("/api/v1/search", params, HTTP_AUTHORIZATION=f"Bearer {token(tenant, user)}")


def hide(tenant, field_name, *modules):
    """Only sales managers may see ``field_name`` of ``modules`` (the administrator sees everything)."""
    with tenant_context(tenant, actor=tenant.admin):
        managers = Role.objects.get(name="Sales manager")
        for module in modules:
            access_services.field_restriction_set(
                actor=tenant.admin, module=module, field_name=field_name, grants={managers.pk: True}
            )


def token(tenant, user) -> str:
    with tenant_context(tenant, actor=user):
        return api_token_create(user=user, name="t", scope="read")[1]


def listed(secret, path, q) -> list[int]:
    """Ids of a list API's items found by its search box."""
    response = Client().get(path, {"q": q}, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


@pytest.fixture
def people(tenant, rep):
    with tenant_context(tenant, actor=tenant.admin):
        huaxin = services.account_create(
            actor=tenant.admin, data={"name": "北京华信科技", "phone": "010 6552 9988", "owner": rep}
        )
        wang = services.contact_create(
            actor=tenant.admin,
            data={
                "owner": rep,
                "account": huaxin,
                "family_name": "王",
                "given_name": "伟",
                "title": "采购经理",
                "emails": [("wang.wei@huaxin.example", "work")],
                "phones": [("+86 138 0013 8000", "mobile")],
            },
        )
        services.contact_create(actor=tenant.admin, data={"family_name": "Smith", "given_name": "Anna"})
    return huaxin, wang


def test_search_returns_accounts_and_contacts_as_json(tenant, people):
    huaxin, wang = people
    r = search(tenant, tenant.admin, q="王伟")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["query"] == "王伟" and body["accounts"] == []
    [hit] = body["contacts"]
    assert hit == {
        "id": wang.pk,
        "full_name": "王伟",
        "title": "采购经理",
        "email": "wang.wei@huaxin.example",
        "phone": "+8613800138000",
        "account": {"id": huaxin.pk, "name": "北京华信科技"},
        "url": wang.get_absolute_url(),
    }
    # By number (as a CTI screen-pop would look a caller up) and by a company's brand.
    assert [c["id"] for c in search(tenant, tenant.admin, q="13800138000").json()["contacts"]] == [wang.pk]
    assert [a["id"] for a in search(tenant, tenant.admin, q="华信").json()["accounts"]] == [huaxin.pk]


def test_bad_input_is_a_problem_document(tenant, people):
    for params in ({}, {"q": ""}, {"q": "x" * 101}, {"q": "wang", "limit": 0}, {"q": "wang", "limit": 51}):
        r = search(tenant, tenant.admin, **params)
        assert r.status_code == 422, params
        assert r["Content-Type"] == "application/problem+json"


def test_another_tenant_finds_nothing(tenant, other_tenant, people):
    body = search(other_tenant, other_tenant.admin, q="王伟").json()
    assert body["contacts"] == [] and body["accounts"] == []
    assert search(other_tenant, other_tenant.admin, q="13800138000").json()["contacts"] == []


def test_restricted_fields_are_neither_searched_nor_shown(tenant, people, rep, client):
    _huaxin, wang = people
    hide(tenant, "phone", "customers.contact", "customers.account")
    body = search(tenant, rep, q="王伟").json()
    [hit] = body["contacts"]
    assert "phone" not in hit and hit["email"] == "wang.wei@huaxin.example"
    # The hidden number cannot be probed by searching for it; the administrator still finds it.
    assert search(tenant, rep, q="13800138000").json()["contacts"] == []
    assert search(tenant, rep, q="65529988").json()["accounts"] == []
    assert [c["id"] for c in search(tenant, tenant.admin, q="13800138000").json()["contacts"]] == [wang.pk]
    # The typeahead in the UI leaves the number out too.
    client.force_login(rep)
    html = client.get("/search/", {"q": "王伟", "typeahead": "1"}).content.decode()
    assert "wang.wei@huaxin.example" in html and "138" not in html
    assert "6552" not in client.get("/search/", {"q": "华信"}).content.decode()


def test_list_searches_do_not_probe_restricted_fields_either(tenant, people, rep, client):
    """The lists' search box (pages, API, exports share the filter) skips hidden e-mails and numbers."""
    huaxin, wang = people
    hide(tenant, "phone", "customers.contact", "customers.account")
    rep_secret, admin_secret = token(tenant, rep), token(tenant, tenant.admin)
    assert listed(rep_secret, "/api/v1/contacts", "13800138000") == []
    assert listed(rep_secret, "/api/v1/accounts", "65529988") == []
    assert listed(rep_secret, "/api/v1/contacts", "wang.wei@") == [wang.pk]  # e-mail is not hidden
    assert listed(admin_secret, "/api/v1/contacts", "13800138000") == [wang.pk]
    assert listed(admin_secret, "/api/v1/accounts", "010 6552 9988") == [huaxin.pk]
    client.force_login(rep)
    assert "王伟" not in client.get("/customers/contacts/", {"q": "13800138000"}).content.decode()


def test_the_lead_list_does_not_search_hidden_fields(tenant, rep):
    from guanxi.sales import lead_services

    with tenant_context(tenant, actor=tenant.admin):
        lead = lead_services.lead_create(
            actor=tenant.admin,
            data={
                "company": "青岛海洋 Ocean",
                "email": "buyer@ocean.example",
                "phone": "+86 138 0013 8000",
                "owner": rep,
            },
        )
    hide(tenant, "phone", "sales.lead")
    rep_secret, admin_secret = token(tenant, rep), token(tenant, tenant.admin)
    assert listed(rep_secret, "/api/v1/leads", "13800138000") == []
    assert listed(rep_secret, "/api/v1/leads", "buyer@ocean") == [lead.pk]
    assert listed(admin_secret, "/api/v1/leads", "138 0013 8000") == [lead.pk]


def test_a_list_search_field_hidden_from_the_user_is_not_searched(tenant, rep):
    from guanxi.commerce import services as commerce

    with tenant_context(tenant, actor=tenant.admin):
        product = commerce.product_create(actor=tenant.admin, data={"name": "ERP 套件", "sku": "SECRET-42"})
    hide(tenant, "sku", "commerce.product")
    rep_secret = token(tenant, rep)
    assert listed(rep_secret, "/api/v1/products", "SECRET-42") == []
    assert listed(rep_secret, "/api/v1/products", "ERP") == [product.pk]
