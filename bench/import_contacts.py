#!/usr/bin/env python
"""Import benchmark: contacts with their companies from CSV through Guanxi's import path.

    .venv/bin/python bench/import_contacts.py --rows 100000 --rows 1000000 --db postgres
    .venv/bin/python bench/import_contacts.py --rows 100000 --db sqlite

For each size: the CSV is generated once with the demo generators (seeded; cached under
``var/bench/``); a worker process creates a fresh tenant, uploads the file with
``imports.services.job_create``, confirms the guessed mapping (``job_map``, default options:
skip duplicates by email, phone, name+company) and starts it (``job_start`` → the
``imports.tasks.run_import`` task, run in-process by the immediate task backend). The import
rate is the job's own (``run_started_at`` → ``finished_at``; it includes counting the rows and
writing the error file). Peak RSS is the worker's own (Linux ``VmHWM``), after Django is set up and during the import.

The physical reference, in the same run on the same file: PostgreSQL ``COPY … FROM STDIN``
of the file into an equivalent table (one text column per CSV column, no index), or on
SQLite ``executemany`` of the parsed rows into such a table in one transaction. On
PostgreSQL also the same ``COPY`` into that table carrying the indexes a contact table needs
for these columns (b-tree on name, company, e-mail, mobile; trigram on name, e-mail, mobile).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

IMPORT_DATABASE = "guanxi_bench_import"


def worker(args) -> None:
    """Run one import through the real service and task code; print its figures as JSON."""
    common.configure(common.database_url(args, name=IMPORT_DATABASE))
    from django.core.files import File

    from guanxi.imports import services
    from guanxi.imports.models import ImportJob
    from guanxi.platform.context import RequestMeta, tenant_context

    tenant = common.new_tenant("imp")
    admin = common.tenant_admin(tenant)
    path = Path(args.file)
    rss_before = peak_rss_kb()
    with tenant_context(tenant, actor=admin, meta=RequestMeta(via="web")), open(path, "rb") as f:
        job = services.job_create(actor=admin, entity="customers.contact", upload=File(f, name=path.name))
    with tenant_context(tenant, actor=admin, meta=RequestMeta(via="web")):
        job = services.job_map(actor=admin, job=job, mapping=job.mapping, options={"policy": args.policy})
        wall = time.perf_counter()
        job = services.job_start(actor=admin, job=job)
        wall = time.perf_counter() - wall
        job.refresh_from_db()
        seconds = (job.finished_at - job.run_started_at).total_seconds() if job.finished_at else wall
        result = {
            "status": job.status,
            "error": job.error,
            "processed": job.processed,
            "created": job.created,
            "skipped": job.skipped,
            "failed": job.failed,
            "seconds": seconds,
            "wall": wall,
            "rss_before_kb": rss_before,
            "peak_rss_kb": peak_rss_kb(),
            "mapping": len(job.mapping),
            "tenant": tenant.slug,
            "job": job.pk,
        }
        if args.undo:
            started = time.perf_counter()
            services.job_undo(actor=admin, job=job)
            result["undo_seconds"] = time.perf_counter() - started
            job.refresh_from_db()
            result["undo_status"] = job.status
        assert job.status in (ImportJob.Status.DONE, ImportJob.Status.UNDONE), result
    print("RESULT " + json.dumps(result), flush=True)


def peak_rss_kb() -> int:
    """This process's peak resident memory (KiB) since it started its program.

    Linux ``VmHWM`` belongs to the process's own address space, so it does not include the
    memory of the parent it was forked from (``ru_maxrss`` does: it carries over ``exec``).
    """
    import resource

    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_worker(args, path: Path) -> tuple[dict, int]:
    """Run the worker in a child process; returns its result and peak RSS in KiB."""
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        "--file",
        str(path),
        "--db",
        args.db,
        "--database-url",
        common.database_url(args, name=IMPORT_DATABASE),
        "--policy",
        args.policy,
    ]
    if args.undo:
        cmd.append("--undo")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    proc.stdout.close()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"worker failed ({proc.returncode}):\n{out}")
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result = json.loads(line[7:])
    return result, result.get("peak_rss_kb") or usage.ru_maxrss


# The indexes a contact table needs for what the file holds: name, e-mail and phone looked up
# exactly (b-tree) and by fragment (trigram), and the company name.
INDEXED_REFERENCE = [
    "CREATE INDEX ON bench_copy_reference (c0)",
    "CREATE INDEX ON bench_copy_reference (c1)",
    "CREATE INDEX ON bench_copy_reference (c2)",
    "CREATE INDEX ON bench_copy_reference (c3)",
    "CREATE INDEX ON bench_copy_reference USING gin (c0 gin_trgm_ops)",
    "CREATE INDEX ON bench_copy_reference USING gin (c2 gin_trgm_ops)",
    "CREATE INDEX ON bench_copy_reference USING gin (c3 gin_trgm_ops)",
]


def copy_reference(path: Path, *, indexed: bool = False) -> float:
    """Seconds to load the file into an equivalent table with the database's own bulk path.

    ``indexed``: the table has a contact table's indexes on the file's columns (PostgreSQL).
    """
    from django.db import connection

    columns = ", ".join(f"c{i} text" for i in range(len(common.HEADER)))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_copy_reference")
            cursor.execute(f"CREATE TABLE bench_copy_reference ({columns})")
            for sql in INDEXED_REFERENCE if indexed else ():
                cursor.execute(sql)
        connection.commit() if not connection.get_autocommit() else None
        raw = connection.connection
        started = time.perf_counter()
        sql = "COPY bench_copy_reference FROM STDIN WITH (FORMAT csv, HEADER true)"
        with raw.cursor() as cur, cur.copy(sql) as copy, open(path, "rb") as f:
            while block := f.read(1 << 20):
                copy.write(block)
        raw.commit() if not raw.autocommit else None
        seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM bench_copy_reference")
            loaded = cursor.fetchone()[0]
            cursor.execute("DROP TABLE bench_copy_reference")
    else:
        import csv

        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_copy_reference")
            cursor.execute(f"CREATE TABLE bench_copy_reference ({columns})")
        raw = connection.connection
        marks = ", ".join("?" * len(common.HEADER))
        started = time.perf_counter()
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            next(reader)
            raw.execute("BEGIN")
            raw.executemany(f"INSERT INTO bench_copy_reference VALUES ({marks})", reader)  # noqa: S608
            raw.execute("COMMIT")
        seconds = time.perf_counter() - started
        loaded = raw.execute("SELECT count(*) FROM bench_copy_reference").fetchone()[0]
        raw.execute("DROP TABLE bench_copy_reference")
    return seconds, loaded


FLOOR_SQL = [
    # What an import of `n` new contacts with companies writes, generated by the database itself:
    # 1 account per 20 contacts (+ its lifecycle change and audit entry), the contacts, 2 contact
    # points each, the account link, an audit entry and an ImportRow each.
    """CREATE TEMP TABLE floor_ids ON COMMIT DROP AS
       SELECT g, nextval(pg_get_serial_sequence('customers_contact', 'id')) AS id,
              CASE WHEN g %% 20 = 0 THEN nextval(pg_get_serial_sequence('customers_account', 'id')) END AS account
       FROM generate_series(%(start)s, %(stop)s) g""",
    """INSERT INTO customers_account (id, tenant_id, created_at, updated_at, owner_id, created_by_id, country, province,
       city, district, street, postal_code, name, kind, industry, size, annual_revenue, currency, website, phone, email,
       source, lifecycle_stage, lifecycle_changed_at, rating, description, custom)
       SELECT account, %(tenant)s, now(), now(), %(user)s, %(user)s, '', '', '', '', '', '', 'Floor company ' || g,
       'organization', '', '', NULL, 'CNY', '', '', '', '', 'prospect', now(), '', '', '{}' FROM floor_ids
       WHERE account IS NOT NULL""",
    """INSERT INTO customers_lifecyclechange (tenant_id, account_id, from_stage, to_stage, changed_at, changed_by_id)
       SELECT %(tenant)s, account, '', 'prospect', now(), %(user)s FROM floor_ids WHERE account IS NOT NULL""",
    """INSERT INTO customers_contact (id, tenant_id, created_at, updated_at, owner_id, created_by_id, country, province,
       city, district, street, postal_code, family_name, given_name, full_name, salutation, title, department, account_id,
       email, phone, birthday, preferred_channel, consent_email, consent_sms, consent_phone, consent_mail,
       consent_updated_at, description, custom)
       SELECT f.id, %(tenant)s, now(), now(), %(user)s, %(user)s, '中国', '广东省', '深圳市', '南山区', '科技园路' || f.g || '号',
       '518000', '王', '伟' || f.g, '王伟' || f.g, '', '工程师', '研发部',
       a.account, 'floor' || f.g || '@example.com', '+8613' || lpad(f.g::text, 9, '0'), NULL, '', false, false, false,
       false, NULL, '', '{}' FROM floor_ids f JOIN floor_ids a ON a.g = f.g - f.g %% 20""",
    """INSERT INTO customers_contactpoint (tenant_id, contact_id, kind, value, label, is_primary)
       SELECT %(tenant)s, id, 'email', 'floor' || g || '@example.com', 'work', true FROM floor_ids
       UNION ALL SELECT %(tenant)s, id, 'phone', '+8613' || lpad(g::text, 9, '0'), 'mobile', true FROM floor_ids""",
    """INSERT INTO customers_accountcontact (tenant_id, account_id, contact_id, role, note)
       SELECT %(tenant)s, account_id, id, '', '' FROM customers_contact
       WHERE id IN (SELECT id FROM floor_ids) AND account_id IS NOT NULL""",
    """INSERT INTO audit_auditentry (tenant_id, at, actor_id, actor_label, action, content_type_id, object_id,
       object_repr, changes, ip, user_agent, request_id, via, note)
       SELECT %(tenant)s, now(), %(user)s, 'Bench Admin', 'import', %(contact_ct)s, id, '王伟' || g,
       jsonb_build_object('full_name', jsonb_build_array(NULL, '王伟' || g), 'email',
       jsonb_build_array(NULL, 'floor' || g || '@example.com')), NULL, '', 'floor', 'task', 'Import #0' FROM floor_ids""",
    """INSERT INTO imports_importrow (tenant_id, job_id, row_number, action, content_type_id, object_id, related,
       changes, "values", error)
       SELECT %(tenant)s, %(job)s, g + 1, 'created', %(contact_ct)s, id, false, NULL, NULL, '' FROM floor_ids""",
]


def database_floor(rows: int) -> float:
    """Seconds for PostgreSQL alone to write what an import of ``rows`` contacts writes (same chunks)."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction

    from guanxi.customers.models import Contact
    from guanxi.imports import engine
    from guanxi.imports.models import ImportJob
    from guanxi.platform.context import tenant_context

    tenant = common.new_tenant("floor")
    admin = common.tenant_admin(tenant)
    with tenant_context(tenant, actor=admin):
        job = ImportJob.objects.create(entity="customers.contact", file="floor.csv", original_name="floor.csv")
        params = {
            "tenant": tenant.pk,
            "user": admin.pk,
            "job": job.pk,
            "contact_ct": ContentType.objects.get_for_model(Contact).pk,
        }
        started = time.perf_counter()
        for start in range(0, rows, engine.CHUNK_SIZE):
            with transaction.atomic(), connection.cursor() as cursor:
                stop = min(rows, start + engine.CHUNK_SIZE) - 1
                for sql in FLOOR_SQL:
                    cursor.execute(sql, {**params, "start": start, "stop": stop})
        return time.perf_counter() - started


def generate(rows: int, seed: int) -> Path:
    """The cached CSV, generated in a child process (its memory is not this process's)."""
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import common; print(common.contacts_csv({rows}, seed={seed}))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return Path(out.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_db_arguments(parser)
    parser.add_argument("--rows", type=int, action="append", help="file size(s), default 100000")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--policy", default="skip", choices=("skip", "update", "create"))
    parser.add_argument("--repeat", type=int, default=1, help="imports per size (each into a fresh tenant)")
    parser.add_argument("--undo", action="store_true", help="also time undoing the import")
    parser.add_argument("--no-floor", action="store_true", help="skip the database-only floor (PostgreSQL)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return
    sizes = args.rows or [100_000]
    common.configure(common.database_url(args, name=IMPORT_DATABASE))
    print(f"Import benchmark on {common.vendor()} · {common.machine()}", flush=True)
    table = []
    for rows in sizes:
        path = generate(rows, args.seed)
        for attempt in range(args.repeat):
            print(f"Importing {rows:,} rows from {path.name} (run {attempt + 1}/{args.repeat}) …", flush=True)
            result, peak_kb = run_worker(args, path)
            seconds, loaded = copy_reference(path)
            assert loaded == rows, (loaded, rows)
            indexed_rate = float("nan")
            if common.vendor() == "postgresql":
                indexed_seconds, loaded = copy_reference(path, indexed=True)
                indexed_rate = rows / indexed_seconds
            floor = database_floor(rows) if common.vendor() == "postgresql" and not args.no_floor else float("nan")
            rate = result["processed"] / result["seconds"] if result["seconds"] else float("nan")
            ref_rate = rows / seconds
            table.append(
                [
                    f"{rows:,} rows",
                    result["created"],
                    result["skipped"] + result["failed"],
                    result["seconds"],
                    rate,
                    ref_rate,
                    f"{ref_rate / rate:.1f}×" if rate else "–",
                    indexed_rate,
                    f"{indexed_rate / rate:.1f}×" if rate and indexed_rate == indexed_rate else "–",
                    rows / floor,
                    peak_kb / 1024,
                    (peak_kb - result["rss_before_kb"]) / 1024,
                ]
                + ([result.get("undo_seconds", float("nan"))] if args.undo else [])
            )
            print(f"  {json.dumps(result)}", flush=True)
    header = [
        "file",
        "created",
        "skipped/failed",
        "import s",
        "import rows/s",
        "raw bulk load rows/s",
        "raw / import",
        "raw, indexed rows/s",
        "indexed / import",
        "DB-only floor rows/s",
        "peak RSS MiB",
        "RSS growth MiB",
    ] + (["undo s"] if args.undo else [])
    reference = "COPY FROM STDIN" if common.vendor() == "postgresql" else "executemany"
    common.print_table(
        f"Contacts import on {common.vendor()} (reference: {reference} of the same file into a text table)",
        header,
        table,
    )


if __name__ == "__main__":
    main()
