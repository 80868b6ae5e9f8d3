"""Pages of a restricted view read per owner (``permissions.page_partitions``) equal the plain pages."""

import pytest

from guanxi.access import permissions
from guanxi.access.services import record_share_create
from guanxi.customers.models import Account, Contact
from guanxi.org.models import Team
from guanxi.platform.context import tenant_context
from guanxi.platform.pagination import paginate
from guanxi.platform.testing import make_member


@pytest.fixture
def team_view(tenant):
    with tenant_context(tenant):
        team = Team.objects.create(name="North")
    a = make_member(tenant, teams=[team])
    b = make_member(tenant, teams=[team])
    outsider = make_member(tenant)
    names = ["王伟", "Anna Smith", "李娜", "Zoe", "阿明", "Bob", "张伟", "王芳", "Carl", "陈静", "Dora", "赵敏"]
    with tenant_context(tenant, actor=tenant.admin):
        for i in range(36):
            owner = (a, b, outsider, tenant.admin)[i % 4]
            Contact.objects.create(full_name=f"{names[i % len(names)]} {i // 12}", owner=owner)
        shared = Contact.objects.filter(owner=outsider).order_by("pk").first()
        record_share_create(actor=tenant.admin, obj=shared, user=a)
    return a, shared


def walk(user, qs, sort, limit, partitions, reverse_from=None):
    seen, cursor = [], None
    while True:
        page = paginate(qs, sort=sort, cursor=cursor, limit=limit, partitions=partitions)
        seen.append([c.pk for c in page.items])
        if not page.has_next:
            return seen
        cursor = page.next_cursor


@pytest.mark.parametrize("sort", ["full_name", "-full_name"])
def test_partitioned_pages_equal_plain_pages(tenant, team_view, sort):
    rep, shared = team_view
    with tenant_context(tenant, actor=rep):
        partitions = permissions.page_partitions(rep, Contact, sort)
        assert partitions is not None and len(partitions) >= 3  # two owners (the team) and the share
        qs = permissions.visible(rep, Contact.objects.all())
        plain = walk(rep, qs, sort, 5, None)
        split = walk(rep, qs, sort, 5, partitions)
        assert split == plain
        flat = [pk for page in split for pk in page]
        assert shared.pk in flat and len(flat) == len(set(flat)) == qs.count() == 19
        # Backwards from the last page gives the same pages.
        last = paginate(qs, sort=sort, cursor=None, limit=5, partitions=partitions)
        while last.has_next:
            last = paginate(qs, sort=sort, cursor=last.next_cursor, limit=5, partitions=partitions)
        back = paginate(qs, sort=sort, cursor=last.prev_cursor, limit=5, partitions=partitions)
        assert [c.pk for c in back.items] == split[-2]


def test_no_partitions_when_everything_is_visible_or_no_index_serves_the_sort(tenant, team_view):
    rep, _shared = team_view
    with tenant_context(tenant, actor=tenant.admin):
        assert permissions.page_partitions(tenant.admin, Contact, "full_name") is None  # sees everything
    with tenant_context(tenant, actor=rep):
        assert permissions.page_partitions(rep, Contact, "-updated_at") is None  # no (tenant, owner, updated_at)
        assert permissions.page_partitions(rep, Account, "name") is not None


def test_the_contacts_api_pages_a_restricted_view_the_same_way(client, tenant, team_view):
    rep, shared = team_view
    client.force_login(rep)
    seen, cursor = [], None
    while True:
        r = client.get("/api/v1/contacts", {"limit": 4, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.content
        body = r.json()
        seen += [c["id"] for c in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    with tenant_context(tenant, actor=rep):
        expected = list(
            permissions.visible(rep, Contact.objects.all()).order_by("full_name", "pk").values_list("pk", flat=True)
        )
    assert seen == expected and shared.pk in seen
