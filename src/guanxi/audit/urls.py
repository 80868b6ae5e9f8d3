from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("", views.audit_log, name="log"),
    path("history/<int:content_type_id>/<int:object_id>/", views.history, name="history"),
]
