"""Pages of leads, opportunities and competitors (generic entity views) and their record actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from guanxi.access import permissions
from guanxi.platform.registry import Action
from guanxi.platform.views import Column, EntityViews

from . import lead_services, selectors, services
from .filters import CompetitorFilterSet, LeadFilterSet, OpportunityFilterSet
from .forms import (
    CompetingProductForm,
    CompetitorForm,
    ConvertForm,
    LeadForm,
    LineForm,
    OpportunityCompetitorForm,
    OpportunityForm,
)
from .models import (
    CompetingProduct,
    Competitor,
    Lead,
    Opportunity,
    OpportunityCompetitor,
    OpportunityLine,
    Stage,
)
from .money import weighted

LEAD_BADGES = {
    Lead.Status.NEW: "text-bg-info",
    Lead.Status.CONTACTED: "text-bg-primary",
    Lead.Status.QUALIFIED: "text-bg-success",
    Lead.Status.UNQUALIFIED: "text-bg-secondary",
    Lead.Status.CONVERTED: "text-bg-dark",
}
STATUS_BADGES = {
    Opportunity.Status.OPEN: "text-bg-light",
    Opportunity.Status.WON: "text-bg-success",
    Opportunity.Status.LOST: "text-bg-danger",
}
COMPETITOR_BADGES = {
    Competitor.Status.ACTIVE: "text-bg-warning",
    Competitor.Status.INACTIVE: "text-bg-light",
    Competitor.Status.ACQUIRED: "text-bg-secondary",
}


def score_class(score: int) -> str:
    """Hot / warm / cold colour of a lead score."""
    if score >= 50:
        return "text-bg-danger"
    if score >= 25:
        return "text-bg-warning"
    return "text-bg-light"


def _score_cell(lead):
    return format_html('<span class="badge {}">{}</span>', score_class(lead.score), lead.score)


def _lead_link(lead):
    return format_html('<a href="{}">{}</a>', reverse("sales:lead_detail", args=[lead.pk]), lead.full_name or "—")


def _stage_cell(opp):
    return format_html(
        '<span class="badge gx-stage {}">{}</span>', STATUS_BADGES.get(opp.status, "text-bg-light"), opp.stage.name
    )


# --- leads ----------------------------------------------------------------------------------------


class LeadViews(EntityViews):
    entity_key = "sales.lead"
    url_prefix = "leads/"
    name = "lead"
    filterset_class = LeadFilterSet
    form_class = LeadForm
    detail_template = "sales/lead_detail.html"
    default_sort = "-created_at"
    columns = [
        Column(
            "full_name",
            pgettext_lazy("person", "Name"),
            sort="full_name",
            render=_lead_link,
            default=True,
            field="family_name",
        ),
        Column("company", gettext_lazy("Company"), sort="company", default=True),
        Column("status", gettext_lazy("Status"), sort="status", kind="badge", default=True, badge_classes=LEAD_BADGES),
        Column("score", gettext_lazy("Score"), sort="score", render=_score_cell, default=True),
        Column("source", gettext_lazy("Source"), kind="choice", default=True),
        Column("owner", gettext_lazy("Owner"), default=True),
        Column("campaign", gettext_lazy("Campaign"), sort="campaign"),
        Column("title", gettext_lazy("Job title")),
        Column("email", gettext_lazy("Email"), kind="email"),
        Column("phone", gettext_lazy("Phone"), kind="phone"),
        Column("industry", gettext_lazy("Industry"), kind="choice"),
        Column("city", gettext_lazy("City")),
        Column("region", gettext_lazy("Region")),
        Column("business_line", gettext_lazy("Business line")),
        Column("tags", gettext_lazy("Tags"), kind="tags"),
        Column("created_at", gettext_lazy("Created"), sort="created_at", kind="datetime", default=True),
        Column("updated_at", gettext_lazy("Updated"), sort="updated_at", kind="datetime"),
    ]
    form_sections = [
        (gettext_lazy("Lead"), ["company", "family_name", "given_name", "title", "owner", "tags"]),
        (gettext_lazy("Reaching them"), ["email", "phone", "website"]),
        (gettext_lazy("Qualification"), ["industry", "source", "campaign", "business_line", "region"]),
        (gettext_lazy("Address"), ["country", "province", "city", "district", "street", "postal_code"]),
        (gettext_lazy("Description"), ["description"]),
    ]

    def list_queryset(self, request):
        return selectors.lead_list_queryset()

    def detail_queryset(self, request):
        return selectors.lead_detail_queryset()

    def initial_for_create(self, request):
        return {"owner": request.user.pk}

    def create(self, request, data):
        tags = data.pop("tags", None)
        return lead_services.lead_create(actor=request.user, data=data, tags=tags)

    def update(self, request, obj, data):
        tags = data.pop("tags", None)
        return lead_services.lead_update(actor=request.user, lead=obj, data=data, tags=tags)

    def delete(self, request, obj):
        lead_services.lead_delete(actor=request.user, lead=obj)

    def detail_context(self, request, obj):
        user = request.user
        allowed = lead_services.TRANSITIONS.get(obj.status, set())
        breakdown = obj.score_breakdown or {}
        return {
            "status_choices": [(v, label, v in allowed) for v, label in Lead.Status.choices if v != "converted"],
            "status_badges": LEAD_BADGES,
            "score_class": score_class(obj.score),
            "score_items": breakdown.get("items", []),
            "score_fit": breakdown.get("fit", 0),
            "score_engagement": breakdown.get("engagement", 0),
            "can_convert": obj.status in lead_services.CONVERTIBLE and permissions.can(user, Action.EDIT, obj),
            "tags": list(obj.tags.all()),
            "converted": {
                "account": _visible_or_none(user, obj.converted_account),
                "contact": _visible_or_none(user, obj.converted_contact),
                "opportunity": _visible_or_none(user, obj.converted_opportunity),
            },
        }


def _visible_or_none(user, obj):
    if obj is None:
        return None
    return obj if permissions.can(user, Action.VIEW, obj) else None


# --- opportunities --------------------------------------------------------------------------------


class OpportunityViews(EntityViews):
    entity_key = "sales.opportunity"
    url_prefix = "opportunities/"
    name = "opportunity"
    filterset_class = OpportunityFilterSet
    form_class = OpportunityForm
    detail_template = "sales/opportunity_detail.html"
    list_template = "sales/opportunity_list.html"
    default_sort = "-updated_at"
    columns = [
        Column("name", gettext_lazy("Name"), sort="name", kind="link", default=True),
        Column("account", gettext_lazy("Account"), default=True),
        Column("stage", gettext_lazy("Stage"), render=_stage_cell, default=True),
        Column("amount", gettext_lazy("Amount"), sort="amount", kind="money", default=True),
        Column("probability", gettext_lazy("Probability (%)")),
        Column("expected_close_date", gettext_lazy("Expected close"), sort="expected_close_date", kind="date", default=True),
        Column("owner", gettext_lazy("Owner"), default=True),
        Column("status", gettext_lazy("Status"), kind="badge", badge_classes=STATUS_BADGES),
        Column("pipeline", gettext_lazy("Pipeline")),
        Column("forecast_category", gettext_lazy("Forecast category"), kind="choice"),
        Column("team", gettext_lazy("Team")),
        Column("next_step", gettext_lazy("Next step")),
        Column("is_key_account", gettext_lazy("Key account deal"), kind="bool"),
        Column("tags", gettext_lazy("Tags"), kind="tags"),
        Column("created_at", gettext_lazy("Created"), sort="created_at", kind="datetime"),
        Column("updated_at", gettext_lazy("Updated"), sort="updated_at", kind="datetime", default=True),
    ]  # fmt: skip
    form_sections = [
        (gettext_lazy("Opportunity"), ["name", "account", "contact", "owner", "pipeline", "stage", "tags"]),
        (
            gettext_lazy("Value and forecast"),
            ["amount", "currency", "amount_from_lines", "probability", "expected_close_date", "forecast_category"],
        ),
        (pgettext_lazy("form section", "Organisation"), ["team", "business_line", "region", "is_key_account"]),
        (gettext_lazy("Next step and description"), ["next_step", "description"]),
    ]

    def list_queryset(self, request):
        return selectors.opportunity_list_queryset()

    def detail_queryset(self, request):
        return selectors.opportunity_detail_queryset()

    def initial_for_create(self, request):
        from guanxi.platform.context import current_tenant

        return {"owner": request.user.pk, "currency": getattr(current_tenant(), "currency", "CNY")}

    def create(self, request, data):
        tags = data.pop("tags", None)
        return services.opportunity_create(actor=request.user, data=data, tags=tags)

    def update(self, request, obj, data):
        tags = data.pop("tags", None)
        return services.opportunity_update(actor=request.user, opportunity=obj, data=data, tags=tags)

    def delete(self, request, obj):
        services.opportunity_delete(actor=request.user, opportunity=obj)

    def detail_context(self, request, obj):
        user = request.user
        related = selectors.opportunity_related(obj, user)
        competitors = permissions.visible(user, Competitor.objects.filter(status=Competitor.Status.ACTIVE))
        can_edit = permissions.can(user, Action.EDIT, obj)
        return {
            **related,
            "weighted": weighted(obj.amount, obj.probability),
            "status_badges": STATUS_BADGES,
            "line_form": LineForm(prefix="line") if can_edit else None,
            "competitor_form": OpportunityCompetitorForm(competitors=competitors, prefix="comp") if can_edit else None,
            "lost_to_choices": list(competitors.order_by("name")) if can_edit else [],
            "can_edit_opportunity": can_edit,
            "lines_total": sum((line.total for line in related["lines"]), start=0),
        }


# --- competitors ----------------------------------------------------------------------------------


class CompetitorViews(EntityViews):
    entity_key = "sales.competitor"
    url_prefix = "competitors/"
    name = "competitor"
    filterset_class = CompetitorFilterSet
    form_class = CompetitorForm
    detail_template = "sales/competitor_detail.html"
    list_template = "sales/competitor_list.html"
    default_sort = "name"
    bulk_tags = False
    columns = [
        Column("name", gettext_lazy("Name"), sort="name", kind="link", default=True),
        Column("status", gettext_lazy("Status"), sort="status", kind="badge", default=True, badge_classes=COMPETITOR_BADGES),
        Column("main_markets", gettext_lazy("Main markets"), default=True),
        Column("website", gettext_lazy("Website"), kind="url", default=True),
        Column("updated_at", gettext_lazy("Updated"), sort="updated_at", kind="datetime", default=True),
        Column("created_at", gettext_lazy("Created"), sort="created_at", kind="datetime"),
    ]  # fmt: skip
    form_sections = [
        (gettext_lazy("Competitor"), ["name", "status", "website", "main_markets"]),
        (pgettext_lazy("competitor", "Profile"), ["background", "strategy", "strengths", "weaknesses"]),
    ]

    def list_queryset(self, request):
        return selectors.competitor_list_queryset()

    def create(self, request, data):
        return services.competitor_create(actor=request.user, data=data)

    def update(self, request, obj, data):
        return services.competitor_update(actor=request.user, competitor=obj, data=data)

    def delete(self, request, obj):
        services.competitor_delete(actor=request.user, competitor=obj)

    def detail_context(self, request, obj):
        user = request.user
        stats = selectors.win_loss_by_competitor(user, competitor=obj)
        return {
            "products": selectors.competitor_products(obj),
            "stats": stats[0] if stats else None,
            "deals": selectors.competitor_deals(user, obj),
            "product_form": CompetingProductForm(prefix="product") if permissions.can(user, Action.EDIT, obj) else None,
            "status_badges": COMPETITOR_BADGES,
        }


lead_views = LeadViews()
opportunity_views = OpportunityViews()
competitor_views = CompetitorViews()


# --- lead actions ---------------------------------------------------------------------------------


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@login_required
@require_POST
def lead_status(request, pk):
    """Move a lead along the status flow (buttons on its page)."""
    lead = permissions.get_for(request.user, Lead.objects.all(), pk, Action.EDIT)
    try:
        lead_services.lead_change_status(
            actor=request.user, lead=lead, status=request.POST.get("status", ""), reason=request.POST.get("reason", "")
        )
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    return redirect(lead.get_absolute_url())


@login_required
def lead_convert(request, pk):
    """Duplicate check and conversion choices (GET), then the conversion in one transaction (POST)."""
    from guanxi.customers.models import Account, Contact

    user = request.user
    lead = permissions.get_for(user, selectors.lead_detail_queryset(), pk, Action.EDIT)
    if lead.status not in lead_services.CONVERTIBLE:
        messages.error(request, _("This lead cannot be converted."))
        return redirect(lead.get_absolute_url())
    duplicates = lead_services.lead_duplicates(user, lead)
    form = ConvertForm(
        request.POST or None,
        initial={
            "account": "new",
            "contact": "new" if lead.full_name else "none",
            "create_opportunity": True,
            "opportunity_name": lead.company or lead.full_name,
        },
    )
    can_create_opportunity = permissions.has_action(user, services.OPPORTUNITY, Action.CREATE)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        account = contact = None
        try:
            if data["account"] not in ("", "new"):
                account = permissions.get_for(user, Account.objects.all(), data["account"])
            if data["contact"] not in ("", "new", "none"):
                contact = permissions.get_for(user, Contact.objects.all(), data["contact"])
        except Http404:
            form.add_error(None, _("Choose records you can see."))
        else:
            create_opportunity = bool(data["create_opportunity"]) and can_create_opportunity
            opportunity_data = {
                k: v
                for k, v in {
                    "name": data["opportunity_name"],
                    "amount": data["amount"],
                    "expected_close_date": data["expected_close_date"],
                    "pipeline": data["pipeline"],
                }.items()
                if v not in (None, "")
            }
            try:
                result = lead_services.lead_convert(
                    actor=user,
                    lead=lead,
                    account=account,
                    contact=contact,
                    create_contact=data["contact"] != "none",
                    create_opportunity=create_opportunity,
                    opportunity_data=opportunity_data,
                )
            except ValidationError as exc:
                form.add_error(None, _error_text(exc))
            else:
                messages.success(request, _("The lead was converted."))
                target = result.opportunity or result.account
                return HttpResponseRedirect(target.get_absolute_url())
    return render(
        request,
        "sales/lead_convert.html",
        {
            "lead": lead,
            "form": form,
            "duplicates": duplicates,
            "can_create_opportunity": can_create_opportunity,
            "chosen_account": form["account"].value() or "new",
            "chosen_contact": form["contact"].value() or ("new" if lead.full_name else "none"),
        },
    )


# --- opportunity actions --------------------------------------------------------------------------


def _opportunity(request, pk, action=Action.EDIT) -> Opportunity:
    return permissions.get_for(request.user, selectors.opportunity_detail_queryset(), pk, action)


@login_required
@require_POST
def opportunity_stage(request, pk):
    """Move to another open stage (the stage bar of the opportunity page)."""
    opp = _opportunity(request, pk)
    stage = Stage.objects.filter(pk=_int(request.POST.get("stage")), pipeline_id=opp.pipeline_id).first()
    if stage is None:
        raise Http404
    try:
        if stage.kind == Stage.Kind.OPEN:
            services.opportunity_move(actor=request.user, opportunity=opp, stage=stage)
        else:
            messages.error(request, _("Mark the opportunity won or lost, with the reason."))
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    return redirect(opp.get_absolute_url())


@login_required
@require_POST
def opportunity_won(request, pk):
    opp = _opportunity(request, pk)
    try:
        services.opportunity_mark_won(actor=request.user, opportunity=opp, reason=request.POST.get("reason", ""))
        messages.success(request, _("Won: congratulations!"))
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    return redirect(opp.get_absolute_url())


@login_required
@require_POST
def opportunity_lost(request, pk):
    opp = _opportunity(request, pk)
    lost_to = None
    if request.POST.get("lost_to"):
        lost_to = permissions.get_for(request.user, Competitor.objects.all(), request.POST.get("lost_to"))
    try:
        services.opportunity_mark_lost(
            actor=request.user, opportunity=opp, reason=request.POST.get("reason", ""), lost_to=lost_to
        )
        messages.success(request, _("The opportunity was marked lost."))
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    return redirect(opp.get_absolute_url())


def _line_data(form: LineForm) -> dict:
    data = dict(form.cleaned_data)
    if data.get("discount_percent") is None:
        data["discount_percent"] = 0
    return data


@login_required
@require_POST
def opportunity_line_add(request, pk):
    opp = _opportunity(request, pk)
    form = LineForm(request.POST, prefix="line")
    if form.is_valid():
        try:
            services.opportunity_line_save(actor=request.user, opportunity=opp, data=_line_data(form))
            messages.success(request, _("The product line was added."))
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
    else:
        messages.error(request, _error_text(ValidationError(form.errors)))
    return redirect(opp.get_absolute_url() + "#lines")


@login_required
@require_POST
def opportunity_line_edit(request, pk, line_pk):
    opp = _opportunity(request, pk)
    line = OpportunityLine.objects.filter(pk=line_pk, opportunity=opp).first()
    if line is None:
        raise Http404
    form = LineForm(request.POST, prefix=f"line{line.pk}")
    if form.is_valid():
        try:
            data = _line_data(form)
            if data.get("unit_price") is None:
                data.pop("unit_price")
            services.opportunity_line_save(actor=request.user, opportunity=opp, line=line, data=data)
            messages.success(request, _("Your changes were saved."))
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
    else:
        messages.error(request, _error_text(ValidationError(form.errors)))
    return redirect(opp.get_absolute_url() + "#lines")


@login_required
@require_POST
def opportunity_line_delete(request, pk, line_pk):
    opp = _opportunity(request, pk)
    line = OpportunityLine.objects.filter(pk=line_pk, opportunity=opp).first()
    if line is None:
        raise Http404
    services.opportunity_line_delete(actor=request.user, line=line)
    messages.success(request, _("The product line was removed."))
    return redirect(opp.get_absolute_url() + "#lines")


@login_required
@require_POST
def opportunity_competitor_add(request, pk):
    opp = _opportunity(request, pk)
    form = OpportunityCompetitorForm(
        request.POST, competitors=permissions.visible(request.user, Competitor.objects.all()), prefix="comp"
    )
    if form.is_valid():
        data = dict(form.cleaned_data)
        competitor = data.pop("competitor")
        try:
            services.opportunity_competitor_save(actor=request.user, opportunity=opp, competitor=competitor, data=data)
            messages.success(request, _("The competitor was recorded."))
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
    else:
        messages.error(request, _error_text(ValidationError(form.errors)))
    return redirect(opp.get_absolute_url() + "#competitors")


@login_required
@require_POST
def opportunity_competitor_remove(request, pk, link_pk):
    opp = _opportunity(request, pk)
    link = OpportunityCompetitor.objects.filter(pk=link_pk, opportunity=opp).select_related("competitor").first()
    if link is None:
        raise Http404
    services.opportunity_competitor_remove(actor=request.user, link=link)
    return redirect(opp.get_absolute_url() + "#competitors")


# --- competitor products --------------------------------------------------------------------------


def _competing_product_data(form: CompetingProductForm) -> dict:
    return dict(form.cleaned_data)


@login_required
@require_POST
def competing_product_add(request, pk):
    competitor = permissions.get_for(request.user, Competitor.objects.all(), pk, Action.EDIT)
    form = CompetingProductForm(request.POST, prefix="product")
    if form.is_valid():
        try:
            services.competing_product_save(
                actor=request.user, competitor=competitor, data=_competing_product_data(form)
            )
            messages.success(request, _("The product was added."))
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
    else:
        messages.error(request, _error_text(ValidationError(form.errors)))
    return redirect(competitor.get_absolute_url() + "#products")


@login_required
def competing_product_edit(request, pk, product_pk):
    competitor = permissions.get_for(request.user, Competitor.objects.all(), pk, Action.EDIT)
    product = CompetingProduct.objects.filter(pk=product_pk, competitor=competitor).first()
    if product is None:
        raise Http404
    if request.method == "POST":
        form = CompetingProductForm(request.POST)
        if form.is_valid():
            try:
                services.competing_product_save(
                    actor=request.user, competitor=competitor, product=product, data=_competing_product_data(form)
                )
                messages.success(request, _("Your changes were saved."))
                return redirect(competitor.get_absolute_url() + "#products")
            except ValidationError as exc:
                form.add_error(None, _error_text(exc))
    else:
        form = CompetingProductForm(
            initial={
                "name": product.name,
                "use": product.use,
                "performance": product.performance,
                "price": product.price,
                "currency": product.currency,
                "competes_with": list(product.competes_with.values_list("pk", flat=True)),
            }
        )
    return render(
        request,
        "sales/simple_form.html",
        {
            "title": _("Edit %(name)s") % {"name": product.name},
            "form": form,
            "cancel_url": competitor.get_absolute_url(),
            "breadcrumbs": [
                (reverse("sales:competitor_list"), _("Competitors")),
                (competitor.get_absolute_url(), competitor),
            ],
        },
    )


@login_required
@require_POST
def competing_product_delete(request, pk, product_pk):
    competitor = permissions.get_for(request.user, Competitor.objects.all(), pk, Action.EDIT)
    product = CompetingProduct.objects.filter(pk=product_pk, competitor=competitor).first()
    if product is None:
        raise Http404
    services.competing_product_delete(actor=request.user, product=product)
    messages.success(request, _("“%(name)s” was deleted.") % {"name": product.name})
    return redirect(competitor.get_absolute_url() + "#products")


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
def related_opportunities(request):
    """The Opportunities tab of an account or contact page (a related panel)."""
    from guanxi.customers.models import Account, Contact

    if request.GET.get("account"):
        parent = permissions.get_for(request.user, Account.objects.all(), request.GET["account"])
        rows = selectors.opportunities_of(request.user, account=parent)
        new_url = f"{reverse('sales:opportunity_create')}?account={parent.pk}"
    elif request.GET.get("contact"):
        parent = permissions.get_for(request.user, Contact.objects.all(), request.GET["contact"])
        rows = selectors.opportunities_of(request.user, contact=parent)
        new_url = f"{reverse('sales:opportunity_create')}?contact={parent.pk}&account={parent.account_id or ''}"
    else:
        raise Http404
    can_create = permissions.has_action(request.user, "sales.opportunity", Action.CREATE)
    return render(
        request, "sales/_related_opportunities.html", {"rows": rows, "new_url": new_url if can_create else None}
    )
