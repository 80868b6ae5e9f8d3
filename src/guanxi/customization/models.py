"""Tenant-defined shape of the data: tags, custom fields, saved list views."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.platform.models import TenantModel


def localized(en: str, zh: str) -> str:
    """Pick the label for the active language, falling back to the other one."""
    lang = (translation.get_language() or "").lower()
    if lang.startswith("zh"):
        return zh or en
    return en or zh


class Tag(TenantModel):
    name = models.CharField(_("name"), max_length=60)
    color = models.CharField(
        _("colour"),
        max_length=7,
        default="#64748b",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour like #1f6feb."))],
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="customization_tag_unique_name")]

    def __str__(self):
        return self.name


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    LONG_TEXT = "long_text", _("Long text")
    INTEGER = "integer", _("Whole number")
    DECIMAL = "decimal", _("Decimal number")
    DATE = "date", _("Date")
    DATETIME = "datetime", _("Date and time")
    BOOLEAN = "boolean", _("Yes / no")
    CHOICE = "choice", _("Single choice")
    MULTI_CHOICE = "multi_choice", _("Multiple choice")
    USER = "user", _("User")
    URL = "url", _("Web address")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")


class CustomFieldDefinition(TenantModel):
    """A field a tenant adds to an entity; values live in the entity's ``custom`` JSON column."""

    entity = models.CharField(_("record type"), max_length=60)
    key = models.CharField(
        _("key"),
        max_length=40,
        validators=[RegexValidator(r"^[a-z][a-z0-9_]*$", _("Lower-case letters, digits and _; start with a letter."))],
        help_text=_("Used in the API, imports and exports; cannot change later."),
    )
    label_en = models.CharField(_("label (English)"), max_length=100, blank=True)
    label_zh = models.CharField(_("label (Chinese)"), max_length=100, blank=True)
    field_type = models.CharField(_("type"), max_length=20, choices=FieldType.choices)
    # [{"value": "gold", "label_en": "Gold", "label_zh": "金牌"}, ...]
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    max_length = models.PositiveIntegerField(_("maximum length"), null=True, blank=True)
    min_value = models.DecimalField(_("minimum"), max_digits=20, decimal_places=6, null=True, blank=True)
    max_value = models.DecimalField(_("maximum"), max_digits=20, decimal_places=6, null=True, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    show_in_list = models.BooleanField(_("show as list column"), default=False)
    filterable = models.BooleanField(_("offer as list filter"), default=True)
    is_active = models.BooleanField(pgettext_lazy("enabled", "active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["entity", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "entity", "key"], name="customization_field_unique_key")
        ]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        return localized(self.label_en, self.label_zh) or self.key

    def choice_options(self) -> list[tuple[str, str]]:
        return [
            (c["value"], localized(c.get("label_en", ""), c.get("label_zh", "")) or c["value"]) for c in self.choices
        ]


class SavedView(TenantModel):
    """A named list view: filters, sort and columns, private or shared with the tenant."""

    entity = models.CharField(_("record type"), max_length=60)
    name = models.CharField(_("name"), max_length=80)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    query = models.CharField(_("filters"), max_length=2000, blank=True)  # a URL query string
    columns = models.JSONField(_("columns"), default=list, blank=True)
    is_shared = models.BooleanField(_("shared with everyone"), default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name"]
        indexes = [models.Index(fields=["tenant", "entity", "owner"])]

    def __str__(self):
        return self.name
