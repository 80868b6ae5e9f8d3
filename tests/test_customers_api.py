import pytest

from guanxi.access import services as access_services
from guanxi.access.models import Role
from guanxi.customers import services
from guanxi.customers.models import Account, Contact
from guanxi.identity.services import api_token_create
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member


def token_for(tenant, user, scope="write"):
    with tenant_context(tenant, actor=user):
        return api_token_create(user=user, name="t", scope=scope)[1]


@pytest.fixture
def api(client, tenant):
    secret = token_for(tenant, tenant.admin)

    class Api:
        def __init__(self, secret):
            self.headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

        def get(self, path, **params):
            return client.get(f"/api/v1{path}", params, **self.headers)

        def post(self, path, data):
            return client.post(f"/api/v1{path}", data, content_type="application/json", **self.headers)

        def patch(self, path, data):
            return client.patch(f"/api/v1{path}", data, content_type="application/json", **self.headers)

        def delete(self, path):
            return client.delete(f"/api/v1{path}", **self.headers)

    api = Api(secret)
    api.as_user = lambda user, scope="write": Api(token_for(tenant, user, scope))
    return api


def test_account_crud_through_the_api(api, tenant):
    r = api.post(
        "/accounts",
        {
            "name": "深圳市腾飞电子有限公司",
            "phone": "0755-8888 6666",
            "tags": ["VIP"],
            "lifecycle_stage": "opportunity",
        },
    )
    assert r.status_code == 201, r.content
    acc = r.json()
    assert acc["phone"] == "+8675588886666" and acc["tags"] == ["VIP"] and acc["owner_id"] == tenant.admin.pk
    r = api.patch(f"/accounts/{acc['id']}", {"lifecycle_stage": "customer", "annual_revenue": "1250000.50"})
    assert r.status_code == 200 and r.json()["lifecycle_stage"] == "customer"
    assert r.json()["annual_revenue"] == "1250000.50"
    r = api.get("/accounts", lifecycle_stage="customer")
    assert [a["name"] for a in r.json()["items"]] == ["深圳市腾飞电子有限公司"]
    assert api.get("/accounts", lifecycle_stage="prospect").json()["items"] == []
    assert api.delete(f"/accounts/{acc['id']}").status_code == 204
    assert api.get(f"/accounts/{acc['id']}").status_code == 404


def test_validation_errors_are_problem_json_and_write_nothing(api, tenant):
    r = api.post("/accounts", {"name": "X", "email": "not-an-email", "custom_fields": {"nope": 1}})
    assert r.status_code == 422
    assert r["Content-Type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "validation" and "email" in body["errors"]
    r = api.post("/accounts", {"kind": "organization"})
    assert r.status_code == 422 and "name" in r.json()["errors"]
    r = api.post("/accounts", {"name": "Y", "parent_id": 999999})
    assert r.status_code == 422 and "parent_id" in r.json()["errors"]
    with tenant_context(tenant):
        assert not Account.objects.exists()


def test_cursor_pagination_and_sorting(api, tenant):
    with tenant_context(tenant, actor=tenant.admin):
        Account.objects.bulk_create([Account(name=f"A{i:03d}", owner=tenant.admin) for i in range(120)])
    seen, cursor = [], None
    while True:
        params = {"limit": 50, "sort": "-name"}
        if cursor:
            params["cursor"] = cursor
        body = api.get("/accounts", **params).json()
        seen += [a["name"] for a in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [f"A{i:03d}" for i in reversed(range(120))]
    assert api.get("/accounts", sort="nope").status_code == 400
    assert api.get("/accounts", cursor="!!").status_code == 400


def test_list_query_count_does_not_grow_with_page_size(api, tenant, django_assert_max_num_queries):
    with tenant_context(tenant, actor=tenant.admin):
        for i in range(60):
            services.contact_create(
                actor=tenant.admin,
                data={"family_name": "Z", "given_name": f"n{i}", "emails": [(f"z{i}@ex.com", "work")]},
            )
    api.get("/contacts", limit=5)
    with django_assert_max_num_queries(16) as small:
        api.get("/contacts", limit=5)
    with django_assert_max_num_queries(len(small.captured_queries)):
        r = api.get("/contacts", limit=60)
    assert len(r.json()["items"]) == 60


def test_contacts_with_points_and_links(api, tenant):
    acc = api.post("/accounts", {"name": "Acme"}).json()
    r = api.post(
        "/contacts",
        {
            "family_name": "张",
            "given_name": "敏",
            "account_id": acc["id"],
            "emails": [{"value": "zhang.min@acme.cn"}],
            "phones": [{"value": "13800138000", "label": "mobile"}],
        },
    )
    assert r.status_code == 201, r.content
    c = r.json()
    assert c["full_name"] == "张敏" and c["phone"] == "+8613800138000"
    assert c["accounts"] == [{"account_id": acc["id"], "role": "", "note": ""}]
    other = api.post("/accounts", {"name": "Other"}).json()
    r = api.post(f"/contacts/{c['id']}/accounts", {"account_id": other["id"], "role": "buyer"})
    assert r.status_code == 201 and len(r.json()["accounts"]) == 2
    assert api.delete(f"/contacts/{c['id']}/accounts/{other['id']}").status_code == 204
    r = api.patch(f"/contacts/{c['id']}", {"phones": [{"value": "bad"}]})
    assert r.status_code == 422 and "phones" in r.json()["errors"]


def test_restricted_fields_are_left_out_and_refused(api, tenant):
    rep = make_member(tenant, roles=("Sales representative",))
    with tenant_context(tenant, actor=tenant.admin):
        managers = Role.objects.get(name="Sales manager")
        access_services.field_restriction_set(
            actor=tenant.admin, module="customers.account", field_name="annual_revenue", grants={managers.pk: True}
        )
        acc = services.account_create(actor=rep, data={"name": "Mine"})
    rep_api = api.as_user(rep)
    body = rep_api.get(f"/accounts/{acc.pk}").json()
    assert "annual_revenue" not in body and body["name"] == "Mine"
    r = rep_api.patch(f"/accounts/{acc.pk}", {"annual_revenue": "5"})
    assert r.status_code == 422 and "annual_revenue" in r.json()["errors"]
    assert "annual_revenue" in api.get(f"/accounts/{acc.pk}").json()


def test_permissions_and_tenants(api, tenant, other_tenant):
    rep = make_member(tenant, roles=("Sales representative",))
    with tenant_context(tenant, actor=tenant.admin):
        theirs = services.account_create(actor=tenant.admin, data={"name": "Admin's"})
        contact = services.contact_create(actor=tenant.admin, data={"family_name": "Li"})
    rep_api = api.as_user(rep)
    assert rep_api.get(f"/accounts/{theirs.pk}").status_code == 404
    assert rep_api.patch(f"/accounts/{theirs.pk}", {"name": "x"}).status_code == 404
    assert rep_api.delete(f"/accounts/{theirs.pk}").status_code == 404
    assert rep_api.get("/accounts").json()["items"] == []
    reader = api.as_user(rep, scope="read")
    assert reader.post("/accounts", {"name": "no"}).status_code == 403
    with tenant_context(other_tenant, actor=other_tenant.admin):
        from guanxi.identity.services import api_token_create as mk

        secret = mk(user=other_tenant.admin, name="b", scope="write")[1]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    from django.test import Client

    c = Client()
    for path in (f"/api/v1/accounts/{theirs.pk}", f"/api/v1/contacts/{contact.pk}"):
        assert c.get(path, **headers).status_code == 404
        assert c.patch(path, {"name": "x"}, content_type="application/json", **headers).status_code == 404
        assert c.delete(path, **headers).status_code == 404
    with tenant_context(tenant):
        assert Contact.objects.filter(pk=contact.pk).exists()
