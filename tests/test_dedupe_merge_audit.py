"""Merging duplicates is audited as a merge: one entry on the record that stays, one on each merged record."""

import json

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from guanxi.audit.models import AuditAction, AuditEntry
from guanxi.customers import services
from guanxi.customers.models import Account, Contact
from guanxi.dedupe import services as dedupe
from guanxi.identity.services import api_token_create
from guanxi.platform.context import tenant_context

A, C = "customers.account", "customers.contact"


@pytest.fixture
def trio(tenant):
    """Three records of one company: the one that stays and two duplicates."""
    admin = tenant.admin
    with tenant_context(tenant, actor=admin):
        winner = services.account_create(actor=admin, data={"name": "腾飞电子", "phone": "0755 8888 6666"})
        first = services.account_create(
            actor=admin, data={"name": "深圳市腾飞电子有限公司", "industry": "it", "city": "深圳"}
        )
        second = services.account_create(
            actor=admin, data={"name": "Tengfei Electronics", "website": "https://tengfei.example"}
        )
    return winner, first, second


def entries_of(tenant, obj_or_id, model=Account, **filters):
    pk = getattr(obj_or_id, "pk", obj_or_id)
    with tenant_context(tenant):
        ct = ContentType.objects.get_for_model(model)
        return list(AuditEntry.objects.filter(content_type=ct, object_id=pk, **filters).order_by("id"))


def test_merge_records_one_merge_entry_on_the_winner_and_one_on_each_loser(tenant, trio):
    winner, first, second = trio
    admin = tenant.admin
    with tenant_context(tenant, actor=admin):
        dedupe.merge_records(
            actor=admin,
            entity_key=A,
            winner=winner,
            losers=[first, second],
            choices={"industry": first.pk, "website": second.pk, "name": winner.pk},
        )

    (merge,) = entries_of(tenant, winner, action=AuditAction.MERGE)
    assert merge.actor == admin and merge.object_repr == "腾飞电子"
    merged = merge.changes["merged records"][1]
    assert f"深圳市腾飞电子有限公司 (#{first.pk})" in merged and f"Tengfei Electronics (#{second.pk})" in merged
    # The values picked from the merged records, as [before, after].
    assert merge.changes["industry"] == ["", "it"]
    assert merge.changes["website"] == ["", "https://tengfei.example"]
    assert "name" not in merge.changes  # the winner's own value was kept: nothing changed
    assert "2" in merge.note

    # The winner's own service still records its field-level update.
    updates = entries_of(tenant, winner, action=AuditAction.UPDATE)
    assert any(e.changes.get("industry") == ["", "it"] for e in updates)

    for loser in (first, second):
        (entry,) = entries_of(tenant, loser, action=AuditAction.MERGE)
        assert entry.changes["merged into"] == [None, f"腾飞电子 (#{winner.pk})"]
        assert f"#{winner.pk}" in entry.note
        assert entry.changes["name"] == [loser.name, None]  # what the merged record held
        assert not entries_of(tenant, loser, action=AuditAction.DELETE)
        assert entries_of(tenant, loser, action=AuditAction.CREATE)  # its history stays
    assert entries_of(tenant, first, action=AuditAction.MERGE)[0].changes["city"] == ["深圳", None]


def test_contacts_merge_is_audited_the_same_way(tenant):
    admin = tenant.admin
    with tenant_context(tenant, actor=admin):
        keep = services.contact_create(actor=admin, data={"family_name": "张", "given_name": "三"})
        dup = services.contact_create(
            actor=admin, data={"family_name": "张", "given_name": "三", "title": "总经理", "email": "zs@example.com"}
        )
        dedupe.merge_records(actor=admin, entity_key=C, winner=keep, losers=[dup], choices={"title": dup.pk})
        assert not Contact.objects.filter(pk=dup.pk).exists()
    (merge,) = entries_of(tenant, keep, Contact, action=AuditAction.MERGE)
    assert f"(#{dup.pk})" in merge.changes["merged records"][1]
    assert merge.changes["title"] == ["", "总经理"]
    (gone,) = entries_of(tenant, dup, Contact, action=AuditAction.MERGE)
    assert gone.changes["merged into"][1].endswith(f"(#{keep.pk})")


def test_audit_log_filters_merges_and_shows_them_readably(admin_client, tenant, trio):
    winner, first, second = trio
    with tenant_context(tenant, actor=tenant.admin):
        dedupe.merge_records(
            actor=tenant.admin, entity_key=A, winner=winner, losers=[first, second], choices={"industry": first.pk}
        )
    page = admin_client.get(reverse("audit:log"))
    assert '<option value="merge">Merged</option>' in page.content.decode()

    response = admin_client.get(reverse("audit:log"), {"action": "merge"})
    assert response.status_code == 200
    entries = list(response.context["page"].items)
    assert {(e.action, e.object_id) for e in entries} == {
        ("merge", winner.pk),
        ("merge", first.pk),
        ("merge", second.pk),
    }
    html = response.content.decode()
    assert html.count('data-testid="merge-entry"') == 3
    assert "Merged records:" in html and "Merged into:" in html and "Industry:" in html
    assert ">Created</span>" not in html  # only merges

    # An htmx refresh of the results with the filter gives the same rows.
    fragment = admin_client.get(
        reverse("audit:log"), {"action": "merge"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="gx-audit-results"
    ).content.decode()
    assert fragment.count('data-testid="merge-entry"') == 3 and "<html" not in fragment


def test_history_tab_shows_the_merge_in_english_and_chinese(client, tenant, trio):
    winner, first, _second = trio
    with tenant_context(tenant, actor=tenant.admin):
        dedupe.merge_records(
            actor=tenant.admin, entity_key=A, winner=winner, losers=[first], choices={"industry": first.pk}
        )
    client.force_login(tenant.admin)
    url = reverse("audit:history", args=[ContentType.objects.get_for_model(Account).pk, winner.pk])
    html = client.get(url).content.decode()
    assert 'data-testid="merge-entry"' in html and "bi-intersect" in html
    assert "Merged records" in html and f"深圳市腾飞电子有限公司 (#{first.pk})" in html
    assert "Merged 1 duplicate into this record" in html
    zh = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "被合并的记录" in zh and "已合并" in zh


def test_ui_and_api_merges_record_merge_entries(client, admin_client, tenant, trio):
    winner, first, second = trio
    response = admin_client.post(
        reverse("dedupe:merge"),
        {"entity": A, "ids": f"{winner.pk},{first.pk}", "winner": winner.pk, "choice:industry": first.pk},
    )
    assert response.status_code == 302
    (entry,) = entries_of(tenant, winner, action=AuditAction.MERGE)
    assert entry.via == "web" and entry.changes["industry"] == ["", "it"]

    with tenant_context(tenant, actor=tenant.admin):
        secret = api_token_create(user=tenant.admin, name="t", scope="write")[1]
    r = client.post(
        "/api/v1/duplicates/merge",
        json.dumps({"entity": "accounts", "winner_id": winner.pk, "loser_ids": [second.pk]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert r.status_code == 200, r.content
    api_entry = entries_of(tenant, winner, action=AuditAction.MERGE)[-1]
    assert api_entry.via == "api" and f"(#{second.pk})" in api_entry.changes["merged records"][1]
    (gone,) = entries_of(tenant, second, action=AuditAction.MERGE)
    assert gone.via == "api"


def test_merge_entries_stay_in_their_tenant(client, tenant, other_tenant, trio):
    winner, first, _second = trio
    with tenant_context(tenant, actor=tenant.admin):
        dedupe.merge_records(actor=tenant.admin, entity_key=A, winner=winner, losers=[first])
    client.force_login(other_tenant.admin)
    html = client.get(reverse("audit:log"), {"action": "merge"}).content.decode()
    assert "腾飞电子" not in html and 'data-testid="merge-entry"' not in html


def test_the_winners_history_tab_keeps_the_merged_records_history(client, tenant, trio):
    winner, first, _second = trio
    with tenant_context(tenant, actor=tenant.admin):
        services.account_update(actor=tenant.admin, account=first, data={"city": "广州"})
        dedupe.merge_records(actor=tenant.admin, entity_key=A, winner=winner, losers=[first], choices={})
    client.force_login(tenant.admin)
    url = reverse("audit:history", args=[ContentType.objects.get_for_model(Account).pk, winner.pk])
    html = client.get(url).content.decode()
    # The merged record's creation, its change of city and its merge entry, marked as its own.
    assert html.count('data-testid="merged-record-entry"') == 3
    assert f"merged record #{first.pk}" in html and "广州" in html
    zh = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f"被合并的记录 #{first.pk}" in zh
