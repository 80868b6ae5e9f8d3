"""The permission matrix: role scopes, manager hierarchy, shares, sharing rules, restricted fields."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from guanxi.access import permissions
from guanxi.access import services as access_services
from guanxi.access.models import Role, RolePermission
from guanxi.activities.models import Activity
from guanxi.customers.models import Account
from guanxi.org.models import BusinessLine, Team
from guanxi.org.services import business_line_save, team_save
from guanxi.platform import crud
from guanxi.platform.context import tenant_context
from guanxi.platform.registry import Action, Scope
from guanxi.platform.testing import make_member, make_unit


def names(user, model=Account, action=Action.VIEW):
    return sorted(
        permissions.visible(user, model, action).values_list("name" if model is Account else "subject", flat=True)
    )


def role_with(tenant, name, grants):
    with tenant_context(tenant):
        role = Role.objects.create(name=name)
        for (module, action), scope in grants.items():
            RolePermission.objects.create(role=role, module=module, action=action, scope=scope)
        permissions.invalidate()
    return role


@pytest.fixture
def org(tenant):
    """North region with a branch, South region; two business lines; reps, a manager, a team."""
    north = make_unit(tenant, "North")
    north_branch = make_unit(tenant, "North branch", parent=north, kind="branch")
    south = make_unit(tenant, "South")
    with tenant_context(tenant):
        hw = business_line_save(actor=None, line=BusinessLine(name="Hardware"))
        sw = business_line_save(actor=None, line=BusinessLine(name="Software"))
    manager = make_member(tenant, roles=("Sales representative",), unit=north, name="Manager")
    rep_n = make_member(
        tenant,
        roles=("Sales representative",),
        unit=north_branch,
        name="Rep North",
        manager=manager.member,
        business_lines=[hw],
    )
    rep_n2 = make_member(
        tenant, roles=("Sales representative",), unit=north_branch, name="Rep North 2", business_lines=[sw]
    )
    rep_s = make_member(tenant, roles=("Sales representative",), unit=south, name="Rep South", business_lines=[sw])
    with tenant_context(tenant):
        team = team_save(actor=None, team=Team(name="Key accounts"), member_ids=[rep_n.member.pk, rep_s.member.pk])
        accounts = {
            "north-hw": Account.objects.create(name="north-hw", owner=rep_n, business_line=hw, region=north),
            "north2-sw": Account.objects.create(name="north2-sw", owner=rep_n2, business_line=sw, region=north_branch),
            "south-sw": Account.objects.create(name="south-sw", owner=rep_s, business_line=sw, region=south),
            "manager": Account.objects.create(name="manager", owner=manager, region=north),
        }
    return {
        "north": north,
        "north_branch": north_branch,
        "south": south,
        "hw": hw,
        "sw": sw,
        "manager": manager,
        "rep_n": rep_n,
        "rep_n2": rep_n2,
        "rep_s": rep_s,
        "team": team,
        "accounts": accounts,
    }


def test_role_scopes(tenant, org):
    own = role_with(tenant, "own", {("customers.account", "view"): Scope.OWN})
    team = role_with(tenant, "team", {("customers.account", "view"): Scope.TEAM})
    unit = role_with(tenant, "unit", {("customers.account", "view"): Scope.UNIT})
    line = role_with(tenant, "line", {("customers.account", "view"): Scope.BUSINESS_LINE})
    whole = role_with(tenant, "whole", {("customers.account", "view"): Scope.TENANT})

    def user_with(role, unit_, lines=()):
        return make_member(tenant, roles=(role.name,), unit=unit_, business_lines=lines)

    with tenant_context(tenant):
        u = user_with(own, org["north"])
        Account.objects.create(name="mine", owner=u)
        assert names(u) == ["mine"]
        # rep_n's team (Key accounts) includes rep_s: team scope sees both
        from guanxi.access.models import MemberRole

        MemberRole.objects.filter(member=org["rep_n"].member).delete()
        MemberRole.objects.create(member=org["rep_n"].member, role=team)
        permissions.invalidate()
        assert names(org["rep_n"]) == ["north-hw", "south-sw"]
        assert names(user_with(unit, org["north"])) == ["manager", "mine", "north-hw", "north2-sw"]
        assert names(user_with(unit, org["south"])) == ["south-sw"]
        assert names(user_with(line, org["south"], [org["sw"]])) == ["north2-sw", "south-sw"]
        assert names(user_with(whole, org["south"])) == ["manager", "mine", "north-hw", "north2-sw", "south-sw"]


def test_no_grant_means_nothing_even_with_shares(tenant, org):
    nobody = make_member(tenant, roles=())
    with tenant_context(tenant):
        access_services.record_share_create(actor=tenant.admin, obj=org["accounts"]["south-sw"], user=nobody)
        assert names(nobody) == []
        assert not permissions.has_action(nobody, "customers.account", Action.VIEW)


def test_manager_sees_and_edits_reports_records_but_cannot_delete_them(tenant, org):
    with tenant_context(tenant):
        manager = org["manager"]
        # Sales representative: view=team, edit/delete=own. Manager has no team, so hierarchy is what adds rep_n's.
        assert names(manager) == ["manager", "north-hw"]
        assert names(manager, action=Action.EDIT) == ["manager", "north-hw"]
        assert names(manager, action=Action.DELETE) == ["manager"]
        assert permissions.can(manager, Action.EDIT, org["accounts"]["north-hw"])
        assert not permissions.can(manager, Action.DELETE, org["accounts"]["north-hw"])


def test_shares_to_user_team_and_unit(tenant, org):
    with tenant_context(tenant):
        rep_n2, south = org["rep_n2"], org["accounts"]["south-sw"]
        assert "south-sw" not in names(rep_n2)
        share = access_services.record_share_create(actor=tenant.admin, obj=south, user=rep_n2, access="read")
        assert "south-sw" in names(rep_n2)
        assert "south-sw" not in names(rep_n2, action=Action.EDIT)
        access_services.record_share_delete(actor=tenant.admin, share=share)
        assert "south-sw" not in names(rep_n2)

        # shared with the North unit: members of sub-units (North branch) see it too; South does not
        access_services.record_share_create(
            actor=tenant.admin, obj=org["accounts"]["manager"], unit=org["north"], access="edit"
        )
        assert "manager" in names(rep_n2, action=Action.EDIT)
        other = make_member(tenant, unit=org["south"])
        assert "manager" not in names(other)

        # shared with a team
        team_member = org["rep_s"]
        access_services.record_share_create(actor=tenant.admin, obj=org["accounts"]["north2-sw"], team=org["team"])
        assert "north2-sw" in names(team_member)


def test_sharing_rule_business_line_in_region_readable_by_unit(tenant, org):
    with tenant_context(tenant):
        from guanxi.access.models import SharingRule

        viewer = make_member(tenant, unit=org["south"])
        assert names(viewer) == []
        access_services.sharing_rule_save(
            actor=tenant.admin,
            rule=SharingRule(
                name="SW in North → South",
                module="customers.account",
                business_line=org["sw"],
                region=org["north"],
                grantee_unit=org["south"],
                access="read",
            ),
        )
        assert names(viewer) == ["north2-sw"]  # region subtree includes North branch
        assert names(viewer, action=Action.EDIT) == []
        assert names(org["rep_s"]) == ["north-hw", "north2-sw", "south-sw"]  # team (rep_n) + rule + own


def test_activities_inherit_visibility_from_their_account(tenant, org):
    with tenant_context(tenant):
        acc = org["accounts"]["south-sw"]
        Activity.objects.create(subject="call south", owner=org["rep_s"], account=acc)
        viewer = make_member(tenant, unit=org["north"])
        assert names(viewer, Activity) == []
        access_services.record_share_create(actor=tenant.admin, obj=acc, user=viewer)
        assert names(viewer, Activity) == ["call south"]


def test_admin_sees_everything_and_non_members_nothing(tenant, other_tenant, org):
    with tenant_context(tenant):
        assert len(names(tenant.admin)) == 4
    with tenant_context(other_tenant):
        assert names(tenant.admin) == []  # a user of tenant A is no member of tenant B
        with pytest.raises(Http404):
            permissions.get_for(other_tenant.admin, Account, org["accounts"]["north-hw"].pk)


def test_crud_services_enforce_permissions(tenant, org):
    with tenant_context(tenant):
        rep = org["rep_n2"]
        acc = org["accounts"]["south-sw"]
        with pytest.raises(Http404):
            crud.record_update(entity_key="customers.account", actor=rep, instance=acc, data={"name": "hack"})
        reader = make_member(tenant, roles=("Read only",))
        with pytest.raises(PermissionDenied):
            crud.record_create(entity_key="customers.account", actor=reader, data={"name": "new"})
        mine = crud.record_create(entity_key="customers.account", actor=rep, data={"name": "new"})
        assert mine.owner == rep
        # a rep may not hand their account to someone else (no "assign" grant)
        with pytest.raises(ValidationError):
            crud.record_update(entity_key="customers.account", actor=rep, instance=mine, data={"owner": org["rep_s"]})


def test_restricted_fields_hidden_and_readonly(tenant, org):
    with tenant_context(tenant):
        managers = Role.objects.get(name="Sales manager")
        reps = Role.objects.get(name="Sales representative")
        access_services.field_restriction_set(
            actor=tenant.admin,
            module="customers.account",
            field_name="annual_revenue",
            grants={managers.pk: True, reps.pk: False},
        )
        access_services.field_restriction_set(
            actor=tenant.admin, module="customers.account", field_name="rating", grants={managers.pk: True}
        )
        rep = org["rep_n"]
        fa = permissions.field_access(rep, "customers.account")
        assert fa.readonly == {"annual_revenue"} and fa.hidden == {"rating"}
        assert permissions.field_access(tenant.admin, "customers.account").hidden == frozenset()
        acc = org["accounts"]["north-hw"]
        with pytest.raises(ValidationError) as err:
            crud.record_update(entity_key="customers.account", actor=rep, instance=acc, data={"rating": "A"})
        assert "rating" in err.value.message_dict
        with pytest.raises(ValidationError):
            crud.record_update(entity_key="customers.account", actor=rep, instance=acc, data={"annual_revenue": 5})
        # unchanged values of restricted fields may be sent back (as forms do)
        crud.record_update(
            entity_key="customers.account",
            actor=rep,
            instance=acc,
            data={"name": "north-hw 2", "annual_revenue": acc.annual_revenue},
        )
