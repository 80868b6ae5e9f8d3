"""The commerce demo data: every quote and order status, versions, approvals, consistent totals, idempotent."""

import random
from collections import Counter

from django.db.models import Sum

from guanxi.commerce.demo import seed_commerce_demo
from guanxi.commerce.models import DiscountApproval, Order, PriceBook, Product, Quote, QuoteStatus
from guanxi.customers import services as customer_services
from guanxi.org.models import Member
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member, make_unit


def test_seed_commerce_demo(tenant):
    east = make_unit(tenant, "华东区 East China")
    manager = make_member(tenant, roles=("Sales manager",), unit=east)
    with tenant_context(tenant):
        manager_member = Member.objects.get(user=manager)
    reps = [make_member(tenant, unit=east, manager=manager_member) for _ in range(3)]
    with tenant_context(tenant, actor=tenant.admin):
        for i in range(30):
            account = customer_services.account_create(
                actor=tenant.admin,
                data={"name": f"客户 {i}", "owner": reps[i % 3], "region": east if i % 2 else None,
                      "rating": "A" if i % 5 == 0 else "", "city": "上海"},
            )  # fmt: skip
            customer_services.contact_create(
                actor=tenant.admin, data={"family_name": f"联系人{i}", "account": account, "owner": reps[i % 3]}
            )
    counts = seed_commerce_demo(tenant, random.Random(7), [*reps, manager])
    assert counts["products"] == 40 and counts["quotes"] >= 60 and counts["orders"] >= 40
    with tenant_context(tenant):
        assert Product.objects.count() == 40
        assert PriceBook.objects.filter(currency="USD").exists()
        assert PriceBook.objects.filter(region=east).exists()
        statuses = Counter(Quote.objects.values_list("status", flat=True))
        assert set(statuses) == set(QuoteStatus.values)
        assert Quote.objects.filter(version=2, previous_version__isnull=False).exists()
        assert set(Order.objects.values_list("status", flat=True)) == {
            "draft", "confirmed", "fulfilled", "closed", "cancelled"
        }  # fmt: skip
        assert DiscountApproval.objects.filter(status="approved").exists()
        assert DiscountApproval.objects.filter(status="pending").exists()
        for quote in Quote.objects.all():
            assert quote.lines.aggregate(t=Sum("total"))["t"] == quote.total
        channels = set(Order.objects.values_list("channel", flat=True))
        assert {"ecommerce", "direct"} <= channels
    assert seed_commerce_demo(tenant, random.Random(7), reps) == {}
