"""/api/v1/activities: list with filters and cursors, get, create, patch, delete, complete."""

import datetime

import pytest
from django.utils import timezone

from guanxi.activities import services
from guanxi.activities.models import Activity
from guanxi.customers import services as customers
from guanxi.identity.services import api_token_create
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member, make_tenant


def token_for(tenant, user, scope="write"):
    with tenant_context(tenant, actor=user):
        return api_token_create(user=user, name="t", scope=scope)[1]


class Api:
    def __init__(self, client, secret):
        self.client = client
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    def get(self, path, **params):
        return self.client.get(f"/api/v1{path}", params, **self.headers)

    def post(self, path, data):
        return self.client.post(f"/api/v1{path}", data, content_type="application/json", **self.headers)

    def patch(self, path, data):
        return self.client.patch(f"/api/v1{path}", data, content_type="application/json", **self.headers)

    def delete(self, path):
        return self.client.delete(f"/api/v1{path}", **self.headers)


@pytest.fixture
def api(client, tenant):
    return Api(client, token_for(tenant, tenant.admin))


@pytest.fixture
def acme(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        account = customers.account_create(actor=tenant.admin, data={"name": "Acme"})
        contact = customers.contact_create(actor=tenant.admin, data={"family_name": "Chen", "account": account})
    return account, contact


def test_create_get_patch_complete_delete(api, tenant, acme):
    account, contact = acme
    colleague = make_member(tenant)
    start = (timezone.now() + datetime.timedelta(days=1)).replace(microsecond=0)
    r = api.post(
        "/activities",
        {
            "kind": "meeting",
            "subject": "Quarterly review",
            "starts_at": start.isoformat(),
            "ends_at": (start + datetime.timedelta(hours=1)).isoformat(),
            "contact_id": contact.pk,
            "location": "Shanghai office",
            "participant_user_ids": [colleague.pk],
            "participant_contact_ids": [contact.pk],
        },
    )
    assert r.status_code == 201, r.content
    a = r.json()
    assert a["status"] == "planned" and a["account_id"] == account.pk and a["owner_id"] == tenant.admin.pk
    assert a["participants"] == {"user_ids": [colleague.pk], "contact_ids": [contact.pk]}
    assert a["url"] == f"/activities/list/{a['id']}/"
    assert api.get(f"/activities/{a['id']}").json()["subject"] == "Quarterly review"

    r = api.patch(f"/activities/{a['id']}", {"subject": "Q3 review", "participant_user_ids": []})
    assert r.status_code == 200 and r.json()["subject"] == "Q3 review"
    assert r.json()["participants"]["user_ids"] == []

    due = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    r = api.post(
        f"/activities/{a['id']}/complete",
        {"outcome": "interested", "next_step": "Send a proposal", "follow_up_due": due},
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["activity"]["status"] == "done" and body["activity"]["outcome"] == "interested"
    assert body["follow_up"]["subject"] == "Send a proposal" and body["follow_up"]["kind"] == "task"

    assert api.delete(f"/activities/{a['id']}").status_code == 204
    assert api.get(f"/activities/{a['id']}").status_code == 404


def test_validation_errors_are_problem_documents(api, tenant):
    start = timezone.now()
    r = api.post(
        "/activities",
        {"kind": "meeting", "subject": "x", "starts_at": start.isoformat(), "ends_at": start.isoformat()},
    )
    assert r.status_code == 422 and r["Content-Type"] == "application/problem+json"
    assert "ends_at" in r.json()["errors"]
    r = api.post("/activities", {"kind": "call", "subject": "x", "outcome": "fantastic"})
    assert r.status_code == 422 and "outcome" in r.json()["errors"]
    r = api.post("/activities", {"kind": "party", "subject": "x"})
    assert r.status_code == 422
    other = make_tenant()
    r = api.post("/activities", {"subject": "x", "owner_id": other.admin.pk})
    assert r.status_code == 422 and "owner" in r.json()["errors"]


def test_list_filters_and_cursor_pagination(api, tenant, acme):
    account, contact = acme
    admin = tenant.admin
    now = timezone.now()
    with tenant_context(tenant, actor=admin):
        for i in range(7):
            services.activity_create(
                actor=admin,
                data={
                    "kind": "call",
                    "subject": f"call {i}",
                    "account": account,
                    "starts_at": now - datetime.timedelta(days=i),
                },
            )
        services.activity_create(
            actor=admin, data={"kind": "task", "subject": "overdue task", "starts_at": now - datetime.timedelta(days=2)}
        )
        services.activity_create(
            actor=admin,
            data={
                "kind": "task",
                "subject": "future task",
                "contact": contact,
                "starts_at": now + datetime.timedelta(days=2),
            },
        )
    r = api.get("/activities", kind="call", limit=3)
    page = r.json()
    assert [a["subject"] for a in page["items"]] == ["call 0", "call 1", "call 2"] and page["total"] == 7
    r = api.get("/activities", kind="call", limit=3, cursor=page["next_cursor"])
    assert [a["subject"] for a in r.json()["items"]] == ["call 3", "call 4", "call 5"]
    assert [a["subject"] for a in api.get("/activities", overdue=True).json()["items"]] == ["overdue task"]
    assert [a["subject"] for a in api.get("/activities", status="planned", sort="starts_at").json()["items"]] == [
        "overdue task",
        "future task",
    ]
    assert [a["subject"] for a in api.get("/activities", contact=contact.pk).json()["items"]] == ["future task"]
    assert len(api.get("/activities", account=account.pk).json()["items"]) == 8  # + the contact's task
    after = (now - datetime.timedelta(days=1, hours=1)).isoformat()
    before = (now + datetime.timedelta(hours=1)).isoformat()
    got = [a["subject"] for a in api.get("/activities", due_after=after, due_before=before).json()["items"]]
    assert got == ["call 0", "call 1"]
    assert [a["subject"] for a in api.get("/activities", q="FUTURE").json()["items"]] == ["future task"]
    assert api.get("/activities", owner="me", kind="task").json()["total"] == 2
    assert api.get("/activities", sort="subject").status_code == 400


def test_list_query_count_does_not_grow(api, tenant, acme, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    account, contact = acme
    with tenant_context(tenant, actor=tenant.admin):
        services.activity_create(actor=tenant.admin, data={"subject": "one", "account": account})
    api.get("/activities")
    with CaptureQueriesContext(connection) as few:
        api.get("/activities")
    with tenant_context(tenant, actor=tenant.admin):
        for i in range(20):
            services.activity_create(
                actor=tenant.admin,
                data={"subject": f"n{i}", "account": account},
                participant_contacts=[contact],
                participant_users=[tenant.admin],
            )
    with django_assert_max_num_queries(len(few) + 1):  # + a COUNT once there is more than one page
        r = api.get("/activities", limit=10)
    assert len(r.json()["items"]) == 10


def test_a_rep_sees_other_teams_activities_only_through_visible_accounts(client, tenant):
    rep_a = make_member(tenant)
    rep_b = make_member(tenant)
    with tenant_context(tenant, actor=rep_a):
        mine = customers.account_create(actor=rep_a, data={"name": "A's"})
    with tenant_context(tenant, actor=rep_b):
        theirs = services.activity_create(actor=rep_b, data={"kind": "task", "subject": "B private"})
        on_mine = services.activity_create(actor=rep_b, data={"kind": "task", "subject": "B on A's account"})
        services.activity_update(actor=None, activity=on_mine, data={"account": mine.pk})
    api_a = Api(client, token_for(tenant, rep_a))
    assert [a["subject"] for a in api_a.get("/activities").json()["items"]] == ["B on A's account"]
    assert api_a.get(f"/activities/{theirs.pk}").status_code == 404
    assert api_a.patch(f"/activities/{theirs.pk}", {"subject": "hacked"}).status_code == 404
    assert api_a.post(f"/activities/{theirs.pk}/complete", {}).status_code == 404
    assert api_a.delete(f"/activities/{theirs.pk}").status_code == 404
    # Timeline items follow their parent for seeing only: changing B's activity needs rights on it.
    assert api_a.get(f"/activities/{on_mine.pk}").status_code == 200
    assert api_a.patch(f"/activities/{on_mine.pk}", {"priority": "high"}).status_code == 404
    assert api_a.delete(f"/activities/{on_mine.pk}").status_code == 404
    # A cannot attach an activity to an account they cannot see.
    with tenant_context(tenant, actor=rep_b):
        hidden = customers.account_create(actor=rep_b, data={"name": "B's"})
    r = api_a.post("/activities", {"subject": "sneaky", "account_id": hidden.pk})
    assert r.status_code == 422 and "account" in r.json()["errors"]
    # A read-only token cannot write.
    read_only = Api(client, token_for(tenant, rep_a, scope="read"))
    assert read_only.post("/activities", {"subject": "x"}).status_code == 403


def test_another_tenants_activities_answer_404(client, tenant, other_tenant):
    with tenant_context(tenant, actor=tenant.admin):
        a = services.activity_create(actor=tenant.admin, data={"kind": "task", "subject": "Tenant A secret"})
    intruder = Api(client, token_for(other_tenant, other_tenant.admin))
    assert intruder.get(f"/activities/{a.pk}").status_code == 404
    assert intruder.patch(f"/activities/{a.pk}", {"subject": "x"}).status_code == 404
    assert intruder.post(f"/activities/{a.pk}/complete", {}).status_code == 404
    assert intruder.delete(f"/activities/{a.pk}").status_code == 404
    assert intruder.get("/activities").json()["items"] == []
    with tenant_context(tenant):
        assert Activity.objects.get(pk=a.pk).status == "planned"
