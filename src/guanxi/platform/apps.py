from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PlatformConfig(AppConfig):
    name = "guanxi.platform"
    label = "guanxi_platform"
    verbose_name = "Guanxi platform"

    def ready(self):
        from . import checks, rls  # noqa: F401

        post_migrate.connect(rls.on_post_migrate, sender=self)
        post_migrate.connect(_refresh_statistics, sender=self)


def _refresh_statistics(sender, using="default", **kwargs):
    # A migration may add indexes (SQLite's planner ignores what it has no statistics for).
    from .db import statistics

    statistics.refresh_embedded(using)
