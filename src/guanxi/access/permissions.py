"""The one permission service.

It answers the two questions every part of Guanxi asks — "may user U do A on record R"
(:func:`can`, :func:`get_for`) and "which records of model M may U see or change"
(:func:`visible`, :func:`scope_q`) — plus "which fields may U see and change"
(:func:`field_access`). Views, API endpoints, search, exports, imports and background
tasks all call these functions; nothing else decides access.

What a user may reach on a module for an action is the union of
  * the data scopes their roles grant (own / team / unit and below / business line / tenant),
  * their reports' records, through the manager hierarchy (view and edit),
  * records explicitly shared with them, their teams or their units (read or edit),
  * records matched by the tenant's sharing rules whose grantee includes them,
  * for timeline-like entities, records attached to a parent they can see,
provided a role grants the action on the module at all. Tenant administrators reach
everything. Records out of reach answer 404, never 403, so their existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from guanxi.platform import context, registry
from guanxi.platform.registry import Action, Scope

NOTHING = Q(pk__in=[])
HIERARCHY_ACTIONS = (Action.VIEW, Action.EDIT, Action.EXPORT)
SHARE_ACTIONS = {Action.VIEW: ("read", "edit"), Action.EXPORT: ("read", "edit"), Action.EDIT: ("edit",)}


@dataclass(frozen=True)
class SharingRuleCriteria:
    module: str
    access: str
    business_line_id: int | None
    region_path: str | None
    owner_unit_path: str | None


@dataclass(frozen=True)
class Principal:
    """Everything the permission service needs to know about a user in a tenant."""

    user_id: int
    tenant_id: int
    member_id: int | None
    is_admin: bool = False
    unit_path: str | None = None
    unit_ancestor_ids: frozenset[int] = frozenset()
    business_line_ids: frozenset[int] = frozenset()
    team_ids: frozenset[int] = frozenset()
    team_user_ids: frozenset[int] = frozenset()
    subordinate_user_ids: frozenset[int] = frozenset()
    role_ids: frozenset[int] = frozenset()
    grants: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    rules: tuple[SharingRuleCriteria, ...] = ()

    @property
    def is_member(self) -> bool:
        return self.member_id is not None


# --- building the principal -------------------------------------------------------------


def _version_key(tenant_id: int) -> str:
    return f"guanxi:perm-version:{tenant_id}"


def invalidate(tenant_id: int | None = None) -> None:
    """Call after any change to members, units, teams, roles or sharing rules."""
    tenant_id = tenant_id or context.current_tenant_id()
    if tenant_id is None:
        return
    try:
        cache.incr(_version_key(tenant_id))
    except ValueError:
        cache.set(_version_key(tenant_id), 2, None)
    context.context_cache().pop("principals", None)


def principal_for(user) -> Principal:
    """The principal of ``user`` in the current tenant (cached per request and across requests)."""
    tenant_id = context.current_tenant_id()
    if tenant_id is None:
        raise context.TenantNotSet("Permissions are always evaluated inside a tenant.")
    local = context.context_cache().setdefault("principals", {})
    if user.pk in local:
        return local[user.pk]
    # The tenant's version and the stored principal in one read (one statement with the
    # database cache); a principal stored under an older version is built again.
    version_key, key = _version_key(tenant_id), f"guanxi:principal:{tenant_id}:{user.pk}"
    found = cache.get_many([version_key, key])
    version = found.get(version_key) or 1
    stored = found.get(key)
    principal = stored[1] if isinstance(stored, tuple) and stored[0] == version else None
    if principal is None:
        principal = _build_principal(user.pk, tenant_id)
        cache.set(key, (version, principal), 600)
    local[user.pk] = principal
    return principal


def _build_principal(user_id: int, tenant_id: int) -> Principal:
    from guanxi.access.models import RolePermission, SharingRule
    from guanxi.org.models import Member, OrgUnit, TeamMembership

    member = (
        Member.objects.filter(user_id=user_id, is_active=True)
        .select_related("unit")
        .only("id", "is_admin", "unit__path", "unit__id", "manager_id")
        .first()
    )
    if member is None:
        return Principal(user_id=user_id, tenant_id=tenant_id, member_id=None)

    unit_path = member.unit.path if member.unit else None
    ancestors = frozenset(member.unit.ancestor_ids) if member.unit else frozenset()
    line_ids = frozenset(member.business_lines.values_list("id", flat=True))
    team_ids = frozenset(TeamMembership.objects.filter(member=member).values_list("team_id", flat=True))
    team_user_ids = frozenset(
        TeamMembership.objects.filter(team_id__in=team_ids).values_list("member__user_id", flat=True)
    ) | {user_id}

    # Manager hierarchy: walk the reports tree in memory from one query.
    reports: dict[int, list[tuple[int, int]]] = {}
    for mid, manager_id, uid in Member.objects.filter(is_active=True).values_list("id", "manager_id", "user_id"):
        if manager_id:
            reports.setdefault(manager_id, []).append((mid, uid))
    subordinates: set[int] = set()
    stack, seen = [member.pk], {member.pk}
    while stack:
        for mid, uid in reports.get(stack.pop(), ()):
            if mid not in seen:
                seen.add(mid)
                subordinates.add(uid)
                stack.append(mid)

    role_ids = frozenset(member.roles.values_list("id", flat=True))
    grants: dict[tuple[str, str], set[str]] = {}
    for module, action, scope in RolePermission.objects.filter(role_id__in=role_ids).values_list(
        "module", "action", "scope"
    ):
        grants.setdefault((module, action), set()).add(scope)

    rules = []
    rule_q = Q(grantee_role_id__in=role_ids) | Q(grantee_team_id__in=team_ids) | Q(grantee_unit_id__in=ancestors)
    rule_rows = SharingRule.objects.filter(rule_q, is_active=True).values_list(
        "module", "access", "business_line_id", "region_id", "owner_unit_id"
    )
    rule_rows = list(rule_rows)
    unit_ids = {r[3] for r in rule_rows if r[3]} | {r[4] for r in rule_rows if r[4]}
    paths = dict(OrgUnit.objects.filter(pk__in=unit_ids).values_list("id", "path")) if unit_ids else {}
    for module, access, line_id, region_id, owner_unit_id in rule_rows:
        rules.append(
            SharingRuleCriteria(
                module=module,
                access=access,
                business_line_id=line_id,
                region_path=paths.get(region_id),
                owner_unit_path=paths.get(owner_unit_id),
            )
        )

    return Principal(
        user_id=user_id,
        tenant_id=tenant_id,
        member_id=member.pk,
        is_admin=member.is_admin,
        unit_path=unit_path,
        unit_ancestor_ids=ancestors,
        business_line_ids=line_ids,
        team_ids=team_ids,
        team_user_ids=frozenset(team_user_ids),
        subordinate_user_ids=frozenset(subordinates),
        role_ids=role_ids,
        grants={k: frozenset(v) for k, v in grants.items()},
        rules=tuple(rules),
    )


def _principal(user_or_principal) -> Principal:
    if isinstance(user_or_principal, Principal):
        return user_or_principal
    if user_or_principal is None or not getattr(user_or_principal, "is_authenticated", False):
        raise PermissionDenied
    return principal_for(user_or_principal)


# --- module-level questions --------------------------------------------------------------


def has_action(user, module: str, action: str) -> bool:
    """May the user do ``action`` on ``module`` at all (on some records)?"""
    p = _principal(user)
    if not p.is_member:
        return False
    return p.is_admin or bool(p.grants.get((module, action)))


def require(user, module: str, action: str) -> None:
    if not has_action(user, module, action):
        raise PermissionDenied


def is_tenant_admin(user) -> bool:
    p = _principal(user)
    return p.is_member and p.is_admin


# --- record-level questions --------------------------------------------------------------


def _owner_users_in_unit(path: str):
    from guanxi.org.models import Member

    return Member.objects.filter(unit__path__startswith=path).values("user_id")


def _owner_users_in_lines(line_ids):
    from guanxi.org.models import MemberBusinessLine

    return MemberBusinessLine.objects.filter(business_line_id__in=line_ids).values("member__user_id")


def _scope_part(p: Principal, entity: registry.Entity, scope: str) -> Q | None:
    owner = entity.owner_field
    if scope == Scope.TENANT:
        return None
    if owner is None:
        return NOTHING
    if scope == Scope.OWN:
        return Q(**{f"{owner}_id": p.user_id})
    if scope == Scope.TEAM:
        return Q(**{f"{owner}_id__in": p.team_user_ids})
    if scope == Scope.UNIT:
        if not p.unit_path:
            return Q(**{f"{owner}_id": p.user_id})
        return Q(**{f"{owner}_id__in": _owner_users_in_unit(p.unit_path)})
    if scope == Scope.BUSINESS_LINE:
        if entity.business_line_field:
            return Q(**{f"{entity.business_line_field}_id__in": p.business_line_ids})
        return Q(**{f"{owner}_id__in": _owner_users_in_lines(p.business_line_ids)})
    raise ValueError(f"Unknown scope {scope!r}")


def _rule_part(rule: SharingRuleCriteria, entity: registry.Entity) -> Q:
    q = Q()
    if rule.business_line_id:
        if not entity.business_line_field:
            return NOTHING
        q &= Q(**{f"{entity.business_line_field}_id": rule.business_line_id})
    if rule.region_path:
        if not entity.region_field:
            return NOTHING
        q &= Q(**{f"{entity.region_field}__path__startswith": rule.region_path})
    if rule.owner_unit_path and entity.owner_field:
        q &= Q(**{f"{entity.owner_field}_id__in": _owner_users_in_unit(rule.owner_unit_path)})
    return q


def _share_part(p: Principal, entity: registry.Entity, action: str) -> Q | None:
    from guanxi.access.models import RecordShare

    levels = SHARE_ACTIONS.get(action)
    if not levels:
        return None
    ct = ContentType.objects.get_for_model(entity.model)
    grantee = Q(user_id=p.user_id)
    if p.team_ids:
        grantee |= Q(team_id__in=p.team_ids)
    if p.unit_ancestor_ids:
        grantee |= Q(unit_id__in=p.unit_ancestor_ids)
    shares = RecordShare.objects.filter(grantee, content_type=ct, access__in=levels).values("object_id")
    return Q(pk__in=shares)


def scope_q(user, model, action: str = Action.VIEW) -> Q | None:
    """The filter selecting the records of ``model`` the user may ``action``; ``None`` means all.

    Kept for the principal it was built from (per request): a search asks for it several
    times, and building the shares subquery is most of the cost. Shares are read when the
    query runs, so they are never stale; the principal's own lists are as fresh as the principal.
    """
    p = _principal(user)
    memo = context.context_cache().setdefault("scope_q", {})
    key = (p.user_id, p.tenant_id, model._meta.label, action)
    found = memo.get(key)
    if found is not None and found[0] is p:
        return found[1]
    q = _scope_q(p, model, action)
    memo[key] = (p, q)
    return q


def _scope_q(p: Principal, model, action: str) -> Q | None:
    entity = registry.entity_for_model(model)
    if entity is None:
        raise LookupError(f"{model} is not a registered entity.")
    if not p.is_member:
        return NOTHING
    if p.is_admin:
        return None
    scopes = p.grants.get((entity.key, action), frozenset())
    if not scopes:
        return NOTHING
    parts: list[Q] = []
    for scope in scopes:
        part = _scope_part(p, entity, scope)
        if part is None:
            return None
        parts.append(part)
    if entity.owner_field and action in HIERARCHY_ACTIONS and p.subordinate_user_ids:
        parts.append(Q(**{f"{entity.owner_field}_id__in": p.subordinate_user_ids}))
    share = _share_part(p, entity, action)
    if share is not None:
        parts.append(share)
    levels = SHARE_ACTIONS.get(action, ())
    for rule in p.rules:
        if rule.module == entity.key and rule.access in levels:
            parts.append(_rule_part(rule, entity))
    # Seeing a parent lets you see its timeline items; changing them needs your own rights.
    for fk in entity.inherit_visibility if action in (Action.VIEW, Action.EXPORT) else ():
        parent_model = entity.model._meta.get_field(fk).related_model
        parent_q = scope_q(p, parent_model, Action.VIEW)
        if parent_q is None:
            parts.append(Q(**{f"{fk}__isnull": False}))
        else:
            parts.append(Q(**{f"{fk}__in": parent_model.objects.filter(parent_q).values("pk")}))
    q = NOTHING
    for part in parts:
        q |= part
    return q


def page_partitions(
    user, model, sort: str, action: str = Action.VIEW, *, max_parts: int = 16, owners_together: bool = False
) -> list[Q] | None:
    """The user's visible records of ``model`` as a few parts, each an index can list in ``sort`` order.

    For the keyset paginator: a representative's view is "owned by one of these people, or
    shared with me". Asked for the first page by name, PostgreSQL walks the name index and
    tests each row, which reads far when those people's records sort late (a team owning
    the Chinese names, after every Latin one). Listing each owner's records through the
    ``(tenant, owner, sort)`` index and merging stays proportional to the page. ``None`` when
    there is nothing to gain: every record visible, no such index, or too many parts.
    ``owners_together``: the owners as one part (``owner IN (…)``), for a search whose own
    index narrows the rows and needs the owners only as a filter the planner can apply early.
    """
    entity = registry.entity_for_model(model)
    owner = entity.owner_field if entity is not None else None
    if owner is None or not _has_owner_sort_index(model, owner, sort.lstrip("-")):
        return None
    q = scope_q(user, model, action)
    if q is None:
        return None
    owners: set[int] = set()
    others: list[Q] = []
    for part in q.children if q.connector == Q.OR and not q.negated else [q]:
        lookup, value = part if isinstance(part, tuple) else (None, None)
        if lookup == "pk__in" and value == []:
            continue  # NOTHING, the start of every union
        if lookup == f"{owner}_id":
            owners.add(value)
        elif lookup == f"{owner}_id__in":
            ids = list(value[: max_parts + 1]) if hasattr(value, "query") else list(value)
            owners.update(next(iter(i.values())) if isinstance(i, dict) else i for i in ids)
        else:
            others.append(part if isinstance(part, Q) else Q(part))
        if len(owners) + len(others) > max_parts:
            return None
    if not owners:
        return None
    if owners_together:
        return [Q(**{f"{owner}_id__in": sorted(owners)}), *others]
    return [Q(**{f"{owner}_id": pk}) for pk in sorted(owners)] + others


def _has_owner_sort_index(model, owner: str, sort: str) -> bool:
    for index in model._meta.indexes:
        fields = [f.lstrip("-") for f in index.fields]
        if fields[:3] == ["tenant", owner, sort]:
            return True
    return False


def visible(user, queryset, action: str = Action.VIEW):
    """Narrow ``queryset`` (or a model's default manager) to the records the user may ``action``."""
    if not hasattr(queryset, "query"):
        queryset = queryset._default_manager.all()
    q = scope_q(user, queryset.model, action)
    return queryset if q is None else queryset.filter(q)


def can(user, action: str, obj) -> bool:
    """May ``user`` do ``action`` on the record ``obj``?"""
    model = type(obj)
    entity = registry.entity_for_model(model)
    if entity is None:
        raise LookupError(f"{model} is not a registered entity.")
    if action not in Action.RECORD:
        return has_action(user, entity.key, action)
    q = scope_q(user, model, action)
    if q is None:
        return True
    return model._default_manager.filter(pk=obj.pk).filter(q).exists()


def get_for(user, queryset, pk, action: str = Action.VIEW):
    """The record ``pk`` if the user may ``action`` it, else 404 (never 403: no existence leak)."""
    qs = visible(user, queryset, action)
    try:
        return qs.get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, TypeError):
        raise Http404


def require_can(user, action: str, obj) -> None:
    if not can(user, action, obj):
        raise Http404


# --- fields -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldAccess:
    hidden: frozenset[str] = frozenset()
    readonly: frozenset[str] = frozenset()

    def can_see(self, name: str) -> bool:
        return name not in self.hidden

    def can_write(self, name: str) -> bool:
        return name not in self.hidden and name not in self.readonly


def field_access(user, module: str) -> FieldAccess:
    """Which fields of ``module`` the user may not see (hidden) or not change (readonly)."""
    from guanxi.access.models import RestrictedFieldGrant

    p = _principal(user)
    cache_ = context.context_cache().setdefault("field_access", {})
    key = (p.user_id, module)
    if key in cache_:
        return cache_[key]
    restricted = _restricted_fields(module)
    hidden, readonly = set(), set()
    if restricted and not p.is_admin:
        grants: dict[str, bool] = {}
        for name, can_edit in RestrictedFieldGrant.objects.filter(
            restricted_field__module=module, role_id__in=p.role_ids
        ).values_list("restricted_field__field_name", "can_edit"):
            grants[name] = grants.get(name, False) or can_edit
        for name in restricted:
            if name not in grants:
                hidden.add(name)
            elif not grants[name]:
                readonly.add(name)
    result = FieldAccess(frozenset(hidden), frozenset(readonly))
    cache_[key] = result
    return result


def _restricted_fields(module: str) -> frozenset[str]:
    from guanxi.access.models import RestrictedField

    all_ = context.context_cache().setdefault("restricted_fields", None)
    if all_ is None:
        all_ = {}
        for mod, name in RestrictedField.objects.values_list("module", "field_name"):
            all_.setdefault(mod, set()).add(name)
        context.context_cache()["restricted_fields"] = all_
    return frozenset(all_.get(module, ()))
