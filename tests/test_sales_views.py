"""Sales pages: lists, details, forms, record actions, board, dashboard, administration."""

import datetime
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.customers import services as customer_services
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member
from guanxi.sales import lead_services, services
from guanxi.sales.models import Lead, Opportunity, OpportunityStageChange, Stage
from guanxi.sales.testing import make_sales_records


@pytest.fixture
def records(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        return make_sales_records(tenant.admin)


def test_every_page_renders_for_the_admin(admin_client, records):
    o = records
    urls = [
        reverse("sales:lead_list"),
        reverse("sales:lead_create"),
        reverse("sales:lead_detail", args=[o["lead"].pk]),
        reverse("sales:lead_edit", args=[o["lead"].pk]),
        reverse("sales:lead_convert", args=[o["lead"].pk]),
        reverse("sales:opportunity_list"),
        reverse("sales:opportunity_create"),
        reverse("sales:opportunity_detail", args=[o["opportunity"].pk]),
        reverse("sales:opportunity_edit", args=[o["opportunity"].pk]),
        reverse("sales:competitor_list"),
        reverse("sales:competitor_create"),
        reverse("sales:competitor_detail", args=[o["competitor"].pk]),
        reverse("sales:competing_product_edit", args=[o["competitor"].pk, o["competing_product"].pk]),
        reverse("sales:competitor_analysis"),
        reverse("sales:board"),
        reverse("sales:board") + f"?pipeline={o['other_pipeline'].pk}&owner=me&q=opp",
        reverse("sales:dashboard"),
        reverse("sales:dashboard") + "?owner=&start=2020-01-01&end=2030-12-31",
        reverse("sales:pipeline_list"),
        reverse("sales:pipeline_create"),
        reverse("sales:pipeline_edit", args=[o["pipeline"].pk]),
        reverse("sales:stage_edit", args=[o["stage"].pk]),
        reverse("sales:scoring_rule_list"),
        reverse("sales:scoring_rule_create"),
        reverse("sales:scoring_rule_edit", args=[o["scoring_rule"].pk]),
        reverse("sales:assignment_rule_list"),
        reverse("sales:assignment_rule_create"),
        reverse("sales:assignment_rule_edit", args=[o["assignment_rule"].pk]),
        reverse("sales:webform_list"),
        reverse("sales:webform_create"),
        reverse("sales:webform_edit", args=[o["webform"].pk]),
    ]
    for url in urls:
        response = admin_client.get(url)
        assert response.status_code == 200, url


def test_admin_pages_refuse_non_admins(client, tenant, records):
    rep = make_member(tenant)
    client.force_login(rep)
    for name in ("pipeline_list", "scoring_rule_list", "assignment_rule_list", "webform_list"):
        assert client.get(reverse(f"sales:{name}")).status_code == 403
    assert client.post(reverse("sales:stage_delete", args=[records["stage"].pk])).status_code == 403


def test_create_lead_then_status_flow_and_convert(admin_client, tenant):
    r = admin_client.post(
        reverse("sales:lead_create"),
        {"company": "北京华信科技有限公司", "family_name": "王", "given_name": "伟", "email": "WANG@huaxin.cn",
         "phone": "138 0013 8000", "source": "trade_show", "owner": tenant.admin.pk},
    )  # fmt: skip
    assert r.status_code == 302
    with tenant_context(tenant):
        lead = Lead.objects.get()
    assert lead.full_name == "王伟" and lead.email == "wang@huaxin.cn" and lead.phone == "+8613800138000"
    detail = reverse("sales:lead_detail", args=[lead.pk])
    body = admin_client.get(detail).content.decode()
    assert "regarding_type=sales.lead" in body and "audit/history" in body

    admin_client.post(reverse("sales:lead_status", args=[lead.pk]), {"status": "contacted"})
    admin_client.post(reverse("sales:lead_status", args=[lead.pk]), {"status": "new"})  # not allowed back
    with tenant_context(tenant):
        lead.refresh_from_db()
    assert lead.status == "contacted"

    convert = reverse("sales:lead_convert", args=[lead.pk])
    r = admin_client.post(
        convert,
        {"account": "new", "contact": "new", "create_opportunity": "on", "opportunity_name": "ERP 项目",
         "amount": "120000", "expected_close_date": "2030-06-30"},
    )  # fmt: skip
    assert r.status_code == 302
    with tenant_context(tenant):
        lead.refresh_from_db()
        opp = Opportunity.objects.select_related("account").get()
    assert lead.status == "converted" and lead.converted_opportunity_id == opp.pk
    assert r["Location"] == opp.get_absolute_url()
    assert opp.amount == Decimal("120000.00") and opp.account.name == "北京华信科技有限公司"
    body = admin_client.get(detail).content.decode()
    assert 'data-testid="converted-links"' in body and opp.get_absolute_url() in body
    assert admin_client.get(convert).status_code == 302  # converted already


def test_convert_page_offers_existing_matches(admin_client, tenant):
    with tenant_context(tenant, actor=tenant.admin):
        account = customer_services.account_create(actor=tenant.admin, data={"name": "Acme Co., Ltd."})
        customer_services.contact_create(
            actor=tenant.admin, data={"family_name": "Doe", "email": "jane@acme.com", "account": account}
        )
        lead = lead_services.lead_create(
            actor=tenant.admin, data={"company": "ACME Ltd", "given_name": "Jane", "family_name": "Doe",
                                      "email": "jane@acme.com"}
        )  # fmt: skip
    body = admin_client.get(reverse("sales:lead_convert", args=[lead.pk])).content.decode()
    assert 'data-testid="duplicates-warning"' in body and "Acme Co., Ltd." in body
    assert "same email" in body and "similar company name" in body
    r = admin_client.post(
        reverse("sales:lead_convert", args=[lead.pk]),
        {"account": str(account.pk), "contact": "new", "opportunity_name": "Renewal"},
    )
    assert r.status_code == 302
    with tenant_context(tenant):
        lead.refresh_from_db()
        assert lead.converted_account == account and lead.converted_opportunity is None
        assert account.contact_links.count() == 2


def test_opportunity_form_stage_bar_won_lost_lines_and_competitors(admin_client, tenant, records):
    o = records
    with tenant_context(tenant):
        stages = list(o["pipeline"].stages.filter(kind="open").order_by("position"))
    r = admin_client.post(
        reverse("sales:opportunity_create"),
        {"name": "New deal", "account": o["sales_account"].pk, "owner": tenant.admin.pk, "currency": "CNY",
         "forecast_category": "pipeline", "amount": "5000", "amount_from_lines": "on"},
    )  # fmt: skip
    assert r.status_code == 302, r.content.decode()[:2000]
    with tenant_context(tenant):
        opp = Opportunity.objects.get(name="New deal")
    assert opp.stage_id == stages[0].pk and opp.probability == stages[0].probability
    url = opp.get_absolute_url()
    admin_client.post(reverse("sales:opportunity_stage", args=[opp.pk]), {"stage": stages[2].pk})
    admin_client.post(
        reverse("sales:opportunity_line_add", args=[opp.pk]),
        {"line-product": o["product"].pk, "line-quantity": "3", "line-discount_percent": "10"},
    )
    with tenant_context(tenant):
        opp.refresh_from_db()
    assert opp.stage_id == stages[2].pk and opp.amount == Decimal("270.00")
    admin_client.post(
        reverse("sales:opportunity_competitor_add", args=[opp.pk]),
        {"comp-competitor": o["competitor"].pk, "comp-strengths": "Local", "comp-price": "250"},
    )
    r = admin_client.post(reverse("sales:opportunity_lost", args=[opp.pk]), {"reason": ""})
    with tenant_context(tenant):
        opp.refresh_from_db()
    assert opp.status == "open"  # no reason, no close
    admin_client.post(
        reverse("sales:opportunity_lost", args=[opp.pk]), {"reason": "Price", "lost_to": o["competitor"].pk}
    )
    with tenant_context(tenant):
        opp.refresh_from_db()
    assert opp.status == "lost" and opp.lost_to_id == o["competitor"].pk
    body = admin_client.get(url).content.decode()
    assert "Price" in body and "won the deal" in body and 'data-testid="stage-history"' in body
    analysis = admin_client.get(reverse("sales:competitor_analysis")).content.decode()
    assert o["competitor"].name in analysis


def test_board_move_records_the_change_and_refuses_bad_moves(admin_client, tenant, records):
    o = records
    opp = o["opportunity"]
    with tenant_context(tenant):
        stages = list(o["pipeline"].stages.order_by("position"))
        other_stage = o["other_pipeline"].stages.first()
    url = reverse("sales:opportunity_move", args=[opp.pk])
    r = admin_client.post(url, json.dumps({"stage": stages[1].pk}), content_type="application/json")
    assert r.status_code == 200 and r.json()["ok"]
    assert r.json()["columns"][str(stages[1].pk)]["count"] == 1
    with tenant_context(tenant):
        assert OpportunityStageChange.objects.filter(opportunity=opp, to_stage=stages[1]).exists()
    r = admin_client.post(url, json.dumps({"stage": other_stage.pk}), content_type="application/json")
    assert r.status_code == 400 and r.json()["message"]
    won = next(s for s in stages if s.kind == Stage.Kind.WON)
    r = admin_client.post(url, json.dumps({"stage": won.pk}), content_type="application/json")
    assert r.status_code == 400  # a reason is needed
    r = admin_client.post(url, {"stage": won.pk, "reason": "Signed"})
    assert r.status_code == 200
    with tenant_context(tenant):
        opp.refresh_from_db()
    assert opp.status == "won" and opp.close_reason == "Signed"


def test_rep_board_hides_and_refuses_other_teams_opportunities(client, tenant):
    rep = make_member(tenant)
    stranger = make_member(tenant)
    with tenant_context(tenant, actor=stranger):
        account = customer_services.account_create(actor=stranger, data={"name": "Theirs"})
        theirs = services.opportunity_create(actor=stranger, data={"name": "Their secret deal", "account": account})
        stage = list(theirs.pipeline.stages.order_by("position"))[1]
    client.force_login(rep)
    board = client.get(reverse("sales:board")).content.decode()
    assert "Their secret deal" not in board
    r = client.post(reverse("sales:opportunity_move", args=[theirs.pk]), {"stage": stage.pk})
    assert r.status_code == 404
    assert client.get(theirs.get_absolute_url()).status_code == 404
    with tenant_context(tenant):
        theirs.refresh_from_db()
    assert theirs.stage_id != stage.pk


def _opportunities(tenant, n, *, offset=0):
    with tenant_context(tenant, actor=tenant.admin):
        account = customer_services.account_create(actor=tenant.admin, data={"name": f"Bulk {offset}"})
        pipeline = services.pipeline_default_for_tenant()
        stages = list(pipeline.stages.order_by("position"))
        for i in range(n):
            opp = services.opportunity_create(
                actor=tenant.admin,
                data={"name": f"Deal {offset + i}", "account": account, "amount": 1000 + i,
                      "stage": stages[i % 4], "expected_close_date": timezone.localdate() + datetime.timedelta(days=30 * (i % 6))},
            )  # fmt: skip
            if i % 5 == 0:
                services.opportunity_mark_won(actor=tenant.admin, opportunity=opp, reason="ok")
            elif i % 7 == 0:
                services.opportunity_mark_lost(actor=tenant.admin, opportunity=opp, reason="no")


def test_board_dashboard_and_lists_query_counts_do_not_grow(admin_client, tenant, django_assert_max_num_queries):
    _opportunities(tenant, 4)
    pages = [
        reverse("sales:board"),
        reverse("sales:dashboard"),
        reverse("sales:opportunity_list"),
        reverse("sales:lead_list"),
        reverse("sales:competitor_analysis"),
    ]
    counts = {}
    for url in pages:
        admin_client.get(url)
        with django_assert_max_num_queries(60) as captured:
            assert admin_client.get(url).status_code == 200
        counts[url] = len(captured.captured_queries)
    _opportunities(tenant, 25, offset=100)
    with tenant_context(tenant, actor=tenant.admin):
        for i in range(20):
            lead_services.lead_create(actor=tenant.admin, data={"company": f"Lead {i}", "email": f"l{i}@x.com"})
    for url in pages:
        with django_assert_max_num_queries(counts[url]):
            assert admin_client.get(url).status_code == 200


def test_dashboard_respects_permissions(client, tenant):
    rep = make_member(tenant)
    stranger = make_member(tenant)
    with tenant_context(tenant, actor=stranger):
        account = customer_services.account_create(actor=stranger, data={"name": "Theirs"})
        services.opportunity_create(actor=stranger, data={"name": "Hidden", "account": account, "amount": 777777})
    with tenant_context(tenant, actor=rep):
        account = customer_services.account_create(actor=rep, data={"name": "Mine"})
        services.opportunity_create(actor=rep, data={"name": "Mine", "account": account, "amount": 1234})
    client.force_login(rep)
    body = client.get(reverse("sales:dashboard")).content.decode()
    assert "1,234" in body and "777,777" not in body


def test_pipeline_admin_pages(admin_client, tenant, records):
    pipeline = records["pipeline"]
    r = admin_client.post(
        reverse("sales:stage_create", args=[pipeline.pk]),
        {"stage-name": "Demo", "stage-probability": "50", "stage-kind": "open"},
    )
    assert r.status_code == 302
    with tenant_context(tenant):
        demo = pipeline.stages.get(name="Demo")
    admin_client.post(reverse("sales:stage_move", args=[demo.pk]), {"direction": "up"})
    r = admin_client.post(reverse("sales:stage_edit", args=[demo.pk]), {"name": "Demo day", "probability": "55",
                                                                       "kind": "open"})  # fmt: skip
    assert r.status_code == 302
    admin_client.post(reverse("sales:stage_delete", args=[demo.pk]))
    with tenant_context(tenant):
        assert not pipeline.stages.filter(name__startswith="Demo").exists()
    r = admin_client.post(reverse("sales:pipeline_create"), {"name": "Hardware", "is_active": "on"})
    assert r.status_code == 302


def test_custom_fields_tags_and_export_of_leads(admin_client, tenant):
    from guanxi.customization.models import CustomFieldDefinition

    with tenant_context(tenant):
        CustomFieldDefinition.objects.create(
            entity="sales.lead", key="budget_note", label_en="Budget", field_type="text"
        )
    r = admin_client.post(
        reverse("sales:lead_create"),
        {"company": "Custom Co", "owner": tenant.admin.pk, "cf_budget_note": "约 50 万 / about 500k"},
    )
    assert r.status_code == 302
    with tenant_context(tenant):
        created = Lead.objects.get(company="Custom Co")
    assert created.custom == {"budget_note": "约 50 万 / about 500k"}
    assert "约 50 万" in admin_client.get(created.get_absolute_url()).content.decode()
    r = admin_client.get(reverse("sales:lead_export"), {"format": "csv"})
    assert r.status_code == 200
    body = b"".join(r.streaming_content).decode("utf-8-sig") if r.streaming else r.content.decode("utf-8-sig")
    assert "Custom Co" in body


def test_rescore_task_runs_for_every_tenant(tenant, other_tenant):
    from guanxi.sales.models import LeadScoringRule
    from guanxi.sales.tasks import rescore_all_leads

    for t in (tenant, other_tenant):
        with tenant_context(t, actor=t.admin):
            lead_services.lead_create(actor=t.admin, data={"company": "X", "email": "x@x.cn"})
            LeadScoringRule.objects.create(name="Mail", field="email", operator="is_set", points=3)
    result = rescore_all_leads.call()
    assert result == {tenant.slug: 1, other_tenant.slug: 1}
