"""Sales services: pipelines and stages, opportunities (stage history, won / lost, lines, competitors)."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from guanxi.audit.models import AuditEntry
from guanxi.customers import services as customer_services
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member
from guanxi.sales import services
from guanxi.sales.models import (
    Competitor,
    ForecastCategory,
    Opportunity,
    OpportunityCompetitor,
    OpportunityStageChange,
    Pipeline,
    Stage,
)
from guanxi.sales.money import line_total, money


def make_product(**kwargs):
    from guanxi.commerce.models import Product

    defaults = {"sku": f"SKU-{Product.objects.count() + 1}", "name": "ERP licence", "list_price": Decimal("1000.00")}
    return Product.objects.create(**{**defaults, **kwargs})


@pytest.fixture
def account(in_tenant):
    return customer_services.account_create(actor=in_tenant.admin, data={"name": "华信科技"})


def test_money_rounds_half_up_to_cents():
    assert money("2.675") == Decimal("2.68")
    assert money("2.665") == Decimal("2.67")
    assert money(Decimal("-1.005")) == Decimal("-1.01")
    assert line_total("3", "19.99", "0") == Decimal("59.97")
    assert line_total("1", "0.125", "0") == Decimal("0.13")
    # 7 × 33.33 × 0.85 = 198.3135 → 198.31; 3 × 10.05 × 0.5 = 15.075 → 15.08 (not 15.07 as float would)
    assert line_total("7", "33.33", "15") == Decimal("198.31")
    assert line_total("3", "10.05", "50") == Decimal("15.08")
    assert line_total("2.5", "100", "100") == Decimal("0.00")


def test_default_pipeline_is_created_once_with_stages(in_tenant):
    pipeline = services.pipeline_default_for_tenant()
    assert pipeline.is_default
    stages = list(pipeline.stages.order_by("position"))
    assert [s.kind for s in stages].count("won") == 1 and [s.kind for s in stages].count("lost") == 1
    assert stages[0].probability < stages[3].probability
    assert services.pipeline_default_for_tenant() == pipeline
    assert Pipeline.objects.count() == 1


def test_pipeline_per_business_line(in_tenant):
    from guanxi.org.models import BusinessLine

    line = BusinessLine.objects.create(name="Hardware")
    default = services.pipeline_default_for_tenant()
    hw = services.pipeline_save(actor=in_tenant.admin, pipeline=Pipeline(name="Hardware deals", business_line=line))
    assert hw.stages.count() == len(services.DEFAULT_STAGES)
    assert services.pipeline_for(line) == hw
    assert services.pipeline_for(None) == default
    with pytest.raises(ValidationError):
        services.pipeline_save(actor=in_tenant.admin, pipeline=Pipeline(name="Hardware deals"))


def test_stage_admin_add_reorder_and_kind_rules(in_tenant):
    admin = in_tenant.admin
    pipeline = services.pipeline_default_for_tenant()
    new = services.stage_save(actor=admin, stage=Stage(pipeline=pipeline, name="Demo", probability=50))
    stages = list(pipeline.stages.order_by("position"))
    assert stages.index(new) == len(stages) - 3  # before the won and lost stages
    services.stage_move(actor=admin, stage=new, offset=-1)
    assert list(pipeline.stages.order_by("position")).index(new) == len(stages) - 4
    won = pipeline.stages.get(kind="won")
    won.kind = "open"
    with pytest.raises(ValidationError):
        services.stage_save(actor=admin, stage=won)  # the last won stage
    with pytest.raises(ValidationError):
        services.stage_delete(actor=admin, stage=pipeline.stages.get(kind="lost"))
    services.stage_delete(actor=admin, stage=new)
    assert not pipeline.stages.filter(name="Demo").exists()
    bad = Stage(pipeline=pipeline, name="Bad", probability=140)
    with pytest.raises(ValidationError):
        services.stage_save(actor=admin, stage=bad)


def test_pipeline_admin_needs_a_tenant_admin(tenant):
    rep = make_member(tenant)
    with tenant_context(tenant, actor=rep):
        pipeline = services.pipeline_default_for_tenant()  # any sales user may trigger the default
        with pytest.raises(PermissionDenied):
            services.pipeline_save(actor=rep, pipeline=Pipeline(name="Mine"))
        with pytest.raises(PermissionDenied):
            services.stage_save(actor=rep, stage=Stage(pipeline=pipeline, name="X", probability=1))


def test_create_defaults_and_stage_history(in_tenant, account):
    admin = in_tenant.admin
    opp = services.opportunity_create(actor=admin, data={"name": "ERP rollout", "account": account})
    pipeline = services.pipeline_default_for_tenant()
    assert opp.pipeline == pipeline and opp.stage == services.first_stage(pipeline)
    assert opp.probability == opp.stage.probability and opp.status == "open" and opp.currency == "CNY"
    first = OpportunityStageChange.objects.get(opportunity=opp)
    assert first.from_stage is None and first.to_stage == opp.stage

    stages = list(pipeline.stages.filter(kind="open").order_by("position"))
    Opportunity.objects.filter(pk=opp.pk).update(stage_changed_at=timezone.now() - datetime.timedelta(days=3))
    opp.refresh_from_db()
    opp = services.opportunity_move(actor=admin, opportunity=opp, stage=stages[2])
    assert opp.probability == stages[2].probability
    change = OpportunityStageChange.objects.filter(opportunity=opp).order_by("-changed_at", "-pk").first()
    assert change.from_stage == stages[0] and change.to_stage == stages[2]
    assert 3 * 86400 - 5 <= change.seconds_in_previous_stage <= 3 * 86400 + 5
    assert AuditEntry.objects.filter(object_id=opp.pk, action="update").exists()

    # The probability is overridable; a later stage move takes the new stage's default again.
    opp = services.opportunity_update(actor=admin, opportunity=opp, data={"probability": 55})
    assert opp.probability == 55
    opp = services.opportunity_move(actor=admin, opportunity=opp, stage=stages[3])
    assert opp.probability == stages[3].probability


def test_moves_are_validated(in_tenant, account):
    admin = in_tenant.admin
    opp = services.opportunity_create(actor=admin, data={"name": "Deal", "account": account})
    other = services.pipeline_save(actor=admin, pipeline=Pipeline(name="Other"))
    with pytest.raises(ValidationError):
        services.opportunity_move(actor=admin, opportunity=opp, stage=other.stages.first())
    with pytest.raises(ValidationError):  # won needs a reason: not a plain move
        services.opportunity_move(actor=admin, opportunity=opp, stage=opp.pipeline.stages.get(kind="won"))


def test_won_and_lost_need_a_reason_and_reopen(in_tenant, account):
    admin = in_tenant.admin
    opp = services.opportunity_create(actor=admin, data={"name": "Deal", "account": account, "amount": "100"})
    with pytest.raises(ValidationError):
        services.opportunity_mark_won(actor=admin, opportunity=opp, reason="  ")
    opp = services.opportunity_mark_won(actor=admin, opportunity=opp, reason="Best price")
    assert opp.status == "won" and opp.stage.kind == "won" and opp.probability == 100
    assert opp.closed_at is not None and opp.close_reason == "Best price"
    assert opp.forecast_category == ForecastCategory.CLOSED

    rival = services.competitor_create(actor=admin, data={"name": "Rival Soft"})
    opp2 = services.opportunity_create(actor=admin, data={"name": "Deal 2", "account": account})
    opp2 = services.opportunity_mark_lost(actor=admin, opportunity=opp2, reason="Too expensive", lost_to=rival)
    assert opp2.status == "lost" and opp2.probability == 0 and opp2.lost_to == rival
    assert OpportunityCompetitor.objects.filter(opportunity=opp2, competitor=rival).exists()

    open_stage = services.first_stage(opp2.pipeline)
    opp2 = services.opportunity_update(actor=admin, opportunity=opp2, data={"stage": open_stage})
    assert opp2.status == "open" and opp2.closed_at is None and opp2.lost_to is None and opp2.close_reason == ""
    kinds = list(
        OpportunityStageChange.objects.filter(opportunity=opp2)
        .order_by("changed_at", "pk")
        .values_list("to_stage__kind", flat=True)
    )
    assert kinds == ["open", "lost", "open"]


def test_lines_compute_totals_and_amount(in_tenant, account):
    admin = in_tenant.admin
    product = make_product(list_price=Decimal("33.33"))
    opp = services.opportunity_create(actor=admin, data={"name": "Deal", "account": account, "amount": "5"})
    line = services.opportunity_line_save(
        actor=admin, opportunity=opp, data={"product": product, "quantity": "7", "discount_percent": "15"}
    )
    assert line.unit_price == Decimal("33.33") and line.total == Decimal("198.31")
    services.opportunity_line_save(
        actor=admin,
        opportunity=opp,
        data={"description": "Installation", "quantity": "3", "unit_price": "10.05", "discount_percent": "50"},
    )
    opp.refresh_from_db()
    assert opp.amount == Decimal("213.39")  # 198.31 + 15.08
    line = services.opportunity_line_save(actor=admin, opportunity=opp, line=line, data={"quantity": "1"})
    opp.refresh_from_db()
    assert line.total == Decimal("28.33") and opp.amount == Decimal("43.41")

    with pytest.raises(ValidationError) as exc:
        services.opportunity_line_save(actor=admin, opportunity=opp, data={"quantity": "0", "description": "x"})
    assert "quantity" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.opportunity_line_save(actor=admin, opportunity=opp, data={"quantity": "1"})
    usd = make_product(currency="USD", list_price=Decimal("10"))
    with pytest.raises(ValidationError) as exc:
        services.opportunity_line_save(actor=admin, opportunity=opp, data={"product": usd, "quantity": "1"})
    assert "unit_price" in exc.value.message_dict

    # Manual amount when the lines do not drive it.
    opp = services.opportunity_update(
        actor=admin, opportunity=opp, data={"amount_from_lines": False, "amount": Decimal("999.999")}
    )
    assert opp.amount == Decimal("1000.00")
    services.opportunity_line_delete(actor=admin, line=line)
    opp.refresh_from_db()
    assert opp.amount == Decimal("1000.00")


def test_rep_cannot_change_others_opportunities(tenant):
    rep = make_member(tenant)
    other = make_member(tenant)
    with tenant_context(tenant, actor=other):
        account = customer_services.account_create(actor=other, data={"name": "Theirs"})
        opp = services.opportunity_create(actor=other, data={"name": "Their deal", "account": account})
    with tenant_context(tenant, actor=rep):
        stage = list(opp.pipeline.stages.order_by("position"))[1]
        with pytest.raises(Http404):
            services.opportunity_move(actor=rep, opportunity=opp, stage=stage)
        with pytest.raises(Http404):
            services.opportunity_line_save(actor=rep, opportunity=opp, data={"description": "x", "quantity": 1})


def test_competitors_products_and_involvement(in_tenant, account):
    admin = in_tenant.admin
    ours = make_product()
    rival = services.competitor_create(actor=admin, data={"name": "Rival Soft", "strengths": "Cheap"})
    with pytest.raises(ValidationError):
        services.competitor_create(actor=admin, data={"name": "rival soft"})
    product = services.competing_product_save(
        actor=admin, competitor=rival, data={"name": "Rival ERP", "price": "899.995", "competes_with": [ours.pk]}
    )
    assert product.price == Decimal("900.00") and list(product.competes_with.all()) == [ours]
    opp = services.opportunity_create(actor=admin, data={"name": "Deal", "account": account})
    link = services.opportunity_competitor_save(
        actor=admin, opportunity=opp, competitor=rival, data={"strengths": "Local team", "price": "12000"}
    )
    assert link.price == Decimal("12000.00")
    services.opportunity_competitor_save(actor=admin, opportunity=opp, competitor=rival, data={"weaknesses": "Slow"})
    assert OpportunityCompetitor.objects.get(pk=link.pk).weaknesses == "Slow"
    services.opportunity_mark_lost(actor=admin, opportunity=opp, reason="Price", lost_to=rival)
    with pytest.raises(ValidationError):
        services.competitor_delete(actor=admin, competitor=rival)
    assert Competitor.objects.count() == 1
