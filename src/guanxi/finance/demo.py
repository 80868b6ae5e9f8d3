"""Demo finance data: contracts in every status (some expiring within 30 days), invoices issued / paid /
overdue / void with payments, commission plans with accrued entries and statements, expenses in every
status (some with receipts).

    from guanxi.finance.demo import seed_finance_demo
    counts = seed_finance_demo(tenant, rng, users)

Call it after the customers, sales and commerce demo data exist (it builds on their accounts, won
opportunities and confirmed orders; without them it makes direct contracts and invoices). ``rng`` is a
``random.Random`` (same seed, same data) and ``users`` the people who own the records (a list of
``User``, or a dict of them). Everything goes through the finance services, so numbers, totals,
approvals, commissions and the audit trail are real. It runs in the tenant's context by itself; a second
call changes nothing. Returns {label: count} for the summary line.
"""

from __future__ import annotations

import datetime
import struct
import zlib
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from guanxi.platform.context import tenant_context

D = Decimal
TERMS = (
    "1. 本合同自双方签字盖章之日起生效 The contract takes effect when both parties have signed and sealed it.\n"
    "2. 付款按付款节点执行，发票开具后 30 天内支付 Payments follow the milestones, within 30 days of the invoice.\n"
    "3. 服务期满前 30 天双方协商续约 Renewal is agreed 30 days before the end of the term.\n"
    "4. 争议提交上海仲裁委员会仲裁 Disputes go to the Shanghai Arbitration Commission."
)
TITLES = ["年度维保服务 Annual maintenance", "ERP 实施项目 ERP implementation", "软件许可与订阅 Licences and subscription",
          "物联网平台运营 IoT platform operation", "云托管服务 Cloud hosting", "培训与认证 Training programme",
          "数据中心扩容 Data centre expansion", "客服外包 Service desk outsourcing"]  # fmt: skip
MILESTONES = [("合同签订 Signing", "30"), ("系统上线 Go-live", "40"), ("验收 Acceptance", "30")]
EXPENSES = [
    ("travel", "高铁 上海→北京 Train Shanghai–Beijing", (420, 1100)),
    ("lodging", "酒店两晚 Hotel, two nights", (600, 1800)),
    ("meals", "工作午餐 Working lunch", (80, 360)),
    ("entertainment", "客户晚宴 Dinner with the customer", (800, 3800)),
    ("transport", "出租车 Taxi to the customer", (35, 180)),
    ("gifts", "中秋礼盒 Mid-autumn gift boxes", (300, 1600)),
    ("events", "展会展位费 Trade-show booth", (5000, 18000)),
    ("office", "打印与快递 Printing and courier", (40, 260)),
]


def _owners(users) -> list:
    if isinstance(users, dict):
        users = list(users.values())
    return [u for u in users or [] if u is not None]


def _receipt_png() -> bytes:
    """A real 2 × 2 grey PNG (a stand-in for a scanned receipt)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xc8" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))  # fmt: skip


def seed_finance_demo(tenant, rng, users) -> dict[str, int]:
    from guanxi.attachments.services import attachment_upload
    from guanxi.commerce.models import Order, ProductCategory
    from guanxi.customers.models import Account
    from guanxi.org.models import BusinessLine, Member
    from guanxi.sales.models import Opportunity

    from . import commission_services, services
    from .models import CommissionEntry, CommissionStatement, Contract, ContractStatus, Expense, InvoiceStatus

    with tenant_context(tenant):
        admin_member = (
            Member.objects.filter(is_admin=True, is_active=True).select_related("user").order_by("pk").first()
        )
    admin = admin_member.user if admin_member else None
    with tenant_context(tenant, actor=admin):
        if Contract.objects.exists() or admin is None:
            return {}
        owners = _owners(users) or [admin]
        today = timezone.localdate()
        services.finance_settings_update(actor=admin, data={
            "company_name": f"{tenant.name}", "company_address": "上海市浦东新区世纪大道 100 号 100 Century Avenue, Shanghai",
            "company_tax_id": "91310115MA1K4XXXXX", "bank_details": "中国工商银行上海分行 ICBC Shanghai · 1001 2345 6789 0123",
            "invoice_terms": "请于到期日前付款 Please pay by the due date.", "default_tax_rate": D("6"),
        })  # fmt: skip
        accounts = list(Account.objects.filter(kind="organization").select_related("owner").order_by("id")[:80])
        if not accounts:
            accounts = list(Account.objects.select_related("owner").order_by("id")[:80])
        if not accounts:
            return {}
        counts = {"contracts": 0, "invoices": 0, "payments": 0, "commission entries": 0, "expenses": 0}

        def owner_of(account):
            return account.owner if account.owner_id and rng.random() < 0.8 else rng.choice(owners)

        def approver_of(user):
            return services.approver_for(user) or admin

        # --- commission plans (before payments, so payments accrue) ---------------------------------------
        plan = commission_services.plan_create(actor=admin, data={
            "name": "销售提成 Sales commission", "basis": "payment", "period": "quarter", "currency": "CNY",
            "default_rate": D("2"), "description": "回款提成：服务 4%，其余按季度业绩阶梯 Paid-in commission."})  # fmt: skip
        services_category = ProductCategory.objects.filter(name__startswith="服务").first()
        hardware = BusinessLine.objects.filter(name__icontains="硬件").first() or BusinessLine.objects.first()
        rates = []
        if services_category is not None:
            rates.append({"category": services_category.pk, "rate": "4"})
        if hardware is not None:
            rates.append({"business_line": hardware.pk, "rate": "1.5"})
        commission_services.plan_set_rules(actor=admin, plan=plan, rates=rates, tiers=[
            {"threshold": "0", "rate": "3"}, {"threshold": "300000", "rate": "4"}, {"threshold": "800000", "rate": "5"}])  # fmt: skip
        bonus = commission_services.plan_create(actor=admin, data={
            "name": "签单奖励 Signing bonus", "basis": "won_deal", "period": "month", "currency": "CNY",
            "default_rate": D("0.5"), "description": "赢单即计 On every won deal."})  # fmt: skip

        # --- contracts ------------------------------------------------------------------------------------------
        won = list(Opportunity.objects.filter(status="won", currency="CNY", account__in=accounts)
                   .select_related("account", "owner").order_by("pk")[:30])  # fmt: skip
        plan_statuses = (["draft"] * 4 + ["under_review"] * 3 + ["active"] * 7 + ["expiring"] * 5 + ["expired"] * 3
                         + ["renewed"] * 3 + ["terminated"] * 2)  # fmt: skip
        rng.shuffle(plan_statuses)
        running = []
        for status in plan_statuses:
            opportunity = won.pop() if won and rng.random() < 0.7 else None
            account = opportunity.account if opportunity else rng.choice(accounts)
            owner = opportunity.owner if opportunity else owner_of(account)
            if status in ("expiring",):
                start = today - datetime.timedelta(days=365 - rng.randint(3, 28))  # ends within 30 days
            elif status in ("expired", "renewed"):
                start = today - datetime.timedelta(days=rng.randint(372, 420))
            elif status == "terminated":
                start = today - datetime.timedelta(days=rng.randint(100, 300))
            else:
                start = today - datetime.timedelta(days=rng.randint(0, 200))
            data = {"account": account, "owner": owner, "start_date": start, "end_date": start + datetime.timedelta(days=364),
                    "terms": TERMS, "customer_signatory": "采购总监 Procurement director", "our_signatory": owner,
                    "signed_date": start - datetime.timedelta(days=rng.randint(1, 10))}  # fmt: skip
            if opportunity is not None:
                data["opportunity"] = opportunity
            else:
                data.update(title=rng.choice(TITLES), value=D(rng.choice([36, 58, 88, 120, 180, 260, 480]) * 1000))
            contract = services.contract_create(actor=None, data=data, milestones=[
                {"due_date": start + datetime.timedelta(days=i * 120), "description": label, "percent": percent}
                for i, (label, percent) in enumerate(MILESTONES)])  # fmt: skip
            counts["contracts"] += 1
            if status == "draft":
                continue
            approval = services.contract_submit(actor=None, contract=contract, message="请审批 Please approve.")
            if status == "under_review":
                continue
            services.contract_decide(
                actor=approver_of(owner), approval=approval, approve=True, comment="同意 Approved."
            )
            contract.refresh_from_db()
            if status == "terminated":
                services.contract_terminate(actor=None, contract=contract, reason="客户业务调整 Customer restructured.")
            elif status == "renewed":
                renewal = services.contract_renew(actor=None, contract=contract)
                counts["contracts"] += 1
                if rng.random() < 0.7:
                    approval = services.contract_submit(actor=None, contract=renewal)
                    services.contract_decide(actor=approver_of(owner), approval=approval, approve=True)
                    renewal.refresh_from_db()
                    running.append(renewal)
            running.append(contract)
        services.contracts_run_schedule(today=today)  # active → expiring / expired, warnings to the owners

        # --- invoices and payments ---------------------------------------------------------------------------------
        invoices = []
        for contract in running:
            contract.refresh_from_db()
            if contract.status not in (ContractStatus.ACTIVE, ContractStatus.EXPIRING, ContractStatus.EXPIRED):
                continue
            for milestone in contract.milestones.order_by("position"):
                if milestone.due_date > today or milestone.invoiced or rng.random() < 0.25:
                    continue
                invoices.append(services.invoice_from_milestone(actor=None, milestone=milestone))
        orders = list(Order.objects.filter(status__in=("confirmed", "fulfilled", "closed"), currency="CNY")
                      .select_related("account", "owner").order_by("pk")[:14])  # fmt: skip
        for order in orders:
            invoices.append(services.invoice_from_order(actor=None, order=order))
        for _ in range(6):
            account = rng.choice(accounts)
            invoices.append(services.invoice_create(actor=None, data={"account": account, "owner": owner_of(account),
                                                                      "title": "技术服务费 Technical services"},
                                                    lines=[{"description": "技术支持 Technical support", "quantity": str(rng.randint(2, 20)),
                                                            "unit_price": "3200", "tax_rate": "6"}]))  # fmt: skip
        counts["invoices"] = len(invoices)
        rng.shuffle(invoices)
        billable = [inv for i, inv in enumerate(invoices) if inv.total > 0 and i % 9]  # every ninth stays a draft
        n = len(billable)
        fates = ["void"] * max(1, n // 12) + ["partly"] * max(1, n // 5) + ["paid"] * max(1, n * 45 // 100)
        fates = (fates + ["open"] * n)[:n]
        rng.shuffle(fates)
        for index, (invoice, fate) in enumerate(zip(billable, fates, strict=True)):
            # open invoices: some recent (issued, not due yet), some long past their due date (overdue)
            recent = fate == "open" and index % 2 == 0
            issued_on = today - datetime.timedelta(days=rng.randint(0, 10) if recent else rng.randint(0, 120))
            invoice = services.invoice_issue(actor=None, invoice=invoice, invoice_date=issued_on)
            if fate == "paid":  # paid in full, sometimes in two instalments
                first = (invoice.total * D("0.5")).quantize(D("0.01")) if rng.random() < 0.4 else invoice.total
                day = min(today, issued_on + datetime.timedelta(days=rng.randint(3, 25)))
                services.payment_create(actor=None, data={"invoice": invoice, "amount": first, "date": day,
                                                          "method": rng.choice(["bank_transfer", "bank_transfer", "alipay", "wechat_pay"]),
                                                          "reference": f"TX{rng.randint(10**7, 10**8 - 1)}"})  # fmt: skip
                counts["payments"] += 1
                if first < invoice.total:
                    invoice.refresh_from_db()
                    services.payment_create(actor=None, data={"invoice": invoice, "amount": invoice.balance,
                                                              "date": min(today, day + datetime.timedelta(days=14)),
                                                              "reference": f"TX{rng.randint(10**7, 10**8 - 1)}"})  # fmt: skip
                    counts["payments"] += 1
            elif fate == "partly":
                services.payment_create(actor=None, data={"invoice": invoice, "date": min(today, issued_on + datetime.timedelta(days=10)),
                                                          "amount": (invoice.total * D("0.3")).quantize(D("0.01"))})  # fmt: skip
                counts["payments"] += 1
            elif fate == "void":
                services.invoice_void(actor=None, invoice=invoice, reason="开票信息有误 Wrong billing details.")
        overdue = services.invoices_mark_overdue(today=today)
        if not overdue:  # make sure the demo shows one
            late = next((i for i in invoices if i.status == InvoiceStatus.DRAFT and i.total > 0), None)
            if late is not None:
                services.invoice_update(actor=None, invoice=late, data={"payment_terms_days": 15})
                services.invoice_issue(actor=None, invoice=late, invoice_date=today - datetime.timedelta(days=45))
                services.invoices_mark_overdue(today=today)

        # --- commissions: won deals, statements of the past quarter approved ---------------------------------------
        commission_services.commissions_accrue_missing(actor=None)
        previous_quarter = commission_services.period_bounds(today, "quarter")[0] - datetime.timedelta(days=1)
        commission_services.period_lock(actor=None, period_kind="quarter", day=previous_quarter, currency="CNY")
        for rep_id in sorted({e.rep_id for e in plan.entries.all()} | {e.rep_id for e in bonus.entries.all()}):
            start = commission_services.period_bounds(today, "month")[0]
            if not CommissionStatement.objects.filter(rep_id=rep_id, period_start=start, currency="CNY").exists():
                commission_services.statement_create(actor=None, data={"rep": rep_id, "period_start": today})
        counts["commission entries"] = CommissionEntry.objects.count()

        # --- expenses ---------------------------------------------------------------------------------------------------
        receipt = _receipt_png()
        fates = ["draft"] * 6 + ["submitted"] * 8 + ["approved"] * 12 + ["rejected"] * 4
        rng.shuffle(fates)
        for fate in fates:
            account = rng.choice(accounts)
            owner = owner_of(account)
            category, description, (low, high) = rng.choice(EXPENSES)
            expense = services.expense_create(actor=None, data={
                "owner": owner, "account": account, "category": category, "description": description,
                "amount": D(rng.randint(low * 100, high * 100)) / 100, "date": today - datetime.timedelta(days=rng.randint(0, 60))})  # fmt: skip
            counts["expenses"] += 1
            if fate != "draft" or rng.random() < 0.5:
                attachment_upload(actor=None, obj=expense, file=SimpleUploadedFile(
                    f"receipt-{expense.pk}.png", receipt, content_type="image/png"))  # fmt: skip
            if fate == "draft":
                continue
            services.expense_submit(actor=None, expense=expense)
            if fate == "submitted":
                continue
            decider = approver_of(owner)
            services.expense_decide(actor=None if decider.pk == owner.pk else decider, expense=Expense.objects.get(pk=expense.pk),
                                    approve=fate == "approved",
                                    comment="" if fate == "approved" else "请补充发票 Please add the official fapiao.")  # fmt: skip
        counts["contracts in force"] = Contract.objects.filter(
            status__in=(ContractStatus.ACTIVE, ContractStatus.EXPIRING)).count()  # fmt: skip
        return counts
