"""Forms of the customisation settings: custom field definitions and tags."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from guanxi.org.forms import TenantModelForm

from .models import CustomFieldDefinition, FieldType, Tag
from .services import custom_field_choices_clean

CHOICE_TYPES = (FieldType.CHOICE, FieldType.MULTI_CHOICE)
NUMBER_TYPES = (FieldType.INTEGER, FieldType.DECIMAL)
TEXT_TYPES = (FieldType.TEXT, FieldType.LONG_TEXT)


class CustomFieldForm(TenantModelForm):
    """A custom field definition. The key (and the type, which decides how values are
    stored) cannot change after creation. Choices come as parallel lists
    ``choice_value`` / ``choice_label_en`` / ``choice_label_zh`` (the Alpine.js row editor)."""

    unique_fields = ("key",)
    unique_message = _("This record type already has a field with this key.")

    class Meta:
        model = CustomFieldDefinition
        fields = [
            "key",
            "label_en",
            "label_zh",
            "field_type",
            "required",
            "help_text",
            "max_length",
            "min_value",
            "max_value",
            "position",
            "show_in_list",
            "filterable",
            "is_active",
        ]

    def __init__(self, *args, entity_key: str, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.instance.entity = entity_key
            self.fields["is_active"].widget = forms.HiddenInput()
        else:
            self.fields["key"].disabled = True
            self.fields["field_type"].disabled = True
            self.fields["field_type"].help_text = _("The type cannot change once values may have been stored.")
        self.fields["field_type"].widget.attrs["x-model"] = "type"
        self.choice_errors: list[str] = []
        if self.is_bound:
            self.choice_rows = self._posted_rows()
        else:
            self.choice_rows = [
                {"value": c.get("value", ""), "label_en": c.get("label_en", ""), "label_zh": c.get("label_zh", "")}
                for c in self.instance.choices or []
            ]

    def unique_scope(self):
        return {"entity": self.instance.entity}

    def _posted_rows(self) -> list[dict]:
        values = self.data.getlist("choice_value") if hasattr(self.data, "getlist") else []
        en = self.data.getlist("choice_label_en") if hasattr(self.data, "getlist") else []
        zh = self.data.getlist("choice_label_zh") if hasattr(self.data, "getlist") else []
        rows = []
        for i, value in enumerate(values):
            row = {
                "value": value.strip(),
                "label_en": (en[i] if i < len(en) else "").strip(),
                "label_zh": (zh[i] if i < len(zh) else "").strip(),
            }
            if any(row.values()):
                rows.append(row)
        return rows

    def clean(self):
        data = super().clean()
        if not (data.get("label_en") or data.get("label_zh")):
            self.add_error("label_en", _("Give a label in English or Chinese."))
        field_type = data.get("field_type") or self.instance.field_type
        if field_type in CHOICE_TYPES:
            try:
                custom_field_choices_clean(self.choice_rows)
            except ValidationError as exc:
                self.choice_errors += exc.message_dict["choices"]
            if not self.choice_rows:
                self.choice_errors.append(_("Give at least one choice."))
            if self.choice_errors:
                self.add_error(None, _("Check the choices."))
            self.instance.choices = self.choice_rows
        else:
            self.instance.choices = []
        min_value, max_value = data.get("min_value"), data.get("max_value")
        if min_value is not None and max_value is not None and min_value > max_value:
            self.add_error("max_value", _("The maximum is below the minimum."))
        return data


class TagForm(TenantModelForm):
    unique_fields = ("name",)
    unique_message = _("A tag with this name exists already.")

    class Meta:
        model = Tag
        fields = ["name", "color"]
        widgets = {"color": forms.TextInput(attrs={"type": "color", "class": "form-control form-control-color"})}
