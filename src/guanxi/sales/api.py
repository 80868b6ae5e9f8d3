"""/api/v1/leads, /opportunities, /pipelines and /competitors: the same services, filters and
permissions as the sales pages. Mounted at the API root (``guanxi.config.api``)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest
from ninja import Router, Status

from guanxi.access import permissions
from guanxi.platform.api_crud import EntityApi
from guanxi.platform.registry import Action

from . import lead_services, selectors, services
from .api_schemas import (
    CompetingProductIn,
    CompetingProductOut,
    CompetingProductPatch,
    CompetitorIn,
    CompetitorOut,
    CompetitorPatch,
    ConversionOut,
    ConvertIn,
    DuplicatesOut,
    LeadIn,
    LeadOut,
    LeadPatch,
    LineIn,
    LineOut,
    LinePatch,
    LostIn,
    MoveIn,
    OpportunityCompetitorIn,
    OpportunityCompetitorOut,
    OpportunityIn,
    OpportunityOut,
    OpportunityPatch,
    PipelineIn,
    PipelineOut,
    PipelinePatch,
    StageChangeOut,
    StageIn,
    StageOut,
    StagePatch,
    WinLossOut,
    WonIn,
)
from .filters import CompetitorFilterSet, LeadFilterSet, OpportunityFilterSet
from .models import (
    CompetingProduct,
    Competitor,
    Lead,
    Opportunity,
    OpportunityCompetitor,
    OpportunityLine,
    OpportunityStageChange,
    Pipeline,
    Stage,
)

LEAD, OPPORTUNITY, COMPETITOR = "sales.lead", "sales.opportunity", "sales.competitor"


def _missing(field: str, value) -> ValidationError:
    return ValidationError({field: [f"No such record: {value}."]})


def _visible(request, model, pk, field: str, action=Action.VIEW):
    if pk is None:
        return None
    try:
        return permissions.get_for(request.user, model._default_manager.all(), pk, action)
    except Http404:
        raise _missing(field, pk)


def _row(model, pk, field: str):
    if pk is None:
        return None
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise _missing(field, pk)
    return obj


# --- leads ----------------------------------------------------------------------------------------

leads_api = EntityApi(
    entity_key=LEAD,
    out_schema=LeadOut,
    in_schema=LeadIn,
    patch_schema=LeadPatch,
    filterset_class=LeadFilterSet,
    queryset=selectors.lead_list_queryset,
    create=lambda actor, data, tags: lead_services.lead_create(actor=actor, data=data, tags=tags),
    update=lambda actor, obj, data, tags: lead_services.lead_update(actor=actor, lead=obj, data=data, tags=tags),
    delete=lambda actor, obj: lead_services.lead_delete(actor=actor, lead=obj),
    sorts={"full_name", "company", "score", "created_at", "updated_at", "id"},
    default_sort="-created_at",
)
leads_router = leads_api.router("leads")


@leads_router.post("/{int:pk}/convert", response=ConversionOut, summary="Convert a lead", operation_id="leads_convert")
def lead_convert(request: HttpRequest, pk: int, payload: ConvertIn):
    """Create (or link) an account, a contact and an opportunity from the lead, in one transaction."""
    from guanxi.customers.models import Account, Contact

    lead = permissions.get_for(request.user, Lead.objects.all(), pk, Action.EDIT)
    account = _visible(request, Account, payload.account_id, "account_id")
    contact = _visible(request, Contact, payload.contact_id, "contact_id")
    draft = payload.opportunity.model_dump(exclude_none=True) if payload.opportunity else {}
    opportunity_data = {k: v for k, v in draft.items() if k not in ("pipeline_id", "stage_id")}
    if "pipeline_id" in draft:
        opportunity_data["pipeline"] = _row(Pipeline, draft["pipeline_id"], "opportunity.pipeline_id")
    if "stage_id" in draft:
        opportunity_data["stage"] = _row(Stage, draft["stage_id"], "opportunity.stage_id")
    result = lead_services.lead_convert(
        actor=request.user,
        lead=lead,
        account=account,
        contact=contact,
        create_contact=payload.create_contact,
        create_opportunity=payload.create_opportunity,
        opportunity_data=opportunity_data,
    )
    return {
        "lead_id": result.lead.pk,
        "account_id": result.account.pk,
        "contact_id": result.contact.pk if result.contact else None,
        "opportunity_id": result.opportunity.pk if result.opportunity else None,
        "created_account": result.created_account,
        "created_contact": result.created_contact,
    }


@leads_router.get(
    "/{int:pk}/duplicates", response=DuplicatesOut, summary="Possible duplicates", operation_id="leads_duplicates"
)
def lead_duplicates(request: HttpRequest, pk: int):
    """Accounts and contacts with the lead's email or phone, or a similar company name (those you may see)."""
    lead = permissions.get_for(request.user, Lead.objects.all(), pk)
    found = lead_services.lead_duplicates(request.user, lead)
    return {
        "accounts": [{"id": m.obj.pk, "name": m.obj.name, "reasons": m.reasons} for m in found.accounts],
        "contacts": [{"id": m.obj.pk, "name": m.obj.full_name, "reasons": m.reasons} for m in found.contacts],
        "hidden": found.hidden,
    }


# --- opportunities --------------------------------------------------------------------------------


def _lines_out(obj, access):
    if not access.can_see("amount"):
        return {}
    return {"lines": [_line(line) for line in obj.lines.all()]}


def _line(line: OpportunityLine) -> dict:
    return {
        "id": line.pk,
        "product_id": line.product_id,
        "description": line.description,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "discount_percent": line.discount_percent,
        "total": line.total,
        "position": line.position,
    }


opportunities_api = EntityApi(
    entity_key=OPPORTUNITY,
    out_schema=OpportunityOut,
    in_schema=OpportunityIn,
    patch_schema=OpportunityPatch,
    filterset_class=OpportunityFilterSet,
    queryset=selectors.opportunity_api_queryset,
    create=lambda actor, data, tags: services.opportunity_create(actor=actor, data=data, tags=tags),
    update=lambda actor, obj, data, tags: services.opportunity_update(
        actor=actor, opportunity=obj, data=data, tags=tags
    ),
    delete=lambda actor, obj: services.opportunity_delete(actor=actor, opportunity=obj),
    sorts={"name", "amount", "expected_close_date", "created_at", "updated_at", "id"},
    default_sort="-updated_at",
    extra_out=_lines_out,
)
opportunities_router = opportunities_api.router("opportunities")


def _opportunity(request, pk, action=Action.EDIT) -> Opportunity:
    return permissions.get_for(request.user, selectors.opportunity_detail_queryset(), pk, action)


def _opportunity_out(request, pk):
    obj = permissions.get_for(request.user, selectors.opportunity_api_queryset(), pk)
    return opportunities_api.serialize(obj, permissions.field_access(request.user, OPPORTUNITY))


@opportunities_router.post(
    "/{int:pk}/move", response=OpportunityOut, exclude_unset=True, summary="Move to a stage",
    operation_id="opportunities_move",
)  # fmt: skip
def opportunity_move(request: HttpRequest, pk: int, payload: MoveIn):
    """Move to another open stage of the same pipeline (won and lost: use /won and /lost)."""
    opp = _opportunity(request, pk)
    services.opportunity_move(actor=request.user, opportunity=opp, stage=_row(Stage, payload.stage_id, "stage_id"))
    return _opportunity_out(request, pk)


@opportunities_router.post(
    "/{int:pk}/won", response=OpportunityOut, exclude_unset=True, summary="Mark won", operation_id="opportunities_won"
)
def opportunity_won(request: HttpRequest, pk: int, payload: WonIn):
    opp = _opportunity(request, pk)
    stage = _row(Stage, payload.stage_id, "stage_id")
    services.opportunity_mark_won(actor=request.user, opportunity=opp, reason=payload.reason, stage=stage)
    return _opportunity_out(request, pk)


@opportunities_router.post(
    "/{int:pk}/lost", response=OpportunityOut, exclude_unset=True, summary="Mark lost",
    operation_id="opportunities_lost",
)  # fmt: skip
def opportunity_lost(request: HttpRequest, pk: int, payload: LostIn):
    opp = _opportunity(request, pk)
    stage = _row(Stage, payload.stage_id, "stage_id")
    lost_to = _visible(request, Competitor, payload.lost_to_id, "lost_to_id")
    services.opportunity_mark_lost(
        actor=request.user, opportunity=opp, reason=payload.reason, lost_to=lost_to, stage=stage
    )
    return _opportunity_out(request, pk)


@opportunities_router.get(
    "/{int:pk}/stage-changes", response=list[StageChangeOut], summary="Stage history",
    operation_id="opportunities_stage_changes",
)  # fmt: skip
def opportunity_stage_changes(request: HttpRequest, pk: int):
    opp = _opportunity(request, pk, Action.VIEW)
    return list(OpportunityStageChange.objects.filter(opportunity=opp).order_by("changed_at", "pk"))


@opportunities_router.get(
    "/{int:pk}/lines", response=list[LineOut], summary="Product lines", operation_id="opportunities_lines"
)
def opportunity_lines(request: HttpRequest, pk: int):
    opp = _opportunity(request, pk, Action.VIEW)
    return [_line(line) for line in OpportunityLine.objects.filter(opportunity=opp)]


def _line_data(payload, *, partial: bool) -> dict:
    from guanxi.commerce.models import Product

    data = payload.model_dump(exclude_unset=partial)
    if "product_id" in data:
        data["product"] = _row(Product, data.pop("product_id"), "product_id")
    return data


@opportunities_router.post(
    "/{int:pk}/lines", response={201: LineOut}, summary="Add a product line", operation_id="opportunities_line_add"
)
def opportunity_line_add(request: HttpRequest, pk: int, payload: LineIn):
    opp = _opportunity(request, pk)
    line = services.opportunity_line_save(actor=request.user, opportunity=opp, data=_line_data(payload, partial=False))
    return Status(201, _line(line))


def _line_of(opp, line_id) -> OpportunityLine:
    line = OpportunityLine.objects.filter(pk=line_id, opportunity=opp).first()
    if line is None:
        raise Http404
    return line


@opportunities_router.patch(
    "/{int:pk}/lines/{int:line_id}", response=LineOut, summary="Change a product line",
    operation_id="opportunities_line_update",
)  # fmt: skip
def opportunity_line_update(request: HttpRequest, pk: int, line_id: int, payload: LinePatch):
    opp = _opportunity(request, pk)
    line = _line_of(opp, line_id)
    line = services.opportunity_line_save(
        actor=request.user, opportunity=opp, line=line, data=_line_data(payload, partial=True)
    )
    return _line(line)


@opportunities_router.delete(
    "/{int:pk}/lines/{int:line_id}", response={204: None}, summary="Remove a product line",
    operation_id="opportunities_line_delete",
)  # fmt: skip
def opportunity_line_delete(request: HttpRequest, pk: int, line_id: int):
    opp = _opportunity(request, pk)
    services.opportunity_line_delete(actor=request.user, line=_line_of(opp, line_id))
    return Status(204, None)


def _competitor_link(link: OpportunityCompetitor) -> dict:
    return {
        "id": link.pk,
        "competitor_id": link.competitor_id,
        "competitor": link.competitor.name,
        "strengths": link.strengths,
        "weaknesses": link.weaknesses,
        "price": link.price,
        "currency": link.currency,
    }


@opportunities_router.get(
    "/{int:pk}/competitors", response=list[OpportunityCompetitorOut], summary="Competitors involved",
    operation_id="opportunities_competitors",
)  # fmt: skip
def opportunity_competitors(request: HttpRequest, pk: int):
    opp = _opportunity(request, pk, Action.VIEW)
    links = OpportunityCompetitor.objects.filter(opportunity=opp).select_related("competitor")
    return [_competitor_link(link) for link in links]


@opportunities_router.post(
    "/{int:pk}/competitors", response=OpportunityCompetitorOut, summary="Record a competitor involved",
    operation_id="opportunities_competitor_save",
)  # fmt: skip
def opportunity_competitor_save(request: HttpRequest, pk: int, payload: OpportunityCompetitorIn):
    opp = _opportunity(request, pk)
    competitor = _visible(request, Competitor, payload.competitor_id, "competitor_id")
    data = payload.model_dump(exclude={"competitor_id"}, exclude_unset=True)
    link = services.opportunity_competitor_save(actor=request.user, opportunity=opp, competitor=competitor, data=data)
    return _competitor_link(link)


@opportunities_router.delete(
    "/{int:pk}/competitors/{int:competitor_id}", response={204: None}, summary="Remove a competitor",
    operation_id="opportunities_competitor_remove",
)  # fmt: skip
def opportunity_competitor_remove(request: HttpRequest, pk: int, competitor_id: int):
    opp = _opportunity(request, pk)
    link = (
        OpportunityCompetitor.objects.filter(opportunity=opp, competitor_id=competitor_id)
        .select_related("competitor", "opportunity")
        .first()
    )
    if link is None:
        raise Http404
    services.opportunity_competitor_remove(actor=request.user, link=link)
    return Status(204, None)


# --- pipelines ------------------------------------------------------------------------------------

pipelines_router = Router(tags=["pipelines"])


def _pipeline_out(pipeline: Pipeline) -> dict:
    return {
        "id": pipeline.pk,
        "name": pipeline.name,
        "business_line_id": pipeline.business_line_id,
        "is_default": pipeline.is_default,
        "is_active": pipeline.is_active,
        "stages": [
            {"id": s.pk, "name": s.name, "position": s.position, "probability": s.probability, "kind": s.kind}
            for s in pipeline.stages.all()
        ],
    }


def _pipelines():
    return Pipeline.objects.prefetch_related(Prefetch("stages", queryset=Stage.objects.order_by("position", "pk")))


def _require_view(request) -> None:
    permissions.require(request.user, OPPORTUNITY, Action.VIEW)


def _require_admin(request) -> None:
    if not permissions.is_tenant_admin(request.user):
        raise PermissionDenied


def _pipeline(pk) -> Pipeline:
    pipeline = _pipelines().filter(pk=pk).first()
    if pipeline is None:
        raise Http404
    return pipeline


@pipelines_router.get("", response=list[PipelineOut], summary="List pipelines", operation_id="pipelines_list")
def pipeline_list(request: HttpRequest):
    """Every pipeline with its stages in order (the default pipeline is created on first use)."""
    _require_view(request)
    services.pipeline_default_for_tenant()
    return [_pipeline_out(p) for p in _pipelines().order_by("-is_default", "name")]


@pipelines_router.get("/{int:pk}", response=PipelineOut, summary="Get a pipeline", operation_id="pipelines_get")
def pipeline_get(request: HttpRequest, pk: int):
    _require_view(request)
    return _pipeline_out(_pipeline(pk))


def _pipeline_data(pipeline: Pipeline, data: dict) -> Pipeline:
    from guanxi.org.models import BusinessLine

    if "business_line_id" in data:
        pipeline.business_line = _row(BusinessLine, data.pop("business_line_id"), "business_line_id")
    for name, value in data.items():
        setattr(pipeline, name, value)
    return pipeline


@pipelines_router.post(
    "", response={201: PipelineOut}, summary="Create a pipeline (administrators)", operation_id="pipelines_create"
)
def pipeline_create(request: HttpRequest, payload: PipelineIn):
    _require_admin(request)
    pipeline = services.pipeline_save(actor=request.user, pipeline=_pipeline_data(Pipeline(), payload.model_dump()))
    return Status(201, _pipeline_out(_pipeline(pipeline.pk)))


@pipelines_router.patch(
    "/{int:pk}", response=PipelineOut, summary="Change a pipeline (administrators)", operation_id="pipelines_update"
)
def pipeline_update(request: HttpRequest, pk: int, payload: PipelinePatch):
    _require_admin(request)
    pipeline = _pipeline(pk)
    services.pipeline_save(
        actor=request.user, pipeline=_pipeline_data(pipeline, payload.model_dump(exclude_unset=True))
    )
    return _pipeline_out(_pipeline(pk))


@pipelines_router.delete(
    "/{int:pk}", response={204: None}, summary="Delete a pipeline (administrators)", operation_id="pipelines_delete"
)
def pipeline_delete(request: HttpRequest, pk: int):
    _require_admin(request)
    services.pipeline_delete(actor=request.user, pipeline=_pipeline(pk))
    return Status(204, None)


def _stage(pipeline: Pipeline, stage_id: int) -> Stage:
    stage = Stage.objects.filter(pk=stage_id, pipeline=pipeline).first()
    if stage is None:
        raise Http404
    return stage


@pipelines_router.post(
    "/{int:pk}/stages", response={201: StageOut}, summary="Add a stage (administrators)",
    operation_id="pipelines_stage_create",
)  # fmt: skip
def stage_create(request: HttpRequest, pk: int, payload: StageIn):
    _require_admin(request)
    stage = services.stage_save(actor=request.user, stage=Stage(pipeline=_pipeline(pk), **payload.model_dump()))
    return Status(201, _stage_out(stage))


def _stage_out(stage: Stage) -> dict:
    stage.refresh_from_db()
    return {"id": stage.pk, "name": stage.name, "position": stage.position, "probability": stage.probability,
            "kind": stage.kind}  # fmt: skip


@pipelines_router.patch(
    "/{int:pk}/stages/{int:stage_id}", response=StageOut, summary="Change or move a stage (administrators)",
    operation_id="pipelines_stage_update",
)  # fmt: skip
def stage_update(request: HttpRequest, pk: int, stage_id: int, payload: StagePatch):
    _require_admin(request)
    stage = _stage(_pipeline(pk), stage_id)
    data = payload.model_dump(exclude_unset=True)
    position = data.pop("position", None)
    if data:
        for name, value in data.items():
            setattr(stage, name, value)
        services.stage_save(actor=request.user, stage=stage)
    if position is not None:
        stage.refresh_from_db()
        while stage.position != position:
            before = stage.position
            services.stage_move(actor=request.user, stage=stage, offset=-1 if position < stage.position else 1)
            stage.refresh_from_db()
            if stage.position == before:  # at an end already
                break
    return _stage_out(stage)


@pipelines_router.delete(
    "/{int:pk}/stages/{int:stage_id}", response={204: None}, summary="Delete a stage (administrators)",
    operation_id="pipelines_stage_delete",
)  # fmt: skip
def stage_delete(request: HttpRequest, pk: int, stage_id: int):
    _require_admin(request)
    services.stage_delete(actor=request.user, stage=_stage(_pipeline(pk), stage_id))
    return Status(204, None)


# --- competitors ----------------------------------------------------------------------------------

competitors_api = EntityApi(
    entity_key=COMPETITOR,
    out_schema=CompetitorOut,
    in_schema=CompetitorIn,
    patch_schema=CompetitorPatch,
    filterset_class=CompetitorFilterSet,
    queryset=selectors.competitor_list_queryset,
    create=lambda actor, data, tags: services.competitor_create(actor=actor, data=data),
    update=lambda actor, obj, data, tags: services.competitor_update(actor=actor, competitor=obj, data=data),
    delete=lambda actor, obj: services.competitor_delete(actor=actor, competitor=obj),
    sorts={"name", "created_at", "updated_at", "id"},
    default_sort="name",
)
competitors_router = competitors_api.router("competitors")


@competitors_router.get(
    "/win-loss", response=list[WinLossOut], summary="Win / loss by competitor", operation_id="competitors_win_loss"
)
def competitor_win_loss(request: HttpRequest):
    """Per competitor: the opportunities you may see that it was involved in, won / lost and the win rate."""
    permissions.require(request.user, COMPETITOR, Action.VIEW)
    return [
        {
            "competitor_id": row.competitor.pk,
            "competitor": row.competitor.name,
            "involved": row.involved,
            "open": row.open,
            "won": row.won,
            "lost": row.lost,
            "lost_to_them": row.lost_to_them,
            "win_rate": row.win_rate,
            "won_amounts": row.won_amounts,
            "lost_amounts": row.lost_amounts,
        }
        for row in selectors.win_loss_by_competitor(request.user)
    ]


def _competing(product: CompetingProduct) -> dict:
    return {
        "id": product.pk,
        "name": product.name,
        "use": product.use,
        "performance": product.performance,
        "price": product.price,
        "currency": product.currency,
        "competes_with": sorted(p.pk for p in product.competes_with.all()),
    }


def _competitor(request, pk, action=Action.VIEW) -> Competitor:
    return permissions.get_for(request.user, Competitor.objects.all(), pk, action)


def _competing_data(payload, *, partial: bool) -> dict:
    data = payload.model_dump(exclude_unset=partial)
    if data.get("competes_with") is not None:
        from guanxi.commerce.models import Product

        found = set(Product.objects.filter(pk__in=data["competes_with"]).values_list("pk", flat=True))
        missing = [pk for pk in data["competes_with"] if pk not in found]
        if missing:
            raise _missing("competes_with", missing[0])
    return data


@competitors_router.get(
    "/{int:pk}/products", response=list[CompetingProductOut], summary="A competitor's products",
    operation_id="competitors_products",
)  # fmt: skip
def competing_products(request: HttpRequest, pk: int):
    competitor = _competitor(request, pk)
    return [
        _competing(p) for p in CompetingProduct.objects.filter(competitor=competitor).prefetch_related("competes_with")
    ]


@competitors_router.post(
    "/{int:pk}/products", response={201: CompetingProductOut}, summary="Add a competing product",
    operation_id="competitors_product_create",
)  # fmt: skip
def competing_product_create(request: HttpRequest, pk: int, payload: CompetingProductIn):
    competitor = _competitor(request, pk, Action.EDIT)
    product = services.competing_product_save(
        actor=request.user, competitor=competitor, data=_competing_data(payload, partial=False)
    )
    return Status(201, _competing(product))


def _competing_of(competitor, product_id) -> CompetingProduct:
    product = CompetingProduct.objects.filter(pk=product_id, competitor=competitor).first()
    if product is None:
        raise Http404
    return product


@competitors_router.patch(
    "/{int:pk}/products/{int:product_id}", response=CompetingProductOut, summary="Change a competing product",
    operation_id="competitors_product_update",
)  # fmt: skip
def competing_product_update(request: HttpRequest, pk: int, product_id: int, payload: CompetingProductPatch):
    competitor = _competitor(request, pk, Action.EDIT)
    product = services.competing_product_save(
        actor=request.user,
        competitor=competitor,
        product=_competing_of(competitor, product_id),
        data=_competing_data(payload, partial=True),
    )
    return _competing(product)


@competitors_router.delete(
    "/{int:pk}/products/{int:product_id}", response={204: None}, summary="Delete a competing product",
    operation_id="competitors_product_delete",
)  # fmt: skip
def competing_product_delete(request: HttpRequest, pk: int, product_id: int):
    competitor = _competitor(request, pk, Action.EDIT)
    services.competing_product_delete(actor=request.user, product=_competing_of(competitor, product_id))
    return Status(204, None)


# --- the module's router (mounted at /api/v1/) ----------------------------------------------------

router = Router()
router.add_router("/leads", leads_router)
router.add_router("/opportunities", opportunities_router)
router.add_router("/pipelines", pipelines_router)
router.add_router("/competitors", competitors_router)
