"""Sign-in, lock-out, password reset (through a real SMTP server), sessions, tenant and language switching."""

import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from guanxi.audit.models import AuditAction, AuditEntry
from guanxi.identity.models import User
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import PASSWORD, make_member
from guanxi.tenancy.middleware import SESSION_KEY
from guanxi.tenancy.services import tenant_suspend
from tests.smtp import smtp_server  # noqa: F401 (fixture)

LOGIN = reverse("identity:login")


@pytest.fixture
def en_client(client):
    """A browser that asked for the English interface (messages are asserted in English)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def login(client, email, password=PASSWORD):
    return client.post(LOGIN, {"username": email, "password": password})


def audit_actions(tenant, **filters):
    with tenant_context(tenant):
        return list(AuditEntry.objects.filter(**filters).order_by("id").values_list("action", flat=True))


def test_login_by_email_is_case_insensitive_and_audited(en_client, tenant, rep):
    response = login(en_client, rep.email.upper())
    assert response.status_code == 302
    assert response["Location"] == settings.LOGIN_REDIRECT_URL
    assert int(en_client.session["_auth_user_id"]) == rep.pk
    assert en_client.get("/api/v1/me").status_code == 200
    assert en_client.session[SESSION_KEY] == tenant.pk
    assert AuditAction.LOGIN in audit_actions(tenant, actor=rep)

    response = en_client.post(reverse("identity:logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in en_client.session
    assert audit_actions(tenant, actor=rep) == [AuditAction.LOGIN, AuditAction.LOGOUT]


def test_wrong_password_shows_a_message_and_is_audited(en_client, tenant, rep):
    response = login(en_client, rep.email, "not-the-password")
    assert response.status_code == 200
    assert "The email address or password is not correct." in response.content.decode()
    assert "_auth_user_id" not in en_client.session
    entries = audit_actions(tenant, action=AuditAction.LOGIN_FAILED)
    assert entries == [AuditAction.LOGIN_FAILED]
    with tenant_context(tenant):
        assert AuditEntry.objects.get(action=AuditAction.LOGIN_FAILED).note == rep.email


def test_unknown_email_is_refused_with_the_same_message(en_client, tenant):
    response = login(en_client, "nobody@example.com")
    assert response.status_code == 200
    assert "The email address or password is not correct." in response.content.decode()


def test_lock_out_after_too_many_failures(en_client, tenant, rep):
    limit = settings.AXES_FAILURE_LIMIT
    statuses = [login(en_client, rep.email, f"wrong-{i}").status_code for i in range(limit)]
    assert statuses[:-1] == [200] * (limit - 1)
    assert statuses[-1] == 429
    # Even the right password is refused while locked out.
    response = login(en_client, rep.email)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in en_client.session
    actions = audit_actions(tenant, action__in=[AuditAction.LOGIN_FAILED, AuditAction.LOCKED_OUT])
    assert actions.count(AuditAction.LOGIN_FAILED) >= limit
    assert AuditAction.LOCKED_OUT in actions
    # Another person on the same computer is not locked out.
    other = make_member(tenant)
    assert login(en_client, other.email).status_code == 302


def test_password_reset_end_to_end_through_smtp(en_client, tenant, rep, smtp_server):  # noqa: F811
    response = en_client.post(reverse("identity:password_reset"), {"email": rep.email.upper()})
    assert response.status_code == 302
    assert response["Location"] == reverse("identity:password_reset_done")

    message = smtp_server.wait_for(1)[0]
    assert message["To"] == rep.email
    assert settings.DEFAULT_FROM_EMAIL.split("<")[-1].rstrip(">") in message["From"]
    assert smtp_server.envelopes[0][1] == [rep.email]
    body = smtp_server.text(message)
    link = re.search(r"https?://testserver(/password-reset/[^/\s]+/[^/\s]+/)", body)
    assert link, body
    assert smtp_server.html(message)  # a HTML alternative is sent too

    page = en_client.get(link.group(1), follow=True)
    assert page.status_code == 200
    assert page.context["validlink"] is True
    set_password_url = page.redirect_chain[-1][0]
    new_password = "a-new-and-long-pass-phrase"
    done = en_client.post(set_password_url, {"new_password1": new_password, "new_password2": new_password})
    assert done.status_code == 302
    assert done["Location"] == reverse("identity:password_reset_complete")

    # The link works only once; the old password is gone, the new one signs in.
    assert en_client.get(link.group(1), follow=True).context["validlink"] is False
    assert login(en_client, rep.email).status_code == 200
    assert login(en_client, rep.email, new_password).status_code == 302


def test_password_reset_for_an_unknown_address_sends_nothing(en_client, tenant, smtp_server):  # noqa: F811
    response = en_client.post(reverse("identity:password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert smtp_server.messages == []


def test_session_cookie_flags(client, tenant, rep):
    response = login(client, rep.email)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie.value


def test_session_cookie_is_secure_when_configured(client, tenant, rep, settings):
    settings.SESSION_COOKIE_SECURE = True
    response = login(client, rep.email)
    assert response.cookies[settings.SESSION_COOKIE_NAME]["secure"] is True


def test_switching_between_two_memberships(client, tenant, other_tenant):
    user = make_member(tenant)
    make_member(other_tenant, email=user.email)
    login(client, user.email)
    assert client.get("/api/v1/me").json()["tenant"]["id"] == tenant.pk  # first by name: "Acme 北京"
    assert client.session[SESSION_KEY] == tenant.pk

    switch = reverse("identity:switch_tenant", args=[other_tenant.pk])
    assert client.get(switch).status_code == 405
    response = client.post(switch, {"next": "/api/v1/me"})
    assert response.status_code == 302 and response["Location"] == "/api/v1/me"
    assert client.session[SESSION_KEY] == other_tenant.pk
    assert client.get("/api/v1/me").json()["tenant"]["id"] == other_tenant.pk

    # An outside "next" is not followed.
    response = client.post(reverse("identity:switch_tenant", args=[tenant.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == "/"
    assert client.session[SESSION_KEY] == tenant.pk


def test_switching_to_a_tenant_one_is_not_a_member_of_is_404(client, tenant, other_tenant, rep):
    login(client, rep.email)
    response = client.post(reverse("identity:switch_tenant", args=[other_tenant.pk]))
    assert response.status_code == 404
    assert client.get("/api/v1/me").json()["tenant"]["id"] == tenant.pk


def test_suspended_tenant_shows_the_notice(en_client, tenant, rep):
    tenant_suspend(actor=None, tenant=tenant, reason="unpaid invoice")
    assert login(en_client, rep.email).status_code == 302
    response = en_client.get("/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "This company's account is suspended" in html
    assert tenant.name in html
    # No tenant data through the API either.
    assert en_client.get("/api/v1/me").status_code == 401


def test_member_of_a_suspended_and_an_active_tenant_lands_in_the_active_one(client, tenant, other_tenant):
    user = make_member(tenant)
    make_member(other_tenant, email=user.email)
    tenant_suspend(actor=None, tenant=tenant, reason="closed")
    login(client, user.email)
    assert client.get("/api/v1/me").json()["tenant"]["id"] == other_tenant.pk


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_language_switch_is_stored_on_the_user_and_renders(client, tenant, rep, language):
    login(client, rep.email)
    page = reverse("identity:password_reset")
    response = client.post(reverse("identity:set_language"), {"language": language, "next": page})
    assert response.status_code == 302 and response["Location"] == page
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == language
    rep.refresh_from_db()
    assert rep.language == language

    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME)  # the user's own setting wins, not the cookie
    html = client.get(page, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert f'<html lang="{language}"' in html
    with translation.override(language):
        assert translation.gettext("Reset password") in html
        assert translation.gettext("Guanxi CRM") in html
    # Pages inside the app too (sidebar, top bar).
    html = client.get(reverse("identity:profile"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert f'<html lang="{language}"' in html
    with translation.override(language):
        assert translation.gettext("Profile") in html


def test_language_switch_without_signing_in_uses_the_cookie(client):
    response = client.post(reverse("identity:set_language"), {"language": "en", "next": LOGIN})
    assert response.status_code == 302
    assert '<html lang="en"' in client.get(LOGIN).content.decode()
    client.post(reverse("identity:set_language"), {"language": "zh-hans", "next": LOGIN})
    assert '<html lang="zh-hans"' in client.get(LOGIN).content.decode()


def test_unknown_language_falls_back_to_the_default(client, tenant, rep):
    login(client, rep.email)
    client.post(reverse("identity:set_language"), {"language": "xx"})
    rep.refresh_from_db()
    assert rep.language == settings.LANGUAGE_CODE


def test_profile_time_zone_is_saved(client, tenant, rep):
    login(client, rep.email)
    response = client.post(
        reverse("identity:profile"),
        {"profile-full_name": "Li Na 李娜", "profile-language": "en", "profile-time_zone": "Europe/Berlin"},
    )
    assert response.status_code == 302
    rep.refresh_from_db()
    assert (rep.full_name, rep.language, rep.time_zone) == ("Li Na 李娜", "en", "Europe/Berlin")
    with tenant_context(tenant):
        entry = AuditEntry.objects.filter(action=AuditAction.UPDATE, content_type__model="user").latest("id")
    assert entry.changes["time_zone"] == ["", "Europe/Berlin"]
    assert client.get("/api/v1/me").json()["time_zone"] == "Europe/Berlin"


def test_inactive_user_cannot_sign_in(en_client, tenant, rep):
    User.objects.filter(pk=rep.pk).update(is_active=False)
    response = login(en_client, rep.email)
    assert response.status_code == 200
    assert "_auth_user_id" not in en_client.session
