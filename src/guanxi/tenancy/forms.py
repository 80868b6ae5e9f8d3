"""Forms of the platform-operator pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.identity.forms import time_zone_choices

from .models import Tenant


def _tenant_time_zones():
    return [(value, label) for value, label in time_zone_choices() if value]


class TenantCreateForm(forms.ModelForm):
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=_tenant_time_zones, initial="Asia/Shanghai")
    admin_email = forms.EmailField(
        label=_("First administrator's email"),
        help_text=_("A person new to Guanxi gets an email with a link to choose a password."),
    )
    admin_name = forms.CharField(label=_("First administrator's name"), max_length=150)

    class Meta:
        model = Tenant
        fields = ["name", "slug", "default_language", "time_zone", "currency", "max_users"]
        help_texts = {
            "slug": _("Lower-case letters, digits and hyphens; unique on this platform."),
            "max_users": _("Leave empty for no limit."),
        }

    def clean_slug(self):
        return self.cleaned_data["slug"].lower()

    def clean_currency(self):
        value = (self.cleaned_data.get("currency") or "").strip().upper()
        if len(value) != 3 or not value.isalpha():
            raise forms.ValidationError(_("Use a three-letter currency code such as CNY."))
        return value

    def clean_admin_email(self):
        return self.cleaned_data["admin_email"].strip().lower()

    def service_fields(self) -> dict:
        """Keyword arguments for ``tenancy.services.tenant_create``."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "slug": data["slug"],
            "default_language": data["default_language"],
            "time_zone": data["time_zone"],
            "currency": data["currency"],
            "max_users": data.get("max_users"),
            "admin_email": data["admin_email"],
            "admin_name": data["admin_name"],
        }


class SuspendForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        help_text=_("Recorded in the tenant's audit log. Its people see a notice instead of its data."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
