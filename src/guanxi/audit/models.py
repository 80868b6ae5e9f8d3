"""The audit trail: an append-only record of who did what, when, from where."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.platform import context
from guanxi.platform.models import TenantModel


class AuditAction(models.TextChoices):
    CREATE = "create", pgettext_lazy("audit action", "Created")
    UPDATE = "update", pgettext_lazy("audit action", "Updated")
    DELETE = "delete", _("Deleted")
    LOGIN = "login", _("Signed in")
    LOGOUT = "logout", _("Signed out")
    LOGIN_FAILED = "login_failed", _("Failed sign-in")
    LOCKED_OUT = "locked_out", _("Locked out")
    PASSWORD_CHANGE = "password_change", _("Password changed")
    PERMISSION_CHANGE = "permission_change", _("Permissions changed")
    EXPORT = "export", _("Exported")
    IMPORT = "import", _("Imported")
    SHARE = "share", _("Shared")
    TOKEN = "token", _("API token")
    TENANT = "tenant", _("Tenant administration")
    MERGE = "merge", pgettext_lazy("audit action", "Merged")


class AuditEntry(TenantModel):
    """One audited event. Rows are only ever inserted: the app has no way to change them."""

    # Sign-in events of people not (yet) in a tenant are platform events with no tenant.
    tenant = models.ForeignKey(
        "tenancy.Tenant",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        editable=False,
    )
    at = models.DateTimeField(_("time"), default=timezone.now, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    actor_label = models.CharField(_("by"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=30, choices=AuditAction.choices)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    object_id = models.BigIntegerField(null=True, blank=True)
    object_repr = models.CharField(_("record"), max_length=250, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)  # {field: [before, after]}
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=32, blank=True)
    via = models.CharField(_("via"), max_length=10, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-at", "-id"]),
            models.Index(fields=["tenant", "content_type", "object_id", "-at"]),
            models.Index(fields=["tenant", "actor", "-at"]),
            models.Index(fields=["tenant", "action", "-at"]),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"

    def _fill_and_check_tenant(self):
        if self.tenant_id is None and context.current_tenant_id() is None:
            return  # a platform event (e.g. a failed sign-in of an unknown address)
        super()._fill_and_check_tenant()

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("Audit entries cannot be changed.")
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("Audit entries cannot be deleted.")
