"""Enqueue the periodic background tasks every minute (run next to ``manage.py db_worker``)."""

from __future__ import annotations

import signal
import time

from django.core.management.base import BaseCommand
from django.utils import timezone


class Command(BaseCommand):
    help = (
        "Every interval, enqueue the periodic tasks (activity reminders, notification e-mails). "
        "Run it in the worker container next to `manage.py db_worker`."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=60.0, help="Seconds between runs (default 60).")
        parser.add_argument("--once", action="store_true", help="Enqueue once and exit.")

    def handle(self, *args, interval: float, once: bool, **options):
        from guanxi.activities.tasks import email_pending_notifications, send_due_reminders
        from guanxi.commerce.tasks import expire_quotes
        from guanxi.dedupe.tasks import nightly_duplicate_scan
        from guanxi.exports.tasks import expire_exports
        from guanxi.finance.tasks import contract_warnings, overdue_invoices
        from guanxi.imports.tasks import resume_stale_imports
        from guanxi.platform.tasks import refresh_planner_statistics
        from guanxi.sales.tasks import nightly_lead_rescoring

        self._stop = False
        if not once:
            signal.signal(signal.SIGTERM, self._request_stop)
            signal.signal(signal.SIGINT, self._request_stop)
        tasks = (
            send_due_reminders,
            contract_warnings,  # before the e-mail job, so the warnings go out in the same run
            overdue_invoices,
            email_pending_notifications,
            nightly_duplicate_scan,
            resume_stale_imports,
            expire_exports,
            expire_quotes,
            nightly_lead_rescoring,
            refresh_planner_statistics,
        )
        interval = max(interval, 1.0)
        while True:
            started = time.monotonic()
            for t in tasks:
                try:
                    result = t.enqueue()
                except Exception as exc:  # keep the loop alive if the queue is briefly unavailable
                    self.stderr.write(f"{timezone.now():%Y-%m-%d %H:%M:%S} could not enqueue {t.name}: {exc}")
                    continue
                if options.get("verbosity", 1) > 1:
                    self.stdout.write(f"{timezone.now():%Y-%m-%d %H:%M:%S} enqueued {t.name} ({result.id})")
            if once or self._stop:
                break
            remaining = interval - (time.monotonic() - started)
            while remaining > 0 and not self._stop:
                time.sleep(min(remaining, 1.0))
                remaining = interval - (time.monotonic() - started)
            if self._stop:
                break
        if options.get("verbosity", 1) > 0 and not once:
            self.stdout.write("Scheduler stopped.")

    def _request_stop(self, signum, frame):
        self._stop = True
