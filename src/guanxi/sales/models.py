"""Sales: pipelines with stages, opportunities and their stage history.

Leads, competitors and the dashboard build on these (see the sales issue).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.platform.models import OwnedModel, TenantModel


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
    is_active = models.BooleanField(_("active"), default=True)
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
        OPEN = "open", _("Open")
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
        OPEN = "open", _("Open")
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
