"""Create the demo company 华信科技 Huaxin Technology with realistic bilingual data (idempotent).

    manage.py seed_demo

Creates a platform operator, the tenant (through ``tenant_create``), its matrix organisation
(regions, branches, business lines, teams, people with the built-in roles and managers),
custom fields and tags, and a fixed, seeded set of accounts, contacts, links, lifecycle
history and activities (past and upcoming, with overdue tasks for the demo people). A second
run changes nothing and only prints the logins.
"""

from __future__ import annotations

import datetime
import random
import time
import zoneinfo
from collections import defaultdict
from importlib import import_module

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from guanxi.access.models import Role
from guanxi.activities.models import Activity, ActivityParticipant
from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.customers.models import (
    Account,
    AccountContact,
    AccountTag,
    Contact,
    ContactPoint,
    ContactTag,
    LifecycleChange,
)
from guanxi.customization.models import CustomFieldDefinition, Tag
from guanxi.customization.services import custom_field_save
from guanxi.identity.models import User
from guanxi.org.models import BusinessLine, OrgUnit, Team
from guanxi.org.services import business_line_save, member_add, member_update, org_unit_save, team_save
from guanxi.platform.context import all_tenants_scope, tenant_context
from guanxi.platform.db import statistics
from guanxi.tenancy.models import Tenant
from guanxi.tenancy.services import tenant_create

from ...generators import DataGenerator
from ...rows import RowFactory, given_timestamps

SLUG = "huaxin"
TENANT_NAME = "华信科技 Huaxin Technology"
PASSWORD = "guanxi-demo-2026"
OPERATOR_EMAIL = "operator@guanxi.local"
DOMAIN = "huaxin.example"

ACCOUNTS = 220  # 130 Chinese organisations, 45 foreign ones, 45 consumers
CONTACTS = 520
ACTIVITIES = 1100

# key: (name, kind, parent key)
UNITS = {
    "north": ("华北区 North China", OrgUnit.Kind.REGION, None),
    "beijing": ("北京分公司 Beijing branch", OrgUnit.Kind.BRANCH, "north"),
    "tianjin": ("天津分公司 Tianjin branch", OrgUnit.Kind.BRANCH, "north"),
    "east": ("华东区 East China", OrgUnit.Kind.REGION, None),
    "shanghai": ("上海分公司 Shanghai branch", OrgUnit.Kind.BRANCH, "east"),
    "hangzhou": ("杭州分公司 Hangzhou branch", OrgUnit.Kind.BRANCH, "east"),
    "south": ("华南区 South China", OrgUnit.Kind.REGION, None),
    "shenzhen": ("深圳分公司 Shenzhen branch", OrgUnit.Kind.BRANCH, "south"),
    "guangzhou": ("广州分公司 Guangzhou branch", OrgUnit.Kind.BRANCH, "south"),
    "intl": ("国际业务部 International", OrgUnit.Kind.REGION, None),
    "singapore": ("新加坡办事处 Singapore office", OrgUnit.Kind.BRANCH, "intl"),
    "service": ("客户服务中心 Customer service", OrgUnit.Kind.DEPARTMENT, None),
    "marketing": ("市场部 Marketing", OrgUnit.Kind.DEPARTMENT, None),
}
LINES = {
    "software": ("企业软件 Enterprise software", "ES", "ERP、CRM 与协同办公软件的销售与实施 / ERP, CRM and collaboration software"),
    "hardware": ("智能硬件 Smart hardware", "HW", "物联网终端与智能设备 / IoT terminals and smart devices"),
    "consulting": ("咨询服务 Consulting", "CS", "数字化转型咨询与培训 / Digital transformation consulting and training"),
}  # fmt: skip
# key: (email, name, unit, roles, manager, business lines, title, is_admin)
PEOPLE = {
    "admin": ("admin", "陈静 Chen Jing", None, ["Administrator"], None, [], "运营总监 Head of operations", True),
    "north_mgr": ("sales.manager", "王强 Wang Qiang", "north", ["Sales manager"], None, list(LINES),
                  "华北区销售总监 Sales director, North China", False),
    "rep_li": ("li.na", "李娜 Li Na", "beijing", ["Sales representative"], "north_mgr", ["software"],
               "客户经理 Account manager", False),
    "rep_zhang": ("zhang.wei", "张伟 Zhang Wei", "beijing", ["Sales representative"], "north_mgr", ["hardware"],
                  "客户经理 Account manager", False),
    "service": ("service", "刘洋 Liu Yang", "service", ["Service agent"], None, [], "客服专员 Service agent", False),
    "marketer": ("marketing", "赵敏 Zhao Min", "marketing", ["Marketer"], None, [], "市场经理 Marketing manager", False),
    "east_mgr": ("zhou.jie", "周杰 Zhou Jie", "east", ["Sales manager"], None, list(LINES),
                 "华东区销售总监 Sales director, East China", False),
    "rep_wu": ("wu.fang", "吴芳 Wu Fang", "shanghai", ["Sales representative"], "east_mgr", ["software", "consulting"],
               "客户经理 Account manager", False),
    "rep_sun": ("sun.lei", "孙磊 Sun Lei", "hangzhou", ["Sales representative"], "east_mgr", ["hardware"],
                "客户经理 Account manager", False),
    "south_mgr": ("huang.li", "黄丽 Huang Li", "south", ["Sales manager"], None, list(LINES),
                  "华南区销售总监 Sales director, South China", False),
    "rep_zheng": ("zheng.hao", "郑浩 Zheng Hao", "shenzhen", ["Sales representative"], "south_mgr", ["hardware"],
                  "客户经理 Account manager", False),
    "rep_guo": ("guo.yu", "郭宇 Guo Yu", "guangzhou", ["Sales representative"], "south_mgr", ["software"],
                "客户经理 Account manager", False),
    "intl_mgr": ("emily.carter", "Emily Carter", "intl", ["Sales manager"], None, list(LINES),
                 "International sales director", False),
    "rep_tan": ("david.tan", "David Tan", "singapore", ["Sales representative"], "intl_mgr", ["software", "hardware"],
                "Account manager", False),
    "finance": ("lin.xiao", "林晓 Lin Xiao", None, ["Read only"], None, [], "财务经理 Finance manager", False),
}  # fmt: skip
# key: (name, unit, lead, members)
TEAMS = {
    "bj_key": ("北京大客户组 Beijing key accounts", "beijing", "rep_li", ["rep_li", "rep_zhang"]),
    "east_sales": ("华东销售组 East China sales", "east", "rep_wu", ["rep_wu", "rep_sun"]),
    "south_channel": ("华南渠道组 South China channel", "south", "rep_zheng", ["rep_zheng", "rep_guo"]),
    "intl_sales": ("国际销售组 International sales", "intl", "intl_mgr", ["intl_mgr", "rep_tan"]),
    "service_1": ("客服一组 Service team 1", "service", "service", ["service"]),
}
# The logins printed for people trying the demo: (role, person key or None for the operator).
LOGINS = [
    ("Platform operator", None),
    ("Tenant administrator", "admin"),
    ("Sales manager (North China)", "north_mgr"),
    ("Sales representative", "rep_li"),
    ("Sales representative", "rep_zhang"),
    ("Service agent", "service"),
    ("Marketer", "marketer"),
]
OWNERS_BY_REGION = {
    "north": ["rep_li", "rep_li", "rep_li", "rep_zhang", "rep_zhang", "rep_zhang", "north_mgr"],
    "east": ["rep_wu", "rep_wu", "rep_sun", "rep_sun", "east_mgr"],
    "south": ["rep_zheng", "rep_zheng", "rep_guo", "rep_guo", "south_mgr"],
    "intl": ["rep_tan", "rep_tan", "intl_mgr"],
}
CONSUMER_OWNERS = ["service", "service", "rep_li", "rep_wu", "rep_zheng"]
TAGS = [
    ("重点客户 Key account", "#dc2626"),
    ("续约 Renewal", "#2563eb"),
    ("展会线索 Trade-show lead", "#16a34a"),
    ("合作伙伴 Partner", "#9333ea"),
    ("VIP", "#d97706"),
    ("政府项目 Government project", "#0891b2"),
    ("新客户 New customer", "#64748b"),
]
TIERS = [
    {"value": "gold", "label_en": "Gold", "label_zh": "金牌"},
    {"value": "silver", "label_en": "Silver", "label_zh": "银牌"},
    {"value": "bronze", "label_en": "Bronze", "label_zh": "铜牌"},
]


# Demo data of other apps, run after the customers exist: (module, function(tenant, rng, users)).
# The catalogue comes first: opportunities use its products; finance comes last.
DEMO_HOOKS = [
    ("guanxi.commerce.demo", "seed_commerce_demo"),
    ("guanxi.sales.demo", "seed_sales_demo"),
    ("guanxi.finance.demo", "seed_finance_demo"),  # builds on won opportunities and confirmed orders
]
SALES_ORDER = {"rep": 0, "north": 1, "east": 1, "south": 1, "intl": 1}


def email_of(key: str) -> str:
    return f"{PEOPLE[key][0]}@{DOMAIN}"


class Command(BaseCommand):
    help = "Create the demo company 华信科技 Huaxin Technology (once) and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026, help="random seed (same seed, same data)")

    def handle(self, *args, seed: int, **options):
        with all_tenants_scope():
            tenant = Tenant.objects.filter(slug=SLUG).first()
        if tenant is not None:
            self.stdout.write(f"The demo company {tenant.name} exists already; nothing to do.")
        else:
            started = time.monotonic()
            counts = self.create(seed)
            statistics.refresh_embedded()  # SQLite plans its searches from statistics of the new data
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created the demo company {TENANT_NAME}: "
                    + ", ".join(f"{n:,} {label}" for label, n in counts.items() if n)
                    + f" in {time.monotonic() - started:.1f} s."
                )
            )
        self.print_logins()

    def print_logins(self):
        self.stdout.write("")
        self.stdout.write(f"Demo logins (every password: {PASSWORD})")
        for role, key in LOGINS:
            email = OPERATOR_EMAIL if key is None else email_of(key)
            name = "" if key is None else PEOPLE[key][1]
            self.stdout.write(f"  {role:<30} {email:<34} {name}")
        self.stdout.write("")

    @transaction.atomic
    def create(self, seed: int) -> dict[str, int]:
        operator = User.objects.filter(email=OPERATOR_EMAIL).first()
        if operator is None:
            operator = User.objects.create_superuser(
                OPERATOR_EMAIL, PASSWORD, full_name="平台运营 Platform operator", language=""
            )
        with all_tenants_scope(actor=operator):
            tenant = tenant_create(
                actor=operator,
                name=TENANT_NAME,
                slug=SLUG,
                admin_email=email_of("admin"),
                admin_name=PEOPLE["admin"][1],
                admin_password=PASSWORD,
                default_language="zh-hans",
                time_zone="Asia/Shanghai",
                currency="CNY",
            )
        admin = User.objects.get(email=email_of("admin"))
        with tenant_context(tenant, actor=admin):
            org = self.create_organisation(admin)
            customisation = self.create_customisation(admin)
            with given_timestamps(Account, Contact, Activity):
                counts = self.create_records(seed, tenant, org, customisation)
        # The other apps add their demo records on top of the customers (each in its own context).
        people = {key: member.user for key, member in org["members"].items()}
        sales_first = dict(sorted(people.items(), key=lambda item: SALES_ORDER.get(item[0].split("_")[0], 9)))
        for n, (module_name, function_name) in enumerate(DEMO_HOOKS, start=1):
            try:
                hook = getattr(import_module(module_name), function_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                continue
            counts.update(hook(tenant, random.Random(seed + n), sales_first) or {})
        return counts

    # --- organisation ------------------------------------------------------------------------

    def create_organisation(self, admin) -> dict:
        from guanxi.org.models import Member

        company = OrgUnit.objects.get(kind=OrgUnit.Kind.COMPANY)
        units = {}
        for key, (name, kind, parent) in UNITS.items():
            units[key] = org_unit_save(
                actor=admin, unit=OrgUnit(name=name, kind=kind, parent=units[parent] if parent else company)
            )
        lines = {
            key: business_line_save(actor=admin, line=BusinessLine(name=name, code=code, description=description))
            for key, (name, code, description) in LINES.items()
        }
        roles = {role.name: role for role in Role.objects.all()}
        members = {"admin": Member.objects.get(user=admin)}
        member_update(actor=admin, member=members["admin"], data={"title": PEOPLE["admin"][6]})
        for key, (local, name, unit, role_names, manager, line_keys, title, is_admin) in PEOPLE.items():
            if key == "admin":
                continue
            members[key] = member_add(
                actor=admin,
                email=f"{local}@{DOMAIN}",
                full_name=name,
                password=PASSWORD,
                unit=units[unit] if unit else company,
                manager=members[manager] if manager else None,
                roles=[roles[r] for r in role_names],
                business_lines=[lines[k] for k in line_keys],
                title=title,
                is_admin=is_admin,
            )
        teams = {}
        for key, (name, unit, lead, member_keys) in TEAMS.items():
            teams[key] = team_save(
                actor=admin,
                team=Team(name=name, unit=units[unit], lead=members[lead]),
                member_ids=[members[m].pk for m in member_keys],
            )
        return {"units": units, "lines": lines, "members": members, "teams": teams}

    def create_customisation(self, admin) -> dict:
        fields = [
            CustomFieldDefinition(
                entity="customers.account",
                key="customer_tier",
                label_en="Customer tier",
                label_zh="客户等级",
                field_type="choice",
                choices=TIERS,
                position=10,
                show_in_list=True,
            ),
            CustomFieldDefinition(
                entity="customers.account",
                key="contract_expiry",
                label_en="Contract expiry",
                label_zh="合同到期日",
                field_type="date",
                position=20,
                help_text="Signed customers: when the current contract ends.",
            ),
            CustomFieldDefinition(
                entity="customers.contact",
                key="wechat_id",
                label_en="WeChat ID",
                label_zh="微信号",
                field_type="text",
                max_length=60,
                position=10,
            ),
        ]
        for definition in fields:
            custom_field_save(actor=admin, definition=definition)
        Tag.objects.bulk_create([Tag(name=name, color=color) for name, color in TAGS])
        tags = {tag.name: tag for tag in Tag.objects.all()}
        return {"tags": [tags[name] for name, _c in TAGS]}

    # --- customer records ---------------------------------------------------------------------

    def create_records(self, seed: int, tenant, org: dict, customisation: dict) -> dict[str, int]:
        gen = DataGenerator(seed)
        r = gen.r
        tz = zoneinfo.ZoneInfo(tenant.time_zone)
        now = timezone.now()
        rows = RowFactory(gen, now=now, tz=tz)
        users = {key: member.user for key, member in org["members"].items()}
        units, lines = org["units"], org["lines"]
        line_list = list(lines.values())
        key_account, renewal, trade_show, partner, vip, government, new_customer = customisation["tags"]

        accounts, account_points, history = [], [], []
        meta = []  # per account: (company or None, person or None, chinese, region key)
        names = set()

        def add_account(built, company, person, chinese, region):
            account, points, changes = built
            accounts.append(account)
            account_points.extend(points)
            history.extend(changes)
            meta.append((company, person, chinese, region))

        for region, n in (("north", 50), ("east", 45), ("south", 35)):
            for _ in range(n):
                company = gen.chinese_company(region)
                while company.name in names:
                    company = gen.chinese_company(region)
                names.add(company.name)
                owner = users[r.choice(OWNERS_BY_REGION[region])]
                built = rows.organisation(company, owner=owner, region=units[region], line=r.choice(line_list))
                add_account(built, company, None, True, region)
        for _ in range(45):
            company = gen.western_company()
            while company.name in names:
                company = gen.western_company()
            names.add(company.name)
            owner = users[r.choice(OWNERS_BY_REGION["intl"])]
            built = rows.organisation(company, owner=owner, region=units["intl"], line=r.choice(line_list))
            add_account(built, company, None, False, "intl")
        for i in range(ACCOUNTS - len(accounts)):
            chinese = i % 9 != 0
            person = gen.person(chinese)
            city = gen.chinese_city() if chinese else gen.western_city()
            owner = users[r.choice(CONSUMER_OWNERS)]
            built = rows.consumer(person, city, owner=owner, region=units[city.region], line=lines["hardware"])
            add_account(built, None, person, chinese, city.region)

        # Custom fields: tier for customers, contract expiry for signed ones.
        for account in accounts:
            if account.lifecycle_stage in ("customer", "churned") and account.kind == Account.Kind.ORGANIZATION:
                account.custom["customer_tier"] = r.choices(["gold", "silver", "bronze"], [2, 4, 5])[0]
                expiry = (now + datetime.timedelta(days=r.randint(-60, 500))).date()
                account.custom["contract_expiry"] = expiry.isoformat()
            elif account.lifecycle_stage == "opportunity" and r.random() < 0.3:
                account.custom["customer_tier"] = "bronze"

        Account.objects.bulk_create(accounts, batch_size=1000)
        ContactPoint.objects.bulk_create(account_points, batch_size=2000)
        LifecycleChange.objects.bulk_create(history, batch_size=2000)

        # Contacts: people at organisations, the consumers themselves, trade-show leads.
        contacts, contact_points, links = [], [], []
        contacts_of = defaultdict(list)  # account index -> contact indexes
        contact_chinese = []

        def add_contact(person, **kwargs):
            custom = {}
            if person.chinese and r.random() < 0.6:
                custom["wechat_id"] = gen.wechat_id(person)
            contact, points = rows.contact(person, custom=custom, **kwargs)
            contacts.append(contact)
            contact_points.extend(points)
            contact_chinese.append(person.chinese)
            return len(contacts) - 1

        org_indexes = [i for i, a in enumerate(accounts) if a.kind == Account.Kind.ORGANIZATION]
        per_org = {i: 1 + r.choices([0, 1, 2, 3], [2, 4, 3, 1])[0] for i in org_indexes}
        for i in org_indexes:
            account = accounts[i]
            company, _person, chinese, _region = meta[i]
            for n in range(per_org[i]):
                if len(contacts) >= CONTACTS - (ACCOUNTS - len(org_indexes)) - 20:
                    break
                # Foreign companies in Singapore and elsewhere employ Chinese staff too.
                person = gen.person(chinese or r.random() < 0.15)
                created = rows.past(700, after=account.created_at)
                c = add_contact(person, owner=account.owner, account=account, company=company, created_at=created)
                contacts_of[i].append(c)
                links.append(rows.link(account, contacts[c], "decision_maker" if n == 0 else None))
        for i, account in enumerate(accounts):
            if account.kind != Account.Kind.INDIVIDUAL:
                continue
            _company, person, chinese, _region = meta[i]
            # The consumer's own contact carries the same e-mail address and phone as the account.
            contact, points = rows.contact(
                person,
                owner=account.owner,
                account=account,
                created_at=account.created_at,
                emails=[(account.email, "home")],
                phones=[(account.phone, "mobile")],
            )
            contacts.append(contact)
            contact_points.extend(points)
            contact_chinese.append(chinese)
            contacts_of[i].append(len(contacts) - 1)
            links.append(rows.link(account, contact, "user"))
        lead_owners = [users["marketer"], users["rep_li"], users["rep_wu"], users["rep_zheng"]]
        leads = []
        while len(contacts) < CONTACTS:
            person = gen.person(r.random() < 0.8)
            city = gen.chinese_city() if person.chinese else gen.western_city()
            c = add_contact(person, owner=r.choice(lead_owners), city=city, created_at=rows.past(120))
            leads.append(c)

        Contact.objects.bulk_create(contacts, batch_size=1000)
        ContactPoint.objects.bulk_create(contact_points, batch_size=2000)
        # A few people are linked to a second organisation (consultants, partners).
        seen = {(link.account.pk, link.contact.pk) for link in links}
        for c in r.sample(range(len(contacts) - len(leads)), 30):
            i = r.choice(org_indexes)
            if (accounts[i].pk, contacts[c].pk) not in seen:
                seen.add((accounts[i].pk, contacts[c].pk))
                links.append(rows.link(accounts[i], contacts[c], "influencer"))
        AccountContact.objects.bulk_create(links, batch_size=2000)

        # Tags.
        account_tags = []
        for i, account in enumerate(accounts):
            chosen = set()
            if account.custom.get("customer_tier") == "gold" or account.rating == "A":
                chosen.add(key_account)
            if account.custom.get("contract_expiry", "9999") < (now + datetime.timedelta(days=90)).date().isoformat():
                chosen.add(renewal)
            if account.source == "partner":
                chosen.add(partner)
            if account.industry == "government" or (meta[i][2] and r.random() < 0.05):
                chosen.add(government)
            if account.kind == Account.Kind.INDIVIDUAL and account.lifecycle_stage == "customer" and r.random() < 0.4:
                chosen.add(vip)
            if account.lifecycle_stage == "customer" and account.lifecycle_changed_at > now - datetime.timedelta(60):
                chosen.add(new_customer)
            account_tags += [AccountTag(account=account, tag=t) for t in chosen]
        contact_tags = [ContactTag(contact=contacts[c], tag=trade_show) for c in leads]
        contact_tags += [ContactTag(contact=contacts[c], tag=vip) for c in r.sample(range(len(contacts)), 15)]
        AccountTag.objects.bulk_create(account_tags, batch_size=2000)
        ContactTag.objects.bulk_create(contact_tags, batch_size=2000, ignore_conflicts=True)

        activities = self.build_activities(rows, accounts, contacts, contacts_of, meta, contact_chinese, users, leads)
        Activity.objects.bulk_create(activities, batch_size=1000)
        participants = []
        for activity in activities:
            if activity.kind == Activity.Kind.MEETING:
                participants.append(ActivityParticipant(activity=activity, user=activity.owner))
                if activity.contact is not None:
                    participants.append(ActivityParticipant(activity=activity, contact=activity.contact))
        ActivityParticipant.objects.bulk_create(participants, batch_size=2000)
        # An account was last touched by its latest finished activity, if that came after its stage change.
        last_done = {}
        for activity in activities:
            if activity.account_id and activity.status == Activity.Status.DONE and activity.starts_at <= now:
                last_done[activity.account_id] = max(
                    last_done.get(activity.account_id, activity.starts_at), activity.starts_at
                )
        touched = []
        for account in accounts:
            if account.pk in last_done and last_done[account.pk] > account.lifecycle_changed_at:
                account.updated_at = last_done[account.pk]
                touched.append(account)
        Account.objects.bulk_update(touched, ["updated_at"], batch_size=1000)

        counts = {
            "accounts": len(accounts),
            "contacts": len(contacts),
            "activities": len(activities),
            "emails and phones": len(account_points) + len(contact_points),
        }
        audit.record(
            AuditAction.IMPORT,
            model=Account,
            object_repr="demo data",
            note="seed_demo: " + ", ".join(f"{n} {label}" for label, n in counts.items()),
        )
        return counts

    def build_activities(self, rows, accounts, contacts, contacts_of, meta, contact_chinese, users, leads):
        """Timeline entries: history of every account, upcoming work, and a busy day for the demo people."""
        r = rows.r
        now, tz = rows.now, rows.tz
        today = now.astimezone(tz).date()
        kinds = ["call", "meeting", "task", "note", "email"]
        kind_weights = [30, 15, 25, 20, 10]
        stage_weight = {"prospect": 2, "opportunity": 5, "customer": 4, "end_user": 1, "churned": 1}
        weights = [stage_weight[a.lifecycle_stage] for a in accounts]
        owner_accounts = defaultdict(list)
        for i, account in enumerate(accounts):
            owner_accounts[account.owner.pk].append(i)
        activities = []

        def on(i, kind, starts_at, owner=None, status=None):
            account = accounts[i]
            contact = contacts[r.choice(contacts_of[i])] if contacts_of[i] and r.random() < 0.85 else None
            activities.append(
                rows.activity(
                    kind=kind,
                    owner=owner or account.owner,
                    chinese=meta[i][2],
                    account=account,
                    contact=contact,
                    starts_at=starts_at,
                    status=status,
                )
            )

        # My day for each demo person: overdue tasks, today's calls and tasks, meetings this week.
        for key in ("rep_li", "rep_zhang", "north_mgr", "service", "rep_wu", "rep_zheng", "rep_tan"):
            user = users[key]
            mine = owner_accounts.get(user.pk) or list(range(len(accounts)))
            for days_ago in (1, 3, 8):
                due = rows.gen.business_time(today - datetime.timedelta(days=days_ago), tz)
                on(r.choice(mine), "task", due, owner=user, status=Activity.Status.PLANNED)
            for hour in (11, 15, 17):
                starts = datetime.datetime.combine(today, datetime.time(hour, 0), tzinfo=tz)
                on(r.choice(mine), "task" if hour != 15 else "call", starts, owner=user, status=Activity.Status.PLANNED)
            for days_ahead in (1, 2, 4):
                starts = rows.gen.business_time(today + datetime.timedelta(days=days_ahead), tz)
                on(r.choice(mine), "meeting", starts, owner=user)

        # The marketer follows up trade-show leads.
        for c in leads[:12]:
            contact = contacts[c]
            starts = rows.past(30) if r.random() < 0.6 else now + datetime.timedelta(days=r.randint(1, 20))
            activities.append(
                rows.activity(
                    kind=r.choice(["call", "email", "task"]),
                    owner=users["marketer"],
                    chinese=contact_chinese[c],
                    contact=contact,
                    starts_at=starts,
                )
            )

        while len(activities) < ACTIVITIES:
            i = r.choices(range(len(accounts)), weights)[0]
            kind = r.choices(kinds, kind_weights)[0]
            if r.random() < 0.78 or kind in ("note", "email"):
                starts = rows.past(240, after=accounts[i].created_at)
            else:
                day = today + datetime.timedelta(days=r.randint(0, 45))
                starts = rows.gen.business_time(day, tz)
                if starts < now:
                    starts += datetime.timedelta(days=1)
            on(i, kind, starts)
        return activities
