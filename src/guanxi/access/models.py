"""Roles, record shares, sharing rules and field restrictions of a tenant."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from guanxi.platform.models import TenantModel
from guanxi.platform.registry import Action, Scope

ACTION_CHOICES = [
    (Action.VIEW, _("View")),
    (Action.CREATE, _("Create")),
    (Action.EDIT, _("Edit")),
    (Action.DELETE, _("Delete")),
    (Action.IMPORT, _("Import")),
    (Action.EXPORT, _("Export")),
    (Action.ASSIGN, _("Assign")),
    (Action.ADMINISTER, _("Administer")),
]
SCOPE_CHOICES = [
    (Scope.OWN, _("Own records")),
    (Scope.TEAM, _("Team's records")),
    (Scope.UNIT, _("Own unit and below")),
    (Scope.BUSINESS_LINE, _("Own business lines")),
    (Scope.TENANT, _("Whole company")),
]


class AccessLevel(models.TextChoices):
    READ = "read", _("Read")
    EDIT = "edit", _("Read and edit")


class Role(TenantModel):
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    is_builtin = models.BooleanField(_("built in"), default=False, editable=False)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="access_role_unique_name")]

    def __str__(self):
        # Built-in role names are stored in English and shown in the user's language.
        return gettext(self.name) if self.is_builtin else self.name


class RolePermission(TenantModel):
    """Role R may do ``action`` on ``module`` for records within ``scope``."""

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="permissions")
    module = models.CharField(_("module"), max_length=60)
    action = models.CharField(_("action"), max_length=20, choices=ACTION_CHOICES)
    scope = models.CharField(_("data scope"), max_length=20, choices=SCOPE_CHOICES, default=Scope.OWN)

    class Meta:
        verbose_name = _("role permission")
        verbose_name_plural = _("role permissions")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "role", "module", "action"], name="access_role_perm_unique")
        ]


class MemberRole(TenantModel):
    member = models.ForeignKey("org.Member", on_delete=models.CASCADE)
    role = models.ForeignKey(Role, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "member", "role"], name="access_member_role_unique")]


class RecordShare(TenantModel):
    """An explicit share of one record with a user, a team or a unit (and its sub-units)."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.BigIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    team = models.ForeignKey(
        "org.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("team")
    )
    unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("unit")
    )
    access = models.CharField(_("access"), max_length=10, choices=AccessLevel.choices, default=AccessLevel.READ)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("share")
        verbose_name_plural = _("shares")
        indexes = [
            models.Index(fields=["tenant", "content_type", "object_id"]),
            models.Index(fields=["tenant", "content_type", "user"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, team__isnull=True, unit__isnull=True)
                    | models.Q(user__isnull=True, team__isnull=False, unit__isnull=True)
                    | models.Q(user__isnull=True, team__isnull=True, unit__isnull=False)
                ),
                name="access_share_one_grantee",
            )
        ]

    @property
    def grantee(self):
        return self.user or self.team or self.unit


class SharingRule(TenantModel):
    """E.g. "accounts of business line X in region Y are readable by unit Z".

    Criteria (all optional, combined with AND) select records; the grantee (a unit with
    its sub-units, a team, or everyone holding a role) gets ``access`` to them.
    """

    name = models.CharField(_("name"), max_length=120)
    module = models.CharField(_("record type"), max_length=60)
    business_line = models.ForeignKey(
        "org.BusinessLine",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("records of business line"),
    )
    region = models.ForeignKey(
        "org.OrgUnit",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("records in region"),
    )
    owner_unit = models.ForeignKey(
        "org.OrgUnit",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("records owned in unit"),
    )
    grantee_unit = models.ForeignKey(
        "org.OrgUnit",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("shared with unit"),
    )
    grantee_team = models.ForeignKey(
        "org.Team",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("shared with team"),
    )
    grantee_role = models.ForeignKey(
        Role, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("shared with role")
    )
    access = models.CharField(_("access"), max_length=10, choices=AccessLevel.choices, default=AccessLevel.READ)
    is_active = models.BooleanField(pgettext_lazy("enabled", "active"), default=True)

    class Meta:
        verbose_name = _("sharing rule")
        verbose_name_plural = _("sharing rules")
        ordering = ["module", "name"]
        indexes = [models.Index(fields=["tenant", "module"])]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(grantee_unit__isnull=False)
                    | models.Q(grantee_team__isnull=False)
                    | models.Q(grantee_role__isnull=False)
                ),
                name="access_rule_has_grantee",
            )
        ]

    def __str__(self):
        return self.name


class RestrictedField(TenantModel):
    """A field only some roles may see (and fewer may change); others never get it."""

    module = models.CharField(_("record type"), max_length=60)
    field_name = models.CharField(_("field"), max_length=80)

    class Meta:
        verbose_name = _("restricted field")
        verbose_name_plural = _("restricted fields")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "module", "field_name"], name="access_restricted_field_unique")
        ]


class RestrictedFieldGrant(TenantModel):
    restricted_field = models.ForeignKey(RestrictedField, on_delete=models.CASCADE, related_name="grants")
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="+", verbose_name=_("role"))
    can_edit = models.BooleanField(_("may change"), default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "restricted_field", "role"], name="access_field_grant_unique")
        ]
