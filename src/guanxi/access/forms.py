"""Forms of the access settings: roles (permission matrix), sharing rules, restricted fields, shares."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.org.forms import SELECT, TenantModelForm, UnitChoiceField
from guanxi.org.models import BusinessLine, OrgUnit, Team
from guanxi.platform import registry
from guanxi.platform.registry import Action, Scope

from .models import ACTION_CHOICES, AccessLevel, Role, SharingRule

ACTION_LABELS = dict(ACTION_CHOICES)
# Short labels for the cells of the permission matrix (explained by SCOPE_CHOICES in a legend).
MATRIX_SCOPE_CHOICES = [
    (Scope.OWN, _("Own")),
    (Scope.TEAM, _("Team")),
    (Scope.UNIT, _("Unit")),
    (Scope.BUSINESS_LINE, _("Business line")),
    (Scope.TENANT, _("All")),
]


def _perm_field_name(module: str, action: str) -> str:
    return f"perm:{module}:{action}"


class RoleForm(TenantModelForm):
    """A role's name and description plus its permission matrix.

    One cell per (module, action) the module offers: a data-scope select for record
    actions (view, edit, delete, export, assign), a yes/no checkbox for the others
    (create, import, administer), stored with the scope "tenant".
    """

    unique_fields = ("name",)
    unique_message = _("A role with this name exists already.")

    class Meta:
        model = Role
        fields = ["name", "description"]

    def __init__(self, *args, grants: dict[tuple[str, str], str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.is_builtin:
            # Built-in names are translated when shown and used to find the role: keep them.
            self.fields["name"].disabled = True
        self.existing = dict(grants or {})
        self.columns = [(action, ACTION_LABELS[action], action in Action.RECORD) for action in Action.ALL]
        scope_choices = [("", _("None")), *MATRIX_SCOPE_CHOICES]
        self.matrix = []
        for key, label, actions in registry.permission_modules():
            cells = []
            for action in Action.ALL:
                if action not in actions:
                    cells.append(None)
                    continue
                name = _perm_field_name(key, action)
                current = self.existing.get((key, action))
                if action in Action.RECORD:
                    self.fields[name] = forms.ChoiceField(
                        label=f"{label} · {ACTION_LABELS[action]}",
                        choices=scope_choices,
                        required=False,
                        initial=current or "",
                        widget=forms.Select(
                            attrs={
                                "class": "form-select form-select-sm",
                                "aria-label": f"{label} · {ACTION_LABELS[action]}",
                            }
                        ),
                    )
                else:
                    self.fields[name] = forms.BooleanField(
                        label=f"{label} · {ACTION_LABELS[action]}",
                        required=False,
                        initial=current is not None,
                        widget=forms.CheckboxInput(
                            attrs={"class": "form-check-input", "aria-label": f"{label} · {ACTION_LABELS[action]}"}
                        ),
                    )
                cells.append(name)
            self.matrix.append({"key": key, "label": label, "cells": cells})
        for row in self.matrix:
            row["cells"] = [self[name] if name else None for name in row["cells"]]

    def grants(self) -> dict[tuple[str, str], str]:
        """The matrix as {(module, action): scope} for ``access.services.role_save``."""
        result = {}
        for key, _label, actions in registry.permission_modules():
            for action in actions:
                value = self.cleaned_data.get(_perm_field_name(key, action))
                if not value:
                    continue
                if action in Action.RECORD:
                    result[(key, action)] = value
                else:
                    # Yes/no actions keep a scope they already had (built-in roles), else "tenant".
                    result[(key, action)] = self.existing.get((key, action)) or Scope.TENANT
        return result


def entity_choices(*, custom_fields_only: bool = False) -> list[tuple[str, str]]:
    return [
        (e.key, str(e.label_plural).capitalize())
        for e in registry.entities()
        if not custom_fields_only or e.custom_fields
    ]


class SharingRuleForm(TenantModelForm):
    unique_fields = ()

    module = forms.ChoiceField(label=_("Record type"), choices=entity_choices)
    business_line = forms.ModelChoiceField(
        label=_("Records of business line"),
        queryset=BusinessLine.objects.none(),
        required=False,
        widget=forms.Select(SELECT),
    )
    region = UnitChoiceField(
        label=_("Records in region"),
        queryset=OrgUnit.objects.none(),
        required=False,
        widget=forms.Select(SELECT),
        help_text=_("Records whose region is this unit or one of its sub-units."),
    )
    owner_unit = UnitChoiceField(
        label=_("Records owned in unit"),
        queryset=OrgUnit.objects.none(),
        required=False,
        widget=forms.Select(SELECT),
        help_text=_("Records whose owner works in this unit or one of its sub-units."),
    )
    grantee_unit = UnitChoiceField(
        label=_("Shared with unit"),
        queryset=OrgUnit.objects.none(),
        required=False,
        widget=forms.Select(SELECT),
        help_text=_("Everyone in this unit and its sub-units."),
    )
    grantee_team = forms.ModelChoiceField(
        label=_("Shared with team"), queryset=Team.objects.none(), required=False, widget=forms.Select(SELECT)
    )
    grantee_role = forms.ModelChoiceField(
        label=_("Shared with role"), queryset=Role.objects.none(), required=False, widget=forms.Select(SELECT)
    )

    class Meta:
        model = SharingRule
        fields = [
            "name",
            "module",
            "business_line",
            "region",
            "owner_unit",
            "grantee_unit",
            "grantee_team",
            "grantee_role",
            "access",
            "is_active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        units = OrgUnit.objects.order_by("path")
        for name in ("region", "owner_unit", "grantee_unit"):
            self.fields[name].queryset = units
        self.fields["business_line"].queryset = BusinessLine.objects.order_by("name")
        self.fields["grantee_team"].queryset = Team.objects.order_by("name")
        self.fields["grantee_role"].queryset = Role.objects.order_by("name")

    def clean(self):
        data = super().clean()
        if not (data.get("grantee_unit") or data.get("grantee_team") or data.get("grantee_role")):
            self.add_error(None, _("Choose who gets access: a unit, a team or a role."))
        return data


class FieldRestrictionForm(forms.Form):
    """Who may see and change one field: "restricted" plus one choice per role."""

    NONE, SEE, EDIT = "", "see", "edit"

    restricted = forms.BooleanField(
        label=_("Restrict this field"),
        required=False,
        help_text=_("When restricted, only the roles chosen below see the field; administrators always do."),
    )

    def __init__(self, *args, roles, grants: dict[int, bool] | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["restricted"].initial = grants is not None
        grants = grants or {}
        self.role_fields = []
        for role in roles:
            name = f"role_{role.pk}"
            initial = self.NONE if role.pk not in grants else (self.EDIT if grants[role.pk] else self.SEE)
            self.fields[name] = forms.ChoiceField(
                label=str(role),
                required=False,
                initial=initial,
                choices=[(self.NONE, _("Hidden")), (self.SEE, _("May see")), (self.EDIT, _("May see and change"))],
            )
            self.role_fields.append((role, name))

    def grants(self) -> dict[int, bool] | None:
        """{role id: may edit} for ``field_restriction_set``, or None to lift the restriction."""
        if not self.cleaned_data.get("restricted"):
            return None
        result = {}
        for role, name in self.role_fields:
            value = self.cleaned_data.get(name)
            if value in (self.SEE, self.EDIT):
                result[role.pk] = value == self.EDIT
        return result

    @property
    def role_bound_fields(self):
        return [(role, self[name]) for role, name in self.role_fields]


class ShareForm(forms.Form):
    """Share a record with a person, a team or a unit (one grouped picker)."""

    grantee = forms.ChoiceField(label=_("Share with"), widget=forms.Select(SELECT))
    access = forms.ChoiceField(label=_("Access"), choices=AccessLevel.choices, initial=AccessLevel.READ)

    def __init__(self, *args, exclude_user_ids=(), **kwargs):
        from guanxi.org.selectors import member_user_choices

        super().__init__(*args, **kwargs)
        people = [(f"user:{pk}", name) for pk, name in member_user_choices() if pk not in exclude_user_ids]
        teams = [(f"team:{t.pk}", t.name) for t in Team.objects.order_by("name")]
        units = [(f"unit:{u.pk}", "\u2003" * u.depth + u.name) for u in OrgUnit.objects.order_by("path")]
        self.fields["grantee"].choices = [
            ("", ""),
            (_("People"), people),
            (_("Teams"), teams),
            (_("Units (with their sub-units)"), units),
        ]

    @property
    def grantee_groups(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The picker's non-empty option groups (label, [(value, label)])."""
        return [(group, options) for group, options in self.fields["grantee"].choices if group and options]

    def grantee_kwargs(self) -> dict:
        """{"user"|"team"|"unit": instance} of the chosen grantee."""
        from guanxi.identity.models import User

        kind, _sep, pk = self.cleaned_data["grantee"].partition(":")
        model = {"user": User, "team": Team, "unit": OrgUnit}[kind]
        return {kind: model._default_manager.get(pk=int(pk))}
