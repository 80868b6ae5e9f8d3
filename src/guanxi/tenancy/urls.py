from django.urls import path

from . import views

app_name = "tenancy"

urlpatterns = [
    path("", views.operator_tenants, name="operator_tenants"),
    path("tenants/new/", views.tenant_create, name="tenant_create"),
    path("tenants/<int:pk>/", views.tenant_detail, name="tenant_detail"),
    path("tenants/<int:pk>/suspend/", views.tenant_suspend, name="tenant_suspend"),
    path("tenants/<int:pk>/reactivate/", views.tenant_reactivate, name="tenant_reactivate"),
]
