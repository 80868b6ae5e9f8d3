"""PreparedQuery: compiled once, same objects as the ORM, never carried from one tenant to another."""

import pytest
from django.db.models import Count

from guanxi.customers.models import Account
from guanxi.customers.services import account_create
from guanxi.platform.context import tenant_context
from guanxi.platform.prepared import PreparedQuery
from guanxi.platform.testing import make_tenant

pytestmark = pytest.mark.django_db


def by_name(name):
    return Account.objects.select_related("owner").annotate(n=Count("points")).filter(name=name).order_by("pk")


PREPARED = PreparedQuery(by_name)


def test_it_gives_what_the_orm_gives_in_one_statement(tenant, django_assert_num_queries):
    with tenant_context(tenant, actor=tenant.admin):
        account_create(actor=tenant.admin, data={"name": "华信科技"})
        expected = list(by_name("华信科技"))
        PREPARED.all("warm up")
        with django_assert_num_queries(1):
            found = PREPARED.all("华信科技")
    assert [(a.pk, a.name, a.n, a.owner.email, a.created_at) for a in found] == [
        (a.pk, a.name, a.n, a.owner.email, a.created_at) for a in expected
    ]


def test_a_query_prepared_in_one_tenant_is_never_run_in_another(tenant):
    other = make_tenant("prepared-other")
    for t in (tenant, other):
        with tenant_context(t, actor=t.admin):
            account_create(actor=t.admin, data={"name": "Same Name Ltd"})
    with tenant_context(tenant):
        mine = PREPARED.all("Same Name Ltd")
    with tenant_context(other):
        theirs = PREPARED.all("Same Name Ltd")
    assert len(mine) == len(theirs) == 1
    assert mine[0].tenant_id == tenant.pk
    assert theirs[0].tenant_id == other.pk


def test_the_value_must_appear_exactly_once(tenant):
    twice = PreparedQuery(lambda v: Account.objects.filter(name=v) | Account.objects.filter(city=v))
    with tenant_context(tenant), pytest.raises(ValueError):
        twice.all("x")
