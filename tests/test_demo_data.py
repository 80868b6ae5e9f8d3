"""The demo tenant (seed_demo) and synthetic tenants (make_synthetic_tenant)."""

import io
import re

import phonenumbers
import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count, F

from guanxi.activities.models import Activity
from guanxi.customers.models import Account, AccountContact, Contact, ContactPoint, LifecycleChange, compose_name
from guanxi.demo.generators import CN_CITIES, WEST_CITIES, DataGenerator
from guanxi.demo.management.commands import seed_demo
from guanxi.identity.models import User
from guanxi.org.models import Member, OrgUnit
from guanxi.platform.context import all_tenants_scope, tenant_context
from guanxi.tenancy.models import Tenant

CJK = re.compile(r"[\u4e00-\u9fff]")


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def demo_tenant():
    with all_tenants_scope():
        return Tenant.objects.get(slug=seed_demo.SLUG)


def assert_points_match(tenant):
    """Every e-mail and phone of accounts and contacts has its ContactPoint; primaries agree."""
    with tenant_context(tenant):
        for model in (Account, Contact):
            for obj in model.objects.prefetch_related("points"):
                points = list(obj.points.all())
                primary = {p.kind: p.value for p in points if p.is_primary}
                assert primary.get("email", "") == obj.email, obj
                assert primary.get("phone", "") == obj.phone, obj
                for p in points:
                    if p.kind == "email":
                        assert p.value == p.value.lower() and "@" in p.value
                    else:
                        assert phonenumbers.is_valid_number(phonenumbers.parse(p.value, None)), p.value


@pytest.mark.django_db
def test_seed_demo_creates_the_demo_company_and_is_idempotent(django_assert_max_num_queries):
    out = run("seed_demo")
    tenant = demo_tenant()
    assert tenant.name == "华信科技 Huaxin Technology" and tenant.default_language == "zh-hans"
    assert "guanxi-demo-2026" in out
    for email in ("operator@guanxi.local", "admin@huaxin.example", "sales.manager@huaxin.example"):
        assert email in out
    assert User.objects.get(email="operator@guanxi.local").is_operator
    assert User.objects.get(email="li.na@huaxin.example").check_password(seed_demo.PASSWORD)

    with tenant_context(tenant):
        assert Account.objects.count() >= 200
        assert Contact.objects.count() >= 500
        assert Activity.objects.count() >= 1000
        kinds = dict(Account.objects.values_list("kind").annotate(n=Count("id")))
        assert kinds["organization"] > 100 and kinds["individual"] > 20
        # Chinese and Western organisations and people.
        names = list(Account.objects.values_list("name", flat=True))
        assert sum(bool(CJK.search(n)) for n in names) > 100
        assert sum(not CJK.search(n) for n in names) > 30
        assert any(n.endswith("有限公司") for n in names)
        assert Contact.objects.filter(full_name__regex=r"^[A-Z][a-z]+ ").exists()
        for c in Contact.objects.all()[:50]:
            assert c.full_name == compose_name(c.family_name, c.given_name)
        # Lifecycle history ends at the current stage.
        for account in Account.objects.prefetch_related("lifecycle_changes")[:60]:
            changes = sorted(account.lifecycle_changes.all(), key=lambda c: (c.changed_at, c.id))
            assert changes and changes[-1].to_stage == account.lifecycle_stage
            assert changes[0].from_stage == ""
        assert LifecycleChange.objects.filter(to_stage="customer").exists()
        assert AccountContact.objects.count() >= 400
        # Mobile numbers of the Chinese plan (+86 13x/15x/18x) and landlines.
        phones = list(ContactPoint.objects.filter(kind="phone").values_list("value", flat=True))
        assert sum(bool(re.fullmatch(r"\+861[358]\d{9}", p)) for p in phones) > 300
        assert any(re.fullmatch(r"\+8610\d{8}", p) for p in phones)  # Beijing office numbers
        # The org tree, roles and managers.
        assert OrgUnit.objects.filter(kind="region").count() == 4
        rep = Member.objects.select_related("manager__user").get(user__email="li.na@huaxin.example")
        assert rep.manager.user.email == "sales.manager@huaxin.example"
        assert [r.name for r in rep.roles.all()] == ["Sales representative"]
        # Past and upcoming activities, overdue tasks for the demo people.
        overdue = Activity.objects.filter(kind="task", status="planned", starts_at__lt=tenant_now())
        assert overdue.filter(owner__email="li.na@huaxin.example").count() >= 3
        assert Activity.objects.filter(status="planned", starts_at__gt=tenant_now()).count() > 50
        assert Activity.objects.filter(status="done").count() > 500
        subjects = list(Activity.objects.values_list("subject", flat=True))
        assert sum(bool(CJK.search(x)) for x in subjects) > 300  # Chinese customers, Chinese subjects
        assert sum(bool(re.match(r"[A-Z][a-z]", x)) for x in subjects) > 50  # and English ones
        # The sales and commerce apps add their demo records through seed_demo's hooks.
        if apps.is_installed("guanxi.sales"):
            from guanxi.sales.models import Lead, Opportunity

            assert Opportunity.objects.count() >= 100 and Lead.objects.count() >= 100
        if apps.is_installed("guanxi.commerce"):
            from guanxi.commerce.models import Product, Quote

            assert Product.objects.exists() and Quote.objects.exists()
        counts = (Account.objects.count(), Contact.objects.count(), Activity.objects.count())
        custom = Account.objects.exclude(custom={}).count()
        assert custom > 20
        # Back-dated like real records, not all stamped with the moment of seeding.
        assert Account.objects.values("updated_at").distinct().count() > 150
        assert not Account.objects.filter(updated_at__lt=F("lifecycle_changed_at")).exists()
    assert_points_match(tenant)

    # A second run changes nothing and only prints the logins.
    with django_assert_max_num_queries(5):
        out = run("seed_demo")
    assert "exists already" in out and "guanxi-demo-2026" in out
    with tenant_context(tenant):
        assert (Account.objects.count(), Contact.objects.count(), Activity.objects.count()) == counts


def tenant_now():
    from django.utils import timezone

    return timezone.now()


class _Rollback(Exception):
    pass


def _first_rows():
    with tenant_context(demo_tenant()):
        return (
            list(Account.objects.order_by("id").values_list("name", "kind", "phone", "email", "lifecycle_stage")[:40]),
            list(Contact.objects.order_by("id").values_list("full_name", "email", "phone")[:40]),
            list(Activity.objects.order_by("id").values_list("kind", "subject", "status")[:40]),
        )


@pytest.mark.django_db
def test_seed_demo_gives_the_same_data_every_time():
    with pytest.raises(_Rollback), transaction.atomic():
        run("seed_demo")
        first = _first_rows()
        raise _Rollback
    with all_tenants_scope():
        assert not Tenant.objects.filter(slug=seed_demo.SLUG).exists()
    run("seed_demo")
    assert _first_rows() == first


@pytest.mark.django_db
def test_make_synthetic_tenant_creates_exact_counts_with_contact_points():
    out = run("make_synthetic_tenant", "--accounts", "37", "--contacts", "113", "--activities", "71", "--batch", "25")
    assert "Done" in out
    with all_tenants_scope():
        tenant = Tenant.objects.get(slug="synthetic")
    with tenant_context(tenant):
        assert Account.objects.count() == 37
        assert Contact.objects.count() == 113
        assert Activity.objects.count() == 71
        assert ContactPoint.objects.filter(contact__isnull=False).values("contact").distinct().count() == 113
        assert ContactPoint.objects.filter(account__isnull=False).values("account").distinct().count() == 37
        assert LifecycleChange.objects.values("account").distinct().count() == 37
        assert not Contact.objects.filter(full_name="").exists()
        # Contacts of an organisation mostly use its e-mail domain.
        linked = Contact.objects.filter(account__kind="organization").select_related("account")
        assert linked.exists()
        assert all(c.account_id for c in linked)
        assert AccountContact.objects.count() == Contact.objects.exclude(account=None).count()
        assert Contact.objects.filter(updated_at=F("created_at")).count() == 113
        assert Account.objects.filter(updated_at=F("lifecycle_changed_at")).count() == 37
    assert_points_match(tenant)
    # Loading kept the generated timestamps; normal saves stamp updated_at again.
    for model in (Account, Contact, Activity):
        assert model._meta.get_field("updated_at").auto_now is True


@pytest.mark.django_db
def test_make_synthetic_tenant_refuses_an_existing_slug_and_handles_zero_accounts():
    run("make_synthetic_tenant", "--accounts", "0", "--contacts", "7", "--activities", "3", "--slug", "tiny")
    with all_tenants_scope():
        tenant = Tenant.objects.get(slug="tiny")
    with tenant_context(tenant):
        assert (Account.objects.count(), Contact.objects.count(), Activity.objects.count()) == (0, 7, 3)
    with pytest.raises(CommandError):
        run("make_synthetic_tenant", "--accounts", "1", "--contacts", "1", "--activities", "1", "--slug", "tiny")


def test_generated_phone_numbers_are_valid_in_their_countries():
    gen = DataGenerator(5)
    for city in CN_CITIES + WEST_CITIES:
        for _ in range(40):
            for number in (gen.landline(city), gen.mobile(city)):
                parsed = phonenumbers.parse(number, None)
                assert phonenumbers.is_valid_number(parsed), (city.name, number)
                assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == number
    mobiles = [gen.cn_mobile() for _ in range(200)]
    assert all(re.fullmatch(r"\+861(3\d|5[0-35-9]|8\d)\d{8}", m) for m in mobiles)


def test_generator_is_deterministic():
    a, b = DataGenerator(42), DataGenerator(42)
    assert [a.chinese_company().name for _ in range(20)] == [b.chinese_company().name for _ in range(20)]
    assert [a.chinese_person().full_name for _ in range(20)] == [b.chinese_person().full_name for _ in range(20)]
    person = DataGenerator(1).chinese_person()
    assert CJK.search(person.full_name) and " " not in person.full_name  # family name first, no space
    western = DataGenerator(1).western_person()
    assert western.full_name == f"{western.given} {western.family}"
