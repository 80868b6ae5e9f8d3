"""Binds each request to its tenant, actor and request metadata (the execution context)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse

from guanxi.platform.context import RequestMeta, bind_request, unbind_request

from . import selectors

SESSION_KEY = "guanxi_tenant_id"
TENANTLESS_PATHS = (
    "/static/",
    "/media/",
    "/login",
    "/logout",
    "/password-reset",
    "/operator/",
    "/tenants/",
    "/api/",
    "/calendar/feed/",
    "/i18n/",
    "/health",
    "/sales/w2l/",  # public web-to-lead forms bind their own tenant (guanxi.sales.views_public)
)


def client_ip(request) -> str | None:
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0))
    if proxies:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def request_meta(request, via: str = "web") -> RequestMeta:
    return RequestMeta(
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        request_id=request.META.get("HTTP_X_REQUEST_ID", "")[:32] or uuid.uuid4().hex,
        via=via,
    )


class TenantMiddleware:
    """Choose the signed-in user's current tenant and bind the context for the request.

    The tenant comes from the session (switchable among the user's memberships). A user
    without an active membership reaches only tenant-less pages; a suspended tenant's
    users see a notice instead of its data. API requests with a token get their tenant
    from the token (``guanxi.api.auth``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tenant = None
        request.member = None
        user = request.user
        via = "api" if request.path.startswith("/api/") else "web"
        if user.is_authenticated:
            member = None
            tenant_id = request.session.get(SESSION_KEY)
            if tenant_id:
                member = selectors.membership(user, tenant_id)
            if member is None:
                memberships = selectors.memberships_for_user(user)
                member = next((m for m in memberships if m.tenant.is_active), memberships[0] if memberships else None)
                if member is not None:
                    request.session[SESSION_KEY] = member.tenant_id
                else:
                    request.session.pop(SESSION_KEY, None)
            if member is not None:
                request.member = member
                request.tenant = member.tenant

        tenant = request.tenant if request.tenant is not None and request.tenant.is_active else None
        tokens = bind_request(
            tenant=tenant, actor=user if user.is_authenticated else None, meta=request_meta(request, via)
        )
        try:
            if user.is_authenticated and tenant is None and not request.path.startswith(TENANTLESS_PATHS):
                return self.no_tenant_response(request)
            return self.get_response(request)
        finally:
            unbind_request(tokens)

    def no_tenant_response(self, request):
        if request.user.is_operator and request.tenant is None:
            from django.shortcuts import redirect

            return redirect(reverse("tenancy:operator_tenants"))
        return render(request, "tenancy/no_tenant.html", {"suspended": request.tenant}, status=403)
