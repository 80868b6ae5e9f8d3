"""Commerce services: quotes (numbering, lines, approvals, sending, versions, acceptance), orders, catalogue rules."""

import datetime
import threading
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.utils import timezone

from guanxi.activities.models import Activity, Notification
from guanxi.audit.models import AuditEntry
from guanxi.commerce import services
from guanxi.commerce.models import (
    DiscountApproval,
    NumberSequence,
    Order,
    OrderLine,
    OrderStatus,
    PriceBook,
    PriceBookEntry,
    Product,
    Quote,
    QuoteLine,
    QuoteStatus,
    TaxClass,
)
from guanxi.customers import services as customer_services
from guanxi.org.models import Member
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member, make_tenant

from .smtp import smtp_server  # noqa: F401 - fixture


@pytest.fixture
def shop(in_tenant):
    admin = in_tenant.admin
    vat13 = TaxClass.objects.create(name="增值税 13%", rate=13)
    vat6 = TaxClass.objects.create(name="服务 6%", rate=6)
    erp = services.product_create(
        actor=admin,
        data={"sku": "ERP-STD", "name": "ERP 标准版 Standard", "list_price": D("1000"), "tax_class": vat13},
    )
    svc = services.product_create(
        actor=admin,
        data={"sku": "SVC-DAY", "name": "实施服务 Consulting day", "kind": "service", "unit": "day",
              "list_price": D("33.335"), "tax_class": vat6},
    )  # fmt: skip
    book = services.price_book_create(actor=admin, data={"name": "Standard CNY", "currency": "CNY", "is_default": True})
    services.price_book_entry_save(actor=admin, price_book=book, product=erp, unit_price="950")
    account = customer_services.account_create(actor=admin, data={"name": "北京华润 Huarun", "city": "北京"})
    contact = customer_services.contact_create(
        actor=admin, data={"family_name": "王", "given_name": "芳", "account": account, "email": "wang@huarun.example"}
    )
    return {
        "admin": admin,
        "erp": erp,
        "svc": svc,
        "book": book,
        "account": account,
        "contact": contact,
        "vat13": vat13,
    }


def new_quote(shop, actor=None, **data):
    actor = actor or shop["admin"]
    return services.quote_create(
        actor=actor, data={"title": "ERP rollout", "account": shop["account"], "contact": shop["contact"], **data}
    )


def test_quote_numbers_are_sequential_per_tenant_and_year(shop, other_tenant):
    year = timezone.localdate().year
    first, second = new_quote(shop), new_quote(shop)
    assert first.number == f"Q-{year}-00001"
    assert second.number == f"Q-{year}-00002"
    assert first.version == 1 and first.status == QuoteStatus.DRAFT
    assert first.valid_until == first.quote_date + datetime.timedelta(days=30)
    with tenant_context(other_tenant, actor=other_tenant.admin):
        other = customer_services.account_create(actor=other_tenant.admin, data={"name": "Other"})
        quote = services.quote_create(actor=other_tenant.admin, data={"account": other})
        assert quote.number == f"Q-{year}-00001"
        assert quote.title == "Other"


def test_lines_take_prices_from_the_price_book_and_totals_are_stored(shop):
    quote = new_quote(shop)
    services.quote_set_lines(
        actor=shop["admin"],
        quote=quote,
        lines=[
            {"product": shop["erp"].pk, "quantity": "2"},
            {"product": shop["svc"], "quantity": "3"},
            {"description": "Travel 差旅", "quantity": "1", "unit_price": "200", "tax_rate": "0"},
        ],
    )
    quote.refresh_from_db()
    lines = list(quote.lines.order_by("position"))
    assert [line.unit_price for line in lines] == [D("950"), D("33.335"), D("200")]
    assert lines[0].list_price == D("950") and lines[0].tax_rate == D("13")
    assert lines[1].description == "实施服务 Consulting day" and lines[1].unit == "day"
    assert lines[1].gross_amount == D("100.01") and lines[1].tax_amount == D("6.00")
    assert quote.subtotal == D("2200.01")
    assert quote.tax_total == D("253.00")  # 247.00 + 6.00 + 0
    assert quote.total == D("2453.01")
    assert quote.total == sum(line.total for line in lines)
    entry = AuditEntry.objects.filter(object_id=quote.pk, changes__has_key="lines").first()
    assert entry is not None


def test_line_errors_are_reported_per_line(shop):
    quote = new_quote(shop)
    with pytest.raises(ValidationError) as exc:
        services.quote_set_lines(
            actor=shop["admin"],
            quote=quote,
            lines=[{"product": shop["erp"].pk, "quantity": "0"}, {"description": "", "quantity": "1"}],
            discount_percent="120",
        )
    errors = exc.value.message_dict
    assert "lines.0.quantity" in errors
    assert "lines.1.description" in errors
    assert "discount_percent" in errors
    assert not quote.lines.exists()


def test_no_price_in_the_currency_is_an_error(shop):
    quote = new_quote(shop, currency="USD")
    with pytest.raises(ValidationError) as exc:
        services.quote_set_lines(actor=shop["admin"], quote=quote, lines=[{"product": shop["erp"].pk, "quantity": 1}])
    assert "lines.0.unit_price" in exc.value.message_dict


def test_discount_above_threshold_needs_the_managers_approval(shop, tenant):
    manager = make_member(tenant, roles=("Sales manager",), name="经理 Manager")
    rep = make_member(tenant, roles=("Sales representative",), manager=Member.objects.get(user=manager))
    with tenant_context(tenant, actor=rep):
        account = customer_services.account_create(actor=rep, data={"name": "Rep account"})
        quote = services.quote_create(actor=rep, data={"account": account})
        services.quote_set_lines(
            actor=rep, quote=quote, lines=[{"product": shop["erp"].pk, "quantity": "1", "discount_percent": "20"}]
        )
        quote.refresh_from_db()
        assert services.quote_needs_approval(quote)
        assert not services.quote_can_send(quote)
        with pytest.raises(ValidationError):
            services.quote_send(actor=rep, quote=quote, to="x@example.com", subject="s", body="b")
        with pytest.raises(ValidationError):
            services.quote_accept(actor=rep, quote=quote)
        approval = services.quote_request_approval(actor=rep, quote=quote, reason="Competitive deal")
        assert approval.approver == manager
        quote.refresh_from_db()
        assert quote.status == QuoteStatus.PENDING_APPROVAL
        with pytest.raises(ValidationError):  # no changes while waiting
            services.quote_set_lines(actor=rep, quote=quote, lines=[{"product": shop["erp"].pk, "quantity": "1"}])
        with pytest.raises(PermissionDenied):  # the requester cannot decide
            services.approval_decide(actor=rep, approval=approval, approve=True)
    note = Notification.objects.get(user=manager)
    assert quote.number in note.title
    with tenant_context(tenant, actor=manager):
        services.approval_decide(actor=manager, approval=approval, approve=True, comment="OK this once")
    quote.refresh_from_db()
    approval.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED
    assert (
        approval.status == DiscountApproval.Status.APPROVED and approval.decided_at and approval.decided_by == manager
    )
    assert Notification.objects.filter(user=rep, title__contains=quote.number).exists()
    assert AuditEntry.objects.filter(object_id=quote.pk, note__startswith="discount approved").exists()
    with tenant_context(tenant, actor=rep):
        assert services.quote_can_send(quote)
        # changing the amounts after approval sends it back to draft, needing approval again
        services.quote_set_lines(
            actor=rep, quote=quote, lines=[{"product": shop["erp"].pk, "quantity": "2", "discount_percent": "20"}]
        )
        quote.refresh_from_db()
        assert quote.status == QuoteStatus.DRAFT and services.quote_needs_approval(quote)


def test_rejected_discount_returns_to_draft_and_admins_decide_without_manager(shop):
    admin = shop["admin"]
    quote = new_quote(shop, discount_percent=D("30"))
    services.quote_set_lines(actor=admin, quote=quote, lines=[{"product": shop["erp"].pk, "quantity": "1"}])
    quote.refresh_from_db()
    assert quote.effective_discount_percent == D("30.00")
    approval = services.quote_request_approval(actor=admin, quote=quote)
    assert approval.approver is None  # no manager: any administrator
    services.approval_decide(actor=admin, approval=approval, approve=False, comment="Too much")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT
    with pytest.raises(ValidationError):
        services.approval_decide(actor=admin, approval=approval, approve=True)


def test_within_threshold_needs_no_approval(shop):
    quote = new_quote(shop)
    services.quote_set_lines(
        actor=shop["admin"], quote=quote, lines=[{"product": shop["erp"].pk, "quantity": 1, "discount_percent": "15"}]
    )
    quote.refresh_from_db()
    assert not services.quote_needs_approval(quote)  # 15 % is not above 15 %
    with pytest.raises(ValidationError):
        services.quote_request_approval(actor=shop["admin"], quote=quote)
    services.commerce_settings_update(actor=shop["admin"], data={"discount_approval_threshold_percent": D("10")})
    assert services.quote_needs_approval(quote)


def test_price_below_the_book_counts_as_a_discount(shop):
    quote = new_quote(shop)
    services.quote_set_lines(
        actor=shop["admin"], quote=quote, lines=[{"product": shop["erp"].pk, "quantity": 1, "unit_price": "700"}]
    )
    quote.refresh_from_db()
    assert quote.effective_discount_percent == D("26.32")  # 700 vs 950
    assert services.quote_needs_approval(quote)


def test_sending_emails_the_pdf_and_logs_the_email(shop, smtp_server):  # noqa: F811
    quote = new_quote(shop)
    services.quote_set_lines(actor=shop["admin"], quote=quote, lines=[{"product": shop["erp"].pk, "quantity": "1"}])
    defaults = services.quote_email_defaults(quote, shop["admin"])
    assert defaults["to"] == "wang@huarun.example"
    services.quote_send(
        actor=shop["admin"], quote=quote, to=defaults["to"], cc="boss@huarun.example", subject=defaults["subject"],
        body="您好，附件是报价单。",
    )  # fmt: skip
    message = smtp_server.wait_for(1)[0]
    assert message["To"] == "wang@huarun.example"
    assert quote.number in message["Subject"]
    assert "附件是报价单" in smtp_server.text(message)
    attachments = list(message.iter_attachments())
    assert attachments[0].get_filename() == f"{quote.number}.pdf"
    assert attachments[0].get_content().startswith(b"%PDF")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT and quote.sent_at
    activity = Activity.objects.get(kind=Activity.Kind.EMAIL)
    assert activity.account == shop["account"] and activity.contact == shop["contact"]
    assert activity.regarding_id == quote.pk and activity.owner == shop["admin"]
    assert AuditEntry.objects.filter(object_id=quote.pk, note="quote e-mailed").exists()


def test_a_failed_send_changes_nothing(shop, settings):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    quote = new_quote(shop)
    services.quote_set_lines(actor=shop["admin"], quote=quote, lines=[{"product": shop["erp"].pk, "quantity": "1"}])
    with pytest.raises(ValidationError):
        services.quote_send(actor=shop["admin"], quote=quote, to="a@example.com", subject="Quote", body="")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT
    assert not Activity.objects.exists()


def test_accepting_creates_the_order_in_one_transaction(shop):
    quote = new_quote(shop, discount_percent=D("5"))
    services.quote_set_lines(
        actor=shop["admin"],
        quote=quote,
        lines=[{"product": shop["erp"].pk, "quantity": "2"}, {"product": shop["svc"].pk, "quantity": "3"}],
    )
    quote.refresh_from_db()
    order = services.quote_accept(actor=shop["admin"], quote=quote)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED and quote.accepted_at
    assert order.number.startswith(f"SO-{timezone.localdate().year}-")
    assert order.quote == quote and order.account == quote.account and order.contact == quote.contact
    assert (order.total, order.tax_total, order.discount_percent) == (quote.total, quote.tax_total, D("5"))
    assert order.status == OrderStatus.DRAFT and order.owner == quote.owner
    assert list(order.lines.values_list("product_id", "quantity", "total")) == list(
        quote.lines.values_list("product_id", "quantity", "total")
    )
    assert "北京" in order.delivery_address
    with pytest.raises(ValidationError):
        services.quote_accept(actor=shop["admin"], quote=quote)
    assert Order.objects.count() == 1


def test_accept_fails_whole_when_the_order_cannot_be_created(shop, monkeypatch):
    quote = new_quote(shop)
    services.quote_set_lines(actor=shop["admin"], quote=quote, lines=[{"product": shop["erp"].pk, "quantity": "1"}])

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(OrderLine.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError):
        services.quote_accept(actor=shop["admin"], quote=quote)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT
    assert not Order.objects.exists()


def test_revising_a_sent_quote_makes_a_new_version(shop, smtp_server):  # noqa: F811
    quote = new_quote(shop)
    services.quote_set_lines(actor=shop["admin"], quote=quote, lines=[{"product": shop["erp"].pk, "quantity": "1"}])
    services.quote_send(actor=shop["admin"], quote=quote, to="a@example.com", subject="Quote", body="")
    with pytest.raises(ValidationError):
        services.quote_set_lines(actor=shop["admin"], quote=quote, lines=[])
    v2 = services.quote_revise(actor=shop["admin"], quote=quote)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SUPERSEDED and quote.is_read_only
    assert (v2.number, v2.version, v2.previous_version, v2.status) == (quote.number, 2, quote, QuoteStatus.DRAFT)
    assert v2.display_number == f"{quote.number} v2"
    assert v2.lines.count() == 1 and v2.total == quote.total
    with pytest.raises(ValidationError):
        services.quote_revise(actor=shop["admin"], quote=quote)
    with pytest.raises(ValidationError):
        services.quote_update(actor=shop["admin"], quote=quote, data={"title": "Changed"})
    services.quote_update(actor=shop["admin"], quote=quote, data={"notes": "internal"})  # notes stay editable
    # deleting the revision gives the old version its status back
    services.quote_delete(actor=shop["admin"], quote=v2)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT


def test_reject_and_expire(shop):
    q1, q2 = (
        new_quote(shop),
        new_quote(shop, quote_date=datetime.date(2026, 1, 1), valid_until=datetime.date(2026, 1, 31)),
    )
    services.quote_reject(actor=shop["admin"], quote=q1, reason="预算不足 budget cut")
    q1.refresh_from_db()
    assert q1.status == QuoteStatus.REJECTED and q1.rejection_reason.startswith("预算不足")
    assert services.quotes_expire(today=datetime.date(2026, 2, 1)) == 1
    q2.refresh_from_db()
    assert q2.status == QuoteStatus.EXPIRED
    with pytest.raises(ValidationError):
        services.quote_accept(actor=shop["admin"], quote=q2)


def test_quote_dates_and_links_are_checked(shop, tenant):
    with pytest.raises(ValidationError) as exc:
        new_quote(shop, quote_date=datetime.date(2026, 5, 1), valid_until=datetime.date(2026, 4, 1))
    assert "valid_until" in exc.value.message_dict
    usd = PriceBook.objects.create(name="USD list", currency="USD")
    with pytest.raises(ValidationError) as exc:
        new_quote(shop, price_book=usd, currency="CNY")
    assert "price_book" in exc.value.message_dict
    rep = make_member(tenant)
    with tenant_context(tenant, actor=rep), pytest.raises(ValidationError) as exc:
        services.quote_create(actor=rep, data={"account": shop["account"]})  # someone else's account
    assert "account" in exc.value.message_dict


def test_order_status_flow_is_enforced(shop):
    order = services.order_create(
        actor=shop["admin"],
        data={"account": shop["account"], "channel": "telesales"},
        lines=[{"product": shop["erp"].pk, "quantity": "4"}],
    )
    assert order.number.startswith("SO-") and order.total == D("4294.00")
    with pytest.raises(ValidationError):
        services.order_transition(actor=shop["admin"], order=order, to=OrderStatus.FULFILLED)
    order = services.order_transition(actor=shop["admin"], order=order, to=OrderStatus.CONFIRMED)
    assert order.confirmed_at
    with pytest.raises(ValidationError):  # lines are fixed once confirmed
        services.order_set_lines(actor=shop["admin"], order=order, lines=[])
    services.order_update(actor=shop["admin"], order=order, data={"carrier": "顺丰 SF", "tracking_number": "SF123"})
    with pytest.raises(ValidationError):
        services.order_update(actor=shop["admin"], order=order, data={"channel": "mobile"})
    order = services.order_transition(actor=shop["admin"], order=order, to=OrderStatus.FULFILLED)
    assert order.delivered_at and order.fulfilled_at
    with pytest.raises(ValidationError):
        services.order_transition(actor=shop["admin"], order=order, to=OrderStatus.CANCELLED)
    services.order_transition(actor=shop["admin"], order=order, to=OrderStatus.CLOSED)
    order.refresh_from_db()
    assert order.status == OrderStatus.CLOSED and order.carrier == "顺丰 SF"
    with pytest.raises(ValidationError):
        services.order_delete(actor=shop["admin"], order=order)
    empty = services.order_create(actor=shop["admin"], data={"account": shop["account"]})
    with pytest.raises(ValidationError):
        services.order_transition(actor=shop["admin"], order=empty, to=OrderStatus.CONFIRMED)
    services.order_transition(actor=shop["admin"], order=empty, to=OrderStatus.CANCELLED, reason="duplicate")
    empty.refresh_from_db()
    assert empty.cancel_reason == "duplicate"


def test_reps_work_on_their_own_quotes_only(shop, tenant):
    rep, other_rep = make_member(tenant), make_member(tenant)
    quote = new_quote(shop)
    with tenant_context(tenant, actor=rep):
        with pytest.raises(Http404):
            services.quote_set_lines(actor=rep, quote=quote, lines=[])
        with pytest.raises(Http404):
            services.quote_accept(actor=rep, quote=quote)
        account = customer_services.account_create(actor=rep, data={"name": "Mine"})
        mine = services.quote_create(actor=rep, data={"account": account})
        services.quote_set_lines(actor=rep, quote=mine, lines=[{"product": shop["erp"].pk, "quantity": "1"}])
        order = services.quote_accept(actor=rep, quote=mine)
        assert order.owner == rep
        with pytest.raises(PermissionDenied):  # the catalogue is the administrators'
            services.product_create(actor=rep, data={"sku": "X", "name": "X"})
    with tenant_context(tenant, actor=other_rep), pytest.raises(Http404):
        services.order_transition(actor=other_rep, order=order, to=OrderStatus.CONFIRMED)


def test_catalogue_rules(shop):
    admin = shop["admin"]
    with pytest.raises(ValidationError):
        services.product_create(actor=admin, data={"sku": "erp-std", "name": "Duplicate SKU"})
    quote = new_quote(shop)
    services.quote_set_lines(actor=admin, quote=quote, lines=[{"product": shop["erp"].pk, "quantity": "1"}])
    with pytest.raises(ValidationError):
        services.product_delete(actor=admin, product=shop["erp"])
    with pytest.raises(ValidationError):
        services.tax_class_delete(actor=admin, tax_class=shop["vat13"])
    with pytest.raises(ValidationError):  # same product, same minimum quantity
        services.price_book_entry_save(actor=admin, price_book=shop["book"], product=shop["erp"], unit_price="1")
    second = services.price_book_create(actor=admin, data={"name": "New default", "is_default": True})
    shop["book"].refresh_from_db()
    assert second.is_default and not shop["book"].is_default  # one default per currency
    usd = services.price_book_create(actor=admin, data={"name": "USD", "currency": "usd", "is_default": True})
    second.refresh_from_db()
    assert usd.currency == "USD" and second.is_default


def test_catalogue_settings_need_an_administrator(shop, tenant):
    rep = make_member(tenant)
    with tenant_context(tenant, actor=rep):
        with pytest.raises(PermissionDenied):
            services.commerce_settings_update(actor=rep, data={"discount_approval_threshold_percent": 50})
        with pytest.raises(PermissionDenied):
            services.tax_class_save(actor=rep, tax_class=TaxClass(name="x", rate=1))
        assert Product.objects.count() == 2  # but everyone reads the catalogue
        assert services.price_for(shop["erp"], None, "direct", "CNY", 1).unit_price == D("950")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_quotes_get_distinct_numbers():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are what this checks; SQLite serialises writers anyway")
    tenant = make_tenant("Numbers")
    with tenant_context(tenant, actor=tenant.admin):
        account = customer_services.account_create(actor=tenant.admin, data={"name": "A"})
    numbers, errors = [], []
    barrier = threading.Barrier(4)

    def worker():
        from django.db import connections

        try:
            barrier.wait()
            for _ in range(5):
                with tenant_context(tenant, actor=tenant.admin):
                    numbers.append(services.quote_create(actor=tenant.admin, data={"account": account.pk}).number)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(numbers) == len(set(numbers)) == 20
    with tenant_context(tenant):
        assert NumberSequence.objects.get(key="quote").last_value == 20
        assert Quote.objects.count() == 20


def test_documents_keep_line_snapshots(shop):
    quote = new_quote(shop)
    services.quote_set_lines(actor=shop["admin"], quote=quote, lines=[{"product": shop["erp"].pk, "quantity": "1"}])
    services.product_update(actor=shop["admin"], product=shop["erp"], data={"name": "Renamed", "sku": "ERP-NEW"})
    PriceBookEntry.objects.update(unit_price=1)
    line = QuoteLine.objects.get(quote=quote)
    assert (line.description, line.sku, line.unit_price) == ("ERP 标准版 Standard", "ERP-STD", D("950"))


def test_the_scheduled_task_expires_quotes_in_every_tenant(shop, other_tenant):
    from django_tasks import TaskResultStatus

    from guanxi.commerce.tasks import expire_quotes

    old = new_quote(shop, quote_date=datetime.date(2025, 1, 1), valid_until=datetime.date(2025, 1, 31))
    fresh = new_quote(shop)
    result = expire_quotes.enqueue()
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    assert result.return_value == {shop["account"].tenant.slug: 1}
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, fresh.status) == (QuoteStatus.EXPIRED, QuoteStatus.DRAFT)
    assert expire_quotes.enqueue().return_value == {}


def test_builtin_roles_include_commerce(tenant):
    from guanxi.access.models import RolePermission

    with tenant_context(tenant):
        rep = set(
            RolePermission.objects.filter(role__name="Sales representative").values_list("module", "action", "scope")
        )
        reader = set(RolePermission.objects.filter(role__name="Read only").values_list("module", "action", "scope"))
    assert {("commerce.quote", "create", "own"), ("commerce.order", "view", "team"),
            ("commerce.product", "view", "tenant"), ("commerce.price_book", "view", "tenant")} <= rep  # fmt: skip
    assert ("commerce.product", "edit", "tenant") not in rep
    assert ("commerce.quote", "view", "tenant") in reader


def test_the_migration_grants_existing_builtin_roles(tenant):
    import importlib

    from django.apps import apps

    from guanxi.access.models import RolePermission

    migration = importlib.import_module("guanxi.commerce.migrations.0003_builtin_role_grants")
    with tenant_context(tenant):
        RolePermission.objects.filter(module__startswith="commerce.").delete()
    migration.grant(apps, None)
    with tenant_context(tenant):
        assert RolePermission.objects.filter(
            role__name="Sales manager", module="commerce.quote", action="edit", scope="unit"
        ).exists()
        assert RolePermission.objects.filter(role__name="Marketer", module="commerce.product", action="view").exists()


def test_quote_from_an_opportunity_and_accepting_it_wins_the_opportunity(shop):
    from guanxi.sales.models import Opportunity, Pipeline, Stage

    pipeline = Pipeline.objects.create(name="Default", is_default=True)
    open_stage = Stage.objects.create(pipeline=pipeline, name="Proposal", position=1, probability=60)
    Stage.objects.create(pipeline=pipeline, name="Won", position=2, probability=100, kind=Stage.Kind.WON)
    opportunity = Opportunity.objects.create(
        name="ERP 2026", account=shop["account"], contact=shop["contact"], pipeline=pipeline, stage=open_stage,
        owner=shop["admin"], amount=D("10000"),
    )  # fmt: skip
    quote = services.quote_create(actor=shop["admin"], data={"opportunity": opportunity, "account": shop["account"]})
    assert (quote.title, quote.contact) == ("ERP 2026", shop["contact"])
    other = customer_services.account_create(actor=shop["admin"], data={"name": "Other"})
    with pytest.raises(ValidationError) as exc:
        services.quote_create(actor=shop["admin"], data={"opportunity": opportunity, "account": other})
    assert "opportunity" in exc.value.message_dict
    services.quote_set_lines(actor=shop["admin"], quote=quote, lines=[{"product": shop["erp"].pk, "quantity": "1"}])
    order = services.quote_accept(actor=shop["admin"], quote=quote)
    assert order.opportunity == opportunity
    opportunity.refresh_from_db()
    try:
        from guanxi.sales.services import opportunity_mark_won  # noqa: F401 - the sales app's public service
    except ImportError:
        return  # without it the opportunity stays as it was (see the report)
    assert opportunity.status == Opportunity.Status.WON
    assert quote.number in opportunity.close_reason
