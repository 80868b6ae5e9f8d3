"""Small pending lists for the search indexes (PostgreSQL).

A GIN index collects new entries in an unsorted pending list (4 MB by default) until a vacuum
or an insert past the limit merges them in; every search reads the whole list. Measured over
1M contacts: a fragment search of company names read 470 pending pages (2.7 ms) for 10 pages of
index; e-mail, phone and name searches likewise. 256 kB bounds that cost to about 32 pages per
index; inserts merge more often, in smaller batches.
"""

from django.db import migrations

INDEXES = (
    "customers_account_name_trgm",
    "customers_contact_name_trgm",
    "customers_point_email_trgm",
    "customers_point_phone_trgm",
)


def small(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"ALTER INDEX IF EXISTS {name} SET (gin_pending_list_limit = 256)")


def default(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"ALTER INDEX IF EXISTS {name} RESET (gin_pending_list_limit)")


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_account_name_bigrams")]
    operations = [migrations.RunPython(small, default)]
