"""The sales demo data: realistic, consistent, scored, and visible on the board and the dashboard."""

import random

import pytest
from django.db.models import Sum
from django.urls import reverse

from guanxi.customers import services as customer_services
from guanxi.org.models import Team
from guanxi.org.services import team_save
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member, make_unit
from guanxi.sales.demo import seed_sales_demo
from guanxi.sales.models import (
    Lead,
    LeadAssignmentRule,
    Opportunity,
    OpportunityLine,
    OpportunityStageChange,
    Pipeline,
)


@pytest.fixture
def demo(tenant):
    east = make_unit(tenant, "华东区 East China")
    reps = [make_member(tenant, unit=east, name=f"Rep {i}") for i in range(3)]
    manager = make_member(tenant, roles=("Sales manager",), unit=east)
    with tenant_context(tenant, actor=tenant.admin):
        from guanxi.org.models import Member

        team_save(
            actor=tenant.admin,
            team=Team(name="East team"),
            member_ids=list(Member.objects.filter(user__in=reps[:2]).values_list("pk", flat=True)),
        )
        for i in range(12):
            account = customer_services.account_create(
                actor=reps[i % 3], data={"name": f"客户 {i}", "owner": reps[i % 3], "region": east}
            )
            customer_services.contact_create(actor=reps[i % 3], data={"family_name": f"联系人{i}", "account": account})
    users = {f"rep{i}": u for i, u in enumerate(reps)} | {"manager": manager, "admin": tenant.admin}
    counts = seed_sales_demo(tenant, random.Random(7), users)
    return tenant, counts, reps


def test_demo_data_is_consistent(demo):
    tenant, counts, _reps = demo
    assert counts["opportunities"] == 120 and counts["leads"] == 150 and counts["competitors"] >= 5
    with tenant_context(tenant):
        assert Pipeline.objects.filter(is_default=True).count() == 1
        statuses = set(Opportunity.objects.values_list("status", flat=True))
        assert statuses == {"open", "won", "lost"}
        for opp in Opportunity.objects.prefetch_related("stage_changes")[:120]:
            history = sorted(opp.stage_changes.all(), key=lambda c: (c.changed_at, c.pk))
            assert history[0].from_stage_id is None and history[-1].to_stage_id == opp.stage_id
            assert all(c.changed_at >= opp.created_at for c in history)
            if opp.status != "open":
                assert opp.closed_at and opp.close_reason and opp.stage.kind == opp.status
            if opp.amount_from_lines:
                total = OpportunityLine.objects.filter(opportunity=opp).aggregate(t=Sum("total"))["t"]
                assert total == opp.amount
        assert OpportunityStageChange.objects.count() == counts["stage changes"]
        lead_statuses = set(Lead.objects.values_list("status", flat=True))
        assert lead_statuses == {"new", "contacted", "qualified", "unqualified", "converted"}
        assert Lead.objects.filter(score__gt=0).count() > 50
        for lead in Lead.objects.filter(status="converted"):
            assert lead.converted_opportunity_id and lead.converted_account_id
        assert LeadAssignmentRule.objects.count() == 1
        assert {lead.full_name for lead in Lead.objects.all()[:20]} != {""}


def test_demo_pages_render(client, demo):
    tenant, _counts, reps = demo
    client.force_login(tenant.admin)
    for name in ("sales:board", "sales:dashboard", "sales:lead_list", "sales:opportunity_list",
                 "sales:competitor_analysis", "sales:competitor_list"):  # fmt: skip
        response = client.get(reverse(name))
        assert response.status_code == 200, name
    client.force_login(reps[0])
    assert client.get(reverse("sales:dashboard")).status_code == 200
