"""Sales: pipelines with stages, opportunities and their stage history.

Plus leads (with scoring rules, assignment rules and web-to-lead forms), opportunity product
lines and competitors.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.customers.models import AddressMixin, Industry, Source, compose_name
from guanxi.platform.models import OwnedModel, TenantModel, TimeStampedModel


class Pipeline(TenantModel):
    """An ordered set of stages, e.g. one per business line."""

    name = models.CharField(_("name"), max_length=120)
    business_line = models.ForeignKey(
        "org.BusinessLine",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business line"),
    )
    is_default = models.BooleanField(_("default pipeline"), default=False)
    is_active = models.BooleanField(pgettext_lazy("enabled", "active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="sales_pipeline_unique_name")]

    def __str__(self):
        return self.name


class Stage(TenantModel):
    """A step of a pipeline with its default win probability."""

    class Kind(models.TextChoices):
        OPEN = "open", pgettext_lazy("opportunity status", "Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=80)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    probability = models.PositiveSmallIntegerField(_("probability (%)"), default=10)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.OPEN)

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "position", "id"]
        indexes = [models.Index(fields=["tenant", "pipeline", "position"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(probability__lte=100), name="sales_stage_probability_max")
        ]

    def __str__(self):
        return self.name


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", _("Pipeline")
    BEST_CASE = "best_case", _("Best case")
    COMMIT = "commit", _("Commit")
    CLOSED = "closed", _("Closed")
    OMITTED = "omitted", _("Omitted")


class Opportunity(OwnedModel):
    """A potential deal with an account, moving through a pipeline's stages."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("opportunity status", "Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    name = models.CharField(_("name"), max_length=200)
    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("account")
    )
    contact = models.ForeignKey(
        "customers.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="opportunities",
        verbose_name=_("main contact"),
    )
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("pipeline")
    )
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("stage"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    probability = models.PositiveSmallIntegerField(_("probability (%)"), default=10)
    forecast_category = models.CharField(
        _("forecast category"), max_length=20, choices=ForecastCategory.choices, default=ForecastCategory.PIPELINE
    )
    next_step = models.CharField(_("next step"), max_length=300, blank=True)
    team = models.ForeignKey(
        "org.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("team")
    )
    business_line = models.ForeignKey(
        "org.BusinessLine",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business line"),
    )
    region = models.ForeignKey(
        "org.OrgUnit", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("region")
    )
    is_key_account = models.BooleanField(_("key account deal"), default=False)
    amount_from_lines = models.BooleanField(
        _("amount from product lines"),
        default=True,
        help_text=_("When the opportunity has product lines, its amount is their total."),
    )
    lost_to = models.ForeignKey(
        "Competitor",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="won_against_us",
        verbose_name=_("lost to"),
    )
    close_reason = models.CharField(_("won / lost reason"), max_length=300, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, editable=False)
    stage_changed_at = models.DateTimeField(_("in stage since"), default=timezone.now, editable=False)
    description = models.TextField(_("description"), blank=True)
    tags = models.ManyToManyField(
        "customization.Tag", through="OpportunityTag", blank=True, related_name="+", verbose_name=_("tags")
    )
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        indexes = [
            models.Index(fields=["tenant", "name", "id"]),
            models.Index(fields=["tenant", "-updated_at", "-id"]),
            models.Index(fields=["tenant", "-created_at", "-id"]),
            models.Index(fields=["tenant", "pipeline", "stage"]),
            models.Index(fields=["tenant", "owner", "status"]),
            models.Index(fields=["tenant", "account"]),
            models.Index(fields=["tenant", "status", "expected_close_date"]),
            models.Index(fields=["tenant", "business_line"]),
            models.Index(fields=["tenant", "region"]),
            models.Index(fields=["tenant", "team"]),
            models.Index(fields=["tenant", "amount", "id"]),
            models.Index(fields=["tenant", "expected_close_date", "id"]),
            models.Index(fields=["tenant", "status", "closed_at"]),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("sales:opportunity_detail", args=[self.pk])


class OpportunityStageChange(TenantModel):
    """Every move between stages, for velocity, conversion and cycle-time analysis."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    seconds_in_previous_stage = models.PositiveBigIntegerField(null=True, blank=True)
    amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [
            models.Index(fields=["tenant", "opportunity", "changed_at"]),
            models.Index(fields=["tenant", "to_stage", "changed_at"]),
        ]


class OpportunityTag(TenantModel):
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE)
    tag = models.ForeignKey("customization.Tag", on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "opportunity", "tag"], name="sales_opportunity_tag_unique")
        ]
        indexes = [models.Index(fields=["tenant", "tag"])]


class OpportunityLine(TenantModel):
    """A product (or free-text item) on an opportunity: quantity × unit price less a discount."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        "commerce.Product",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product"),
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3, default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=18, decimal_places=2, default=0)
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2, default=0)
    total = models.DecimalField(_("total"), max_digits=18, decimal_places=2, default=0, editable=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("product line")
        verbose_name_plural = _("product lines")
        ordering = ["position", "id"]
        indexes = [
            models.Index(fields=["tenant", "opportunity", "position"]),
            models.Index(fields=["tenant", "product"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="sales_line_quantity_positive"),
            models.CheckConstraint(
                condition=models.Q(discount_percent__gte=0, discount_percent__lte=100), name="sales_line_discount_range"
            ),
        ]

    def __str__(self):
        return self.description or str(self.product or "")


# --- leads ----------------------------------------------------------------------------------------


class Lead(OwnedModel, AddressMixin):
    """A prospective customer not yet qualified: captured by hand, a web form, an import or the API."""

    class Status(models.TextChoices):
        NEW = "new", pgettext_lazy("lead status", "New")
        CONTACTED = "contacted", _("Contacted")
        QUALIFIED = "qualified", _("Qualified")
        UNQUALIFIED = "unqualified", _("Unqualified")
        CONVERTED = "converted", _("Converted")

    company = models.CharField(_("company"), max_length=200, blank=True)
    family_name = models.CharField(_("family name"), max_length=80, blank=True)
    given_name = models.CharField(_("given name"), max_length=80, blank=True)
    full_name = models.CharField(pgettext_lazy("person", "name"), max_length=170, editable=False, blank=True)
    title = models.CharField(_("job title"), max_length=120, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    website = models.URLField(_("website"), blank=True)
    industry = models.CharField(_("industry"), max_length=30, choices=Industry.choices, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, blank=True)
    campaign = models.CharField(_("campaign"), max_length=120, blank=True)
    business_line = models.ForeignKey(
        "org.BusinessLine",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business line"),
    )
    region = models.ForeignKey(
        "org.OrgUnit", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("region")
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NEW)
    status_changed_at = models.DateTimeField(_("status since"), default=timezone.now, editable=False)
    unqualified_reason = models.CharField(_("reason not qualified"), max_length=300, blank=True)
    score = models.IntegerField(_("score"), default=0, editable=False)
    score_breakdown = models.JSONField(_("score breakdown"), default=dict, blank=True, editable=False)
    description = models.TextField(_("description"), blank=True)
    web_form = models.ForeignKey(
        "WebToLeadForm",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
        editable=False,
        verbose_name=_("web form"),
    )
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True, editable=False)
    converted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("converted by"),
    )
    converted_account = models.ForeignKey(
        "customers.Account",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("account"),
    )
    converted_contact = models.ForeignKey(
        "customers.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("contact"),
    )
    converted_opportunity = models.ForeignKey(
        Opportunity,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
        editable=False,
        verbose_name=_("opportunity"),
    )
    tags = models.ManyToManyField(
        "customization.Tag", through="LeadTag", blank=True, related_name="+", verbose_name=_("tags")
    )
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            models.Index(fields=["tenant", "full_name", "id"]),
            models.Index(fields=["tenant", "company", "id"]),
            models.Index(fields=["tenant", "-updated_at", "-id"]),
            models.Index(fields=["tenant", "-created_at", "-id"]),
            models.Index(fields=["tenant", "owner", "status"]),
            models.Index(fields=["tenant", "status", "-score"]),
            models.Index(fields=["tenant", "-score", "id"]),
            models.Index(fields=["tenant", "source"]),
            models.Index(fields=["tenant", "campaign"]),
            models.Index(fields=["tenant", "email"]),
            models.Index(fields=["tenant", "phone"]),
            models.Index(fields=["tenant", "region"]),
            models.Index(fields=["tenant", "business_line"]),
            models.Index(fields=["tenant", "web_form"]),
        ]

    def __str__(self):
        if self.full_name and self.company:
            return f"{self.full_name} ({self.company})"
        return self.full_name or self.company or f"#{self.pk}"

    def save(self, *args, **kwargs):
        self.full_name = compose_name(self.family_name, self.given_name)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("sales:lead_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status not in (self.Status.CONVERTED, self.Status.UNQUALIFIED)


class LeadTag(TenantModel):
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE)
    tag = models.ForeignKey("customization.Tag", on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "lead", "tag"], name="sales_lead_tag_unique")]
        indexes = [models.Index(fields=["tenant", "tag"])]


class LeadScoringRule(TenantModel):
    """Points a lead earns when a field matches (fit) or for what it did (engagement)."""

    class Category(models.TextChoices):
        FIT = "fit", _("Fit")
        ENGAGEMENT = "engagement", _("Engagement")

    class Operator(models.TextChoices):
        EQUALS = "equals", _("equals")
        IN = "in", _("is one of")
        CONTAINS = "contains", _("contains")
        IS_SET = "is_set", _("is filled in")
        GREATER_THAN = "greater_than", _("is greater than")

    name = models.CharField(_("name"), max_length=120)
    field = models.CharField(_("field"), max_length=40)
    operator = models.CharField(_("operator"), max_length=20, choices=Operator.choices, default=Operator.EQUALS)
    value = models.CharField(
        pgettext_lazy("compared value", "value"),
        max_length=300,
        blank=True,
        help_text=_("For “is one of”, separate values with commas."),
    )
    points = models.SmallIntegerField(_("points"), default=10)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, default=Category.FIT)
    is_active = models.BooleanField(pgettext_lazy("enabled", "active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("lead scoring rule")
        verbose_name_plural = _("lead scoring rules")
        ordering = ["category", "position", "id"]
        indexes = [models.Index(fields=["tenant", "is_active", "category"])]

    def __str__(self):
        return self.name


class LeadAssignmentRule(TenantModel):
    """Who gets a new lead without an owner: the first active rule whose criteria all match."""

    class Strategy(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round robin among the assignees")
        FIXED = "fixed", _("Always the first assignee")

    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveSmallIntegerField(pgettext_lazy("position", "order"), default=0)
    is_active = models.BooleanField(pgettext_lazy("enabled", "active"), default=True)
    region = models.ForeignKey(
        "org.OrgUnit",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("region"),
        help_text=_("Leads of this region or below it."),
    )
    business_line = models.ForeignKey(
        "org.BusinessLine",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business line"),
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, blank=True)
    strategy = models.CharField(_("strategy"), max_length=20, choices=Strategy.choices, default=Strategy.ROUND_ROBIN)
    assignees = models.ManyToManyField(
        "org.Member", through="LeadAssignee", related_name="+", verbose_name=_("assignees")
    )
    next_index = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("lead assignment rule")
        verbose_name_plural = _("lead assignment rules")
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["tenant", "is_active", "position"])]

    def __str__(self):
        return self.name


class LeadAssignee(TenantModel):
    rule = models.ForeignKey(LeadAssignmentRule, on_delete=models.CASCADE, related_name="assignee_links")
    member = models.ForeignKey("org.Member", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "rule", "member"], name="sales_lead_assignee_unique")]
        indexes = [models.Index(fields=["tenant", "member"])]


class LeadRescoreRun(TenantModel):
    """The nightly recomputation of every lead's score: one row per tenant and local day, claimed before it runs
    (so the scheduler, which asks every minute, runs it once a night)."""

    day = models.DateField(_("day"))
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    changed = models.PositiveIntegerField(_("scores changed"), default=0)

    class Meta:
        verbose_name = _("lead rescoring run")
        verbose_name_plural = _("lead rescoring runs")
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["tenant", "day"], name="sales_lead_rescore_run_unique_day")]

    def __str__(self):
        return f"{self.day}: {self.changed}"


def _new_form_key() -> str:
    import secrets

    return secrets.token_urlsafe(24)


class WebToLeadForm(TenantModel):
    """A public form (its own page, embeddable in a website with an iframe) that creates leads."""

    name = models.CharField(_("name"), max_length=120)
    key = models.CharField(_("public key"), max_length=64, unique=True, default=_new_form_key, editable=False)
    is_active = models.BooleanField(pgettext_lazy("enabled", "active"), default=True)
    title = models.CharField(_("heading"), max_length=200, blank=True)
    intro = models.TextField(_("introduction"), blank=True)
    fields = models.JSONField(_("fields shown"), default=list, blank=True)
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)
    default_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner of new leads"),
        help_text=_("Leave empty to use the lead assignment rules."),
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.WEB)
    campaign = models.CharField(_("campaign"), max_length=120, blank=True)
    business_line = models.ForeignKey(
        "org.BusinessLine",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business line"),
    )
    region = models.ForeignKey(
        "org.OrgUnit", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("region")
    )
    thank_you_url = models.URLField(
        _("thank-you page"), blank=True, help_text=_("Where visitors go after sending; empty shows a message.")
    )
    thank_you_message = models.CharField(_("thank-you message"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("web-to-lead form")
        verbose_name_plural = _("web-to-lead forms")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["tenant", "name"])]

    def __str__(self):
        return self.name


# --- competitors ---------------------------------------------------------------------------------


class Competitor(TenantModel, TimeStampedModel):
    """A company we compete with, its products and how we fare against it."""

    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("competitor status", "Active")
        INACTIVE = "inactive", pgettext_lazy("competitor status", "Inactive")
        ACQUIRED = "acquired", _("Acquired")

    name = models.CharField(_("name"), max_length=200)
    website = models.URLField(_("website"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    background = models.TextField(_("background"), blank=True)
    main_markets = models.CharField(_("main markets"), max_length=300, blank=True)
    strategy = models.TextField(_("strategy"), blank=True)
    strengths = models.TextField(_("strengths"), blank=True)
    weaknesses = models.TextField(_("weaknesses"), blank=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        verbose_name = _("competitor")
        verbose_name_plural = _("competitors")
        indexes = [
            models.Index(fields=["tenant", "name", "id"]),
            models.Index(fields=["tenant", "-updated_at", "-id"]),
            models.Index(fields=["tenant", "-created_at", "-id"]),
            models.Index(fields=["tenant", "status"]),
        ]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="sales_competitor_unique_name")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("sales:competitor_detail", args=[self.pk])


class CompetingProduct(TenantModel):
    """A competitor's product, and which of our products it competes with."""

    competitor = models.ForeignKey(Competitor, on_delete=models.CASCADE, related_name="products")
    name = models.CharField(_("name"), max_length=200)
    use = models.CharField(_("use"), max_length=300, blank=True, help_text=_("What customers use it for."))
    performance = models.TextField(_("performance"), blank=True)
    price = models.DecimalField(_("price"), max_digits=18, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    competes_with = models.ManyToManyField(
        "commerce.Product",
        through="CompetingProductTarget",
        blank=True,
        related_name="+",
        verbose_name=_("competes with our products"),
    )

    class Meta:
        verbose_name = _("competing product")
        verbose_name_plural = _("competing products")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["tenant", "competitor", "name"])]

    def __str__(self):
        return self.name


class CompetingProductTarget(TenantModel):
    competing_product = models.ForeignKey(CompetingProduct, on_delete=models.CASCADE)
    product = models.ForeignKey("commerce.Product", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "competing_product", "product"], name="sales_competing_target_unique"
            )
        ]
        indexes = [models.Index(fields=["tenant", "product"])]


class OpportunityCompetitor(TenantModel):
    """A competitor involved in an opportunity, with how they stand in this deal."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="competitor_links")
    competitor = models.ForeignKey(
        Competitor, on_delete=models.CASCADE, related_name="opportunity_links", verbose_name=_("competitor")
    )
    strengths = models.CharField(_("strengths"), max_length=500, blank=True)
    weaknesses = models.CharField(_("weaknesses"), max_length=500, blank=True)
    price = models.DecimalField(_("their price"), max_digits=18, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("competitor in a deal")
        verbose_name_plural = _("competitors in deals")
        ordering = ["competitor__name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "opportunity", "competitor"], name="sales_opportunity_competitor_unique"
            )
        ]
        indexes = [models.Index(fields=["tenant", "competitor"])]

    def __str__(self):
        return str(self.competitor)
