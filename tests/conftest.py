import pytest

from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member, make_tenant


@pytest.fixture
def client():
    """Django's test client, asking for English pages unless a test says otherwise."""
    from django.test import Client

    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def tenant(db):
    return make_tenant("Acme 北京")


@pytest.fixture
def other_tenant(db):
    return make_tenant("Globex 上海")


@pytest.fixture
def in_tenant(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        yield tenant


@pytest.fixture
def admin_user(tenant):
    return tenant.admin


@pytest.fixture
def rep(tenant):
    return make_member(tenant, roles=("Sales representative",))


@pytest.fixture
def admin_client(client, tenant):
    client.force_login(tenant.admin)
    return client


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
