from django.urls import include, path

urlpatterns = [
    path("", include("guanxi.identity.urls")),
]
