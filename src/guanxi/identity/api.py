"""The signed-in person: ``GET /api/v1/me`` (who the token or session acts as) and ``PATCH /api/v1/me``."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Router, Schema

from . import services

router = Router(tags=["me"])

LANGUAGES = {code for code, _name in settings.LANGUAGES}


class TenantOut(Schema):
    id: int
    name: str
    slug: str


class MeOut(Schema):
    id: int
    email: str
    full_name: str
    language: str
    time_zone: str
    tenant: TenantOut
    is_tenant_admin: bool
    token_scope: str | None = None


class MeIn(Schema):
    full_name: str | None = None
    language: str | None = None
    time_zone: str | None = None


def _me(request) -> dict:
    from guanxi.access import permissions

    user, tenant = request.user, request.tenant
    token = getattr(request, "api_token", None)
    return {
        "id": user.pk,
        "email": user.email,
        "full_name": user.full_name,
        "language": user.language,
        "time_zone": user.time_zone,
        "tenant": {"id": tenant.pk, "name": tenant.name, "slug": tenant.slug},
        "is_tenant_admin": permissions.is_tenant_admin(user),
        "token_scope": token.scope if token is not None else None,
    }


@router.get("/me", response=MeOut, summary="The signed-in user and the company the call acts in")
def me(request):
    return _me(request)


@router.patch("/me", response=MeOut, summary="Change your name, language or time zone")
def me_update(request, payload: MeIn):
    data = {k: (v or "").strip() for k, v in payload.dict(exclude_unset=True).items()}
    errors = {}
    if data.get("language") and data["language"] not in LANGUAGES:
        errors["language"] = [_("Use one of: %(codes)s.") % {"codes": ", ".join(sorted(LANGUAGES))}]
    if data.get("time_zone") and data["time_zone"] not in zoneinfo.available_timezones():
        errors["time_zone"] = [_("Unknown time zone.")]
    if "full_name" in data and not data["full_name"]:
        errors["full_name"] = [_("Enter your name.")]
    if errors:
        raise ValidationError(errors)
    services.user_profile_update(user=request.user, data=data)
    return _me(request)
