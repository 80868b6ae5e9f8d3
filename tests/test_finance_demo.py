"""The finance demo data: contracts in every status (some expiring within 30 days), invoices issued / paid /
overdue / void with payments, commission plans with accruals and statements, expenses in every status."""

import datetime
import random
from collections import Counter

import pytest
from django.db.models import Sum
from django.utils import timezone

from guanxi.attachments.models import Attachment
from guanxi.commerce.demo import seed_commerce_demo
from guanxi.customers import services as customer_services
from guanxi.finance.demo import seed_finance_demo
from guanxi.finance.models import (
    CommissionEntry,
    CommissionStatement,
    Contract,
    ContractStatus,
    Expense,
    ExpenseStatus,
    Invoice,
    InvoiceStatus,
    Payment,
)
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member, make_unit
from guanxi.sales import services as sales_services


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_seed_finance_demo(tenant):
    east = make_unit(tenant, "华东区 East China")
    manager = make_member(tenant, roles=("Sales manager",), unit=east)
    reps = [make_member(tenant, unit=east, manager=manager.member) for _ in range(3)]
    with tenant_context(tenant, actor=tenant.admin):
        for i in range(24):
            account = customer_services.account_create(
                actor=tenant.admin, data={"name": f"客户 {i}", "owner": reps[i % 3], "city": "上海"}
            )
            if i % 3 == 0:
                deal = sales_services.opportunity_create(
                    actor=tenant.admin, data={"name": f"Deal {i}", "account": account, "owner": reps[i % 3],
                                              "amount": 100000 + i * 1000})  # fmt: skip
                sales_services.opportunity_mark_won(actor=tenant.admin, opportunity=deal, reason="Won")
    seed_commerce_demo(tenant, random.Random(3), [*reps, manager])
    counts = seed_finance_demo(tenant, random.Random(3), [*reps, manager])
    assert counts["contracts"] >= 27 and counts["invoices"] >= 20 and counts["expenses"] == 30
    today = timezone.localdate()
    with tenant_context(tenant):
        statuses = Counter(Contract.objects.values_list("status", flat=True))
        assert set(statuses) == set(ContractStatus.values), statuses
        assert Contract.objects.filter(status=ContractStatus.EXPIRING,
                                       end_date__lte=today + datetime.timedelta(days=30)).count() >= 3  # fmt: skip
        assert Contract.objects.filter(opportunity__isnull=False).exists()
        invoice_statuses = set(Invoice.objects.values_list("status", flat=True))
        assert {InvoiceStatus.ISSUED, InvoiceStatus.PAID, InvoiceStatus.OVERDUE, InvoiceStatus.VOID,
                InvoiceStatus.DRAFT} <= invoice_statuses  # fmt: skip
        for invoice in Invoice.objects.all():
            assert invoice.lines.aggregate(t=Sum("total"))["t"] == invoice.total
            paid = invoice.payments.aggregate(s=Sum("amount"))["s"] or 0
            assert paid == invoice.amount_paid <= invoice.total
        assert Invoice.objects.exclude(number="").filter(status="draft").count() == 0
        assert Payment.objects.exists()
        assert CommissionEntry.objects.filter(kind="accrual", payment__isnull=False).exists()
        assert CommissionEntry.objects.filter(kind="accrual", opportunity__isnull=False).exists()
        assert CommissionStatement.objects.filter(status="open").exists()
        assert set(Expense.objects.values_list("status", flat=True)) == set(ExpenseStatus.values)
        assert Attachment.objects.count() >= 24
    assert seed_finance_demo(tenant, random.Random(3), reps) == {}
