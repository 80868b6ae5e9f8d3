"""A lead's way to a won deal in a real browser: create the lead, qualify and convert it, then move
the opportunity across the pipeline board by dragging its card (and with its "Move to" menu), mark
it won from the board, and check every stage change was recorded."""

import re

import pytest
from playwright.sync_api import expect

from guanxi.platform.context import tenant_context
from guanxi.sales import services
from guanxi.sales.models import Lead, Opportunity, OpportunityStageChange

from .conftest import PHONE, has_no_horizontal_scroll

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMPANY = "上海云帆智能科技有限公司"


def drag(page, source, target):
    """A real pointer drag: press on the card, move in steps onto the column, release."""
    source.scroll_into_view_if_needed()
    box = source.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 12)
    page.mouse.down()
    target.scroll_into_view_if_needed()
    dest = target.bounding_box()
    page.mouse.move(dest["x"] + dest["width"] / 2, dest["y"] + 30, steps=25)
    page.mouse.move(dest["x"] + dest["width"] / 2, dest["y"] + 40, steps=5)
    page.mouse.up()


def test_lead_to_won_deal_on_the_board(page, live_url, browser_tenant, login_as, assert_no_page_errors):
    rep = browser_tenant.rep
    login_as(rep)
    page.get_by_test_id("language-menu").click()
    page.get_by_test_id("language-en").click()

    # A new lead.
    page.goto(live_url("sales:lead_list"))
    page.get_by_test_id("create-button").click()
    page.locator("input[name=company]").fill(COMPANY)
    page.locator("input[name=family_name]").fill("陈")
    page.locator("input[name=given_name]").fill("晓")
    page.locator("input[name=title]").fill("总经理")
    page.locator("input[name=email]").fill("chen.xiao@yunfan.example")
    page.locator("input[name=phone]").fill("139 1234 5678")
    page.get_by_test_id("save-button").click()
    expect(page).to_have_url(re.compile(r"/sales/leads/\d+/$"))
    expect(page.locator(".gx-page-header h1")).to_contain_text("陈晓")
    with tenant_context(browser_tenant):
        lead = Lead.objects.get(company=COMPANY)
        assert (lead.owner_id, lead.phone, lead.status) == (rep.pk, "+8613912345678", "new")

    # Qualify it, then convert it into an account, a contact and an opportunity.
    page.get_by_test_id("status-contacted").click()
    expect(page.get_by_test_id("lead-status")).to_contain_text("Contacted")
    page.get_by_test_id("convert-button").click()
    expect(page.get_by_test_id("convert-form")).to_be_visible()
    page.locator("input[name=amount]").fill("86000")
    page.get_by_test_id("convert-submit").click()
    expect(page).to_have_url(re.compile(r"/sales/opportunities/\d+/$"))
    with tenant_context(browser_tenant):
        lead.refresh_from_db()
        opp = Opportunity.objects.select_related("pipeline", "account").get()
        assert lead.status == "converted" and lead.converted_opportunity_id == opp.pk
        stages = list(opp.pipeline.stages.order_by("position"))
        open_stages = [s for s in stages if s.kind == "open"]
        won = next(s for s in stages if s.kind == "won")
        assert opp.stage_id == open_stages[0].pk and str(opp.amount) == "86000.00"
    expect(page.get_by_test_id("opportunity-amount")).to_contain_text("86,000")

    # Drag the card from the first to the second stage.
    page.goto(live_url("sales:board"))
    card = page.get_by_test_id(f"card-{opp.pk}")
    expect(page.get_by_test_id(f"column-{open_stages[0].pk}").get_by_test_id(f"card-{opp.pk}")).to_be_visible()
    drag(page, card, page.locator(f".gx-board-cards[data-stage='{open_stages[1].pk}']"))
    expect(page.get_by_test_id(f"count-{open_stages[1].pk}")).to_have_text("1")
    expect(page.get_by_test_id(f"column-{open_stages[1].pk}").get_by_test_id(f"card-{opp.pk}")).to_be_visible()
    expect(page.locator("#gx-toasts")).to_contain_text(open_stages[1].name)
    with tenant_context(browser_tenant):
        change = OpportunityStageChange.objects.filter(opportunity=opp).order_by("-changed_at", "-pk").first()
        assert (change.from_stage_id, change.to_stage_id, change.changed_by_id) == (
            open_stages[0].pk,
            open_stages[1].pk,
            rep.pk,
        )
        assert change.seconds_in_previous_stage is not None

    # The same move survives a reload; the "Move to" menu moves it too (keyboard and phones).
    page.reload()
    expect(page.get_by_test_id(f"column-{open_stages[1].pk}").get_by_test_id(f"card-{opp.pk}")).to_be_visible()
    page.get_by_test_id(f"move-{opp.pk}").select_option(str(open_stages[2].pk))
    expect(page.get_by_test_id(f"column-{open_stages[2].pk}").get_by_test_id(f"card-{opp.pk}")).to_be_visible()
    expect(page.get_by_test_id(f"count-{open_stages[2].pk}")).to_have_text("1")
    with tenant_context(browser_tenant):
        opp.refresh_from_db()
        assert opp.stage_id == open_stages[2].pk and opp.probability == open_stages[2].probability

    # Dropping on "won" asks for the reason; cancelling puts the card back.
    drag(page, page.get_by_test_id(f"card-{opp.pk}"), page.locator(f".gx-board-cards[data-stage='{won.pk}']"))
    expect(page.get_by_test_id("close-reason")).to_be_visible()
    page.locator("#gx-close-modal [data-bs-dismiss=modal]").first.click()
    expect(page.get_by_test_id(f"column-{open_stages[2].pk}").get_by_test_id(f"card-{opp.pk}")).to_be_visible()
    with tenant_context(browser_tenant):
        opp.refresh_from_db()
        assert opp.status == "open"
    drag(page, page.get_by_test_id(f"card-{opp.pk}"), page.locator(f".gx-board-cards[data-stage='{won.pk}']"))
    page.get_by_test_id("close-reason").fill("方案最贴合需求 Best fit")
    page.get_by_test_id("close-confirm").click()
    expect(page.get_by_test_id(f"column-{won.pk}").get_by_test_id(f"card-{opp.pk}")).to_be_visible()
    expect(page.get_by_test_id(f"count-{won.pk}")).to_have_text("1")
    with tenant_context(browser_tenant):
        opp.refresh_from_db()
        assert (opp.status, opp.stage_id, opp.close_reason) == ("won", won.pk, "方案最贴合需求 Best fit")
        path = list(
            OpportunityStageChange.objects.filter(opportunity=opp)
            .order_by("changed_at", "pk")
            .values_list("to_stage_id", flat=True)
        )
        assert path == [open_stages[0].pk, open_stages[1].pk, open_stages[2].pk, won.pk]

    # A click (no drag) on the card's title still opens the opportunity, which shows the history.
    page.get_by_test_id(f"card-{opp.pk}").get_by_role("link").click()
    expect(page).to_have_url(live_url("sales:opportunity_detail", opp.pk))
    page.get_by_test_id("tab-stages").click()
    expect(page.get_by_test_id("stage-history")).to_contain_text(open_stages[1].name)
    expect(page.get_by_test_id("opportunity-status")).to_contain_text("Won")

    # A move the server refuses snaps back with its message: here the deal was given to someone else
    # (out of the representative's reach) after the board was loaded.
    with tenant_context(browser_tenant, actor=rep):
        other = services.opportunity_create(
            actor=rep, data={"name": "被转走的商机 Reassigned deal", "account": opp.account}
        )
    page.goto(live_url("sales:board"))
    expect(page.get_by_test_id(f"card-{other.pk}")).to_be_visible()
    with tenant_context(browser_tenant, actor=browser_tenant.admin):
        services.opportunity_update(actor=browser_tenant.admin, opportunity=other, data={"owner": browser_tenant.admin})
    drag(
        page,
        page.get_by_test_id(f"card-{other.pk}"),
        page.locator(f".gx-board-cards[data-stage='{open_stages[1].pk}']"),
    )
    expect(page.locator("#gx-toasts .text-bg-danger")).to_be_visible()
    expect(page.get_by_test_id(f"column-{open_stages[0].pk}").get_by_test_id(f"card-{other.pk}")).to_be_visible()
    with tenant_context(browser_tenant):
        assert OpportunityStageChange.objects.filter(opportunity=other).count() == 1

    # On a phone the board scrolls inside itself, not the page.
    page.set_viewport_size(PHONE)
    page.goto(live_url("sales:board"))
    expect(page.get_by_test_id("board")).to_be_visible()
    assert has_no_horizontal_scroll(page)
    page.goto(live_url("sales:dashboard"))
    expect(page.get_by_test_id("kpis")).to_be_visible()
    assert has_no_horizontal_scroll(page)

    assert_no_page_errors()
