"""Writes about activities, follow-up plans, reminders and notifications.

Views, API endpoints, tasks and commands call these functions; each one is atomic and
audited. Activity writes go through ``guanxi.platform.crud`` so permissions, restricted
fields, validation and audit are the same as for every other entity.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import zoneinfo
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Max
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from guanxi.access import permissions
from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.platform import context, crud
from guanxi.platform.registry import Action

from .models import Activity, ActivityParticipant, FollowUpPlan, FollowUpStep, Notification

logger = logging.getLogger(__name__)

ACTIVITY = "activities.activity"
FOLLOW_UP_TIME = datetime.time(9, 0)
REMINDER_BATCH = 500


# --- time zones and languages of people ----------------------------------------------------------


def user_zone(user, tenant=None) -> zoneinfo.ZoneInfo:
    """The time zone ``user`` works in: their own, else the tenant's, else the installation's."""
    tenant = tenant or context.current_tenant()
    for name in (getattr(user, "time_zone", ""), getattr(tenant, "time_zone", ""), settings.TIME_ZONE):
        if name:
            try:
                return zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
    return zoneinfo.ZoneInfo("UTC")


def user_language(user, tenant=None) -> str:
    tenant = tenant or context.current_tenant()
    return getattr(user, "language", "") or getattr(tenant, "default_language", "") or settings.LANGUAGE_CODE


@contextlib.contextmanager
def recipient_locale(user, tenant=None) -> Iterator[None]:
    """Translate and format dates for ``user`` (their language and time zone)."""
    with translation.override(user_language(user, tenant)), timezone.override(user_zone(user, tenant)):
        yield


def local_datetime(day: datetime.date, at: datetime.time, user, tenant=None) -> datetime.datetime:
    """``day`` at ``at`` o'clock in ``user``'s time zone, as an aware datetime."""
    return datetime.datetime.combine(day, at).replace(tzinfo=user_zone(user, tenant))


# --- notifications ---------------------------------------------------------------------------------


def notification_create(*, user, kind: str, title: str, body: str = "", url: str = "") -> Notification:
    """An in-app notice for ``user`` (e-mailed later by ``email_pending_notifications``)."""
    return Notification.objects.create(user=user, kind=kind, title=title[:200], body=body[:500], url=url[:300])


def notification_mark_read(*, user, notification: Notification) -> Notification:
    """Mark one of ``user``'s own notifications read (personal state: not audited)."""
    if notification.user_id != user.pk:
        raise Http404
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification


def notifications_mark_all_read(*, user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


def _notify_assigned(actor, activity: Activity) -> None:
    """Tell the owner that someone else gave them a planned activity."""
    if actor is None or activity.owner_id == actor.pk or activity.status != Activity.Status.PLANNED:
        return
    owner = activity.owner
    with recipient_locale(owner):
        title = _("%(name)s assigned you: %(subject)s") % {"name": actor, "subject": activity.subject}
        body = _("%(kind)s due %(when)s") % {
            "kind": activity.get_kind_display(),
            "when": timezone.localtime(activity.starts_at).strftime("%Y-%m-%d %H:%M"),
        }
    notification_create(
        user=owner, kind=Notification.Kind.ASSIGNED, title=title, body=body, url=activity.get_absolute_url()
    )


# --- activities ----------------------------------------------------------------------------------


def _pk(value):
    return getattr(value, "pk", value)


def _resolve_visible(actor, model, value, field: str):
    """The record ``value`` (instance or id) if the actor may see it, else a field error."""
    if value in (None, ""):
        return None
    queryset = model._default_manager.all()
    if actor is None:
        obj = queryset.filter(pk=_pk(value)).first() if str(_pk(value)).isdigit() else None
        if obj is None:
            raise ValidationError({field: _("Select a valid choice.")})
        return obj
    try:
        return permissions.get_for(actor, queryset, _pk(value), Action.VIEW)
    except Http404:
        raise ValidationError({field: _("Select a record you can see.")})


def _resolve_member(value, field: str):
    """A user who is an active member of the current tenant, else a field error."""
    from guanxi.org.selectors import member_users

    if value in (None, ""):
        return None
    pk = _pk(value)
    user = member_users().filter(pk=pk).first() if str(pk).isdigit() else None
    if user is None:
        raise ValidationError({field: _("Select a member of your company.")})
    return user


def _prepare(actor, data: dict, instance: Activity | None, *, check_links: bool = True) -> dict:
    """Resolve and validate links, owner, times and status side effects of an activity write."""
    from guanxi.customers.models import Account, Contact

    data = dict(data)
    for key in ("account_id", "contact_id", "owner_id"):
        if key in data:
            data[key[:-3]] = data.pop(key)
    errors: dict[str, list] = {}

    def collect(func):
        try:
            return func()
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
            return None

    for field, model in (("account", Account), ("contact", Contact)):
        if field in data and data[field] not in (None, ""):
            if check_links or not isinstance(data[field], model):
                checker = actor if check_links else None
                data[field] = collect(lambda f=field, m=model, c=checker: _resolve_visible(c, m, data[f], f))
        elif field in data:
            data[field] = None
    if "owner" in data and data["owner"] not in (None, ""):
        data["owner"] = collect(lambda: _resolve_member(data["owner"], "owner"))
    elif "owner" in data:
        data.pop("owner")
        if instance is None:
            data["owner"] = None  # crud fills in the actor

    # A contact without an account belongs to the contact's account.
    if "contact" in data:
        contact = data["contact"]
    else:
        contact = instance.contact if instance is not None and instance.contact_id else None
    account_given = data.get("account") is not None or (
        "account" not in data and instance is not None and instance.account_id is not None
    )
    if contact is not None and not account_given and contact.account_id:
        data["account"] = contact.account_id

    starts = data.get("starts_at", instance.starts_at if instance else None)
    ends = data.get("ends_at", instance.ends_at if instance else None)
    if starts and ends and ends <= starts:
        errors.setdefault("ends_at", []).append(_("The end must be after the start."))

    if "reminder_at" in data and (instance is None or data["reminder_at"] != instance.reminder_at):
        data["reminded_at"] = None
    if "status" in data and (instance is None or data["status"] != instance.status):
        if data["status"] == Activity.Status.DONE:
            data.setdefault("completed_at", timezone.now())
        else:
            data["completed_at"] = None
    if errors:
        raise ValidationError(errors)
    return data


def _participants_set(actor, activity: Activity, users, contacts) -> None:
    """Replace the colleagues and/or customer contacts taking part (None leaves a kind unchanged)."""
    from guanxi.customers.models import Contact
    from guanxi.org.selectors import member_users

    if users is None and contacts is None:
        return
    current = list(ActivityParticipant.objects.filter(activity=activity).select_related("user", "contact"))
    before = sorted(str(p) for p in current)
    errors = {}
    add: list[ActivityParticipant] = []
    remove: list[int] = []
    if users is not None:
        wanted = {int(_pk(u)) for u in users if _pk(u) not in (None, "")}
        found = set(member_users().filter(pk__in=wanted).values_list("pk", flat=True))
        if wanted - found:
            errors["participant_users"] = [_("Select members of your company.")]
        have = {p.user_id: p for p in current if p.user_id}
        remove += [p.pk for uid, p in have.items() if uid not in wanted]
        add += [ActivityParticipant(activity=activity, user_id=uid) for uid in sorted(found - set(have))]
    if contacts is not None:
        wanted = {int(_pk(c)) for c in contacts if _pk(c) not in (None, "")}
        visible = Contact.objects.all() if actor is None else permissions.visible(actor, Contact.objects.all())
        found = set(visible.filter(pk__in=wanted).values_list("pk", flat=True))
        if wanted - found:
            errors["participant_contacts"] = [_("Select contacts you can see.")]
        have = {p.contact_id: p for p in current if p.contact_id}
        remove += [p.pk for cid, p in have.items() if cid not in wanted]
        add += [ActivityParticipant(activity=activity, contact_id=cid) for cid in sorted(found - set(have))]
    if errors:
        raise ValidationError(errors)
    if remove:
        ActivityParticipant.objects.filter(pk__in=remove).delete()
    if add:
        ActivityParticipant.objects.bulk_create(add)
    after = sorted(
        str(p) for p in ActivityParticipant.objects.filter(activity=activity).select_related("user", "contact")
    )
    if before != after:
        audit.record(AuditAction.UPDATE, activity, changes={"participants": [before, after]})


def _follow_up_start(activity: Activity, due) -> datetime.datetime:
    if isinstance(due, datetime.datetime):
        return due if timezone.is_aware(due) else timezone.make_aware(due, user_zone(activity.owner))
    return local_datetime(due, FOLLOW_UP_TIME, activity.owner)


def _create_follow_up(actor, activity: Activity, subject: str, due) -> Activity:
    """The task to do the next step, for the same owner and customer as ``activity``."""
    data = {
        "kind": Activity.Kind.TASK,
        "status": Activity.Status.PLANNED,
        "subject": subject[:200],
        "starts_at": _follow_up_start(activity, due),
        "owner": activity.owner,
        "account": activity.account,
        "contact": activity.contact,
        "regarding_type": activity.regarding_type_id,
        "regarding_id": activity.regarding_id,
        "priority": activity.priority,
    }
    # Same customer as the activity the actor may already change: no new link to check.
    return _activity_create(actor=actor, data=data, check_links=False)


def _activity_create(*, actor, data: dict, users=None, contacts=None, notify=True, check_links=True) -> Activity:
    data = dict(data)
    now = timezone.now()
    kind = data.get("kind") or Activity.Kind.NOTE
    data["kind"] = kind
    if not data.get("starts_at"):
        data["starts_at"] = now
    if not data.get("status"):
        planned = kind == Activity.Kind.TASK or data["starts_at"] > now
        data["status"] = Activity.Status.PLANNED if planned else Activity.Status.DONE
    data = _prepare(actor, data, None, check_links=check_links)
    activity = crud.record_create(entity_key=ACTIVITY, actor=actor, data=data)
    _participants_set(actor, activity, users, contacts)
    if notify:
        _notify_assigned(actor, activity)
    return activity


@transaction.atomic
def activity_create(
    *,
    actor,
    data: dict,
    participant_users: Iterable | None = None,
    participant_contacts: Iterable | None = None,
    follow_up_due=None,
) -> Activity:
    """Log or plan an activity.

    Without a status, a task or anything in the future is planned, anything else is done.
    ``account`` / ``contact`` / ``owner`` may be instances or ids; the actor must see the
    customer records. With ``next_step`` and ``follow_up_due`` (a date or datetime) a follow-up
    task is created too (returned as ``activity.follow_up``).
    """
    activity = _activity_create(actor=actor, data=data, users=participant_users, contacts=participant_contacts)
    activity.follow_up = None
    if activity.next_step and follow_up_due:
        activity.follow_up = _create_follow_up(actor, activity, activity.next_step, follow_up_due)
    return activity


@transaction.atomic
def activity_update(
    *,
    actor,
    activity: Activity,
    data: dict,
    participant_users: Iterable | None = None,
    participant_contacts: Iterable | None = None,
) -> Activity:
    """Change the fields in ``data`` (and replace participants when given)."""
    data = _prepare(actor, data, activity)
    activity, changes = crud.record_update(entity_key=ACTIVITY, actor=actor, instance=activity, data=data)
    _participants_set(actor, activity, participant_users, participant_contacts)
    if "owner" in changes:
        _notify_assigned(actor, activity)
    return activity


@transaction.atomic
def activity_complete(
    *, actor, activity: Activity, outcome: str = "", next_step: str = "", follow_up_due=None, body: str | None = None
) -> Activity:
    """Mark done now, with an optional outcome and next step; a dated next step becomes a follow-up task."""
    data = {"status": Activity.Status.DONE, "completed_at": timezone.now()}
    if outcome:
        data["outcome"] = outcome
    if next_step:
        data["next_step"] = next_step
    if body is not None:
        data["body"] = body
    activity = activity_update(actor=actor, activity=activity, data=data)
    activity.follow_up = None
    if next_step and follow_up_due:
        activity.follow_up = _create_follow_up(actor, activity, next_step, follow_up_due)
    return activity


@transaction.atomic
def activity_cancel(*, actor, activity: Activity) -> Activity:
    return activity_update(actor=actor, activity=activity, data={"status": Activity.Status.CANCELLED})


@transaction.atomic
def activity_reschedule(*, actor, activity: Activity, starts_at: datetime.datetime) -> Activity:
    """Move to ``starts_at``; the end and the reminder move by the same amount."""
    delta = starts_at - activity.starts_at
    data = {"starts_at": starts_at}
    if activity.ends_at:
        data["ends_at"] = activity.ends_at + delta
    if activity.reminder_at:
        data["reminder_at"] = activity.reminder_at + delta
    if activity.status == Activity.Status.CANCELLED:
        data["status"] = Activity.Status.PLANNED
    return activity_update(actor=actor, activity=activity, data=data)


@transaction.atomic
def activity_delete(*, actor, activity: Activity) -> None:
    crud.record_delete(entity_key=ACTIVITY, actor=actor, instance=activity)


# --- follow-up plans -----------------------------------------------------------------------------


def can_administer_plans(user) -> bool:
    return permissions.has_action(user, ACTIVITY, Action.ADMINISTER)


def _require_plan_admin(actor) -> None:
    if actor is not None and not can_administer_plans(actor):
        raise PermissionDenied


@transaction.atomic
def followup_plan_save(*, actor, plan: FollowUpPlan) -> FollowUpPlan:
    """Create or change a plan (tenant administrators or the "administer" action on activities)."""
    _require_plan_admin(actor)
    name = (plan.name or "").strip()
    plan.name = name
    if name and FollowUpPlan.objects.filter(name__iexact=name).exclude(pk=plan.pk).exists():
        raise ValidationError({"name": _("A plan with this name already exists.")})
    plan.full_clean(validate_constraints=False)
    created = plan.pk is None
    before = {} if created else audit.snapshot(FollowUpPlan.objects.get(pk=plan.pk))
    plan.save()
    changes = audit.diff(before, {k: v for k, v in audit.snapshot(plan).items() if not created or v not in ("", None)})
    if changes:
        audit.record_change(AuditAction.CREATE if created else AuditAction.UPDATE, plan, changes)
    return plan


@transaction.atomic
def followup_plan_delete(*, actor, plan: FollowUpPlan) -> None:
    _require_plan_admin(actor)
    audit.record_deleted(plan)
    plan.delete()


@transaction.atomic
def followup_step_save(*, actor, step: FollowUpStep) -> FollowUpStep:
    """Create or change a step; a new step goes last."""
    _require_plan_admin(actor)
    created = step.pk is None
    if created:
        last = FollowUpStep.objects.filter(plan_id=step.plan_id).aggregate(m=Max("position"))["m"]
        step.position = 0 if last is None else last + 1
    step.full_clean()
    before = {} if created else audit.snapshot(FollowUpStep.objects.get(pk=step.pk))
    step.save()
    changes = audit.diff(before, audit.snapshot(step))
    if changes:
        audit.record(
            AuditAction.UPDATE,
            step.plan,
            changes={f"step {step.position + 1}.{k}": v for k, v in changes.items() if k not in ("plan",)},
        )
    return step


def _renumber(plan_id: int) -> list[FollowUpStep]:
    steps = list(FollowUpStep.objects.filter(plan_id=plan_id).order_by("position", "offset_days", "pk"))
    for i, s in enumerate(steps):
        if s.position != i:
            s.position = i
            FollowUpStep.objects.filter(pk=s.pk).update(position=i)
    return steps


@transaction.atomic
def followup_step_delete(*, actor, step: FollowUpStep) -> None:
    _require_plan_admin(actor)
    audit.record(AuditAction.UPDATE, step.plan, changes={"steps": [step.subject, None]})
    plan_id = step.plan_id
    step.delete()
    _renumber(plan_id)


@transaction.atomic
def followup_step_move(*, actor, step: FollowUpStep, offset: int) -> None:
    """Move a step up (offset -1) or down (+1) in its plan."""
    _require_plan_admin(actor)
    steps = _renumber(step.plan_id)
    index = next(i for i, s in enumerate(steps) if s.pk == step.pk)
    other = index + offset
    if offset not in (-1, 1) or not 0 <= other < len(steps):
        return
    a, b = steps[index], steps[other]
    FollowUpStep.objects.filter(pk=a.pk).update(position=b.position)
    FollowUpStep.objects.filter(pk=b.pk).update(position=a.position)
    audit.record(AuditAction.UPDATE, step.plan, changes={"step order": [a.position + 1, b.position + 1]})


@transaction.atomic
def followup_plan_apply(
    *, actor, plan: FollowUpPlan, account=None, contact=None, start: datetime.date, owner=None
) -> list[Activity]:
    """Create one planned activity per step: due ``start`` + offset days at the step's time.

    Times are in the owner's time zone; a step with ``remind_minutes_before`` sets a reminder.
    ``owner`` defaults to the actor and is told about the new tasks when it is someone else.
    """
    if not plan.is_active:
        raise ValidationError({"plan": _("This plan is not active.")})
    if account in (None, "") and contact in (None, ""):
        raise ValidationError({"__all__": _("Choose an account or a contact to apply the plan to.")})
    steps = list(FollowUpStep.objects.filter(plan=plan).order_by("position", "offset_days", "pk"))
    if not steps:
        raise ValidationError({"plan": _("This plan has no steps.")})
    owner = _resolve_member(owner, "owner") if owner not in (None, "") else actor
    if owner is None:
        raise ValidationError({"owner": _("Choose who does the tasks.")})
    created = []
    for step in steps:
        starts_at = local_datetime(start + datetime.timedelta(days=step.offset_days), step.due_time, owner)
        data = {
            "kind": step.kind,
            "status": Activity.Status.PLANNED,
            "subject": step.subject,
            "body": step.body,
            "starts_at": starts_at,
            "owner": owner,
            "account": account,
            "contact": contact,
            "plan_step": step,
        }
        if step.remind_minutes_before is not None:
            data["reminder_at"] = starts_at - datetime.timedelta(minutes=step.remind_minutes_before)
        created.append(_activity_create(actor=actor, data=data, notify=False))
    audit.record(
        AuditAction.UPDATE,
        plan,
        note=f"applied to {created[0].contact or created[0].account}",
        changes={"applied": [None, len(created)]},
    )
    if actor is not None and owner.pk != actor.pk:
        with recipient_locale(owner):
            title = ngettext(
                "%(name)s gave you %(count)d follow-up task from “%(plan)s”",
                "%(name)s gave you %(count)d follow-up tasks from “%(plan)s”",
                len(created),
            ) % {"name": actor, "count": len(created), "plan": plan.name}
            body = str(created[0].contact or created[0].account or "")
        notification_create(
            user=owner, kind=Notification.Kind.ASSIGNED, title=title, body=body, url=created[0].get_absolute_url()
        )
    return created


# --- reminders and e-mail (run by the background tasks, inside a tenant context) -------------------


def _lock_batch(queryset, limit: int) -> list:
    """Rows to process now; on PostgreSQL locked by this worker and skipped by others."""
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True, of=("self",))
    return list(queryset[:limit])


def reminders_send_due(*, now: datetime.datetime | None = None) -> int:
    """Notify owners of planned activities whose reminder time has come; each reminder once.

    Safe to run twice or concurrently: rows are claimed with SELECT … FOR UPDATE SKIP LOCKED
    (PostgreSQL) and a conditional update of ``reminded_at`` (every database).
    """
    context.require_tenant()
    now = now or timezone.now()
    sent = 0
    while True:
        with transaction.atomic():
            due = (
                Activity.objects.filter(status=Activity.Status.PLANNED, reminder_at__lte=now, reminded_at__isnull=True)
                .select_related("owner")
                .order_by("reminder_at", "pk")
            )
            rows = _lock_batch(due, REMINDER_BATCH)
            if not rows:
                return sent
            claimed = []
            for activity in rows:
                if Activity.objects.filter(pk=activity.pk, reminded_at__isnull=True).update(reminded_at=now):
                    claimed.append(activity)
            notes = []
            for activity in claimed:
                with recipient_locale(activity.owner):
                    notes.append(
                        Notification(
                            user=activity.owner,
                            kind=Notification.Kind.REMINDER,
                            title=(_("Reminder: %(subject)s") % {"subject": activity.subject})[:200],
                            body=(
                                _("%(kind)s due %(when)s")
                                % {
                                    "kind": activity.get_kind_display(),
                                    "when": timezone.localtime(activity.starts_at).strftime("%Y-%m-%d %H:%M"),
                                }
                            )[:500],
                            url=activity.get_absolute_url(),
                            created_at=now,
                        )
                    )
            Notification.objects.bulk_create(notes)
            sent += len(notes)
            if len(rows) < REMINDER_BATCH:
                return sent


def _absolute(url: str) -> str:
    base = getattr(settings, "SITE_URL", "") or ""
    return f"{base.rstrip('/')}{url}" if url and base and url.startswith("/") else url


def notifications_email_pending(*, now: datetime.datetime | None = None) -> int:
    """E-mail each user their unread notifications not e-mailed yet: one message per user.

    Notifications are claimed (``emailed_at`` set) before sending and released again if the
    mail server refuses, so a concurrent run never sends the same notice twice.
    """
    tenant = context.require_tenant()
    now = now or timezone.now()
    pending = Notification.objects.filter(emailed_at__isnull=True, read_at__isnull=True, user__is_active=True)
    user_ids = list(pending.order_by().values_list("user_id", flat=True).distinct())
    sent = 0
    for user_id in user_ids:
        with transaction.atomic():
            rows = _lock_batch(pending.filter(user_id=user_id).select_related("user").order_by("created_at", "pk"), 200)
            ids = [n.pk for n in rows]
            if not ids or not Notification.objects.filter(pk__in=ids, emailed_at__isnull=True).update(emailed_at=now):
                continue
        user = rows[0].user
        try:
            _send_notifications_email(tenant, user, rows)
        except Exception:
            logger.exception("Could not e-mail notifications to user %s", user.pk)
            Notification.objects.filter(pk__in=ids, emailed_at=now).update(emailed_at=None)
            continue
        sent += 1
    return sent


def _send_notifications_email(tenant, user, notifications: list[Notification]) -> None:
    with recipient_locale(user, tenant):
        items = [{"n": n, "url": _absolute(n.url)} for n in notifications]
        count = len(notifications)
        subject = ngettext(
            "%(tenant)s: %(count)d new notification", "%(tenant)s: %(count)d new notifications", count
        ) % {"tenant": tenant.name, "count": count}
        ctx = {"user": user, "tenant": tenant, "items": items, "count": count, "site_url": _absolute("/")}
        text = render_to_string("activities/email/notifications.txt", ctx)
        html = render_to_string("activities/email/notifications.html", ctx)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[user.email])
    message.attach_alternative(html, "text/html")
    message.send()


# --- calendar feed ------------------------------------------------------------------------------


def calendar_feed_tokens(user):
    from guanxi.identity.models import ApiToken

    tenant = context.require_tenant()
    return ApiToken.objects.filter(
        user=user, tenant=tenant, scope=ApiToken.Scope.CALENDAR, revoked_at__isnull=True
    ).order_by("-created_at")


@transaction.atomic
def calendar_feed_disable(*, user) -> int:
    from guanxi.identity.services import api_token_revoke

    tokens = list(calendar_feed_tokens(user))
    for token in tokens:
        api_token_revoke(user=user, token=token)
    return len(tokens)


@transaction.atomic
def calendar_feed_reset(*, user):
    """Revoke the user's calendar feed secrets and make a new one; returns (token, secret)."""
    from guanxi.identity.services import api_token_create

    calendar_feed_disable(user=user)
    return api_token_create(user=user, name=_("Calendar feed"), scope="calendar")
