"""Trigram search indexes on SQLite: FTS5 tables with the trigram tokenizer (SQLite ≥ 3.34).

PostgreSQL answers "name / address / number contains the fragment" from pg_trgm indexes
(``0002``). SQLite had nothing for it, so every search read all of a tenant's names and
addresses (36–69 ms at 100,000 contacts). An FTS5 table with ``tokenize='trigram'`` answers
``LIKE '%fragment%'`` from an index for fragments of three characters or more; it is an
external-content table (it stores only the index, the text stays in the model's table) kept in
step by triggers, so every write path (the ORM, the import's bulk path, raw SQL) maintains it.
The search joins back to the model's table, where the tenant filter and the exact condition
apply; the FTS table holds no tenant and is never read alone.
"""

from django.db import migrations

# (model table, indexed column) → FTS table "<model table>_fts"
INDEXED = (
    ("customers_account", "name"),
    ("customers_contact", "full_name"),
    ("customers_contactpoint", "value"),
)


def _statements(table: str, column: str) -> list[str]:
    fts = f"{table}_fts"
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({column}, content='{table}', "
        f"content_rowid='id', tokenize='trigram')",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column}); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column}); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF {column} ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column}); "
        f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column}); END",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for table, column in INDEXED:
        for sql in _statements(table, column):
            schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for table, _column in INDEXED:
        fts = f"{table}_fts"
        for suffix in ("ai", "ad", "au"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {fts}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_small_gin_pending_lists")]
    operations = [migrations.RunPython(create, drop)]
