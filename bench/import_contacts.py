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
writing the error file). The parent reads the worker's peak RSS (``wait4``).

The physical reference, in the same run on the same file: PostgreSQL ``COPY … FROM STDIN``
of the file into an equivalent table (one text column per CSV column, no index), or on
SQLite ``executemany`` of the parsed rows into such a table in one transaction.
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


def worker(args) -> None:
    """Run one import through the real service and task code; print its figures as JSON."""
    import resource

    common.configure(common.database_url(args))
    from django.core.files import File

    from guanxi.imports import services
    from guanxi.imports.models import ImportJob
    from guanxi.platform.context import RequestMeta, tenant_context

    tenant = common.new_tenant("imp")
    admin = common.tenant_admin(tenant)
    path = Path(args.file)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
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
        common.database_url(args),
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
    return json.loads(line[7:]), usage.ru_maxrss


def copy_reference(path: Path) -> float:
    """Seconds to load the file into an equivalent table with the database's own bulk path."""
    from django.db import connection

    columns = ", ".join(f"c{i} text" for i in range(len(common.HEADER)))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_copy_reference")
            cursor.execute(f"CREATE TABLE bench_copy_reference ({columns})")
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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_db_arguments(parser)
    parser.add_argument("--rows", type=int, action="append", help="file size(s), default 100000")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--policy", default="skip", choices=("skip", "update", "create"))
    parser.add_argument("--repeat", type=int, default=1, help="imports per size (each into a fresh tenant)")
    parser.add_argument("--undo", action="store_true", help="also time undoing the import")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return
    sizes = args.rows or [100_000]
    common.configure(common.database_url(args))
    print(f"Import benchmark on {common.vendor()} · {common.machine()}", flush=True)
    table = []
    for rows in sizes:
        path = common.contacts_csv(rows, seed=args.seed)
        for attempt in range(args.repeat):
            print(f"Importing {rows:,} rows from {path.name} (run {attempt + 1}/{args.repeat}) …", flush=True)
            result, peak_kb = run_worker(args, path)
            seconds, loaded = copy_reference(path)
            assert loaded == rows, (loaded, rows)
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
