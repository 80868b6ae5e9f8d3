"""Platform-operator pages: tenants with usage, creating, inspecting, suspending, reactivating."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from guanxi.access.models import Role
from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction, AuditEntry
from guanxi.customers.models import Account
from guanxi.identity.models import User
from guanxi.org.models import Member
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import PASSWORD, make_member
from guanxi.tenancy.models import Tenant

BACKEND = "guanxi.identity.backends.EmailBackend"


@pytest.fixture
def operator(db):
    return User.objects.create_user("ops@example.com", PASSWORD, full_name="Olga Operator", is_operator=True)


@pytest.fixture
def op_client(client, operator):
    client.force_login(operator, backend=BACKEND)
    return client


def test_an_operator_without_membership_reaches_operator_pages_only(op_client, tenant):
    response = op_client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("tenancy:operator_tenants")
    response = op_client.get(reverse("tenancy:operator_tenants"))
    assert response.status_code == 200
    page = response.content.decode()
    assert tenant.name in page and 'data-testid="tenant-row"' in page
    assert reverse("tenancy:operator_tenants") in page  # the sidebar entry
    # Tenant data pages: redirected back, never shown.
    for url in [reverse("org:members"), reverse("org:settings_home"), reverse("customers:account_list")]:
        response = op_client.get(url)
        assert response.status_code == 302 and response["Location"] == reverse("tenancy:operator_tenants"), url
    assert op_client.get("/api/v1/users").status_code == 401


def test_non_operators_get_403(admin_client, tenant):
    for url in [
        reverse("tenancy:operator_tenants"),
        reverse("tenancy:tenant_create"),
        reverse("tenancy:tenant_detail", args=[tenant.pk]),
    ]:
        assert admin_client.get(url).status_code == 403, url
    assert admin_client.post(reverse("tenancy:tenant_suspend", args=[tenant.pk]), {"reason": "x"}).status_code == 403
    assert admin_client.post(reverse("tenancy:tenant_reactivate", args=[tenant.pk])).status_code == 403
    tenant.refresh_from_db()
    assert tenant.is_active
    page = admin_client.get(reverse("org:members")).content.decode()
    assert reverse("tenancy:operator_tenants") not in page  # no sidebar entry


def test_tenant_list_shows_usage(op_client, tenant, other_tenant, django_assert_max_num_queries):
    make_member(tenant)
    with tenant_context(tenant):
        Account.objects.create(name="Secret customer", owner=tenant.admin)
    with django_assert_max_num_queries(20):
        page = op_client.get(reverse("tenancy:operator_tenants")).content.decode()
    row = page[page.index(tenant.name) :]
    row = row[: row.index("</tr>")]
    cells = re.findall(r'<td class="text-end">(\d+)', row)
    assert cells[:2] == ["2", "1"]  # two people, one account
    assert "Secret customer" not in page
    assert other_tenant.name in page


def test_creating_a_tenant_invites_its_first_admin(op_client, operator):
    response = op_client.post(
        reverse("tenancy:tenant_create"),
        {
            "name": "Initech 深圳",
            "slug": "Initech",
            "default_language": "en",
            "time_zone": "Asia/Hong_Kong",
            "currency": "hkd",
            "max_users": 25,
            "admin_email": "Boss@Initech.example",
            "admin_name": "Bill Lumbergh",
        },
    )
    assert response.status_code == 302, response.content.decode()
    tenant = Tenant.objects.get(slug="initech")
    assert response["Location"] == reverse("tenancy:tenant_detail", args=[tenant.pk])
    assert (tenant.currency, tenant.time_zone, tenant.max_users, tenant.default_language) == (
        "HKD",
        "Asia/Hong_Kong",
        25,
        "en",
    )
    with tenant_context(tenant):
        member = Member.objects.select_related("user").get()
        assert member.is_admin and member.user.email == "boss@initech.example"
        assert Role.objects.filter(is_builtin=True).count() >= 5
        entry = AuditEntry.objects.get(action=AuditAction.TENANT)
    assert entry.actor == operator and entry.note == "tenant created"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["boss@initech.example"]
    assert re.search(r"/password-reset/[^/]+/[^/\s]+/", mail.outbox[0].body)
    assert "Initech" in mail.outbox[0].subject


def test_creating_a_tenant_for_an_existing_user_sends_no_email(op_client, tenant):
    response = op_client.post(
        reverse("tenancy:tenant_create"),
        {
            "name": "Second company",
            "slug": "second",
            "default_language": "zh-hans",
            "time_zone": "Asia/Shanghai",
            "currency": "CNY",
            "admin_email": tenant.admin.email,
            "admin_name": "Ignored",
        },
    )
    assert response.status_code == 302
    assert mail.outbox == []
    new = Tenant.objects.get(slug="second")
    with tenant_context(new):
        assert Member.objects.get().user == tenant.admin


def test_tenant_form_errors(op_client, tenant):
    response = op_client.post(
        reverse("tenancy:tenant_create"),
        {"name": "X", "slug": tenant.slug, "currency": "Y1", "time_zone": "Mars/Base", "admin_email": "nope"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "already exists" in page and "three-letter currency code" in page and "valid email" in page
    assert Tenant.objects.count() == 1


def test_tenant_detail_shows_people_and_admin_events_not_customer_data(op_client, tenant, other_tenant):
    rep = make_member(tenant, name="Rita Rep")
    with tenant_context(tenant, actor=rep):
        account = Account.objects.create(name="Very secret customer", owner=rep)
        audit.record(AuditAction.CREATE, account)
        audit.record(AuditAction.LOGIN, rep)
    response = op_client.get(reverse("tenancy:tenant_detail", args=[tenant.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Rita Rep" in page and tenant.admin.email in page
    assert page.count('data-testid="tenant-member"') == 2
    assert "Very secret customer" not in page
    assert 'data-testid="tenant-audit"' in page and "member added" in page
    assert other_tenant.admin.email not in page
    assert op_client.get(reverse("tenancy:tenant_detail", args=[999999])).status_code == 404


def test_suspend_and_reactivate(op_client, tenant, rep):
    url = reverse("tenancy:tenant_suspend", args=[tenant.pk])
    response = op_client.post(url, {"reason": ""})
    assert response.status_code == 422
    tenant.refresh_from_db()
    assert tenant.is_active
    response = op_client.post(url, {"reason": "Unpaid invoices"})
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert not tenant.is_active and tenant.suspension_reason == "Unpaid invoices"
    page = op_client.get(reverse("tenancy:tenant_detail", args=[tenant.pk])).content.decode()
    assert "Suspended" in page and "Unpaid invoices" in page and 'data-testid="tenant-reactivate"' in page

    # Its people see the notice instead of data.
    rep_client = Client(HTTP_ACCEPT_LANGUAGE="en")
    rep_client.force_login(rep, backend=BACKEND)
    assert rep_client.get(reverse("org:members")).status_code == 403

    assert op_client.post(reverse("tenancy:tenant_reactivate", args=[tenant.pk])).status_code == 302
    tenant.refresh_from_db()
    assert tenant.is_active and tenant.suspension_reason == ""
    with tenant_context(tenant):
        notes = list(AuditEntry.objects.filter(action=AuditAction.TENANT).values_list("note", flat=True))
    assert "suspended: Unpaid invoices" in notes and "reactivated" in notes
    for path in ("suspend", "reactivate"):
        assert op_client.post(reverse(f"tenancy:tenant_{path}", args=[999999]), {"reason": "x"}).status_code == 404
