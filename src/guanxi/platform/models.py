"""Base models: the one tenant-scoping mechanism and common mixins.

A model holding data of one tenant inherits ``TenantModel``. Its default manager
(``objects``) returns only the current tenant's rows and raises ``TenantNotSet`` when
no tenant is in context, so forgetting the context fails loudly instead of leaking.
On PostgreSQL the same rule is enforced again by row-level security policies
(``guanxi.platform.rls``), applied to every ``TenantModel`` table after migrations.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import context


@models.ForeignKey.register_lookup
class CurrentTenantLookup(models.Lookup):
    """``tenant__guanxi_current=True``: the tenant in context, looked up when the SQL is compiled.

    Resolving the tenant at execution rather than when the queryset is built lets
    querysets exist before a request (e.g. form field choices declared on a class) while
    still failing closed: running one with no tenant in context raises ``TenantNotSet``.
    """

    lookup_name = "guanxi_current"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        tenant_id = context.current_tenant_id()
        if tenant_id is not None:
            return f"{lhs_sql} = %s", [*lhs_params, tenant_id]
        if context.all_tenants_active():
            return "1 = 1", []
        raise context.TenantNotSet(
            f"{self.lhs.target.model._meta.label} was queried with no tenant in context; "
            "use tenant_context() or, for platform code, all_tenants_scope()."
        )


class TenantQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for obj in objs:
            obj._fill_and_check_tenant()
        return super().bulk_create(objs, *args, **kwargs)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Scopes every query to the tenant in context; running one without a tenant raises."""

    use_in_migrations = False

    def get_queryset(self):
        return super().get_queryset().filter(tenant__guanxi_current=True)


class TenantModel(models.Model):
    """A row belonging to exactly one tenant."""

    tenant = models.ForeignKey(
        "tenancy.Tenant",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # every tenant model declares composite indexes leading with tenant
        editable=False,
        verbose_name=_("tenant"),
    )

    objects = TenantManager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self._fill_and_check_tenant()
        return super().save(*args, **kwargs)

    def _fill_and_check_tenant(self) -> None:
        tenant_id = context.current_tenant_id()
        if self.tenant_id is None:
            if tenant_id is None:
                raise context.TenantNotSet(f"Cannot save {self._meta.label} without a tenant.")
            self.tenant_id = tenant_id
        elif tenant_id is not None and self.tenant_id != tenant_id:
            raise context.TenantMismatch(
                f"{self._meta.label} of tenant {self.tenant_id} written in tenant {tenant_id}'s context."
            )
        # Cheap same-tenant check of related rows already loaded on the instance.
        for f in self._meta.concrete_fields:
            if f.is_relation and f.name != "tenant" and f.is_cached(self):
                related = getattr(self, f.name)
                rel_tenant = getattr(related, "tenant_id", None)
                if rel_tenant is not None and rel_tenant != self.tenant_id:
                    raise context.TenantMismatch(f"{self._meta.label}.{f.name} points to another tenant's row.")


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, editable=False)

    class Meta:
        abstract = True


class OwnedModel(TenantModel, TimeStampedModel):
    """A tenant record with an owner: the unit of record-level permissions."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("owner"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("created by"),
    )

    class Meta:
        abstract = True
