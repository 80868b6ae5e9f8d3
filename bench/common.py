"""Shared helpers of the benchmark scripts: database choice, Django set-up, data files, tables.

Every script takes ``--db postgres|sqlite`` (and ``--database-url`` to override the default
database of that kind). Defaults: PostgreSQL ``postgres://guanxi@127.0.0.1:5432/guanxi_bench_run``
for the search and list benchmarks and ``…/guanxi_bench_import`` for the import benchmark (each
import adds a tenant; kept apart so they do not grow the search benchmark's indexes), overridden
by ``BENCH_POSTGRES_URL``; SQLite ``var/bench/bench.sqlite3``. The database is migrated when it
is behind. Generated files are cached under ``var/bench/``.
"""

from __future__ import annotations

import csv
import os
import random
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
DEFAULT_URLS = {
    "postgres": os.environ.get("BENCH_POSTGRES_URL", "postgres://guanxi@127.0.0.1:5432/guanxi_bench_run"),
    "sqlite": f"sqlite:///{VAR / 'bench.sqlite3'}",
}


def add_db_arguments(parser) -> None:
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--database-url", default="", help="overrides the default database of --db")


def database_url(args, *, name: str = "guanxi_bench_run") -> str:
    if args.database_url:
        return args.database_url
    if args.db == "postgres" and "BENCH_POSTGRES_URL" not in os.environ:
        return f"postgres://guanxi@127.0.0.1:5432/{name}"
    return DEFAULT_URLS[args.db]


def configure(url: str, *, migrate: bool = True) -> None:
    """Point Django at ``url`` (production settings, DEBUG off) and migrate it if needed."""
    VAR.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT / "src"))
    if url.startswith(("postgres://", "postgresql://")):
        ensure_postgres_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-not-for-production")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.config.settings")
    os.environ["DEBUG"] = "0"  # DEBUG keeps every query in memory
    os.environ.setdefault("TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")
    os.environ.setdefault("GUANXI_VAR_DIR", str(ROOT / "var"))
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            print(f"Migrating {url} …", flush=True)
            call_command("migrate", verbosity=0)


def ensure_postgres_database(url: str) -> None:
    """Create the benchmark's PostgreSQL database (owned by the URL's role) when it is missing."""
    import psycopg
    from psycopg import sql

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            print(f"Creating database {name} …", flush=True)
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    # The superuser set-up a production database gets (README, "PostgreSQL"): leak-proof search
    # operators. Skipped, with a note, when no superuser connection works.
    superuser_url = os.environ.get("BENCH_SUPERUSER_URL", "postgres://postgres@127.0.0.1:5432/")
    target = urllib.parse.urlunsplit(urllib.parse.urlsplit(superuser_url)._replace(path="/" + name))
    sql_file = ROOT / "src/guanxi/platform/db/postgresql/superuser.sql"
    try:
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute(sql_file.read_text())
    except psycopg.Error as e:
        print(f"Note: superuser set-up not applied ({e.__class__.__name__}); searches run without it.", flush=True)


def vendor() -> str:
    from django.db import connection

    return connection.vendor


# --- a tenant to work in ------------------------------------------------------------------------


def new_tenant(prefix: str):
    """A fresh tenant (with its administrator) for one benchmark run."""
    from guanxi.platform.context import all_tenants_scope
    from guanxi.tenancy.services import tenant_create

    slug = f"{prefix}-{int(time.time() * 1000) % 10**10}"
    with all_tenants_scope():
        tenant = tenant_create(
            actor=None,
            name=f"Benchmark {slug}",
            slug=slug,
            admin_email=f"admin@{slug}.example",
            admin_name="Bench Admin",
            admin_password="benchmark-password-2026",
        )
    return tenant


def tenant_admin(tenant):
    from guanxi.org.models import Member
    from guanxi.platform.context import tenant_context

    with tenant_context(tenant):
        return Member.objects.select_related("user").filter(is_admin=True).order_by("pk").first().user


# --- the contacts file -------------------------------------------------------------------------

HEADER = [
    "Name", "Company", "Email", "Mobile", "Work phone", "Job title", "Department",
    "Country", "Province", "City", "Street", "Postal code", "Birthday",
]  # fmt: skip


def _national(e164: str) -> str:
    """How people type numbers in a spreadsheet: Chinese ones national, others international."""
    if e164.startswith("+861"):
        n = e164[3:]
        return f"{n[:3]} {n[3:7]} {n[7:]}" if len(n) == 11 else n
    if e164.startswith("+86"):
        rest = e164[3:]
        area = 2 if rest[0] in "12" else 3
        return f"0{rest[:area]}-{rest[area:]}"
    return f"{e164[:3]} {e164[3:]}"


def contacts_csv(rows: int, *, seed: int = 2026) -> Path:
    """A CSV of ``rows`` contacts with their companies (generated once, cached under var/bench/).

    Realistic bilingual data from the demo generators: 75% Chinese people, 90% with a
    company (about 50,000 distinct names), a work e-mail at the company's domain, a mobile
    (85%) typed as people do ("138 0013 8000"), an office line (40%), job, address and a
    birthday (30%). E-mail addresses, mobiles and name+company pairs are unique, so every
    row creates a contact (the de-duplication rules find nothing to skip).
    """
    VAR.mkdir(parents=True, exist_ok=True)
    path = VAR / f"contacts-{rows}-s{seed}.csv"
    if path.exists():
        return path
    sys.path.insert(0, str(ROOT / "src"))
    from guanxi.demo.generators import DataGenerator

    gen = DataGenerator(seed)
    r: random.Random = gen.r
    pool = []
    names = set()
    for _ in range(max(10, min(60_000, rows // 5))):
        company = gen.chinese_company() if r.random() < 0.8 else gen.western_company()
        if company.name not in names:
            names.add(company.name)
            pool.append(company)
    emails, phones, people = set(), set(), set()
    tmp = path.with_suffix(".tmp")
    started = time.monotonic()
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\r\n")
        out.writerow(HEADER)
        for i in range(rows):
            company = r.choice(pool) if r.random() < 0.9 else None
            chinese = company.chinese if company is not None else r.random() < 0.75
            if r.random() < 0.1:
                chinese = not chinese
            person = gen.person(chinese)
            if company is not None:  # same name at the same company: a duplicate by the name+company rule
                while (person.full_name, company.name) in people:
                    person = gen.person(chinese)
                people.add((person.full_name, company.name))
            city = company.city if company is not None else (gen.chinese_city() if chinese else gen.western_city())
            email = gen.work_email(person, company.domain) if company is not None else gen.personal_email(person)
            while email in emails:
                local, _at, domain = email.partition("@")
                email = f"{local}{r.randint(2, 999)}@{domain}"
            emails.add(email)
            mobile = ""
            if r.random() < 0.85:
                mobile = gen.mobile(city)
                while mobile in phones:
                    mobile = gen.mobile(city)
                phones.add(mobile)
            work = gen.landline(city) if company is not None and r.random() < 0.4 else ""
            if work in phones:
                work = ""
            if work:
                phones.add(work)
            title, department = gen.job(chinese)
            address = gen.address(city)
            birthday = ""
            if r.random() < 0.3:
                birthday = f"{r.randint(1960, 2000)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
            out.writerow(
                [
                    person.full_name,
                    company.name if company else "",
                    email,
                    _national(mobile) if mobile else "",
                    _national(work) if work else "",
                    title,
                    department,
                    address["country"],
                    address["province"],
                    address["city"],
                    address["street"],
                    address["postal_code"],
                    birthday,
                ]
            )
            if rows >= 100_000 and (i + 1) % 100_000 == 0:
                print(f"  generated {i + 1:,} rows ({time.monotonic() - started:.0f} s)", flush=True)
    tmp.replace(path)
    return path


# --- measuring and printing ------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary_ms(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "mean": statistics.fmean(ms) if ms else float("nan"),
    }


def print_table(title: str, header: list[str], rows: list[list]) -> None:
    cells = [[str(c) for c in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    print()
    print(title)
    print(line)
    for n, row in enumerate(cells):
        print(
            "| "
            + " | ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=False))
            )
            + " |"
        )
        if n == 0:
            print(line)
    print(line, flush=True)


def _fmt(value) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def machine() -> str:
    import platform

    load = os.getloadavg()
    return (
        f"{platform.node()} · {os.cpu_count()} CPUs · Python {platform.python_version()} · "
        f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


# --- the large tenant of the search and list benchmarks ---------------------------------------


def large_tenant(contacts: int, *, seed: int = 7):
    """The synthetic tenant with ``contacts`` contacts (and contacts/5 accounts), built once per database.

    Built by ``manage.py make_synthetic_tenant`` (the demo generators; same seed, same data). The
    four representatives of the north region are put in one team, so a representative's
    ``team`` view scope covers four colleagues' records.
    """
    from django.core.management import call_command

    from guanxi.org.models import Member, Team
    from guanxi.org.services import team_save
    from guanxi.platform.context import all_tenants_scope, tenant_context
    from guanxi.tenancy.models import Tenant

    slug = "bench1m" if contacts == 1_000_000 else f"bench{contacts}"
    with all_tenants_scope():
        tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        print(f"Building the synthetic tenant {slug} ({contacts:,} contacts) …", flush=True)
        call_command(
            "make_synthetic_tenant",
            accounts=max(1, contacts // 5),
            contacts=contacts,
            activities=0,
            seed=seed,
            slug=slug,
        )
        with all_tenants_scope():
            tenant = Tenant.objects.get(slug=slug)
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for table in ("customers_contact", "customers_account", "customers_contactpoint"):
                    cursor.execute(f"ANALYZE {table}")
    with tenant_context(tenant):
        admin = Member.objects.select_related("user").filter(is_admin=True).order_by("pk").first().user
        north = list(Member.objects.select_related("user").filter(user__email__startswith="north.rep").order_by("pk"))
        if not Team.objects.filter(name="Bench north team").exists():
            team_save(actor=None, team=Team(name="Bench north team"), member_ids=[m.pk for m in north])
    return tenant, admin, north[0].user


def session_cookie(tenant, user) -> str:
    """A signed-in session of ``user`` in ``tenant`` (what the login page would create)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "guanxi.identity.backends.EmailBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session["guanxi_tenant_id"] = tenant.pk
    session.create()
    return session.session_key


def api_token(tenant, user) -> str:
    from guanxi.identity.services import api_token_create
    from guanxi.platform.context import tenant_context

    with tenant_context(tenant, actor=user):
        _token, secret = api_token_create(user=user, name=f"bench {time.time():.0f}", scope="read")
    return secret


# --- an HTTP server and a load generator -------------------------------------------------------


class Server:
    """``gunicorn`` serving Guanxi on a free local port with the benchmark's database (production settings)."""

    def __init__(self, url: str, *, workers: int = 3):
        self.url, self.workers = url, workers

    def __enter__(self):
        import socket
        import subprocess

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {
            **os.environ,
            "DATABASE_URL": self.url,
            "DEBUG": "0",
            "API_RATE_LIMIT": "1000000/m",
            "PYTHONPATH": str(ROOT / "src"),
            "DJANGO_SETTINGS_MODULE": "guanxi.config.settings",
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "guanxi.config.wsgi:application",
                "--workers",
                str(self.workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                "--chdir",
                str(ROOT),
            ],
            env=env,
        )
        import http.client

        for _ in range(200):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/api/v1/openapi.json")
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def load(port: int, paths: list[str], *, headers: dict, concurrency: int, requests: int) -> dict:
    """GET ``paths`` (round robin) with ``concurrency`` keep-alive connections; latencies and throughput."""
    import http.client
    import threading

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            path = paths[n % len(paths)]
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors.append(f"{response.status} {path}")
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{exc} {path}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[:3]}")
    return {**summary_ms(latencies), "rps": len(latencies) / wall if wall else float("nan")}
