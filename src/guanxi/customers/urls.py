from django.urls import path

from . import views

app_name = "customers"

urlpatterns = [
    *views.account_views.urls(),
    *views.contact_views.urls(),
    path("accounts/<int:pk>/stage/", views.account_stage, name="account_stage"),
    path("accounts/options/", views.account_options, name="account_options"),
    path("contacts/<int:pk>/link/", views.contact_link, name="contact_link"),
    path("contacts/<int:pk>/links/<int:link_pk>/unlink/", views.contact_unlink, name="contact_unlink"),
]
