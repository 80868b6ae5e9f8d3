from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.tenancy import selectors as tenancy_selectors
from guanxi.tenancy.middleware import SESSION_KEY

from . import services
from .forms import ApiTokenForm, EmailAuthenticationForm, ProfileForm
from .models import ApiToken


class LoginView(auth_views.LoginView):
    template_name = "identity/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


def lockout_response(request, credentials, *args, **kwargs):
    return render(request, "identity/locked_out.html", status=429)


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "identity/password_reset.html"
    email_template_name = "identity/email/password_reset.txt"
    html_email_template_name = "identity/email/password_reset.html"
    subject_template_name = "identity/email/password_reset_subject.txt"
    success_url = reverse_lazy("identity:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "identity/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "identity/password_reset_confirm.html"
    success_url = reverse_lazy("identity:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "identity/password_reset_complete.html"


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user, prefix="profile")
    password_form = PasswordChangeForm(request.user, prefix="password")
    if request.method == "POST" and form.is_valid():
        services.user_profile_update(user=request.user, data=form.cleaned_data)
        messages.success(request, _("Your profile was saved."))
        response = redirect("identity:profile")
        if request.user.language:
            from django.conf import settings

            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, request.user.language, samesite="Lax")
        return response
    return render(request, "identity/profile.html", {"form": form, "password_form": password_form})


@login_required
@require_POST
def password_change(request):
    form = PasswordChangeForm(request.user, request.POST, prefix="password")
    if form.is_valid():
        user = form.save()
        update_session_auth_hash(request, user)
        audit.record(AuditAction.PASSWORD_CHANGE, user)
        messages.success(request, _("Your password was changed."))
        return redirect("identity:profile")
    return render(
        request,
        "identity/profile.html",
        {"form": ProfileForm(instance=request.user, prefix="profile"), "password_form": form},
    )


@login_required
def api_tokens(request):
    if request.tenant is None:
        raise Http404
    form = ApiTokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        _token, secret = services.api_token_create(user=request.user, **form.cleaned_data)
        form = ApiTokenForm()
    tokens = ApiToken.objects.filter(user=request.user, tenant=request.tenant).order_by("-created_at")
    return render(request, "identity/api_tokens.html", {"form": form, "tokens": tokens, "secret": secret})


@login_required
@require_POST
def api_token_revoke(request, pk):
    token = ApiToken.objects.filter(user=request.user, tenant=request.tenant, pk=pk).first()
    if token is None:
        raise Http404
    services.api_token_revoke(user=request.user, token=token)
    messages.success(request, _("The token was revoked."))
    return redirect("identity:api_tokens")


@login_required
def switch_tenant(request, tenant_id):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    member = tenancy_selectors.membership(request.user, tenant_id)
    if member is None:
        raise Http404
    request.session[SESSION_KEY] = member.tenant_id
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    return redirect(next_url)


@require_POST
def set_language(request):
    """Switch the interface language; remembered on the user and in a cookie."""
    from django.conf import settings

    language = request.POST.get("language")
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    if request.user.is_authenticated and request.user.language != language:
        request.user.language = language
        request.user.save(update_fields=["language"])
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    response = redirect(next_url)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax", max_age=365 * 24 * 3600)
    return response


def home(request):
    if not request.user.is_authenticated:
        return redirect(reverse("identity:login"))
    return redirect(reverse("activities:my_day"))
