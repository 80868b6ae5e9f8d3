"""Accounts found by a two-character Chinese fragment anywhere in their name, through an index.

A GIN index on ``guanxi_bigrams(name)`` (``platform/db/postgresql/functions.py``). Before it,
a rare fragment such as "王伟" read every account of the tenant (74 ms over 200,000 accounts).
The function is created only when missing: ``superuser.sql`` may already have created it,
marked leak-proof, e.g. in ``template1``. PostgreSQL only; nothing on SQLite.
"""

from django.db import migrations

from guanxi.platform.db.postgresql.functions import BIGRAMS_SIGNATURE, bigrams_function_sql


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT to_regprocedure(%s)", [BIGRAMS_SIGNATURE])
        exists = cursor.fetchone()[0] is not None
    if not exists:
        schema_editor.execute(bigrams_function_sql(leakproof=False))
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS customers_account_name_bigrams ON customers_account "
        "USING gin (guanxi_bigrams(name)) WITH (gin_pending_list_limit = 256)"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS customers_account_name_bigrams")


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_contact_point_trigram_per_kind")]
    operations = [migrations.RunPython(forwards, backwards)]
