import zoneinfo

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .models import ApiToken, User


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        "invalid_login": _("The email address or password is not correct."),
        "inactive": _("This account is disabled."),
    }


def time_zone_choices():
    common = [
        "Asia/Shanghai",
        "Asia/Hong_Kong",
        "Asia/Taipei",
        "Asia/Singapore",
        "Asia/Tokyo",
        "Europe/London",
        "Europe/Berlin",
        "America/New_York",
        "America/Los_Angeles",
        "UTC",
    ]
    rest = sorted(zoneinfo.available_timezones() - set(common))
    return [("", _("Company default")), *[(z, z) for z in common], *[(z, z) for z in rest]]


class ProfileForm(forms.ModelForm):
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False, choices=time_zone_choices)

    class Meta:
        model = User
        fields = ["full_name", "language", "time_zone"]


class ApiTokenForm(forms.ModelForm):
    expires_at = forms.DateTimeField(
        label=_("Expires"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    class Meta:
        model = ApiToken
        fields = ["name", "scope", "expires_at"]
