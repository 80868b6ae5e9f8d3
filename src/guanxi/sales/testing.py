"""Test helpers: one of every sales record, built through the services (call inside a tenant context)."""

from __future__ import annotations

from decimal import Decimal

# url name / API path pattern → parameters from tenant A's sales records (used by the cross-tenant walkers,
# whose objects hold them under "sales").
SALES_UI_PARAMS = [
    (r"^sales:opportunity_line_", lambda o: {"pk": o["sales"]["opportunity"].pk, "line_pk": o["sales"]["line"].pk}),
    (r"^sales:opportunity_competitor_remove$", lambda o: {"pk": o["sales"]["opportunity"].pk, "link_pk": o["sales"]["competitor_link"].pk}),
    (r"^sales:opportunity_", lambda o: {"pk": o["sales"]["opportunity"].pk}),
    (r"^sales:lead_", lambda o: {"pk": o["sales"]["lead"].pk}),
    (r"^sales:competing_product_", lambda o: {"pk": o["sales"]["competitor"].pk, "product_pk": o["sales"]["competing_product"].pk}),
    (r"^sales:competitor_", lambda o: {"pk": o["sales"]["competitor"].pk}),
    (r"^sales:(pipeline_|stage_create$)", lambda o: {"pk": o["sales"]["pipeline"].pk}),
    (r"^sales:stage_", lambda o: {"pk": o["sales"]["stage"].pk}),
    (r"^sales:scoring_rule_", lambda o: {"pk": o["sales"]["scoring_rule"].pk}),
    (r"^sales:assignment_rule_", lambda o: {"pk": o["sales"]["assignment_rule"].pk}),
    (r"^sales:webform_", lambda o: {"pk": o["sales"]["webform"].pk}),
]  # fmt: skip
SALES_API_PARAMS = [
    (r"^api/v1/leads/", lambda o: {"pk": o["sales"]["lead"].pk}),
    (
        r"^api/v1/opportunities/",
        lambda o: {
            "pk": o["sales"]["opportunity"].pk,
            "line_id": o["sales"]["line"].pk,
            "competitor_id": o["sales"]["competitor"].pk,
        },
    ),
    (r"^api/v1/pipelines/", lambda o: {"pk": o["sales"]["pipeline"].pk, "stage_id": o["sales"]["stage"].pk}),
    (
        r"^api/v1/competitors/",
        lambda o: {"pk": o["sales"]["competitor"].pk, "product_id": o["sales"]["competing_product"].pk},
    ),
]
# POST bodies that pass validation, so the answer depends on the id alone.
SALES_API_BODIES = {
    "api:opportunity_move": lambda o: {"stage_id": o["sales"]["stage"].pk},
    "api:opportunity_won": lambda o: {"reason": "x"},
    "api:opportunity_lost": lambda o: {"reason": "x"},
    "api:opportunity_competitors": lambda o: {"competitor_id": o["sales"]["competitor"].pk},
    "api:opportunity_competitor_save": lambda o: {"competitor_id": o["sales"]["competitor"].pk},
    "api:stage_create": lambda o: {"name": "x"},
    "api:competing_products": lambda o: {"name": "x"},
    "api:competing_product_create": lambda o: {"name": "x"},
}


def make_sales_records(actor, marker: str = "") -> dict:
    """A lead, an opportunity with a product line and a competitor, a competitor with a product, the
    default pipeline and its stages, a scoring rule, an assignment rule and a web-to-lead form."""
    from guanxi.commerce.models import Product
    from guanxi.customers import services as customer_services
    from guanxi.org.models import Member

    from . import lead_services, services
    from .models import LeadAssignmentRule, LeadScoringRule, Pipeline, WebToLeadForm

    suffix = f" {marker}" if marker else ""
    account = customer_services.account_create(actor=actor, data={"name": f"Sales account{suffix}"})
    pipeline = services.pipeline_default_for_tenant()
    stage = pipeline.stages.order_by("position").first()
    other_pipeline = services.pipeline_save(actor=actor, pipeline=Pipeline(name=f"Projects{suffix}"))
    product = Product.objects.create(sku=f"P-{Product.objects.count() + 1}", name=f"Product{suffix}", list_price=100)
    opportunity = services.opportunity_create(
        actor=actor, data={"name": f"Opportunity{suffix}", "account": account, "amount": Decimal("1000")}
    )
    line = services.opportunity_line_save(
        actor=actor, opportunity=opportunity, data={"product": product, "quantity": 2, "description": f"Line{suffix}"}
    )
    competitor = services.competitor_create(actor=actor, data={"name": f"Competitor{suffix}"})
    competing_product = services.competing_product_save(
        actor=actor, competitor=competitor, data={"name": f"Rival product{suffix}", "competes_with": [product]}
    )
    competitor_link = services.opportunity_competitor_save(
        actor=actor, opportunity=opportunity, competitor=competitor, data={"strengths": f"Cheap{suffix}"}
    )
    lead = lead_services.lead_create(
        actor=actor, data={"company": f"Lead company{suffix}", "family_name": "Wang", "email": "lead@example.com"}
    )
    scoring_rule = lead_services.scoring_rule_save(
        actor=actor,
        rule=LeadScoringRule(name=f"Rule{suffix}", field="email", operator="is_set", points=5),
    )
    assignment_rule = lead_services.assignment_rule_save(
        actor=actor,
        rule=LeadAssignmentRule(name=f"Assignment{suffix}", source="trade_show"),
        member_ids=[Member.objects.get(user=actor).pk],
    )
    webform = lead_services.webform_save(
        actor=actor, form=WebToLeadForm(name=f"Web form{suffix}", fields=["family_name", "company", "email"])
    )
    return {
        "sales_account": account,
        "pipeline": pipeline,
        "other_pipeline": other_pipeline,
        "stage": stage,
        "product": product,
        "opportunity": opportunity,
        "line": line,
        "competitor": competitor,
        "competing_product": competing_product,
        "competitor_link": competitor_link,
        "lead": lead,
        "scoring_rule": scoring_rule,
        "assignment_rule": assignment_rule,
        "webform": webform,
    }
