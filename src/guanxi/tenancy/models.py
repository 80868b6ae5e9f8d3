from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Tenant(models.Model):
    """A company using Guanxi: the security boundary for all of its data."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short name"), max_length=60, unique=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    default_language = models.CharField(
        _("default language"),
        max_length=10,
        default="zh-hans",
        choices=[("zh-hans", "简体中文"), ("en", "English")],
    )
    time_zone = models.CharField(_("time zone"), max_length=60, default="Asia/Shanghai")
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    max_users = models.PositiveIntegerField(_("user limit"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True)
    suspension_reason = models.CharField(_("suspension reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE
