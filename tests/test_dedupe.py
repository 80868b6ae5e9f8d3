"""Duplicate detection, the review list, merging records and the merge redirects."""

import datetime
import json

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from guanxi.access import services as access_services
from guanxi.access.models import RecordShare, RestrictedField
from guanxi.activities.models import Activity, ActivityParticipant
from guanxi.audit.models import AuditAction, AuditEntry
from guanxi.customers import services
from guanxi.customers.models import (
    Account,
    AccountContact,
    AccountTag,
    Contact,
    ContactPoint,
    ContactTag,
    LifecycleChange,
)
from guanxi.customization.models import CustomFieldDefinition, Tag
from guanxi.dedupe import detection
from guanxi.dedupe import services as dedupe
from guanxi.dedupe.models import DuplicateCandidate, DuplicateScan, MergeRedirect
from guanxi.dedupe.tasks import nightly_duplicate_scan
from guanxi.identity.services import api_token_create
from guanxi.org.models import Team
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member

A, C = "customers.account", "customers.contact"


def account(tenant, actor=None, **data):
    actor = actor or tenant.admin
    tags = data.pop("tags", None)
    with tenant_context(tenant, actor=actor):
        return services.account_create(actor=actor, data=data, tags=tags)


def contact(tenant, actor=None, **data):
    actor = actor or tenant.admin
    tags = data.pop("tags", None)
    with tenant_context(tenant, actor=actor):
        return services.contact_create(actor=actor, data=data, tags=tags)


def pairs(tenant, entity):
    with tenant_context(tenant):
        return {
            (c.first_id, c.second_id): c
            for c in DuplicateCandidate.objects.filter(entity=entity, status=DuplicateCandidate.Status.OPEN)
        }


def scan(tenant):
    with tenant_context(tenant):
        return dedupe.scan_run()


# --- normalisation ---------------------------------------------------------------------------


def test_company_names_are_normalised():
    n = detection.normalize_company
    assert n("深圳市腾飞电子有限公司") == n("腾飞电子") == "腾飞电子"
    assert n("北京华为技术股份有限公司") == n("北京华为技术") != ""
    assert n("ACME Co., Ltd.") == n("Acme") == n("acme inc") == n("ACME GmbH") == "acme"
    assert n("Siemens AG") == "siemens"
    assert n("公司") == "公司"  # a name that is only a suffix stays
    assert detection.website_domain("https://www.Example.com/about") == "example.com"
    assert detection.website_domain("example.com") == "example.com"
    assert detection.normalize_person("Smith", "John") == detection.normalize_person(" smith", "JOHN ")


# --- detection -------------------------------------------------------------------------------


def test_contacts_with_the_same_email_or_phone_or_similar_name_are_found(tenant):
    acme = account(tenant, name="Acme")
    a = contact(tenant, family_name="Smith", given_name="John", email="JOHN@acme.example")
    b = contact(tenant, family_name="Smyth", given_name="Jon", email="john@acme.example")
    c = contact(tenant, family_name="李", given_name="娜", phone="138 0013 8000")
    d = contact(tenant, family_name="Li", given_name="Na", phone="+86 138-0013-8000")
    e = contact(tenant, family_name="王", given_name="伟", account=acme)
    f = contact(tenant, family_name="王", given_name="伟", account=acme)
    g = contact(tenant, family_name="Johnson", given_name="Mary", city="Shanghai")
    h = contact(tenant, family_name="Johnson", given_name="Marry", city="shanghai")
    # Different people: another name at the same account, the same name in different cities.
    contact(tenant, family_name="王", given_name="芳", account=acme)
    contact(tenant, family_name="Smith", given_name="Jane", city="Beijing")
    contact(tenant, family_name="Smith", given_name="Jane", city="Tianjin")
    contact(tenant, family_name="Smith", given_name="John", email="other@acme.example")
    result = scan(tenant)
    assert result.status == DuplicateScan.Status.DONE
    found = pairs(tenant, C)
    key = lambda x, y: (min(x.pk, y.pk), max(x.pk, y.pk))  # noqa: E731
    assert set(found) == {key(a, b), key(c, d), key(e, f), key(g, h)}
    assert found[key(a, b)].reasons[0] == {"kind": "email", "value": "john@acme.example"}
    assert found[key(c, d)].reasons[0]["kind"] == "phone" and found[key(c, d)].score >= 90
    assert found[key(e, f)].reasons[0]["kind"] == "name_same_account" and found[key(e, f)].score == 85
    assert found[key(g, h)].reasons[0]["kind"] == "name_same_city"
    assert found[key(g, h)].score < found[key(e, f)].score


def test_accounts_by_name_phone_email_and_website(tenant):
    a = account(tenant, name="深圳市腾飞电子有限公司")
    b = account(tenant, name="腾飞电子")
    c = account(tenant, name="ACME Trading Co., Ltd.", website="https://www.acme.example/")
    d = account(tenant, name="Acme Trading GmbH")
    e = account(tenant, name="Northwind", phone="021 5555 1234")
    f = account(tenant, name="NW Shanghai", phone="+86 21 5555 1234")
    g = account(tenant, name="Contoso", email="info@contoso.example")
    h = account(tenant, name="Contoso China", email="INFO@contoso.example")
    i = account(tenant, name="Fabrikam", website="http://acme.example/contact")
    account(tenant, name="腾讯科技")  # different company, similar shape
    account(tenant, name="Globex")
    scan(tenant)
    found = pairs(tenant, A)
    key = lambda x, y: (min(x.pk, y.pk), max(x.pk, y.pk))  # noqa: E731
    assert set(found) == {key(a, b), key(c, d), key(e, f), key(g, h), key(c, i)}
    assert {r["kind"] for r in found[key(c, i)].reasons} == {"website"}
    # Pairs sharing records form one group.
    assert found[key(c, d)].group_id == found[key(c, i)].group_id == min(c.pk, d.pk, i.pk)


def test_blocking_keeps_comparisons_bounded(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        contacts = [
            Contact(
                family_name=f"Person{i:04d}", given_name=f"X{i * 7919 % 1000:03d}", city="Beijing", owner=tenant.admin
            )
            for i in range(400)
        ]
        Contact.objects.bulk_create(contacts)
        det = detection.detect_contacts()
    all_pairs = 400 * 399 // 2
    assert det.comparisons <= 400 * detection.WINDOW < all_pairs / 9
    # A phone number shared by more records than MAX_BLOCK (a switchboard) is skipped, not paired.
    with tenant_context(tenant, actor=tenant.admin):
        points = [ContactPoint(contact=c, kind="phone", value="+861012345678") for c in Contact.objects.all()[:60]]
        ContactPoint.objects.bulk_create(points)
        det = detection.detect_contacts()
    assert det.skipped_blocks >= 1 and not any(r.get("kind") == "phone" for p in det.pairs.values() for r in p.values())


def test_scans_are_idempotent_and_keep_decisions(tenant, admin_user):
    a = contact(tenant, family_name="Zhang", given_name="San", email="z@x.example")
    b = contact(tenant, family_name="Chang", given_name="Sam", email="z@x.example")
    c = contact(tenant, family_name="Zhao", given_name="Liu", phone="13900001111")
    d = contact(tenant, family_name="Qian", given_name="Qi", phone="13900001111")
    scan(tenant)
    first = {k: (v.pk, v.score) for k, v in pairs(tenant, C).items()}
    assert len(first) == 2
    scan(tenant)
    assert {k: (v.pk, v.score) for k, v in pairs(tenant, C).items()} == first
    with tenant_context(tenant, actor=admin_user):
        cand = DuplicateCandidate.objects.get(first_id=min(c.pk, d.pk))
        dedupe.candidates_dismiss(actor=admin_user, entity_key=C, candidate_ids=[cand.pk])
    scan(tenant)
    with tenant_context(tenant):
        assert DuplicateCandidate.objects.get(pk=cand.pk).status == DuplicateCandidate.Status.DISMISSED
        assert DuplicateCandidate.objects.count() == 2
    # A pair that no longer matches disappears from the open list.
    with tenant_context(tenant, actor=admin_user):
        services.contact_update(actor=admin_user, contact=b, data={"emails": [("b@x.example", "work")]})
    scan(tenant)
    assert set(pairs(tenant, C)) == set()
    assert a.pk


def test_nightly_job_runs_once_a_night_per_tenant(tenant, other_tenant, monkeypatch):
    contact(tenant, family_name="A", email="same@x.example")
    contact(tenant, family_name="B", email="same@x.example")
    night = datetime.datetime(2025, 3, 3, 18, 30, tzinfo=datetime.UTC)  # 02:30 in Shanghai
    day = datetime.datetime(2025, 3, 3, 6, 0, tzinfo=datetime.UTC)  # 14:00 in Shanghai
    monkeypatch.setattr(timezone, "now", lambda: day)
    assert nightly_duplicate_scan.call() == {}
    monkeypatch.setattr(timezone, "now", lambda: night)
    done = nightly_duplicate_scan.call()
    assert set(done) == {tenant.slug, other_tenant.slug}
    assert done[tenant.slug][C]["new"] == 1
    assert nightly_duplicate_scan.call() == {}  # the same night again: nothing to do
    monkeypatch.setattr(timezone, "now", lambda: night + datetime.timedelta(hours=1))
    assert nightly_duplicate_scan.call() == {}
    with tenant_context(tenant):
        assert DuplicateScan.objects.filter(trigger="nightly").count() == 1
        assert DuplicateCandidate.objects.count() == 1
    monkeypatch.setattr(timezone, "now", lambda: night + datetime.timedelta(days=1))
    assert tenant.slug in nightly_duplicate_scan.call()
    with tenant_context(tenant):
        assert DuplicateScan.objects.filter(trigger="nightly").count() == 2
        assert DuplicateCandidate.objects.count() == 1


def test_the_scheduler_enqueues_the_nightly_scan(tenant, monkeypatch):
    from django.core.management import call_command

    night = datetime.datetime(2025, 3, 3, 18, 30, tzinfo=datetime.UTC)
    monkeypatch.setattr(timezone, "now", lambda: night)
    call_command("run_scheduler", "--once", verbosity=0)  # the test task backend runs what it enqueues
    call_command("run_scheduler", "--once", verbosity=0)
    with tenant_context(tenant):
        assert DuplicateScan.objects.filter(trigger="nightly", status="done").count() == 1


# --- merging ---------------------------------------------------------------------------------


@pytest.fixture
def world(tenant):
    """Two duplicate accounts and two duplicate contacts, with every kind of related record."""
    admin = tenant.admin
    with tenant_context(tenant, actor=admin):
        CustomFieldDefinition.objects.create(entity="customers.account", key="code", label_en="Code", field_type="text")
        vip = Tag.objects.create(name="VIP")
        key_tag = Tag.objects.create(name="Key")
        other_tag = Tag.objects.create(name="Other")
        team = Team.objects.create(name="North")
        winner = services.account_create(actor=admin, data={"name": "腾飞电子", "phone": "0755 8888 6666"}, tags=[vip])
        loser = services.account_create(
            actor=admin,
            data={
                "name": "深圳市腾飞电子有限公司",
                "phone": "0755 8888 7777",
                "email": "info@tengfei.example",
                "industry": "it",
                "custom": {"code": "TF-1"},
            },
            tags=[vip, key_tag],
        )
        services.account_change_stage(actor=admin, account=loser, stage="customer")
        subsidiary = services.account_create(actor=admin, data={"name": "Tengfei HK", "parent": loser})
        zhang = services.contact_create(
            actor=admin,
            data={
                "family_name": "张",
                "given_name": "三",
                "account": winner,
                "emails": [("zs@tengfei.example", "work")],
            },
            tags=[vip],
        )
        zhang2 = services.contact_create(
            actor=admin,
            data={
                "family_name": "张",
                "given_name": "三",
                "account": loser,
                "title": "总经理",
                "emails": [("ZS@tengfei.example", "work"), ("zs@home.example", "home")],
                "phones": [("138 0013 8000", "mobile")],
            },
            tags=[other_tag],
        )
        services.contact_link_account(actor=admin, contact=zhang, account=loser, role="buyer")
        call = Activity.objects.create(subject="Call", owner=admin, account=loser, contact=zhang2)
        meeting = Activity.objects.create(subject="Meeting", owner=admin, kind="meeting")
        ActivityParticipant.objects.create(activity=meeting, contact=zhang2)
        about = Activity.objects.create(
            subject="About the loser",
            owner=admin,
            regarding_type=ContentType.objects.get_for_model(Account),
            regarding_id=loser.pk,
        )
        access_services.record_share_create(actor=admin, obj=loser, team=team, access="edit")
        access_services.record_share_create(actor=admin, obj=winner, team=team, access="read")
    return {
        "winner": winner,
        "loser": loser,
        "subsidiary": subsidiary,
        "zhang": zhang,
        "zhang2": zhang2,
        "call": call,
        "meeting": meeting,
        "about": about,
        "tags": (vip, key_tag, other_tag),
        "team": team,
    }


def test_merging_accounts_keeps_every_related_record(tenant, world):
    admin = tenant.admin
    winner, loser = world["winner"], world["loser"]
    with tenant_context(tenant, actor=admin):
        lifecycle_before = LifecycleChange.objects.filter(account__in=[winner, loser]).count()
        merged = dedupe.merge_records(
            actor=admin,
            entity_key=A,
            winner=winner,
            losers=[loser],
            choices={"industry": loser.pk, "email": loser.pk, "custom.code": loser.pk, "name": winner.pk},
        )
        assert merged.pk == winner.pk
        assert not Account.objects.filter(pk=loser.pk).exists()
        winner.refresh_from_db()
        assert (winner.name, winner.industry, winner.email, winner.custom) == (
            "腾飞电子",
            "it",
            "info@tengfei.example",
            {"code": "TF-1"},
        )
        assert winner.phone == "+8675588886666"  # not chosen: the winner's value stays
        # Related records moved, none orphaned or lost.
        assert Contact.objects.get(pk=world["zhang2"].pk).account_id == winner.pk
        assert Activity.objects.get(pk=world["call"].pk).account_id == winner.pk
        assert Activity.objects.get(pk=world["about"].pk).regarding_id == winner.pk
        assert Account.objects.get(pk=world["subsidiary"].pk).parent_id == winner.pk
        assert LifecycleChange.objects.filter(account=winner).count() == lifecycle_before
        assert {t.name for t in winner.tags.all()} == {"VIP", "Key"}
        assert AccountTag.objects.filter(account_id=loser.pk).count() == 0
        links = AccountContact.objects.filter(account=winner)
        assert sorted(links.values_list("contact_id", flat=True)) == sorted([world["zhang"].pk, world["zhang2"].pk])
        points = set(ContactPoint.objects.filter(account=winner).values_list("kind", "value", "is_primary"))
        assert points == {
            ("phone", "+8675588886666", True),
            ("phone", "+8675588887777", False),
            ("email", "info@tengfei.example", True),
        }
        ct = ContentType.objects.get_for_model(Account)
        shares = list(RecordShare.objects.filter(content_type=ct, object_id__in=[winner.pk, loser.pk]))
        assert [(s.object_id, s.team_id, s.access) for s in shares] == [(winner.pk, world["team"].pk, "edit")]
        assert not ContactPoint.objects.filter(account_id=loser.pk).exists()
        # Audit: a merge entry on the winner, a merge entry for the loser, the loser's history kept.
        entries = AuditEntry.objects.filter(content_type=ct)
        merge = entries.get(object_id=winner.pk, action=AuditAction.MERGE)
        assert f"#{loser.pk}" in merge.changes["merged records"][1]
        assert merge.changes["industry"] == ["", "it"]
        assert merge.changes["custom.code"] == [None, "TF-1"]
        gone = entries.get(object_id=loser.pk, action=AuditAction.MERGE)
        assert f"#{winner.pk}" in gone.note and gone.changes["name"] == ["深圳市腾飞电子有限公司", None]
        assert entries.filter(object_id=loser.pk, action=AuditAction.CREATE).exists()
        assert MergeRedirect.objects.get(entity=A, old_id=loser.pk).new_id == winner.pk


def test_merging_contacts_unions_emails_phones_links_and_tags(tenant, world):
    admin = tenant.admin
    zhang, zhang2 = world["zhang"], world["zhang2"]
    with tenant_context(tenant, actor=admin):
        dedupe.merge_records(
            actor=admin, entity_key=C, winner=zhang, losers=[zhang2], choices={"title": zhang2.pk, "email": zhang.pk}
        )
        zhang.refresh_from_db()
        assert zhang.title == "总经理" and zhang.email == "zs@tengfei.example"
        assert sorted(ContactPoint.objects.filter(contact=zhang).values_list("kind", "value", "is_primary")) == [
            ("email", "zs@home.example", False),
            ("email", "zs@tengfei.example", True),
            ("phone", "+8613800138000", True),
        ]
        assert zhang.phone == "+8613800138000"  # the winner had none: the merged number fills the blank
        assert sorted(AccountContact.objects.filter(contact=zhang).values_list("account_id", flat=True)) == sorted(
            [world["winner"].pk, world["loser"].pk]
        )
        assert Activity.objects.get(pk=world["call"].pk).contact_id == zhang.pk
        assert ActivityParticipant.objects.get(activity=world["meeting"]).contact_id == zhang.pk
        assert {t.name for t in zhang.tags.all()} == {"VIP", "Other"}
        assert not Contact.objects.filter(pk=zhang2.pk).exists()
        assert not ContactTag.objects.filter(contact_id=zhang2.pk).exists()


def test_choosing_a_primary_email_of_another_contact_keeps_every_address(tenant, world):
    admin = tenant.admin
    zhang, zhang2 = world["zhang"], world["zhang2"]
    with tenant_context(tenant, actor=admin):
        dedupe.merge_records(actor=admin, entity_key=C, winner=zhang, losers=[zhang2], choices={"email": zhang2.pk})
        zhang.refresh_from_db()
        assert zhang.email == "zs@tengfei.example"  # identical once normalised
        dup = services.contact_create(
            actor=admin, data={"family_name": "张", "given_name": "三", "emails": [("z3@new.example", "work")]}
        )
        dedupe.merge_records(actor=admin, entity_key=C, winner=zhang, losers=[dup], choices={"email": dup.pk})
        zhang.refresh_from_db()
        assert zhang.email == "z3@new.example"
        emails = dict(ContactPoint.objects.filter(contact=zhang, kind="email").values_list("value", "is_primary"))
        assert emails == {"z3@new.example": True, "zs@tengfei.example": False, "zs@home.example": False}


def test_redirects_follow_chains_and_respect_visibility(client, tenant, world):
    admin = tenant.admin
    with tenant_context(tenant, actor=admin):
        third = services.account_create(actor=admin, data={"name": "Tengfei (old)"})
        dedupe.merge_records(actor=admin, entity_key=A, winner=world["loser"], losers=[third])
        dedupe.merge_records(actor=admin, entity_key=A, winner=world["winner"], losers=[world["loser"]])
    client.force_login(admin)
    for old in (third.pk, world["loser"].pk):
        r = client.get(reverse("customers:account_detail", args=[old]))
        assert r.status_code == 302 and r["Location"] == reverse("customers:account_detail", args=[world["winner"].pk])
    assert client.get(reverse("customers:account_edit", args=[third.pk])).status_code == 404
    assert client.get(reverse("customers:account_detail", args=[999999])).status_code == 404
    # Someone who may not see the winner gets a 404, not a redirect.
    rep = make_member(tenant, roles=("Sales representative",))
    client.force_login(rep)
    assert client.get(reverse("customers:account_detail", args=[third.pk])).status_code == 404


def test_redirects_do_not_cross_tenants(client, tenant, other_tenant, world):
    with tenant_context(tenant, actor=tenant.admin):
        dedupe.merge_records(actor=tenant.admin, entity_key=A, winner=world["winner"], losers=[world["loser"]])
    client.force_login(other_tenant.admin)
    assert client.get(reverse("customers:account_detail", args=[world["loser"].pk])).status_code == 404


def test_merge_needs_edit_on_the_winner_and_delete_on_the_losers(tenant):
    rep = make_member(tenant, roles=("Sales representative",))
    mine = account(tenant, actor=rep, name="Mine")
    also_mine = account(tenant, actor=rep, name="Mine too")
    theirs = account(tenant, name="Theirs")  # owned by the admin: the rep may not delete it
    agent = make_member(tenant, roles=("Service agent",))  # edits own records, deletes nothing
    agents = account(tenant, actor=agent, name="Agent's")
    agents2 = account(tenant, actor=agent, name="Agent's 2")
    from django.http import Http404

    with tenant_context(tenant, actor=rep):
        with pytest.raises(Http404):
            dedupe.merge_records(actor=rep, entity_key=A, winner=mine, losers=[theirs])
        with pytest.raises(Http404):
            dedupe.merge_records(actor=rep, entity_key=A, winner=theirs, losers=[mine])
        assert Account.objects.filter(pk__in=[mine.pk, theirs.pk]).count() == 2
    with tenant_context(tenant, actor=agent), pytest.raises(Http404):
        dedupe.merge_records(actor=agent, entity_key=A, winner=agents, losers=[agents2])
    with tenant_context(tenant, actor=rep):
        dedupe.merge_records(actor=rep, entity_key=A, winner=mine, losers=[also_mine])
        assert not Account.objects.filter(pk=also_mine.pk).exists()


def test_restricted_fields_cannot_be_chosen(tenant, world):
    manager = make_member(tenant, roles=("Sales manager",))
    with tenant_context(tenant, actor=tenant.admin):
        RestrictedField.objects.create(module=A, field_name="industry")
        Account.objects.filter(pk__in=[world["winner"].pk, world["loser"].pk]).update(owner=manager)
    from django.core.exceptions import ValidationError

    with tenant_context(tenant, actor=manager):
        winner = Account.objects.get(pk=world["winner"].pk)
        loser = Account.objects.get(pk=world["loser"].pk)
        with pytest.raises(ValidationError) as exc:
            dedupe.merge_records(
                actor=manager, entity_key=A, winner=winner, losers=[loser], choices={"industry": loser.pk}
            )
        assert "industry" in exc.value.message_dict
        assert Account.objects.filter(pk=loser.pk).exists()
        dedupe.merge_records(actor=manager, entity_key=A, winner=winner, losers=[loser], choices={})
        winner.refresh_from_db()
        assert winner.industry == ""  # the hidden field kept the winner's value


def test_merge_marks_candidates_and_keeps_decisions_about_others(tenant, admin_user):
    a = contact(tenant, family_name="Zhou", given_name="Yi", email="zy@x.example")
    b = contact(tenant, family_name="Zhou", given_name="Yi", email="zy@x.example")
    c = contact(tenant, family_name="Zhou", given_name="Yi", email="zy@x.example", phone="13912345678")
    scan(tenant)
    with tenant_context(tenant, actor=admin_user):
        bc = DuplicateCandidate.objects.get(first_id=min(b.pk, c.pk), second_id=max(b.pk, c.pk))
        dedupe.candidates_dismiss(actor=admin_user, entity_key=C, candidate_ids=[bc.pk])
        dedupe.merge_records(actor=admin_user, entity_key=C, winner=a, losers=[b])
        statuses = {(x.first_id, x.second_id): x.status for x in DuplicateCandidate.objects.all()}
    assert statuses[(min(a.pk, b.pk), max(a.pk, b.pk))] == "merged"
    assert statuses[(min(a.pk, c.pk), max(a.pk, c.pk))] in ("open", "dismissed")
    assert len(statuses) == 2


def test_merging_a_parent_into_its_subsidiary_leaves_no_cycle(tenant):
    parent = account(tenant, name="Holding")
    middle = account(tenant, name="Middle", parent=parent)
    child = account(tenant, name="Holding Ltd", parent=middle)
    with tenant_context(tenant, actor=tenant.admin):
        dedupe.merge_records(actor=tenant.admin, entity_key=A, winner=child, losers=[parent])
        middle.refresh_from_db()
        child.refresh_from_db()
        assert middle.parent_id == child.pk and child.parent_id is None


# --- pages and API ---------------------------------------------------------------------------


def test_review_list_shows_groups_and_merges(client, tenant, world, django_capture_on_commit_callbacks):
    client.force_login(tenant.admin)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("dedupe:scan"), {"entity": C}).status_code == 302
    with tenant_context(tenant):
        assert DuplicateScan.objects.get().status == "done"
    page = client.get(reverse("dedupe:list"), {"entity": "contacts"}).content.decode()
    assert page.count('data-testid="duplicate-group"') == 1
    assert "Same email: zs@tengfei.example" in page and "张三" in page
    zhang, zhang2 = world["zhang"], world["zhang2"]
    url = reverse("dedupe:merge") + f"?entity=contacts&ids={zhang.pk},{zhang2.pk}"
    page = client.get(url).content.decode()
    assert "总经理" in page and 'name="choice:title"' in page
    r = client.post(
        reverse("dedupe:merge"),
        {"entity": "contacts", "ids": f"{zhang.pk},{zhang2.pk}", "winner": zhang2.pk, "choice:title": zhang2.pk},
    )
    assert r.status_code == 302 and r["Location"] == reverse("customers:contact_detail", args=[zhang2.pk])
    with tenant_context(tenant):
        assert not Contact.objects.filter(pk=zhang.pk).exists()
    page = client.get(reverse("dedupe:list"), {"entity": "contacts"}).content.decode()
    assert 'data-testid="duplicate-group"' not in page
    # Dismissing from the list.
    with tenant_context(tenant):
        dedupe.scan_run()
        accounts_open = list(DuplicateCandidate.objects.filter(entity=A, status="open").values_list("pk", flat=True))
    assert accounts_open
    r = client.post(reverse("dedupe:dismiss"), {"entity": A, "candidate": accounts_open})
    assert r.status_code == 302
    page = client.get(reverse("dedupe:list"), {"entity": "accounts", "status": "dismissed"}).content.decode()
    assert page.count('data-testid="duplicate-group"') == 1


def test_nav_and_pages_need_edit_rights(client, tenant, world):
    reader = make_member(tenant, roles=("Read only",))
    client.force_login(reader)
    assert "/duplicates/" not in client.get(reverse("customers:account_list")).content.decode()
    assert client.get(reverse("dedupe:list")).status_code == 403
    assert client.post(reverse("dedupe:scan")).status_code == 403
    ids = f"{world['zhang'].pk},{world['zhang2'].pk}"
    assert client.get(reverse("dedupe:merge"), {"entity": C, "ids": ids}).status_code == 403
    rep = make_member(tenant, roles=("Sales representative",))
    client.force_login(rep)
    assert "/duplicates/" in client.get(reverse("customers:account_list")).content.decode()
    # The rep sees neither record: the merge page is a 404.
    assert client.get(reverse("dedupe:merge"), {"entity": C, "ids": ids}).status_code == 404


def test_pages_answer_404_for_another_tenants_ids(client, tenant, other_tenant, world):
    scan(tenant)
    with tenant_context(tenant):
        candidate = DuplicateCandidate.objects.filter(entity=C).first()
    client.force_login(other_tenant.admin)
    ids = f"{world['zhang'].pk},{world['zhang2'].pk}"
    assert client.get(reverse("dedupe:merge"), {"entity": C, "ids": ids}).status_code == 404
    assert client.post(reverse("dedupe:merge"), {"entity": C, "ids": ids}).status_code == 404
    assert client.post(reverse("dedupe:dismiss"), {"entity": C, "candidate": candidate.pk}).status_code == 404
    assert "张" not in client.get(reverse("dedupe:list"), {"entity": C}).content.decode()
    with tenant_context(tenant):
        assert DuplicateCandidate.objects.get(pk=candidate.pk).status == "open"
        assert Contact.objects.filter(pk=world["zhang2"].pk).exists()


def bearer(tenant, user, scope="write"):
    with tenant_context(tenant, actor=user):
        return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(user=user, name='t', scope=scope)[1]}"}


def test_api_lists_dismisses_and_merges(client, tenant, world):
    auth = bearer(tenant, tenant.admin)
    r = client.post("/api/v1/duplicates/scan", **auth)
    assert r.status_code == 202, r.content
    scan(tenant)
    r = client.get("/api/v1/duplicates", {"entity": "accounts"}, **auth)
    assert r.status_code == 200
    items = r.json()["items"]
    assert len(items) == 1 and set(items[0]["record_ids"]) == {world["winner"].pk, world["loser"].pk}
    assert items[0]["reasons"][0]["kind"] == "name"
    r = client.post(
        "/api/v1/duplicates/merge",
        json.dumps(
            {
                "entity": "accounts",
                "winner_id": world["winner"].pk,
                "loser_ids": [world["loser"].pk],
                "choices": {"industry": world["loser"].pk},
            }
        ),
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 200, r.content
    assert r.json() == {"winner_id": world["winner"].pk, "merged_ids": [world["loser"].pk]}
    with tenant_context(tenant):
        assert Account.objects.get(pk=world["winner"].pk).industry == "it"
    assert client.get("/api/v1/duplicates", {"entity": "accounts"}, **auth).json()["items"] == []
    r = client.get("/api/v1/duplicates", {"entity": "contacts"}, **auth)
    cand = r.json()["items"][0]["id"]
    r = client.post(
        "/api/v1/duplicates/dismiss",
        json.dumps({"entity": "contacts", "ids": [cand]}),
        content_type="application/json",
        **auth,
    )
    assert r.json() == {"dismissed": 1}
    assert client.get("/api/v1/duplicates", {"entity": "contacts", "status": "dismissed"}, **auth).json()["items"]


def test_api_refuses_other_tenants_ids_and_missing_rights(client, tenant, other_tenant, world):
    scan(tenant)
    with tenant_context(tenant):
        cand = DuplicateCandidate.objects.filter(entity=A).first()
    attacker = bearer(other_tenant, other_tenant.admin)
    body = {"entity": "accounts", "winner_id": world["winner"].pk, "loser_ids": [world["loser"].pk]}
    r = client.post("/api/v1/duplicates/merge", json.dumps(body), content_type="application/json", **attacker)
    assert r.status_code == 404
    r = client.post(
        "/api/v1/duplicates/dismiss",
        json.dumps({"entity": "accounts", "ids": [cand.pk]}),
        content_type="application/json",
        **attacker,
    )
    assert r.status_code == 404
    assert client.get("/api/v1/duplicates", {"entity": "accounts"}, **attacker).json()["items"] == []
    reader = make_member(tenant, roles=("Read only",))
    r = client.post(
        "/api/v1/duplicates/merge", json.dumps(body), content_type="application/json", **bearer(tenant, reader)
    )
    assert r.status_code == 403
    rep = make_member(tenant, roles=("Sales representative",))
    r = client.post(
        "/api/v1/duplicates/merge", json.dumps(body), content_type="application/json", **bearer(tenant, rep)
    )
    assert r.status_code == 404
    with tenant_context(tenant):
        assert Account.objects.filter(pk=world["loser"].pk).exists()


def test_record_pages_point_to_open_duplicates(client, tenant, world):
    scan(tenant)
    client.force_login(tenant.admin)
    zhang, zhang2 = world["zhang"], world["zhang2"]
    page = client.get(reverse("customers:contact_detail", args=[zhang.pk])).content.decode()
    assert 'data-testid="duplicate-hint"' in page
    assert f"ids={zhang.pk}%2C{zhang2.pk}" in page
    page = client.get(reverse("customers:account_detail", args=[world["subsidiary"].pk])).content.decode()
    assert 'data-testid="duplicate-hint"' not in page
    reader = make_member(tenant, roles=("Read only",))  # may see, may not merge
    client.force_login(reader)
    page = client.get(reverse("customers:contact_detail", args=[zhang.pk])).content.decode()
    assert 'data-testid="duplicate-hint"' not in page
