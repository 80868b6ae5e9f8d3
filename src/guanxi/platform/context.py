"""Request-independent execution context: which tenant, which actor, which request.

Every query of tenant data is scoped by the tenant held here (see ``TenantManager``).
The context is a set of ``contextvars`` so it follows threads, async tasks and
background jobs correctly; it is set by the tenant middleware for web requests, by
the API authentication for API calls and explicitly (``tenant_context``) by tasks
and commands.
"""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guanxi.identity.models import User
    from guanxi.tenancy.models import Tenant


class TenantNotSet(RuntimeError):
    """Tenant data was queried with no tenant in context: the scoping fails closed."""


class TenantMismatch(RuntimeError):
    """A row of one tenant was about to be written while another tenant is in context."""


@dataclass
class RequestMeta:
    ip: str | None = None
    user_agent: str = ""
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    via: str = "web"  # web | api | task | command


_tenant: contextvars.ContextVar[Tenant | None] = contextvars.ContextVar("guanxi_tenant", default=None)
_all_tenants: contextvars.ContextVar[bool] = contextvars.ContextVar("guanxi_all_tenants", default=False)
_actor: contextvars.ContextVar[User | None] = contextvars.ContextVar("guanxi_actor", default=None)
_meta: contextvars.ContextVar[RequestMeta | None] = contextvars.ContextVar("guanxi_meta", default=None)
_cache: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("guanxi_cache", default=None)


def current_tenant() -> Tenant | None:
    return _tenant.get()


def require_tenant() -> Tenant:
    tenant = _tenant.get()
    if tenant is None:
        raise TenantNotSet("No tenant is set for this operation.")
    return tenant


def current_tenant_id() -> int | None:
    tenant = _tenant.get()
    return tenant.pk if tenant is not None else None


def all_tenants_active() -> bool:
    return _all_tenants.get()


def current_actor() -> User | None:
    return _actor.get()


def current_meta() -> RequestMeta:
    meta = _meta.get()
    if meta is None:
        meta = RequestMeta(via="command")
        _meta.set(meta)
    return meta


def context_cache() -> dict[str, Any]:
    """A dict living as long as the current tenant context (per request / task)."""
    cache = _cache.get()
    if cache is None:
        cache = {}
        _cache.set(cache)
    return cache


@contextlib.contextmanager
def tenant_context(tenant: Tenant, *, actor: User | None = None, meta: RequestMeta | None = None) -> Iterator[Tenant]:
    """Run a block as ``tenant`` (and optionally ``actor``): all tenant data is scoped to it."""
    if tenant is None:
        raise TenantNotSet("tenant_context() needs a tenant.")
    tokens = [
        (_tenant, _tenant.set(tenant)),
        (_all_tenants, _all_tenants.set(False)),
        (_cache, _cache.set({})),
    ]
    if actor is not None:
        tokens.append((_actor, _actor.set(actor)))
    if meta is not None:
        tokens.append((_meta, _meta.set(meta)))
    try:
        yield tenant
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


@contextlib.contextmanager
def all_tenants_scope(*, actor: User | None = None) -> Iterator[None]:
    """Deliberately lift tenant scoping, for platform-operator code and migrations.

    Only code that is about the platform itself (tenant administration, login across
    memberships, usage statistics) may use this; searching the code for
    ``all_tenants_scope`` lists every place that crosses tenants.
    """
    tokens = [
        (_tenant, _tenant.set(None)),
        (_all_tenants, _all_tenants.set(True)),
        (_cache, _cache.set({})),
    ]
    if actor is not None:
        tokens.append((_actor, _actor.set(actor)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


@contextlib.contextmanager
def actor_context(actor: User | None, meta: RequestMeta | None = None) -> Iterator[None]:
    tokens = [(_actor, _actor.set(actor))]
    if meta is not None:
        tokens.append((_meta, _meta.set(meta)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def bind_request(*, tenant: Tenant | None, actor: User | None, meta: RequestMeta) -> list:
    """Set the context for a request; returns tokens for ``unbind_request``."""
    return [
        (_tenant, _tenant.set(tenant)),
        (_all_tenants, _all_tenants.set(False)),
        (_actor, _actor.set(actor)),
        (_meta, _meta.set(meta)),
        (_cache, _cache.set({})),
    ]


def unbind_request(tokens: list) -> None:
    for var, token in reversed(tokens):
        var.reset(token)
