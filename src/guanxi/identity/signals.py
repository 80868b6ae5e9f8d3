"""Sign-in events go to the audit trail of each of the person's tenants (or the platform's)."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.platform import context


def _record(action, *, user, actor, note=""):
    """One entry per tenant the user belongs to; a platform entry when they belong to none."""
    from guanxi.tenancy.selectors import memberships_for_user

    label = user.email if user is not None else note
    tenants = [m.tenant for m in memberships_for_user(user)] if user is not None else []
    if not tenants:
        audit.record(action, actor=actor, note=note, object_repr=label)
    for tenant in tenants:
        with context.tenant_context(tenant, actor=actor):
            audit.record(action, actor=actor, note=note, object_repr=label)


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    _record(AuditAction.LOGIN, user=user, actor=user)


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        _record(AuditAction.LOGOUT, user=user, actor=user)


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    from .models import User

    email = (credentials.get("username") or "").strip().lower()[:200]
    user = User.objects.filter(email=email).first() if email else None
    _record(AuditAction.LOGIN_FAILED, user=user, actor=None, note=email)


@receiver(user_locked_out)
def on_locked_out(sender, request, username, ip_address, **kwargs):
    from .models import User

    email = (username or "").strip().lower()[:200]
    user = User.objects.filter(email=email).first() if email else None
    _record(AuditAction.LOCKED_OUT, user=user, actor=None, note=email)
