"""Gaps found when walking the sales cycle end to end: billing an order once, no orphan files after a rolled-back
upload, the nightly lead rescoring in the scheduler, and the links between opportunities, quotes, orders,
contracts and invoices."""

import datetime
import zoneinfo
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from guanxi.attachments import services as attachment_services
from guanxi.attachments.models import Attachment
from guanxi.commerce import services as commerce_services
from guanxi.customers import services as customer_services
from guanxi.finance import services as finance_services
from guanxi.finance.models import Invoice
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member, make_tenant
from guanxi.sales import lead_services
from guanxi.sales.models import Lead, LeadRescoreRun, LeadScoringRule

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def login(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(media) -> list[Path]:
    root = Path(media) / "attachments"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- (a) an order is billed once ---------------------------------------------------------------------------------


@pytest.fixture
def order(tenant):
    admin = tenant.admin
    with tenant_context(tenant, actor=admin):
        account = customer_services.account_create(actor=admin, data={"name": "深圳海川 Haichuan"})
        order = commerce_services.order_create(
            actor=admin,
            data={"account": account},
            lines=[{"description": "实施 Implementation", "quantity": "2", "unit_price": "1250.50", "tax_rate": "6"}],
        )
        commerce_services.order_transition(actor=admin, order=order, to="confirmed")
        order.refresh_from_db()
    with tenant_context(tenant, actor=admin):
        yield order


def test_bill_this_order_is_offered_only_while_nothing_bills_the_order(tenant, order):
    admin = login(tenant.admin)
    page = admin.get(order.get_absolute_url()).content.decode()
    assert 'data-testid="bill-order"' in page and 'data-testid="order-billed"' not in page

    admin.post(reverse("finance:invoice_from_order", args=[order.pk]))
    invoice = Invoice.objects.get(order=order)
    page = admin.get(order.get_absolute_url()).content.decode()
    assert 'data-testid="bill-order"' not in page  # fully billed: nothing left to bill
    assert 'data-testid="order-billed"' in page and invoice.get_absolute_url() in page

    # Posting again (an old tab, a double click) is refused with a clear message, and nothing is created.
    response = admin.post(reverse("finance:invoice_from_order", args=[order.pk]), follow=True)
    assert Invoice.objects.filter(order=order).count() == 1
    assert f"This order is already billed by {invoice.display_number}." in response.content.decode()
    with pytest.raises(ValidationError) as exc:
        finance_services.invoice_from_order(actor=tenant.admin, order=order)
    assert exc.value.message_dict == {"order": [f"This order is already billed by {invoice.display_number}."]}

    # Issued and void: the order can be billed again (a void invoice bills nothing).
    finance_services.invoice_issue(actor=tenant.admin, invoice=invoice)
    invoice.refresh_from_db()
    page = admin.get(order.get_absolute_url()).content.decode()
    assert invoice.number in page and 'data-testid="bill-order"' not in page
    finance_services.invoice_void(actor=tenant.admin, invoice=invoice, reason="Wrong address")
    page = admin.get(order.get_absolute_url()).content.decode()
    assert 'data-testid="bill-order"' in page and 'data-testid="order-billed"' not in page


def test_the_billing_invoice_is_named_but_not_linked_for_who_cannot_see_it(tenant, order):
    invoice = finance_services.invoice_from_order(actor=tenant.admin, order=order)
    agent = make_member(tenant, roles=("Service agent",))  # sees every order, no invoices
    page = login(agent).get(order.get_absolute_url()).content.decode()
    assert 'data-testid="bill-order"' not in page and 'data-testid="order-billed"' in page
    assert invoice.display_number in page and invoice.get_absolute_url() not in page


def test_the_api_refuses_double_billing(tenant, order):
    client = login(tenant.admin)
    first = client.post("/api/v1/invoices/from-order", {"order_id": order.pk}, content_type="application/json")
    assert first.status_code in (200, 201), first.content
    second = client.post("/api/v1/invoices/from-order", {"order_id": order.pk}, content_type="application/json")
    assert second.status_code in (400, 409, 422) and "already billed" in second.content.decode()
    assert Invoice.objects.filter(order=order).count() == 1


# --- (b) a rolled-back upload leaves no file ---------------------------------------------------------------------


@pytest.fixture
def expense(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        expense = finance_services.expense_create(
            actor=tenant.admin, data={"description": "Taxi 出租车", "amount": D("88"), "date": datetime.date.today()}
        )
    with tenant_context(tenant, actor=tenant.admin):
        yield expense


def upload(tenant, expense, name="receipt.png"):
    return attachment_services.attachment_upload(
        actor=tenant.admin, obj=expense, file=SimpleUploadedFile(name, PNG, content_type="image/png")
    )


def test_an_upload_rolled_back_with_its_transaction_leaves_no_file(tenant, expense, media):
    with pytest.raises(RuntimeError), transaction.atomic():
        upload(tenant, expense)
        assert len(stored_files(media)) == 1  # written while the transaction runs
        raise RuntimeError("a later step of the same transaction fails")
    assert not Attachment.objects.exists()
    assert stored_files(media) == []


def test_an_upload_rolled_back_with_its_savepoint_leaves_no_file_and_others_stay(tenant, expense, media):
    with transaction.atomic():
        kept = upload(tenant, expense, "kept.png")
        with pytest.raises(RuntimeError), transaction.atomic():
            upload(tenant, expense, "dropped.png")
            raise RuntimeError("inner failure")
        assert [a.original_name for a in Attachment.objects.all()] == ["kept.png"]
        assert stored_files(media) == [Path(media) / "attachments" / kept.file.name]


def test_a_committed_upload_keeps_its_file(tenant, expense, media, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        attachment = upload(tenant, expense)
    import gc

    gc.collect()
    assert stored_files(media) == [Path(media) / "attachments" / attachment.file.name]
    assert attachment.file.open("rb").read() == PNG


@pytest.mark.django_db(transaction=True)
def test_real_commit_keeps_and_real_rollback_removes_the_file(media):
    tenant = make_tenant("Uploads 上传")
    with tenant_context(tenant, actor=tenant.admin):
        expense = finance_services.expense_create(
            actor=tenant.admin, data={"description": "Hotel", "amount": D("420"), "date": datetime.date.today()}
        )
        committed = upload(tenant, expense, "committed.png")  # its own transaction, committed
        assert stored_files(media) == [Path(media) / "attachments" / committed.file.name]
        with pytest.raises(RuntimeError), transaction.atomic():
            upload(tenant, expense, "rolled-back.png")
            raise RuntimeError("boom")
        assert stored_files(media) == [Path(media) / "attachments" / committed.file.name]
        assert list(Attachment.objects.values_list("original_name", flat=True)) == ["committed.png"]
        # Deleting a file still removes it after the commit.
        attachment_services.attachment_delete(actor=tenant.admin, attachment=committed)
        assert stored_files(media) == []


def test_a_failed_upload_view_leaves_no_file(tenant, expense, media, monkeypatch):
    from guanxi.audit import services as audit

    def broken(*args, **kwargs):
        raise RuntimeError("audit unavailable")

    client = login(tenant.admin)
    monkeypatch.setattr(audit, "record", broken)
    client.raise_request_exception = False
    response = client.post(
        reverse("attachments:panel_finance_expense"),
        {"object_id": expense.pk, "file": SimpleUploadedFile("r.png", PNG)},
    )
    assert response.status_code == 500
    assert stored_files(media) == []


# --- (c) the nightly lead rescoring is scheduled --------------------------------------------------------------


def night_zone(now=None) -> str:
    """A time zone in which it is 3 a.m. now (so the nightly job runs in a test, whatever the hour)."""
    now = now or timezone.now()
    offset = (3 - now.astimezone(datetime.UTC).hour) % 24
    if offset > 12:
        offset -= 24
    # Etc/GMT-8 is UTC+8 (the sign is inverted in these names).
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def day_zone(now=None) -> str:
    now = now or timezone.now()
    offset = (15 - now.astimezone(datetime.UTC).hour) % 24
    if offset > 12:
        offset -= 24
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def test_night_zone_helper():
    now = timezone.now()
    assert now.astimezone(zoneinfo.ZoneInfo(night_zone(now))).hour == 3
    assert now.astimezone(zoneinfo.ZoneInfo(day_zone(now))).hour == 15


def stale_lead(tenant) -> Lead:
    """A lead whose stored score no longer matches the rules (rules written directly, as an import would)."""
    with tenant_context(tenant, actor=tenant.admin):
        lead = lead_services.lead_create(actor=tenant.admin, data={"company": "青岛海洋 Ocean", "email": "a@ocean.cn"})
        LeadScoringRule.objects.create(name="Mail", field="email", operator="is_set", points=7)
        assert Lead.objects.get(pk=lead.pk).score == 0
    return lead


def test_the_scheduler_runs_the_nightly_rescoring_once_a_night(tenant, other_tenant):
    lead = stale_lead(tenant)
    other = stale_lead(other_tenant)
    tenant.time_zone = night_zone()
    tenant.save(update_fields=["time_zone"])
    other_tenant.time_zone = day_zone()  # daytime there: its scores wait for its night
    other_tenant.save(update_fields=["time_zone"])

    call_command("run_scheduler", "--once", verbosity=0)  # the test task backend runs what it enqueues
    with tenant_context(tenant):
        assert Lead.objects.get(pk=lead.pk).score == 7
        run = LeadRescoreRun.objects.get()
        assert run.changed == 1 and run.finished_at is not None
        Lead.objects.filter(pk=lead.pk).update(score=0)
    with tenant_context(other_tenant):
        assert Lead.objects.get(pk=other.pk).score == 0 and not LeadRescoreRun.objects.exists()

    call_command("run_scheduler", "--once", verbosity=0)  # again the same night: nothing
    with tenant_context(tenant):
        assert Lead.objects.get(pk=lead.pk).score == 0 and LeadRescoreRun.objects.count() == 1


def test_the_tasks_report_per_tenant(tenant, other_tenant):
    from guanxi.sales.tasks import nightly_lead_rescoring, rescore_all_leads

    stale_lead(tenant)
    stale_lead(other_tenant)
    for t, zone in ((tenant, night_zone()), (other_tenant, day_zone())):
        t.time_zone = zone
        t.save(update_fields=["time_zone"])
    assert nightly_lead_rescoring.enqueue().return_value == {tenant.slug: 1}
    assert nightly_lead_rescoring.enqueue().return_value == {}
    assert rescore_all_leads.enqueue().return_value == {other_tenant.slug: 1}  # on demand: every tenant, now


def test_nightly_rescore_runs_only_at_night_and_the_settings_page_shows_the_last_run(tenant):
    lead = stale_lead(tenant)
    with tenant_context(tenant, actor=tenant.admin):
        noon = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=zoneinfo.ZoneInfo(tenant.time_zone))
        assert lead_services.leads_nightly_rescore(noon) is None
        night = datetime.datetime(2026, 3, 2, 3, 30, tzinfo=zoneinfo.ZoneInfo(tenant.time_zone))
        assert lead_services.leads_nightly_rescore(night) == 1
        assert lead_services.leads_nightly_rescore(night + datetime.timedelta(minutes=1)) is None
        assert Lead.objects.get(pk=lead.pk).score == 7
        assert LeadRescoreRun.objects.get().day == datetime.date(2026, 3, 2)
    page = login(tenant.admin).get(reverse("sales:scoring_rule_list")).content.decode()
    assert 'data-testid="last-nightly-rescore"' in page and "1 score changed" in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_nightly_runs_claim_the_night_once():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent claims are a PostgreSQL matter; SQLite serialises writers")
    import threading

    tenant = make_tenant("Nightly 夜间")
    stale_lead(tenant)
    night = datetime.datetime(2026, 3, 2, 3, 30, tzinfo=zoneinfo.ZoneInfo(tenant.time_zone))
    results, barrier = [], threading.Barrier(4)

    def work():
        from django.db import connections

        try:
            barrier.wait()
            with tenant_context(tenant):
                results.append(lead_services.leads_nightly_rescore(night))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=lambda r: r is None) == [1, None, None, None]
    with tenant_context(tenant):
        assert LeadRescoreRun.objects.count() == 1


# --- a billed order is not cancelled; balances carry their currency ------------------------------------------------


def test_a_billed_order_cannot_be_cancelled_until_its_invoice_is_void(tenant, order):
    invoice = finance_services.invoice_from_order(actor=tenant.admin, order=order)
    admin = login(tenant.admin)
    assert 'data-testid="transition-cancelled"' not in admin.get(order.get_absolute_url()).content.decode()
    with pytest.raises(ValidationError) as exc:
        commerce_services.order_transition(actor=tenant.admin, order=order, to="cancelled")
    assert "void the invoice" in str(exc.value)
    response = admin.post(reverse("commerce:order_transition", args=[order.pk]), {"to": "cancelled"}, follow=True)
    order.refresh_from_db()
    assert order.status == "confirmed" and "void the invoice" in response.content.decode()
    finance_services.invoice_issue(actor=tenant.admin, invoice=invoice)
    finance_services.invoice_void(actor=tenant.admin, invoice=invoice, reason="Order cancelled")
    assert 'data-testid="transition-cancelled"' in admin.get(order.get_absolute_url()).content.decode()
    commerce_services.order_transition(actor=tenant.admin, order=order, to="cancelled")
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_open_balances_show_their_currency(tenant):
    admin = tenant.admin
    with tenant_context(tenant, actor=admin):
        account = customer_services.account_create(actor=admin, data={"name": "Lion City Pte"})
        invoice = finance_services.invoice_create(
            actor=admin, data={"account": account, "currency": "SGD"},
            lines=[{"description": "Support", "quantity": "1", "unit_price": "1000", "tax_rate": "9"}],
        )  # fmt: skip
        finance_services.invoice_issue(actor=admin, invoice=invoice)
    client = login(admin)
    page = client.get(invoice.get_absolute_url()).content.decode()
    assert "Open balance: 1,090.00 SGD" in page
    panel = client.get(reverse("finance:related_invoices") + f"?account={account.pk}").content.decode()
    assert panel.count("1,090.00 SGD") == 2  # total and open balance


# --- opportunities, accounts and orders show their quotes, orders and contracts ------------------------------------


@pytest.fixture
def deal(tenant):
    from guanxi.sales import services as sales_services

    admin = tenant.admin
    with tenant_context(tenant, actor=admin):
        account = customer_services.account_create(actor=admin, data={"name": "杭州明远 Mingyuan"})
        contact = customer_services.contact_create(actor=admin, data={"family_name": "孙", "account": account})
        opportunity = sales_services.opportunity_create(
            actor=admin,
            data={"name": "MES 项目 MES project", "account": account, "contact": contact, "amount": D("120000"),
                  "currency": "USD"},
        )  # fmt: skip
        quote = commerce_services.quote_create(
            actor=admin, data={"account": account, "opportunity": opportunity, "title": "MES 报价 Quote"},
            lines=[{"description": "MES licence", "quantity": "1", "unit_price": "120000"}],
        )  # fmt: skip
        order = commerce_services.order_create(
            actor=admin, data={"account": account, "opportunity": opportunity},
            lines=[{"description": "MES licence", "quantity": "1", "unit_price": "120000"}],
        )  # fmt: skip
        other_quote = commerce_services.quote_create(actor=admin, data={"account": account, "title": "Other 其他"})
    with tenant_context(tenant, actor=admin):
        yield {"account": account, "contact": contact, "opportunity": opportunity, "quote": quote, "order": order,
               "other_quote": other_quote}  # fmt: skip


def test_opportunity_page_has_quotes_orders_and_contracts_tabs(tenant, deal):
    client = login(tenant.admin)
    opportunity = deal["opportunity"]
    page = client.get(opportunity.get_absolute_url()).content.decode()
    for url_name in ("commerce:related_quotes", "commerce:related_orders", "finance:related_contracts"):
        assert f"{reverse(url_name)}?opportunity={opportunity.pk}" in page

    quotes = client.get(reverse("commerce:related_quotes") + f"?opportunity={opportunity.pk}").content.decode()
    assert deal["quote"].display_number in quotes and deal["other_quote"].display_number not in quotes
    assert f"{reverse('commerce:quote_create')}?opportunity={opportunity.pk}" in quotes
    orders = client.get(reverse("commerce:related_orders") + f"?opportunity={opportunity.pk}").content.decode()
    assert deal["order"].number in orders
    assert f"{reverse('commerce:order_create')}?opportunity={opportunity.pk}" in orders

    # The order form opened from the tab is pre-filled from the deal.
    form = client.get(reverse("commerce:order_create") + f"?opportunity={opportunity.pk}").content.decode()
    assert f'<option value="{deal["account"].pk}" selected>' in form and 'value="USD"' in form

    # Contracts: offered once the deal is won.
    contracts_url = reverse("finance:related_contracts") + f"?opportunity={opportunity.pk}"
    new_contract = f"{reverse('finance:contract_create')}?opportunity={opportunity.pk}"
    assert new_contract not in client.get(contracts_url).content.decode()
    from guanxi.sales import services as sales_services

    sales_services.opportunity_mark_won(actor=tenant.admin, opportunity=opportunity, reason="Best MES fit")
    assert new_contract in client.get(contracts_url).content.decode()
    response = client.post(new_contract, {
        "title": "MES 合同", "account": deal["account"].pk, "opportunity": opportunity.pk, "owner": tenant.admin.pk,
        "start_date": "2026-01-01", "end_date": "2026-12-31", "value": "120000", "currency": "USD",
        "our_company": "Acme", "terms": "", "notes": "",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    contracts = client.get(contracts_url).content.decode()
    assert "MES 合同" in contracts


def test_account_page_has_quotes_and_orders_tabs(tenant, deal):
    client = login(tenant.admin)
    account = deal["account"]
    page = client.get(account.get_absolute_url()).content.decode()
    assert f"{reverse('commerce:related_quotes')}?account={account.pk}" in page
    assert f"{reverse('commerce:related_orders')}?account={account.pk}" in page
    quotes = client.get(reverse("commerce:related_quotes") + f"?account={account.pk}").content.decode()
    assert deal["quote"].display_number in quotes and deal["other_quote"].display_number in quotes
    assert f"{reverse('commerce:quote_create')}?account={account.pk}" in quotes


def test_order_page_offers_a_contract_from_the_order(tenant, deal):
    client = login(tenant.admin)
    order = deal["order"]
    page = client.get(order.get_absolute_url()).content.decode()
    panel_url = f"{reverse('finance:related_contracts')}?order={order.pk}"
    assert panel_url in page
    panel = client.get(panel_url).content.decode()
    assert f"{reverse('finance:contract_create')}?order={order.pk}" in panel
    form = client.get(reverse("finance:contract_create") + f"?order={order.pk}").content.decode()
    assert 'value="120000.00"' in form or 'value="120000"' in form


def test_related_panels_only_list_what_the_user_may_see(tenant, deal):
    rep = make_member(tenant, roles=("Sales representative",))
    client = login(rep)
    # The account is the admin's: out of the rep's reach.
    assert client.get(reverse("commerce:related_quotes") + f"?account={deal['account'].pk}").status_code == 404
    assert client.get(reverse("commerce:related_orders") + "?nothing=1").status_code == 404


def test_related_panels_use_a_fixed_number_of_queries(tenant, deal, django_assert_max_num_queries):
    for i in range(8):
        commerce_services.quote_create(actor=tenant.admin, data={"account": deal["account"], "title": f"Q{i}"})
    client = login(tenant.admin)
    url = reverse("commerce:related_quotes") + f"?account={deal['account'].pk}"
    client.get(url)
    with django_assert_max_num_queries(16):
        response = client.get(url)
    assert response.content.decode().count("Q") >= 8


# --- orders (and quotes) are found by product, date and status ---------------------------------------------------


def test_orders_are_searchable_by_product_name_or_sku_customer_date_and_status(tenant):
    from guanxi.commerce.models import Product

    admin = tenant.admin
    with tenant_context(tenant, actor=admin):
        router = Product.objects.create(sku="RT-9000", name="企业路由器 Router", list_price=D("880"))
        switch = Product.objects.create(sku="SW-24", name="交换机 Switch", list_price=D("300"))
        north = customer_services.account_create(actor=admin, data={"name": "北方电力 North Power"})
        south = customer_services.account_create(actor=admin, data={"name": "南方水务 South Water"})
        with_router = commerce_services.order_create(
            actor=admin, data={"account": north, "order_date": datetime.date(2026, 2, 3)},
            lines=[{"product": router.pk, "quantity": "2"}],
        )  # fmt: skip
        with_switch = commerce_services.order_create(
            actor=admin, data={"account": south, "order_date": datetime.date(2026, 4, 9)},
            lines=[{"product": switch.pk, "quantity": "5"}],
        )  # fmt: skip
        commerce_services.order_transition(actor=admin, order=with_switch, to="confirmed")
    client = login(admin)

    def numbers(**params):
        page = client.get(reverse("commerce:order_list"), params).content.decode()
        return {o.number for o in (with_router, with_switch) if o.number in page}

    assert numbers(q="路由器") == {with_router.number}
    assert numbers(q="sw-24") == {with_switch.number}
    assert numbers(product=router.pk) == {with_router.number}
    assert numbers(account=south.pk) == {with_switch.number}
    assert numbers(q="North Power") == {with_router.number}
    assert numbers(date_from="2026-03-01") == {with_switch.number}
    assert numbers(date_to="2026-03-01") == {with_router.number}
    assert numbers(status="confirmed") == {with_switch.number}
    api = client.get("/api/v1/orders", {"q": "Router"}).json()
    assert [row["number"] for row in api["items"]] == [with_router.number]


# --- the dashboard breaks the figures down by unit too ---------------------------------------------------------------


def test_dashboard_breaks_down_by_the_owners_unit(tenant):
    from guanxi.org.models import OrgUnit
    from guanxi.sales import services as sales_services

    with tenant_context(tenant, actor=tenant.admin):
        company = OrgUnit.objects.get(kind="company")
        east = OrgUnit.objects.create(name="华东区 East", parent=company, path="", kind="region")
        east.path = f"{company.path}{east.pk}/"
        east.save()
        rep = make_member(tenant, roles=("Sales representative",), unit=east, name="East Rep")
        account = customer_services.account_create(actor=tenant.admin, data={"name": "Unit Co"})
        sales_services.opportunity_create(
            actor=tenant.admin, data={"name": "East deal", "account": account, "amount": D("7777"), "owner": rep}
        )
    page = login(tenant.admin).get(reverse("sales:dashboard")).content.decode()
    start = page.index('data-testid="by-unit"')
    section = page[start : page.index("</table>", start)]
    assert "华东区 East" in section and "7,777" in section


# --- leads come from imports too --------------------------------------------------------------------------------------


def run_lead_import(tenant, actor, rows, *, options=None, media=None):
    import csv
    import io

    from guanxi.imports import services as import_services

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    upload = SimpleUploadedFile("leads.csv", buffer.getvalue().encode("utf-8"))
    with tenant_context(tenant, actor=actor):
        job = import_services.job_create(actor=actor, entity="sales.lead", upload=upload)
        job = import_services.job_map(actor=actor, job=job, mapping=job.mapping, options=options or {})
        job = import_services.job_preview(actor=actor, job=job)
        job = import_services.job_start(actor=actor, job=job)
        job.refresh_from_db()
    return job


def test_leads_are_imported_scored_assigned_and_deduplicated(tenant, media):
    from guanxi.imports.models import ImportJob
    from guanxi.org.models import Member
    from guanxi.sales.models import LeadAssignmentRule

    admin = tenant.admin
    east_rep = make_member(tenant, roles=("Sales representative",), name="East Rep")
    with tenant_context(tenant, actor=admin):
        LeadScoringRule.objects.create(name="Trade show", field="source", operator="equals", value="trade_show",
                                       points=15)  # fmt: skip
        LeadScoringRule.objects.create(name="Email", field="email", operator="is_set", points=5)
        lead_services.assignment_rule_save(
            actor=admin, rule=LeadAssignmentRule(name="Imports", source="import"),
            member_ids=[Member.objects.get(user=east_rep).pk],
        )  # fmt: skip
        existing = lead_services.lead_create(
            actor=admin, data={"company": "旧线索 Old Co", "email": "old@old.example", "owner": admin}
        )
    rows = [
        ["公司名称", "姓名", "职位", "邮箱", "手机", "来源", "市场活动", "城市", "标签"],
        [
            "苏州恒瑞 Hengrui",
            "周敏",
            "采购经理",
            "zhou@hengrui.example",
            "139 1234 5678",
            "展会",
            "2026 工博会",
            "苏州",
            "展会,重点",
        ],
        ["无锡新材 Xincai", "钱伟", "总经理", "qian@xincai.example", "", "", "", "无锡", ""],
        ["Old Co again", "", "", "OLD@old.example", "", "", "", "", ""],  # same email as an existing lead
        ["", "", "", "nobody@example.com", "", "", "", "", ""],  # neither a company nor a name
    ]
    job = run_lead_import(tenant, admin, rows)
    assert job.status == ImportJob.Status.DONE, job.error if hasattr(job, "error") else job.status
    assert (job.created, job.skipped, job.failed) == (2, 1, 1)
    with tenant_context(tenant, actor=admin):
        zhou = Lead.objects.get(email="zhou@hengrui.example")
        assert (zhou.company, zhou.family_name, zhou.given_name, zhou.full_name) == (
            "苏州恒瑞 Hengrui",
            "周",
            "敏",
            "周敏",
        )
        assert (zhou.source, zhou.campaign, zhou.city, zhou.phone) == (
            "trade_show",
            "2026 工博会",
            "苏州",
            "+8613912345678",
        )
        assert zhou.score == 20 and zhou.score_breakdown["fit"] == 20
        assert sorted(zhou.tags.values_list("name", flat=True)) == ["展会", "重点"]
        qian = Lead.objects.get(email="qian@xincai.example")
        assert qian.source == "import" and qian.status == "new" and qian.score == 5
        assert qian.owner_id == east_rep.pk  # the assignment rule for imported leads
        assert zhou.owner_id == admin.pk  # no rule for trade-show leads: the person importing
        assert Lead.objects.filter(email="old@old.example").count() == 1
        assert Lead.objects.get(pk=existing.pk).company == "旧线索 Old Co"
        from guanxi.audit.models import AuditEntry

        assert AuditEntry.objects.filter(object_id=zhou.pk, action="import").exists()
        # The rep the rule gave a lead hears of it once for the import; the importer does not.
        from guanxi.activities.models import Notification

        (note,) = Notification.objects.filter(user=east_rep, title__contains="import")
        assert note.title == "1 new lead for you from an import"
        assert note.url == f"{reverse('sales:lead_list')}?owner={east_rep.pk}&status=new"
        assert not Notification.objects.filter(user=admin, title__contains="from an import").exists()

    # Again with "update": the existing lead takes the new values; undo puts everything back.
    job2 = run_lead_import(
        tenant, admin, [["Email", "Company", "Job title", "Status"], ["old@old.example", "旧线索 Old Co", "CTO", "已联系"]],
        options={"policy": "update"},
    )  # fmt: skip
    assert (job2.created, job2.updated) == (0, 1)
    with tenant_context(tenant, actor=admin):
        old = Lead.objects.get(pk=existing.pk)
        assert (old.title, old.status) == ("CTO", "contacted")
        from guanxi.imports import engine

        engine.undo(job2)
        engine.undo(job)
        old.refresh_from_db()
        assert (old.title, old.status) == ("", "new")
        assert list(Lead.objects.values_list("pk", flat=True)) == [existing.pk]


def test_the_lead_list_offers_the_import(tenant):
    page = login(tenant.admin).get(reverse("sales:lead_list")).content.decode()
    assert "/imports/new/?entity=sales.lead" in page
    assert login(tenant.admin).get("/imports/new/?entity=sales.lead").status_code == 200
