from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.customization.models import Tag
from guanxi.org.models import BusinessLine, OrgUnit
from guanxi.platform.views import EntityForm

from .models import Account, Contact, ContactPoint


class TagsField(forms.ModelMultipleChoiceField):
    def __init__(self, **kwargs):
        super().__init__(
            queryset=Tag.objects.order_by("name"),
            required=False,
            label=_("Tags"),
            widget=forms.SelectMultiple(attrs={"data-gx-select": ""}),
            **kwargs,
        )


class AccountForm(EntityForm):
    entity_key = "customers.account"
    tags = TagsField()

    class Meta:
        model = Account
        fields = [
            "name",
            "kind",
            "lifecycle_stage",
            "rating",
            "owner",
            "industry",
            "size",
            "annual_revenue",
            "currency",
            "region",
            "business_line",
            "parent",
            "source",
            "website",
            "phone",
            "email",
            "country",
            "province",
            "city",
            "district",
            "street",
            "postal_code",
            "description",
            "tags",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "website": forms.URLInput(attrs={"placeholder": "https://"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "region" in self.fields:
            self.fields["region"].queryset = OrgUnit.objects.order_by("path")
            self.fields["region"].label_from_instance = lambda u: "— " * u.depth + u.name
        if "business_line" in self.fields:
            self.fields["business_line"].queryset = BusinessLine.objects.filter(is_active=True)
        if "parent" in self.fields and self.instance.pk:
            self.fields["parent"].queryset = self.fields["parent"].queryset.exclude(pk=self.instance.pk)


class ContactForm(EntityForm):
    entity_key = "customers.contact"
    tags = TagsField()
    extra_emails = forms.CharField(
        label=_("More email addresses"),
        required=False,
        help_text=_("One per line."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    extra_phones = forms.CharField(
        label=_("More phone numbers"),
        required=False,
        help_text=_("One per line."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    class Meta:
        model = Contact
        fields = [
            "family_name",
            "given_name",
            "salutation",
            "title",
            "department",
            "account",
            "owner",
            "email",
            "phone",
            "birthday",
            "preferred_channel",
            "consent_email",
            "consent_sms",
            "consent_phone",
            "consent_mail",
            "country",
            "province",
            "city",
            "district",
            "street",
            "postal_code",
            "description",
            "tags",
        ]
        widgets = {
            "birthday": forms.DateInput(attrs={"type": "date"}),
            "description": forms.Textarea(attrs={"rows": 4}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            points = list(self.instance.points.order_by("-is_primary", "id"))
            self.fields["extra_emails"].initial = "\n".join(
                p.value for p in points if p.kind == ContactPoint.Kind.EMAIL and p.value != self.instance.email
            )
            self.fields["extra_phones"].initial = "\n".join(
                p.value for p in points if p.kind == ContactPoint.Kind.PHONE and p.value != self.instance.phone
            )
        for name in ("extra_emails", "extra_phones"):
            base = "email" if name == "extra_emails" else "phone"
            if base not in self.fields or self.fields[base].disabled:
                self.fields.pop(name, None)

    def service_data(self):
        data = super().service_data()
        if "extra_emails" in data or "extra_phones" in data:
            extra_emails = [line for line in (data.pop("extra_emails", "") or "").splitlines() if line.strip()]
            extra_phones = [line for line in (data.pop("extra_phones", "") or "").splitlines() if line.strip()]
            data["emails"] = [(e, ContactPoint.Label.WORK) for e in [data.pop("email", ""), *extra_emails] if e]
            data["phones"] = [(p, ContactPoint.Label.MOBILE) for p in [data.pop("phone", ""), *extra_phones] if p]
        return data

    def add_service_errors(self, exc):
        if hasattr(exc, "error_dict"):
            from django.core.exceptions import ValidationError

            renamed = {{"emails": "email", "phones": "phone"}.get(k, k): v for k, v in exc.message_dict.items()}
            exc = ValidationError(renamed)
        super().add_service_errors(exc)
