"""REST API of leads, opportunities, pipelines and competitors."""

import pytest

from guanxi.customers import services as customer_services
from guanxi.identity.services import api_token_create
from guanxi.org.models import Member
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member
from guanxi.sales import lead_services, services
from guanxi.sales.models import LeadAssignmentRule, Opportunity, OpportunityStageChange
from guanxi.sales.testing import make_sales_records


def token_for(tenant, user, scope="write"):
    with tenant_context(tenant, actor=user):
        return api_token_create(user=user, name="t", scope=scope)[1]


@pytest.fixture
def api(client, tenant):
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

    api = Api(token_for(tenant, tenant.admin))
    api.as_user = lambda user, scope="write": Api(token_for(tenant, user, scope))
    return api


@pytest.fixture
def account(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        return customer_services.account_create(actor=tenant.admin, data={"name": "Acme"})


def test_leads_crud_status_and_convert(api, tenant):
    r = api.post("/leads", {"company": "Huaxin", "family_name": "Li", "email": "li@huaxin.cn", "tags": ["Fair"]})
    assert r.status_code == 201, r.content
    lead = r.json()
    assert lead["status"] == "new" and lead["full_name"] == "Li" and lead["tags"] == ["Fair"]
    assert lead["owner_id"] == tenant.admin.pk and "score" in lead
    r = api.patch(f"/leads/{lead['id']}", {"status": "qualified"})
    assert r.status_code == 200 and r.json()["status"] == "qualified"
    r = api.patch(f"/leads/{lead['id']}", {"status": "new"})
    assert r.status_code == 422 and "status" in r.json()["errors"]
    assert api.get("/leads", status="qualified").json()["total"] == 1
    assert api.get("/leads", q="huaxin").json()["total"] == 1
    r = api.get(f"/leads/{lead['id']}/duplicates")
    assert r.status_code == 200 and r.json() == {"accounts": [], "contacts": [], "hidden": 0}
    r = api.post(f"/leads/{lead['id']}/convert", {"opportunity": {"name": "Huaxin ERP", "amount": "1000.50"}})
    assert r.status_code == 200, r.content
    result = r.json()
    assert result["created_account"] and result["created_contact"] and result["opportunity_id"]
    opp = api.get(f"/opportunities/{result['opportunity_id']}").json()
    assert opp["amount"] == "1000.50" and opp["account_id"] == result["account_id"]
    assert api.get(f"/leads/{lead['id']}").json()["converted_opportunity_id"] == result["opportunity_id"]
    r = api.post(f"/leads/{lead['id']}/convert", {})
    assert r.status_code == 422


def test_lead_without_owner_goes_through_assignment_rules(api, tenant):
    rep = make_member(tenant)
    with tenant_context(tenant, actor=tenant.admin):
        lead_services.assignment_rule_save(
            actor=tenant.admin, rule=LeadAssignmentRule(name="All"), member_ids=[Member.objects.get(user=rep).pk]
        )
    r = api.post("/leads", {"company": "Auto"})
    assert r.json()["owner_id"] == rep.pk
    r = api.post("/leads", {"company": "Mine", "owner_id": tenant.admin.pk})
    assert r.json()["owner_id"] == tenant.admin.pk


def test_opportunities_create_move_won_lost_lines(api, tenant, account):
    r = api.post("/opportunities", {"name": "Deal", "account_id": account.pk, "amount": "100"})
    assert r.status_code == 201, r.content
    opp = r.json()
    pipelines = api.get("/pipelines").json()
    assert len(pipelines) == 1 and opp["pipeline_id"] == pipelines[0]["id"]
    stages = pipelines[0]["stages"]
    assert opp["stage_id"] == stages[0]["id"] and opp["probability"] == stages[0]["probability"]
    assert opp["currency"] == "CNY" and opp["lines"] == []

    r = api.post(f"/opportunities/{opp['id']}/move", {"stage_id": stages[2]["id"]})
    assert r.status_code == 200 and r.json()["stage_id"] == stages[2]["id"]
    won_stage = next(s for s in stages if s["kind"] == "won")
    r = api.post(f"/opportunities/{opp['id']}/move", {"stage_id": won_stage["id"]})
    assert r.status_code == 422
    history = api.get(f"/opportunities/{opp['id']}/stage-changes").json()
    assert [h["to_stage_id"] for h in history] == [stages[0]["id"], stages[2]["id"]]
    assert history[1]["seconds_in_previous_stage"] is not None

    r = api.post(f"/opportunities/{opp['id']}/lines", {"description": "Service", "quantity": "3", "unit_price": "10.05",
                                                       "discount_percent": "50"})  # fmt: skip
    assert r.status_code == 201 and r.json()["total"] == "15.08"
    line_id = r.json()["id"]
    assert api.get(f"/opportunities/{opp['id']}").json()["amount"] == "15.08"
    r = api.patch(f"/opportunities/{opp['id']}/lines/{line_id}", {"quantity": "1"})
    assert r.json()["total"] == "5.03"
    assert api.get(f"/opportunities/{opp['id']}/lines").json()[0]["id"] == line_id
    assert api.delete(f"/opportunities/{opp['id']}/lines/{line_id}").status_code == 204

    r = api.post(f"/opportunities/{opp['id']}/won", {"reason": ""})
    assert r.status_code == 422
    r = api.post(f"/opportunities/{opp['id']}/won", {"reason": "Best fit"})
    assert r.status_code == 200 and r.json()["status"] == "won" and r.json()["probability"] == 100

    other = api.post("/opportunities", {"name": "Deal 2", "account_id": account.pk}).json()
    comp = api.post("/competitors", {"name": "Rival"}).json()
    r = api.post(f"/opportunities/{other['id']}/competitors", {"competitor_id": comp["id"], "price": "99"})
    assert r.status_code == 200 and r.json()["price"] == "99.00"
    r = api.post(f"/opportunities/{other['id']}/lost", {"reason": "Price", "lost_to_id": comp["id"]})
    assert r.json()["status"] == "lost" and r.json()["lost_to_id"] == comp["id"]
    win_loss = api.get("/competitors/win-loss").json()
    assert win_loss[0]["lost"] == 1 and win_loss[0]["lost_to_them"] == 1 and win_loss[0]["win_rate"] == 0.0
    assert api.delete(f"/opportunities/{other['id']}/competitors/{comp['id']}").status_code == 204


def test_pipelines_and_competitors_are_written_by_admins_only(api, tenant):
    rep = make_member(tenant)
    rep_api = api.as_user(rep)
    assert rep_api.get("/pipelines").status_code == 200
    assert rep_api.post("/pipelines", {"name": "Mine"}).status_code == 403
    r = api.post("/pipelines", {"name": "Projects"})
    assert r.status_code == 201 and len(r.json()["stages"]) == 7
    pid = r.json()["id"]
    r = api.post(f"/pipelines/{pid}/stages", {"name": "Pilot", "probability": 30})
    assert r.status_code == 201
    sid = r.json()["id"]
    r = api.patch(f"/pipelines/{pid}/stages/{sid}", {"position": 0, "probability": 35})
    assert r.json()["position"] == 0 and r.json()["probability"] == 35
    assert rep_api.patch(f"/pipelines/{pid}/stages/{sid}", {"name": "x"}).status_code == 403
    assert api.delete(f"/pipelines/{pid}/stages/{sid}").status_code == 204
    assert api.patch(f"/pipelines/{pid}", {"is_default": True}).json()["is_default"]

    assert rep_api.get("/competitors").status_code == 200
    assert rep_api.post("/competitors", {"name": "Nope"}).status_code == 403
    comp = api.post("/competitors", {"name": "Rival", "strengths": "Cheap"}).json()
    r = api.post(f"/competitors/{comp['id']}/products", {"name": "Rival ERP", "price": "10.5"})
    assert r.status_code == 201 and r.json()["price"] == "10.50"
    assert rep_api.post(f"/competitors/{comp['id']}/products", {"name": "x"}).status_code == 404
    assert api.get(f"/competitors/{comp['id']}/products").json()[0]["name"] == "Rival ERP"


def test_rep_sees_team_opportunities_only(api, tenant):
    from guanxi.org.models import Team
    from guanxi.org.services import team_save

    rep = make_member(tenant)
    mate = make_member(tenant)
    stranger = make_member(tenant)
    with tenant_context(tenant, actor=tenant.admin):
        team_save(
            actor=tenant.admin,
            team=Team(name="North"),
            member_ids=list(Member.objects.filter(user__in=[rep, mate]).values_list("pk", flat=True)),
        )
    made = {}
    for user in (rep, mate, stranger):
        with tenant_context(tenant, actor=user):
            acc = customer_services.account_create(actor=user, data={"name": f"Acc {user.pk}"})
            made[user.pk] = services.opportunity_create(actor=user, data={"name": f"Opp {user.pk}", "account": acc})
    rep_api = api.as_user(rep)
    names = {o["name"] for o in rep_api.get("/opportunities").json()["items"]}
    assert names == {f"Opp {rep.pk}", f"Opp {mate.pk}"}
    assert rep_api.get(f"/opportunities/{made[stranger.pk].pk}").status_code == 404
    with tenant_context(tenant):
        stage = made[stranger.pk].pipeline.stages.order_by("position")[1]
    r = rep_api.post(f"/opportunities/{made[stranger.pk].pk}/move", {"stage_id": stage.pk})
    assert r.status_code == 404
    # Team mates see but may not change each other's deals.
    assert rep_api.post(f"/opportunities/{made[mate.pk].pk}/move", {"stage_id": stage.pk}).status_code == 404
    assert rep_api.post(f"/opportunities/{made[rep.pk].pk}/move", {"stage_id": stage.pk}).status_code == 200
    with tenant_context(tenant):
        assert OpportunityStageChange.objects.filter(opportunity=made[rep.pk]).count() == 2


def test_list_query_counts_do_not_grow(api, tenant, account, django_assert_max_num_queries):
    def make(n, offset):
        with tenant_context(tenant, actor=tenant.admin):
            for i in range(n):
                opp = services.opportunity_create(
                    actor=tenant.admin, data={"name": f"O{offset + i}", "account": account, "tags": []}
                )
                services.opportunity_line_save(
                    actor=tenant.admin, opportunity=opp, data={"description": "x", "quantity": 1, "unit_price": 5}
                )
                lead_services.lead_create(actor=tenant.admin, data={"company": f"L{offset + i}"})

    make(3, 0)
    counts = {}
    for path in ("/opportunities", "/leads", "/pipelines", "/competitors"):
        api.get(path)
        with django_assert_max_num_queries(30) as captured:
            api.get(path)
        counts[path] = len(captured.captured_queries)
    make(30, 100)
    for path, n in counts.items():
        with django_assert_max_num_queries(n + 1):  # + a COUNT once there is more than one page
            assert api.get(path, limit=50).status_code == 200


def test_openapi_lists_the_sales_routes(api):
    paths = api.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/leads", "/api/v1/leads/{pk}/convert", "/api/v1/opportunities/{pk}/move",
                 "/api/v1/opportunities/{pk}/won", "/api/v1/opportunities/{pk}/lost", "/api/v1/pipelines",
                 "/api/v1/competitors", "/api/v1/competitors/win-loss"):  # fmt: skip
        assert path in paths, path


def test_records_helper_builds_everything(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        records = make_sales_records(tenant.admin, "X")
        assert records["opportunity"].amount == records["line"].total
        assert Opportunity.objects.count() == 1
