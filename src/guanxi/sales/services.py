"""Writes of the sales app: pipelines and stages, opportunities (stages, won / lost, product lines,
competitors involved) and competitor profiles. Leads live in ``lead_services``.

Views, API endpoints, imports, commands and tasks call these; every function is atomic and
audited, permission checks go through ``guanxi.access.permissions`` (via ``guanxi.platform.crud``
for record writes).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from guanxi.access import permissions
from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.platform import context, crud
from guanxi.platform.registry import Action

from .models import (
    CompetingProduct,
    Competitor,
    ForecastCategory,
    Opportunity,
    OpportunityCompetitor,
    OpportunityLine,
    OpportunityStageChange,
    Pipeline,
    Stage,
)
from .money import line_total, money, to_decimal

OPPORTUNITY = "sales.opportunity"
COMPETITOR = "sales.competitor"

# The stages of the pipeline every tenant gets on first use: (name, probability, kind).
DEFAULT_STAGES = [
    (gettext_noop("Prospecting"), 10, Stage.Kind.OPEN),
    (gettext_noop("Qualification"), 20, Stage.Kind.OPEN),
    (gettext_noop("Needs analysis"), 40, Stage.Kind.OPEN),
    (gettext_noop("Proposal"), 60, Stage.Kind.OPEN),
    (gettext_noop("Negotiation"), 80, Stage.Kind.OPEN),
    (gettext_noop("Closed won"), 100, Stage.Kind.WON),
    (gettext_noop("Closed lost"), 0, Stage.Kind.LOST),
]
DEFAULT_PIPELINE_NAME = gettext_noop("Sales pipeline")


def _require_admin(actor) -> None:
    if actor is not None and not permissions.is_tenant_admin(actor):
        raise PermissionDenied


def _tenant_language() -> str:
    tenant = context.current_tenant()
    return getattr(tenant, "default_language", "") or "en"


# --- pipelines and stages -----------------------------------------------------------------------


def _create_default_stages(pipeline: Pipeline) -> list[Stage]:
    with translation.override(_tenant_language()):
        stages = [
            Stage(pipeline=pipeline, name=_(name), probability=probability, kind=kind, position=i)
            for i, (name, probability, kind) in enumerate(DEFAULT_STAGES)
        ]
    return Stage.objects.bulk_create(stages)


def pipeline_default_for_tenant() -> Pipeline:
    """The tenant's default pipeline; created with sensible stages the first time it is needed."""
    pipeline = Pipeline.objects.filter(is_active=True).order_by("-is_default", "pk").first()
    if pipeline is not None:
        return pipeline
    with translation.override(_tenant_language()):
        name = _(DEFAULT_PIPELINE_NAME)
    try:
        with transaction.atomic():
            pipeline = Pipeline.objects.create(name=name, is_default=True)
            _create_default_stages(pipeline)
            audit.record_created(pipeline)
    except IntegrityError:  # created at the same moment by another request (or an inactive namesake)
        pipeline = Pipeline.objects.get(name=name)
        if not pipeline.is_active:
            Pipeline.objects.filter(pk=pipeline.pk).update(is_active=True)
            pipeline.is_active = True
    return pipeline


def pipeline_for(business_line=None) -> Pipeline:
    """The pipeline of a business line if it has one, else the default pipeline."""
    line_id = getattr(business_line, "pk", business_line)
    if line_id:
        pipeline = Pipeline.objects.filter(business_line_id=line_id, is_active=True).order_by("pk").first()
        if pipeline is not None:
            return pipeline
    return pipeline_default_for_tenant()


def first_stage(pipeline: Pipeline, kind: str = Stage.Kind.OPEN) -> Stage | None:
    return Stage.objects.filter(pipeline=pipeline, kind=kind).order_by("position", "pk").first()


@transaction.atomic
def pipeline_save(*, actor, pipeline: Pipeline) -> Pipeline:
    """Create or change a pipeline (administrators). A new pipeline starts with the default stages."""
    _require_admin(actor)
    creating = pipeline.pk is None
    before = {} if creating else audit.snapshot(Pipeline.objects.get(pk=pipeline.pk))
    pipeline.name = (pipeline.name or "").strip()
    if Pipeline.objects.filter(name__iexact=pipeline.name).exclude(pk=pipeline.pk).exists():
        raise ValidationError({"name": _("A pipeline with this name exists already.")})
    pipeline.full_clean(validate_constraints=False)
    if not creating and not pipeline.is_active and pipeline.is_default:
        raise ValidationError({"is_active": _("The default pipeline cannot be deactivated; make another one default.")})
    pipeline.save()
    if pipeline.is_default:
        Pipeline.objects.exclude(pk=pipeline.pk).filter(is_default=True).update(is_default=False)
    elif not Pipeline.objects.filter(is_default=True).exists():
        Pipeline.objects.filter(pk=pipeline.pk).update(is_default=True)
        pipeline.is_default = True
    if creating:
        _create_default_stages(pipeline)
        audit.record_created(pipeline)
    else:
        changes = audit.diff(before, audit.snapshot(pipeline))
        if changes:
            audit.record_change(AuditAction.UPDATE, pipeline, changes)
    return pipeline


@transaction.atomic
def pipeline_delete(*, actor, pipeline: Pipeline) -> None:
    _require_admin(actor)
    if Opportunity.objects.filter(pipeline=pipeline).exists():
        raise ValidationError(_("This pipeline has opportunities; move them or deactivate the pipeline instead."))
    if pipeline.is_default:
        raise ValidationError(_("The default pipeline cannot be deleted; make another one default first."))
    audit.record_deleted(pipeline)
    pipeline.delete()


def _renumber(pipeline_id: int) -> list[Stage]:
    stages = list(Stage.objects.filter(pipeline_id=pipeline_id).order_by("position", "pk"))
    changed = []
    for i, stage in enumerate(stages):
        if stage.position != i:
            stage.position = i
            changed.append(stage)
    if changed:
        Stage.objects.bulk_update(changed, ["position"])
    return stages


def _check_kinds_remain(pipeline_id: int, *, without: Stage | None = None, new_kind: str | None = None) -> None:
    """A pipeline keeps at least one open, one won and one lost stage."""
    kinds = list(Stage.objects.filter(pipeline_id=pipeline_id).values_list("pk", "kind"))
    remaining = [k for pk, k in kinds if without is None or pk != without.pk]
    if new_kind is not None:
        remaining.append(new_kind)
    for kind, label in Stage.Kind.choices:
        if kind not in remaining:
            raise ValidationError(
                {"kind": _("A pipeline needs at least one stage of the kind “%(kind)s”.") % {"kind": label}}
            )


@transaction.atomic
def stage_save(*, actor, stage: Stage) -> Stage:
    """Add or change a stage (name, probability, kind); new stages go before the closed ones."""
    _require_admin(actor)
    creating = stage.pk is None
    stage.name = (stage.name or "").strip()
    if stage.probability is None or not 0 <= stage.probability <= 100:
        raise ValidationError({"probability": _("Enter a probability between 0 and 100.")})
    stage.full_clean(exclude=["pipeline"])
    if Stage.objects.filter(pipeline_id=stage.pipeline_id, name__iexact=stage.name).exclude(pk=stage.pk).exists():
        raise ValidationError({"name": _("This pipeline has a stage with this name already.")})
    if creating:
        closed = Stage.objects.filter(pipeline_id=stage.pipeline_id).exclude(kind=Stage.Kind.OPEN)
        first_closed = closed.order_by("position").values_list("position", flat=True).first()
        if stage.kind == Stage.Kind.OPEN and first_closed is not None:
            Stage.objects.filter(pipeline_id=stage.pipeline_id, position__gte=first_closed).update(
                position=F("position") + 1
            )
            stage.position = first_closed
        else:
            top = Stage.objects.filter(pipeline_id=stage.pipeline_id).aggregate(m=Max("position"))["m"]
            stage.position = 0 if top is None else top + 1
        stage.save()
        _renumber(stage.pipeline_id)
        audit.record(AuditAction.UPDATE, stage.pipeline, changes={"stages": [None, stage.name]})
        return stage
    old = Stage.objects.get(pk=stage.pk)
    if old.kind != stage.kind:
        _check_kinds_remain(stage.pipeline_id, without=stage, new_kind=stage.kind)
        if Opportunity.objects.filter(stage=stage).exists():
            raise ValidationError({"kind": _("Opportunities are in this stage; its kind cannot change.")})
    stage.save()
    changes = {
        f"stage {old.name}: {name}": [getattr(old, name), getattr(stage, name)]
        for name in ("name", "probability", "kind")
        if getattr(old, name) != getattr(stage, name)
    }
    if changes:
        audit.record(AuditAction.UPDATE, stage.pipeline, changes=changes)
    return stage


@transaction.atomic
def stage_move(*, actor, stage: Stage, offset: int) -> list[Stage]:
    """Move a stage up (-1) or down (+1) in its pipeline."""
    _require_admin(actor)
    stages = _renumber(stage.pipeline_id)
    index = next(i for i, s in enumerate(stages) if s.pk == stage.pk)
    target = index + offset
    if not 0 <= target < len(stages) or offset == 0:
        return stages
    stages[index], stages[target] = stages[target], stages[index]
    for i, s in enumerate(stages):
        s.position = i
    Stage.objects.bulk_update(stages, ["position"])
    audit.record(AuditAction.UPDATE, stage.pipeline, changes={"stage order": [None, ", ".join(s.name for s in stages)]})
    return stages


@transaction.atomic
def stage_delete(*, actor, stage: Stage) -> None:
    _require_admin(actor)
    if Opportunity.objects.filter(stage=stage).exists():
        raise ValidationError(_("Opportunities are in this stage; move them to another stage first."))
    if (
        OpportunityStageChange.objects.filter(to_stage=stage).exists()
        or OpportunityStageChange.objects.filter(from_stage=stage).exists()
    ):
        raise ValidationError(_("Opportunities passed through this stage; its history keeps it. Rename it instead."))
    _check_kinds_remain(stage.pipeline_id, without=stage)
    pipeline, name = stage.pipeline, stage.name
    stage.delete()
    _renumber(pipeline.pk)
    audit.record(AuditAction.UPDATE, pipeline, changes={"stages": [name, None]})


# --- opportunities --------------------------------------------------------------------------------


def _pk(value):
    return getattr(value, "pk", value)


def _load(model, value, field: str):
    if value in (None, ""):
        return None
    if isinstance(value, model):
        return value
    obj = model.objects.filter(pk=_pk(value)).first() if str(_pk(value)).isdigit() else None
    if obj is None:
        raise ValidationError({field: _("Select a valid choice.")})
    return obj


def _stage_effects(data: dict, stage: Stage, *, reason: str | None, now, explicit_probability: bool) -> None:
    """Status, probability, forecast category and close date that follow from being in ``stage``."""
    if stage.kind == Stage.Kind.OPEN:
        data["status"] = Opportunity.Status.OPEN
        data["closed_at"] = None
        data["lost_to"] = None
        data["close_reason"] = ""
        if not explicit_probability:
            data["probability"] = stage.probability
        if data.get("forecast_category") in (ForecastCategory.CLOSED, ForecastCategory.OMITTED, None):
            data["forecast_category"] = ForecastCategory.PIPELINE
        return
    if not (reason or "").strip():
        raise ValidationError(
            {"close_reason": _("Give the reason the opportunity was won or lost.")}
            if stage.kind == Stage.Kind.WON
            else {"close_reason": _("Give the reason the opportunity was lost.")}
        )
    data["close_reason"] = reason.strip()[:300]
    data["closed_at"] = now
    if stage.kind == Stage.Kind.WON:
        data["status"] = Opportunity.Status.WON
        data["probability"] = 100
        data["forecast_category"] = ForecastCategory.CLOSED
        data["lost_to"] = None
    else:
        data["status"] = Opportunity.Status.LOST
        data["probability"] = 0
        data["forecast_category"] = ForecastCategory.OMITTED


def _default_team(owner):
    from guanxi.org.models import TeamMembership

    if owner is None:
        return None
    teams = list(TeamMembership.objects.filter(member__user=owner).values_list("team_id", flat=True)[:2])
    return teams[0] if len(teams) == 1 else None


def _record_stage_change(opportunity: Opportunity, from_stage: Stage | None, previous_since, actor, at) -> None:
    seconds = None
    if from_stage is not None and previous_since is not None:
        seconds = max(0, int((at - previous_since).total_seconds()))
    OpportunityStageChange.objects.create(
        opportunity=opportunity,
        from_stage=from_stage,
        to_stage=opportunity.stage,
        changed_at=at,
        changed_by=actor if actor is not None and actor.pk else None,
        seconds_in_previous_stage=seconds,
        amount=opportunity.amount,
    )


@transaction.atomic
def opportunity_create(*, actor, data: dict, tags: Iterable | None = None) -> Opportunity:
    """Create an opportunity. Without a pipeline: the business line's (or the default) pipeline;
    without a stage: its first open stage; the probability defaults to the stage's."""
    data = dict(data)
    now = timezone.now()
    pipeline = _load(Pipeline, data.get("pipeline"), "pipeline")
    stage = _load(Stage, data.get("stage"), "stage")
    if pipeline is None:
        pipeline = stage.pipeline if stage is not None else pipeline_for(data.get("business_line"))
    if stage is None:
        stage = first_stage(pipeline)
    if stage is None or stage.pipeline_id != pipeline.pk:
        raise ValidationError({"stage": _("Choose a stage of the pipeline “%(name)s”.") % {"name": pipeline}})
    data["pipeline"], data["stage"] = pipeline, stage
    explicit = data.get("probability") not in (None, "")
    _stage_effects(data, stage, reason=data.get("close_reason"), now=now, explicit_probability=explicit)
    if not data.get("business_line") and pipeline.business_line_id:
        data["business_line"] = pipeline.business_line_id
    if not data.get("currency"):
        data["currency"] = getattr(context.current_tenant(), "currency", "") or "CNY"
    owner = data.get("owner") or actor
    if data.get("team") in (None, "") and owner is not None:
        team_id = _default_team(owner)
        if team_id:
            data["team"] = team_id
    account = data.get("account")
    if data.get("region") in (None, "") and account is not None and getattr(account, "region_id", None):
        data["region"] = account.region_id
    contact = data.get("contact")
    if contact is not None and account is not None and getattr(contact, "account_id", None) not in (None, _pk(account)):
        from guanxi.customers.models import AccountContact

        if not AccountContact.objects.filter(account_id=_pk(account), contact_id=_pk(contact)).exists():
            raise ValidationError({"contact": _("This contact does not work for the opportunity's account.")})
    if data.get("amount") is not None:
        data["amount"] = money(data["amount"])
    data["stage_changed_at"] = now
    if tags is not None:
        data["tags"] = list(tags)
    opportunity = crud.record_create(entity_key=OPPORTUNITY, actor=actor, data=data)
    _record_stage_change(opportunity, None, None, actor, now)
    return opportunity


@transaction.atomic
def opportunity_update(*, actor, opportunity: Opportunity, data: dict, tags: Iterable | None = None) -> Opportunity:
    """Change an opportunity; a stage change is recorded with the time spent in the previous stage.

    Moving to a won or lost stage needs ``close_reason``; lines drive the amount when
    ``amount_from_lines`` is on and the opportunity has lines.
    """
    data = dict(data)
    now = timezone.now()
    old_stage = opportunity.stage
    old_since = opportunity.stage_changed_at
    pipeline = _load(Pipeline, data["pipeline"], "pipeline") if data.get("pipeline") else opportunity.pipeline
    stage = _load(Stage, data["stage"], "stage") if data.get("stage") else None
    if pipeline.pk != opportunity.pipeline_id and (stage is None or stage.pipeline_id != pipeline.pk):
        stage = stage if stage is not None and stage.pipeline_id == pipeline.pk else first_stage(pipeline)
    if stage is None:
        stage = old_stage
    if stage.pipeline_id != pipeline.pk:
        raise ValidationError({"stage": _("Choose a stage of the pipeline “%(name)s”.") % {"name": pipeline}})
    data["pipeline"], data["stage"] = pipeline, stage
    if stage.pk != old_stage.pk:
        explicit = (
            "probability" in data
            and data["probability"] not in (None, "")
            and (data["probability"] != opportunity.probability)
        )
        reason = data.get("close_reason", opportunity.close_reason if stage.kind == old_stage.kind else "")
        _stage_effects(data, stage, reason=reason, now=now, explicit_probability=explicit)
        data["stage_changed_at"] = now
    elif "probability" in data and data["probability"] in (None, ""):
        data["probability"] = stage.probability
    if stage.kind == Stage.Kind.OPEN and "lost_to" in data:
        data["lost_to"] = None  # only lost opportunities are lost to someone
    if "amount" in data and data["amount"] is not None:
        data["amount"] = money(data["amount"])
    if tags is not None:
        data["tags"] = list(tags)
    opportunity, changes = crud.record_update(entity_key=OPPORTUNITY, actor=actor, instance=opportunity, data=data)
    if "stage" in changes:
        _record_stage_change(opportunity, old_stage, old_since, actor, now)
    if "amount_from_lines" in changes or "amount" in changes:
        _recompute_amount(opportunity)
    return opportunity


@transaction.atomic
def opportunity_move(*, actor, opportunity: Opportunity, stage: Stage) -> Opportunity:
    """Move to another open stage of the same pipeline (the kanban board). Won / lost need a reason:
    use ``opportunity_mark_won`` / ``opportunity_mark_lost``."""
    if stage.pipeline_id != opportunity.pipeline_id:
        raise ValidationError({"stage": _("This stage belongs to another pipeline.")})
    if stage.kind != Stage.Kind.OPEN:
        raise ValidationError({"stage": _("Mark the opportunity won or lost, with the reason.")})
    if stage.pk == opportunity.stage_id:
        if actor is not None:
            permissions.require_can(actor, Action.EDIT, opportunity)
        return opportunity
    return opportunity_update(actor=actor, opportunity=opportunity, data={"stage": stage})


def _closing_stage(opportunity: Opportunity, kind: str, stage: Stage | None) -> Stage:
    if stage is not None:
        if stage.pipeline_id != opportunity.pipeline_id or stage.kind != kind:
            raise ValidationError({"stage": _("Choose a closing stage of this pipeline.")})
        return stage
    stage = first_stage(opportunity.pipeline, kind)
    if stage is None:
        raise ValidationError({"stage": _("The pipeline has no stage for this; ask an administrator.")})
    return stage


@transaction.atomic
def opportunity_mark_won(*, actor, opportunity: Opportunity, reason: str, stage: Stage | None = None) -> Opportunity:
    """Close as won: the pipeline's won stage, probability 100, closed now, with the reason."""
    stage = _closing_stage(opportunity, Stage.Kind.WON, stage)
    if not (reason or "").strip():
        raise ValidationError({"close_reason": _("Give the reason the opportunity was won.")})
    return opportunity_update(actor=actor, opportunity=opportunity, data={"stage": stage, "close_reason": reason})


@transaction.atomic
def opportunity_mark_lost(
    *, actor, opportunity: Opportunity, reason: str, lost_to: Competitor | None = None, stage: Stage | None = None
) -> Opportunity:
    """Close as lost (optionally to a competitor, who is then recorded as involved)."""
    stage = _closing_stage(opportunity, Stage.Kind.LOST, stage)
    if not (reason or "").strip():
        raise ValidationError({"close_reason": _("Give the reason the opportunity was lost.")})
    data = {"stage": stage, "close_reason": reason}
    if stage.pk == opportunity.stage_id:  # already lost: change the reason / competitor only
        data = {"close_reason": reason.strip()[:300]}
    if lost_to is not None:
        data["lost_to"] = lost_to
    opportunity = opportunity_update(actor=actor, opportunity=opportunity, data=data)
    if lost_to is not None:
        OpportunityCompetitor.objects.get_or_create(
            opportunity=opportunity, competitor=lost_to, defaults={"currency": opportunity.currency}
        )
    return opportunity


@transaction.atomic
def opportunity_delete(*, actor, opportunity: Opportunity) -> None:
    crud.record_delete(entity_key=OPPORTUNITY, actor=actor, instance=opportunity)


# --- product lines --------------------------------------------------------------------------------


def _recompute_amount(opportunity: Opportunity) -> None:
    """With ``amount_from_lines`` and at least one line, the amount is the lines' total (audited)."""
    if not opportunity.amount_from_lines:
        return
    total = OpportunityLine.objects.filter(opportunity=opportunity).aggregate(t=Sum("total"))["t"]
    if total is None:
        return
    total = money(total)
    if total != opportunity.amount:
        before = opportunity.amount
        Opportunity.objects.filter(pk=opportunity.pk).update(amount=total, updated_at=timezone.now())
        opportunity.amount = total
        audit.record(
            AuditAction.UPDATE, opportunity, changes={"amount": [str(before), str(total)]}, note="from product lines"
        )


def _line_repr(line: OpportunityLine) -> str:
    return f"{line} × {line.quantity.normalize():f} = {line.total}"


@transaction.atomic
def opportunity_line_save(*, actor, opportunity: Opportunity, data: dict, line: OpportunityLine | None = None):
    """Add or change a product line; its total (and the opportunity amount) are computed here.

    ``data``: product (instance / id, optional), description, quantity, unit_price (defaults to the
    product's list price when in the opportunity's currency), discount_percent.
    """
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, opportunity)
    from guanxi.commerce.models import Product

    creating = line is None
    line = line or OpportunityLine(opportunity=opportunity)
    before = "" if creating else _line_repr(line)
    errors: dict[str, list] = {}
    if "product" in data:
        try:
            line.product = _load(Product, data.get("product"), "product")
        except ValidationError as exc:
            errors.update(exc.message_dict)
    for name in ("quantity", "unit_price", "discount_percent"):
        if name in data:
            value = to_decimal(data[name])
            if value is None and data[name] not in (None, ""):
                errors[name] = [_("Enter a number.")]
            elif value is not None:
                setattr(line, name, value)
    if "description" in data:
        line.description = (data.get("description") or "").strip()[:300]
    product = line.product
    if product is not None and data.get("unit_price") in (None, "") and creating:
        if product.currency == opportunity.currency:
            line.unit_price = product.list_price
        else:
            errors["unit_price"] = [
                _("Enter a unit price in %(currency)s: the product's list price is in %(other)s.")
                % {"currency": opportunity.currency, "other": product.currency}
            ]
    if product is None and not line.description:
        errors["description"] = [_("Choose a product or describe the item.")]
    if line.quantity is not None and line.quantity <= 0:
        errors["quantity"] = [_("The quantity must be more than zero.")]
    if line.discount_percent is not None and not 0 <= line.discount_percent <= 100:
        errors["discount_percent"] = [_("Enter a discount between 0 and 100.")]
    if line.unit_price is not None and line.unit_price < 0:
        errors["unit_price"] = [_("The unit price cannot be negative.")]
    if errors:
        raise ValidationError(errors)
    line.unit_price = money(line.unit_price)
    line.total = line_total(line.quantity, line.unit_price, line.discount_percent)
    try:
        line.full_clean(exclude=["opportunity", "product"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict)
    if creating:
        top = OpportunityLine.objects.filter(opportunity=opportunity).aggregate(m=Max("position"))["m"]
        line.position = 0 if top is None else top + 1
    line.save()
    audit.record(AuditAction.UPDATE, opportunity, changes={"product lines": [before or None, _line_repr(line)]})
    _recompute_amount(opportunity)
    return line


@transaction.atomic
def opportunity_line_delete(*, actor, line: OpportunityLine) -> None:
    opportunity = line.opportunity
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, opportunity)
    before = _line_repr(line)
    line.delete()
    audit.record(AuditAction.UPDATE, opportunity, changes={"product lines": [before, None]})
    if not OpportunityLine.objects.filter(opportunity=opportunity).exists():
        return
    _recompute_amount(opportunity)


# --- competitors ----------------------------------------------------------------------------------


@transaction.atomic
def competitor_create(*, actor, data: dict) -> Competitor:
    data = dict(data)
    data["name"] = (data.get("name") or "").strip()
    if data["name"] and Competitor.objects.filter(name__iexact=data["name"]).exists():
        raise ValidationError({"name": _("A competitor with this name exists already.")})
    return crud.record_create(entity_key=COMPETITOR, actor=actor, data=data)


@transaction.atomic
def competitor_update(*, actor, competitor: Competitor, data: dict) -> Competitor:
    data = dict(data)
    if "name" in data:
        data["name"] = (data.get("name") or "").strip()
        if Competitor.objects.filter(name__iexact=data["name"]).exclude(pk=competitor.pk).exists():
            raise ValidationError({"name": _("A competitor with this name exists already.")})
    return crud.record_update(entity_key=COMPETITOR, actor=actor, instance=competitor, data=data)[0]


@transaction.atomic
def competitor_delete(*, actor, competitor: Competitor) -> None:
    if Opportunity.objects.filter(lost_to=competitor).exists():
        raise ValidationError(_("Opportunities were lost to this competitor; mark it inactive instead."))
    crud.record_delete(entity_key=COMPETITOR, actor=actor, instance=competitor)


@transaction.atomic
def competing_product_save(
    *, actor, competitor: Competitor, data: dict, product: CompetingProduct | None = None
) -> CompetingProduct:
    """Add or change a competitor's product; ``data["competes_with"]``: our products (instances / ids)."""
    from guanxi.commerce.models import Product

    if actor is not None:
        permissions.require_can(actor, Action.EDIT, competitor)
    creating = product is None
    product = product or CompetingProduct(competitor=competitor)
    before = {} if creating else audit.snapshot(product)
    targets = data.get("competes_with")
    for name in ("name", "use", "performance", "currency"):
        if name in data:
            setattr(product, name, (data.get(name) or "").strip())
    if "price" in data:
        price = to_decimal(data.get("price"))
        if price is None and data.get("price") not in (None, ""):
            raise ValidationError({"price": [_("Enter a number.")]})
        product.price = money(price) if price is not None else None
    if not product.currency:
        product.currency = getattr(context.current_tenant(), "currency", "") or "CNY"
    try:
        product.full_clean(exclude=["competitor"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict)
    product.save()
    changes = audit.diff(before, audit.snapshot(product))
    if targets is not None:
        ids = {_pk(t) for t in targets if _pk(t) not in (None, "")}
        found = list(Product.objects.filter(pk__in=ids))
        if len(found) != len(ids):
            raise ValidationError({"competes_with": [_("Select products of your catalogue.")]})
        old = sorted(str(p) for p in product.competes_with.all()) if not creating else []
        product.competes_with.set(found)
        new = sorted(str(p) for p in found)
        if old != new:
            changes["competes_with"] = [old, new]
    label = f"{_('product')} {product.name}"
    if creating:
        audit.record(AuditAction.UPDATE, competitor, changes={"products": [None, product.name]})
    elif changes:
        audit.record(AuditAction.UPDATE, competitor, changes={f"{label}: {k}": v for k, v in changes.items()})
    return product


@transaction.atomic
def competing_product_delete(*, actor, product: CompetingProduct) -> None:
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, product.competitor)
    audit.record(AuditAction.UPDATE, product.competitor, changes={"products": [product.name, None]})
    product.delete()


@transaction.atomic
def opportunity_competitor_save(
    *, actor, opportunity: Opportunity, competitor: Competitor, data: dict
) -> OpportunityCompetitor:
    """Record (or update) a competitor involved in an opportunity with its strengths, weaknesses and price."""
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, opportunity)
        permissions.require_can(actor, Action.VIEW, competitor)
    link = OpportunityCompetitor.objects.filter(opportunity=opportunity, competitor=competitor).first()
    creating = link is None
    link = link or OpportunityCompetitor(opportunity=opportunity, competitor=competitor)
    before = {} if creating else audit.snapshot(link)
    for name in ("strengths", "weaknesses"):
        if name in data:
            setattr(link, name, (data.get(name) or "").strip()[:500])
    if "price" in data:
        price = to_decimal(data.get("price"))
        if price is None and data.get("price") not in (None, ""):
            raise ValidationError({"price": [_("Enter a number.")]})
        link.price = money(price) if price is not None else None
    link.currency = (data.get("currency") or link.currency or opportunity.currency).upper()[:3]
    link.save()
    after = audit.snapshot(link)
    changes = audit.diff(before, after)
    if creating:
        audit.record(AuditAction.UPDATE, opportunity, changes={"competitors": [None, competitor.name]})
    elif changes:
        audit.record(
            AuditAction.UPDATE,
            opportunity,
            changes={
                f"{competitor.name}: {k}": v for k, v in changes.items() if k not in ("opportunity", "competitor")
            },
        )
    return link


@transaction.atomic
def opportunity_competitor_remove(*, actor, link: OpportunityCompetitor) -> None:
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, link.opportunity)
    audit.record(AuditAction.UPDATE, link.opportunity, changes={"competitors": [link.competitor.name, None]})
    link.delete()
