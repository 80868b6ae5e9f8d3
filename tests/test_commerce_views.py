"""Commerce pages: catalogue, price books, the quote line editor (htmx), PDF, e-mail, approvals, orders."""

import io
import re
from decimal import Decimal as D

import pytest
from django.test import Client
from django.urls import reverse

from guanxi.activities.models import Activity
from guanxi.commerce import services
from guanxi.commerce.models import (
    DiscountApproval,
    Order,
    OrderStatus,
    PriceBook,
    PriceBookEntry,
    Product,
    ProductCategory,
    Quote,
    QuoteStatus,
    TaxClass,
)
from guanxi.customers import services as customer_services
from guanxi.org.models import Member
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member

from .smtp import smtp_server  # noqa: F401 - fixture

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def shop(tenant):
    admin = tenant.admin
    with tenant_context(tenant, actor=admin):
        vat = TaxClass.objects.create(name="VAT 13", rate=13)
        cat = ProductCategory.objects.create(name="软件 Software")
        erp = Product.objects.create(sku="ERP-1", name="ERP 企业版", list_price=D("1000"), tax_class=vat, category=cat)
        svc = Product.objects.create(sku="SVC-1", name="实施 Day", list_price=D("33.335"), unit="day", tax_class=vat)
        book = PriceBook.objects.create(name="Standard", is_default=True)
        PriceBookEntry.objects.create(price_book=book, product=erp, unit_price=D("900"))
        account = customer_services.account_create(actor=admin, data={"name": "客户 Customer Ltd", "city": "上海"})
        contact = customer_services.contact_create(
            actor=admin,
            data={"family_name": "李", "given_name": "雷", "account": account, "email": "li@customer.example"},
        )
    # The test itself runs in the tenant (PostgreSQL's row-level security hides rows from refresh_from_db otherwise);
    # each request of the test client binds its own context.
    with tenant_context(tenant, actor=admin):
        yield {"tenant": tenant, "admin": admin, "erp": erp, "svc": svc, "book": book, "account": account,
               "contact": contact, "vat": vat}  # fmt: skip


def quote_with_lines(shop, n=2, actor=None, **data):
    actor = actor or shop["admin"]
    with tenant_context(shop["tenant"], actor=actor):
        quote = services.quote_create(
            actor=actor, data={"title": "Rollout 上线", "account": shop["account"], "contact": shop["contact"], **data}
        )
        lines = [{"product": shop["erp" if i % 2 == 0 else "svc"].pk, "quantity": str(i + 1)} for i in range(n)]
        if lines:
            services.quote_set_lines(actor=actor, quote=quote, lines=lines)
        quote.refresh_from_db()
    return quote


def editor_post(rows, **extra):
    data = {"line_count": str(len(rows)), "discount_percent": extra.pop("discount_percent", "0")}
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"lines-{i}-{key}"] = value
    data.update(extra)
    return data


def test_lists_render_and_do_not_grow_in_queries(admin_client, shop, django_assert_max_num_queries):
    for name in ("product_list", "price_book_list", "quote_list", "order_list"):
        assert admin_client.get(reverse(f"commerce:{name}")).status_code == 200
    quote_with_lines(shop)
    order_data = {"account": shop["account"]}
    with tenant_context(shop["tenant"], actor=shop["admin"]):
        services.order_create(actor=shop["admin"], data=order_data, lines=[{"product": shop["erp"].pk, "quantity": 1}])
    counts = {}
    for name in ("product_list", "price_book_list", "quote_list", "order_list"):
        with django_assert_max_num_queries(60) as ctx:
            admin_client.get(reverse(f"commerce:{name}"))
        counts[name] = len(ctx.captured_queries)
    with tenant_context(shop["tenant"], actor=shop["admin"]):
        for i in range(12):
            Product.objects.create(sku=f"P{i}", name=f"Product {i}", tax_class=shop["vat"])
            PriceBook.objects.create(name=f"Book {i}", region=None)
            services.order_create(actor=shop["admin"], data=order_data)
        for _ in range(12):
            services.quote_create(actor=shop["admin"], data={"account": shop["account"], "contact": shop["contact"]})
    for name, before in counts.items():
        with django_assert_max_num_queries(before) as ctx:
            response = admin_client.get(reverse(f"commerce:{name}"))
        assert response.status_code == 200, name


def test_product_pages(admin_client, shop):
    response = admin_client.post(
        reverse("commerce:product_create"),
        {"sku": "HW-9", "name": "智能终端 Terminal", "kind": "product", "unit": "pcs", "list_price": "199.5",
         "currency": "CNY", "tax_class": shop["vat"].pk, "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    with tenant_context(shop["tenant"]):
        product = Product.objects.get(sku="HW-9")
    page = admin_client.get(response["Location"])
    assert "智能终端 Terminal" in page.content.decode()
    erp_page = admin_client.get(reverse("commerce:product_detail", args=[shop["erp"].pk])).content.decode()
    assert "Standard" in erp_page and "900.00" in erp_page
    listing = admin_client.get(reverse("commerce:product_list") + "?q=terminal").content.decode()
    assert "HW-9" in listing and "ERP-1" not in listing
    options = admin_client.get(reverse("commerce:product_options") + "?q=ERP").json()["results"]
    assert [o["id"] for o in options] == [shop["erp"].pk]
    assert product.list_price == D("199.5")
    # bulk owner changes make no sense for the ownerless catalogue
    response = admin_client.post(
        reverse("commerce:product_bulk"), {"ids": [product.pk], "action": "assign", "owner": shop["admin"].pk}
    )
    assert response.status_code == 404


def test_price_book_pages_and_inline_entries(admin_client, shop):
    response = admin_client.post(
        reverse("commerce:price_book_create"),
        {"name": "华东 East", "currency": "CNY", "is_active": "on", "tier": "A", "channel": ""},
    )
    assert response.status_code == 302
    with tenant_context(shop["tenant"]):
        book = PriceBook.objects.get(name="华东 East")
    add = reverse("commerce:price_book_entry_add", args=[book.pk])
    admin_client.post(add, {"product": shop["erp"].pk, "min_quantity": "1", "unit_price": "850"})
    admin_client.post(add, {"product": shop["erp"].pk, "min_quantity": "10", "unit_price": "800.5"})
    with tenant_context(shop["tenant"]):
        entries = list(PriceBookEntry.objects.filter(price_book=book).order_by("min_quantity"))
    assert [e.unit_price for e in entries] == [D("850"), D("800.5")]
    admin_client.post(
        reverse("commerce:price_book_entry_edit", args=[book.pk, entries[0].pk]),
        {"unit_price": "840", "min_quantity": "1"},
    )
    admin_client.post(reverse("commerce:price_book_entry_delete", args=[book.pk, entries[1].pk]))
    with tenant_context(shop["tenant"]):
        assert list(PriceBookEntry.objects.filter(price_book=book).values_list("unit_price", flat=True)) == [D("840")]
    page = admin_client.get(book.get_absolute_url()).content.decode()
    assert "840" in page and "ERP 企业版" in page


def test_creating_a_quote_then_editing_lines_with_live_totals(admin_client, shop):
    response = admin_client.post(
        reverse("commerce:quote_create"),
        {"title": "", "account": shop["account"].pk, "contact": shop["contact"].pk, "owner": shop["admin"].pk,
         "channel": "direct", "currency": "", "quote_date": "2026-03-01", "valid_until": "", "discount_percent": "0"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(shop["tenant"]):
        quote = Quote.objects.get()
    assert quote.title == "客户 Customer Ltd" and quote.currency == "CNY"
    detail = admin_client.get(response["Location"]).content.decode()
    assert 'data-testid="line-editor"' in detail

    preview = reverse("commerce:quote_lines_preview", args=[quote.pk])
    # choosing a product fills in its price-book price; the server computes the amounts
    html = admin_client.post(
        preview,
        editor_post([{"product": shop["erp"].pk, "prev_product": "", "quantity": "2", "unit_price": ""}]),
        **HTMX,
    ).content.decode()
    assert 'value="900"' in html
    assert "1,800.00" in html and "2,034.00 CNY" in html  # 1800 + 13 % tax
    # adding a line gives an empty row without errors; removing one drops it
    html = admin_client.post(
        preview,
        editor_post([{"product": shop["erp"].pk, "prev_product": shop["erp"].pk, "quantity": "2", "unit_price": "900"}],
                    _add="1"),
        **HTMX,
    ).content.decode()  # fmt: skip
    assert html.count('data-testid="line-row"') == 2 and "is-invalid" not in html
    html = admin_client.post(
        preview,
        editor_post(
            [{"product": shop["erp"].pk, "prev_product": shop["erp"].pk, "quantity": "1", "unit_price": "900"},
             {"product": shop["svc"].pk, "prev_product": "", "quantity": "3"}],
            _remove="0",
        ),
        **HTMX,
    ).content.decode()  # fmt: skip
    assert html.count('data-testid="line-row"') == 1 and "113.01" in html  # 3 × 33.335 + 13 %
    # a big discount shows the approval warning
    html = admin_client.post(
        preview,
        editor_post([{"product": shop["erp"].pk, "prev_product": shop["erp"].pk, "quantity": "1", "unit_price": "900",
                      "discount_percent": "25"}]),
        **HTMX,
    ).content.decode()  # fmt: skip
    assert 'data-testid="approval-warning"' in html
    # invalid input is shown on the row
    html = admin_client.post(
        preview, editor_post([{"product": shop["erp"].pk, "prev_product": shop["erp"].pk, "quantity": "-1"}]), **HTMX
    ).content.decode()
    assert "is-invalid" in html
    # saving with htmx redirects to the page; the stored totals are the previewed ones
    response = admin_client.post(
        reverse("commerce:quote_lines", args=[quote.pk]),
        editor_post(
            [{"product": shop["erp"].pk, "prev_product": shop["erp"].pk, "quantity": "2", "unit_price": "900"},
             {"product": shop["svc"].pk, "prev_product": shop["svc"].pk, "quantity": "3", "unit_price": "33.335"},
             {"product": "", "prev_product": "", "description": "", "quantity": "1", "unit_price": ""}],
            discount_percent="0",
        ),
        **HTMX,
    )  # fmt: skip
    assert response.status_code == 204 and response["HX-Redirect"] == quote.get_absolute_url()
    quote.refresh_from_db()
    assert quote.total == D("2147.01")  # 2034.00 + 113.01; the untouched empty row is ignored
    # saving invalid lines answers the editor with errors
    response = admin_client.post(
        reverse("commerce:quote_lines", args=[quote.pk]),
        editor_post([{"product": "", "description": "Misc", "quantity": "x", "unit_price": "5"}]),
        **HTMX,
    )
    assert response.status_code == 422 and "is-invalid" in response.content.decode()


def test_quote_pdf_is_a_pdf_with_chinese_text_and_the_total(admin_client, shop):
    from pypdf import PdfReader

    quote = quote_with_lines(shop, n=2, discount_percent=D("5"))
    response = admin_client.get(reverse("commerce:quote_pdf", args=[quote.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert quote.number in text
    assert "ERP 企业版" in text and "客户 Customer Ltd" in text and shop["tenant"].name in text
    assert f"{quote.total:,.2f}" in text
    assert "Page 1 / 1" in text


def test_pdf_never_fetches_external_resources(shop):
    from guanxi.commerce.pdf import local_only_fetcher

    fetcher = local_only_fetcher()
    with pytest.raises(ValueError):
        fetcher.fetch("http://127.0.0.1:1/evil.css")
    with pytest.raises(ValueError):
        fetcher.fetch("file:///etc/passwd")
    assert fetcher.fetch("data:text/plain,hi") is not None


def test_sending_from_the_page(admin_client, shop, smtp_server):  # noqa: F811
    quote = quote_with_lines(shop)
    form = admin_client.get(reverse("commerce:quote_send", args=[quote.pk])).content.decode()
    assert "li@customer.example" in form
    response = admin_client.post(
        reverse("commerce:quote_send", args=[quote.pk]),
        {"to": "li@customer.example", "cc": "", "subject": "报价 Quote", "body": "请查收"},
    )
    assert response.status_code == 302
    message = smtp_server.wait_for(1)[0]
    assert message["Subject"] == "报价 Quote"
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT
    with tenant_context(shop["tenant"]):
        assert Activity.objects.filter(kind="email", regarding_id=quote.pk).exists()
    # bad addresses come back on the form
    response = admin_client.post(
        reverse("commerce:quote_send", args=[quote.pk]), {"to": "not-an-address", "subject": "x", "body": "y"}
    )
    assert response.status_code == 200 and "not an email address" in response.content.decode()
    # the sent quote is read-only: no editor, but a revise button
    detail = admin_client.get(quote.get_absolute_url()).content.decode()
    assert 'data-testid="line-editor"' not in detail and 'data-testid="revise-button"' in detail
    response = admin_client.post(reverse("commerce:quote_revise", args=[quote.pk]))
    with tenant_context(shop["tenant"]):
        v2 = Quote.objects.get(number=quote.number, version=2)
    assert response["Location"] == v2.get_absolute_url()
    assert "v2" in admin_client.get(v2.get_absolute_url()).content.decode()


def test_accepting_from_the_page_creates_the_order(admin_client, shop):
    quote = quote_with_lines(shop)
    response = admin_client.post(reverse("commerce:quote_accept", args=[quote.pk]))
    with tenant_context(shop["tenant"]):
        order = Order.objects.get(quote=quote)
    assert response["Location"] == order.get_absolute_url()
    page = admin_client.get(order.get_absolute_url()).content.decode()
    assert order.number in page and f"{order.total:,.2f}" in page
    for status in (OrderStatus.CONFIRMED, OrderStatus.FULFILLED, OrderStatus.CLOSED):
        admin_client.post(reverse("commerce:order_transition", args=[order.pk]), {"to": status})
        order.refresh_from_db()
        assert order.status == status
    response = admin_client.post(reverse("commerce:order_transition", args=[order.pk]), {"to": "draft"}, follow=True)
    assert "cannot go from" in response.content.decode()


def test_orders_are_searchable_by_customer_product_dates_and_status(admin_client, shop):
    with tenant_context(shop["tenant"], actor=shop["admin"]):
        other = customer_services.account_create(actor=shop["admin"], data={"name": "Other 其他"})
        a = services.order_create(
            actor=shop["admin"],
            data={"account": shop["account"], "order_date": "2026-01-10"},
            lines=[{"product": shop["erp"].pk, "quantity": 1}],
        )
        b = services.order_create(
            actor=shop["admin"],
            data={"account": other, "order_date": "2026-02-10"},
            lines=[{"product": shop["svc"].pk, "quantity": 1}],
        )
        services.order_transition(actor=shop["admin"], order=b, to=OrderStatus.CONFIRMED)
    url = reverse("commerce:order_list")

    def numbers(query):
        return set(re.findall(r"SO-\d{4}-\d{5}", admin_client.get(url + query).content.decode()))

    assert numbers(f"?account={shop['account'].pk}") == {a.number}
    assert numbers(f"?product={shop['svc'].pk}") == {b.number}
    assert numbers("?date_from=2026-02-01&date_to=2026-02-28") == {b.number}
    assert numbers("?status=confirmed") == {b.number}
    assert numbers("?q=其他") == {b.number}


def test_approval_inbox_and_decision(client, shop, tenant):
    manager = make_member(tenant, roles=("Sales manager",))
    with tenant_context(tenant):
        manager_member = Member.objects.get(user=manager)
    rep = make_member(tenant, manager=manager_member)
    with tenant_context(tenant, actor=rep):
        account = customer_services.account_create(actor=rep, data={"name": "Rep's"})
    shop_rep = {**shop, "account": account, "contact": None}
    quote = quote_with_lines(shop_rep, n=1, actor=rep, discount_percent=D("40"))
    client.force_login(rep)
    detail = client.get(quote.get_absolute_url()).content.decode()
    assert 'data-testid="request-approval-button"' in detail and 'data-testid="send-button"' not in detail
    client.post(reverse("commerce:quote_request_approval", args=[quote.pk]), {"reason": "strategic"})
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.PENDING_APPROVAL
    with tenant_context(tenant):
        approval = DiscountApproval.objects.get()
    # the rep cannot decide their own request
    client.post(reverse("commerce:approval_decide", args=[approval.pk]), {"decision": "approve"})
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.PENDING_APPROVAL
    manager_client = Client(HTTP_ACCEPT_LANGUAGE="en")
    manager_client.force_login(manager)
    inbox = manager_client.get(reverse("commerce:approval_inbox")).content.decode()
    assert quote.number in inbox and "strategic" in inbox
    manager_client.post(
        reverse("commerce:approval_decide", args=[approval.pk]), {"decision": "approve", "comment": "ok"}
    )
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED
    detail = client.get(quote.get_absolute_url()).content.decode()
    assert 'data-testid="send-button"' in detail


def test_reps_see_their_own_quotes_and_the_catalogue_only_to_read(client, shop, tenant):
    rep = make_member(tenant)
    admin_quote = quote_with_lines(shop)
    client.force_login(rep)
    assert client.get(admin_quote.get_absolute_url()).status_code == 404
    assert client.get(reverse("commerce:quote_pdf", args=[admin_quote.pk])).status_code == 404
    assert client.post(reverse("commerce:quote_accept", args=[admin_quote.pk])).status_code == 404
    assert admin_quote.number not in client.get(reverse("commerce:quote_list")).content.decode()
    assert client.get(reverse("commerce:product_list")).status_code == 200
    assert client.get(reverse("commerce:product_detail", args=[shop["erp"].pk])).status_code == 200
    assert client.get(reverse("commerce:product_create")).status_code == 403
    assert client.get(reverse("commerce:product_edit", args=[shop["erp"].pk])).status_code == 404
    assert (
        client.post(
            reverse("commerce:price_book_entry_add", args=[shop["book"].pk]),
            {"product": shop["erp"].pk, "unit_price": "1", "min_quantity": "1"},
        ).status_code
        == 404
    )
    assert client.get(reverse("commerce:settings")).status_code == 403
    assert client.get(reverse("commerce:tax_class_create")).status_code == 403


def test_settings_categories_and_tax_classes(admin_client, shop):
    response = admin_client.post(
        reverse("commerce:settings"),
        {"discount_approval_threshold_percent": "12.5", "quote_validity_days": "14", "default_currency": "cny",
         "quote_terms": "付款条件：30 天"},
    )  # fmt: skip
    assert response.status_code == 302
    with tenant_context(shop["tenant"]):
        conf = services.commerce_settings()
    assert conf.discount_approval_threshold_percent == D("12.5") and conf.default_currency == "CNY"
    admin_client.post(reverse("commerce:tax_class_create"), {"name": "Zero", "rate": "0"})
    admin_client.post(reverse("commerce:category_create"), {"name": "硬件 Hardware", "parent": ""})
    page = admin_client.get(reverse("commerce:settings")).content.decode()
    assert "Zero" in page and "硬件 Hardware" in page
    with tenant_context(shop["tenant"]):
        zero = TaxClass.objects.get(name="Zero")
    admin_client.post(reverse("commerce:tax_class_delete", args=[zero.pk]))
    response = admin_client.post(reverse("commerce:tax_class_delete", args=[shop["vat"].pk]), follow=True)
    assert "Products still use" in response.content.decode()
    with tenant_context(shop["tenant"]):
        assert list(TaxClass.objects.values_list("name", flat=True)) == ["VAT 13"]
        quote = services.quote_create(actor=shop["admin"], data={"account": shop["account"]})
    assert quote.terms == "付款条件：30 天" and (quote.valid_until - quote.quote_date).days == 14


def test_quote_detail_queries_do_not_grow_with_lines(admin_client, shop, django_assert_max_num_queries):
    small, big = quote_with_lines(shop, n=2), quote_with_lines(shop, n=14)
    with django_assert_max_num_queries(80) as ctx:
        assert admin_client.get(small.get_absolute_url()).status_code == 200
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        page = admin_client.get(big.get_absolute_url())
    assert page.content.decode().count('data-testid="line-row"') == 14
    with tenant_context(shop["tenant"]):
        order_small = services.quote_accept(actor=shop["admin"], quote=small)
        order_big = services.quote_accept(actor=shop["admin"], quote=big)
    with django_assert_max_num_queries(80) as ctx:
        admin_client.get(order_small.get_absolute_url())
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        admin_client.get(order_big.get_absolute_url())
