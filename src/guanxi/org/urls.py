from django.urls import path

from . import views

app_name = "org"

urlpatterns = [
    path("", views.settings_home, name="settings_home"),
    path("people/", views.members, name="members"),
    path("people/new/", views.member_add, name="member_add"),
    path("people/<int:pk>/", views.member_edit, name="member_edit"),
    path("people/<int:pk>/deactivate/", views.member_deactivate, name="member_deactivate"),
    path("units/", views.units, name="units"),
    path("units/new/", views.unit_create, name="unit_create"),
    path("units/<int:pk>/", views.unit_edit, name="unit_edit"),
    path("units/<int:pk>/delete/", views.unit_delete, name="unit_delete"),
    path("business-lines/", views.business_lines, name="business_lines"),
    path("business-lines/new/", views.business_line_create, name="business_line_create"),
    path("business-lines/<int:pk>/", views.business_line_edit, name="business_line_edit"),
    path("business-lines/<int:pk>/delete/", views.business_line_delete, name="business_line_delete"),
    path("teams/", views.teams, name="teams"),
    path("teams/new/", views.team_create, name="team_create"),
    path("teams/<int:pk>/", views.team_edit, name="team_edit"),
    path("teams/<int:pk>/delete/", views.team_delete, name="team_delete"),
]
