from django.conf import settings
from django.http import JsonResponse
from django.urls import include, path

from guanxi.config.api import api


def health(request):
    """Liveness and database check for load balancers."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("", include("guanxi.identity.urls")),
    path("health/", health, name="health"),
    path("operator/", include("guanxi.tenancy.urls")),
    path("settings/", include("guanxi.org.urls")),
    path("settings/access/", include("guanxi.access.urls")),
    path("settings/customization/", include("guanxi.customization.urls")),
    path("audit/", include("guanxi.audit.urls")),
    path("customers/", include("guanxi.customers.urls")),
    path("activities/", include("guanxi.activities.urls")),
    path("search/", include("guanxi.search.urls")),
    path("sales/", include("guanxi.sales.urls")),
    path("commerce/", include("guanxi.commerce.urls")),
    path("finance/", include("guanxi.finance.urls")),
    path("attachments/", include("guanxi.attachments.urls")),
    path("imports/", include("guanxi.imports.urls")),
    path("exports/", include("guanxi.exports.urls")),
    path("duplicates/", include("guanxi.dedupe.urls")),
    path("api/v1/", api.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
