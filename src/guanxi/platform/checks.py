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


@checks.register(checks.Tags.database)
def search_operators_leakproof(app_configs=None, databases=None, **kwargs):
    """Warn when PostgreSQL's row-level security keeps searches from their trigram indexes."""
    from django.db import connections

    warnings = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        from .db.postgresql import superuser

        with connection.cursor() as cursor:
            missing = superuser.missing_leakproof(cursor)
        if missing:
            warnings.append(
                checks.Warning(
                    f"{', '.join(missing)} not leak-proof in database {connection.settings_dict['NAME']!r}: "
                    "under row-level security, name, e-mail and phone searches read every row of the tenant.",
                    hint="Run `manage.py postgres_superuser_setup --superuser-url postgres://postgres@host/` once.",
                    id="guanxi.W010",
                )
            )
    return warnings
