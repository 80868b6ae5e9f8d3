"""Platform-operator pages: the tenants of this installation, their usage, creating,
suspending and reactivating them. Operators see usage figures, people and administrative
audit entries of a tenant, never its customer records."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.org.forms import add_service_errors
from guanxi.platform.context import all_tenants_scope

from . import selectors, services
from .forms import SuspendForm, TenantCreateForm
from .models import Tenant


def operator_required(view):
    """Only platform operators (403 for everyone else, tenant administrators included)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_operator:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapper)


@operator_required
def operator_tenants(request):
    rows = sorted(selectors.tenant_usage(), key=lambda r: r["tenant"].name.lower())
    return render(request, "tenancy/operator_tenants.html", {"rows": rows})


@operator_required
def tenant_create(request):
    form = TenantCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with all_tenants_scope(actor=request.user):
                tenant, email = services.tenant_create_with_invite(
                    actor=request.user,
                    domain=request.get_host(),
                    use_https=request.is_secure(),
                    **form.service_fields(),
                )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if email == "sent":
                messages.success(
                    request,
                    _("%(name)s was created; the administrator got an email to choose a password.") % {"name": tenant},
                )
            elif email == "failed":
                messages.warning(
                    request,
                    _(
                        "%(name)s was created, but the email to its administrator could not be sent; they can use “Forgot password”."
                    )
                    % {"name": tenant},
                )
            else:
                messages.success(
                    request,
                    _("%(name)s was created; its administrator signs in with their existing password.")
                    % {"name": tenant},
                )
            return redirect("tenancy:tenant_detail", pk=tenant.pk)
    return render(request, "tenancy/tenant_create.html", {"form": form})


@operator_required
def tenant_detail(request, pk):
    tenant = get_object_or_404(Tenant, pk=pk)
    overview = selectors.tenant_overview(tenant)
    return render(request, "tenancy/tenant_detail.html", {"tenant": tenant, "suspend_form": SuspendForm(), **overview})


@operator_required
@require_POST
def tenant_suspend(request, pk):
    tenant = get_object_or_404(Tenant, pk=pk)
    form = SuspendForm(request.POST)
    if not form.is_valid():
        overview = selectors.tenant_overview(tenant)
        return render(
            request, "tenancy/tenant_detail.html", {"tenant": tenant, "suspend_form": form, **overview}, status=422
        )
    services.tenant_suspend(actor=request.user, tenant=tenant, reason=form.cleaned_data["reason"])
    messages.success(request, _("%(name)s is suspended.") % {"name": tenant})
    return redirect("tenancy:tenant_detail", pk=tenant.pk)


@operator_required
@require_POST
def tenant_reactivate(request, pk):
    tenant = get_object_or_404(Tenant, pk=pk)
    services.tenant_reactivate(actor=request.user, tenant=tenant)
    messages.success(request, _("%(name)s is active again.") % {"name": tenant})
    return redirect("tenancy:tenant_detail", pk=tenant.pk)
