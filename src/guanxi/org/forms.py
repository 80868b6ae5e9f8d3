"""Forms of the tenant settings pages (people, units, business lines, teams).

``TenantModelForm`` and ``add_service_errors`` are shared by the other settings apps
(access, customization).
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from guanxi.access.models import Role
from guanxi.platform import context

from .models import BusinessLine, Member, OrgUnit, Team

SELECT = {"data-gx-select": ""}
INDENT = "\u2003"  # an em space per tree level


def add_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show a service's ``ValidationError`` on ``form``: on the field it names, else on top."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            target = name if name in form.fields and name != NON_FIELD_ERRORS else None
            for error in errors:
                form.add_error(target, error.messages if hasattr(error, "messages") else error)
    else:
        form.add_error(None, exc.messages)


class TenantModelForm(forms.ModelForm):
    """A ModelForm of a tenant model: the instance belongs to the tenant in context.

    ``unique_fields`` names fields unique per tenant; a duplicate gets a clear error
    instead of a database error (the tenant is not a form field, so Django's own check
    of ``(tenant, name)`` constraints would be skipped).
    """

    unique_fields: tuple[str, ...] = ()
    unique_message = _("This name is already used.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.tenant_id is None:
            self.instance.tenant_id = context.current_tenant_id()

    def unique_scope(self) -> dict:
        """Extra lookups narrowing the uniqueness check (e.g. same parent unit)."""
        return {}

    def clean(self):
        data = super().clean()
        model = self._meta.model
        for name in self.unique_fields:
            value = data.get(name)
            if value in (None, ""):
                continue
            qs = model.objects.filter(**{name: value}, **self.unique_scope())
            if self.instance.pk:
                qs = qs.exclude(pk=self.instance.pk)
            if qs.exists():
                self.add_error(name, self.unique_message)
        return data


class UnitChoiceField(forms.ModelChoiceField):
    """Units in tree order, indented by depth."""

    def label_from_instance(self, obj):
        return INDENT * obj.depth + obj.name


class UnitMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return INDENT * obj.depth + obj.name


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.user.full_name or obj.user.email


class MemberMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.user.full_name or obj.user.email


def _units():
    return OrgUnit.objects.order_by("path")


def _members():
    return Member.objects.filter(is_active=True).select_related("user").order_by("user__full_name")


class _MemberOrgFields(forms.Form):
    """The organisation fields shared by the invite and edit forms."""

    title = forms.CharField(label=_("Job title"), max_length=120, required=False)
    unit = UnitChoiceField(
        label=_("Unit"), queryset=OrgUnit.objects.none(), required=False, widget=forms.Select(SELECT)
    )
    manager = MemberChoiceField(
        label=_("Manager"), queryset=Member.objects.none(), required=False, widget=forms.Select(SELECT)
    )
    roles = forms.ModelMultipleChoiceField(
        label=_("Roles"), queryset=Role.objects.none(), required=False, widget=forms.SelectMultiple(SELECT)
    )
    business_lines = forms.ModelMultipleChoiceField(
        label=_("Business lines"),
        queryset=BusinessLine.objects.none(),
        required=False,
        widget=forms.SelectMultiple(SELECT),
    )
    teams = forms.ModelMultipleChoiceField(
        label=_("Teams"), queryset=Team.objects.none(), required=False, widget=forms.SelectMultiple(SELECT)
    )
    is_admin = forms.BooleanField(
        label=_("Tenant administrator"),
        required=False,
        help_text=_("Administrators manage users, roles and settings and see all records."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = _units()
        self.fields["manager"].queryset = _members()
        self.fields["roles"].queryset = Role.objects.order_by("name")
        self.fields["business_lines"].queryset = BusinessLine.objects.filter(is_active=True).order_by("name")
        self.fields["teams"].queryset = Team.objects.order_by("name")


class MemberInviteForm(_MemberOrgFields):
    email = forms.EmailField(label=_("Email"))
    full_name = forms.CharField(label=_("Full name"), max_length=150)

    field_order = ["email", "full_name", "title", "unit", "manager", "roles", "business_lines", "teams", "is_admin"]

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class MemberForm(_MemberOrgFields):
    is_active = forms.BooleanField(
        label=_("Active"), required=False, help_text=_("Inactive people cannot sign in to this company.")
    )

    def __init__(self, *args, member: Member, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "title": member.title,
                "unit": member.unit_id,
                "manager": member.manager_id,
                "roles": [r.pk for r in member.roles.all()],
                "business_lines": [b.pk for b in member.business_lines.all()],
                "teams": [t.pk for t in member.teams.all()],
                "is_admin": member.is_admin,
                "is_active": member.is_active,
            },
        )
        super().__init__(*args, **kwargs)
        self.member = member
        self.fields["manager"].queryset = _members().exclude(pk=member.pk)
        # Keep lines a person already has selectable even if the line was made inactive.
        self.fields["business_lines"].queryset = BusinessLine.objects.order_by("name")


class MemberSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    unit = UnitChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none(), required=False, empty_label=_("All units"))
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("active", _("Active")), ("inactive", _("Inactive")), ("all", _("All"))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = _units()

    def filters(self) -> dict:
        if not self.is_valid():
            return {"active": True}
        data = self.cleaned_data
        status = data.get("status") or "active"
        return {
            "q": data.get("q") or "",
            "unit_id": data["unit"].pk if data.get("unit") else None,
            "active": None if status == "all" else status == "active",
        }


class UnitForm(TenantModelForm):
    unique_fields = ("name",)
    unique_message = _("Another unit under this parent has this name.")

    parent = UnitChoiceField(label=_("Parent unit"), queryset=OrgUnit.objects.none(), widget=forms.Select(SELECT))

    class Meta:
        model = OrgUnit
        fields = ["name", "code", "kind", "parent"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        parents = _units()
        if self.instance.pk:
            parents = parents.exclude(path__startswith=self.instance.path)
        self.fields["parent"].queryset = parents
        if self.instance.pk and self.instance.parent_id is None:
            # The company (root) unit stays the root.
            del self.fields["parent"]

    def unique_scope(self):
        parent = self.cleaned_data.get("parent") if "parent" in self.fields else self.instance.parent
        return {"parent": parent}


class BusinessLineForm(TenantModelForm):
    unique_fields = ("name",)

    class Meta:
        model = BusinessLine
        fields = ["name", "code", "description", "is_active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class TeamForm(TenantModelForm):
    unique_fields = ("name",)

    unit = UnitChoiceField(
        label=_("Unit"), queryset=OrgUnit.objects.none(), required=False, widget=forms.Select(SELECT)
    )
    lead = MemberChoiceField(
        label=_("Team lead"), queryset=Member.objects.none(), required=False, widget=forms.Select(SELECT)
    )
    members = MemberMultipleChoiceField(
        label=_("Members"), queryset=Member.objects.none(), required=False, widget=forms.SelectMultiple(SELECT)
    )

    class Meta:
        model = Team
        fields = ["name", "unit", "lead"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = _units()
        members = Member.objects.select_related("user").order_by("user__full_name")
        self.fields["lead"].queryset = members.filter(is_active=True)
        self.fields["members"].queryset = members
        if self.instance.pk and not self.is_bound:
            self.initial["members"] = list(self.instance.members.values_list("pk", flat=True))
