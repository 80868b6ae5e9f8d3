"""The database cache's one-statement ``set`` behaves as Django's (on SQLite and PostgreSQL)."""

import time

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from guanxi.platform import cache as cache_module

SETTINGS = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "db": {
        "BACKEND": "guanxi.platform.cache.DatabaseCache",
        "LOCATION": "guanxi_test_cache",
        "OPTIONS": {"MAX_ENTRIES": 10, "CULL_FREQUENCY": 2},
    },
}


@pytest.fixture
def cache(db):
    with override_settings(CACHES=SETTINGS):
        call_command("createcachetable", "guanxi_test_cache", verbosity=0)
        yield caches["db"]


def test_set_get_overwrite_delete(cache):
    cache.set("k", {"a": [1, 2]}, 60)
    assert cache.get("k") == {"a": [1, 2]}
    cache.set("k", "again", 60)
    assert cache.get("k") == "again"
    assert cache.add("k", "no", 60) is False and cache.get("k") == "again"
    assert cache.touch("k", 120) is True
    cache.delete("k")
    assert cache.get("k") is None
    cache.set("forever", 1, None)
    assert cache.get("forever") == 1


def test_expired_values_are_gone(cache):
    cache.set("short", "x", 1)
    time.sleep(1.2)
    assert cache.get("short") is None
    cache.set("short", "y", 60)  # an expired row is overwritten
    assert cache.get("short") == "y"


def test_set_is_one_statement(cache, monkeypatch):
    monkeypatch.setattr(cache_module, "CULL_CHECK_EVERY", 10**9)
    cache.set("warm", 1, 60)
    with CaptureQueriesContext(connection) as ctx:
        cache.set("one", 1, 60)
        cache.set("one", 2, 60)
    assert len(ctx.captured_queries) == 2
    assert cache.get("one") == 2


def test_the_table_is_culled_when_too_big(cache, monkeypatch):
    monkeypatch.setattr(cache_module, "CULL_CHECK_EVERY", 1)  # check on every set
    for i in range(30):
        cache.set(f"k{i}", i, 60)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM guanxi_test_cache")
        assert cursor.fetchone()[0] <= 11
    assert cache.get("k29") == 29
