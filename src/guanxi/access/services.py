"""Writes to roles, shares, sharing rules and field restrictions (all audited)."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.platform import registry
from guanxi.platform.registry import Action, Scope

from . import permissions
from .models import RecordShare, RestrictedField, RestrictedFieldGrant, Role, RolePermission, SharingRule

# Built-in roles every new tenant starts with: {module pattern: {action: scope}}.
# Names are stored in English and translated when shown (gettext_noop marks them).
RECORD_MODULES = ("customers.account", "customers.contact", "activities.activity")
SALES_MODULES = ("sales.lead", "sales.opportunity")  # the sales roles work on these too
COMMERCE_MODULES = ("commerce.quote", "commerce.order")  # the sales roles work on these too
FINANCE_MODULES = ("finance.contract", "finance.invoice", "finance.expense")  # the sales roles work on these too
FINANCE_READ = ("finance.contract", "finance.invoice", "finance.payment")  # what the read-only role sees
# Payments follow their invoice, commission entries and statements belong to their rep, plans are read by all.
FINANCE_MANAGER = {
    "finance.payment": {Action.VIEW: Scope.UNIT, Action.CREATE: Scope.UNIT, Action.EXPORT: Scope.UNIT},
    "finance.commission_plan": {Action.VIEW: Scope.TENANT},
    "finance.commission_entry": {Action.VIEW: Scope.UNIT, Action.EXPORT: Scope.UNIT},
    "finance.commission_statement": {Action.VIEW: Scope.UNIT, Action.CREATE: Scope.UNIT, Action.EXPORT: Scope.UNIT},
}
FINANCE_REP = {
    "finance.payment": {Action.VIEW: Scope.OWN},
    "finance.commission_entry": {Action.VIEW: Scope.OWN},
    "finance.commission_statement": {Action.VIEW: Scope.OWN},
    "finance.commission_plan": {Action.VIEW: Scope.TENANT},
    # a rep's expenses are their own: unlike other records, teammates do not see them
    "finance.expense": dict.fromkeys(
        (Action.VIEW, Action.CREATE, Action.EDIT, Action.DELETE, Action.EXPORT), Scope.OWN
    ),
}
# Products and price books have no owner: everyone reads the catalogue; admins (or roles given edit) manage it.
CATALOG_VIEW = {"commerce.product": {Action.VIEW: Scope.TENANT}, "commerce.price_book": {Action.VIEW: Scope.TENANT}}
BUILTIN_ROLES = {
    gettext_noop("Administrator"): {"*": dict.fromkeys(Action.ALL, Scope.TENANT)},
    gettext_noop("Sales manager"): {
        m: {
            Action.VIEW: Scope.UNIT,
            Action.CREATE: Scope.UNIT,
            Action.EDIT: Scope.UNIT,
            Action.DELETE: Scope.UNIT,
            Action.IMPORT: Scope.UNIT,
            Action.EXPORT: Scope.UNIT,
            Action.ASSIGN: Scope.UNIT,
        }
        for m in RECORD_MODULES + SALES_MODULES + COMMERCE_MODULES + FINANCE_MODULES
    }
    | {"sales.competitor": {Action.VIEW: Scope.TENANT}}
    | CATALOG_VIEW
    | FINANCE_MANAGER,
    gettext_noop("Sales representative"): {
        m: {
            Action.VIEW: Scope.TEAM,
            Action.CREATE: Scope.OWN,
            Action.EDIT: Scope.OWN,
            Action.DELETE: Scope.OWN,
            Action.EXPORT: Scope.OWN,
        }
        for m in RECORD_MODULES + SALES_MODULES + COMMERCE_MODULES + FINANCE_MODULES
    }
    | {"sales.competitor": {Action.VIEW: Scope.TENANT}}
    | CATALOG_VIEW
    | FINANCE_REP,
    gettext_noop("Service agent"): {
        m: {Action.VIEW: Scope.TENANT, Action.CREATE: Scope.OWN, Action.EDIT: Scope.OWN} for m in RECORD_MODULES
    }
    | {"commerce.order": {Action.VIEW: Scope.TENANT}}
    | CATALOG_VIEW,
    gettext_noop("Marketer"): {
        m: {
            Action.VIEW: Scope.TENANT,
            Action.CREATE: Scope.OWN,
            Action.EDIT: Scope.OWN,
            Action.IMPORT: Scope.OWN,
            Action.EXPORT: Scope.TENANT,
        }
        for m in RECORD_MODULES
    }
    | CATALOG_VIEW,
    gettext_noop("Read only"): {
        m: {Action.VIEW: Scope.TENANT} for m in RECORD_MODULES + COMMERCE_MODULES + FINANCE_READ
    }
    | CATALOG_VIEW,
}


def _expand(spec: dict) -> list[tuple[str, str, str]]:
    rows = []
    modules = registry.permission_modules()
    for pattern, actions in spec.items():
        for key, _label, allowed in modules:
            if pattern == "*" or pattern == key:
                rows += [(key, action, scope) for action, scope in actions.items() if action in allowed]
    return rows


@transaction.atomic
def roles_create_builtin() -> dict[str, Role]:
    """Create the built-in roles in the current tenant (idempotent)."""
    roles = {}
    for name, spec in BUILTIN_ROLES.items():
        role, _created = Role.objects.get_or_create(name=name, defaults={"is_builtin": True})
        RolePermission.objects.bulk_create(
            [RolePermission(role=role, module=m, action=a, scope=s) for m, a, s in _expand(spec)],
            ignore_conflicts=True,
        )
        roles[name] = role
    permissions.invalidate()
    return roles


@transaction.atomic
def role_save(*, actor, role: Role, grants: dict[tuple[str, str], str] | None = None) -> Role:
    """Create or change a role and (if given) its grants {(module, action): scope}."""
    creating = role.pk is None
    role.full_clean()
    role.save()
    changes = {}
    if grants is not None:
        valid = {(key, a) for key, _l, actions in registry.permission_modules() for a in actions}
        unknown = set(grants) - valid
        if unknown:
            raise ValidationError(_("Unknown permission: %(p)s") % {"p": ", ".join(f"{m}:{a}" for m, a in unknown)})
        before = {(m, a): s for m, a, s in role.permissions.values_list("module", "action", "scope")}
        if before != grants:
            role.permissions.all().delete()
            RolePermission.objects.bulk_create(
                [RolePermission(role=role, module=m, action=a, scope=s) for (m, a), s in grants.items()]
            )
            for key in sorted(set(before) | set(grants)):
                if before.get(key) != grants.get(key):
                    changes[f"{key[0]}:{key[1]}"] = [before.get(key), grants.get(key)]
    audit.record(
        AuditAction.PERMISSION_CHANGE, role, changes=changes, note="role created" if creating else "role changed"
    )
    permissions.invalidate()
    return role


@transaction.atomic
def role_delete(*, actor, role: Role) -> None:
    if role.is_builtin:
        raise ValidationError(_("Built-in roles cannot be deleted; change their permissions instead."))
    if role.members.exists():
        raise ValidationError(_("This role is still given to people; take it away from them first."))
    audit.record(AuditAction.PERMISSION_CHANGE, role, note="role deleted")
    role.delete()
    permissions.invalidate()


@transaction.atomic
def record_share_create(*, actor, obj, user=None, team=None, unit=None, access="read") -> RecordShare:
    """Share ``obj`` with a user, a team or a unit. The actor must be allowed to edit it."""
    permissions.require_can(actor, Action.EDIT, obj)
    share = RecordShare(
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        user=user,
        team=team,
        unit=unit,
        access=access,
        created_by=actor,
    )
    share.full_clean()
    share.save()
    audit.record(AuditAction.SHARE, obj, changes={"shared_with": [None, str(share.grantee)], "access": [None, access]})
    return share


@transaction.atomic
def record_share_delete(*, actor, share: RecordShare) -> None:
    model = share.content_type.model_class()
    obj = model.objects.filter(pk=share.object_id).first()
    if obj is not None:
        permissions.require_can(actor, Action.EDIT, obj)
        audit.record(AuditAction.SHARE, obj, changes={"shared_with": [str(share.grantee), None]})
    share.delete()


@transaction.atomic
def sharing_rule_save(*, actor, rule: SharingRule) -> SharingRule:
    creating = rule.pk is None
    before = {} if creating else audit.snapshot(SharingRule.objects.get(pk=rule.pk))
    rule.full_clean()
    rule.save()
    audit.record(
        AuditAction.PERMISSION_CHANGE, rule, changes=audit.diff(before, audit.snapshot(rule)), note="sharing rule saved"
    )
    permissions.invalidate()
    return rule


@transaction.atomic
def sharing_rule_delete(*, actor, rule: SharingRule) -> None:
    audit.record(AuditAction.PERMISSION_CHANGE, rule, note="sharing rule deleted")
    rule.delete()
    permissions.invalidate()


@transaction.atomic
def field_restriction_set(*, actor, module: str, field_name: str, grants: dict[int, bool] | None) -> None:
    """Restrict ``field_name`` of ``module`` to roles {role_id: can_edit}; ``None`` lifts the restriction."""
    restricted = RestrictedField.objects.filter(module=module, field_name=field_name).first()
    before = {} if restricted is None else dict(restricted.grants.values_list("role_id", "can_edit"))
    if grants is None:
        if restricted is not None:
            restricted.delete()
    else:
        if restricted is None:
            restricted = RestrictedField.objects.create(module=module, field_name=field_name)
        restricted.grants.all().delete()
        RestrictedFieldGrant.objects.bulk_create(
            [RestrictedFieldGrant(restricted_field=restricted, role_id=r, can_edit=e) for r, e in grants.items()]
        )
    audit.record(
        AuditAction.PERMISSION_CHANGE,
        model=RestrictedField,
        object_repr=f"{module}.{field_name}",
        changes={"grants": [before or None, grants]},
        note="field restriction",
    )


@transaction.atomic
def record_share_set(*, actor, obj, user=None, team=None, unit=None, access="read") -> RecordShare:
    """Share ``obj`` with a grantee, or change the access of the grantee's existing share."""
    permissions.require_can(actor, Action.EDIT, obj)
    existing = RecordShare.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk, user=user, team=team, unit=unit
    ).first()
    if existing is None:
        return record_share_create(actor=actor, obj=obj, user=user, team=team, unit=unit, access=access)
    if existing.access != access:
        before = existing.access
        existing.access = access
        existing.full_clean()
        existing.save(update_fields=["access"])
        audit.record(
            AuditAction.SHARE, obj, changes={"access": [before, access]}, note=f"share with {existing.grantee}"[:300]
        )
    return existing


# --- reads for the settings pages and the share panel --------------------------------------------


def roles_with_counts():
    """Roles with ``member_count`` and ``grant_count`` (one query)."""
    from django.db.models import Count

    return Role.objects.annotate(
        member_count=Count("members", distinct=True), grant_count=Count("permissions", distinct=True)
    ).order_by("-is_builtin", "name")


def role_grants(role: Role) -> dict[tuple[str, str], str]:
    """{(module, action): scope} of a role."""
    if role.pk is None:
        return {}
    return {(m, a): s for m, a, s in role.permissions.values_list("module", "action", "scope")}


def sharing_rules_list():
    return SharingRule.objects.select_related(
        "business_line", "region", "owner_unit", "grantee_unit", "grantee_team", "grantee_role"
    ).order_by("module", "name")


def record_shares(obj):
    """The explicit shares of one record, grantees loaded."""
    return (
        RecordShare.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk)
        .select_related("user", "team", "unit", "created_by")
        .order_by("created_at", "id")
    )


def restrictable_fields(entity_key: str) -> list[tuple[str, str]]:
    """(name, label) of the fields of an entity that can be restricted: its editable
    model fields, then ``custom.<key>`` for each of its custom field definitions."""
    from guanxi.customization.services import definitions_for

    entity = registry.entity(entity_key)
    fields = [
        (f.name, str(f.verbose_name))
        for f in entity.model._meta.concrete_fields
        if f.editable and not f.primary_key and f.name not in ("tenant", "custom")
    ]
    if entity.custom_fields:
        fields += [(f"custom.{d.key}", d.label) for d in definitions_for(entity_key, active_only=False)]
    return fields


def field_restrictions(entity_key: str) -> dict[str, dict[int, bool]]:
    """{field name: {role id: may edit}} of the restricted fields of an entity."""
    result: dict[str, dict[int, bool]] = {}
    for restricted in RestrictedField.objects.filter(module=entity_key).prefetch_related("grants"):
        result[restricted.field_name] = {g.role_id: g.can_edit for g in restricted.grants.all()}
    return result
