from django.urls import path

from . import views

app_name = "customization"

urlpatterns = [
    path("fields/", views.custom_fields, name="custom_fields"),
    path("fields/new/<str:entity>/", views.custom_field_create, name="custom_field_create"),
    path("fields/<int:pk>/", views.custom_field_edit, name="custom_field_edit"),
    path("fields/<int:pk>/active/", views.custom_field_toggle, name="custom_field_toggle"),
    path("fields/<int:pk>/move/", views.custom_field_move, name="custom_field_move"),
    path("tags/", views.tags, name="tags"),
    path("tags/new/", views.tag_create, name="tag_create"),
    path("tags/<int:pk>/", views.tag_edit, name="tag_edit"),
    path("tags/<int:pk>/delete/", views.tag_delete, name="tag_delete"),
]
