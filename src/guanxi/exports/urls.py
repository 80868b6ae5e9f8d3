"""My exports (background exports of the signed-in user). List exports themselves are ``<entity>_export``
URLs of every entity (see ``EntityViews.urls``)."""

from django.urls import path

from . import views

app_name = "exports"

urlpatterns = [
    path("", views.export_list, name="list"),
    path("<int:pk>/", views.export_detail, name="detail"),
    path("<int:pk>/download/", views.export_download, name="download"),
]
