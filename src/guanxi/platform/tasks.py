"""Platform background tasks."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django_tasks import task

from .db import statistics

STATISTICS_KEY = "guanxi:planner-statistics-refreshed"
STATISTICS_EVERY = 20 * 3600  # seconds: once a day, whichever minute the scheduler runs it


@task()
def refresh_planner_statistics() -> bool:
    """Refresh SQLite's planner statistics once a day (``statistics.refresh_embedded``).

    The scheduler enqueues it every minute; only the first run in 20 hours works. PostgreSQL's
    autovacuum keeps its statistics itself, so there it does nothing. True when it ran.
    """
    if connection.vendor != "sqlite":
        return False
    if not cache.add(STATISTICS_KEY, True, timeout=STATISTICS_EVERY):
        return False
    return statistics.refresh_embedded()
