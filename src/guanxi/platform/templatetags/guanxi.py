"""Template helpers available in every template (registered as builtins)."""

from django import forms, template
from django.utils.translation import gettext_lazy as _

from guanxi.platform.phones import format_phone

register = template.Library()

SECTION_LABELS = {
    "customers": _("Customers"),
    "sales": _("Sales"),
    "work": _("Work"),
    "admin": _("Administration"),
    "platform": _("Platform"),
}


@register.simple_tag
def nav_section_label(section):
    return SECTION_LABELS.get(section, section)


@register.inclusion_tag("components/form_field.html")
def form_field(field, **options):
    widget = field.field.widget
    kind = "input"
    if isinstance(widget, forms.CheckboxInput):
        kind = "checkbox"
    elif isinstance(widget, (forms.CheckboxSelectMultiple, forms.RadioSelect)):
        kind = "choices"
    elif isinstance(widget, (forms.Select, forms.SelectMultiple)):
        kind = "select"
    css = {"checkbox": "form-check-input", "choices": "", "select": "form-select"}.get(kind, "form-control")
    if field.errors:
        css += " is-invalid"
    if kind != "choices":
        existing = widget.attrs.get("class", "")
        widget.attrs["class"] = f"{existing} {css}".strip() if css.split()[0] not in existing else existing
        if field.errors:
            widget.attrs["class"] += " is-invalid" if "is-invalid" not in widget.attrs["class"] else ""
    return {"field": field, "kind": kind, **options}


@register.filter
def phone(value):
    return format_phone(value or "")


@register.filter
def get_item(mapping, key):
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def field_label(model_or_obj, name):
    try:
        return model_or_obj._meta.get_field(name).verbose_name
    except Exception:
        return name
