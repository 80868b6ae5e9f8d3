"""Recompute every lead's score from the scoring rules (all active tenants, or one).

manage.py rescore_leads [--tenant SLUG]
"""

from django.core.management.base import BaseCommand, CommandError

from guanxi.platform.context import RequestMeta, all_tenants_scope, tenant_context


class Command(BaseCommand):
    help = "Recompute lead scores from the lead scoring rules."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="short name (slug) of one tenant; default: every active tenant")

    def handle(self, *args, tenant=None, **options):
        from guanxi.tenancy.models import Tenant

        from ...lead_services import leads_rescore_all

        with all_tenants_scope():  # platform code: the list of tenants to work for
            tenants = Tenant.objects.filter(status=Tenant.Status.ACTIVE).order_by("pk")
            if tenant:
                tenants = tenants.filter(slug=tenant)
            tenants = list(tenants)
        if tenant and not tenants:
            raise CommandError(f"No active tenant {tenant!r}.")
        for t in tenants:
            with tenant_context(t, meta=RequestMeta(via="command")):
                changed = leads_rescore_all()
            if options["verbosity"]:
                self.stdout.write(f"{t.slug}: {changed} scores changed")
