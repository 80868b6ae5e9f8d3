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


def test_the_whole_cycle_lead_convert_board_quote_pdf_order_invoice(
    page, live_url, browser_tenant, login_as, assert_no_page_errors
):
    """One deal end to end, the way a representative works: lead → conversion → board → a quote made from the
    opportunity's Quotes tab with price-book prices → PDF → accepted into an order → confirmed and billed once."""
    import io
    from decimal import Decimal as D

    from pypdf import PdfReader

    from guanxi.commerce.models import Order, PriceBook, PriceBookEntry, Product, Quote, TaxClass
    from guanxi.finance.models import Invoice

    rep = browser_tenant.rep
    with tenant_context(browser_tenant, actor=browser_tenant.admin):
        vat = TaxClass.objects.create(name="增值税 13%", rate=13)
        gateway = Product.objects.create(
            sku="GW-200", name="物联网网关 IoT gateway", list_price=D("2600"), tax_class=vat
        )
        book = PriceBook.objects.create(name="华东价 East China", is_default=True)
        PriceBookEntry.objects.create(price_book=book, product=gateway, unit_price=D("2450"))
    login_as(rep)
    page.get_by_test_id("language-menu").click()
    page.get_by_test_id("language-en").click()

    # Lead, converted into account + contact + opportunity.
    page.goto(live_url("sales:lead_create"))
    page.locator("input[name=company]").fill("苏州恒瑞精密 Hengrui Precision")
    page.locator("input[name=family_name]").fill("周")
    page.locator("input[name=given_name]").fill("敏")
    page.locator("input[name=email]").fill("zhou.min@hengrui.example")
    page.get_by_test_id("save-button").click()
    expect(page).to_have_url(re.compile(r"/sales/leads/\d+/$"))
    page.get_by_test_id("convert-button").click()
    page.locator("input[name=amount]").fill("50000")
    page.get_by_test_id("convert-submit").click()
    expect(page).to_have_url(re.compile(r"/sales/opportunities/\d+/$"))
    with tenant_context(browser_tenant):
        opp = Opportunity.objects.select_related("pipeline").get()
        open_stages = [s for s in opp.pipeline.stages.order_by("position") if s.kind == "open"]

    # On the board, move it on a stage.
    page.goto(live_url("sales:board"))
    page.get_by_test_id(f"move-{opp.pk}").select_option(str(open_stages[1].pk))
    expect(page.get_by_test_id(f"column-{open_stages[1].pk}").get_by_test_id(f"card-{opp.pk}")).to_be_visible()

    # From the opportunity's Quotes tab, a new quote pre-filled with the deal.
    page.goto(live_url("sales:opportunity_detail", opp.pk))
    page.get_by_role("tab", name="Quotes").click()
    page.get_by_test_id("related-new-quote").click()
    expect(page).to_have_url(re.compile(r"/commerce/quotes/new/\?opportunity=\d+$"))
    expect(page.locator("input[name=title]")).to_have_value(opp.name)
    page.get_by_test_id("save-button").click()
    expect(page).to_have_url(re.compile(r"/commerce/quotes/\d+/$"))
    with tenant_context(browser_tenant):
        quote = Quote.objects.get()
        assert quote.opportunity_id == opp.pk and quote.account_id == opp.account_id

    page.get_by_test_id("add-line").click()
    wrapper = page.locator("#line-0-product + .ts-wrapper, #line-0-product ~ .ts-wrapper").first
    wrapper.locator(".ts-control").click()
    page.keyboard.type("GW-")
    page.locator(".ts-dropdown .option", has_text="物联网网关").first.click()
    expect(page.locator("#line-0-unit_price")).to_have_value("2450")  # the price book's price, not the list price
    page.locator("#line-0-quantity").fill("20")
    page.locator("#line-0-quantity").press("Tab")
    expect(page.get_by_test_id("grand-total")).to_contain_text("55,370.00")  # 49,000 + 13 %
    page.get_by_test_id("save-lines").click()
    expect(page.get_by_test_id("header-total")).to_contain_text("55,370.00 CNY")

    with page.expect_download() as download_info:
        page.get_by_test_id("pdf-button").click()
    pdf = open(download_info.value.path(), "rb").read()  # noqa: SIM115
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert pdf.startswith(b"%PDF") and "55,370.00" in text and "物联网网关" in text and "恒瑞精密" in text

    # Accepted: an order; confirmed; billed once (the button then gives way to the invoice).
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("accept-button").click()
    expect(page).to_have_url(re.compile(r"/commerce/orders/\d+/$"))
    expect(page.get_by_test_id("order-total")).to_contain_text("55,370.00 CNY")
    page.get_by_test_id("transition-confirmed").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Confirmed")
    page.get_by_test_id("bill-order").click()
    expect(page).to_have_url(re.compile(r"/finance/invoices/\d+/$"))
    with tenant_context(browser_tenant):
        order = Order.objects.get()
        invoice = Invoice.objects.get()
        assert order.opportunity_id == opp.pk and invoice.order_id == order.pk and invoice.total == D("55370.00")
    page.goto(live_url("commerce:order_detail", order.pk))
    expect(page.get_by_test_id("order-billed")).to_be_visible()
    expect(page.get_by_test_id("bill-order")).to_have_count(0)

    # The opportunity shows its quote and its order.
    page.goto(live_url("sales:opportunity_detail", opp.pk))
    page.get_by_role("tab", name="Orders").click()
    expect(page.locator(".tab-pane.active")).to_contain_text(order.number)
    assert_no_page_errors()
