"""The public web-to-lead page: ``/sales/w2l/<key>/``, open to anyone, embeddable in an iframe.

The request has no tenant of its own (visitors are anonymous): the form is found by its
unguessable key across tenants, then everything runs in the form's tenant context. Posts are
CSRF-exempt (they come from other sites) but carry a signed time token; a honeypot field and a
per-IP rate limit keep robots out.
"""

from __future__ import annotations

import logging

from django import forms
from django.core.exceptions import ValidationError
from django.forms import modelform_factory
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt

from guanxi.platform.context import all_tenants_scope, tenant_context

from . import lead_services, webforms
from .models import Lead, WebToLeadForm

logger = logging.getLogger(__name__)


def _form_for_key(key: str) -> WebToLeadForm:
    # Platform lookup: the key identifies the tenant, so it is searched across tenants.
    with all_tenants_scope():
        config = WebToLeadForm.objects.select_related("tenant").filter(key=key).first()
    if config is None or not config.is_active or not config.tenant.is_active:
        raise Http404
    return config


def public_form_class(config: WebToLeadForm) -> type[forms.ModelForm]:
    widgets = {
        "description": forms.Textarea(attrs={"rows": 4}),
        "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        "email": forms.EmailInput(attrs={"autocomplete": "email"}),
        "family_name": forms.TextInput(attrs={"autocomplete": "family-name"}),
        "given_name": forms.TextInput(attrs={"autocomplete": "given-name"}),
        "company": forms.TextInput(attrs={"autocomplete": "organization"}),
        "website": forms.URLInput(attrs={"placeholder": "https://"}),
    }
    fields = [name for name in lead_services.WEB_FIELDS if name in config.fields]
    form_class = modelform_factory(Lead, fields=fields, widgets=widgets)
    required = set(config.required_fields)

    class PublicLeadForm(form_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            for name, field in self.fields.items():
                field.required = name in required
                if name == "description":
                    field.label = _("Your message")

    return PublicLeadForm


def _render(request, config, form, *, status=200, message=None):
    return render(
        request,
        "sales/w2l_public.html",
        {
            "config": config,
            "form": form,
            "token": webforms.make_token(config.pk),
            "honeypot": webforms.HONEYPOT,
            "message": message,
        },
        status=status,
    )


def _thanks(request, config):
    if config.thank_you_url:
        return HttpResponseRedirect(config.thank_you_url)
    return render(request, "sales/w2l_thanks.html", {"config": config})


@csrf_exempt
@xframe_options_exempt
def web_to_lead(request, key):
    from guanxi.tenancy.middleware import client_ip, request_meta

    config = _form_for_key(key)
    with tenant_context(config.tenant, meta=request_meta(request, "web")):
        form_class = public_form_class(config)
        if request.method != "POST":
            return _render(request, config, form_class())
        ip = client_ip(request)
        if webforms.rate_limited(config.pk, ip):
            return _render(
                request, config, form_class(request.POST), status=429, message=_("Too many messages; try again later.")
            )
        if request.POST.get(webforms.HONEYPOT):
            logger.info("web-to-lead %s: honeypot filled from %s", config.pk, ip)
            return _thanks(request, config)  # say thanks, keep nothing
        try:
            webforms.check_token(request.POST.get("token", ""), config.pk)
        except webforms.TokenError as exc:
            message = (
                _("That was quick! Please check your details and send the form again.")
                if exc.reason == "too_fast"
                else _("The form expired; please send it again.")
            )
            return _render(request, config, form_class(request.POST), status=400, message=message)
        form = form_class(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                lead_services.webform_submit(form=config, data=data)
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for name, errors in exc.message_dict.items():
                        for error in errors:
                            form.add_error(name if name in form.fields else None, error)
                else:
                    form.add_error(None, exc)
            else:
                return _thanks(request, config)
        return _render(request, config, form, status=400)
