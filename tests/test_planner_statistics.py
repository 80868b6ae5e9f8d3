"""Planner statistics: SQLite gets them after migrate, bulk writes and once a day; the search uses them."""

import pytest
from django.core.cache import cache
from django.db import connection

from guanxi.customers.models import Contact
from guanxi.platform.context import tenant_context
from guanxi.platform.db import statistics
from guanxi.platform.tasks import STATISTICS_KEY, refresh_planner_statistics

pytestmark = pytest.mark.django_db


def stat_tables() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tbl FROM sqlite_stat1")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps no statistics by itself")
def test_the_daily_task_analyzes_sqlite_once_a_day(tenant):
    from guanxi.customers.services import contact_create

    with tenant_context(tenant, actor=tenant.admin):
        contact_create(actor=tenant.admin, data={"family_name": "Stat", "given_name": "Ann"})
    cache.delete(STATISTICS_KEY)
    assert refresh_planner_statistics.call() is True
    assert "customers_contact" in stat_tables()
    assert refresh_planner_statistics.call() is False  # the next minute's run does nothing
    cache.delete(STATISTICS_KEY)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps no statistics by itself")
def test_a_search_fetches_trigram_matches_by_id_once_analyzed(tenant):
    """Without statistics SQLite read every contact of the tenant for an id list of a few."""
    from guanxi.customers.selectors import name_contains

    with tenant_context(tenant, actor=tenant.admin):
        contacts = [
            Contact(family_name=f"Name{i:04d}", full_name=f"Name{i:04d}", owner=tenant.admin) for i in range(300)
        ]
        Contact.objects.bulk_create(contacts)
        statistics.refresh(Contact, "customers.ContactPoint")
        query = Contact.objects.filter(name_contains(Contact, "full_name", "0123"))
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " / ".join(row[-1] for row in cursor.fetchall())
        assert [c.full_name for c in query] == ["Name0123"]
    assert "USING INTEGER PRIMARY KEY" in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's autovacuum")
def test_postgresql_is_left_to_autovacuum():
    assert refresh_planner_statistics.call() is False
    assert statistics.refresh(Contact) is False  # inside the test's transaction it would hold locks
