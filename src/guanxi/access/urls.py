from django.urls import path

from . import views

app_name = "access"

urlpatterns = [
    path("roles/", views.roles, name="roles"),
    path("roles/new/", views.role_create, name="role_create"),
    path("roles/<int:pk>/", views.role_edit, name="role_edit"),
    path("roles/<int:pk>/delete/", views.role_delete, name="role_delete"),
    path("sharing-rules/", views.sharing_rules, name="sharing_rules"),
    path("sharing-rules/new/", views.sharing_rule_create, name="sharing_rule_create"),
    path("sharing-rules/<int:pk>/", views.sharing_rule_edit, name="sharing_rule_edit"),
    path("sharing-rules/<int:pk>/delete/", views.sharing_rule_delete, name="sharing_rule_delete"),
    path("fields/", views.restricted_fields, name="restricted_fields"),
    path("fields/<str:module>/<str:field_name>/", views.restricted_field_edit, name="restricted_field_edit"),
    path("shares/<int:content_type_id>/<int:object_id>/", views.record_shares, name="record_shares"),
    path(
        "shares/<int:content_type_id>/<int:object_id>/<int:share_id>/delete/",
        views.record_share_delete,
        name="record_share_delete",
    ),
]
