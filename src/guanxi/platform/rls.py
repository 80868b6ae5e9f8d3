"""Row-level security on PostgreSQL: the database enforces tenant isolation too.

After every ``migrate`` the policy below is (re)applied to the table of every concrete
``TenantModel``: a row is visible and writable only when its ``tenant_id`` equals the
session's ``guanxi.tenant_id`` setting, or when ``guanxi.all_tenants`` is ``on``
(platform code inside ``all_tenants_scope``). With no setting, nothing is visible:
the database fails closed as the ORM does. ``FORCE`` makes the policy apply to the
table owner too; only a PostgreSQL superuser or a ``BYPASSRLS`` role escapes it, so
production must connect as an ordinary role (see docs/architecture.md).
"""

from django.apps import apps
from django.db import connections

from .models import TenantModel

POLICY = "guanxi_tenant_isolation"
CONDITION = (
    "(current_setting('guanxi.all_tenants', true) = 'on' "
    "OR tenant_id = NULLIF(current_setting('guanxi.tenant_id', true), '')::bigint)"
)


def tenant_tables() -> list[str]:
    tables = []
    for model in apps.get_models(include_auto_created=True):
        if issubclass(model, TenantModel) and not model._meta.proxy and model._meta.managed:
            tables.append(model._meta.db_table)
    return sorted(set(tables))


def apply_policies(using: str = "default") -> list[str]:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    existing = set(connection.introspection.table_names())
    applied = []
    with connection.cursor() as cursor:
        for table in tenant_tables():
            if table not in existing:
                continue
            q = connection.ops.quote_name(table)
            cursor.execute(f"ALTER TABLE {q} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"ALTER TABLE {q} FORCE ROW LEVEL SECURITY")
            cursor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {q}")
            cursor.execute(f"CREATE POLICY {POLICY} ON {q} USING {CONDITION} WITH CHECK {CONDITION}")
            applied.append(table)
    return applied


def on_post_migrate(sender, using="default", **kwargs):
    # All migrations have run before any post_migrate signal, so every table exists.
    apply_policies(using)
    # The database cache (the default without Redis) needs its table; creating it here
    # means `migrate` alone prepares a fresh installation.
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)
