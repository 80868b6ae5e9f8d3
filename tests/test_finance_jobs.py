"""The scheduled finance jobs, run the way production runs them (``run_scheduler`` enqueues, the worker runs):
contract warnings and overdue invoices, twice (idempotent), e-mailed through a real SMTP server."""

import datetime
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.utils import timezone

from guanxi.activities.models import Notification
from guanxi.customers import services as customer_services
from guanxi.finance import services
from guanxi.finance.models import Contract, ContractReminder, ContractStatus, Invoice, InvoiceStatus
from guanxi.finance.tasks import contract_warnings, overdue_invoices
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member

from .smtp import smtp_server  # noqa: F401 - fixture


@pytest.fixture
def due_things(tenant):
    rep = make_member(tenant, roles=("Sales representative",), email="rep.finance@example.com", name="Rep Finance")
    today = timezone.localdate()
    with tenant_context(tenant, actor=tenant.admin):
        admin = tenant.admin
        account = customer_services.account_create(actor=admin, data={"name": "上海电气 Shanghai Electric"})

        def running(start, title):
            contract = services.contract_create(
                actor=admin, data={"title": title, "account": account, "value": D("88000"), "owner": rep,
                                   "start_date": start, "end_date": start + datetime.timedelta(days=364)},
            )  # fmt: skip
            approval = services.contract_submit(actor=admin, contract=contract)
            services.contract_decide(actor=admin, approval=approval, approve=True)
            return contract

        expiring = running(today - datetime.timedelta(days=359), "Maintenance 维护")  # ends in 5 days
        ended = running(today - datetime.timedelta(days=370), "Old support")
        invoice = services.invoice_create(
            actor=admin, data={"account": account, "owner": rep, "payment_terms_days": 14},
            lines=[{"description": "Consulting", "quantity": "1", "unit_price": "5000"}],
        )  # fmt: skip
        services.invoice_issue(actor=admin, invoice=invoice, invoice_date=today - datetime.timedelta(days=30))
        Notification.objects.all().delete()  # approvals notified people; only the jobs' notices matter here
    return {"rep": rep, "expiring": expiring, "ended": ended, "invoice": invoice}


def test_scheduler_runs_the_finance_jobs_idempotently_and_emails_the_owner(tenant, due_things, smtp_server):  # noqa: F811
    call_command("run_scheduler", "--once", verbosity=0)  # the test task backend runs what it enqueues
    with tenant_context(tenant):
        statuses = dict(Contract.objects.values_list("pk", "status"))
        assert statuses[due_things["expiring"].pk] == ContractStatus.EXPIRING
        assert statuses[due_things["ended"].pk] == ContractStatus.EXPIRED
        invoice = Invoice.objects.get(pk=due_things["invoice"].pk)
        assert invoice.status == InvoiceStatus.OVERDUE
        notes = list(Notification.objects.filter(user=due_things["rep"]).order_by("pk"))
        assert len(notes) == 3  # expiry warning, expired, overdue
        assert set(ContractReminder.objects.values_list("threshold_days", flat=True)) == {30, 7}
    messages = smtp_server.wait_for(1)
    assert len(smtp_server.to("rep.finance@example.com")) == 1  # one e-mail with the three notices
    text = smtp_server.text(smtp_server.to("rep.finance@example.com")[0])
    assert due_things["expiring"].number in text and due_things["ended"].number in text and invoice.number in text
    assert "5" in text

    call_command("run_scheduler", "--once", verbosity=0)  # again: nothing new
    with tenant_context(tenant):
        assert Notification.objects.filter(user=due_things["rep"]).count() == 3
        assert ContractReminder.objects.count() == 2
    assert len(smtp_server.messages) == len(messages)


def test_the_tasks_report_per_tenant(tenant, other_tenant, due_things):
    first = contract_warnings.enqueue()
    assert first.return_value == {tenant.slug: {"expired": 1, "expiring": 1, "warnings": 1}}
    assert contract_warnings.enqueue().return_value == {}
    assert overdue_invoices.enqueue().return_value == {tenant.slug: 1}
    assert overdue_invoices.enqueue().return_value == {}
