from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "identity"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("password-reset/done/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("me/", views.profile, name="profile"),
    path("me/password/", views.password_change, name="password_change"),
    path("me/tokens/", views.api_tokens, name="api_tokens"),
    path("me/tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("tenants/<int:tenant_id>/switch/", views.switch_tenant, name="switch_tenant"),
    path("i18n/language/", views.set_language, name="set_language"),
]
