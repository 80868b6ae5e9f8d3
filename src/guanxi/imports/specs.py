"""The import spec registry: what can be imported into each entity, and how.

One mechanism serves every importable entity. An ``ImportSpec`` names the entity, its
importable targets (model fields, the tenant's custom fields as ``custom.<key>``, tags and
relations), the header aliases that map columns automatically (English and Chinese), the
value transform of each target, the de-duplication rules and the bulk writer. Accounts and
contacts are registered in ``ImportsConfig.ready``; another entity (leads, products, …)
becomes importable by registering its own spec with a writer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.platform import registry

from . import transforms as t

# Target kinds: how a cell becomes a value.
TEXT, EMAIL, PHONE, DATE, BOOL, CHOICE, DECIMAL, URL = (
    "text",
    "email",
    "phone",
    "date",
    "bool",
    "choice",
    "decimal",
    "url",
)
TAGS, USER, LOOKUP, RELATION, FULL_NAME, EMAILS, PHONES, CUSTOM = (
    "tags", "user", "lookup", "relation", "full_name", "emails", "phones", "custom",
)  # fmt: skip


@dataclass
class Target:
    """One thing a column can be mapped to."""

    key: str  # "name", "custom.vip", "account", …
    label: Any
    kind: str = TEXT
    aliases: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()  # model fields written (restricted-field check); default (key,)
    multi: bool = False  # several columns may map to it (values are joined)
    max_length: int | None = None
    choices: list | None = None  # [(value, label)] for CHOICE
    choice_aliases: dict | None = None
    lookup_model: Any = None  # for LOOKUP: a model looked up by its "name"
    definition: Any = None  # for CUSTOM: the CustomFieldDefinition
    _choice_map: dict | None = field(default=None, repr=False)

    @property
    def written_fields(self) -> tuple[str, ...]:
        return self.fields or (self.key,)

    def names(self) -> set[str]:
        """Normalised header names that map to this target automatically."""
        from django.utils import translation

        names = {t.norm(self.key)}
        for language in ("en", "zh-hans"):
            with translation.override(language):
                names.add(t.norm(str(self.label)))
        if self.definition is not None:
            names |= {t.norm(self.definition.key), t.norm(self.definition.label_en), t.norm(self.definition.label_zh)}
        names |= {t.norm(a) for a in self.aliases}
        names.discard("")
        return names

    def choice_map(self) -> dict[str, str]:
        if self._choice_map is None:
            if self.definition is not None:
                choices = [(c["value"], c.get("label_en") or c["value"]) for c in self.definition.choices]
                aliases = {c.get("label_zh"): c["value"] for c in self.definition.choices if c.get("label_zh")}
                self._choice_map = t.choice_lookup(choices, aliases)
            else:
                self._choice_map = t.choice_lookup(self.choices or [], self.choice_aliases)
        return self._choice_map


@dataclass
class DedupeRule:
    """Rows are duplicates when their ``key`` is equal; ``lookup`` finds existing records by key."""

    key: str
    label: Any
    lookup: Callable[[set[str]], dict[str, list[int]]]  # one query per chunk


@dataclass
class ImportSpec:
    entity_key: str
    static_targets: Callable[[], list[Target]]
    rules: list[DedupeRule]
    writer: Callable  # writer(actor=, options=, job=) → a customers.bulk-style writer
    # At least one target of each group must be mapped, e.g. [("name",)].
    required: list[tuple[str, ...]] = field(default_factory=list)
    default_rules: tuple[str, ...] = ()
    # Entity-specific cleaning of single values by kind, e.g. {EMAIL: clean_email, PHONE: clean_phone(value, region)}.
    parsers: dict[str, Callable] = field(default_factory=dict)

    @property
    def entity(self) -> registry.Entity:
        return registry.entity(self.entity_key)

    @property
    def label(self):
        return self.entity.label_plural

    def targets(self) -> list[Target]:
        """Static targets plus the tenant's active custom fields (needs a tenant in context)."""
        targets = list(self.static_targets())
        if self.entity.custom_fields:
            from guanxi.customization.models import FieldType
            from guanxi.customization.services import definitions_for

            for d in definitions_for(self.entity_key):
                kind = {
                    FieldType.DATE: DATE,
                    FieldType.BOOLEAN: BOOL,
                    FieldType.CHOICE: CHOICE,
                    FieldType.PHONE: PHONE,
                }.get(d.field_type, CUSTOM)
                targets.append(
                    Target(f"custom.{d.key}", d.label, kind=kind, definition=d, multi=d.field_type == "multi_choice")
                )
        return targets

    def target_map(self) -> dict[str, Target]:
        return {target.key: target for target in self.targets()}


_specs: dict[str, ImportSpec] = {}


def register(spec: ImportSpec) -> ImportSpec:
    _specs[spec.entity_key] = spec
    return spec


def get(entity_key: str) -> ImportSpec:
    try:
        return _specs[entity_key]
    except KeyError:
        raise ValidationError({"entity": _("Records of this type cannot be imported.")})


def all_specs() -> list[ImportSpec]:
    return list(_specs.values())


# --- automatic mapping ------------------------------------------------------------------------


def guess_mapping(header: list[str], targets: list[Target], saved: dict[str, str] | None = None) -> dict[str, str]:
    """{column index: target key} for the columns whose header names a target.

    A saved mapping ({normalised header: target}) wins; then exact matches of the normalised
    header with a target's key, labels (English and Chinese) or aliases. A single-valued
    target is given to the first matching column only.
    """
    by_key = {target.key: target for target in targets}
    names: dict[str, str] = {}
    for target in targets:
        for name in target.names():
            names.setdefault(name, target.key)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for i, column in enumerate(header):
        key = t.norm(column)
        target_key = saved[key] if saved and key in saved else names.get(key)  # "" in a saved mapping: unmapped
        if not target_key or target_key not in by_key:
            continue
        if target_key in used and not by_key[target_key].multi:
            continue
        used.add(target_key)
        mapping[str(i)] = target_key
    return mapping


# --- the specs of accounts and contacts --------------------------------------------------------

ADDRESS_ALIASES = {
    "country": ("Country", "Country/Region", "国家", "国家/地区", "国家地区"),
    "province": ("Province", "State", "Region", "State/Province", "省", "省份", "省/直辖市", "所在省份"),
    "city": ("City", "Town", "城市", "市", "所在城市", "地级市"),
    "district": ("District", "County", "区", "区县", "县区", "区/县"),
    "street": (
        "Street",
        "Address",
        "Street address",
        "Address 1",
        "地址",
        "详细地址",
        "街道地址",
        "通讯地址",
        "办公地址",
    ),
    "postal_code": ("Postal code", "Postcode", "ZIP", "ZIP code", "Post code", "邮编", "邮政编码"),
}
COMMON_ALIASES = {
    "description": (
        "Description",
        "Notes",
        "Note",
        "Remarks",
        "Remark",
        "Comment",
        "Comments",
        "备注",
        "描述",
        "说明",
        "简介",
    ),
    "owner": (
        "Owner",
        "Record owner",
        "Account owner",
        "Contact owner",
        "Sales rep",
        "负责人",
        "所有人",
        "跟进人",
        "客户经理",
        "销售",
    ),
    "tags": ("Tags", "Tag", "Labels", "Label", "Categories", "Category", "标签", "分类"),
}
INDUSTRY_ALIASES = {
    "农业": "agriculture", "农林牧渔": "agriculture", "汽车": "automotive", "建筑": "construction", "房地产": "construction",
    "建筑与房地产": "construction", "消费品": "consumer", "快消": "consumer", "教育": "education", "能源": "energy",
    "公用事业": "energy", "金融": "finance", "银行": "finance", "银行与金融": "finance", "政府": "government",
    "公共部门": "government", "医疗": "healthcare", "医疗健康": "healthcare", "医药": "healthcare", "酒店": "hospitality",
    "旅游": "hospitality", "信息技术": "it", "互联网": "it", "IT": "it", "软件": "it", "物流": "logistics",
    "制造业": "manufacturing", "制造": "manufacturing", "媒体": "media", "传媒": "media", "娱乐": "media",
    "专业服务": "professional", "咨询": "professional", "零售": "retail", "电商": "retail", "零售与电商": "retail",
    "电信": "telecom", "通信": "telecom", "其他": "other", "其它": "other", "IT services": "it", "Software": "it",
    "Finance": "finance", "Banking": "finance", "Real estate": "construction", "Telecommunications": "telecom",
}  # fmt: skip
STAGE_ALIASES = {
    "潜在客户": "prospect", "潜客": "prospect", "商机": "opportunity", "机会": "opportunity", "签约客户": "customer",
    "成交客户": "customer", "客户": "customer", "已签约": "customer", "Customer": "customer", "Lead": "prospect",
    "最终用户": "end_user", "终端用户": "end_user", "流失": "churned", "流失客户": "churned", "已流失": "churned",
}  # fmt: skip
SOURCE_ALIASES = {
    "网站": "web", "官网": "web", "Website": "web", "转介绍": "referral", "推荐": "referral", "介绍": "referral",
    "展会": "trade_show", "Trade show": "trade_show", "市场活动": "campaign", "营销活动": "campaign", "陌拜": "cold_call",
    "电话营销": "cold_call", "Cold call": "cold_call", "合作伙伴": "partner", "渠道": "partner", "社交媒体": "social",
    "微信": "social", "导入": "import", "其他": "other", "其它": "other",
}  # fmt: skip
RATING_ALIASES = {
    "重点": "A",
    "重要": "B",
    "普通": "C",
    "一般": "C",
    "低": "D",
    "A类": "A",
    "B类": "B",
    "C类": "C",
    "D类": "D",
}
KIND_ALIASES = {
    "企业": "organization", "公司": "organization", "机构": "organization", "组织": "organization", "Company": "organization",
    "Business": "organization", "B2B": "organization", "个人": "individual", "个人客户": "individual", "消费者": "individual",
    "Person": "individual", "Consumer": "individual", "B2C": "individual",
}  # fmt: skip
SIZE_ALIASES = {
    "1-9人": "1-9", "10-49人": "10-49", "50-199人": "50-199", "200-999人": "200-999", "1000-4999人": "1000-4999",
    "5000人以上": "5000+", "5000+人": "5000+", "微型": "1-9", "小型": "10-49", "中型": "50-199", "大型": "200-999",
}  # fmt: skip
CHANNEL_ALIASES = {
    "邮件": "email",
    "邮箱": "email",
    "电话": "phone",
    "短信": "sms",
    "微信": "wechat",
    "信件": "mail",
    "邮寄": "mail",
}
SALUTATION_ALIASES = {
    "先生": "mr", "Mr.": "mr", "女士": "ms", "小姐": "ms", "Mrs": "ms", "Mrs.": "ms", "Miss": "ms", "Ms.": "ms",
    "博士": "dr", "Dr.": "dr", "教授": "prof", "Professor": "prof",
}  # fmt: skip


def _field_targets(model, names: list[str], aliases: dict[str, tuple]) -> list[Target]:
    out = []
    for name in names:
        f = model._meta.get_field(name)
        out.append(Target(name, f.verbose_name, TEXT, aliases=aliases.get(name, ()), max_length=f.max_length))
    return out


def account_targets() -> list[Target]:
    from guanxi.customers.models import Account, CompanySize, Industry, LifecycleStage, Rating, Source
    from guanxi.org.models import BusinessLine, OrgUnit

    m = Account._meta
    return [
        Target(
            "name",
            m.get_field("name").verbose_name,
            aliases=(
                "Name",
                "Account",
                "Account name",
                "Company",
                "Company name",
                "Organization",
                "Organisation",
                "Organization name",
                "Customer",
                "Customer name",
                "Client",
                "公司",
                "公司名称",
                "客户",
                "客户名称",
                "名称",
                "企业名称",
                "单位名称",
                "单位",
                "企业",
                "机构名称",
                "组织名称",
                "账户名称",
            ),
            max_length=200,
        ),
        Target(
            "kind",
            m.get_field("kind").verbose_name,
            CHOICE,
            ("Type", "Account type", "类型", "客户类型", "客户性质"),
            choices=Account.Kind.choices,
            choice_aliases=KIND_ALIASES,
        ),
        Target(
            "industry",
            m.get_field("industry").verbose_name,
            CHOICE,
            ("Industry", "Sector", "行业", "所属行业", "行业类别"),
            choices=Industry.choices,
            choice_aliases=INDUSTRY_ALIASES,
        ),
        Target(
            "size",
            m.get_field("size").verbose_name,
            CHOICE,
            ("Size", "Company size", "Employees", "Headcount", "规模", "公司规模", "人员规模", "员工人数"),
            choices=CompanySize.choices,
            choice_aliases=SIZE_ALIASES,
        ),
        Target(
            "annual_revenue",
            m.get_field("annual_revenue").verbose_name,
            DECIMAL,
            ("Annual revenue", "Revenue", "Turnover", "年营业额", "年收入", "营业收入", "营收", "年销售额"),
        ),
        Target("currency", m.get_field("currency").verbose_name, TEXT, ("Currency", "币种", "货币"), max_length=3),
        Target(
            "website",
            m.get_field("website").verbose_name,
            URL,
            ("Website", "Web", "URL", "Web site", "Homepage", "网站", "网址", "官网", "主页"),
        ),
        Target(
            "phone",
            m.get_field("phone").verbose_name,
            PHONE,
            (
                "Phone",
                "Telephone",
                "Tel",
                "Main phone",
                "Company phone",
                "Business phone",
                "电话",
                "联系电话",
                "座机",
                "公司电话",
                "总机",
                "手机",
                "手机号",
            ),
        ),
        Target(
            "email",
            m.get_field("email").verbose_name,
            EMAIL,
            ("Email", "E-mail", "Email address", "Mail", "邮箱", "电子邮件", "电子邮箱", "邮件", "邮箱地址"),
        ),
        Target(
            "source",
            m.get_field("source").verbose_name,
            CHOICE,
            ("Source", "Lead source", "Account source", "来源", "客户来源", "线索来源"),
            choices=Source.choices,
            choice_aliases=SOURCE_ALIASES,
        ),
        Target(
            "lifecycle_stage",
            m.get_field("lifecycle_stage").verbose_name,
            CHOICE,
            (
                "Stage",
                "Lifecycle stage",
                "Status",
                "Account status",
                "阶段",
                "客户阶段",
                "生命周期",
                "客户状态",
                "状态",
            ),
            choices=LifecycleStage.choices,
            choice_aliases=STAGE_ALIASES,
        ),
        Target(
            "rating",
            m.get_field("rating").verbose_name,
            CHOICE,
            ("Rating", "Grade", "Priority", "评级", "等级", "客户等级", "客户级别"),
            choices=Rating.choices,
            choice_aliases=RATING_ALIASES,
        ),
        Target(
            "region",
            m.get_field("region").verbose_name,
            LOOKUP,
            ("Region", "Sales region", "Territory", "大区", "区域", "销售区域", "片区"),
            lookup_model=OrgUnit,
        ),
        Target(
            "business_line",
            m.get_field("business_line").verbose_name,
            LOOKUP,
            ("Business line", "Division", "Product line", "业务线", "事业部", "产品线"),
            lookup_model=BusinessLine,
        ),
        Target(
            "parent",
            m.get_field("parent").verbose_name,
            RELATION,
            ("Parent account", "Parent company", "Parent", "上级公司", "母公司", "上级客户", "总公司"),
        ),
        Target("owner", m.get_field("owner").verbose_name, USER, COMMON_ALIASES["owner"]),
        *_field_targets(Account, list(ADDRESS_ALIASES), ADDRESS_ALIASES),
        Target("description", m.get_field("description").verbose_name, TEXT, COMMON_ALIASES["description"]),
        Target("tags", m.get_field("tags").verbose_name, TAGS, COMMON_ALIASES["tags"], multi=True),
    ]


def contact_targets() -> list[Target]:
    from guanxi.customers.models import Contact

    m = Contact._meta
    return [
        Target(
            "full_name",
            gettext_lazy("full name (split into family and given name)"),
            FULL_NAME,
            (
                "Name",
                "Full name",
                "Contact",
                "Contact name",
                "Display name",
                "Person",
                "姓名",
                "联系人",
                "联系人姓名",
                "名字全称",
                "客户姓名",
            ),
            fields=("family_name", "given_name"),
        ),
        Target(
            "family_name",
            m.get_field("family_name").verbose_name,
            TEXT,
            ("Last name", "Surname", "Family name", "Lastname", "姓", "姓氏"),
            max_length=80,
        ),
        Target(
            "given_name",
            m.get_field("given_name").verbose_name,
            TEXT,
            ("First name", "Given name", "Firstname", "Forename", "名", "名字"),
            max_length=80,
        ),
        Target(
            "salutation",
            m.get_field("salutation").verbose_name,
            CHOICE,
            ("Salutation", "Prefix", "称呼", "称谓", "尊称"),
            choices=Contact.Salutation.choices,
            choice_aliases=SALUTATION_ALIASES,
        ),
        Target(
            "title",
            m.get_field("title").verbose_name,
            TEXT,
            ("Job title", "Title", "Position", "Role", "Organization 1 - Title", "职位", "职务", "头衔", "岗位"),
            max_length=120,
        ),
        Target(
            "department",
            m.get_field("department").verbose_name,
            TEXT,
            ("Department", "Dept", "Organization 1 - Department", "部门", "所在部门"),
            max_length=120,
        ),
        Target(
            "account",
            gettext_lazy("company (account name)"),
            RELATION,
            (
                "Company",
                "Company name",
                "Account",
                "Account name",
                "Organization",
                "Organisation",
                "Organization name",
                "Organization 1 - Name",
                "Employer",
                "Customer",
                "公司",
                "公司名称",
                "单位",
                "单位名称",
                "所在公司",
                "工作单位",
                "客户名称",
                "企业",
                "企业名称",
                "所属公司",
                "所属客户",
                "机构",
            ),
        ),
        Target(
            "email",
            m.get_field("email").verbose_name,
            EMAIL,
            (
                "Email",
                "E-mail",
                "Email address",
                "E-mail address",
                "Mail",
                "Work email",
                "E-mail 1 - Value",
                "Email 1",
                "邮箱",
                "电子邮件",
                "电子邮箱",
                "邮件",
                "邮箱地址",
                "工作邮箱",
            ),
        ),
        Target(
            "extra_emails",
            gettext_lazy("other emails"),
            EMAILS,
            (
                "Other emails",
                "Other email",
                "Email 2",
                "Email 3",
                "E-mail 2",
                "E-mail 2 - Value",
                "E-mail 3 - Value",
                "Personal email",
                "Home email",
                "其他邮箱",
                "备用邮箱",
                "个人邮箱",
                "邮箱2",
            ),
            fields=("email",),
            multi=True,
        ),
        Target(
            "mobile",
            gettext_lazy("mobile"),
            PHONE,
            (
                "Mobile",
                "Mobile phone",
                "Cell",
                "Cell phone",
                "Cellphone",
                "Handy",
                "Phone 1 - Value",
                "手机",
                "手机号",
                "手机号码",
                "移动电话",
                "联系手机",
            ),
            fields=("phone",),
        ),
        Target(
            "phone",
            m.get_field("phone").verbose_name,
            PHONE,
            (
                "Phone",
                "Telephone",
                "Tel",
                "Work phone",
                "Business phone",
                "Office phone",
                "Direct line",
                "电话",
                "座机",
                "办公电话",
                "工作电话",
                "联系电话",
                "固定电话",
                "电话号码",
            ),
        ),
        Target(
            "extra_phones",
            gettext_lazy("other phones"),
            PHONES,
            (
                "Other phones",
                "Other phone",
                "Phone 2",
                "Phone 3",
                "Home phone",
                "Phone 2 - Value",
                "Phone 3 - Value",
                "Fax",
                "其他电话",
                "备用电话",
                "家庭电话",
                "手机2",
                "电话2",
                "传真",
            ),
            fields=("phone",),
            multi=True,
        ),
        Target(
            "birthday",
            m.get_field("birthday").verbose_name,
            DATE,
            ("Birthday", "Date of birth", "DOB", "Birth date", "生日", "出生日期", "出生年月日"),
        ),
        Target(
            "preferred_channel",
            m.get_field("preferred_channel").verbose_name,
            CHOICE,
            ("Preferred channel", "Preferred contact method", "首选联系方式", "偏好渠道"),
            choices=Contact.Channel.choices,
            choice_aliases=CHANNEL_ALIASES,
        ),
        Target(
            "consent_email",
            m.get_field("consent_email").verbose_name,
            BOOL,
            ("Email opt-in", "Email consent", "同意邮件", "接收邮件"),
        ),
        Target(
            "consent_sms",
            m.get_field("consent_sms").verbose_name,
            BOOL,
            ("SMS opt-in", "SMS consent", "同意短信", "接收短信"),
        ),
        Target(
            "consent_phone",
            m.get_field("consent_phone").verbose_name,
            BOOL,
            ("Call opt-in", "Phone consent", "同意来电", "接受电话"),
        ),
        Target(
            "consent_mail",
            m.get_field("consent_mail").verbose_name,
            BOOL,
            ("Mail opt-in", "Letter consent", "同意信件", "接收信件"),
        ),
        Target("owner", m.get_field("owner").verbose_name, USER, COMMON_ALIASES["owner"]),
        *_field_targets(Contact, list(ADDRESS_ALIASES), ADDRESS_ALIASES),
        Target("description", m.get_field("description").verbose_name, TEXT, COMMON_ALIASES["description"]),
        Target("tags", m.get_field("tags").verbose_name, TAGS, COMMON_ALIASES["tags"], multi=True),
    ]


def register_customer_specs() -> None:
    from guanxi.customers import bulk

    register(
        ImportSpec(
            entity_key="customers.account",
            static_targets=account_targets,
            rules=[
                DedupeRule("name", gettext_lazy("same name"), bulk.accounts_by_name),
                DedupeRule("email", gettext_lazy("same email"), bulk.accounts_by_email),
                DedupeRule("phone", gettext_lazy("same phone"), bulk.accounts_by_phone),
            ],
            writer=bulk.AccountWriter,
            parsers={EMAIL: bulk.clean_email, PHONE: bulk.clean_phone},
            required=[("name",)],
            default_rules=("name", "email", "phone"),
        )
    )
    register(
        ImportSpec(
            entity_key="customers.contact",
            static_targets=contact_targets,
            rules=[
                DedupeRule("email", gettext_lazy("same email"), bulk.contacts_by_email),
                DedupeRule("phone", gettext_lazy("same phone"), bulk.contacts_by_phone),
                DedupeRule("name_account", gettext_lazy("same name and company"), bulk.contacts_by_name_account),
            ],
            writer=bulk.ContactWriter,
            parsers={EMAIL: bulk.clean_email, PHONE: bulk.clean_phone},
            required=[("full_name", "family_name", "given_name")],
            default_rules=("email", "phone", "name_account"),
        )
    )
