"""The matrix organisation of a tenant: units (a tree), business lines, teams, members."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.platform.models import TenantModel


class OrgUnit(TenantModel):
    """A node of the organisation tree: company → region → branch / department."""

    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        REGION = "region", _("Region")
        BRANCH = "branch", _("Branch")
        DEPARTMENT = "department", _("Department")

    name = models.CharField(_("name"), max_length=120)
    code = models.CharField(_("code"), max_length=30, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.DEPARTMENT)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent unit")
    )
    # Materialised path of ids ("/1/4/9/") so a subtree is one indexed prefix query.
    path = models.CharField(max_length=255, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("organisation unit")
        verbose_name_plural = _("organisation units")
        ordering = ["path"]
        indexes = [models.Index(fields=["tenant", "path"])]
        constraints = [models.UniqueConstraint(fields=["tenant", "parent", "name"], name="org_unit_unique_name")]

    def __str__(self):
        return self.name

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/") if part]


class BusinessLine(TenantModel):
    """A product line or business model: the second axis of the matrix organisation."""

    name = models.CharField(_("name"), max_length=120)
    code = models.CharField(_("code"), max_length=30, blank=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(pgettext_lazy("enabled", "active"), default=True)

    class Meta:
        verbose_name = _("business line")
        verbose_name_plural = _("business lines")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="org_business_line_unique_name")]

    def __str__(self):
        return self.name


class Member(TenantModel):
    """A user's membership of a tenant, with their place in the organisation."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="members", verbose_name=_("unit")
    )
    manager = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reports", verbose_name=_("manager")
    )
    business_lines = models.ManyToManyField(
        BusinessLine, through="MemberBusinessLine", blank=True, related_name="members", verbose_name=_("business lines")
    )
    roles = models.ManyToManyField(
        "access.Role", through="access.MemberRole", blank=True, related_name="members", verbose_name=_("roles")
    )
    title = models.CharField(_("job title"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    is_admin = models.BooleanField(
        _("tenant administrator"),
        default=False,
        help_text=_("Administrators manage users, roles and settings and see all records."),
    )
    is_active = models.BooleanField(pgettext_lazy("enabled", "active"), default=True)
    joined_at = models.DateTimeField(_("joined"), default=timezone.now)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="org_member_unique_user")]
        indexes = [models.Index(fields=["tenant", "unit"]), models.Index(fields=["tenant", "manager"])]

    def __str__(self):
        return str(self.user)


class MemberBusinessLine(TenantModel):
    member = models.ForeignKey(Member, on_delete=models.CASCADE)
    business_line = models.ForeignKey(BusinessLine, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "member", "business_line"], name="org_member_line_unique")
        ]


class Team(TenantModel):
    name = models.CharField(_("name"), max_length=120)
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.SET_NULL, null=True, blank=True, related_name="teams", verbose_name=_("unit")
    )
    lead = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("team lead")
    )
    members = models.ManyToManyField(
        Member, through="TeamMembership", blank=True, related_name="teams", verbose_name=_("members")
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="org_team_unique_name")]

    def __str__(self):
        return self.name


class TeamMembership(TenantModel):
    team = models.ForeignKey(Team, on_delete=models.CASCADE)
    member = models.ForeignKey(Member, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "team", "member"], name="org_team_member_unique")]
