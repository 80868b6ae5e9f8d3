"""The one tenant-scoping mechanism: fails closed, scopes, refuses cross-tenant writes; RLS on PostgreSQL."""

import pytest
from django.db import connection

from guanxi.customers.models import Account
from guanxi.platform import rls
from guanxi.platform.context import TenantMismatch, TenantNotSet, all_tenants_scope, tenant_context


def make_account(name, user):
    return Account.objects.create(name=name, owner=user)


def test_querying_tenant_data_without_tenant_fails_closed(tenant):
    with pytest.raises(TenantNotSet):
        list(Account.objects.all())
    with pytest.raises(TenantNotSet):
        Account.objects.filter(name="x").exists()
    with pytest.raises(TenantNotSet):
        Account.objects.update(name="y")
    with pytest.raises(TenantNotSet):
        Account.objects.create(name="x", owner=tenant.admin)


def test_a_queryset_built_outside_any_tenant_is_scoped_when_it_runs(tenant, other_tenant):
    qs = Account.objects.order_by("name")  # e.g. a form field's choices, built at import time
    with tenant_context(tenant):
        make_account("A1", tenant.admin)
    with tenant_context(other_tenant):
        make_account("B1", other_tenant.admin)
        assert [a.name for a in qs.all()] == ["B1"]
    with tenant_context(tenant):
        assert [a.name for a in qs.all()] == ["A1"]


def test_queries_see_only_the_current_tenant(tenant, other_tenant):
    with tenant_context(tenant):
        make_account("A1", tenant.admin)
    with tenant_context(other_tenant):
        make_account("B1", other_tenant.admin)
        assert list(Account.objects.values_list("name", flat=True)) == ["B1"]
    with tenant_context(tenant):
        assert list(Account.objects.values_list("name", flat=True)) == ["A1"]
    with all_tenants_scope():
        assert sorted(Account.objects.values_list("name", flat=True)) == ["A1", "B1"]


def test_writing_another_tenants_row_is_refused(tenant, other_tenant):
    with tenant_context(tenant):
        account = make_account("A1", tenant.admin)
    with tenant_context(other_tenant), pytest.raises(TenantMismatch):
        account.name = "stolen"
        account.save()


def test_bulk_create_fills_the_tenant(tenant):
    with tenant_context(tenant):
        Account.objects.bulk_create([Account(name=f"n{i}", owner=tenant.admin) for i in range(3)])
        assert Account.objects.filter(tenant=tenant).count() == 3


def test_related_row_of_another_tenant_is_refused(tenant, other_tenant):
    from guanxi.customers.models import Contact

    with tenant_context(tenant):
        account = make_account("A1", tenant.admin)
    with tenant_context(other_tenant), pytest.raises(TenantMismatch):
        Contact.objects.create(family_name="王", given_name="伟", account=account, owner=other_tenant.admin)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row-level security is a PostgreSQL feature")
@pytest.mark.django_db(transaction=True)
def test_postgres_row_level_security_hides_other_tenants_rows_from_raw_sql():
    from guanxi.platform.testing import make_tenant

    a, b = make_tenant("RLS A"), make_tenant("RLS B")
    with tenant_context(a):
        make_account("secret of A", a.admin)
    with tenant_context(b), connection.cursor() as cursor:
        cursor.execute("SELECT name FROM customers_account")
        assert cursor.fetchall() == []
        # Even lying about the tenant in SQL does not help: the policy checks the session setting.
        cursor.execute("SELECT name FROM customers_account WHERE tenant_id = %s", [a.pk])
        assert cursor.fetchall() == []
    with connection.cursor() as cursor:  # no tenant at all: nothing visible either
        connection.apply_tenant_settings()
        cursor.execute("SELECT count(*) FROM customers_account")
        assert cursor.fetchone()[0] == 0
    with tenant_context(a), connection.cursor() as cursor:
        cursor.execute("SELECT name FROM customers_account")
        assert cursor.fetchall() == [("secret of A",)]
        # and inserting a row for another tenant is refused by the policy's WITH CHECK
        from django.db import DatabaseError, transaction

        with pytest.raises(DatabaseError), transaction.atomic():
            cursor.execute(
                "INSERT INTO customers_account (tenant_id, name, kind, industry, size, currency, website, phone, email,"
                " source, lifecycle_stage, lifecycle_changed_at, rating, description, custom, owner_id, created_at,"
                " updated_at, country, province, city, district, street, postal_code)"
                " VALUES (%s, 'x', 'organization', '', '', 'CNY', '', '', '', '', 'prospect', now(), '', '', '{}',"
                " %s, now(), now(), '', '', '', '', '', '')",
                [b.pk, a.admin.pk],
            )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row-level security is a PostgreSQL feature")
def test_every_tenant_table_has_a_row_level_security_policy(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_policy p ON p.polrelid = c.oid "
            "WHERE c.relrowsecurity AND c.relforcerowsecurity AND p.polname = %s",
            [rls.POLICY],
        )
        protected = {row[0] for row in cursor.fetchall()}
    assert set(rls.tenant_tables()) <= protected
    assert "customers_account" in protected


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_application_role_is_subject_to_row_level_security(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL session settings")
@pytest.mark.django_db(transaction=True)
def test_an_integrity_error_in_a_nested_atomic_block_keeps_the_tenant_settings_working():
    from django.db import IntegrityError, transaction

    from guanxi.customization.models import Tag
    from guanxi.platform.testing import make_tenant

    tenant = make_tenant("Savepoints")
    with tenant_context(tenant), transaction.atomic():
        Tag.objects.create(name="dup")
        with pytest.raises(IntegrityError), transaction.atomic():
            Tag.objects.create(name="dup")
        assert Tag.objects.filter(name="dup").count() == 1  # the session still sees the tenant's rows
