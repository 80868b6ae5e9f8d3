"""Per-user language and time zone."""

import zoneinfo

from django.conf import settings
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers


class UserLocaleMiddleware:
    """Activate the user's language (else the cookie / browser, else the tenant's) and time zone."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = None
        if user is not None and user.is_authenticated and user.language in self.supported:
            language = user.language
        if language is None:
            cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
            if cookie in self.supported:
                language = cookie
        if language is None and request.META.get("HTTP_ACCEPT_LANGUAGE"):
            language = translation.get_language_from_request(request)
        tenant = getattr(request, "tenant", None)
        if language is None and tenant is not None:
            language = tenant.default_language
        language = language or settings.LANGUAGE_CODE
        previous_language = translation.get_language()
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()

        tz_name = (user.time_zone if user is not None and user.is_authenticated else "") or (
            tenant.time_zone if tenant is not None else ""
        )
        try:
            timezone.activate(zoneinfo.ZoneInfo(tz_name)) if tz_name else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()

        try:
            response = self.get_response(request)
        finally:
            # The thread serves other requests (and tasks, in tests) next: leave it as it was.
            if previous_language:
                translation.activate(previous_language)
            else:
                translation.deactivate()
            timezone.deactivate()
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response
