"""Pages of the activities app: My day, activities, calendar, timelines, notifications, follow-up plans.

Thin views: they parse input, call one selector or service and render. Access is decided by
``guanxi.access.permissions`` (``get_for`` → 404 for records out of reach).
"""

from __future__ import annotations

import datetime
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST, require_safe

from guanxi.access import permissions
from guanxi.platform.context import RequestMeta, tenant_context
from guanxi.platform.pagination import InvalidCursor, paginate
from guanxi.platform.registry import Action
from guanxi.platform.views import Column, EntityViews

from . import ical, selectors, services
from .filters import ActivityFilterSet
from .forms import (
    ActivityForm,
    ApplyPlanForm,
    CompleteForm,
    FollowUpPlanForm,
    FollowUpStepForm,
    QuickLogForm,
    RescheduleForm,
)
from .models import KIND_ICONS, Activity, FollowUpPlan, FollowUpStep
from .templatetags.activities_tags import record_url

ACTIVITY = services.ACTIVITY
CHANGED_EVENT = "activitiesChanged"


# --- helpers ----------------------------------------------------------------------------------


def apply_errors(form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: on the field it names, else at the top."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            target = name if name in form.fields else None
            for error in errors:
                form.add_error(target, error if target or name == "__all__" else f"{name}: {error}")
    else:
        for error in exc.messages:
            form.add_error(None, error)


def _trigger(response: HttpResponse, message: str | None = None, *, changed: bool = True, level="success"):
    events = {}
    if message:
        events["gx:toast"] = {"message": str(message), "level": level}
    if changed:
        events[CHANGED_EVENT] = True
    if events:
        response["HX-Trigger"] = json.dumps(events)
    return response


def _next_url(request, default: str) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return default


def _page(queryset, request, *, sort: str, limit: int, count: bool = True):
    try:
        return paginate(queryset, sort=sort, cursor=request.GET.get("cursor") or None, limit=limit, count=count)
    except InvalidCursor:
        return paginate(queryset, sort=sort, cursor=None, limit=limit, count=count)


def _can_create(user) -> bool:
    return permissions.has_action(user, ACTIVITY, Action.CREATE)


def _after_change(request, activity: Activity | None, message: str, *, default: str):
    """Answer an htmx action (refresh My day, or tell timelines to reload) or redirect."""
    if request.htmx:
        if request.POST.get("partial") == "my_day":
            response = render(request, "activities/_my_day_lists.html", {"day": selectors.my_day(request.user)})
        else:
            response = HttpResponse(status=204)
        return _trigger(response, message)
    messages.success(request, message)
    return redirect(_next_url(request, default))


# --- My day -----------------------------------------------------------------------------------


@login_required
def my_day(request):
    context = {"day": selectors.my_day(request.user), "can_create": _can_create(request.user)}
    if request.htmx and request.GET.get("partial") == "my_day":
        return render(request, "activities/_my_day_lists.html", context)
    return render(request, "activities/my_day.html", context)


# --- activities -------------------------------------------------------------------------------


STATUS_BADGES = {
    Activity.Status.PLANNED: "text-bg-primary",
    Activity.Status.DONE: "text-bg-success",
    Activity.Status.CANCELLED: "text-bg-secondary",
}


def _status_badge(a: Activity) -> str:
    if a.is_overdue:
        return format_html('<span class="badge gx-stage text-bg-danger">{}</span>', _("Overdue"))
    return format_html(
        '<span class="badge gx-stage {}">{}</span>',
        STATUS_BADGES.get(a.status, "text-bg-light"),
        a.get_status_display(),
    )


class ActivityViews(EntityViews):
    """List, detail, create, edit, delete and bulk actions of activities (the generic entity views)."""

    entity_key = ACTIVITY
    url_prefix = "list/"
    name = "activity"
    filterset_class = ActivityFilterSet
    form_class = ActivityForm
    detail_template = "activities/activity_detail.html"
    default_sort = "-starts_at"
    bulk_tags = False
    columns = [
        Column("subject", _lazy("Subject"), kind="link", default=True),
        Column("kind", _lazy("Type"), kind="choice", default=True),
        Column("starts_at", _lazy("When"), sort="starts_at", kind="datetime", default=True),
        Column("status", _lazy("Status"), default=True, render=lambda a: _status_badge(a)),
        Column("account", _lazy("Account"), default=True),
        Column("contact", _lazy("Contact"), default=True),
        Column("owner", _lazy("Owner"), default=True),
        Column("priority", _lazy("Priority"), kind="choice"),
        Column("direction", _lazy("Direction"), kind="choice"),
        Column("outcome", _lazy("Outcome"), kind="choice"),
        Column("next_step", _lazy("Next step")),
        Column("location", _lazy("Location")),
        Column("completed_at", _lazy("Completed"), sort="completed_at", kind="datetime"),
        Column("created_at", _lazy("Created"), sort="created_at", kind="datetime"),
        Column("updated_at", _lazy("Updated"), sort="updated_at", kind="datetime"),
    ]
    form_sections = [
        (_lazy("Activity"), ["kind", "subject", "status", "starts_at", "ends_at", "priority", "body"]),
        (_lazy("Who and for whom"), ["account", "contact", "owner", "participant_users", "participant_contacts"]),
        (_lazy("Details"), ["direction", "location", "outcome", "next_step", "follow_up_due", "reminder_at"]),
    ]

    def list_queryset(self, request):
        return Activity.objects.select_related("owner", "account", "contact")

    def detail_queryset(self, request):
        return Activity.objects.select_related("owner", "account", "contact", "created_by").prefetch_related(
            selectors.participants_prefetch()
        )

    def initial_for_create(self, request):
        return _initial_for_new(request)

    def create(self, request, data):
        users, contacts = data.pop("_participants", (None, None))
        return services.activity_create(
            actor=request.user,
            data=data,
            participant_users=users,
            participant_contacts=contacts,
            follow_up_due=data.pop("_follow_up_due", None),
        )

    def update(self, request, obj, data):
        users, contacts = data.pop("_participants", (None, None))
        data.pop("_follow_up_due", None)
        return services.activity_update(
            actor=request.user, activity=obj, data=data, participant_users=users, participant_contacts=contacts
        )

    def delete(self, request, obj):
        services.activity_delete(actor=request.user, activity=obj)

    def detail_context(self, request, obj):
        return {"activity": obj, "complete_form": CompleteForm()}


activity_views = ActivityViews()


def _initial_for_new(request) -> dict:
    initial = {"kind": request.GET.get("kind") or Activity.Kind.TASK, "owner": request.user.pk}
    start = request.GET.get("starts_at") or request.GET.get("date")
    when = None
    if start:
        try:
            when = datetime.datetime.fromisoformat(start)
        except ValueError:
            when = None
    if when is None:
        when = timezone.localtime().replace(minute=0, second=0, microsecond=0) + datetime.timedelta(hours=1)
    elif timezone.is_naive(when):
        if len(start) <= 10:
            when = when.replace(hour=9)
        when = timezone.make_aware(when)
    initial["starts_at"] = timezone.localtime(when)
    return initial


@login_required
def activity_complete(request, pk):
    activity = selectors.activity_for(request.user, pk, Action.EDIT)
    form = CompleteForm(request.POST or None, initial={"outcome": activity.outcome, "next_step": activity.next_step})
    if request.method == "POST" and form.is_valid():
        try:
            activity = services.activity_complete(
                actor=request.user,
                activity=activity,
                outcome=form.cleaned_data.get("outcome") or "",
                next_step=form.cleaned_data.get("next_step") or "",
                follow_up_due=form.cleaned_data.get("follow_up_due"),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            message = _("Done: %(subject)s") % {"subject": activity.subject}
            if activity.follow_up:
                message = _("Done. Follow-up task created for %(date)s.") % {
                    "date": formats.date_format(timezone.localtime(activity.follow_up.starts_at), "SHORT_DATE_FORMAT")
                }
            return _after_change(request, activity, message, default=activity.get_absolute_url())
    return render(request, "activities/activity_complete.html", {"activity": activity, "form": form})


@login_required
@require_POST
def activity_done(request, pk):
    """One click "done" (My day, lists, timelines)."""
    activity = selectors.activity_for(request.user, pk, Action.EDIT)
    services.activity_complete(actor=request.user, activity=activity)
    return _after_change(
        request, activity, _("Done: %(subject)s") % {"subject": activity.subject}, default=activity.get_absolute_url()
    )


@login_required
@require_POST
def activity_cancel(request, pk):
    activity = selectors.activity_for(request.user, pk, Action.EDIT)
    services.activity_cancel(actor=request.user, activity=activity)
    return _after_change(request, activity, _("The activity was cancelled."), default=activity.get_absolute_url())


@login_required
@require_POST
def activity_reschedule(request, pk):
    activity = selectors.activity_for(request.user, pk, Action.EDIT)
    form = RescheduleForm(request.POST)
    if not form.is_valid():
        if request.htmx:
            return _trigger(HttpResponse(status=204), _("Choose a new time."), changed=False, level="danger")
        messages.error(request, _("Choose a new time."))
        return redirect(_next_url(request, activity.get_absolute_url()))
    try:
        activity = services.activity_reschedule(
            actor=request.user, activity=activity, starts_at=form.new_start(activity)
        )
    except ValidationError as exc:
        message = " ".join(m for ms in exc.message_dict.values() for m in ms) if hasattr(exc, "error_dict") else ""
        if request.htmx:
            return _trigger(HttpResponse(status=204), message or _("Not saved."), changed=False, level="danger")
        messages.error(request, message or _("Not saved."))
        return redirect(_next_url(request, activity.get_absolute_url()))
    when = formats.date_format(timezone.localtime(activity.starts_at), "SHORT_DATETIME_FORMAT")
    return _after_change(
        request, activity, _("Moved to %(when)s.") % {"when": when}, default=activity.get_absolute_url()
    )


@login_required
@require_GET
def lookup(request, kind):
    """Remote-search options for the account / contact pickers: {"results": [{id, label}]}."""
    from django.db.models import Q

    from guanxi.customers.models import Account, Contact

    q = (request.GET.get("q") or "").strip()
    if kind == "account":
        qs = permissions.visible(request.user, Account.objects.all())
        if q:
            qs = qs.filter(name__icontains=q)
        rows = [{"id": a.pk, "label": a.name} for a in qs.order_by("name")[:20]]
    elif kind == "contact":
        qs = permissions.visible(request.user, Contact.objects.select_related("account"))
        if q:
            qs = qs.filter(Q(full_name__icontains=q) | Q(email__icontains=q))
        rows = [
            {"id": c.pk, "label": f"{c.full_name} · {c.account}" if c.account_id else c.full_name}
            for c in qs.order_by("full_name")[:20]
        ]
    else:
        raise Http404
    return JsonResponse({"results": rows})


# --- timelines -------------------------------------------------------------------------------


def _timeline_context(request, parent, *, form=None, cursor=None):
    page = paginate(selectors.timeline(request.user, parent), sort="-starts_at", cursor=cursor, limit=20, count=False)
    can_create = _can_create(request.user)
    return {
        "parent": parent,
        "page": page,
        "editable": selectors.editable_ids(request.user, page.items),
        "kind_icons": KIND_ICONS,
        "form": form if form is not None else (QuickLogForm() if can_create else None),
        "can_create": can_create,
        "now": timezone.now(),
    }


@login_required
@require_GET
def timeline(request):
    """An account's, contact's or other record's activities; include it with hx-get on detail pages."""
    parent = selectors.timeline_parent(request.user, request.GET)
    cursor = request.GET.get("cursor") or None
    if cursor:
        try:
            context = _timeline_context(request, parent, cursor=cursor)
        except InvalidCursor:
            return HttpResponseBadRequest()
        return render(request, "activities/_timeline_items.html", context)
    return render(request, "activities/timeline.html", _timeline_context(request, parent))


@login_required
@require_POST
def timeline_log(request):
    """The quick "log an activity" form of a timeline (htmx): answers with the refreshed timeline."""
    parent = selectors.timeline_parent(request.user, request.POST)
    permissions.require(request.user, ACTIVITY, Action.CREATE)
    form = QuickLogForm(request.POST)
    message = None
    if form.is_valid():
        data = form.service_data()
        if parent.kind == "regarding":
            data.update(regarding_type=parent.content_type_id, regarding_id=parent.obj.pk)
            for name in ("account", "contact"):
                if getattr(parent.obj, f"{name}_id", None):
                    data[name] = getattr(parent.obj, f"{name}_id")
        else:
            data[parent.kind] = parent.obj
        try:
            activity = services.activity_create(
                actor=request.user, data=data, follow_up_due=form.cleaned_data.get("follow_up_due")
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            message = _("Logged: %(subject)s") % {"subject": activity.subject}
            form = QuickLogForm(
                initial={"kind": activity.kind, "starts_at": timezone.localtime().replace(second=0, microsecond=0)}
            )
    response = render(request, "activities/timeline.html", _timeline_context(request, parent, form=form))
    if message:
        _trigger(response, message, changed=False)
    return response


# --- calendar ---------------------------------------------------------------------------------


def _first_weekday() -> int:
    """Python weekday (0 = Monday) the week starts on, from the active language's format."""
    return (int(formats.get_format("FIRST_DAY_OF_WEEK")) + 6) % 7


def _calendar_context(request, *, feed_url: str | None = None) -> dict:
    from guanxi.org.selectors import member_user_choices, member_users

    view = request.GET.get("view") if request.GET.get("view") in ("month", "week") else "month"
    today = timezone.localdate()
    try:
        anchor = datetime.date.fromisoformat(request.GET.get("date") or "")
    except ValueError:
        anchor = today
    who_param = request.GET.get("who") or ""
    who = None
    if who_param == "all":
        who = "all"
    elif who_param.isdigit() and int(who_param) != request.user.pk:
        who = member_users().filter(pk=int(who_param)).first()
        if who is None:
            who_param = ""
    first = _first_weekday()
    start, end = selectors.calendar_range(view, anchor, first)
    events = selectors.calendar_events(request.user, start=start, end=end, who=who)
    days = selectors.calendar_days(
        events, start=start, end=end, month=anchor.month if view == "month" else None, today=today
    )
    if view == "month":
        first_of_month = anchor.replace(day=1)
        prev_date = (first_of_month - datetime.timedelta(days=1)).replace(day=1)
        next_date = (first_of_month + datetime.timedelta(days=32)).replace(day=1)
        title = formats.date_format(first_of_month, "YEAR_MONTH_FORMAT")
    else:
        prev_date, next_date = anchor - datetime.timedelta(days=7), anchor + datetime.timedelta(days=7)
        title = f"{formats.date_format(start, 'MONTH_DAY_FORMAT')} – {formats.date_format(end - datetime.timedelta(days=1), 'MONTH_DAY_FORMAT')}, {start.year}"
    weekday_names = [formats.date_format(start + datetime.timedelta(days=i), "D") for i in range(7)]
    feed_token = services.calendar_feed_tokens(request.user).first()
    return {
        "view": view,
        "anchor": anchor,
        "today": today,
        "days": days,
        "weekday_names": weekday_names,
        "title": title,
        "prev_date": prev_date,
        "next_date": next_date,
        "who": who_param,
        "members": [(pk, name) for pk, name in member_user_choices() if pk != request.user.pk],
        "feed_token": feed_token,
        "feed_url": feed_url,
        "can_create": _can_create(request.user),
        "event_count": len(events),
    }


@login_required
def calendar(request):
    return render(request, "activities/calendar.html", _calendar_context(request))


@login_required
@require_POST
def calendar_feed_manage(request):
    """Create / reset (revoking the old secret) or switch off the user's iCalendar feed URL."""
    feed_url = None
    if request.POST.get("action") == "disable":
        services.calendar_feed_disable(user=request.user)
        message = _("Your calendar feed was switched off.")
    else:
        _token, secret = services.calendar_feed_reset(user=request.user)
        feed_url = request.build_absolute_uri(reverse("activities:calendar_feed", args=[secret]))
        message = _("Your new calendar feed address is ready. The old address no longer works.")
    if request.htmx:
        response = render(
            request,
            "activities/_calendar_feed.html",
            {"feed_token": services.calendar_feed_tokens(request.user).first(), "feed_url": feed_url},
        )
        return _trigger(response, message, changed=False)
    messages.success(request, message)
    return render(request, "activities/calendar.html", _calendar_context(request, feed_url=feed_url))


@require_safe
def calendar_feed(request, secret):
    """The iCalendar feed. Authenticated only by the secret in its URL (no session); 404 otherwise."""
    from guanxi.identity.models import ApiToken
    from guanxi.identity.services import api_token_authenticate
    from guanxi.tenancy.middleware import client_ip

    token = api_token_authenticate(secret, ip=client_ip(request))
    if token is None or token.scope != ApiToken.Scope.CALENDAR:
        raise Http404
    user, tenant = token.user, token.tenant
    meta = RequestMeta(ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:300], via="api")
    with tenant_context(tenant, actor=user, meta=meta), services.recipient_locale(user, tenant):
        activities = selectors.feed_activities(user)
        body = ical.build_feed(
            activities,
            tenant=tenant,
            name=_("%(name)s · %(tenant)s") % {"name": user, "tenant": tenant.name},
            absolute_url=request.build_absolute_uri,
        )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="guanxi.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response


# --- notifications ------------------------------------------------------------------------------


@login_required
def notifications(request):
    unread_only = request.GET.get("unread") == "1"
    page = _page(
        selectors.notifications_for(request.user, unread_only=unread_only), request, sort="-created_at", limit=30
    )
    return render(
        request,
        "activities/notifications.html",
        {"page": page, "unread_only": unread_only, "unread": selectors.unread_count(request.user)},
    )


@login_required
@require_GET
def notification_badge(request):
    count = selectors.unread_count(request.user) if request.tenant is not None else 0
    return render(request, "activities/_notification_badge.html", {"count": count})


@login_required
def notification_open(request, pk):
    """Follow a notification's link, marking it read."""
    notification = selectors.notification_for(request.user, pk)
    services.notification_mark_read(user=request.user, notification=notification)
    url = notification.url
    if not url or not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        url = reverse("activities:notifications")
    return redirect(url)


@login_required
@require_POST
def notification_read(request, pk):
    notification = selectors.notification_for(request.user, pk)
    services.notification_mark_read(user=request.user, notification=notification)
    if request.htmx:
        return render(request, "activities/_notification_item.html", {"n": notification})
    return redirect(_next_url(request, reverse("activities:notifications")))


@login_required
@require_POST
def notifications_read_all(request):
    n = services.notifications_mark_all_read(user=request.user)
    messages.success(request, _("All notifications are marked read.") if n else _("No unread notifications."))
    return redirect(reverse("activities:notifications"))


# --- follow-up plans ---------------------------------------------------------------------------


def _require_plan_admin(user) -> None:
    if not services.can_administer_plans(user):
        raise PermissionDenied


@login_required
def plan_list(request):
    _require_plan_admin(request.user)
    return render(request, "activities/plan_list.html", {"plans": list(selectors.plans())})


@login_required
def plan_edit(request, pk=None):
    _require_plan_admin(request.user)
    plan = selectors.plan_for(pk) if pk is not None else FollowUpPlan()
    form = FollowUpPlanForm(request.POST or None, instance=plan)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.followup_plan_save(actor=request.user, plan=form.instance)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The plan was saved."))
            return redirect("activities:plan_detail", plan.pk)
    return render(request, "activities/plan_form.html", {"form": form, "plan": plan if plan.pk else None})


@login_required
def plan_detail(request, pk):
    _require_plan_admin(request.user)
    plan = selectors.plan_for(pk)
    return render(
        request,
        "activities/plan_detail.html",
        {"plan": plan, "steps": selectors.plan_steps(plan), "step_form": FollowUpStepForm()},
    )


@login_required
def plan_delete(request, pk):
    _require_plan_admin(request.user)
    plan = selectors.plan_for(pk)
    if request.method == "POST":
        services.followup_plan_delete(actor=request.user, plan=plan)
        messages.success(request, _("The plan was deleted."))
        return redirect("activities:plan_list")
    return render(request, "activities/plan_confirm_delete.html", {"plan": plan})


@login_required
def step_create(request, pk):
    _require_plan_admin(request.user)
    plan = selectors.plan_for(pk)
    form = FollowUpStepForm(request.POST or None, instance=FollowUpStep(plan=plan))
    if request.method == "POST" and form.is_valid():
        try:
            services.followup_step_save(actor=request.user, step=form.instance)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The step was added."))
            return redirect("activities:plan_detail", plan.pk)
    return render(request, "activities/step_form.html", {"form": form, "plan": plan, "step": None})


@login_required
def step_edit(request, pk):
    _require_plan_admin(request.user)
    step = selectors.step_for(pk)
    form = FollowUpStepForm(request.POST or None, instance=step)
    if request.method == "POST" and form.is_valid():
        try:
            services.followup_step_save(actor=request.user, step=form.instance)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The step was saved."))
            return redirect("activities:plan_detail", step.plan_id)
    return render(request, "activities/step_form.html", {"form": form, "plan": step.plan, "step": step})


@login_required
@require_POST
def step_delete(request, pk):
    _require_plan_admin(request.user)
    step = selectors.step_for(pk)
    plan_id = step.plan_id
    services.followup_step_delete(actor=request.user, step=step)
    messages.success(request, _("The step was removed."))
    return redirect("activities:plan_detail", plan_id)


@login_required
@require_POST
def step_move(request, pk):
    _require_plan_admin(request.user)
    step = selectors.step_for(pk)
    services.followup_step_move(
        actor=request.user, step=step, offset=-1 if request.POST.get("direction") == "up" else 1
    )
    return redirect("activities:plan_detail", step.plan_id)


@login_required
def apply_plan(request):
    """Apply a follow-up plan to an account or contact: an inline card (htmx) on their pages, or a page.

    ``?account=<id>`` or ``?contact=<id>``; the record must be visible (404 otherwise).
    """
    from guanxi.customers.models import Account, Contact

    user = request.user
    params = request.POST if request.method == "POST" else request.GET
    account = contact = None
    if str(params.get("account", "")).isdigit():
        account = permissions.get_for(user, Account.objects.all(), params["account"])
    if str(params.get("contact", "")).isdigit():
        contact = permissions.get_for(user, Contact.objects.select_related("account"), params["contact"])
    if account is None and contact is None:
        raise Http404
    if not _can_create(user):
        if request.htmx and request.method == "GET":
            return HttpResponse("")  # nothing to offer on the record's page
        raise PermissionDenied
    target = contact or account
    form = ApplyPlanForm(
        request.POST or None,
        user=user,
        initial={"account": account.pk if account else None, "contact": contact.pk if contact else None},
    )
    has_plans = form.fields["plan"].queryset.exists()
    can_admin = services.can_administer_plans(user)
    if request.htmx and request.method == "GET" and not has_plans and not can_admin:
        return HttpResponse("")
    created = None
    message = ""
    if request.method == "POST" and form.is_valid():
        try:
            created = services.followup_plan_apply(
                actor=user,
                plan=form.cleaned_data["plan"],
                account=account,
                contact=contact,
                start=form.cleaned_data["start"],
                owner=form.cleaned_data["owner"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            message = ngettext(
                "%(count)d follow-up task was planned.", "%(count)d follow-up tasks were planned.", len(created)
            ) % {"count": len(created)}
            if not request.htmx:
                messages.success(request, message)
                return redirect(_next_url(request, record_url(target) or reverse("activities:my_day")))
            form = ApplyPlanForm(
                user=user,
                initial={"account": account.pk if account else None, "contact": contact.pk if contact else None},
            )
    context = {"form": form, "target": target, "created": created, "has_plans": has_plans, "can_admin": can_admin}
    if request.htmx:
        response = render(request, "activities/_apply_plan_card.html", context)
        return _trigger(response, message) if created else response
    return render(request, "activities/apply_plan.html", context)
