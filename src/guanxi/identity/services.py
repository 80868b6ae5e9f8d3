"""Writes about people: profile, API tokens."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.platform import context
from guanxi.platform.prepared import PreparedQuery

from .models import ApiToken, User, hash_token


@transaction.atomic
def user_profile_update(*, user: User, data: dict) -> User:
    # Work on the stored row: a bound ModelForm has already copied the new values onto ``user``
    # (so its own snapshot would show no change), and request.user is a lazy proxy.
    stored = User.objects.get(pk=user.pk)
    before = audit.snapshot(stored)
    for name, value in data.items():
        setattr(stored, name, value)
        setattr(user, name, value)
    stored.full_clean(exclude=["password"])
    stored.save()
    changes = audit.diff(before, audit.snapshot(stored))
    if changes and context.current_tenant_id():
        audit.record_change(AuditAction.UPDATE, stored, changes)
    return stored


@transaction.atomic
def api_token_create(*, user: User, name: str, scope: str, expires_at=None) -> tuple[ApiToken, str]:
    """Create a token for ``user`` in the current tenant; returns it and its secret (shown once)."""
    tenant = context.require_tenant()
    prefix, secret = ApiToken.generate()
    token = ApiToken.objects.create(
        tenant=tenant,
        user=user,
        name=name,
        scope=scope,
        expires_at=expires_at,
        prefix=prefix,
        key_hash=hash_token(secret),
    )
    audit.record(AuditAction.TOKEN, token, note="created", object_repr=str(token))
    return token, secret


@transaction.atomic
def api_token_revoke(*, user: User, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(AuditAction.TOKEN, token, note="revoked", object_repr=str(token))
    return token


def _token_by_hash(key_hash):
    from guanxi.org.models import Member

    member = Member.objects.filter(user=OuterRef("user_id"), tenant=OuterRef("tenant_id"), is_active=True)
    return (
        ApiToken.objects.select_related("user", "tenant")
        .annotate(_member=Exists(member))
        .filter(key_hash=key_hash)
        .order_by()[:1]
    )


# Compiled once: the look-up runs on every API request, and building it cost more than running it.
_TOKEN_LOOKUP = PreparedQuery(_token_by_hash)


def api_token_authenticate(secret: str, *, ip: str | None = None) -> ApiToken | None:
    """The usable token matching ``secret`` (with its user and tenant), else None.

    A token acts only while its user is an active member of its tenant (checked in the same query).
    """
    from guanxi.platform.context import all_tenants_scope

    if not secret or not secret.startswith("gx_"):
        return None
    with all_tenants_scope():  # membership is a tenant table; the token tells the tenant
        found = _TOKEN_LOOKUP.all(hash_token(secret))
    token = found[0] if found else None
    if token is None or not token._member:
        return None
    if not token.is_usable or not token.user.is_active or not token.tenant.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip)
    return token
