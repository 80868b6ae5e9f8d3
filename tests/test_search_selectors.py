"""Global search: short fragments match at the start, long ones anywhere; the SQL can use its indexes."""

import pytest
from django.core.management import call_command
from django.db import connection

from guanxi.customers import services
from guanxi.platform.context import tenant_context
from guanxi.platform.db.postgresql import superuser
from guanxi.platform.testing import make_member
from guanxi.search.selectors import global_search

PEOPLE = [
    ("王", "伟", "wang.wei@huaxin.example", "+86 138 0013 8000"),
    ("王", "伟明", "weiming@huaxin.example", "+86 139 1111 2222"),
    ("李", "王伟", "li.ww@huaxin.example", "+86 137 3333 4444"),
    ("Smith", "Anna", "anna.smith@example.org", "+44 20 7946 0018"),
    ("Lin", "Mei", "mei.lin@example.org", "+65 6123 4567"),
]


@pytest.fixture
def people(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        return [
            services.contact_create(
                actor=tenant.admin,
                data={"family_name": f, "given_name": g, "emails": [(e, "work")], "phones": [(p, "mobile")]},
            )
            for f, g, e, p in PEOPLE
        ]


def names(tenant, user, q, limit=8):
    with tenant_context(tenant, actor=user):
        return [c.full_name for c in global_search(user, q, limit=limit).contacts]


def test_two_characters_match_the_start_of_a_name_or_address(tenant, people):
    assert names(tenant, tenant.admin, "王伟") == ["王伟", "王伟明"]  # not 李王伟
    assert names(tenant, tenant.admin, "li") == ["李王伟"]  # li.ww@…, not "Mei Lin"
    assert names(tenant, tenant.admin, "me") == ["Mei Lin"]
    assert names(tenant, tenant.admin, "ME") == ["Mei Lin"]


def test_three_characters_or_more_match_anywhere(tenant, people):
    assert names(tenant, tenant.admin, "王伟明") == ["王伟明"]
    assert names(tenant, tenant.admin, "smith") == ["Anna Smith"]
    assert names(tenant, tenant.admin, "example.org") == ["Anna Smith", "Mei Lin"]
    assert names(tenant, tenant.admin, "0013 8000") == ["王伟"]
    assert names(tenant, tenant.admin, "7946") == ["Anna Smith"]


def test_results_are_ranked_by_name_and_limited(tenant, people):
    assert names(tenant, tenant.admin, "huaxin", limit=2) == ["李王伟", "王伟"]


def test_a_representative_finds_only_what_they_may_see(tenant, people):
    rep = make_member(tenant, roles=("Sales representative",))
    assert names(tenant, rep, "王伟") == []
    with tenant_context(tenant, actor=tenant.admin):
        services.contact_update(actor=tenant.admin, contact=people[1], data={"owner": rep})
    assert names(tenant, rep, "王伟") == ["王伟明"]
    assert names(tenant, rep, "weiming@") == ["王伟明"]


def test_the_query_count_does_not_depend_on_the_matches(tenant, people, django_assert_max_num_queries):
    # PostgreSQL gathers every source's candidates in one statement; SQLite runs them one by one.
    with (
        tenant_context(tenant, actor=tenant.admin),
        django_assert_max_num_queries(6 if connection.vendor == "postgresql" else 8),
    ):
        global_search(tenant.admin, "huaxin", limit=50)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row-level security is a PostgreSQL feature")
@pytest.mark.django_db
def test_the_superuser_setup_lets_searches_use_the_trigram_index_under_row_level_security(tenant, people):
    with connection.cursor() as cursor:
        if superuser.missing_leakproof(cursor):
            pytest.skip("the superuser set-up is not applied to template1 (.ci/run applies it)")
    # Only the trigram index can answer this (the policy's tenant test sits in an OR): PostgreSQL
    # may use it under row-level security only when LIKE and UPPER are leak-proof.
    with tenant_context(tenant, actor=tenant.admin), connection.cursor() as cursor:
        # A handful of rows: leave the planner only the table and the trigram index to choose from
        # (the test's transaction is rolled back, indexes included).
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'customers_contact' "
            "AND indexname NOT IN ('customers_contact_name_trgm', 'customers_contact_pkey')"
        )
        for (index,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{index}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM customers_contact WHERE UPPER(full_name::text) LIKE '%SMITH%'")
        plan = "\n".join(r[0] for r in cursor.fetchall())
    assert "customers_contact_name_trgm" in plan, plan


def test_postgres_superuser_setup_prints_its_sql():
    from io import StringIO

    out = StringIO()
    call_command("postgres_superuser_setup", "--print", stdout=out)
    assert "ALTER FUNCTION pg_catalog.textlike(text, text) LEAKPROOF" in out.getvalue()


def test_two_characters_find_a_company_by_the_brand_inside_its_name(tenant):
    from guanxi.customers.services import account_create

    with tenant_context(tenant, actor=tenant.admin):
        account_create(actor=tenant.admin, data={"name": "北京星辰信息技术有限公司"})
        account_create(actor=tenant.admin, data={"name": "上海华信科技"})
        results = global_search(tenant.admin, "星辰", limit=6)
    assert [a.name for a in results.accounts] == ["北京星辰信息技术有限公司"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row-level security is a PostgreSQL feature")
@pytest.mark.django_db
def test_two_chinese_characters_use_the_bigram_index_under_row_level_security(tenant):
    from guanxi.customers.models import Account
    from guanxi.customers.services import account_create
    from guanxi.search.selectors import _name_condition, _with_bigrams

    with connection.cursor() as cursor:
        if superuser.missing_leakproof(cursor):
            pytest.skip("the superuser set-up is not applied to template1 (.ci/run applies it)")
    with tenant_context(tenant, actor=tenant.admin), connection.cursor() as cursor:
        account_create(actor=tenant.admin, data={"name": "北京星辰信息技术有限公司"})
        # Leave the planner only the table and the bigram index (rolled back with the test).
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'customers_account' "
            "AND indexname NOT IN ('customers_account_name_bigrams', 'customers_account_pkey')"
        )
        for (index,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{index}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        query = (
            _with_bigrams(Account.objects.all(), "name")
            .filter(_name_condition(Account, "name", "星辰", 2))
            .values("pk")
        )
        sql, params = query.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(r[0] for r in cursor.fetchall())
        assert "customers_account_name_bigrams" in plan, plan
        cursor.execute("SELECT guanxi_bigrams('IBM中国 星辰')")
        assert sorted(cursor.fetchone()[0]) == sorted(["M中", "中国", "国 ", " 星", "星辰"])


def test_the_superuser_sql_creates_the_bigram_function_of_the_migration():
    from guanxi.platform.db.postgresql.functions import bigrams_function_sql

    assert bigrams_function_sql(leakproof=True) in superuser.statements()


def test_the_search_follows_renames_and_deletions(tenant, people):
    """On SQLite the trigram index is kept by triggers (customers/0006): every write reaches it."""
    with tenant_context(tenant, actor=tenant.admin):
        services.contact_update(actor=tenant.admin, contact=people[4], data={"family_name": "Wong"})
    assert names(tenant, tenant.admin, "mei lin") == []
    assert names(tenant, tenant.admin, "mei wong") == ["Mei Wong"]
    with tenant_context(tenant, actor=tenant.admin):
        type(people[3]).objects.filter(pk=people[3].pk).delete()
    assert names(tenant, tenant.admin, "example.org") == ["Mei Wong"]


def test_a_fragment_with_like_wildcards_matches_literally(tenant, people):
    with tenant_context(tenant, actor=tenant.admin):
        services.contact_create(
            actor=tenant.admin,
            data={"family_name": "Under", "given_name": "Score", "emails": [("un_der@x.example", "work")]},
        )
    assert names(tenant, tenant.admin, "un_der") == ["Score Under"]
    assert names(tenant, tenant.admin, "n_de") == ["Score Under"]
    assert names(tenant, tenant.admin, "mei%lin") == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the FTS5 trigram index is SQLite's")
def test_sqlite_reads_the_trigram_index_for_contains(tenant, people):
    from guanxi.customers.models import Contact
    from guanxi.customers.selectors import name_contains

    with tenant_context(tenant, actor=tenant.admin):
        query = Contact.objects.filter(name_contains(Contact, "full_name", "smith"))
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " / ".join(row[-1] for row in cursor.fetchall())
    assert "customers_contact_fts VIRTUAL TABLE INDEX" in plan
    assert "SCAN customers_contact " not in f"{plan} "


def test_only_fragments_written_like_a_number_search_the_numbers(tenant, people):
    assert names(tenant, tenant.admin, "(20) 7946-0018") == ["Anna Smith"]
    assert names(tenant, tenant.admin, "anna7946") == []  # an address's digits, not a number
    assert names(tenant, tenant.admin, "020 7946 0018") == ["Anna Smith"]  # national form, +44 20…
