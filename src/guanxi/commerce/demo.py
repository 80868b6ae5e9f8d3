"""Demo commerce data: catalogue, price books, quotes in every status (with versions and approvals), orders.

    from guanxi.commerce.demo import seed_commerce_demo
    counts = seed_commerce_demo(tenant, rng, users)

``tenant`` is the demo tenant (its accounts and contacts exist already), ``rng`` a
``random.Random`` (same seed, same data) and ``users`` the people who own quotes and orders
(a list of ``User``, or a dict of them; sales people first). Everything goes through the
commerce services, so numbers, totals, approvals and the audit trail are real. Runs inside
``tenant_context(tenant)``; a second call changes nothing. Returns counts for the summary line.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from guanxi.platform.context import tenant_context

D = Decimal

CATEGORIES = {
    "software": ("软件 Software", None),
    "erp": ("ERP 企业资源计划", "software"),
    "crm": ("CRM 客户关系管理", "software"),
    "collab": ("协同办公 Collaboration", "software"),
    "hardware": ("硬件 Hardware", None),
    "iot": ("物联网终端 IoT terminals", "hardware"),
    "services": ("服务 Services", None),
    "training": ("培训 Training", "services"),
}
TAX = {"goods": ("增值税 13% VAT goods", D("13")), "services": ("增值税 6% VAT services", D("6")),
       "exempt": ("免税 0% Exempt", D("0"))}  # fmt: skip
# sku: (name, kind, category, unit, list price CNY, cost, tax)
PRODUCTS = {
    "ERP-STD": ("ERP 标准版 Standard edition (per user/year)", "product", "erp", "用户 user", "2800", "600", "goods"),
    "ERP-PRO": ("ERP 专业版 Professional edition (per user/year)", "product", "erp", "用户 user", "4800", "900", "goods"),
    "ERP-ENT": ("ERP 企业版 Enterprise edition (per user/year)", "product", "erp", "用户 user", "7800", "1400", "goods"),
    "ERP-MFG": ("ERP 制造模块 Manufacturing module", "product", "erp", "套 set", "58000", "9000", "goods"),
    "ERP-FIN": ("ERP 财务模块 Finance module", "product", "erp", "套 set", "36000", "6000", "goods"),
    "ERP-HR": ("ERP 人力资源模块 HR module", "product", "erp", "套 set", "28000", "5000", "goods"),
    "CRM-STD": ("CRM 标准版 Standard (per user/year)", "product", "crm", "用户 user", "1800", "300", "goods"),
    "CRM-PRO": ("CRM 专业版 Professional (per user/year)", "product", "crm", "用户 user", "3600", "500", "goods"),
    "CRM-MKT": ("CRM 营销自动化 Marketing automation", "product", "crm", "套 set", "24000", "4000", "goods"),
    "CRM-SVC": ("CRM 客服中心 Service desk", "product", "crm", "套 set", "19800", "3500", "goods"),
    "CRM-MOB": ("CRM 移动端 Mobile app licence", "product", "crm", "用户 user", "680", "80", "goods"),
    "COL-MAIL": ("企业邮箱 Business mail (per mailbox/year)", "product", "collab", "邮箱 mailbox", "360", "60", "goods"),
    "COL-DOCS": ("协同文档 Team documents (per user/year)", "product", "collab", "用户 user", "480", "70", "goods"),
    "COL-MEET": ("视频会议 Video meetings (per room/year)", "product", "collab", "会议室 room", "5800", "900", "goods"),
    "COL-OA": ("OA 办公自动化 Office automation", "product", "collab", "套 set", "32000", "5200", "goods"),
    "HW-GW10": ("智能网关 GW-10 Smart gateway", "product", "iot", "台 unit", "1299", "620", "goods"),
    "HW-GW20": ("智能网关 GW-20 Pro gateway", "product", "iot", "台 unit", "2599", "1180", "goods"),
    "HW-SEN-T": ("温湿度传感器 Temperature sensor", "product", "iot", "个 pcs", "189", "62", "goods"),
    "HW-SEN-M": ("人体感应器 Motion sensor", "product", "iot", "个 pcs", "159", "48", "goods"),
    "HW-CAM4K": ("4K 网络摄像机 4K IP camera", "product", "iot", "台 unit", "899", "410", "goods"),
    "HW-PAD": ("工业平板 Industrial tablet 10\"", "product", "hardware", "台 unit", "3999", "2150", "goods"),
    "HW-SCAN": ("扫码枪 Barcode scanner", "product", "hardware", "把 pcs", "459", "190", "goods"),
    "HW-PRN": ("标签打印机 Label printer", "product", "hardware", "台 unit", "1680", "880", "goods"),
    "HW-KIOSK": ("自助终端 Self-service kiosk", "product", "hardware", "台 unit", "16800", "9800", "goods"),
    "HW-SRV": ("边缘服务器 Edge server", "product", "hardware", "台 unit", "28800", "17500", "goods"),
    "SVC-IMPL": ("实施服务 Implementation (per day)", "service", "services", "人天 day", "3200", "1500", "services"),
    "SVC-CONS": ("咨询服务 Consulting (per day)", "service", "services", "人天 day", "4800", "2000", "services"),
    "SVC-PM": ("项目管理 Project management (per day)", "service", "services", "人天 day", "3600", "1600", "services"),
    "SVC-DEV": ("定制开发 Custom development (per day)", "service", "services", "人天 day", "3000", "1400", "services"),
    "SVC-MIG": ("数据迁移 Data migration", "service", "services", "次 job", "18000", "7000", "services"),
    "SVC-SUP-S": ("标准运维 Standard support (per year)", "service", "services", "年 year", "12000", "4000", "services"),
    "SVC-SUP-P": ("高级运维 Premium support 7×24 (per year)", "service", "services", "年 year", "36000", "12000",
                  "services"),
    "SVC-INST": ("上门安装 On-site installation", "service", "services", "次 visit", "800", "350", "services"),
    "SVC-HOST": ("云托管 Cloud hosting (per month)", "service", "services", "月 month", "2600", "1100", "services"),
    "TRN-USER": ("用户培训 End-user training (per day)", "service", "training", "天 day", "2400", "900", "services"),
    "TRN-ADMIN": ("管理员培训 Administrator training", "service", "training", "人 person", "3800", "1200", "services"),
    "TRN-CERT": ("认证考试 Certification exam", "service", "training", "人 person", "1200", "300", "services"),
    "TRN-ONL": ("在线课程 Online course licence", "service", "training", "人 person", "599", "60", "exempt"),
    "DOC-MAN": ("纸质手册 Printed manuals", "product", "training", "本 copy", "98", "35", "exempt"),
    "GIFT-KIT": ("开箱礼包 Welcome kit", "product", "hardware", "套 set", "0", "45", "exempt"),
}  # fmt: skip
TITLES = [
    "ERP 升级项目 ERP upgrade", "CRM 上线 CRM rollout", "智慧工厂一期 Smart factory phase 1", "门店数字化 Store digitisation",
    "年度续约 Annual renewal", "协同办公平台 Collaboration platform", "物联网试点 IoT pilot", "客服中心建设 Service desk",
    "财务系统替换 Finance system replacement", "培训计划 Training programme", "仓储扫码 Warehouse scanning",
    "视频会议改造 Meeting rooms refit",
]  # fmt: skip
TERMS = (
    "1. 报价有效期内有效 Prices are valid until the date above.\n"
    "2. 付款：合同签订后 30 天内支付 Payment within 30 days of signing.\n"
    "3. 交付：硬件 15 个工作日内发货 Hardware ships within 15 working days.\n"
    "4. 含税价，税率按国家规定执行 Prices include VAT at the statutory rates."
)
CARRIERS = ["顺丰速运 SF Express", "京东物流 JD Logistics", "中通快递 ZTO", "德邦物流 Deppon", "DHL"]


def _owners(users) -> list:
    if isinstance(users, dict):
        users = list(users.values())
    return [u for u in users if u is not None]


def seed_commerce_demo(tenant, rng, users) -> dict[str, int]:
    from guanxi.commerce import services
    from guanxi.commerce.models import (
        Channel,
        PriceBook,
        PriceBookEntry,
        Product,
        ProductCategory,
        Quote,
        QuoteStatus,
        TaxClass,
    )
    from guanxi.customers.models import Account, Contact
    from guanxi.org.models import Member, OrgUnit

    owners = _owners(users)
    with tenant_context(tenant, actor=owners[0] if owners else None):
        if Quote.objects.exists():
            return {}
        admin = Member.objects.filter(is_admin=True, is_active=True).select_related("user").first().user
        if not owners:
            owners = [admin]
        services.commerce_settings_update(
            actor=admin, data={"quote_terms": TERMS, "discount_approval_threshold_percent": D("15")}
        )
        # --- catalogue ---------------------------------------------------------------------
        taxes = {
            key: TaxClass.objects.get_or_create(name=name, defaults={"rate": rate})[0]
            for key, (name, rate) in TAX.items()
        }
        categories = {}
        for key, (name, parent) in CATEGORIES.items():
            categories[key] = ProductCategory.objects.get_or_create(
                name=name, parent=categories.get(parent), defaults={}
            )[0]
        products = {}
        for sku, (name, kind, category, unit, price, cost, tax) in PRODUCTS.items():
            product = Product.objects.filter(sku=sku).first()
            if product is None:
                product = services.product_create(
                    actor=admin,
                    data={"sku": sku, "name": name, "kind": kind, "category": categories[category], "unit": unit,
                          "list_price": D(price), "cost": D(cost), "currency": "CNY", "tax_class": taxes[tax],
                          "description": ""},
                )  # fmt: skip
            products[sku] = product
        products_list = list(products.values())
        sellable = [p for p in products_list if p.list_price > 0]

        # --- price books ---------------------------------------------------------------------
        east = OrgUnit.objects.filter(name__startswith="华东").order_by("depth").first()
        books = {
            "standard": ({"name": "标准价 Standard CNY", "currency": "CNY", "is_default": True,
                          "description": "所有客户的基础价格 Base prices for every customer."}, D("1")),
            "key": ({"name": "重点客户 Key accounts (tier A)", "currency": "CNY", "tier": "A",
                     "description": "A 级客户优惠价 Prices for A-rated accounts."}, D("0.90")),
            "ecom": ({"name": "电商渠道 E-commerce", "currency": "CNY", "channel": Channel.ECOMMERCE,
                      "description": "线上商城与 API 订单 Online shop and API orders."}, D("0.95")),
            "usd": ({"name": "International USD", "currency": "USD", "is_default": True,
                     "description": "Export prices in US dollars."}, D("0.15")),
        }  # fmt: skip
        if east is not None:
            books["east"] = ({"name": "华东区 East China", "currency": "CNY", "region": east,
                              "description": "华东区域价格 Regional prices for East China."}, D("0.93"))  # fmt: skip
        book_objects = {}
        for key, (data, factor) in books.items():
            book = PriceBook.objects.filter(name=data["name"]).first() or services.price_book_create(
                actor=admin, data=data
            )
            book_objects[key] = book
            rows = []
            for product in products_list:
                if key == "ecom" and product.kind == "service" and product.unit.startswith("人天"):
                    continue  # consulting days are not sold online
                price = (product.list_price * factor).quantize(D("0.01"))
                rows.append(PriceBookEntry(price_book=book, product=product, unit_price=price))
                if key == "key" and product.unit.startswith(("用户", "台", "个")):
                    rows.append(
                        PriceBookEntry(
                            price_book=book, product=product, unit_price=(price * D("0.92")).quantize(D("0.01")),
                            min_quantity=D(50),
                        )
                    )  # fmt: skip
            PriceBookEntry.objects.bulk_create(rows, ignore_conflicts=True)

        # --- quotes ------------------------------------------------------------------------------
        accounts = list(
            Account.objects.filter(kind="organization").select_related("region", "owner").order_by("id")[:120]
        )
        if not accounts:
            return {"products": len(products_list), "price books": len(book_objects)}
        contacts: dict[int, list] = {}
        for contact in Contact.objects.filter(account__in=accounts).only("id", "account_id", "email", "full_name"):
            contacts.setdefault(contact.account_id, []).append(contact)
        from guanxi.sales.models import Opportunity

        opportunities: dict[int, list] = {}
        for opp in Opportunity.objects.filter(account__in=accounts, status="open").only(
            "id", "account_id", "contact_id"
        ):
            opportunities.setdefault(opp.account_id, []).append(opp)
        managers = {
            m.user_id: m.manager.user
            for m in Member.objects.filter(manager__isnull=False).select_related("manager__user")
        }
        today = timezone.localdate()
        plan = (
            [QuoteStatus.DRAFT] * 9 + [QuoteStatus.PENDING_APPROVAL] * 5 + [QuoteStatus.APPROVED] * 5
            + [QuoteStatus.SENT] * 12 + [QuoteStatus.ACCEPTED] * 14 + [QuoteStatus.REJECTED] * 6
            + [QuoteStatus.EXPIRED] * 5 + [QuoteStatus.SUPERSEDED] * 6
        )  # fmt: skip
        rng.shuffle(plan)
        counts = {"products": len(products_list), "price books": len(book_objects), "quotes": 0, "orders": 0}
        orders = []
        for status in plan:
            account = rng.choice(accounts)
            owner = account.owner if rng.random() < 0.75 else rng.choice(owners)
            age = rng.randint(40, 150) if status == QuoteStatus.EXPIRED else rng.randint(0, 24)
            quote_date = today - datetime.timedelta(days=age)
            contact = rng.choice(contacts[account.pk]) if contacts.get(account.pk) else None
            opportunity = rng.choice(opportunities[account.pk]) if opportunities.get(account.pk) else None
            channel = rng.choice([Channel.DIRECT] * 6 + [Channel.TELESALES, Channel.MOBILE, Channel.ECOMMERCE])
            big = status == QuoteStatus.PENDING_APPROVAL or (status == QuoteStatus.APPROVED)
            quote = services.quote_create(
                actor=None,
                data={"title": rng.choice(TITLES), "account": account, "contact": contact, "opportunity": opportunity,
                      "owner": owner, "channel": channel, "quote_date": quote_date,
                      "valid_until": quote_date + datetime.timedelta(days=30),
                      "discount_percent": D(rng.choice([0, 0, 0, 3, 5])) if not big else D(0)},
                lines=_lines(rng, sellable, big=big),
            )  # fmt: skip
            counts["quotes"] += 1
            if big:
                approver = managers.get(owner.pk, admin)
                services.quote_request_approval(actor=None, quote=quote, reason=rng.choice(
                    ["竞争对手报价更低 A competitor is cheaper.", "战略客户 Strategic account.",
                     "批量采购 Large volume.", "年底冲量 Year-end push."]))  # fmt: skip
                if status == QuoteStatus.APPROVED:
                    from guanxi.commerce.models import DiscountApproval

                    approval = DiscountApproval.objects.get(quote=quote, status="pending")
                    services.approval_decide(actor=approver if approver else admin, approval=approval, approve=True,
                                             comment="同意 Approved.")  # fmt: skip
                continue
            if status == QuoteStatus.DRAFT:
                continue
            _mark_sent(services, quote, quote_date)
            if status == QuoteStatus.SENT:
                continue
            if status == QuoteStatus.ACCEPTED:
                order = services.quote_accept(actor=None, quote=quote)
                orders.append(order)
                counts["orders"] += 1
            elif status == QuoteStatus.REJECTED:
                services.quote_reject(actor=None, quote=quote, reason=rng.choice(
                    ["预算削减 Budget cut.", "选择了竞争对手 Chose a competitor.", "项目延期 Project postponed."]))  # fmt: skip
            elif status == QuoteStatus.SUPERSEDED:
                v2 = services.quote_revise(actor=None, quote=quote)
                counts["quotes"] += 1
                lines = _lines(rng, sellable, big=False)
                services.quote_set_lines(actor=None, quote=v2, lines=lines)
                if rng.random() < 0.5:
                    _mark_sent(services, v2, today - datetime.timedelta(days=rng.randint(0, 5)))
        services.quotes_expire(today=today)

        # --- direct orders and order progress --------------------------------------------------------
        for _ in range(26):
            account = rng.choice(accounts)
            owner = account.owner if rng.random() < 0.7 else rng.choice(owners)
            order = services.order_create(
                actor=None,
                data={"account": account, "owner": owner,
                      "contact": rng.choice(contacts[account.pk]) if contacts.get(account.pk) else None,
                      "channel": rng.choice([Channel.ECOMMERCE, Channel.ECOMMERCE, Channel.TELESALES, Channel.MOBILE,
                                             Channel.DIRECT]),
                      "order_date": today - datetime.timedelta(days=rng.randint(0, 120)),
                      "delivery_address": "\n".join(account.address_lines)},
                lines=_lines(rng, sellable, big=False, hardware=True),
            )  # fmt: skip
            orders.append(order)
            counts["orders"] += 1
        flow = ["draft", "confirmed", "fulfilled", "closed"]
        for order in orders:
            target = rng.choice(["draft", "confirmed", "confirmed", "fulfilled", "fulfilled", "closed", "closed",
                                 "closed", "cancelled"])  # fmt: skip
            if target == "cancelled":
                services.order_transition(
                    actor=None, order=order, to="cancelled", reason="客户取消 Cancelled by the customer"
                )
                continue
            for step in flow[1 : flow.index(target) + 1]:
                if step == "fulfilled":
                    services.order_update(actor=None, order=order, data={
                        "carrier": rng.choice(CARRIERS), "tracking_number": f"SF{rng.randint(10**9, 10**10 - 1)}",
                        "requested_delivery_date": order.order_date + datetime.timedelta(days=rng.randint(5, 20))})  # fmt: skip
                order = services.order_transition(actor=None, order=order, to=step)
        return counts


def _lines(rng, products, *, big: bool, hardware: bool = False) -> list[dict]:
    pool = [p for p in products if p.kind == "product"] if hardware else products
    picked = rng.sample(pool, k=min(len(pool), rng.randint(1, 5)))
    lines = []
    for product in picked:
        if product.unit.startswith(("用户", "邮箱")):
            quantity = rng.choice([10, 20, 25, 50, 80, 120])
        elif product.unit.startswith(("人天", "天")):
            quantity = rng.choice([2, 3, 5, 8, 10, 15, 20])
        elif product.unit.startswith(("个", "台", "把")):
            quantity = rng.choice([1, 2, 5, 10, 20, 60])
        else:
            quantity = rng.choice([1, 1, 2])
        discount = rng.choice([0, 0, 0, 0, 5, 8, 10]) if not big else rng.choice([18, 20, 25, 30])
        lines.append({"product": product.pk, "quantity": D(quantity), "discount_percent": D(discount)})
    return lines


def _mark_sent(services, quote, day) -> None:
    """Demo quotes "went out" on ``day`` without e-mailing anyone (the real path is ``quote_send``)."""
    from guanxi.commerce.models import QuoteStatus

    sent_at = timezone.make_aware(datetime.datetime.combine(day, datetime.time(10, 30)))
    services._quote_set_status(quote, QuoteStatus.SENT, note="demo data: sent", sent_at=sent_at)
