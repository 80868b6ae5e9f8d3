"""The benchmark scripts (``bench/``) keep working: each runs end to end with tiny sizes.

They run as real subprocesses (a gunicorn server for the HTTP ones) on a copy of the test
database made once per session (SQLite: ``VACUUM INTO`` a file; PostgreSQL: a database created
from the test database as template), so they need no migration of their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="session")
def bench_database(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "sqlite":
            path = tmp_path_factory.mktemp("bench") / "bench.sqlite3"
            connection.ensure_connection()
            connection.connection.execute("VACUUM INTO ?", [str(path)])
            yield f"sqlite:///{path}"
            return
        settings = connection.settings_dict
        name = f"{settings['NAME']}_bench"
        connection.close()
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{settings["NAME"]}"')
        host = settings.get("HOST") or "127.0.0.1"
        port = settings.get("PORT") or 5432
        yield f"postgres://{settings['USER']}@{host}:{port}/{name}"
        connection.close()
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def run(script: str, database_url: str, *args: str) -> str:
    from django.db import connection

    db = "postgres" if connection.vendor == "postgresql" else "sqlite"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--db", db, "--database-url", database_url, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_import_benchmark(bench_database):
    out = run("import_contacts.py", bench_database, "--rows", "200")
    assert "Contacts import on" in out
    assert "| 200 rows |     200 |" in out.replace("  ", " ") or "200 rows" in out
    assert "import rows/s" in out and "peak RSS MiB" in out


def test_search_benchmark(bench_database):
    out = run("search_api.py", bench_database, "--contacts", "300", "--queries", "2", "--repeat", "1")
    assert "Global search over 300 contacts" in out
    for label in ("admin: name", "admin: email", "admin: phone", "rep (team): phone"):
        assert label in out


def test_list_benchmark(bench_database):
    out = run(
        "list_api.py", bench_database, "--contacts", "300", "--requests", "8", "--concurrency", "2", "--workers", "1"
    )
    assert "GET /api/v1/contacts?limit=80 over 300 contacts" in out
    for label in ("admin: first page", "admin: page at 90%", "rep (team): page at 50%"):
        assert label in out


def test_keyset_condition_is_one_row_comparison(in_tenant):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from guanxi.customers.models import Account
    from guanxi.platform.pagination import paginate

    for i in range(5):
        Account.objects.create(name=f"a{i}", owner=in_tenant.admin)
    first = paginate(Account.objects.all(), sort="name", limit=2, count=False)
    with CaptureQueriesContext(connection) as ctx:
        second = paginate(Account.objects.all(), sort="name", cursor=first.next_cursor, limit=2, count=False)
    assert [a.name for a in second.items] == ["a2", "a3"]
    sql = ctx.captured_queries[-1]["sql"]
    assert ") > (" in sql and " OR " not in sql, sql
