from django.urls import path

from . import views

app_name = "dedupe"

urlpatterns = [
    path("", views.duplicate_list, name="list"),
    path("dismiss/", views.duplicate_dismiss, name="dismiss"),
    path("scan/", views.duplicate_scan, name="scan"),
    path("merge/", views.merge, name="merge"),
]
