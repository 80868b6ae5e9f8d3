"""A quote in a real browser: two lines priced from the price book with live totals, its PDF, accepted into an order."""

import io
import re
from decimal import Decimal as D

import pytest
from playwright.sync_api import expect

from guanxi.commerce.models import Order, PriceBook, PriceBookEntry, Product, Quote, TaxClass
from guanxi.customers import services as customer_services
from guanxi.platform.context import tenant_context

from .conftest import PHONE, has_no_horizontal_scroll

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def choose_product(page, row: int, search: str, label: str):
    """Pick a product in the row's Tom Select (options load from the server as you type)."""
    wrapper = page.locator(f"#line-{row}-product + .ts-wrapper, #line-{row}-product ~ .ts-wrapper").first
    wrapper.locator(".ts-control").click()
    page.keyboard.type(search)
    option = page.locator(".ts-dropdown .option", has_text=label).first
    expect(option).to_be_visible()
    option.click()


def test_build_a_quote_download_its_pdf_and_accept_it(
    page, live_url, browser_tenant, logged_in_page, assert_no_page_errors
):
    tenant, admin = browser_tenant, browser_tenant.admin
    with tenant_context(tenant, actor=admin):
        vat = TaxClass.objects.create(name="增值税 13%", rate=13)
        erp = Product.objects.create(sku="ERP-ENT", name="ERP 企业版 Enterprise", list_price=D("1000"), tax_class=vat)
        Product.objects.create(sku="SVC-DAY", name="实施服务 Implementation day", list_price=D("33.335"), tax_class=vat)
        book = PriceBook.objects.create(name="标准价 Standard", is_default=True)
        PriceBookEntry.objects.create(price_book=book, product=erp, unit_price=D("900"))
        account = customer_services.account_create(
            actor=admin, data={"name": "上海云帆科技 Yunfan Tech", "city": "上海"}
        )
        contact = customer_services.contact_create(
            actor=admin,
            data={"family_name": "周", "given_name": "敏", "account": account, "email": "zhou@yunfan.example"},
        )

    # A new quote for the account (the "new quote" link of an account pre-fills it).
    page.goto(live_url("commerce:quote_create") + f"?account={account.pk}&contact={contact.pk}")
    page.locator("input[name=title]").fill("ERP 上线 Rollout")
    page.get_by_test_id("save-button").click()
    expect(page).to_have_url(re.compile(r"/commerce/quotes/\d+/$"))
    expect(page.get_by_test_id("quote-status")).to_be_visible()
    with tenant_context(tenant):
        quote = Quote.objects.get()

    # Two lines: prices come from the price book (or the list price); totals are computed by the server.
    page.get_by_test_id("add-line").click()
    expect(page.get_by_test_id("line-row")).to_have_count(1)
    choose_product(page, 0, "ERP", "ERP 企业版")
    expect(page.locator("#line-0-unit_price")).to_have_value("900")
    page.locator("#line-0-quantity").fill("2")
    page.locator("#line-0-quantity").press("Tab")
    expect(page.get_by_test_id("grand-total")).to_contain_text("2,034.00")  # 1,800 + 13 %
    page.get_by_test_id("add-line").click()
    expect(page.get_by_test_id("line-row")).to_have_count(2)
    choose_product(page, 1, "SVC", "实施服务")
    expect(page.locator("#line-1-unit_price")).to_have_value("33.335")
    page.locator("#line-1-quantity").fill("3")
    page.locator("#line-1-quantity").press("Tab")
    expect(page.get_by_test_id("grand-total")).to_contain_text("2,147.01")  # + 3 × 33.335 → 100.01 + 13.00
    page.get_by_test_id("save-lines").click()
    expect(page.get_by_test_id("header-total")).to_contain_text("2,147.01 CNY")
    with tenant_context(tenant):
        quote = Quote.objects.get()
        assert quote.total == D("2147.01") and quote.lines.count() == 2

    # The PDF: a real PDF whose text has the Chinese names and the total.
    with page.expect_download() as download_info:
        page.get_by_test_id("pdf-button").click()
    pdf = open(download_info.value.path(), "rb").read()  # noqa: SIM115
    assert pdf.startswith(b"%PDF")
    from pypdf import PdfReader

    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "2,147.01" in text and "ERP 企业版" in text and quote.number in text

    # On a phone the quote page does not scroll sideways.
    page.set_viewport_size(PHONE)
    page.reload()
    assert has_no_horizontal_scroll(page)
    page.set_viewport_size({"width": 1280, "height": 900})

    # The customer accepts: the quote becomes an order with the same lines and total.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("accept-button").click()
    expect(page).to_have_url(re.compile(r"/commerce/orders/\d+/$"))
    expect(page.get_by_test_id("order-total")).to_contain_text("2,147.01 CNY")
    with tenant_context(tenant):
        order = Order.objects.get()
        assert order.quote_id == quote.pk and order.lines.count() == 2
        assert Quote.objects.get().status == "accepted"
    expect(page.get_by_test_id("order-number")).to_have_text(order.number)
    page.get_by_test_id("transition-confirmed").click()
    expect(page.get_by_test_id("order-status")).to_have_text(re.compile("Confirmed|已确认|确认"))
    assert_no_page_errors()
