"""Query planner statistics: ``ANALYZE`` where the database does not keep them by itself.

PostgreSQL's autovacuum analyzes tables as they change; only a bulk load needs an explicit
``ANALYZE`` early (the import does it after its first chunks). SQLite gathers no statistics
until asked, and without them it takes an index on ``tenant_id = ?`` for a selective one:
asked for the contacts whose id is in a short list from the search's trigram index, it read
every contact of the tenant instead of fetching the few by id (10–20 ms per query at 100,000
contacts; with statistics, under 1 ms). So on SQLite the statistics are refreshed after
``migrate``, after bulk writes (demo data, imports, synthetic tenants) and once a day by the
scheduler (``refresh_planner_statistics``).
"""

from __future__ import annotations

from django.apps import apps
from django.db import connections


def refresh(*models, using: str = "default") -> bool:
    """``ANALYZE`` the tables of ``models`` (models or "app.Model" labels; every table when none).

    False when nothing ran: PostgreSQL inside a transaction (``ANALYZE`` would hold its locks
    until the commit), or another database.
    """
    connection = connections[using]
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        return False
    if connection.vendor not in ("postgresql", "sqlite"):
        return False
    tables: list[str] = []
    for model in models:
        if isinstance(model, str):
            model = apps.get_model(model)
        if model._meta.db_table not in tables:
            tables.append(model._meta.db_table)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if not tables:
            cursor.execute("ANALYZE")
        elif connection.vendor == "postgresql":
            cursor.execute("ANALYZE " + ", ".join(quote(t) for t in tables))
        else:
            for table in tables:  # SQLite analyzes one table (or everything) per statement
                cursor.execute(f"ANALYZE {quote(table)}")
    return True


def refresh_embedded(using: str = "default") -> bool:
    """``ANALYZE`` every table on SQLite (PostgreSQL's autovacuum keeps its own statistics)."""
    if connections[using].vendor != "sqlite":
        return False
    return refresh(using=using)
