"""REST API foundations: authentication, tenant binding, rate limits, errors, list responses.

Every app adds a django-ninja ``Router`` (its ``api.py``); ``guanxi.config.api`` mounts them
under ``/api/v1/``. Endpoints stay thin: parse input, call a service or selector, return
data. Errors come out as RFC 9457 ``application/problem+json``.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from ninja.throttling import SimpleRateThrottle

from . import context
from .pagination import InvalidCursor, paginate

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
PROBLEM = "application/problem+json"


class ApiError(Exception):
    """A domain error with a stable code, shown to API clients as a problem document."""

    def __init__(self, status: int, title: str, detail: str = "", code: str = "error", **extra):
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.code, self.extra = status, title, detail, code, extra


# --- authentication ---------------------------------------------------------------------------


class TokenAuth(HttpBearer):
    """``Authorization: Bearer gx_…``: a personal token acting as its user in its tenant."""

    def authenticate(self, request: HttpRequest, token: str):
        from guanxi.identity.services import api_token_authenticate
        from guanxi.tenancy.middleware import client_ip, request_meta

        api_token = api_token_authenticate(token, ip=client_ip(request))
        if api_token is None:
            return None
        if not api_token.allows(write=request.method in WRITE_METHODS):
            raise ApiError(403, "Token scope does not allow this", "This token is read-only.", code="token_scope")
        request.user = api_token.user
        request.tenant = api_token.tenant
        request.api_token = api_token
        context.bind_request(tenant=api_token.tenant, actor=api_token.user, meta=request_meta(request, "api"))
        return api_token.user


class SessionAuth:
    """The browser session (for the UI's own calls and the interactive docs); CSRF-checked writes."""

    openapi_type = "apiKey"
    openapi_in = "cookie"
    openapi_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or getattr(request, "tenant", None) is None:
            return None
        if not request.tenant.is_active:
            return None
        if request.method in WRITE_METHODS:
            check = CsrfViewMiddleware(lambda r: None)
            check.process_request(request)
            if check.process_view(request, None, (), {}) is not None:
                raise ApiError(
                    403, "CSRF check failed", "Send the X-CSRFToken header with session requests.", code="csrf"
                )
        return user


class PerTokenThrottle(SimpleRateThrottle):
    """API rate limit per token (or per user for session calls): settings.API_RATE_LIMIT.

    A sliding-window counter: this window's count and the previous window's, the latter
    weighted by how much of it still overlaps the last ``duration`` seconds. django-ninja's
    own throttle keeps the time of every request of the window (600 floats at "600/m"),
    unpickled and written back to the cache on every request: about 7 kB per API call into
    the database cache. This stores three numbers. Like ninja's, one instance serves a worker
    process's requests one at a time (gunicorn's sync workers).
    """

    scope = "api"

    def __init__(self):
        self.rate = settings.API_RATE_LIMIT
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self._wait: float | None = None

    def allow_request(self, request) -> bool:
        if self.rate != settings.API_RATE_LIMIT:  # follow a changed setting (tests override it)
            self.rate = settings.API_RATE_LIMIT
            self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.rate is None or self.num_requests is None or self.duration is None:
            return True
        key = self.get_cache_key(request)
        if key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        stored = self.cache.get(key)
        counted, count, previous = stored if isinstance(stored, tuple) and len(stored) == 3 else (window, 0, 0)
        if counted != window:
            previous, count = (count if counted == window - 1 else 0), 0
        elapsed = (now - window * self.duration) / self.duration  # share of this window gone
        limit = self.num_requests
        if previous * (1 - elapsed) + count >= limit:
            self._wait = self._seconds_until_allowed(elapsed, count, previous)
            return False
        self.cache.set(key, (window, count + 1, previous), self.duration * 2)
        return True

    def _seconds_until_allowed(self, elapsed: float, count: int, previous: int) -> float:
        limit, duration = self.num_requests, self.duration
        if count < limit and previous:
            # Within this window, once the previous window's weight has decayed enough.
            return max(1.0, ((1 - (limit - count) / previous) - elapsed) * duration)
        # In the next window, once this window's count (then the previous) has decayed enough.
        return max(1.0, (1 - elapsed) * duration + (1 - limit / max(count, 1)) * duration)

    def wait(self) -> float | None:
        return self._wait

    def get_cache_key(self, request):
        token = getattr(request, "api_token", None)
        if token is not None:
            ident = f"t{token.pk}"
        elif getattr(request, "user", None) is not None and request.user.is_authenticated:
            ident = f"u{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


# --- errors ---------------------------------------------------------------------------------


def problem(status: int, title: str, detail: str = "", *, code: str = "error", request=None, **extra) -> HttpResponse:
    body = {"type": f"https://guanxi.invalid/problems/{code}", "title": title, "status": status, "code": code}
    if detail:
        body["detail"] = detail
    if request is not None:
        body["instance"] = request.path
    body.update(extra)
    return HttpResponse(json.dumps(body, ensure_ascii=False, default=str), status=status, content_type=PROBLEM)


def _field_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {("_" if k == "__all__" else k): [str(m) for m in v] for k, v in exc.message_dict.items()}
    return {"_": [str(m) for m in exc.messages]}


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(DjangoValidationError)
    def _validation(request, exc):
        return problem(
            422,
            "Invalid data",
            "Some values are not valid.",
            code="validation",
            request=request,
            errors=_field_errors(exc),
        )

    @api.exception_handler(NinjaValidationError)
    def _ninja_validation(request, exc):
        errors: dict[str, list[str]] = {}
        for err in exc.errors:
            loc = [str(p) for p in err.get("loc", []) if p not in ("body", "query", "path", "payload")]
            errors.setdefault(".".join(loc) or "_", []).append(err.get("msg", "invalid"))
        return problem(
            422, "Invalid data", "Some values are not valid.", code="validation", request=request, errors=errors
        )

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        return problem(404, "Not found", "No such record, or you may not see it.", code="not_found", request=request)

    @api.exception_handler(PermissionDenied)
    def _forbidden(request, exc):
        return problem(403, "Forbidden", "Your role does not allow this.", code="forbidden", request=request)

    @api.exception_handler(AuthenticationError)
    def _unauthorized(request, exc):
        response = problem(
            401,
            "Unauthorized",
            "Send a valid token: Authorization: Bearer <token>.",
            code="unauthorized",
            request=request,
        )
        response["WWW-Authenticate"] = 'Bearer realm="guanxi"'
        return response

    @api.exception_handler(Throttled)
    def _throttled(request, exc):
        response = problem(
            429,
            "Too many requests",
            "Slow down: the rate limit of this token is reached.",
            code="rate_limited",
            request=request,
        )
        if exc.wait:
            response["Retry-After"] = str(int(exc.wait))
        return response

    @api.exception_handler(InvalidCursor)
    def _cursor(request, exc):
        return problem(400, "Invalid cursor", str(exc), code="invalid_cursor", request=request)

    @api.exception_handler(ApiError)
    def _api_error(request, exc):
        return problem(exc.status, exc.title, exc.detail, code=exc.code, request=request, **exc.extra)

    @api.exception_handler(HttpError)
    def _http_error(request, exc):
        return problem(exc.status_code, str(exc.message), code="http_error", request=request)

    @api.exception_handler(context.TenantNotSet)
    def _no_tenant(request, exc):
        return problem(
            403, "No company selected", "This call needs a company context.", code="no_tenant", request=request
        )


# --- lists -----------------------------------------------------------------------------------


class PageOut(Schema):
    next_cursor: str | None = None
    prev_cursor: str | None = None
    total: int | None = None
    total_is_exact: bool = True


def list_page(
    queryset, *, sort: str, allowed_sorts: set[str], cursor: str | None, limit: int, serialize, partitions=None
) -> dict[str, Any]:
    """A cursor-paginated list response: {items, next_cursor, prev_cursor, total, total_is_exact}."""
    if sort.lstrip("-") not in allowed_sorts:
        raise ApiError(400, "Invalid sort", f"Sort by one of: {', '.join(sorted(allowed_sorts))}.", code="invalid_sort")
    limit = max(1, min(limit, 200))
    page = paginate(queryset, sort=sort, cursor=cursor, limit=limit, partitions=partitions)
    return {
        "items": [serialize(obj) for obj in page.items],
        "next_cursor": page.next_cursor,
        "prev_cursor": page.prev_cursor,
        "total": page.total,
        "total_is_exact": page.total_is_exact,
    }


def build_api() -> NinjaAPI:
    api = NinjaAPI(
        title="Guanxi CRM API",
        version="1",
        description=(
            "REST API of Guanxi CRM. Authenticate with a personal API token "
            "(`Authorization: Bearer gx_…`, created under Profile → API tokens) or the browser session. "
            "Lists use cursor pagination (`cursor`, `limit`); errors are `application/problem+json`."
        ),
        auth=[TokenAuth(), SessionAuth()],
        throttle=[PerTokenThrottle()],
        urls_namespace="api",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    install_error_handlers(api)
    return api
