#!/usr/bin/env python
"""Global search benchmark: name / email / phone fragments over a large tenant, through HTTP.

    .venv/bin/python bench/search_api.py --contacts 1000000 --db postgres \\
        --database-url postgres://guanxi@127.0.0.1:5432/guanxi_bench_search

The tenant is built once per database (``make_synthetic_tenant``, seeded). Fragments are taken
from random contacts (seeded): a Chinese full name (2–3 characters) or a Western family name;
the local part of an e-mail address; the last 8 digits of a phone number. Each one is searched
through the API, ``GET /api/v1/search?q=…`` (a personal token), and through the UI's typeahead,
``GET /search/?q=…&typeahead=1`` (a session), on gunicorn, one request at a time, as the tenant
administrator and as a sales representative (view scope "team"). Beside it, the physical
reference: the SQL statements ``global_search`` runs for that fragment, executed directly on
a raw connection (same role, so the same row-level security), and — when a superuser URL
works (``--superuser-url``) — the same statements with row-level security bypassed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common


def fragments(tenant, n: int, seed: int) -> dict[str, list[str]]:
    from guanxi.customers.models import CJK, Contact
    from guanxi.platform.context import tenant_context

    r = random.Random(seed)
    out = {"name": [], "email": [], "phone": []}
    with tenant_context(tenant):
        bounds = Contact.objects.order_by("pk").values_list("pk", flat=True)
        low, high = bounds.first(), bounds.last()
        while min(len(v) for v in out.values()) < n:
            c = Contact.objects.filter(pk__gte=r.randint(low, high)).order_by("pk").first()
            if c is None:
                continue
            if len(out["name"]) < n:
                out["name"].append(c.full_name if CJK.search(c.full_name) else c.family_name)
            if c.email and len(out["email"]) < n:
                out["email"].append(c.email.split("@")[0])
            if c.phone and len(out["phone"]) < n:
                out["phone"].append(c.phone[-8:])
    return out


def raw_reference(tenant, user, queries: list[str], superuser_url: str) -> tuple[list[float], list[float]]:
    """Seconds per query of ``global_search``'s SQL on a raw connection (and without RLS)."""
    import psycopg
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from guanxi.platform.context import tenant_context
    from guanxi.search.selectors import global_search

    statements = []
    with tenant_context(tenant, actor=user):
        for q in queries:
            with CaptureQueriesContext(connection) as ctx:
                global_search(user, q, limit=6)
            statements.append(
                [x["sql"] for x in ctx.captured_queries if x["sql"].lstrip(" (").upper().startswith(("SELECT", "WITH"))]
            )
    timings = []
    if connection.vendor == "postgresql":
        raw = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
        raw.execute("SELECT set_config('guanxi.tenant_id', %s, false)", [str(tenant.pk)])
        run = raw.execute
    else:
        raw = connection.connection
        run = raw.execute
    for sqls in statements:
        started = time.perf_counter()
        for sql in sqls:
            run(sql).fetchall()
        timings.append(time.perf_counter() - started)
    bypass = []
    if connection.vendor == "postgresql" and superuser_url:
        try:
            su = psycopg.connect(superuser_url, autocommit=True)
        except psycopg.Error:
            su = None
        if su is not None:
            for sqls in statements:
                started = time.perf_counter()
                for sql in sqls:
                    su.execute(sql).fetchall()
                bypass.append(time.perf_counter() - started)
    return timings, bypass


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_db_arguments(parser)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=10, help="fragments per kind (name, email, phone)")
    parser.add_argument("--repeat", type=int, default=2, help="requests per fragment and user")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--via", choices=("api", "ui", "both"), default="both", help="GET /api/v1/search, the UI typeahead, or both"
    )
    parser.add_argument("--superuser-url", default="", help="PostgreSQL URL of a role bypassing RLS (reference)")
    args = parser.parse_args(argv)
    url = common.database_url(args)
    common.configure(url)
    print(f"Search benchmark on {common.vendor()} · {common.machine()}", flush=True)
    tenant, admin, rep = common.large_tenant(args.contacts)
    kinds = fragments(tenant, args.queries, args.seed)
    users = {"admin": admin, "rep (team)": rep}
    rows = []
    via = ("api", "ui") if args.via == "both" else (args.via,)
    with common.Server(url) as server:
        for label, user in users.items():
            cookie = common.session_cookie(tenant, user)
            token = common.api_token(tenant, user)
            for kind, queries in kinds.items():
                raw, bypass = raw_reference(tenant, user, queries, args.superuser_url)
                raw_ms, bypass_ms = common.summary_ms(raw), common.summary_ms(bypass)
                for channel in via:
                    if channel == "api":
                        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
                        paths = [f"/api/v1/search?limit=6&q={urllib.parse.quote(q)}" for q in queries]
                    else:
                        headers = {"Cookie": f"sessionid={cookie}", "Accept-Language": "en"}
                        paths = [f"/search/?typeahead=1&q={urllib.parse.quote(q)}" for q in queries]
                    common.load(server.port, paths[:2], headers=headers, concurrency=1, requests=2)  # warm up
                    http = common.load(
                        server.port, paths, headers=headers, concurrency=1, requests=len(paths) * args.repeat
                    )
                    rows.append(
                        [
                            f"{label}: {kind} ({'API' if channel == 'api' else 'UI typeahead'})",
                            http["n"],
                            http["p50"],
                            http["p95"],
                            raw_ms["p50"],
                            raw_ms["p95"],
                            bypass_ms["p50"],
                            bypass_ms["p95"],
                        ]
                    )
                    print(f"  {rows[-1]}", flush=True)
    common.print_table(
        f"Global search over {args.contacts:,} contacts on {common.vendor()} (ms; e.g. {kinds['name'][0]!r}, "
        f"{kinds['email'][0]!r}, {kinds['phone'][0]!r})",
        [
            "user: fragment",
            "requests",
            "HTTP p50",
            "HTTP p95",
            "raw SQL p50",
            "raw SQL p95",
            "raw, no RLS p50",
            "raw, no RLS p95",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
