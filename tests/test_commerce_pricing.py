"""Money arithmetic (Decimal, ROUND_HALF_UP per line) and the price book lookup ``price_for``."""

import datetime
from decimal import Decimal as D

import pytest

from guanxi.commerce import pricing, services
from guanxi.commerce.models import Channel, PriceBook, PriceBookEntry, Product, TaxClass
from guanxi.customers import services as customer_services
from guanxi.platform.testing import make_unit


def line(q, p, disc="0", tax="0", list_price=None):
    return pricing.LineInput(
        quantity=D(q),
        unit_price=D(p),
        discount_percent=D(disc),
        tax_rate=D(tax),
        list_price=D(list_price) if list_price is not None else None,
    )


# --- rounding ------------------------------------------------------------------------------------


def test_three_times_33_335_with_13_percent_tax():
    doc = pricing.compute_document([line("3", "33.335", tax="13")])
    a = doc.lines[0]
    assert a.gross == D("100.01")  # 100.005 rounds half up
    assert a.tax == D("13.00")  # 13.0013
    assert a.total == D("113.01")
    assert (doc.subtotal, doc.tax_total, doc.total) == (D("100.01"), D("13.00"), D("113.01"))
    assert all(isinstance(v, D) for v in (doc.subtotal, doc.tax_total, doc.total))


def test_lines_are_rounded_then_summed():
    # Each line: 0.125 → 0.13, tax 0.0169 → 0.02, total 0.15. Rounding the sum instead would give 0.28.
    doc = pricing.compute_document([line("1", "0.125", tax="13"), line("1", "0.125", tax="13")])
    assert doc.total == D("0.30")
    assert doc.tax_total == D("0.04")
    assert doc.subtotal == D("0.26")


def test_half_up_not_bankers_rounding():
    assert pricing.cents(D("2.345")) == D("2.35")
    assert pricing.cents(D("2.335")) == D("2.34")
    assert pricing.cents(D("-0.005")) == D("-0.01")
    assert pricing.compute_line(line("1", "0.005")).gross == D("0.01")


def test_line_and_document_discounts_with_tax_breakdown():
    doc = pricing.compute_document(
        [line("2", "99.99", disc="10", tax="13"), line("1", "500", tax="6"), line("3", "19.90", tax="0")],
        D("5"),
    )
    first, second, third = doc.lines
    assert first.gross == D("199.98")
    assert first.discount == D("20.00")  # 19.998
    assert first.document_discount == D("9.00")  # 5 % of 179.98 = 8.999
    assert first.net == D("170.98")
    assert first.tax == D("22.23")  # 22.2274
    assert second.document_discount == D("25.00") and second.tax == D("28.50")
    assert third.net == D("56.71") and third.tax == D("0.00")  # 59.70 - 2.985→2.99
    assert doc.subtotal == D("759.68")
    assert doc.discount_total == first.discount_total + second.discount_total + third.discount_total
    assert doc.net_total == doc.subtotal - doc.discount_total
    assert doc.total == doc.net_total + doc.tax_total
    assert [(t.rate, t.base, t.tax) for t in doc.taxes] == [
        (D("13"), D("170.98"), D("22.23")),
        (D("6"), D("475.00"), D("28.50")),
        (D("0"), D("56.71"), D("0.00")),
    ]
    assert doc.max_line_discount_percent == D("10")


def test_effective_discount_compares_with_price_book_prices():
    doc = pricing.compute_document([line("10", "80", list_price="100"), line("1", "50", list_price="50")])
    # list 1,050, net 850 → 19.05 % below the book prices, though no discount field was used
    assert doc.effective_discount_percent == D("19.05")
    assert doc.highest_discount_percent == D("19.05")
    priced_above = pricing.compute_document([line("1", "120", list_price="100")])
    assert priced_above.effective_discount_percent == 0


def test_to_decimal_parses_input_without_floats():
    assert pricing.to_decimal("1,234.50") == D("1234.50")
    assert pricing.to_decimal(" ") == 0
    assert pricing.to_decimal("abc", None) is None
    assert pricing.to_decimal("NaN", None) is None
    assert pricing.to_decimal(0.1) == D("0.1")


def test_line_value_checks():
    errors = pricing.validate_line_values(
        quantity=D("0"), unit_price=D("-1"), discount_percent=D("101"), tax_rate=D("13")
    )
    assert set(errors) == {"quantity", "unit_price", "discount_percent"}
    assert (
        pricing.validate_line_values(
            quantity=D("1.5000"), unit_price=D("33.3350"), discount_percent=D("0"), tax_rate=D("13")
        )
        == {}
    )
    assert "quantity" in pricing.validate_line_values(
        quantity=D("1.0001"), unit_price=D("1"), discount_percent=D("0"), tax_rate=D("0")
    )


# --- price_for -----------------------------------------------------------------------------------


@pytest.fixture
def catalogue(in_tenant):
    east = make_unit(in_tenant, "华东 East")
    shanghai = make_unit(in_tenant, "上海 Shanghai", parent=east, kind="branch")
    tax = TaxClass.objects.create(name="VAT 13", rate=13)
    product = Product.objects.create(sku="ERP-1", name="ERP 许可证", list_price=D("1000"), tax_class=tax)
    default = PriceBook.objects.create(name="Standard", is_default=True)
    region_book = PriceBook.objects.create(name="华东", region=east)
    tier_book = PriceBook.objects.create(name="Key accounts", tier="A")
    channel_book = PriceBook.objects.create(name="E-commerce", channel=Channel.ECOMMERCE)
    usd = PriceBook.objects.create(name="USD", currency="USD", is_default=True)
    for book, price in ((default, "950"), (region_book, "900"), (tier_book, "850"), (channel_book, "920")):
        PriceBookEntry.objects.create(price_book=book, product=product, unit_price=D(price))
    PriceBookEntry.objects.create(price_book=tier_book, product=product, unit_price=D("800"), min_quantity=10)
    PriceBookEntry.objects.create(price_book=usd, product=product, unit_price=D("140"))
    admin = in_tenant.admin
    plain = customer_services.account_create(actor=admin, data={"name": "Plain 公司"})
    in_east = customer_services.account_create(actor=admin, data={"name": "East Co", "region": shanghai})
    key_east = customer_services.account_create(
        actor=admin, data={"name": "Key East", "region": shanghai, "rating": "A"}
    )
    return {
        "product": product,
        "default": default,
        "region": region_book,
        "tier": tier_book,
        "channel": channel_book,
        "usd": usd,
        "plain": plain,
        "east": in_east,
        "key_east": key_east,
        "east_unit": east,
    }


def test_price_for_picks_the_most_specific_valid_book(catalogue):
    c = catalogue
    p = c["product"]
    result = services.price_for(p, c["plain"], Channel.DIRECT, "CNY", 1)
    assert (result.unit_price, result.price_book) == (D("950"), c["default"])
    # a region book applies to accounts in its unit and below
    assert services.price_for(p, c["east"], Channel.DIRECT, "CNY", 1).price_book == c["region"]
    # region + tier both match: two books of one criterion each; the deeper/earlier rule is stable
    key = services.price_for(p, c["key_east"], Channel.DIRECT, "CNY", 1)
    assert key.price_book in (c["region"], c["tier"])
    # a book matching two criteria beats both
    both = PriceBook.objects.create(name="East key", region=c["east_unit"], tier="A")
    PriceBookEntry.objects.create(price_book=both, product=p, unit_price=D("780"))
    assert services.price_for(p, c["key_east"], Channel.DIRECT, "CNY", 1).unit_price == D("780")
    # the channel book for e-commerce orders
    assert services.price_for(p, c["plain"], Channel.ECOMMERCE, "CNY", 1).unit_price == D("920")
    # another currency uses that currency's books
    assert services.price_for(p, c["plain"], Channel.DIRECT, "USD", 1).unit_price == D("140")


def test_price_for_volume_tiers_validity_and_fallbacks(catalogue):
    c = catalogue
    p = c["product"]
    c["region"].delete()
    assert services.price_for(p, c["key_east"], Channel.DIRECT, "CNY", 9).unit_price == D("850")
    assert services.price_for(p, c["key_east"], Channel.DIRECT, "CNY", 10).unit_price == D("800")
    assert services.price_for(p, c["key_east"], Channel.DIRECT, "CNY", "25").min_quantity == 10
    # a book outside its validity is skipped
    today = datetime.date(2026, 3, 1)
    c["tier"].valid_until = datetime.date(2026, 2, 28)
    c["tier"].save()
    assert services.price_for(p, c["key_east"], Channel.DIRECT, "CNY", 10, today).price_book == c["default"]
    # inactive books are skipped, then the product's own list price, then nothing
    PriceBook.objects.update(is_active=False)
    fallback = services.price_for(p, c["plain"], Channel.DIRECT, "CNY", 1)
    assert fallback.unit_price == D("1000") and fallback.price_book is None
    assert services.price_for(p, c["plain"], Channel.DIRECT, "EUR", 1) is None


def test_a_chosen_price_book_comes_first(catalogue):
    c = catalogue
    result = services.price_for(c["product"], c["plain"], Channel.DIRECT, "CNY", 1, price_book=c["channel"])
    assert result.unit_price == D("920")


def test_prices_for_many_products_in_constant_queries(catalogue, django_assert_max_num_queries):
    c = catalogue
    products = [Product.objects.create(sku=f"S-{i}", name=f"Service {i}", list_price=i) for i in range(15)]
    for prod in products:
        PriceBookEntry.objects.create(price_book=c["default"], product=prod, unit_price=D("7.5"))
    with django_assert_max_num_queries(2):
        results = services.prices_for(
            [(prod, D(1)) for prod in products], account=c["plain"], channel="direct", currency="CNY"
        )
    assert {r.unit_price for r in results} == {D("7.5")}
