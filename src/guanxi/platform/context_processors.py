from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from guanxi.platform.navigation import navigation_for


def guanxi(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"LANGUAGES": settings.LANGUAGES}
    from guanxi.tenancy.selectors import memberships_for_user

    return {
        "LANGUAGES": settings.LANGUAGES,
        "nav_sections": navigation_for(request),
        "current_tenant": getattr(request, "tenant", None),
        "current_member": getattr(request, "member", None),
        "memberships": memberships_for_user(user) if getattr(request, "tenant", None) is not None else [],
        "search_url": reverse("search:global") if getattr(request, "tenant", None) else "",
        "app_name": _("Guanxi CRM"),
    }
