"""Writes to the organisation: units, business lines, teams and members (all audited)."""

from __future__ import annotations

import logging
import smtplib

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from guanxi.access import permissions
from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.identity.models import User
from guanxi.platform import context

from .models import BusinessLine, Member, OrgUnit, Team

logger = logging.getLogger(__name__)


def _audit_save(obj, before: dict, creating: bool, action=None):
    action = action or (AuditAction.CREATE if creating else AuditAction.UPDATE)
    changes = audit.diff(before, audit.snapshot(obj))
    if changes or creating:
        audit.record_change(action, obj, changes)


@transaction.atomic
def org_unit_save(*, actor, unit: OrgUnit) -> OrgUnit:
    """Create or move/rename a unit, keeping the materialised paths of its subtree right."""
    creating = unit.pk is None
    before = {} if creating else audit.snapshot(OrgUnit.objects.get(pk=unit.pk))
    old_path = "" if creating else OrgUnit.objects.get(pk=unit.pk).path
    if unit.parent_id and not creating:
        parent = OrgUnit.objects.get(pk=unit.parent_id)
        if parent.path.startswith(old_path):
            raise ValidationError({"parent": _("A unit cannot be placed under itself or its own sub-units.")})
    unit.full_clean(exclude=["path", "depth"])
    unit.save()
    parent_path = OrgUnit.objects.get(pk=unit.parent_id).path if unit.parent_id else "/"
    new_path = f"{parent_path}{unit.pk}/"
    if new_path != unit.path:
        unit.path, unit.depth = new_path, new_path.count("/") - 2
        unit.save(update_fields=["path", "depth"])
        if old_path:
            for child in OrgUnit.objects.filter(path__startswith=old_path).exclude(pk=unit.pk):
                child.path = new_path + child.path[len(old_path) :]
                child.depth = child.path.count("/") - 2
                child.save(update_fields=["path", "depth"])
    _audit_save(unit, before, creating)
    permissions.invalidate()
    return unit


@transaction.atomic
def org_unit_delete(*, actor, unit: OrgUnit) -> None:
    if unit.children.exists() or unit.members.exists():
        raise ValidationError(_("Move this unit's sub-units and people elsewhere before deleting it."))
    audit.record_deleted(unit)
    unit.delete()
    permissions.invalidate()


@transaction.atomic
def business_line_save(*, actor, line: BusinessLine) -> BusinessLine:
    creating = line.pk is None
    before = {} if creating else audit.snapshot(BusinessLine.objects.get(pk=line.pk))
    line.full_clean()
    line.save()
    _audit_save(line, before, creating)
    permissions.invalidate()
    return line


@transaction.atomic
def team_save(*, actor, team: Team, member_ids: list[int] | None = None) -> Team:
    creating = team.pk is None
    before = {} if creating else audit.snapshot(Team.objects.get(pk=team.pk))
    before_members = [] if creating else sorted(str(m) for m in team.members.select_related("user"))
    team.full_clean()
    team.save()
    if member_ids is not None:
        team.members.set(Member.objects.filter(pk__in=member_ids))
    changes = audit.diff(before, audit.snapshot(team))
    after_members = sorted(str(m) for m in team.members.select_related("user"))
    if after_members != before_members:
        changes["members"] = [before_members, after_members]
    audit.label_references(Team, [changes])
    audit.record(AuditAction.CREATE if creating else AuditAction.PERMISSION_CHANGE, team, changes=changes)
    permissions.invalidate()
    return team


def _manager_cycle(member: Member, manager: Member | None) -> bool:
    seen = {member.pk}
    while manager is not None:
        if manager.pk in seen:
            return True
        seen.add(manager.pk)
        manager = manager.manager
    return False


@transaction.atomic
def member_add(
    *,
    actor,
    email: str,
    full_name: str,
    password: str | None = None,
    unit=None,
    manager=None,
    roles=(),
    business_lines=(),
    teams=(),
    title: str = "",
    is_admin: bool = False,
) -> Member:
    """Add a person to the current tenant, creating their user if the email is new."""
    tenant = context.require_tenant()
    email = email.strip().lower()
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User(email=email, full_name=full_name)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
    if Member.objects.filter(user=user).exists():
        raise ValidationError({"email": _("This person is already a member.")})
    if tenant.max_users is not None and Member.objects.filter(is_active=True).count() >= tenant.max_users:
        raise ValidationError(
            ngettext(
                "Your plan allows %(n)s user; deactivate someone or ask for more.",
                "Your plan allows %(n)s users; deactivate someone or ask for more.",
                tenant.max_users,
            )
            % {"n": tenant.max_users}
        )
    member = Member(user=user, unit=unit, manager=manager, title=title, is_admin=is_admin)
    member.full_clean()
    member.save()
    member.roles.set(roles)
    member.business_lines.set(business_lines)
    member.teams.set(teams)
    audit.record(
        AuditAction.PERMISSION_CHANGE,
        member,
        note="member added",
        changes={
            "roles": [None, [str(r) for r in roles]],
            "is_admin": [None, is_admin],
            "unit": [None, str(unit) if unit else None],
        },
    )
    permissions.invalidate()
    return member


@transaction.atomic
def member_update(*, actor, member: Member, data: dict) -> Member:
    """Change a member's place in the organisation, roles, lines, teams or admin flag."""
    m2m = {k: data.pop(k) for k in ("roles", "business_lines", "teams") if k in data}
    before = audit.snapshot(member)
    before_m2m = {k: sorted(str(o) for o in getattr(member, k).all()) for k in m2m}
    was_active = member.is_active
    for key, value in data.items():
        setattr(member, key, value)
    if "manager" in data and _manager_cycle(member, member.manager):
        raise ValidationError({"manager": _("This would make a circle of managers.")})
    if member.manager_id == member.pk and member.pk is not None:
        raise ValidationError({"manager": _("Nobody can be their own manager.")})
    if actor is not None and member.user_id == actor.pk and before.get("is_admin") and not member.is_admin:
        raise ValidationError({"is_admin": _("You cannot take away your own administrator rights.")})
    member.full_clean()
    member.save()
    for key, values in m2m.items():
        getattr(member, key).set(values)
    changes = audit.diff(before, audit.snapshot(member))
    for key in m2m:
        after = sorted(str(o) for o in getattr(member, key).all())
        if after != before_m2m[key]:
            changes[key] = [before_m2m[key], after]
    if changes:
        audit.label_references(Member, [changes])
        audit.record(AuditAction.PERMISSION_CHANGE, member, changes=changes)
    if was_active and not member.is_active:
        from guanxi.exports.services import exports_discard_for_user

        exports_discard_for_user(user=member.user)  # their export files go once this commits
    permissions.invalidate()
    return member


# --- administration (settings pages, operator pages) -------------------------------------------


def set_password_email_send(*, user: User, tenant, domain: str, use_https: bool = True, inviter=None) -> None:
    """Email ``user`` a one-time link to choose a password (the password-reset token).

    Used when a person is invited to a tenant and has no password yet. The link is the
    regular ``identity:password_reset_confirm`` page, so it expires like a reset link and
    stops working once a password is set.
    """
    from django.contrib.auth.tokens import default_token_generator
    from django.core.mail import EmailMultiAlternatives
    from django.template import loader
    from django.utils import translation
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    ctx = {
        "user": user,
        "tenant": tenant,
        "inviter": inviter,
        "domain": domain,
        "protocol": "https" if use_https else "http",
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
    }
    with translation.override(user.language or getattr(tenant, "default_language", None) or None):
        subject = "".join(loader.render_to_string("org/email/invite_subject.txt", ctx).splitlines())
        body = loader.render_to_string("org/email/invite.txt", ctx)
        html = loader.render_to_string("org/email/invite.html", ctx)
    message = EmailMultiAlternatives(subject, body, to=[user.email])
    message.attach_alternative(html, "text/html")
    message.send()


def member_invite(
    *,
    actor,
    email: str,
    full_name: str,
    domain: str,
    use_https: bool = True,
    unit=None,
    manager=None,
    roles=(),
    business_lines=(),
    teams=(),
    title: str = "",
    is_admin: bool = False,
) -> tuple[Member, str]:
    """Add a person (``member_add``) and, if they have no password yet, email them a set-password link.

    Returns the member and what happened to the email: ``"sent"``, ``"failed"`` (the mail
    server refused; the membership stands, the person can use "forgot password") or
    ``"not_needed"`` (an existing user who already has a password). The email goes out
    after the membership is committed.
    """
    member = member_add(
        actor=actor,
        email=email,
        full_name=full_name,
        unit=unit,
        manager=manager,
        roles=roles,
        business_lines=business_lines,
        teams=teams,
        title=title,
        is_admin=is_admin,
    )
    if member.user.has_usable_password():
        return member, "not_needed"
    try:
        set_password_email_send(
            user=member.user, tenant=context.require_tenant(), domain=domain, use_https=use_https, inviter=actor
        )
    except (OSError, smtplib.SMTPException):
        logger.exception("Could not send the invitation email to user %s", member.user_id)
        return member, "failed"
    return member, "sent"


@transaction.atomic
def member_deactivate(*, actor, member: Member) -> Member:
    """Take away a person's access to the tenant (their records and history stay)."""
    if actor is not None and member.user_id == actor.pk:
        raise ValidationError(_("You cannot deactivate yourself."))
    return member_update(actor=actor, member=member, data={"is_active": False})


@transaction.atomic
def business_line_delete(*, actor, line: BusinessLine) -> None:
    """Delete a business line; records and people that had it simply lose it."""
    audit.record_deleted(line)
    line.delete()
    permissions.invalidate()


@transaction.atomic
def team_delete(*, actor, team: Team) -> None:
    """Delete a team; its shares and sharing rules go with it."""
    audit.record_deleted(team)
    team.delete()
    permissions.invalidate()
