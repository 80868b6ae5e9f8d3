#!/usr/bin/env python
"""List API benchmark: ``/api/v1/contacts`` 80 per page under concurrency, first and deep pages.

    .venv/bin/python bench/list_api.py --contacts 1000000 --db postgres \\
        --database-url postgres://guanxi@127.0.0.1:5432/guanxi_bench_search

The tenant is the one of ``search_api.py`` (built once per database). Pages are requested
through gunicorn with ``concurrency`` keep-alive connections and a personal API token, as the
tenant administrator and as a sales representative (view scope "team"): the first page, and
deep pages whose cursors point 10%, 50% and 90% into the list in name order. Beside it, the
physical reference: the page's SQL (the contacts of the page and the capped count) executed
directly on a raw connection, one at a time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common


def deep_cursors(tenant, user, fractions) -> dict[str, str]:
    """Cursors of pages ``fraction`` into the user's list in name order (the default sort)."""
    from guanxi.access import permissions
    from guanxi.customers.models import Contact
    from guanxi.platform import pagination
    from guanxi.platform.context import tenant_context

    cursors = {}
    with tenant_context(tenant, actor=user):
        visible = permissions.visible(user, Contact.objects.all())
        total = visible.count()
        for fraction in fractions:
            name, pk = visible.order_by("full_name", "pk").values_list("full_name", "pk")[int(total * fraction)]
            cursors[f"page at {int(fraction * 100)}%"] = pagination._encode([name, pk], "next")
    return cursors


def raw_reference(tenant, user, path: str, repeat: int) -> list[float]:
    """Seconds of the page's SQL run directly (same role, so the same row-level security)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    session = client.session
    session["guanxi_tenant_id"] = tenant.pk
    session.save()
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    sqls = [
        q["sql"]
        for q in ctx.captured_queries
        if "customers_contact" in q["sql"] and q["sql"].lstrip().startswith("SELECT")
    ]
    if connection.vendor == "postgresql":
        import psycopg

        raw = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
        raw.execute("SELECT set_config('guanxi.tenant_id', %s, false)", [str(tenant.pk)])
    else:
        raw = connection.connection
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        for sql in sqls:
            raw.execute(sql).fetchall()
        timings.append(time.perf_counter() - started)
    return timings


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_db_arguments(parser)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=400, help="requests per page kind and user")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    args = parser.parse_args(argv)
    url = common.database_url(args)
    common.configure(url)
    print(f"List API benchmark on {common.vendor()} · {common.machine()}", flush=True)
    tenant, admin, rep = common.large_tenant(args.contacts)
    rows = []
    with common.Server(url, workers=args.workers) as server:
        for label, user in {"admin": admin, "rep (team)": rep}.items():
            headers = {"Authorization": f"Bearer {common.api_token(tenant, user)}", "Accept-Language": "en"}
            pages = {"first page": None, **deep_cursors(tenant, user, (0.1, 0.5, 0.9))}
            for page, cursor in pages.items():
                path = "/api/v1/contacts?limit=80" + (f"&cursor={cursor}" if cursor else "")
                common.load(server.port, [path], headers=headers, concurrency=2, requests=4)  # warm up
                result = common.load(
                    server.port, [path], headers=headers, concurrency=args.concurrency, requests=args.requests
                )
                raw = common.summary_ms(raw_reference(tenant, user, path, 10))
                rows.append(
                    [
                        f"{label}: {page}",
                        result["n"],
                        result["rps"],
                        result["p50"],
                        result["p99"],
                        raw["p50"],
                        raw["p99"],
                    ]
                )
                print(f"  {rows[-1]}", flush=True)
    common.print_table(
        f"GET /api/v1/contacts?limit=80 over {args.contacts:,} contacts on {common.vendor()}, "
        f"concurrency {args.concurrency}, gunicorn {args.workers} workers (ms)",
        ["user: page", "requests", "req/s", "p50", "p99", "raw SQL p50", "raw SQL p99"],
        rows,
    )


if __name__ == "__main__":
    main()
