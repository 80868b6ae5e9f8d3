"""Leads are importable: their import spec (columns, de-duplication) and the writer the import engine drives.

A lead imported without an owner goes through the assignment rules like one from a web form or the API
(else to the person importing); its source is "Import" unless the file says otherwise; its score is
computed from the scoring rules before it is written. Duplicates are found by email, phone, or company and
name together, among the tenant's leads.
"""

from __future__ import annotations

from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.customers.bulk import ADDRESS, BaseWriter, _collect, clean_email, clean_phone, name_key, person_name
from guanxi.customers.models import Industry, Source, compose_name
from guanxi.imports import specs
from guanxi.imports.specs import (
    ADDRESS_ALIASES,
    COMMON_ALIASES,
    INDUSTRY_ALIASES,
    SOURCE_ALIASES,
    ImportSpec,
    Target,
    _field_targets,
)

from . import lead_services
from .models import Lead, LeadTag

LEAD = lead_services.LEAD
STATUS_ALIASES = {
    "新线索": "new", "新建": "new", "未处理": "new", "已联系": "contacted", "跟进中": "contacted",
    "已确认": "qualified", "合格": "qualified", "有效": "qualified", "不合格": "unqualified", "无效": "unqualified",
}  # fmt: skip


def lead_targets() -> list[Target]:
    from guanxi.org.models import BusinessLine, OrgUnit

    m = Lead._meta
    return [
        Target(
            "company",
            m.get_field("company").verbose_name,
            specs.TEXT,
            (
                "Company",
                "Company name",
                "Organization",
                "Organisation",
                "Account",
                "Customer",
                "公司",
                "公司名称",
                "单位",
                "单位名称",
                "企业",
                "企业名称",
                "客户名称",
                "机构名称",
            ),
            max_length=200,
        ),
        Target(
            "full_name",
            gettext_lazy("full name (split into family and given name)"),
            specs.FULL_NAME,
            ("Name", "Full name", "Contact", "Contact name", "Lead name", "姓名", "联系人", "联系人姓名", "线索名称"),
            fields=("family_name", "given_name"),
        ),
        Target(
            "family_name",
            m.get_field("family_name").verbose_name,
            specs.TEXT,
            ("Last name", "Surname", "Family name", "姓", "姓氏"),
            max_length=80,
        ),
        Target(
            "given_name",
            m.get_field("given_name").verbose_name,
            specs.TEXT,
            ("First name", "Given name", "Forename", "名", "名字"),
            max_length=80,
        ),
        Target(
            "title",
            m.get_field("title").verbose_name,
            specs.TEXT,
            ("Job title", "Title", "Position", "Role", "职位", "职务", "头衔", "岗位"),
            max_length=120,
        ),
        Target(
            "email",
            m.get_field("email").verbose_name,
            specs.EMAIL,
            ("Email", "E-mail", "Email address", "Mail", "邮箱", "电子邮件", "电子邮箱", "邮件", "邮箱地址"),
        ),
        Target(
            "phone",
            m.get_field("phone").verbose_name,
            specs.PHONE,
            ("Phone", "Mobile", "Telephone", "Tel", "电话", "手机", "手机号", "手机号码", "联系电话", "座机"),
        ),
        Target(
            "website",
            m.get_field("website").verbose_name,
            specs.URL,
            ("Website", "Web", "URL", "Homepage", "网站", "网址", "官网"),
        ),
        Target(
            "industry",
            m.get_field("industry").verbose_name,
            specs.CHOICE,
            ("Industry", "Sector", "行业", "所属行业"),
            choices=Industry.choices,
            choice_aliases=INDUSTRY_ALIASES,
        ),
        Target(
            "source",
            m.get_field("source").verbose_name,
            specs.CHOICE,
            ("Source", "Lead source", "来源", "线索来源", "渠道来源"),
            choices=Source.choices,
            choice_aliases=SOURCE_ALIASES,
        ),
        Target(
            "campaign",
            m.get_field("campaign").verbose_name,
            specs.TEXT,
            ("Campaign", "Marketing campaign", "市场活动", "营销活动", "活动"),
            max_length=120,
        ),
        Target(
            "status",
            m.get_field("status").verbose_name,
            specs.CHOICE,
            ("Status", "Lead status", "状态", "线索状态"),
            choices=[c for c in Lead.Status.choices if c[0] != Lead.Status.CONVERTED],
            choice_aliases=STATUS_ALIASES,
        ),
        Target(
            "region",
            m.get_field("region").verbose_name,
            specs.LOOKUP,
            ("Region", "Sales region", "Territory", "大区", "区域", "销售区域", "片区"),
            lookup_model=OrgUnit,
        ),
        Target(
            "business_line",
            m.get_field("business_line").verbose_name,
            specs.LOOKUP,
            ("Business line", "Division", "Product line", "业务线", "事业部", "产品线"),
            lookup_model=BusinessLine,
        ),
        Target("owner", m.get_field("owner").verbose_name, specs.USER, COMMON_ALIASES["owner"]),
        *_field_targets(Lead, list(ADDRESS_ALIASES), ADDRESS_ALIASES),
        Target("description", m.get_field("description").verbose_name, specs.TEXT, COMMON_ALIASES["description"]),
        Target("tags", m.get_field("tags").verbose_name, specs.TAGS, COMMON_ALIASES["tags"], multi=True),
    ]


# --- duplicate look-ups (one query per chunk) ---------------------------------------------------------


def leads_by_email(keys: set[str]) -> dict[str, list[int]]:
    return _collect(Lead.objects.filter(email__gx_any=list(keys)).order_by("pk").values_list("email", "pk"))


def leads_by_phone(keys: set[str]) -> dict[str, list[int]]:
    return _collect(Lead.objects.filter(phone__gx_any=list(keys)).order_by("pk").values_list("phone", "pk"))


def _name_company_key(name: str, company: str) -> str:
    return f"{name_key(name)}|{name_key(company)}"


def leads_by_name_company(keys: set[str]) -> dict[str, list[int]]:
    companies = {k.split("|", 1)[1] for k in keys}
    rows = (
        Lead.objects.annotate(_c=Lower("company"))
        .filter(_c__gx_any=list(companies))
        .order_by("pk")
        .values_list("full_name", "company", "pk")
    )
    return _collect((_name_company_key(n, c), pk) for n, c, pk in rows if _name_company_key(n, c) in keys)


# --- the writer -----------------------------------------------------------------------------------------


class LeadWriter(BaseWriter):
    model = Lead
    entity_key = LEAD
    tag_model = LeadTag
    tag_fk = "lead"
    simple_fields = (
        "company", "family_name", "given_name", "title", "email", "phone", "website", "industry", "source",
        "campaign", "status", "description", *ADDRESS,
    )  # fmt: skip

    def build(self, row) -> None:
        self.build_common(row)
        if row.failed:
            return
        values, data = row.values, row.data
        person_name(values, data, extra=("company", "campaign", "title"))
        name = compose_name(data.get("family_name", ""), data.get("given_name", ""))
        company = data.get("company", "")
        row.keys = {
            "email": [data["email"]] if data.get("email") else [],
            "phone": [data["phone"]] if data.get("phone") else [],
            "name_company": [_name_company_key(name, company)] if name and company else [],
        }

    def validate(self, row) -> None:
        data = row.data
        if row.instance is None and not any(data.get(n) for n in ("company", "family_name", "given_name")):
            row.error(_("Give a company or a person's name."), fields=("company",))
            return
        if row.instance is not None and data.get("status") and row.instance.status == Lead.Status.CONVERTED:
            data.pop("status")  # a converted lead stays converted
        super().validate(row)

    def write(self, creates: list, updates: list) -> None:
        now = timezone.now()
        tags = self._tags(creates + updates)
        rules = lead_services._rules()
        if creates:
            objs = []
            for row in creates:
                data = row.data
                if data.get("owner_id") is None:  # the assignment rules, as for web forms and the API
                    owner = lead_services.assignment_pick_owner(
                        {"region": data.get("region_id"), "business_line": data.get("business_line_id"),
                         "source": data.get("source") or Source.IMPORT}
                    )  # fmt: skip
                    if owner is not None:
                        data["owner_id"] = owner.pk
                data.setdefault("source", Source.IMPORT)
                data.setdefault("status", Lead.Status.NEW)
                row.obj = self._new(row, now, status_changed_at=now)
                row.obj.full_name = compose_name(row.obj.family_name, row.obj.given_name)
                objs.append(row.obj)
            names = lead_services._names(objs)
            for obj in objs:
                obj.score, obj.score_breakdown = lead_services.lead_score(obj, rules=rules, counts={}, names=names)
            Lead.objects.bulk_create(objs)
            LeadTag.objects.bulk_create(
                [LeadTag(lead=row.obj, tag=tags[n]) for row in creates for n in row.tags], ignore_conflicts=True
            )
            for row in creates:
                row.audit = self._creation_changes(row.obj, row)
        if updates:
            for row in updates:
                row.obj = row.instance
                if "status" in row.data and row.data["status"] != row.instance.status:
                    row.instance.status_changed_at = now
                row.changes, row.fields = self._apply_update(row, now)
                if {"family_name", "given_name"} & set(row.fields):
                    row.instance.full_name = compose_name(row.instance.family_name, row.instance.given_name)
                    row.fields.append("full_name")
                if "status" in row.fields:
                    row.fields.append("status_changed_at")
                row.audit = dict(row.changes)
            self._add_tags(updates, tags)
            changed = [row.instance for row in updates if row.fields]
            fields = sorted({f for row in updates for f in row.fields})
            if changed:
                Lead.objects.bulk_update(changed, fields, batch_size=500)
            self._rescore([row.instance for row in updates], rules)
        self._audit(creates)
        self._audit(updates)

    @staticmethod
    def _rescore(leads: list, rules) -> None:
        if not leads:
            return
        counts = lead_services.engagement_counts([lead.pk for lead in leads])
        names = lead_services._names(leads)
        dirty = []
        for lead in leads:
            score, breakdown = lead_services.lead_score(lead, rules=rules, counts=counts.get(lead.pk, {}), names=names)
            if (score, breakdown) != (lead.score, lead.score_breakdown):
                lead.score, lead.score_breakdown = score, breakdown
                dirty.append(lead)
        if dirty:
            Lead.objects.bulk_update(dirty, ["score", "score_breakdown"], batch_size=500)

    def import_finished(self, job) -> None:
        """Owners given leads by the assignment rules hear of it once per import, not once per row."""
        from django.contrib.contenttypes.models import ContentType

        from guanxi.imports.models import ImportRow

        created = ImportRow.objects.filter(
            job=job,
            action=ImportRow.Action.CREATED,
            related=False,
            content_type=ContentType.objects.get_for_model(Lead),
        ).values("object_id")
        lead_services.notify_imported_leads(actor=self.actor, lead_ids=created)

    def revert_extra(self, obj, changes: dict, reverted: dict) -> None:
        if {"family_name", "given_name"} & set(reverted):
            obj.full_name = compose_name(obj.family_name, obj.given_name)
            Lead.objects.filter(pk=obj.pk).update(full_name=obj.full_name)

    def after_revert(self, done: list) -> None:
        self._rescore([obj for obj, _reverted in done], lead_services._rules())


def register_lead_spec() -> None:
    specs.register(
        ImportSpec(
            entity_key=LEAD,
            static_targets=lead_targets,
            rules=[
                specs.DedupeRule("email", gettext_lazy("same email"), leads_by_email),
                specs.DedupeRule("phone", gettext_lazy("same phone"), leads_by_phone),
                specs.DedupeRule("name_company", gettext_lazy("same name and company"), leads_by_name_company),
            ],
            writer=LeadWriter,
            parsers={specs.EMAIL: clean_email, specs.PHONE: clean_phone},
            required=[("company", "full_name", "family_name", "given_name")],
            default_rules=("email", "phone", "name_company"),
        )
    )
