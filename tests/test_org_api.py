"""/api/v1/users, /units, /business-lines, /teams: read-only organisation API."""

import pytest

from guanxi.identity.services import api_token_create
from guanxi.org.models import BusinessLine, Team
from guanxi.org.services import business_line_save, member_update, team_save
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member, make_unit

PROBLEM = "application/problem+json"


def bearer(tenant, user, scope="read"):
    with tenant_context(tenant):
        _token, secret = api_token_create(user=user, name="test", scope=scope)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def org(tenant):
    north = make_unit(tenant, "North")
    branch = make_unit(tenant, "North branch", parent=north, kind="branch")
    with tenant_context(tenant):
        line = business_line_save(actor=None, line=BusinessLine(name="Hardware", code="HW"))
    boss = make_member(tenant, unit=north, name="Bea Boss", email="bea@example.com")
    rep = make_member(
        tenant, unit=branch, manager=boss.member, name="Ray Rep", email="ray@example.com", business_lines=[line]
    )
    gone = make_member(tenant, unit=branch, name="Gil Gone", email="gil@example.com")
    with tenant_context(tenant):
        team = team_save(actor=None, team=Team(name="Tigers", unit=north, lead=boss.member), member_ids=[rep.member.pk])
        member_update(actor=None, member=gone.member, data={"is_active": False, "title": "Former"})
    return {"north": north, "branch": branch, "line": line, "boss": boss, "rep": rep, "gone": gone, "team": team}


@pytest.fixture
def rep_api(client, tenant, org):
    headers = bearer(tenant, org["rep"])
    return lambda path, method="get": getattr(client, method)(f"/api/v1{path}", **headers)


def test_users_list_and_detail(rep_api, tenant, org, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = rep_api("/users")
    assert response.status_code == 200
    body = response.json()
    assert [u["full_name"] for u in body["items"]] == [tenant.admin.full_name, "Bea Boss", "Gil Gone", "Ray Rep"]
    assert body["total"] == 4 and body["next_cursor"] is None
    ray = rep_api(f"/users/{org['rep'].pk}").json()
    assert ray == {
        "id": org["rep"].pk,
        "email": "ray@example.com",
        "full_name": "Ray Rep",
        "title": "",
        "unit_id": org["branch"].pk,
        "manager_id": org["boss"].pk,  # the manager's user id
        "business_line_ids": [org["line"].pk],
        "team_ids": [org["team"].pk],
        "is_admin": False,
        "is_active": True,
    }


def test_users_filters_sort_and_pagination(rep_api, org):
    names = lambda r: [u["full_name"] for u in r.json()["items"]]  # noqa: E731
    assert names(rep_api("/users?q=RAY")) == ["Ray Rep"]
    assert names(rep_api("/users?q=former")) == ["Gil Gone"]  # job title
    assert names(rep_api(f"/users?unit={org['branch'].pk}")) == ["Gil Gone", "Ray Rep"]
    assert names(rep_api(f"/users?unit={org['branch'].pk}&active=true")) == ["Ray Rep"]
    assert names(rep_api("/users?active=false")) == ["Gil Gone"]
    assert names(rep_api("/users?sort=-email"))[:2] == ["Ray Rep", "Gil Gone"]
    first = rep_api("/users?limit=3").json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    second = rep_api(f"/users?limit=3&cursor={first['next_cursor']}").json()
    assert [u["full_name"] for u in second["items"]] == ["Ray Rep"]
    response = rep_api("/users?sort=password")
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM
    response = rep_api("/users?cursor=garbage")
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM


def test_units_business_lines_teams(rep_api, tenant, org):
    units = rep_api("/units").json()["items"]
    assert [u["name"] for u in units] == [tenant.name, "North", "North branch"]
    branch = rep_api(f"/units/{org['branch'].pk}").json()
    assert branch == {
        "id": org["branch"].pk,
        "name": "North branch",
        "code": "",
        "kind": "branch",
        "parent_id": org["north"].pk,
        "path": org["branch"].path,
        "depth": 2,
    }
    lines = rep_api("/business-lines").json()["items"]
    assert lines == [{"id": org["line"].pk, "name": "Hardware", "code": "HW", "description": "", "is_active": True}]
    teams = rep_api("/teams").json()["items"]
    assert teams == [
        {
            "id": org["team"].pk,
            "name": "Tigers",
            "unit_id": org["north"].pk,
            "lead_id": org["boss"].pk,
            "member_ids": [org["rep"].pk],
        }
    ]


def test_another_tenants_ids_are_404(rep_api, other_tenant):
    stranger = make_member(other_tenant, name="Stranger")
    unit = make_unit(other_tenant, "Far away")
    for path in (f"/users/{stranger.pk}", f"/units/{unit.pk}", "/users/999999", "/units/999999"):
        response = rep_api(path)
        assert response.status_code == 404 and response["Content-Type"] == PROBLEM, path
    assert "Stranger" not in rep_api("/users").content.decode()
    assert "Far away" not in rep_api("/units").content.decode()


def test_read_only_and_authenticated(client, rep_api, org):
    for path in ("/users", "/units", "/business-lines", "/teams"):
        assert rep_api(path, "post").status_code == 405, path
        response = client.get(f"/api/v1{path}")
        assert response.status_code == 401 and response["Content-Type"] == PROBLEM
