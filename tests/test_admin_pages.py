"""Tenant administration pages: people, units, business lines, teams, roles, sharing rules,
restricted fields and the record sharing panel."""

import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guanxi.access import permissions
from guanxi.access.models import RecordShare, RestrictedField, Role, RolePermission, SharingRule
from guanxi.audit.models import AuditAction, AuditEntry
from guanxi.customers.models import Account
from guanxi.customization.models import CustomFieldDefinition
from guanxi.customization.services import custom_field_save
from guanxi.org.models import BusinessLine, Member, OrgUnit, Team
from guanxi.org.services import business_line_save, team_save
from guanxi.platform.context import tenant_context
from guanxi.platform.registry import Action, Scope
from guanxi.platform.testing import make_member, make_unit

BACKEND = "guanxi.identity.backends.EmailBackend"


def client_for(client, user):
    client.force_login(user, backend=BACKEND)
    return client


def audit_entries(tenant, **filters):
    with tenant_context(tenant):
        return list(AuditEntry.objects.filter(**filters).order_by("id"))


def build_org(tenant):
    """A unit, a business line, a team, a role, a sharing rule, a member and an account of ``tenant``."""
    unit = make_unit(tenant, "North")
    with tenant_context(tenant):
        line = business_line_save(actor=None, line=BusinessLine(name="Hardware"))
        role = Role.objects.create(name="Custom role")
    person = make_member(tenant, unit=unit, name="Person")
    with tenant_context(tenant):
        team = team_save(actor=None, team=Team(name="Key accounts"), member_ids=[person.member.pk])
        rule = SharingRule.objects.create(name="North hardware", module="customers.account", grantee_unit=unit)
        account = Account.objects.create(name="Account of person", owner=person)
    return {
        "tenant": tenant,
        "unit": unit,
        "line": line,
        "team": team,
        "role": role,
        "rule": rule,
        "member": person.member,
        "user": person,
        "account": account,
    }


def id_urls(objs):
    """Every settings URL taking an id, for the objects of one tenant: (method, url)."""
    ct = ContentType.objects.get_for_model(Account).pk
    return [
        ("get", reverse("org:member_edit", args=[objs["member"].pk])),
        ("post", reverse("org:member_deactivate", args=[objs["member"].pk])),
        ("get", reverse("org:unit_edit", args=[objs["unit"].pk])),
        ("post", reverse("org:unit_delete", args=[objs["unit"].pk])),
        ("get", reverse("org:business_line_edit", args=[objs["line"].pk])),
        ("post", reverse("org:business_line_delete", args=[objs["line"].pk])),
        ("get", reverse("org:team_edit", args=[objs["team"].pk])),
        ("post", reverse("org:team_delete", args=[objs["team"].pk])),
        ("get", reverse("access:role_edit", args=[objs["role"].pk])),
        ("post", reverse("access:role_delete", args=[objs["role"].pk])),
        ("get", reverse("access:sharing_rule_edit", args=[objs["rule"].pk])),
        ("post", reverse("access:sharing_rule_delete", args=[objs["rule"].pk])),
        ("get", reverse("access:record_shares", args=[ct, objs["account"].pk])),
        ("post", reverse("access:record_shares", args=[ct, objs["account"].pk])),
    ]


PLAIN_URLS = [
    "org:settings_home",
    "org:members",
    "org:member_add",
    "org:units",
    "org:unit_create",
    "org:business_lines",
    "org:business_line_create",
    "org:teams",
    "org:team_create",
    "access:roles",
    "access:role_create",
    "access:sharing_rules",
    "access:sharing_rule_create",
    "access:restricted_fields",
    "customization:custom_fields",
    "customization:tags",
    "customization:tag_create",
]


@pytest.fixture
def objs(tenant):
    return build_org(tenant)


@pytest.fixture
def other_objs(other_tenant):
    return build_org(other_tenant)


# --- who may use the pages ------------------------------------------------------------------------


def test_every_settings_page_renders_for_an_admin(admin_client, objs):
    urls = [reverse(name) for name in PLAIN_URLS]
    urls += [url for method, url in id_urls(objs) if method == "get"]
    urls += [
        reverse("access:restricted_field_edit", args=["customers.account", "name"]),
        reverse("customization:custom_field_create", args=["customers.account"]),
    ]
    for url in urls:
        response = admin_client.get(url)
        assert response.status_code == 200, url


def test_a_sales_rep_gets_403_on_every_settings_page(client, tenant, rep, objs):
    client_for(client, rep)
    for name in PLAIN_URLS:
        assert client.get(reverse(name)).status_code == 403, name
        assert client.post(reverse(name), {"name": "x"}).status_code == 403, name
    for method, url in id_urls(objs):
        if "/shares/" in url:
            continue  # the sharing panel is not an admin page (see the panel tests)
        assert getattr(client, method)(url).status_code == 403, url
    assert client.get(reverse("access:restricted_field_edit", args=["customers.account", "name"])).status_code == 403
    # Nothing changed.
    with tenant_context(tenant):
        assert Team.objects.filter(pk=objs["team"].pk).exists()
        assert Member.objects.get(pk=objs["member"].pk).is_active


def test_settings_appear_in_the_sidebar_for_admins_only(admin_client, client, rep):
    assert reverse("org:settings_home") in admin_client.get(reverse("org:members")).content.decode()
    client_for(client, rep)
    page = client.get(reverse("identity:profile")).content.decode()
    assert reverse("org:settings_home") not in page


def test_ids_of_another_tenant_answer_404(admin_client, objs, other_objs):
    for method, url in id_urls(other_objs):
        assert getattr(admin_client, method)(url).status_code == 404, url
    # and nothing of the other tenant was touched
    with tenant_context(other_objs["tenant"]):
        assert Team.objects.filter(pk=other_objs["team"].pk).exists()
        assert Member.objects.get(pk=other_objs["member"].pk).is_active


# --- people ----------------------------------------------------------------------------------------


def test_inviting_a_new_person_sends_a_set_password_email(admin_client, tenant, objs):
    with tenant_context(tenant):
        rep_role = Role.objects.get(name="Sales representative")
    response = admin_client.post(
        reverse("org:member_add"),
        {
            "email": "New.Person@Example.com",
            "full_name": "New Person",
            "title": "Sales",
            "unit": objs["unit"].pk,
            "manager": objs["member"].pk,
            "roles": [rep_role.pk],
            "business_lines": [objs["line"].pk],
            "teams": [objs["team"].pk],
        },
    )
    assert response.status_code == 302, response.content.decode()
    with tenant_context(tenant):
        member = Member.objects.select_related("user").get(user__email="new.person@example.com")
        assert member.unit == objs["unit"]
        assert member.manager == objs["member"]
        assert list(member.roles.all()) == [rep_role]
        assert list(member.teams.all()) == [objs["team"]]
    assert not member.user.has_usable_password()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.person@example.com"]
    assert tenant.name in message.subject
    link = re.search(r"http://testserver(/password-reset/[^/]+/[^/\s]+/)", message.body).group(1)
    # The link lets the person choose a password and sign in.
    response = admin_client.get(link, follow=True)
    assert response.status_code == 200
    set_url = response.redirect_chain[-1][0]
    response = admin_client.post(
        set_url, {"new_password1": "a-brand-new-pass-42", "new_password2": "a-brand-new-pass-42"}
    )
    assert response.status_code == 302
    member.user.refresh_from_db()
    assert member.user.check_password("a-brand-new-pass-42")
    assert audit_entries(tenant, action=AuditAction.PERMISSION_CHANGE, object_id=member.pk, note="member added")


def test_adding_an_existing_user_sends_no_email(admin_client, tenant, other_tenant):
    person = make_member(other_tenant, name="Already here")
    response = admin_client.post(reverse("org:member_add"), {"email": person.email, "full_name": "Whatever"})
    assert response.status_code == 302
    assert mail.outbox == []
    with tenant_context(tenant):
        assert Member.objects.filter(user=person).exists()


def test_inviting_someone_twice_shows_the_error_on_the_form(admin_client, objs):
    response = admin_client.post(reverse("org:member_add"), {"email": objs["user"].email, "full_name": "Again"})
    assert response.status_code == 200
    assert "This person is already a member." in response.content.decode()


def test_editing_a_member_is_audited(admin_client, tenant, objs):
    south = make_unit(tenant, "South")
    with tenant_context(tenant):
        manager_role = Role.objects.get(name="Sales manager")
    member = objs["member"]
    response = admin_client.post(
        reverse("org:member_edit", args=[member.pk]),
        {"title": "Lead", "unit": south.pk, "roles": [manager_role.pk], "is_admin": "on", "is_active": "on"},
    )
    assert response.status_code == 302, response.content.decode()
    with tenant_context(tenant):
        member.refresh_from_db()
        assert member.unit == south and member.is_admin and member.title == "Lead"
        assert list(member.roles.all()) == [manager_role]
        assert list(member.teams.all()) == []
        entry = AuditEntry.objects.filter(object_id=member.pk, action=AuditAction.PERMISSION_CHANGE).latest("id")
    assert set(entry.changes) >= {"unit", "roles", "is_admin", "title", "teams"}


def test_deactivating_a_member_and_not_oneself(admin_client, tenant, objs):
    member = objs["member"]
    assert admin_client.post(reverse("org:member_deactivate", args=[member.pk])).status_code == 302
    with tenant_context(tenant):
        member.refresh_from_db()
        me = Member.objects.get(user=tenant.admin)
    assert not member.is_active
    admin_client.post(reverse("org:member_deactivate", args=[me.pk]))
    with tenant_context(tenant):
        me.refresh_from_db()
    assert me.is_active
    # The edit form does not let an admin switch themselves off either.
    admin_client.post(reverse("org:member_edit", args=[me.pk]), {"title": "Boss"})
    with tenant_context(tenant):
        me.refresh_from_db()
    assert me.is_active and me.is_admin and me.title == "Boss"


def test_people_list_search_and_query_count(admin_client, tenant, objs, django_assert_max_num_queries):
    for i in range(6):
        make_member(
            tenant, unit=objs["unit"], name=f"Colleague {i}", teams=[objs["team"]], business_lines=[objs["line"]]
        )
    with django_assert_max_num_queries(25):
        response = admin_client.get(reverse("org:members"))
    page = response.content.decode()
    assert page.count('data-testid="member-row"') == 8
    assert "Hardware" in page and "Key accounts" in page and "North" in page
    response = admin_client.get(reverse("org:members"), {"q": "colleague 3"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert page.count('data-testid="member-row"') == 1
    assert "<html" not in page  # only the table for htmx
    response = admin_client.get(reverse("org:members"), {"unit": objs["unit"].pk, "status": "all"})
    assert response.content.decode().count('data-testid="member-row"') == 7


# --- units, business lines, teams --------------------------------------------------------------------


def test_moving_a_unit_keeps_the_paths_of_its_subtree(admin_client, tenant):
    north = make_unit(tenant, "North")
    south = make_unit(tenant, "South")
    branch = make_unit(tenant, "Branch", parent=north, kind="branch")
    dept = make_unit(tenant, "Dept", parent=branch, kind="department")
    response = admin_client.post(
        reverse("org:unit_edit", args=[branch.pk]), {"name": "Branch 2", "kind": "branch", "parent": south.pk}
    )
    assert response.status_code == 302, response.content.decode()
    with tenant_context(tenant):
        branch.refresh_from_db()
        dept.refresh_from_db()
    assert branch.name == "Branch 2"
    assert branch.path == f"{south.path}{branch.pk}/" and branch.depth == 2
    assert dept.path == f"{branch.path}{dept.pk}/" and dept.depth == 3
    # A unit cannot go under its own sub-unit.
    response = admin_client.post(
        reverse("org:unit_edit", args=[south.pk]), {"name": "South", "kind": "region", "parent": dept.pk}
    )
    assert response.status_code == 200
    with tenant_context(tenant):
        south.refresh_from_db()
    assert south.depth == 1
    page = admin_client.get(reverse("org:units")).content.decode()
    assert page.index("South") < page.index("Branch 2") < page.index("Dept")


def test_creating_and_deleting_units(admin_client, tenant):
    north = make_unit(tenant, "North")
    response = admin_client.post(reverse("org:unit_create"), {"name": "Sub", "kind": "branch", "parent": north.pk})
    assert response.status_code == 302
    response = admin_client.post(reverse("org:unit_create"), {"name": "Sub", "kind": "branch", "parent": north.pk})
    assert response.status_code == 200 and "Another unit under this parent has this name." in response.content.decode()
    with tenant_context(tenant):
        sub = OrgUnit.objects.get(name="Sub")
    assert sub.path == f"{north.path}{sub.pk}/"
    # Not empty: refused.
    admin_client.post(reverse("org:unit_delete", args=[north.pk]))
    with tenant_context(tenant):
        assert OrgUnit.objects.filter(pk=north.pk).exists()
    admin_client.post(reverse("org:unit_delete", args=[sub.pk]))
    with tenant_context(tenant):
        assert not OrgUnit.objects.filter(pk=sub.pk).exists()
    assert audit_entries(tenant, action=AuditAction.DELETE, object_id=sub.pk)


def test_business_lines_and_teams_crud(admin_client, tenant, objs):
    assert (
        admin_client.post(reverse("org:business_line_create"), {"name": "Software", "is_active": "on"}).status_code
        == 302
    )
    response = admin_client.post(reverse("org:business_line_create"), {"name": "Software"})
    assert "This name is already used." in response.content.decode()
    with tenant_context(tenant):
        software = BusinessLine.objects.get(name="Software")
    admin_client.post(reverse("org:business_line_edit", args=[software.pk]), {"name": "Software & services"})
    with tenant_context(tenant):
        software.refresh_from_db()
        assert software.name == "Software & services" and not software.is_active
    admin_client.post(reverse("org:business_line_delete", args=[software.pk]))
    with tenant_context(tenant):
        assert not BusinessLine.objects.filter(pk=software.pk).exists()

    response = admin_client.post(
        reverse("org:team_create"), {"name": "Tigers", "unit": objs["unit"].pk, "members": [objs["member"].pk]}
    )
    assert response.status_code == 302
    with tenant_context(tenant):
        tigers = Team.objects.get(name="Tigers")
        assert list(tigers.members.all()) == [objs["member"]]
    admin_client.post(reverse("org:team_edit", args=[tigers.pk]), {"name": "Tigers", "members": []})
    with tenant_context(tenant):
        assert not tigers.members.exists()
    admin_client.post(reverse("org:team_delete", args=[tigers.pk]))
    with tenant_context(tenant):
        assert not Team.objects.filter(pk=tigers.pk).exists()
    actions = [e.action for e in audit_entries(tenant, object_id=tigers.pk, content_type__model="team")]
    assert actions[0] == AuditAction.CREATE and actions[-1] == AuditAction.DELETE and len(actions) == 3


# --- roles ------------------------------------------------------------------------------------------


def test_role_matrix_round_trip(admin_client, tenant, rep):
    data = {
        "name": "Key account manager",
        "description": "Big customers",
        "perm:customers.account:view": Scope.UNIT,
        "perm:customers.account:edit": Scope.OWN,
        "perm:customers.account:create": "on",
        "perm:customers.contact:view": Scope.TENANT,
        "perm:audit:view": "",
    }
    response = admin_client.post(reverse("access:role_create"), data)
    assert response.status_code == 302, response.content.decode()
    with tenant_context(tenant):
        role = Role.objects.get(name="Key account manager")
        grants = {
            (m, a): s for m, a, s in RolePermission.objects.filter(role=role).values_list("module", "action", "scope")
        }
    assert grants == {
        ("customers.account", "view"): Scope.UNIT,
        ("customers.account", "edit"): Scope.OWN,
        ("customers.account", "create"): Scope.TENANT,
        ("customers.contact", "view"): Scope.TENANT,
    }
    # The editor shows what is stored.
    page = admin_client.get(reverse("access:role_edit", args=[role.pk])).content.decode()
    assert re.search(r'name="perm:customers.account:view"[^>]*>.*?<option value="unit" selected>', page, re.S)
    assert re.search(r'name="perm:customers.account:create"[^>]*checked', page)
    assert not re.search(r'name="perm:customers.contact:create"[^>]*checked', page)
    # Saving the same matrix again changes nothing; changing a cell is audited with before/after.
    data["perm:customers.account:view"] = Scope.TENANT
    del data["perm:customers.account:create"]
    assert admin_client.post(reverse("access:role_edit", args=[role.pk]), data).status_code == 302
    entry = audit_entries(tenant, action=AuditAction.PERMISSION_CHANGE, object_id=role.pk)[-1]
    assert entry.changes == {
        "customers.account:view": [Scope.UNIT, Scope.TENANT],
        "customers.account:create": [Scope.TENANT, None],
    }
    # The role takes effect: a person with it may now view every account.
    with tenant_context(tenant):
        rep.member.roles.set([role])
        permissions.invalidate()
        assert permissions.has_action(rep, "customers.account", Action.VIEW)
        assert not permissions.has_action(rep, "customers.account", Action.CREATE)


def test_builtin_roles_keep_their_yes_no_scopes_and_cannot_be_deleted(admin_client, tenant):
    with tenant_context(tenant):
        manager = Role.objects.get(name="Sales manager")
        before = {(m, a): s for m, a, s in manager.permissions.values_list("module", "action", "scope")}
    page = admin_client.get(reverse("access:role_edit", args=[manager.pk])).content.decode()
    assert 'name="name"' in page and "disabled" in page
    data = {"name": "Renamed", "description": ""}
    for (module, action), scope in before.items():
        data[f"perm:{module}:{action}"] = scope if action in Action.RECORD else "on"
    assert admin_client.post(reverse("access:role_edit", args=[manager.pk]), data).status_code == 302
    with tenant_context(tenant):
        manager.refresh_from_db()
        after = {(m, a): s for m, a, s in manager.permissions.values_list("module", "action", "scope")}
    assert after == before  # create/import stay "unit"
    assert manager.name == "Sales manager"
    admin_client.post(reverse("access:role_delete", args=[manager.pk]))
    with tenant_context(tenant):
        assert Role.objects.filter(pk=manager.pk).exists()


def test_deleting_a_role(admin_client, tenant, objs):
    role = objs["role"]
    with tenant_context(tenant):
        objs["member"].roles.add(role)
    admin_client.post(reverse("access:role_delete", args=[role.pk]))
    with tenant_context(tenant):
        assert Role.objects.filter(pk=role.pk).exists()  # still given to someone
        objs["member"].roles.remove(role)
    admin_client.post(reverse("access:role_delete", args=[role.pk]))
    with tenant_context(tenant):
        assert not Role.objects.filter(pk=role.pk).exists()
    assert audit_entries(tenant, action=AuditAction.PERMISSION_CHANGE, object_id=role.pk, note="role deleted")


# --- sharing rules and restricted fields ----------------------------------------------------------------


def test_sharing_rules_crud(admin_client, tenant, objs):
    url = reverse("access:sharing_rule_create")
    response = admin_client.post(url, {"name": "No grantee", "module": "customers.account", "access": "read"})
    assert "Choose who gets access" in response.content.decode()
    response = admin_client.post(
        url,
        {
            "name": "Hardware to team",
            "module": "customers.account",
            "business_line": objs["line"].pk,
            "region": objs["unit"].pk,
            "grantee_team": objs["team"].pk,
            "access": "edit",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()
    with tenant_context(tenant):
        rule = SharingRule.objects.get(name="Hardware to team")
    assert rule.grantee_team_id == objs["team"].pk and rule.access == "edit" and rule.region_id == objs["unit"].pk
    assert "Hardware to team" in admin_client.get(reverse("access:sharing_rules")).content.decode()
    response = admin_client.post(
        reverse("access:sharing_rule_edit", args=[rule.pk]),
        {"name": "Hardware to role", "module": "customers.contact", "grantee_role": objs["role"].pk, "access": "read"},
    )
    assert response.status_code == 302
    with tenant_context(tenant):
        rule.refresh_from_db()
    assert rule.module == "customers.contact" and rule.grantee_role_id == objs["role"].pk and not rule.is_active
    admin_client.post(reverse("access:sharing_rule_delete", args=[rule.pk]))
    with tenant_context(tenant):
        assert not SharingRule.objects.filter(pk=rule.pk).exists()
    assert len(audit_entries(tenant, content_type__model="sharingrule", object_id=rule.pk)) == 3


def test_restricted_fields(admin_client, tenant, objs, rep):
    with tenant_context(tenant):
        custom_field_save(
            actor=None,
            definition=CustomFieldDefinition(
                entity="customers.account", key="credit_limit", label_en="Credit limit", field_type="decimal"
            ),
        )
        rep_role = Role.objects.get(name="Sales representative")
        manager = Role.objects.get(name="Sales manager")
    page = admin_client.get(reverse("access:restricted_fields"), {"entity": "customers.account"}).content.decode()
    assert "custom.credit_limit" in page and "annual_revenue" in page
    url = reverse("access:restricted_field_edit", args=["customers.account", "custom.credit_limit"])
    response = admin_client.post(url, {"restricted": "on", f"role_{manager.pk}": "edit", f"role_{rep_role.pk}": "see"})
    assert response.status_code == 302
    with tenant_context(tenant):
        field = RestrictedField.objects.get(module="customers.account", field_name="custom.credit_limit")
        assert dict(field.grants.values_list("role_id", "can_edit")) == {manager.pk: True, rep_role.pk: False}
        access = permissions.field_access(rep, "customers.account")
        assert access.can_see("custom.credit_limit") and not access.can_write("custom.credit_limit")
    page = admin_client.get(reverse("access:restricted_fields"), {"entity": "customers.account"}).content.decode()
    assert "Restricted" in page
    # Lifting the restriction.
    admin_client.post(url, {f"role_{manager.pk}": "edit"})
    with tenant_context(tenant):
        assert not RestrictedField.objects.filter(field_name="custom.credit_limit").exists()
    assert len(audit_entries(tenant, note="field restriction")) == 2
    # Unknown fields and record types are 404.
    assert (
        admin_client.get(reverse("access:restricted_field_edit", args=["customers.account", "nope"])).status_code == 404
    )
    assert admin_client.get(reverse("access:restricted_field_edit", args=["nope.nope", "name"])).status_code == 404


# --- the record sharing panel ---------------------------------------------------------------------------


def test_share_panel_add_and_remove(client, tenant, objs):
    owner = objs["user"]
    colleague = make_member(tenant, name="Colleague")
    account = objs["account"]
    ct = ContentType.objects.get_for_model(Account).pk
    url = reverse("access:record_shares", args=[ct, account.pk])
    client_for(client, owner)
    with tenant_context(tenant):
        assert not permissions.can(colleague, Action.VIEW, account)

    response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="share-panel"' in page and "Colleague" in page and "Key accounts" in page

    response = client.post(url, {"grantee": f"user:{colleague.pk}", "access": "edit"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="share-row"') == 1
    # Sharing with the same person again changes the access instead of adding a second share.
    client.post(url, {"grantee": f"user:{colleague.pk}", "access": "read"}, HTTP_HX_REQUEST="true")
    client.post(url, {"grantee": f"team:{objs['team'].pk}", "access": "read"}, HTTP_HX_REQUEST="true")
    with tenant_context(tenant):
        shares = {(s.user_id, s.team_id): s for s in RecordShare.objects.filter(object_id=account.pk)}
        assert shares[(colleague.pk, None)].access == "read" and len(shares) == 2
        permissions.invalidate()
        assert permissions.can(colleague, Action.VIEW, account)

    share = shares[(colleague.pk, None)]
    response = client.post(
        reverse("access:record_share_delete", args=[ct, account.pk, share.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="share-row"') == 1
    with tenant_context(tenant):
        assert not RecordShare.objects.filter(pk=share.pk).exists()
        permissions.invalidate()
        assert not permissions.can(colleague, Action.VIEW, account)
    assert len(audit_entries(tenant, action=AuditAction.SHARE, object_id=account.pk)) == 4

    # Bad input is shown in the panel.
    response = client.post(url, {"grantee": "user:999999", "access": "read"})
    assert response.status_code == 200 and "is-invalid" in response.content.decode()


def test_share_panel_is_404_without_edit_right_or_for_another_tenant(client, tenant, other_tenant, objs, other_objs):
    ct = ContentType.objects.get_for_model(Account).pk
    teammate = make_member(tenant, name="Team mate", teams=[objs["team"]])
    client_for(client, teammate)
    url = reverse("access:record_shares", args=[ct, objs["account"].pk])
    with tenant_context(tenant):
        assert permissions.can(teammate, Action.VIEW, objs["account"])  # sees it through the team…
        assert not permissions.can(teammate, Action.EDIT, objs["account"])  # …but may not edit it
        share = RecordShare.objects.create(
            content_type_id=ct, object_id=objs["account"].pk, team=objs["team"], access="read"
        )
    assert client.get(url).status_code == 404
    assert client.post(url, {"grantee": f"user:{teammate.pk}", "access": "edit"}).status_code == 404
    assert (
        client.post(reverse("access:record_share_delete", args=[ct, objs["account"].pk, share.pk])).status_code == 404
    )
    with tenant_context(tenant):
        assert RecordShare.objects.filter(pk=share.pk).exists()
    # Another tenant's record, an unknown content type, a model that is not a record type.
    assert client.get(reverse("access:record_shares", args=[ct, other_objs["account"].pk])).status_code == 404
    assert client.get(reverse("access:record_shares", args=[999999, 1])).status_code == 404
    role_ct = ContentType.objects.get_for_model(Role).pk
    assert client.get(reverse("access:record_shares", args=[role_ct, objs["role"].pk])).status_code == 404
    # An admin reaches the panel of any record of the tenant, but not another tenant's share ids.
    admin = client_for(client, tenant.admin)
    with tenant_context(other_tenant):
        other_share = RecordShare.objects.create(
            content_type_id=ct, object_id=other_objs["account"].pk, team=other_objs["team"], access="read"
        )
    assert admin.get(url).status_code == 200
    response = admin.post(reverse("access:record_share_delete", args=[ct, objs["account"].pk, other_share.pk]))
    assert response.status_code == 404


def test_settings_lists_use_a_fixed_number_of_queries(admin_client, tenant, objs):
    def counts():
        result = {}
        for name in ("org:units", "org:business_lines", "org:teams", "access:roles", "access:sharing_rules"):
            with CaptureQueriesContext(connection) as ctx:
                assert admin_client.get(reverse(name)).status_code == 200
            result[name] = len(ctx.captured_queries)
        return result

    admin_client.get(reverse("org:settings_home"))  # warm the per-user caches
    before = counts()
    for i in range(5):
        unit = make_unit(tenant, f"Unit {i}", parent=objs["unit"])
        person = make_member(tenant, unit=unit, name=f"P{i}", business_lines=[objs["line"]])
        with tenant_context(tenant):
            line = business_line_save(actor=None, line=BusinessLine(name=f"Line {i}"))
            team = team_save(actor=None, team=Team(name=f"Team {i}", unit=unit, lead=person.member), member_ids=[])
            Role.objects.create(name=f"Role {i}")
            SharingRule.objects.create(
                name=f"Rule {i}", module="customers.account", business_line=line, region=unit, grantee_team=team
            )
    admin_client.get(reverse("org:settings_home"))
    assert counts() == before
