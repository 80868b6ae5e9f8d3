"""System checks that keep the tenancy rules true as models are added."""

from django.apps import apps
from django.core import checks

from .models import TenantModel


@checks.register(checks.Tags.models)
def tenant_models_lead_indexes_with_tenant(app_configs=None, **kwargs):
    """Every tenant table needs an index starting with tenant_id (lists, deletes, RLS)."""
    errors = []
    for model in apps.get_models(include_auto_created=True):
        if not issubclass(model, TenantModel) or model._meta.proxy:
            continue
        leading = set()
        for index in model._meta.indexes:
            if index.fields:
                leading.add(index.fields[0].lstrip("-"))
        for constraint in model._meta.constraints:
            fields = getattr(constraint, "fields", None)
            if fields:
                leading.add(fields[0])
        for together in model._meta.unique_together:
            leading.add(together[0])
        if "tenant" not in leading and "tenant_id" not in leading:
            errors.append(
                checks.Error(
                    f"{model._meta.label} has no index or unique constraint leading with 'tenant'.",
                    hint="Add models.Index(fields=['tenant', ...]) to Meta.indexes.",
                    obj=model,
                    id="guanxi.E001",
                )
            )
    return errors
