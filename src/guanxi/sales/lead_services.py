"""Writes about leads: capture (by hand, web-to-lead, import, API), status flow, scoring rules,
assignment rules, duplicate check and conversion to account + contact + opportunity.

``lead_create`` / ``lead_update`` are the entry points for every channel; the import engine calls
``lead_create(actor=…, data=…)`` like the API does.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import zoneinfo
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Max, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from guanxi.access import permissions
from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.platform import context, crud
from guanxi.platform.phones import normalize_phone
from guanxi.platform.registry import Action

from .models import Lead, LeadAssignee, LeadAssignmentRule, LeadRescoreRun, LeadScoringRule, WebToLeadForm

LEAD = "sales.lead"

# The status flow: where a lead may go from each status (conversion is its own action).
TRANSITIONS = {
    Lead.Status.NEW: {Lead.Status.CONTACTED, Lead.Status.QUALIFIED, Lead.Status.UNQUALIFIED},
    Lead.Status.CONTACTED: {Lead.Status.QUALIFIED, Lead.Status.UNQUALIFIED},
    Lead.Status.QUALIFIED: {Lead.Status.CONTACTED, Lead.Status.UNQUALIFIED},
    Lead.Status.UNQUALIFIED: {Lead.Status.CONTACTED, Lead.Status.QUALIFIED},
    Lead.Status.CONVERTED: set(),
}
CONVERTIBLE = {Lead.Status.NEW, Lead.Status.CONTACTED, Lead.Status.QUALIFIED}


def _pk(value):
    return getattr(value, "pk", value)


def _require_admin(actor) -> None:
    if actor is not None and not permissions.is_tenant_admin(actor):
        raise PermissionDenied


# --- scoring ----------------------------------------------------------------------------------------

# Fields a scoring rule can test: key → (label, kind). "activity.*" count what was done on the lead.
SCORING_FIELDS = {
    "title": (gettext_lazy("Job title"), "text"),
    "company": (gettext_lazy("Company"), "text"),
    "email": (gettext_lazy("Email"), "text"),
    "email_domain": (gettext_lazy("Email domain"), "text"),
    "phone": (gettext_lazy("Phone"), "text"),
    "website": (gettext_lazy("Website"), "text"),
    "industry": (gettext_lazy("Industry"), "choice"),
    "source": (gettext_lazy("Source"), "choice"),
    "campaign": (gettext_lazy("Campaign"), "text"),
    "country": (gettext_lazy("Country"), "text"),
    "province": (gettext_lazy("Province / state"), "text"),
    "city": (gettext_lazy("City"), "text"),
    "business_line": (gettext_lazy("Business line"), "fk"),
    "region": (gettext_lazy("Region"), "fk"),
    "description": (gettext_lazy("Description"), "text"),
    "web_form": (gettext_lazy("Came from a web form"), "fk"),
    "activity.calls_connected": (gettext_lazy("Calls connected"), "count"),
    "activity.meetings_held": (gettext_lazy("Meetings held"), "count"),
    "activity.emails": (gettext_lazy("Emails"), "count"),
    "activity.done": (gettext_lazy("Activities done"), "count"),
}
ENGAGEMENT_COUNTS = ("calls_connected", "meetings_held", "emails", "done")

# Suggested rules a tenant administrator can install with one click.
SUGGESTED_RULES = [
    # (name, field, operator, value, points, category)
    (gettext_lazy("Decision maker by title"), "title", "contains", "总", 10, "fit"),
    (gettext_lazy("Director or head by title"), "title", "contains", "director", 10, "fit"),
    (gettext_lazy("Company email address"), "email_domain", "is_set", "", 5, "fit"),
    (gettext_lazy("Target industries"), "industry", "in", "it,manufacturing,finance,healthcare", 15, "fit"),
    (gettext_lazy("Referral or partner"), "source", "in", "referral,partner", 15, "fit"),
    (gettext_lazy("Has a phone number"), "phone", "is_set", "", 5, "fit"),
    (gettext_lazy("Sent the web form"), "web_form", "is_set", "", 10, "engagement"),
    (gettext_lazy("Call connected"), "activity.calls_connected", "greater_than", "0", 15, "engagement"),
    (gettext_lazy("Meeting held"), "activity.meetings_held", "greater_than", "0", 25, "engagement"),
    (gettext_lazy("Emails exchanged"), "activity.emails", "greater_than", "1", 10, "engagement"),
]
FREE_MAIL = {"qq.com", "163.com", "126.com", "gmail.com", "hotmail.com", "outlook.com", "sina.com", "yahoo.com"}


def scoring_field_choices() -> list[tuple[str, str]]:
    """(key, label) of every field a rule may test, custom fields of leads included."""
    from guanxi.customization.services import definitions_for

    rows = [(k, str(label)) for k, (label, _kind) in SCORING_FIELDS.items()]
    rows += [(f"custom.{d.key}", str(d.label)) for d in definitions_for(LEAD)]
    return rows


def _rules() -> list[LeadScoringRule]:
    cache = context.context_cache()
    if "sales_scoring_rules" not in cache:
        cache["sales_scoring_rules"] = list(LeadScoringRule.objects.filter(is_active=True).order_by("position", "pk"))
    return cache["sales_scoring_rules"]


def _field_value(lead: Lead, field: str, counts: dict, names: dict):
    if field.startswith("activity."):
        return counts.get(field[9:], 0)
    if field.startswith("custom."):
        return (lead.custom or {}).get(field[7:])
    if field == "email_domain":
        domain = lead.email.rpartition("@")[2].lower() if lead.email else ""
        return "" if domain in FREE_MAIL else domain
    if field in ("business_line", "region"):
        pk = getattr(lead, f"{field}_id")
        return names.get((field, pk), "") if pk else ""
    if field == "web_form":
        return lead.web_form_id or ""
    return getattr(lead, field, "")


def _number(value) -> Decimal | None:
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def rule_matches(rule: LeadScoringRule, value) -> bool:
    """Does ``value`` (text, number, list or None) satisfy ``rule``?"""
    op = rule.operator
    if op == LeadScoringRule.Operator.IS_SET:
        return bool(value) and value != 0
    if op == LeadScoringRule.Operator.GREATER_THAN:
        a, b = _number(value if value not in (None, "") else "x"), _number(rule.value)
        return a is not None and b is not None and a > b
    items = value if isinstance(value, list) else [value]
    texts = [str(v).strip().lower() for v in items if v not in (None, "")]
    wanted = (rule.value or "").strip().lower()
    if op == LeadScoringRule.Operator.EQUALS:
        if any(_number(t) is not None for t in texts) and _number(wanted) is not None:
            return any(_number(t) == _number(wanted) for t in texts)
        return wanted in texts
    if op == LeadScoringRule.Operator.IN:
        options = {v.strip().lower() for v in wanted.split(",") if v.strip()}
        return any(t in options for t in texts)
    if op == LeadScoringRule.Operator.CONTAINS:
        return bool(wanted) and any(wanted in t for t in texts)
    return False


def engagement_counts(lead_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """{lead id: {calls_connected, meetings_held, emails, done}} from the activities about the leads (one query)."""
    from django.contrib.contenttypes.models import ContentType

    from guanxi.activities.models import Activity

    ids = list(lead_ids)
    if not ids:
        return {}
    ct = ContentType.objects.get_for_model(Lead)
    done = Q(status=Activity.Status.DONE)
    rows = (
        Activity.objects.filter(regarding_type=ct, regarding_id__in=ids)
        .order_by()
        .values("regarding_id")
        .annotate(
            calls_connected=Count("pk", filter=done & Q(kind=Activity.Kind.CALL, outcome=Activity.Outcome.CONNECTED)),
            meetings_held=Count("pk", filter=done & Q(kind=Activity.Kind.MEETING)),
            emails=Count("pk", filter=done & Q(kind=Activity.Kind.EMAIL)),
            done=Count("pk", filter=done),
        )
    )
    return {row.pop("regarding_id"): row for row in rows}


def _names(leads: list[Lead]) -> dict:
    from guanxi.org.models import BusinessLine, OrgUnit

    names = {}
    line_ids = {lead.business_line_id for lead in leads if lead.business_line_id}
    unit_ids = {lead.region_id for lead in leads if lead.region_id}
    if line_ids:
        names.update(
            {
                ("business_line", pk): n
                for pk, n in BusinessLine.objects.filter(pk__in=line_ids).values_list("pk", "name")
            }
        )
    if unit_ids:
        names.update({("region", pk): n for pk, n in OrgUnit.objects.filter(pk__in=unit_ids).values_list("pk", "name")})
    return names


def lead_score(lead: Lead, *, rules: list[LeadScoringRule], counts: dict, names: dict) -> tuple[int, dict]:
    """(score, breakdown) of ``lead`` under ``rules``; the breakdown lists every rule that matched."""
    items, totals = [], {"fit": 0, "engagement": 0}
    for rule in rules:
        if rule_matches(rule, _field_value(lead, rule.field, counts, names)):
            items.append({"rule": rule.pk, "name": rule.name, "category": rule.category, "points": rule.points})
            totals[rule.category] = totals.get(rule.category, 0) + rule.points
    score = sum(totals.values())
    return score, {"fit": totals["fit"], "engagement": totals["engagement"], "items": items}


def lead_rescore(lead: Lead) -> Lead:
    """Recompute and store the lead's score (computed data: not audited as a change by a person)."""
    rules = _rules()
    counts = engagement_counts([lead.pk]).get(lead.pk, {})
    score, breakdown = lead_score(lead, rules=rules, counts=counts, names=_names([lead]))
    if score != lead.score or breakdown != lead.score_breakdown:
        Lead.objects.filter(pk=lead.pk).update(score=score, score_breakdown=breakdown)
        lead.score, lead.score_breakdown = score, breakdown
    return lead


def lead_rescore_by_id(lead_id: int) -> None:
    lead = Lead.objects.filter(pk=lead_id).first()
    if lead is not None:
        lead_rescore(lead)


def leads_rescore_all(*, batch_size: int = 500) -> int:
    """Recompute every lead's score in the current tenant (after rules change; the nightly task). Returns
    how many scores changed."""
    context.context_cache().pop("sales_scoring_rules", None)
    rules = _rules()
    changed = 0
    last = 0
    while True:
        leads = list(Lead.objects.filter(pk__gt=last).order_by("pk")[:batch_size])
        if not leads:
            return changed
        last = leads[-1].pk
        counts = engagement_counts([lead.pk for lead in leads])
        names = _names(leads)
        dirty = []
        for lead in leads:
            score, breakdown = lead_score(lead, rules=rules, counts=counts.get(lead.pk, {}), names=names)
            if score != lead.score or breakdown != lead.score_breakdown:
                lead.score, lead.score_breakdown = score, breakdown
                dirty.append(lead)
        if dirty:
            Lead.objects.bulk_update(dirty, ["score", "score_breakdown"])
            changed += len(dirty)


# Local hours of the tenant in which the nightly recomputation of scores may start.
NIGHTLY_RESCORE_HOURS = range(2, 5)


def _tenant_now(now: datetime.datetime) -> datetime.datetime:
    try:
        tz = zoneinfo.ZoneInfo(context.require_tenant().time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = datetime.UTC
    return now.astimezone(tz)


def leads_nightly_rescore(now: datetime.datetime | None = None) -> int | None:
    """Recompute every lead's score once a night (the scheduler asks every minute): in the tenant's night hours,
    if tonight's run is not claimed yet. Returns how many scores changed, or None when it did not run.

    Scores follow from the rules and the leads' activities as they change; the nightly run catches what
    changed around them (records written in bulk, organisation names, custom fields, deleted activities).
    """
    local = _tenant_now(now or timezone.now())
    if local.hour not in NIGHTLY_RESCORE_HOURS:
        return None
    run, created = LeadRescoreRun.objects.get_or_create(day=local.date())
    if not created:
        return None
    changed = leads_rescore_all()
    LeadRescoreRun.objects.filter(pk=run.pk).update(finished_at=timezone.now(), changed=changed)
    return changed


def last_nightly_rescore() -> LeadRescoreRun | None:
    return LeadRescoreRun.objects.order_by("-day").first()


def _clean_rule(rule: LeadScoringRule) -> None:
    valid_fields = dict(scoring_field_choices())
    errors = {}
    if rule.field not in valid_fields:
        errors["field"] = [_("Choose a field.")]
    if rule.operator == LeadScoringRule.Operator.GREATER_THAN and _number(rule.value) is None:
        errors["value"] = [_("Enter a number to compare with.")]
    if rule.operator not in (LeadScoringRule.Operator.IS_SET,) and not (rule.value or "").strip():
        errors.setdefault("value", [_("Enter the value to compare with.")])
    if rule.points is None or not -1000 <= rule.points <= 1000:
        errors["points"] = [_("Enter points between -1000 and 1000.")]
    try:
        rule.full_clean()
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def scoring_rule_save(*, actor, rule: LeadScoringRule, rescore: bool = True) -> LeadScoringRule:
    """Create or change a scoring rule (administrators); every lead's score is recomputed."""
    _require_admin(actor)
    creating = rule.pk is None
    before = {} if creating else audit.snapshot(LeadScoringRule.objects.get(pk=rule.pk))
    rule.value = (rule.value or "").strip()
    _clean_rule(rule)
    if creating:
        top = LeadScoringRule.objects.aggregate(m=Max("position"))["m"]
        rule.position = 0 if top is None else top + 1
    rule.save()
    changes = audit.diff(before, audit.snapshot(rule))
    audit.record_change(AuditAction.CREATE if creating else AuditAction.UPDATE, rule, changes)
    if rescore:
        leads_rescore_all()
    return rule


@transaction.atomic
def scoring_rule_delete(*, actor, rule: LeadScoringRule) -> None:
    _require_admin(actor)
    audit.record_deleted(rule)
    rule.delete()
    leads_rescore_all()


@transaction.atomic
def scoring_rules_install_suggested(*, actor) -> int:
    """Add the suggested rules that the tenant does not have yet (by field and value)."""
    _require_admin(actor)
    have = set(LeadScoringRule.objects.values_list("field", "operator", "value"))
    added = 0
    for name, field, operator, value, points, category in SUGGESTED_RULES:
        if (field, operator, value) in have:
            continue
        rule = LeadScoringRule(
            name=str(name), field=field, operator=operator, value=value, points=points, category=category
        )
        scoring_rule_save(actor=actor, rule=rule, rescore=False)
        added += 1
    if added:
        leads_rescore_all()
    return added


# --- assignment -------------------------------------------------------------------------------------


def _rule_matches(rule: LeadAssignmentRule, data: dict, region_path: str | None) -> bool:
    if rule.region_id and not (region_path and region_path.startswith(rule.region.path)):
        return False
    if rule.business_line_id and _pk(data.get("business_line")) != rule.business_line_id:
        return False
    return not (rule.source and data.get("source") != rule.source)


def assignment_pick_owner(data: dict):
    """The owner the first matching active assignment rule gives a new lead with ``data``, or None.

    Round robin keeps its pointer on the rule row, locked with SELECT … FOR UPDATE (PostgreSQL) so
    concurrent web-form posts never hand out the same turn twice.
    """
    from guanxi.org.models import OrgUnit

    rules = list(LeadAssignmentRule.objects.filter(is_active=True).select_related("region").order_by("position", "pk"))
    if not rules:
        return None
    region_path = None
    if data.get("region"):
        region = data["region"]
        region_path = (
            region.path
            if isinstance(region, OrgUnit)
            else OrgUnit.objects.filter(pk=region).values_list("path", flat=True).first()
        )
    for rule in rules:
        if not _rule_matches(rule, data, region_path):
            continue
        links = list(
            LeadAssignee.objects.filter(rule=rule, member__is_active=True)
            .select_related("member__user")
            .order_by("position", "pk")
        )
        users = [link.member.user for link in links]
        if not users:
            continue
        if rule.strategy == LeadAssignmentRule.Strategy.FIXED:
            return users[0]
        with transaction.atomic():
            index = (
                LeadAssignmentRule.objects.select_for_update()
                .filter(pk=rule.pk)
                .values_list("next_index", flat=True)
                .get()
            )
            LeadAssignmentRule.objects.filter(pk=rule.pk).update(next_index=(index + 1) % len(users))
        return users[index % len(users)]
    return None


@transaction.atomic
def assignment_rule_save(*, actor, rule: LeadAssignmentRule, member_ids: Iterable[int]) -> LeadAssignmentRule:
    """Create or change an assignment rule and its assignees (in the order given)."""
    from guanxi.org.models import Member

    _require_admin(actor)
    creating = rule.pk is None
    before = {} if creating else audit.snapshot(LeadAssignmentRule.objects.get(pk=rule.pk))
    ids = []
    for pk in member_ids:
        if pk not in ids:
            ids.append(int(pk))
    members = {m.pk: m for m in Member.objects.filter(pk__in=ids).select_related("user")}
    errors = {}
    if len(members) != len(ids):
        errors["assignees"] = [_("Select members of your company.")]
    elif not ids:
        errors["assignees"] = [_("Choose at least one person.")]
    try:
        rule.full_clean(exclude=["assignees"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    if creating:
        top = LeadAssignmentRule.objects.aggregate(m=Max("position"))["m"]
        rule.position = 0 if top is None else top + 1
    rule.save()
    old = list(LeadAssignee.objects.filter(rule=rule).order_by("position", "pk").values_list("member_id", flat=True))
    changes = audit.diff(before, audit.snapshot(rule))
    if old != ids:
        LeadAssignee.objects.filter(rule=rule).delete()
        LeadAssignee.objects.bulk_create(
            [LeadAssignee(rule=rule, member_id=pk, position=i) for i, pk in enumerate(ids)]
        )
        LeadAssignmentRule.objects.filter(pk=rule.pk).update(next_index=0)
        changes["assignees"] = [None if creating else len(old), ", ".join(str(members[pk].user) for pk in ids)]
    audit.record_change(AuditAction.CREATE if creating else AuditAction.UPDATE, rule, changes)
    return rule


@transaction.atomic
def assignment_rule_delete(*, actor, rule: LeadAssignmentRule) -> None:
    _require_admin(actor)
    audit.record_deleted(rule)
    rule.delete()


@transaction.atomic
def assignment_rule_move(*, actor, rule: LeadAssignmentRule, offset: int) -> None:
    _require_admin(actor)
    rules = list(LeadAssignmentRule.objects.order_by("position", "pk"))
    index = next(i for i, r in enumerate(rules) if r.pk == rule.pk)
    target = index + offset
    if offset == 0 or not 0 <= target < len(rules):
        return
    rules[index], rules[target] = rules[target], rules[index]
    for i, r in enumerate(rules):
        r.position = i
    LeadAssignmentRule.objects.bulk_update(rules, ["position"])
    audit.record(AuditAction.UPDATE, rule, changes={"order": [index + 1, target + 1]})


def _notify_new_owner(actor, lead: Lead) -> None:
    from guanxi.activities.models import Notification
    from guanxi.activities.services import notification_create, recipient_locale

    owner = lead.owner
    if owner is None or (actor is not None and owner.pk == actor.pk):
        return
    with recipient_locale(owner):
        title = _("New lead for you: %(lead)s") % {"lead": lead}
        via = lead.get_source_display() or _("Lead")
        body = _("%(via)s · score %(score)s") % {"via": via, "score": lead.score}
    notification_create(
        user=owner, kind=Notification.Kind.ASSIGNED, title=title, body=body, url=lead.get_absolute_url()
    )


def notify_imported_leads(*, actor, lead_ids) -> int:
    """Tell each owner, once, how many of an import's new leads are theirs (not the importer).

    ``lead_ids`` may be a subquery (the import's journal). Returns the notifications sent.
    """
    from django.db.models import Count
    from django.urls import reverse

    from guanxi.activities.models import Notification
    from guanxi.activities.services import notification_create, recipient_locale
    from guanxi.identity.models import User

    counts = (
        Lead.objects.filter(pk__in=lead_ids, owner__isnull=False)
        .exclude(owner_id=getattr(actor, "pk", None))
        .values("owner_id")
        .annotate(n=Count("pk"))
        .order_by("owner_id")
    )
    owners = {u.pk: u for u in User.objects.filter(pk__in=[c["owner_id"] for c in counts], is_active=True)}
    sent = 0
    for c in counts:
        owner = owners.get(c["owner_id"])
        if owner is None:
            continue
        with recipient_locale(owner):
            title = ngettext(
                "%(n)s new lead for you from an import", "%(n)s new leads for you from an import", c["n"]
            ) % {"n": c["n"]}
            body = _("Imported by %(who)s") % {"who": actor} if actor is not None else ""
        url = f"{reverse('sales:lead_list')}?owner={owner.pk}&status=new"
        notification_create(user=owner, kind=Notification.Kind.ASSIGNED, title=title, body=body, url=url)
        sent += 1
    return sent


# --- leads ----------------------------------------------------------------------------------------


def _normalise(data: dict) -> dict:
    data = dict(data)
    errors = {}
    if data.get("phone"):
        try:
            data["phone"] = normalize_phone(data["phone"])
        except ValidationError as exc:
            errors["phone"] = exc.messages
    if data.get("email"):
        data["email"] = data["email"].strip().lower()
        try:
            validate_email(data["email"])
        except ValidationError:
            errors["email"] = [_("Enter a valid email address.")]
    for name in ("company", "family_name", "given_name", "campaign", "title"):
        if isinstance(data.get(name), str):
            data[name] = data[name].strip()
    if errors:
        raise ValidationError(errors)
    return data


def _check_named(data: dict, lead: Lead | None = None) -> None:
    def value(name):
        return (data[name] if name in data else getattr(lead, name, "")) or ""

    if not (value("company").strip() or value("family_name").strip() or value("given_name").strip()):
        raise ValidationError({"company": _("Give a company or a person's name.")})


def _fallback_owner(web_form: WebToLeadForm | None):
    from guanxi.org.models import Member

    if (
        web_form is not None
        and web_form.created_by_id
        and Member.objects.filter(user_id=web_form.created_by_id, is_active=True).exists()
    ):
        return web_form.created_by
    member = Member.objects.filter(is_active=True, is_admin=True).select_related("user").order_by("pk").first()
    return member.user if member else None


@transaction.atomic
def lead_create(*, actor, data: dict, tags: Iterable | None = None, web_form: WebToLeadForm | None = None) -> Lead:
    """Create a lead from any channel. Without an owner: the web form's owner, else the assignment
    rules, else the actor (else the form's author / an administrator); the new owner is notified."""
    data = _normalise(data)
    _check_named(data)
    status = data.get("status") or Lead.Status.NEW
    if status == Lead.Status.CONVERTED:
        raise ValidationError({"status": _("A new lead cannot start as converted; create it, then use “Convert”.")})
    data["status"] = status
    if web_form is not None:
        data["web_form"] = web_form
    owner = data.get("owner")
    assigned = False
    if owner in (None, ""):
        owner = web_form.default_owner if web_form is not None and web_form.default_owner_id else None
        owner = owner or assignment_pick_owner(data)
        assigned = owner is not None
        owner = owner or actor or _fallback_owner(web_form)
        if owner is None:
            raise ValidationError({"owner": _("Nobody can own this lead; add an assignment rule.")})
        data["owner"] = owner
    if tags is not None:
        data["tags"] = list(tags)
    lead = crud.record_create(entity_key=LEAD, actor=actor, data=data)
    lead_rescore(lead)
    if assigned or (actor is None) or _pk(lead.owner) != _pk(actor):
        _notify_new_owner(actor, lead)
    return lead


@transaction.atomic
def lead_update(*, actor, lead: Lead, data: dict, tags: Iterable | None = None) -> Lead:
    """Change a lead; status changes follow ``TRANSITIONS``; a new owner is notified."""
    data = _normalise(data)
    if any(k in data for k in ("company", "family_name", "given_name")):
        _check_named(data, lead)
    new_status = data.get("status")
    if new_status and new_status != lead.status:
        if new_status not in TRANSITIONS.get(lead.status, set()):
            raise ValidationError(
                {
                    "status": _("A lead cannot go from “%(from)s” to “%(to)s”.")
                    % {"from": lead.get_status_display(), "to": Lead.Status(new_status).label}
                }
            )
        data["status_changed_at"] = timezone.now()
        if new_status != Lead.Status.UNQUALIFIED:
            data.setdefault("unqualified_reason", "")
    elif new_status is not None:
        data.pop("status")
    old_owner = lead.owner_id
    if tags is not None:
        data["tags"] = list(tags)
    lead, changes = crud.record_update(entity_key=LEAD, actor=actor, instance=lead, data=data)
    if changes:
        lead_rescore(lead)
    if lead.owner_id != old_owner:
        _notify_new_owner(actor, lead)
    return lead


@transaction.atomic
def lead_change_status(*, actor, lead: Lead, status: str, reason: str = "") -> Lead:
    if status == Lead.Status.CONVERTED:
        raise ValidationError({"status": _("Use “Convert” to turn the lead into an account and opportunity.")})
    if status not in Lead.Status.values:
        raise ValidationError({"status": _("Choose a status.")})
    data = {"status": status}
    if status == Lead.Status.UNQUALIFIED:
        data["unqualified_reason"] = (reason or "").strip()[:300]
    return lead_update(actor=actor, lead=lead, data=data)


@transaction.atomic
def lead_delete(*, actor, lead: Lead) -> None:
    crud.record_delete(entity_key=LEAD, actor=actor, instance=lead)


# --- duplicates and conversion -----------------------------------------------------------------------

COMPANY_SUFFIXES = re.compile(
    r"(股份有限公司|有限责任公司|有限公司|集团|公司|\b(co|corp|corporation|inc|incorporated|ltd|limited|llc|gmbh|ag|sa|plc|pte|group)\b\.?)",
    re.IGNORECASE,
)


def company_core(name: str) -> str:
    """The distinctive part of a company name: "北京华信科技有限公司" → "北京华信科技", "Acme Co., Ltd." → "acme"."""
    text = COMPANY_SUFFIXES.sub(" ", (name or "").lower())
    text = re.sub(r"[\s,.\-()（）·&]+", " ", text).strip()
    return text


@dataclasses.dataclass
class Match:
    obj: object
    reasons: list[str]


@dataclasses.dataclass
class Duplicates:
    accounts: list[Match]
    contacts: list[Match]
    hidden: int  # matching records the user may not see

    @property
    def any(self) -> bool:
        return bool(self.accounts or self.contacts or self.hidden)


def lead_duplicates(user, lead: Lead, *, limit: int = 10) -> Duplicates:
    """Accounts and contacts that look like the lead: same email or phone (normalised contact points),
    or a similar company name. Only records ``user`` may see are listed; the rest are counted."""
    from guanxi.customers.models import Account, Contact, ContactPoint

    reasons_a: dict[int, list[str]] = {}
    reasons_c: dict[int, list[str]] = {}
    points = Q()
    if lead.email:
        points |= Q(kind=ContactPoint.Kind.EMAIL, value=lead.email.lower())
    if lead.phone:
        points |= Q(kind=ContactPoint.Kind.PHONE, value=lead.phone)
    if points:
        for kind, account_id, contact_id in ContactPoint.objects.filter(points).values_list(
            "kind", "account_id", "contact_id"
        )[:200]:
            label = _("same email") if kind == ContactPoint.Kind.EMAIL else _("same phone")
            if account_id:
                reasons_a.setdefault(account_id, []).append(label)
            if contact_id:
                reasons_c.setdefault(contact_id, []).append(label)
    core = company_core(lead.company)
    if len(core) >= 2:
        first_word = core.split(" ")[0] if " " in core and len(core.split(" ")[0]) >= 3 else core
        for pk, name in Account.objects.filter(name__icontains=first_word).values_list("pk", "name")[:200]:
            other = company_core(name)
            if other and (other == core or other in core or core in other):
                reasons_a.setdefault(pk, []).append(_("similar company name"))
    if lead.full_name:
        contacts_named = Contact.objects.filter(full_name__iexact=lead.full_name)
        if reasons_a:
            contacts_named = contacts_named.filter(
                Q(account_id__in=list(reasons_a)) | Q(account_links__account_id__in=list(reasons_a))
            )
        elif not (lead.email or lead.phone):
            contacts_named = contacts_named.none()
        for pk in contacts_named.values_list("pk", flat=True).distinct()[:50]:
            reasons_c.setdefault(pk, []).append(pgettext("person", "same name"))
    seen_accounts = permissions.visible(user, Account.objects.filter(pk__in=list(reasons_a))).select_related("owner")
    seen_contacts = permissions.visible(user, Contact.objects.filter(pk__in=list(reasons_c))).select_related(
        "owner", "account"
    )
    accounts = [Match(a, sorted(set(reasons_a[a.pk]))) for a in seen_accounts.order_by("name")[:limit]]
    contacts = [Match(c, sorted(set(reasons_c[c.pk]))) for c in seen_contacts.order_by("full_name")[:limit]]
    hidden = (len(reasons_a) - seen_accounts.count()) + (len(reasons_c) - seen_contacts.count())
    return Duplicates(accounts=accounts, contacts=contacts, hidden=max(0, hidden))


@dataclasses.dataclass
class Conversion:
    lead: Lead
    account: object
    contact: object | None
    opportunity: object | None
    created_account: bool
    created_contact: bool


def _visible_or_error(actor, model, obj, field: str, action=Action.VIEW):
    if obj is None or actor is None:
        return obj
    try:
        return permissions.get_for(actor, model._default_manager.all(), _pk(obj), action)
    except Http404:
        raise ValidationError({field: _("Select a record you can see.")})


@transaction.atomic
def lead_convert(
    *,
    actor,
    lead: Lead,
    account=None,
    contact=None,
    create_contact: bool = True,
    create_opportunity: bool = True,
    opportunity_data: dict | None = None,
) -> Conversion:
    """Turn a lead into (new or existing) account + contact + opportunity, in one transaction.

    ``account`` / ``contact``: existing records to link (the actor must see them); None creates
    them from the lead. The lead's activities are attached to the account and contact so they show
    on their timelines, and stay on the lead's; the lead stays, converted, with links to all three.
    """
    from guanxi.activities import services as activity_services
    from guanxi.activities.models import Activity
    from guanxi.customers import services as customer_services
    from guanxi.customers.models import Account, AccountContact, Contact, LifecycleStage

    from . import services as sales_services

    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, lead)
    if lead.status not in CONVERTIBLE:
        raise ValidationError(
            _("A lead that is “%(status)s” cannot be converted.") % {"status": lead.get_status_display()}
        )
    account = _visible_or_error(actor, Account, account, "account")
    contact = _visible_or_error(actor, Contact, contact, "contact")
    created_account = account is None
    common = {
        "owner": lead.owner,
        "country": lead.country,
        "province": lead.province,
        "city": lead.city,
        "district": lead.district,
        "street": lead.street,
        "postal_code": lead.postal_code,
    }
    if account is None:
        is_person = not lead.company
        account = customer_services.account_create(
            actor=actor,
            data={
                **common,
                "name": lead.company or lead.full_name,
                "kind": Account.Kind.INDIVIDUAL if is_person else Account.Kind.ORGANIZATION,
                "industry": lead.industry,
                "website": lead.website,
                "phone": lead.phone if is_person else "",
                "email": lead.email if is_person else "",
                "source": lead.source,
                "region": lead.region,
                "business_line": lead.business_line,
                "lifecycle_stage": LifecycleStage.OPPORTUNITY if create_opportunity else LifecycleStage.PROSPECT,
                "description": lead.description,
            },
        )
    elif (
        create_opportunity
        and account.lifecycle_stage == LifecycleStage.PROSPECT
        and (actor is None or permissions.can(actor, Action.EDIT, account))
    ):
        customer_services.account_change_stage(actor=actor, account=account, stage=LifecycleStage.OPPORTUNITY)
    created_contact = False
    if contact is not None:
        if not AccountContact.objects.filter(account=account, contact=contact).exists():
            try:
                customer_services.contact_link_account(actor=actor, contact=contact, account=account)
            except Http404:
                raise ValidationError({"contact": _("You may not change this contact to link it to the account.")})
    elif create_contact and (lead.family_name or lead.given_name):
        contact = customer_services.contact_create(
            actor=actor,
            data={
                **common,
                "family_name": lead.family_name,
                "given_name": lead.given_name,
                "title": lead.title,
                "email": lead.email,
                "phone": lead.phone,
                "account": account,
            },
        )
        created_contact = True
    opportunity = None
    if create_opportunity:
        data = {
            "name": lead.company or lead.full_name,
            "account": account,
            "contact": contact,
            "owner": lead.owner,
            "business_line": lead.business_line,
            "region": lead.region,
            "description": lead.description,
            **(opportunity_data or {}),
        }
        data = {k: v for k, v in data.items() if v is not None or k in ("contact",)}
        opportunity = sales_services.opportunity_create(actor=actor, data=data)
    # The lead's activities show on the account's and contact's timelines from now on.
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(Lead)
    for activity in Activity.objects.filter(regarding_type=ct, regarding_id=lead.pk, account__isnull=True):
        links = {"account": account}
        if contact is not None and activity.contact_id is None:
            links["contact"] = contact
        activity_services.activity_update(actor=None, activity=activity, data=links)
    lead, _changes = crud.record_update(
        entity_key=LEAD,
        actor=actor,
        instance=lead,
        data={
            "status": Lead.Status.CONVERTED,
            "status_changed_at": timezone.now(),
            "converted_at": timezone.now(),
            "converted_by": actor if actor is not None and actor.pk else None,
            "converted_account": account,
            "converted_contact": contact,
            "converted_opportunity": opportunity,
        },
    )
    return Conversion(
        lead=lead,
        account=account,
        contact=contact,
        opportunity=opportunity,
        created_account=created_account,
        created_contact=created_contact,
    )


# --- web-to-lead forms --------------------------------------------------------------------------------

# Lead fields a web form may show, in display order.
WEB_FIELDS = [
    "family_name",
    "given_name",
    "company",
    "title",
    "email",
    "phone",
    "website",
    "industry",
    "country",
    "province",
    "city",
    "description",
]
DEFAULT_WEB_FIELDS = ["family_name", "given_name", "company", "email", "phone", "description"]


def _clean_webform(form: WebToLeadForm) -> None:
    errors = {}
    fields = [f for f in WEB_FIELDS if f in (form.fields or [])]
    if not fields:
        errors["fields"] = [_("Show at least one field.")]
    if not ({"company", "family_name", "given_name"} & set(fields)):
        errors["fields"] = [_("Show the company or a name field.")]
    if not ({"email", "phone"} & set(fields)):
        errors["fields"] = [_("Show the email or the phone field, so you can answer.")]
    form.fields = fields
    form.required_fields = [f for f in WEB_FIELDS if f in (form.required_fields or []) and f in fields]
    if form.default_owner_id:
        from guanxi.org.models import Member

        if not Member.objects.filter(user_id=form.default_owner_id, is_active=True).exists():
            errors["default_owner"] = [_("Select a member of your company.")]
    try:
        form.full_clean(exclude=["fields", "required_fields"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def webform_save(*, actor, form: WebToLeadForm) -> WebToLeadForm:
    _require_admin(actor)
    creating = form.pk is None
    before = {} if creating else audit.snapshot(WebToLeadForm.objects.get(pk=form.pk))
    _clean_webform(form)
    if creating and actor is not None:
        form.created_by = actor
    form.save()
    changes = audit.diff(before, audit.snapshot(form))
    changes.pop("key", None)  # the key is a secret; its existence is enough
    audit.record_change(AuditAction.CREATE if creating else AuditAction.UPDATE, form, changes)
    return form


@transaction.atomic
def webform_new_key(*, actor, form: WebToLeadForm) -> WebToLeadForm:
    """Give the form a new public key (the old address and embeds stop working)."""
    import secrets

    _require_admin(actor)
    form.key = secrets.token_urlsafe(24)
    form.save(update_fields=["key"])
    audit.record(AuditAction.UPDATE, form, changes={"key": ["…", "…"]}, note="new public key")
    return form


@transaction.atomic
def webform_delete(*, actor, form: WebToLeadForm) -> None:
    _require_admin(actor)
    audit.record_deleted(form)
    form.delete()


def webform_submit(*, form: WebToLeadForm, data: dict) -> Lead:
    """A visitor sent the public form (already checked against spam): create the lead as the system."""
    allowed = {k: v for k, v in data.items() if k in form.fields}
    payload = {
        **allowed,
        "source": form.source,
        "campaign": form.campaign,
        "business_line": form.business_line,
        "region": form.region,
    }
    return lead_create(actor=None, data=payload, web_form=form)
