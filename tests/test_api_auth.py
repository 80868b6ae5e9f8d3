"""API authentication: personal tokens, session + CSRF, rate limits, problem+json, OpenAPI and docs."""

import datetime
import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django.utils.crypto import get_random_string

from guanxi.identity.services import api_token_create, api_token_revoke
from guanxi.org.models import Member
from guanxi.org.services import member_deactivate
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member
from guanxi.tenancy.services import tenant_suspend

ME = "/api/v1/me"
PROBLEM = "application/problem+json"


def make_token(tenant, user, scope="read", expires_at=None):
    with tenant_context(tenant, actor=user):
        token, secret = api_token_create(user=user, name=f"{scope} token", scope=scope, expires_at=expires_at)
    return token, secret


def bearer(secret):
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def assert_problem(response, status, code=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    if code is not None:
        assert body["code"] == code
    return body


def test_bearer_token_authenticates_as_its_user_in_its_tenant(client, tenant, rep):
    token, secret = make_token(tenant, rep)
    assert secret.startswith("gx_")
    response = client.get(ME, **bearer(secret))
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == rep.email
    assert body["tenant"] == {"id": tenant.pk, "name": tenant.name, "slug": tenant.slug}
    assert body["token_scope"] == "read"
    assert body["is_tenant_admin"] is False
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert token.last_used_ip == "127.0.0.1"
    # Only the hash is stored.
    assert secret not in {token.key_hash, token.prefix}


def test_token_acts_in_its_own_tenant_even_for_a_member_of_two(client, tenant, other_tenant):
    user = make_member(tenant)
    make_member(other_tenant, email=user.email)
    _token, secret = make_token(other_tenant, user)
    assert client.get(ME, **bearer(secret)).json()["tenant"]["id"] == other_tenant.pk


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer gx_nope_nope", "Bearer not-a-guanxi-token", "Basic dXNlcjpwYXNz"],
)
def test_missing_or_unknown_credentials_are_401_problems(client, tenant, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get(ME, **extra)
    assert_problem(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_401(client, tenant, rep):
    token, secret = make_token(tenant, rep)
    assert client.get(ME, **bearer(secret)).status_code == 200
    with tenant_context(tenant, actor=rep):
        api_token_revoke(user=rep, token=token)
    assert_problem(client.get(ME, **bearer(secret)), 401, "unauthorized")


def test_expired_token_is_401(client, tenant, rep):
    _token, secret = make_token(tenant, rep, expires_at=timezone.now() - datetime.timedelta(minutes=1))
    assert_problem(client.get(ME, **bearer(secret)), 401)
    _token, fresh = make_token(tenant, rep, expires_at=timezone.now() + datetime.timedelta(days=1))
    assert client.get(ME, **bearer(fresh)).status_code == 200


def test_read_only_token_cannot_write(client, tenant, rep):
    _token, secret = make_token(tenant, rep, scope="read")
    response = client.patch(ME, {"time_zone": "Europe/Paris"}, content_type="application/json", **bearer(secret))
    assert_problem(response, 403, "token_scope")
    rep.refresh_from_db()
    assert rep.time_zone == ""


def test_write_token_can_write(client, tenant, rep):
    _token, secret = make_token(tenant, rep, scope="write")
    response = client.patch(ME, {"time_zone": "Europe/Paris"}, content_type="application/json", **bearer(secret))
    assert response.status_code == 200, response.content
    assert response.json()["time_zone"] == "Europe/Paris"
    rep.refresh_from_db()
    assert rep.time_zone == "Europe/Paris"


def test_invalid_data_is_a_422_problem_with_field_errors(client, tenant, rep):
    _token, secret = make_token(tenant, rep, scope="write")
    response = client.patch(ME, {"time_zone": "Mars/Olympus"}, content_type="application/json", **bearer(secret))
    body = assert_problem(response, 422, "validation")
    assert "time_zone" in body["errors"]


def test_calendar_token_cannot_use_the_api(client, tenant, rep):
    _token, secret = make_token(tenant, rep, scope="calendar")
    assert_problem(client.get(ME, **bearer(secret)), 403, "token_scope")


@pytest.mark.parametrize("how", ["deactivated", "deleted"])
def test_token_of_a_user_removed_from_the_tenant_is_401(client, tenant, rep, how):
    _token, secret = make_token(tenant, rep)
    assert client.get(ME, **bearer(secret)).status_code == 200
    with tenant_context(tenant, actor=tenant.admin):
        member = Member.objects.get(user=rep)
        if how == "deactivated":
            member_deactivate(actor=tenant.admin, member=member)
        else:
            member.delete()
    assert_problem(client.get(ME, **bearer(secret)), 401)


def test_token_of_a_suspended_tenant_or_inactive_user_is_401(client, tenant, other_tenant, rep):
    _token, secret = make_token(tenant, rep)
    tenant_suspend(actor=None, tenant=tenant, reason="unpaid")
    assert_problem(client.get(ME, **bearer(secret)), 401)

    other_user = make_member(other_tenant)
    _token, other_secret = make_token(other_tenant, other_user)
    other_user.is_active = False
    other_user.save()
    assert_problem(client.get(ME, **bearer(other_secret)), 401)


def test_session_auth_reads_without_csrf_but_writes_need_it(tenant, rep):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(rep)
    response = browser.get(ME)
    assert response.status_code == 200
    assert response.json()["token_scope"] is None

    payload = {"language": "en"}
    body = assert_problem(browser.patch(ME, payload, content_type="application/json"), 403, "csrf")
    assert "X-CSRFToken" in body["detail"]

    # The CSRF secret as a page would send it: in the cookie and in the X-CSRFToken header.
    csrf = get_random_string(32)
    browser.cookies[settings.CSRF_COOKIE_NAME] = csrf
    response = browser.patch(ME, payload, content_type="application/json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200, response.content
    rep.refresh_from_db()
    assert rep.language == "en"


def test_bearer_requests_need_no_csrf(tenant, rep):
    _token, secret = make_token(tenant, rep, scope="write")
    api_client = Client(enforce_csrf_checks=True)
    response = api_client.patch(ME, {"language": "en"}, content_type="application/json", **bearer(secret))
    assert response.status_code == 200


def test_rate_limit_per_token_is_429_with_retry_after(client, tenant, rep, settings):
    settings.API_RATE_LIMIT = "3/m"
    cache.clear()
    _token, secret = make_token(tenant, rep)
    _token, second = make_token(tenant, rep)
    assert [client.get(ME, **bearer(secret)).status_code for _ in range(3)] == [200, 200, 200]
    response = client.get(ME, **bearer(secret))
    assert_problem(response, 429, "rate_limited")
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 60
    # Every token has its own budget.
    assert client.get(ME, **bearer(second)).status_code == 200


def test_rate_limit_applies_to_session_calls_per_user(client, tenant, rep, settings):
    settings.API_RATE_LIMIT = "2/m"
    cache.clear()
    client.force_login(rep)
    assert [client.get(ME).status_code for _ in range(3)] == [200, 200, 429]


def test_openapi_document_is_valid_openapi_3(client, db):
    from openapi_spec_validator import validate

    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    validate(spec)
    assert "/api/v1/me" in spec["paths"]
    assert {"get", "patch"} <= set(spec["paths"]["/api/v1/me"])
    schemes = spec["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())


def test_interactive_docs_use_local_static_files(client, db):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert sources
    for url in sources:
        assert not url.startswith(("http://", "https://", "//")), url
        assert url.startswith(settings.STATIC_URL)
        static = client.get(url)
        assert static.status_code == 200, url
        static.close()


def test_the_rate_limit_is_a_sliding_window(client, tenant, rep, settings, monkeypatch):
    from guanxi.platform.api import PerTokenThrottle

    settings.API_RATE_LIMIT = "3/m"
    cache.clear()
    now = [1_000_040.0]  # 20 s into a window (windows start at multiples of 60 s)
    monkeypatch.setattr(PerTokenThrottle, "timer", lambda self: now[0])
    _token, secret = make_token(tenant, rep)

    def status():
        return client.get(ME, **bearer(secret)).status_code

    assert [status() for _ in range(4)] == [200, 200, 200, 429]
    now[0] += 50  # 10 s into the next window: the 3 earlier requests still weigh 3 × 50/60 = 2.5
    assert [status() for _ in range(2)] == [200, 429]
    response = client.get(ME, **bearer(secret))
    assert 1 <= int(response["Retry-After"]) <= 60
    now[0] += 120  # two windows later nothing weighs any more
    assert [status() for _ in range(4)] == [200, 200, 200, 429]
    stored = cache.get(next(k for k in cache._cache if "throttle_api" in k).split(":", 2)[-1])
    assert isinstance(stored, tuple) and len(stored) == 3  # three numbers, not a request history
