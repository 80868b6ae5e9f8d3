"""Bilingual sales demo data for the demo tenant: pipelines, competitors, ~120 opportunities with a
year of stage history, ~150 scored leads, scoring and assignment rules and a web-to-lead form.

Called by ``manage.py seed_demo`` after the customers exist::

    from guanxi.sales.demo import seed_sales_demo
    counts = seed_sales_demo(tenant, rng, users)   # rng: random.Random, users: {key: User} (or a list)

It runs in the tenant's context by itself and returns {label: count}. Records are written in
bulk with back-dated timestamps (the services stamp "now"), then one audit entry notes the import.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from guanxi.platform.context import tenant_context

from .models import (
    CompetingProduct,
    CompetingProductTarget,
    Competitor,
    ForecastCategory,
    Lead,
    LeadAssignee,
    LeadAssignmentRule,
    LeadScoringRule,
    Opportunity,
    OpportunityCompetitor,
    OpportunityLine,
    OpportunityStageChange,
    Pipeline,
    Stage,
    WebToLeadForm,
)
from .money import line_total, money

OPPORTUNITIES = 120
LEADS = 150

STANDARD_STAGES = [
    ("初步接触 Prospecting", 10, "open"),
    ("需求确认 Qualification", 25, "open"),
    ("方案演示 Solution demo", 40, "open"),
    ("商务报价 Proposal", 60, "open"),
    ("合同谈判 Negotiation", 80, "open"),
    ("赢单 Won", 100, "won"),
    ("输单 Lost", 0, "lost"),
]
HARDWARE_STAGES = [
    ("需求调研 Discovery", 10, "open"),
    ("样机测试 Pilot", 30, "open"),
    ("招投标 Tender", 50, "open"),
    ("商务谈判 Negotiation", 75, "open"),
    ("中标 Won", 100, "won"),
    ("未中标 Lost", 0, "lost"),
]
COMPETITORS = [
    # name, website, status, markets, strategy, strengths, weaknesses, products [(name, use, price)]
    ("云启科技 Yunqi Technology", "https://www.yunqi.example", "active", "华东、华南中小企业 SMEs in East and South China",
     "低价订阅，渠道下沉 Low-price subscriptions sold through local resellers",
     "价格低，上线快 Cheap and quick to roll out", "定制能力弱，服务响应慢 Little customisation, slow support",
     [("云启ERP标准版 Yunqi ERP Standard", "中小企业进销存 Inventory and sales for SMEs", "19800"),
      ("云启CRM Yunqi CRM", "销售管理 Sales management", "6800")]),
    ("华辰数字 Huachen Digital", "https://www.huachen.example", "active", "大型国企、政府 Large SOEs and government",
     "本地化实施团队 + 关系营销 Local implementation teams and relationship selling",
     "政府项目经验丰富 Strong government references", "价格高，产品老旧 Expensive, dated product",
     [("华辰协同平台 Huachen Collaboration", "OA 协同办公 Office automation", "350000")]),
    ("Northwind Systems", "https://www.northwind.example", "active", "Multinationals in APAC 亚太跨国企业",
     "Global accounts, premium positioning 全球大客户，高端定位",
     "Brand, global support 品牌强，全球支持", "Slow local decisions, expensive 本地决策慢，价格高",
     [("Northwind ERP Cloud", "Enterprise resource planning 企业资源计划", "880000"),
      ("Northwind Field Service", "Service management 现场服务管理", "260000")]),
    ("智联物联 Zhilian IoT", "https://www.zhilian.example", "active", "制造业、物流 Manufacturing and logistics",
     "硬件低价切入，平台收费 Cheap devices, paid platform",
     "终端价格低 Low device prices", "平台稳定性差 Unstable platform",
     [("智联网关 Zhilian Gateway", "设备联网 Device connectivity", "1200"),
      ("智联传感器套件 Zhilian Sensor Kit", "环境监测 Environment monitoring", "3600")]),
    ("Apex Devices", "https://www.apexdevices.example", "active", "Retail and logistics 零售与物流",
     "Hardware bundles with financing 硬件捆绑分期",
     "Financing options 提供分期", "Thin local service network 本地服务网点少",
     [("Apex Handheld H5", "Warehouse scanning 仓储扫码", "4200")]),
    ("博思咨询 Bosi Consulting", "https://www.bosi.example", "inactive", "数字化转型咨询 Transformation consulting",
     "咨询带软件 Consulting-led software sales", "行业方法论 Industry know-how", "交付依赖少数专家 Few experts",
     []),
    ("迅达软件 Xunda Software", "", "acquired", "华北中小企业 SMEs in North China",
     "已被云启收购 Acquired by Yunqi", "", "", []),
]  # fmt: skip
DEAL_TOPICS = [
    "ERP 升级项目 ERP upgrade",
    "CRM 实施 CRM rollout",
    "协同办公平台 Collaboration platform",
    "物联网试点 IoT pilot",
    "年度维保续约 Maintenance renewal",
    "数据中台建设 Data platform",
    "智能仓储改造 Smart warehouse",
    "门店终端采购 Store devices",
    "数字化转型咨询 Transformation consulting",
    "移动办公 Mobile workplace",
]
WON_REASONS = [
    "方案最贴合需求 Best fit for their processes",
    "本地实施团队 Local implementation team",
    "总拥有成本更低 Lower total cost of ownership",
    "老客户推荐 Referral from an existing customer",
    "试点效果好 Successful pilot",
]
LOST_REASONS = [
    "价格太高 Price too high",
    "预算冻结 Budget frozen",
    "竞争对手关系更强 Competitor had the relationship",
    "功能不满足 Missing features",
    "项目取消 Project cancelled",
    "决策推迟 Decision postponed indefinitely",
]
NEXT_STEPS = [
    "安排产品演示 Schedule a product demo",
    "发送报价单 Send the quote",
    "与采购部确认预算 Confirm budget with purchasing",
    "技术交流会 Technical workshop",
    "准备投标文件 Prepare the tender documents",
    "高层拜访 Executive visit",
]
LINE_ITEMS = [
    ("实施服务 Implementation services", Decimal("1500"), "day"),
    ("年度维保 Annual maintenance", Decimal("36000"), "year"),
    ("用户培训 User training", Decimal("8000"), "course"),
    ("数据迁移 Data migration", Decimal("25000"), "project"),
]
CAMPAIGNS = [
    "2026春季展会 Spring Expo 2026",
    "官网表单 Website form",
    "行业峰会 Industry Summit",
    "微信推广 WeChat campaign",
    "合作伙伴推荐 Partner referrals",
]
LEAD_STATUSES = ["new"] * 35 + ["contacted"] * 35 + ["qualified"] * 30 + ["unqualified"] * 20 + ["converted"] * 30
LEAD_NOTES = [
    "希望了解价格 Asking for prices",
    "需要产品演示 Wants a demo",
    "现有系统替换 Replacing the current system",
    "",
]
UNQUALIFIED_REASONS = [
    "无预算 No budget",
    "学生咨询 Student enquiry",
    "已有供应商 Has a supplier",
    "联系不上 Unreachable",
]
SCORING_RULES = [
    # name, field, operator, value, points, category
    ("决策层职位 Decision maker title", "title", "contains", "总", 15, "fit"),
    ("IT 负责人 IT lead", "title", "in", "IT主管,CIO,技术总监", 10, "fit"),
    ("目标行业 Target industry", "industry", "in", "it,manufacturing,finance,logistics", 15, "fit"),
    ("企业邮箱 Company email", "email_domain", "is_set", "", 5, "fit"),
    ("推荐来源 Referral or partner", "source", "in", "referral,partner", 15, "fit"),
    ("展会线索 Trade-show lead", "source", "equals", "trade_show", 8, "fit"),
    ("网站表单 Sent the web form", "web_form", "is_set", "", 10, "engagement"),
    ("电话接通 Call connected", "activity.calls_connected", "greater_than", "0", 15, "engagement"),
    ("已见面 Meeting held", "activity.meetings_held", "greater_than", "0", 25, "engagement"),
    ("邮件往来 Emails exchanged", "activity.emails", "greater_than", "1", 10, "engagement"),
]


def _users(users) -> list:
    if isinstance(users, Mapping):
        return list(users.values())
    return list(users or [])


def _sales_people(users: Iterable) -> tuple[list, list]:
    """(representatives, managers) among ``users``, by their built-in roles in the tenant."""
    from guanxi.org.models import Member

    members = Member.objects.filter(user__in=list(users), is_active=True).prefetch_related("roles")
    reps, managers = [], []
    for m in members.select_related("user", "unit"):
        names = {r.name for r in m.roles.all()}
        if "Sales representative" in names:
            reps.append(m)
        elif "Sales manager" in names:
            managers.append(m)
    return reps, managers


def _pipeline(name: str, stages, *, line=None, default=False) -> tuple[Pipeline, list[Stage]]:
    pipeline = Pipeline.objects.create(name=name, business_line=line, is_default=default)
    rows = Stage.objects.bulk_create(
        [Stage(pipeline=pipeline, name=n, probability=p, kind=k, position=i) for i, (n, p, k) in enumerate(stages)]
    )
    return pipeline, rows


def _amount(rng: random.Random) -> Decimal:
    return Decimal(rng.choice([30, 50, 80, 120, 180, 260, 380, 520, 800, 1200, 2000]) * 1000 + rng.randint(0, 49) * 100)


@transaction.atomic
def seed_sales_demo(tenant, rng: random.Random, users) -> dict[str, int]:
    from guanxi.activities.models import Activity
    from guanxi.audit import services as audit
    from guanxi.audit.models import AuditAction
    from guanxi.commerce.models import Product
    from guanxi.customers.models import Account, Contact, compose_name
    from guanxi.demo.generators import DataGenerator
    from guanxi.org.models import BusinessLine, Member, OrgUnit, TeamMembership

    from . import lead_services

    people = _users(users)
    with tenant_context(tenant):
        admin = Member.objects.filter(is_admin=True, is_active=True).select_related("user").order_by("pk").first()
    actor = admin.user if admin else (people[0] if people else None)
    with tenant_context(tenant, actor=actor):
        now = timezone.now()
        reps, managers = _sales_people(people)
        sellers = reps + managers or list(Member.objects.filter(is_active=True).select_related("user", "unit"))
        if not sellers:
            return {}
        member_of = {m.user_id: m for m in sellers}
        team_of: dict[int, int] = {}
        for user_id, team_id in (
            TeamMembership.objects.filter(member__in=sellers).order_by("pk").values_list("member__user_id", "team_id")
        ):
            team_of.setdefault(user_id, team_id)

        # Pipelines.
        hardware = (
            BusinessLine.objects.filter(code="HW").first()
            or BusinessLine.objects.filter(name__icontains="hardware").first()
        )
        standard, standard_stages = _pipeline("标准销售流程 Standard sales", STANDARD_STAGES, default=True)
        pipelines = [(standard, standard_stages)]
        if hardware is not None:
            pipelines.append(_pipeline("硬件项目 Hardware projects", HARDWARE_STAGES, line=hardware))

        # Competitors and their products.
        products = list(Product.objects.filter(is_active=True).order_by("pk")[:40])
        competitors = []
        for name, site, status, markets, strategy, strengths, weaknesses, items in COMPETITORS:
            competitor = Competitor.objects.create(
                name=name, website=site, status=status, main_markets=markets, strategy=strategy,
                strengths=strengths, weaknesses=weaknesses,
                background=f"{name} — 主要竞争对手之一 One of our main competitors.",
                created_at=now - datetime.timedelta(days=rng.randint(200, 400)),
            )  # fmt: skip
            competitors.append(competitor)
            for item_name, use, price in items:
                cp = CompetingProduct.objects.create(
                    competitor=competitor, name=item_name, use=use, price=Decimal(price), currency="CNY",
                    performance="稳定性一般，功能覆盖中等 Average stability and coverage",
                )  # fmt: skip
                if products:
                    CompetingProductTarget.objects.bulk_create(
                        [CompetingProductTarget(competing_product=cp, product=p)
                         for p in rng.sample(products, min(2, len(products)))]
                    )  # fmt: skip
        active_competitors = [c for c in competitors if c.status == Competitor.Status.ACTIVE]

        # Opportunities with a year of stage history.
        accounts = list(
            Account.objects.filter(kind=Account.Kind.ORGANIZATION)
            .exclude(lifecycle_stage="churned")
            .select_related("owner")
            .order_by("pk")
        )
        if not accounts:
            return {"pipelines": len(pipelines), "competitors": len(competitors)}
        contacts_of: dict[int, list[int]] = {}
        for pk, account_id in Contact.objects.filter(account__in=accounts).values_list("pk", "account_id"):
            contacts_of.setdefault(account_id, []).append(pk)
        opportunities, changes, lines, involved = [], [], [], []
        plans = []  # (opportunity, [(stage, at)], outcome)
        for _i in range(OPPORTUNITIES):
            account = rng.choice(accounts)
            owner_member = member_of.get(account.owner_id) or rng.choice(sellers)
            pipeline, stages = (
                pipelines[1] if len(pipelines) > 1 and account.business_line_id == hardware.pk else pipelines[0]
            )
            open_stages = [s for s in stages if s.kind == "open"]
            created = now - datetime.timedelta(days=rng.randint(3, 365), hours=rng.randint(0, 9))
            roll = rng.random()
            outcome = "won" if roll < 0.28 else "lost" if roll < 0.5 else "open"
            depth = rng.randint(1, len(open_stages)) if outcome != "lost" else rng.randint(1, len(open_stages) - 1)
            path, at = [], created
            for stage in open_stages[:depth]:
                path.append((stage, at))
                at = at + datetime.timedelta(days=rng.randint(4, 35), hours=rng.randint(0, 8))
            if outcome != "open":
                path.append((next(s for s in stages if s.kind == outcome), at))
            # Back in time from now if the walk ran into the future; always in order.
            last, ordered = created, []
            for s, t in path:
                last = max(last, min(t, now))
                ordered.append((s, last))
            path = ordered
            stage, since = path[-1]
            currency = account.currency or "CNY"
            amount = _amount(rng) if currency == "CNY" else _amount(rng) / 7
            close = (now + datetime.timedelta(days=rng.randint(-20, 180))).date() if outcome == "open" else since.date()
            opp = Opportunity(
                name=rng.choice(DEAL_TOPICS),
                account=account,
                contact_id=rng.choice(contacts_of[account.pk]) if contacts_of.get(account.pk) else None,
                pipeline=pipeline,
                stage=stage,
                status=outcome,
                amount=money(amount),
                currency=currency,
                amount_from_lines=False,
                expected_close_date=close,
                probability=stage.probability,
                forecast_category=(
                    ForecastCategory.CLOSED if outcome == "won" else ForecastCategory.OMITTED if outcome == "lost"
                    else rng.choice([ForecastCategory.PIPELINE, ForecastCategory.BEST_CASE, ForecastCategory.COMMIT])
                ),
                next_step=rng.choice(NEXT_STEPS) if outcome == "open" else "",
                owner=owner_member.user,
                created_by=owner_member.user,
                team_id=team_of.get(owner_member.user_id),
                business_line_id=account.business_line_id or pipeline.business_line_id,
                region_id=account.region_id,
                is_key_account=rng.random() < 0.12,
                close_reason=rng.choice(WON_REASONS if outcome == "won" else LOST_REASONS) if outcome != "open" else "",
                closed_at=since if outcome != "open" else None,
                stage_changed_at=since,
                description="",
                created_at=created,
            )  # fmt: skip
            opportunities.append(opp)
            plans.append((opp, path, outcome))
        Opportunity.objects.bulk_create(opportunities, batch_size=500)
        Opportunity.objects.filter(pk__in=[o.pk for o in opportunities]).update(updated_at=now)

        for opp, path, outcome in plans:
            previous = None
            for stage, at in path:
                seconds = int((at - previous[1]).total_seconds()) if previous else None
                changes.append(
                    OpportunityStageChange(
                        opportunity=opp, from_stage=previous[0] if previous else None, to_stage=stage,
                        changed_at=at, changed_by=opp.owner, seconds_in_previous_stage=seconds, amount=opp.amount,
                    )
                )  # fmt: skip
                previous = (stage, at)
            # Product lines: our products when the catalogue has them, services otherwise.
            if rng.random() < 0.7:
                opp.amount_from_lines = True
                total = Decimal(0)
                for n in range(rng.randint(1, 3)):
                    if products and rng.random() < 0.7:
                        product = rng.choice(products)
                        description, price = product.name, product.list_price or Decimal("1000")
                    else:
                        product = None
                        description, price, _unit = rng.choice(LINE_ITEMS)
                    quantity = Decimal(rng.choice([1, 1, 2, 3, 5, 10, 20]))
                    discount = Decimal(rng.choice([0, 0, 0, 5, 10, 15]))
                    line = OpportunityLine(
                        opportunity=opp, product=product, description=description[:300], quantity=quantity,
                        unit_price=money(price), discount_percent=discount, position=n,
                        total=line_total(quantity, price, discount),
                    )  # fmt: skip
                    lines.append(line)
                    total += line.total
                opp.amount = money(total)
            if active_competitors and rng.random() < 0.55:
                for competitor in rng.sample(active_competitors, rng.choice([1, 1, 2])):
                    involved.append(
                        OpportunityCompetitor(
                            opportunity=opp, competitor=competitor,
                            strengths=rng.choice(["报价低 Lower price", "与客户高层熟 Knows the executives",
                                                  "交付快 Faster delivery"]),
                            weaknesses=rng.choice(["售后差 Poor after-sales", "功能少 Fewer features",
                                                   "实施经验少 Little implementation experience"]),
                            price=money(opp.amount * Decimal(rng.choice(["0.8", "0.9", "1.1"]))),
                            currency=opp.currency, created_at=opp.created_at,
                        )
                    )  # fmt: skip
                if outcome == "lost" and rng.random() < 0.6:
                    opp.lost_to = involved[-1].competitor
        OpportunityStageChange.objects.bulk_create(changes, batch_size=1000)
        OpportunityLine.objects.bulk_create(lines, batch_size=1000)
        OpportunityCompetitor.objects.bulk_create(involved, batch_size=1000, ignore_conflicts=True)
        Opportunity.objects.bulk_update(opportunities, ["amount", "amount_from_lines", "lost_to"], batch_size=500)

        # Web form, scoring rules, assignment rules.
        web_form = WebToLeadForm.objects.create(
            name="官网联系表单 Website contact form",
            title="联系我们 Contact us",
            intro="留下您的联系方式，我们的顾问将在一个工作日内联系您。\nLeave your details and we will call you within a working day.",
            fields=["family_name", "given_name", "company", "title", "email", "phone", "description"],
            required_fields=["family_name", "company", "phone"],
            source="web",
            campaign=CAMPAIGNS[1],
            thank_you_message="谢谢！我们会尽快联系您。Thank you, we will be in touch soon.",
            created_by=actor,
        )  # fmt: skip
        LeadScoringRule.objects.bulk_create(
            [LeadScoringRule(name=n, field=f, operator=o, value=v, points=p, category=c, position=i)
             for i, (n, f, o, v, p, c) in enumerate(SCORING_RULES)]
        )  # fmt: skip
        rules = 0
        for region in OrgUnit.objects.filter(kind=OrgUnit.Kind.REGION).order_by("path"):
            in_region = [m for m in reps if m.unit_id and m.unit.path.startswith(region.path)]
            if not in_region:
                continue
            rule = LeadAssignmentRule.objects.create(name=f"{region.name}", region=region, position=rules)
            LeadAssignee.objects.bulk_create(
                [LeadAssignee(rule=rule, member=m, position=i) for i, m in enumerate(in_region)]
            )
            rules += 1

        # Leads in every status; converted ones point at what they became.
        gen = DataGenerator(rng.randint(1, 10**9))
        converted_from = [o for o, _p, outcome in plans if o.contact_id][:30]
        statuses = LEAD_STATUSES[:LEADS]
        rng.shuffle(statuses)
        leads = []
        for status in statuses:
            chinese = rng.random() < 0.8
            person = gen.person(chinese)
            company = gen.chinese_company() if chinese else gen.western_company()
            title = gen.job(chinese)[0]
            source = rng.choice(["web", "web", "trade_show", "trade_show", "referral", "campaign", "social", "partner",
                                 "cold_call"])  # fmt: skip
            created = now - datetime.timedelta(days=rng.randint(0, 200), hours=rng.randint(0, 10))
            owner = rng.choice(sellers).user
            lead = Lead(
                company=company.name,
                family_name=person.family,
                given_name=person.given,
                title=title,
                email=gen.work_email(person, company.domain) if rng.random() < 0.8 else gen.personal_email(person),
                phone=gen.mobile(company.city) if rng.random() < 0.85 else "",
                website=company.website,
                industry=company.industry,
                source=source,
                campaign=rng.choice(CAMPAIGNS) if source in ("web", "trade_show", "campaign", "social") else "",
                status=status,
                status_changed_at=created + datetime.timedelta(days=rng.randint(0, 10)),
                owner=owner,
                created_by=owner,
                created_at=created,
                web_form=web_form if source == "web" and rng.random() < 0.6 else None,
                region_id=rng.choice([m.unit_id for m in sellers if m.unit_id] or [None]),
                unqualified_reason=rng.choice(UNQUALIFIED_REASONS) if status == "unqualified" else "",
                description=rng.choice(LEAD_NOTES),
                **{k: v for k, v in gen.address(company.city).items() if k in ("country", "province", "city")},
            )
            lead.full_name = compose_name(lead.family_name, lead.given_name)
            if status == "converted" and converted_from:
                opp = converted_from.pop()
                lead.company = opp.account.name
                lead.converted_account_id = opp.account_id
                lead.converted_contact_id = opp.contact_id
                lead.converted_opportunity = opp
                lead.converted_at = opp.created_at
                lead.converted_by = opp.owner
                lead.owner = opp.owner
                lead.created_at = opp.created_at - datetime.timedelta(days=rng.randint(3, 30))
            elif status == "converted":
                lead.status = "qualified"
            leads.append(lead)
        Lead.objects.bulk_create(leads, batch_size=500)
        Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(updated_at=now)

        # Engagement: calls, e-mails and meetings on the contacted and qualified leads.
        lead_ct = ContentType.objects.get_for_model(Lead)
        activities = []
        for lead in leads:
            if lead.status not in ("contacted", "qualified", "converted"):
                continue
            for _n in range(rng.randint(1, 4)):
                kind = rng.choice(["call", "call", "email", "meeting"])
                at = min(now, lead.created_at + datetime.timedelta(days=rng.randint(1, 20), hours=rng.randint(1, 8)))
                activities.append(
                    Activity(
                        kind=kind, status="done", owner=lead.owner, created_by=lead.owner, starts_at=at,
                        completed_at=at, created_at=at, regarding_type=lead_ct, regarding_id=lead.pk,
                        subject={"call": "电话沟通需求 Call about their needs", "email": "发送产品资料 Sent the brochure",
                                 "meeting": "上门拜访 Visit at their office"}[kind],
                        outcome=rng.choice(["connected", "connected", "no_answer"]) if kind == "call" else "",
                        account_id=lead.converted_account_id, contact_id=lead.converted_contact_id,
                    )
                )  # fmt: skip
        Activity.objects.bulk_create(activities, batch_size=1000)
        lead_services.leads_rescore_all()

        counts = {
            "pipelines": len(pipelines),
            "opportunities": len(opportunities),
            "stage changes": len(changes),
            "product lines": len(lines),
            "competitors": len(competitors),
            "leads": len(leads),
            "lead activities": len(activities),
            "assignment rules": rules,
        }
        audit.record(
            AuditAction.IMPORT,
            model=Opportunity,
            object_repr="sales demo data",
            note="seed_sales_demo: " + ", ".join(f"{n} {label}" for label, n in counts.items()),
        )
        return counts
