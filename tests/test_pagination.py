import pytest

from guanxi.customers.models import Account
from guanxi.platform.pagination import InvalidCursor, paginate


def walk(qs, sort, limit):
    seen, cursor = [], None
    while True:
        page = paginate(qs, sort=sort, cursor=cursor, limit=limit)
        seen += [a.name for a in page.items]
        if not page.has_next:
            return seen, page
        cursor = page.next_cursor


@pytest.mark.parametrize("sort", ["name", "-name", "annual_revenue", "-annual_revenue", "-updated_at", "pk"])
def test_keyset_walk_visits_every_row_once_in_order(in_tenant, sort):
    admin = in_tenant.admin
    for i in range(23):
        Account.objects.create(name=f"acc {i % 7}", owner=admin, annual_revenue=None if i % 3 == 0 else i * 10)
    qs = Account.objects.all()
    names, _ = walk(qs, sort, 5)
    expected = (
        [a.name for a in qs.order_by(*((sort, "pk") if not sort.startswith("-") else (sort, "-pk")))]
        if "revenue" not in sort
        else None
    )
    assert len(names) == 23 and len(set(Account.objects.values_list("pk", flat=True))) == 23
    if expected is not None and sort != "pk":
        assert names == expected


def test_previous_page_returns_the_page_before(in_tenant):
    for i in range(12):
        Account.objects.create(name=f"a{i:02d}", owner=in_tenant.admin)
    qs = Account.objects.all()
    p1 = paginate(qs, sort="name", limit=5)
    p2 = paginate(qs, sort="name", cursor=p1.next_cursor, limit=5)
    p3 = paginate(qs, sort="name", cursor=p2.next_cursor, limit=5)
    assert [a.name for a in p3.items] == ["a10", "a11"] and not p3.has_next
    back = paginate(qs, sort="name", cursor=p3.prev_cursor, limit=5)
    assert [a.name for a in back.items] == [a.name for a in p2.items]
    first = paginate(qs, sort="name", cursor=back.prev_cursor, limit=5)
    assert [a.name for a in first.items] == [a.name for a in p1.items] and not first.has_prev
    assert p1.total == 12 and p2.total == 12


def test_bad_cursor_is_refused(in_tenant):
    with pytest.raises(InvalidCursor):
        paginate(Account.objects.all(), sort="name", cursor="garbage!")
