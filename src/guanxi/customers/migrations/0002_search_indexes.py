"""Trigram indexes for fragment search (name, email, phone) on PostgreSQL; nothing on SQLite."""

from django.db import migrations

INDEXES = [
    ("customers_account_name_trgm", "customers_account", "UPPER(name) gin_trgm_ops"),
    ("customers_contact_name_trgm", "customers_contact", "UPPER(full_name) gin_trgm_ops"),
    ("customers_point_value_trgm", "customers_contactpoint", "value gin_trgm_ops"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, expr in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expr})")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expr in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
