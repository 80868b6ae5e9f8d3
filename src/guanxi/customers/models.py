"""The customer data centre: accounts (organisations or consumers) and their contacts."""

import re

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.platform.models import OwnedModel, TenantModel

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class LifecycleStage(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    OPPORTUNITY = "opportunity", pgettext_lazy("lifecycle stage", "Opportunity")
    CUSTOMER = "customer", _("Signed customer")
    END_USER = "end_user", _("End user")
    CHURNED = "churned", _("Churned")


class Industry(models.TextChoices):
    AGRICULTURE = "agriculture", _("Agriculture")
    AUTOMOTIVE = "automotive", _("Automotive")
    CONSTRUCTION = "construction", _("Construction and real estate")
    CONSUMER = "consumer", _("Consumer goods")
    EDUCATION = "education", _("Education")
    ENERGY = "energy", _("Energy and utilities")
    FINANCE = "finance", _("Banking and finance")
    GOVERNMENT = "government", _("Government and public sector")
    HEALTHCARE = "healthcare", _("Healthcare")
    HOSPITALITY = "hospitality", _("Hospitality and travel")
    IT = "it", _("Information technology")
    LOGISTICS = "logistics", _("Logistics")
    MANUFACTURING = "manufacturing", _("Manufacturing")
    MEDIA = "media", _("Media and entertainment")
    PROFESSIONAL = "professional", _("Professional services")
    RETAIL = "retail", _("Retail and e-commerce")
    TELECOM = "telecom", _("Telecommunications")
    OTHER = "other", _("Other")


class CompanySize(models.TextChoices):
    MICRO = "1-9", _("1–9 employees")
    SMALL = "10-49", _("10–49 employees")
    MEDIUM = "50-199", _("50–199 employees")
    LARGE = "200-999", _("200–999 employees")
    XLARGE = "1000-4999", _("1,000–4,999 employees")
    ENTERPRISE = "5000+", _("5,000+ employees")


class Source(models.TextChoices):
    WEB = "web", _("Website")
    REFERRAL = "referral", _("Referral")
    TRADE_SHOW = "trade_show", _("Trade show")
    CAMPAIGN = "campaign", _("Marketing campaign")
    COLD_CALL = "cold_call", _("Cold call")
    PARTNER = "partner", _("Partner")
    SOCIAL = "social", _("Social media")
    IMPORT = "import", _("Import")
    OTHER = "other", _("Other")


class Rating(models.TextChoices):
    A = "A", _("A – key")
    B = "B", _("B – important")
    C = "C", _("C – regular")
    D = "D", _("D – low")


class AddressMixin(models.Model):
    country = models.CharField(_("country"), max_length=60, blank=True, default="")
    province = models.CharField(_("province / state"), max_length=60, blank=True)
    city = models.CharField(_("city"), max_length=60, blank=True)
    district = models.CharField(_("district"), max_length=60, blank=True)
    street = models.CharField(_("street address"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)

    class Meta:
        abstract = True

    @property
    def address_lines(self) -> list[str]:
        if CJK.search(self.country + self.province + self.city + self.street):
            return [
                line
                for line in [f"{self.country}{self.province}{self.city}{self.district}", self.street, self.postal_code]
                if line
            ]
        return [
            line
            for line in [
                self.street,
                " ".join(p for p in [self.postal_code, self.city] if p),
                ", ".join(p for p in [self.district, self.province, self.country] if p),
            ]
            if line
        ]


class Account(OwnedModel, AddressMixin):
    """An organisation or an individual consumer we have a relationship with."""

    class Kind(models.TextChoices):
        ORGANIZATION = "organization", pgettext_lazy("account kind", "Organisation")
        INDIVIDUAL = "individual", _("Individual consumer")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.ORGANIZATION)
    industry = models.CharField(_("industry"), max_length=30, choices=Industry.choices, blank=True)
    size = models.CharField(
        pgettext_lazy("company size", "size"), max_length=20, choices=CompanySize.choices, blank=True
    )
    annual_revenue = models.DecimalField(_("annual revenue"), max_digits=18, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    region = models.ForeignKey(
        "org.OrgUnit", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("region")
    )
    website = models.URLField(_("website"), blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, help_text=_("Main number."))
    email = models.EmailField(_("email"), blank=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, blank=True)
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=20, choices=LifecycleStage.choices, default=LifecycleStage.PROSPECT
    )
    lifecycle_changed_at = models.DateTimeField(_("stage since"), default=timezone.now, editable=False)
    rating = models.CharField(_("rating"), max_length=1, choices=Rating.choices, blank=True)
    business_line = models.ForeignKey(
        "org.BusinessLine",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business line"),
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="subsidiaries",
        verbose_name=_("parent account"),
    )
    description = models.TextField(_("description"), blank=True)
    tags = models.ManyToManyField(
        "customization.Tag", through="AccountTag", blank=True, related_name="+", verbose_name=_("tags")
    )
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        indexes = [
            models.Index(fields=["tenant", "name", "id"]),
            models.Index(fields=["tenant", "-updated_at", "-id"]),
            models.Index(fields=["tenant", "-created_at", "-id"]),
            models.Index(fields=["tenant", "owner", "name"]),
            models.Index(fields=["tenant", "lifecycle_stage", "name"]),
            models.Index(fields=["tenant", "industry"]),
            models.Index(fields=["tenant", "region"]),
            models.Index(fields=["tenant", "business_line"]),
            models.Index(fields=["tenant", "rating"]),
            models.Index(fields=["tenant", "kind"]),
            models.Index(fields=["tenant", "source"]),
            models.Index(fields=["tenant", "parent"]),
            models.Index(fields=["tenant", "phone"]),
            models.Index(fields=["tenant", "email"]),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("customers:account_detail", args=[self.pk])


class Contact(OwnedModel, AddressMixin):
    """A person: works for one or more accounts, or is a consumer in their own right."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        SMS = "sms", _("SMS")
        WECHAT = "wechat", _("WeChat")
        MAIL = "mail", _("Letter")

    class Salutation(models.TextChoices):
        MR = "mr", _("Mr")
        MS = "ms", _("Ms")
        DR = "dr", _("Dr")
        PROF = "prof", _("Prof.")

    family_name = models.CharField(_("family name"), max_length=80, blank=True)
    given_name = models.CharField(_("given name"), max_length=80, blank=True)
    full_name = models.CharField(pgettext_lazy("person", "name"), max_length=170, editable=False)
    salutation = models.CharField(_("salutation"), max_length=10, choices=Salutation.choices, blank=True)
    title = models.CharField(_("job title"), max_length=120, blank=True)
    department = models.CharField(_("department"), max_length=120, blank=True)
    account = models.ForeignKey(
        Account,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="primary_contacts",
        verbose_name=_("account"),
        help_text=_("The account this person mainly works for."),
    )
    email = models.EmailField(_("email"), blank=True, help_text=_("Primary address; add more below."))
    phone = models.CharField(_("phone"), max_length=20, blank=True, help_text=_("Primary number; add more below."))
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    preferred_channel = models.CharField(_("preferred channel"), max_length=10, choices=Channel.choices, blank=True)
    consent_email = models.BooleanField(_("agrees to email"), default=False)
    consent_sms = models.BooleanField(_("agrees to SMS"), default=False)
    consent_phone = models.BooleanField(_("agrees to calls"), default=False)
    consent_mail = models.BooleanField(_("agrees to letters"), default=False)
    consent_updated_at = models.DateTimeField(_("consent updated"), null=True, blank=True, editable=False)
    description = models.TextField(_("notes"), blank=True)
    tags = models.ManyToManyField(
        "customization.Tag", through="ContactTag", blank=True, related_name="+", verbose_name=_("tags")
    )
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            models.Index(fields=["tenant", "full_name", "id"]),
            models.Index(fields=["tenant", "-updated_at", "-id"]),
            models.Index(fields=["tenant", "-created_at", "-id"]),
            models.Index(fields=["tenant", "owner", "full_name"]),
            models.Index(fields=["tenant", "account"]),
            models.Index(fields=["tenant", "email"]),
            models.Index(fields=["tenant", "phone"]),
            models.Index(fields=["tenant", "preferred_channel"]),
            models.Index(fields=["tenant", "birthday"]),
        ]

    def __str__(self):
        return self.full_name

    def save(self, *args, **kwargs):
        self.full_name = compose_name(self.family_name, self.given_name)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("customers:contact_detail", args=[self.pk])


def compose_name(family: str, given: str) -> str:
    """Chinese names read family-first without a space (王伟); Western ones given-first (John Smith)."""
    family, given = (family or "").strip(), (given or "").strip()
    if CJK.search(family + given):
        return f"{family}{given}"
    return " ".join(part for part in (given, family) if part)


class AccountContact(TenantModel):
    """A contact's relation to an account, with their role there."""

    class Role(models.TextChoices):
        DECISION_MAKER = "decision_maker", _("Decision maker")
        INFLUENCER = "influencer", _("Influencer")
        BUYER = "buyer", _("Buyer")
        USER = "user", _("User")
        TECHNICAL = "technical", _("Technical contact")
        FINANCE = "finance", _("Finance")
        OTHER = "other", _("Other")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contact_links")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="account_links")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("account relation")
        verbose_name_plural = _("account relations")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "account", "contact"], name="customers_account_contact_unique")
        ]
        indexes = [models.Index(fields=["tenant", "contact"])]


class ContactPoint(TenantModel):
    """An email address or phone number of an account or a contact, normalised for matching."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")

    class Label(models.TextChoices):
        WORK = "work", _("Work")
        MOBILE = "mobile", _("Mobile")
        HOME = "home", _("Home")
        FAX = "fax", _("Fax")
        OTHER = "other", _("Other")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, null=True, blank=True, related_name="points")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="points")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    value = models.CharField(
        pgettext_lazy("email or phone", "value"), max_length=254
    )  # lower-case email or E.164 phone
    label = models.CharField(_("label"), max_length=10, choices=Label.choices, default=Label.WORK)
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        verbose_name = _("email or phone")
        verbose_name_plural = _("emails and phones")
        indexes = [
            models.Index(fields=["tenant", "kind", "value"]),
            models.Index(fields=["tenant", "contact"]),
            models.Index(fields=["tenant", "account"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(account__isnull=False, contact__isnull=True)
                | models.Q(account__isnull=True, contact__isnull=False),
                name="customers_point_one_owner",
            )
        ]

    def __str__(self):
        return self.value


class LifecycleChange(TenantModel):
    """Every change of an account's lifecycle stage, with its date."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="lifecycle_changes")
    from_stage = models.CharField(
        pgettext_lazy("stage change", "from"), max_length=20, choices=LifecycleStage.choices, blank=True
    )
    to_stage = models.CharField(pgettext_lazy("stage change", "to"), max_length=20, choices=LifecycleStage.choices)
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)
    changed_by = models.ForeignKey(
        "identity.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("by")
    )

    class Meta:
        verbose_name = _("lifecycle change")
        verbose_name_plural = _("lifecycle changes")
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "account", "-changed_at"]),
            models.Index(fields=["tenant", "to_stage", "-changed_at"]),
        ]


class AccountTag(TenantModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    tag = models.ForeignKey("customization.Tag", on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "account", "tag"], name="customers_account_tag_unique")
        ]
        indexes = [models.Index(fields=["tenant", "tag"])]


class ContactTag(TenantModel):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE)
    tag = models.ForeignKey("customization.Tag", on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "contact", "tag"], name="customers_contact_tag_unique")
        ]
        indexes = [models.Index(fields=["tenant", "tag"])]
