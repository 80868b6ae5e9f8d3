"""Build a large synthetic tenant for benchmarks, fast and in constant memory.

    manage.py make_synthetic_tenant --accounts 200000 --contacts 1000000 --activities 2000000

The rows are generated and inserted in blocks of at most ``--batch`` rows per table (one
transaction per block), so memory stays flat whatever the size. Contacts and activities of a
block belong to that block's accounts, which keeps e-mail domains and timelines consistent.
Names are bilingual, phones and e-mails realistic (and already normalised), and the
denormalised fields (``Contact.full_name``, ``ContactPoint`` rows, lifecycle history) are
filled so search and de-duplication behave as with real data.
"""

from __future__ import annotations

import time
import zoneinfo

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from guanxi.access.models import Role
from guanxi.activities.models import Activity
from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.customers.models import Account, AccountContact, Contact, ContactPoint, LifecycleChange
from guanxi.identity.models import User
from guanxi.org.models import OrgUnit
from guanxi.org.services import member_add, org_unit_save
from guanxi.platform.context import all_tenants_scope, tenant_context
from guanxi.platform.db import statistics
from guanxi.tenancy.models import Tenant
from guanxi.tenancy.services import tenant_create

from ...generators import DataGenerator
from ...rows import RowFactory, given_timestamps

PASSWORD = "guanxi-demo-2026"
REGIONS = {
    "north": "华北区 North China",
    "east": "华东区 East China",
    "south": "华南区 South China",
    "intl": "International",
}
REPS_PER_REGION = 4
KINDS = ["call", "meeting", "task", "note", "email"]
KIND_WEIGHTS = [30, 15, 25, 20, 10]


class Command(BaseCommand):
    help = "Create a large synthetic tenant (accounts, contacts with e-mails and phones, activities) for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, required=True, help="number of accounts")
        parser.add_argument("--contacts", type=int, required=True, help="number of contacts")
        parser.add_argument("--activities", type=int, required=True, help="number of activities")
        parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
        parser.add_argument("--slug", default="synthetic", help="short name of the new tenant")
        parser.add_argument("--name", default="", help="tenant name (default: from the slug)")
        parser.add_argument("--batch", type=int, default=5000, help="rows per table per insert block")

    def handle(self, *args, accounts, contacts, activities, seed, slug, name, batch, **options):
        if min(accounts, contacts, activities) < 0 or batch < 1:
            raise CommandError("Counts must be zero or more and --batch at least 1.")
        with all_tenants_scope():
            if Tenant.objects.filter(slug=slug).exists():
                raise CommandError(f"A tenant with the short name {slug!r} exists already; choose another --slug.")
        started = time.monotonic()
        tenant, owners, units = self.create_tenant(slug, name or f"Synthetic {slug}")
        self.stdout.write(f"Tenant {tenant.name} ({slug}) created; admin: admin@{slug}.example / {PASSWORD}")
        with tenant_context(tenant), given_timestamps(Account, Contact, Activity):
            totals = self.fill(tenant, owners, units, seed, accounts, contacts, activities, batch, started)
            audit.record(
                AuditAction.IMPORT,
                model=Account,
                object_repr="synthetic data",
                note="make_synthetic_tenant: " + ", ".join(f"{n} {k}" for k, n in totals.items()),
            )
        statistics.refresh(Account, Contact, "customers.ContactPoint", Activity)
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Done in {elapsed:.1f} s: " + ", ".join(f"{n:,} {label}" for label, n in totals.items()) + "."
            )
        )

    @transaction.atomic
    def create_tenant(self, slug: str, name: str):
        with all_tenants_scope():
            tenant = tenant_create(
                actor=None,
                name=name,
                slug=slug,
                admin_email=f"admin@{slug}.example",
                admin_name="Admin",
                admin_password=PASSWORD,
            )
        owners: dict[str, list] = {}
        units: dict[str, OrgUnit] = {}
        with tenant_context(tenant):
            company = OrgUnit.objects.get(kind=OrgUnit.Kind.COMPANY)
            rep_role = Role.objects.get(name="Sales representative")
            gen = DataGenerator(0)
            password_hash = make_password(PASSWORD)  # hashed once: argon2 is slow on purpose
            for key, label in REGIONS.items():
                unit = org_unit_save(actor=None, unit=OrgUnit(name=label, kind=OrgUnit.Kind.REGION, parent=company))
                units[key] = unit
                owners[key] = []
                for i in range(REPS_PER_REGION):
                    person = gen.person(key != "intl")
                    member = member_add(
                        actor=None,
                        email=f"{key}.rep{i + 1}@{slug}.example",
                        full_name=person.full_name,
                        unit=unit,
                        roles=[rep_role],
                    )
                    owners[key].append(member.user)
            User.objects.filter(pk__in=[u.pk for users in owners.values() for u in users]).update(
                password=password_hash
            )
        return tenant, owners, units

    def fill(self, tenant, owners, units, seed, n_accounts, n_contacts, n_activities, batch, started) -> dict:
        gen = DataGenerator(seed)
        r = gen.r
        rows = RowFactory(gen, now=timezone.now(), tz=zoneinfo.ZoneInfo(tenant.time_zone))
        region_units = units
        blocks = max(1, -(-max(n_accounts, n_contacts, n_activities) // batch))
        done = {"accounts": 0, "contacts": 0, "activities": 0, "emails and phones": 0}

        def share(total: int, j: int) -> int:
            return total * (j + 1) // blocks - total * j // blocks

        for j in range(blocks):
            with transaction.atomic():
                accounts, companies, points, history = [], [], [], []
                for _ in range(share(n_accounts, j)):
                    chinese = r.random() < 0.75
                    if r.random() < 0.85:
                        company = gen.chinese_company() if chinese else gen.western_company()
                        region = company.city.region
                        account, pts, changes = rows.organisation(
                            company, owner=r.choice(owners[region]), region=region_units[region]
                        )
                    else:
                        company = None
                        city = gen.chinese_city() if chinese else gen.western_city()
                        region = city.region
                        account, pts, changes = rows.consumer(
                            gen.person(chinese), city, owner=r.choice(owners[region]), region=region_units[region]
                        )
                    accounts.append(account)
                    companies.append((company, chinese))
                    points += pts
                    history += changes
                Account.objects.bulk_create(accounts, batch_size=batch)
                LifecycleChange.objects.bulk_create(history, batch_size=batch)

                contacts, chinese_contacts, links, contacts_of = [], [], [], {}
                for _ in range(share(n_contacts, j)):
                    if accounts and r.random() < 0.9:
                        i = r.randrange(len(accounts))
                        account = accounts[i]
                        company, chinese = companies[i]
                        person = gen.person(chinese or r.random() < 0.1)
                        contact, pts = rows.contact(person, owner=account.owner, account=account, company=company)
                        links.append(rows.link(account, contact))
                        contacts_of.setdefault(i, []).append(contact)
                    else:
                        person = gen.person(r.random() < 0.75)
                        city = gen.chinese_city() if person.chinese else gen.western_city()
                        contact, pts = rows.contact(person, owner=r.choice(owners[city.region]), city=city)
                    contacts.append(contact)
                    chinese_contacts.append(person.chinese)
                    points += pts
                Contact.objects.bulk_create(contacts, batch_size=batch)
                AccountContact.objects.bulk_create(links, batch_size=batch)
                ContactPoint.objects.bulk_create(points, batch_size=batch)

                activities = []
                for _ in range(share(n_activities, j)):
                    kind = r.choices(KINDS, KIND_WEIGHTS)[0]
                    if accounts:
                        i = r.randrange(len(accounts))
                        account, chinese = accounts[i], companies[i][1]
                        contact = r.choice(contacts_of[i]) if i in contacts_of and r.random() < 0.8 else None
                        owner = account.owner
                    elif contacts:
                        c = r.randrange(len(contacts))
                        account, contact, chinese = None, contacts[c], chinese_contacts[c]
                        owner = contact.owner
                    else:
                        account, contact, chinese = None, None, True
                        owner = r.choice(owners["north"])
                    if r.random() < 0.8:
                        starts = rows.past(365, after=account.created_at if account else None)
                    else:
                        starts = rows.now + (rows.now - rows.past(60))
                    activities.append(
                        rows.activity(
                            kind=kind, owner=owner, chinese=chinese, account=account, contact=contact, starts_at=starts
                        )
                    )
                Activity.objects.bulk_create(activities, batch_size=batch)

            done["accounts"] += len(accounts)
            done["contacts"] += len(contacts)
            done["activities"] += len(activities)
            done["emails and phones"] += len(points)
            elapsed = time.monotonic() - started
            rate = sum(done.values()) / elapsed if elapsed else 0
            self.stdout.write(
                f"  [{j + 1}/{blocks}] accounts {done['accounts']:,}/{n_accounts:,} · "
                f"contacts {done['contacts']:,}/{n_contacts:,} · activities {done['activities']:,}/{n_activities:,}"
                f" · {elapsed:.0f} s, {rate:,.0f} rows/s"
            )
            self.stdout.flush()
        return done
