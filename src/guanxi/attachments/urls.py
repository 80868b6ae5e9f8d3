from django.urls import path

from . import services, views

app_name = "attachments"

urlpatterns = [
    path("<int:pk>/download/", views.download, name="download"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    # One panel URL per entity that takes files (registered in the apps' ready()): a related panel's
    # URL is reversed without arguments and receives ?object_id=<id>.
    *[
        path(f"{item.entity_key}/", views.panel, {"entity_key": item.entity_key}, name=f"panel_{item.slug}")
        for item in services.attachables()
    ],
]
