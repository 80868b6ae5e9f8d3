"""Leads: capture, status flow, scoring rules, assignment rules, duplicates, conversion, web-to-lead."""

import time

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse

from guanxi.activities import services as activity_services
from guanxi.activities.models import Activity, Notification
from guanxi.audit.models import AuditEntry
from guanxi.customers import services as customer_services
from guanxi.customers.models import Account, Contact
from guanxi.org.models import Member
from guanxi.platform.context import all_tenants_scope, tenant_context
from guanxi.platform.testing import make_member, make_unit
from guanxi.sales import lead_services, webforms
from guanxi.sales.models import Lead, LeadAssignmentRule, LeadScoringRule, Opportunity, WebToLeadForm


def lead(actor, **data):
    return lead_services.lead_create(actor=actor, data={"company": "Acme", **data})


# --- capture and status flow ------------------------------------------------------------------------


def test_create_normalises_and_audits(in_tenant):
    admin = in_tenant.admin
    created = lead(admin, family_name="Smith", given_name="John", email=" John@Acme.COM ", phone="138-0013-8000")
    assert created.full_name == "John Smith" and created.email == "john@acme.com"
    assert created.phone == "+8613800138000" and created.owner == admin and created.status == "new"
    assert AuditEntry.objects.filter(object_id=created.pk, action="create").exists()
    with pytest.raises(ValidationError) as exc:
        lead_services.lead_create(actor=admin, data={"email": "x@y.com"})
    assert "company" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        lead(admin, phone="call me maybe")
    assert "phone" in exc.value.message_dict
    with pytest.raises(ValidationError):
        lead(admin, status="converted")


def test_status_flow_is_enforced(in_tenant):
    admin = in_tenant.admin
    obj = lead(admin)
    obj = lead_services.lead_change_status(actor=admin, lead=obj, status="contacted")
    with pytest.raises(ValidationError):
        lead_services.lead_change_status(actor=admin, lead=obj, status="new")
    obj = lead_services.lead_change_status(actor=admin, lead=obj, status="unqualified", reason="No budget")
    assert obj.unqualified_reason == "No budget"
    with pytest.raises(ValidationError):
        lead_services.lead_convert(actor=admin, lead=obj)
    obj = lead_services.lead_change_status(actor=admin, lead=obj, status="qualified")
    assert obj.unqualified_reason == ""
    with pytest.raises(ValidationError):
        lead_services.lead_change_status(actor=admin, lead=obj, status="converted")


def test_rep_permissions_on_leads(tenant):
    rep = make_member(tenant)
    other = make_member(tenant)
    reader = make_member(tenant, roles=("Read only",))
    with tenant_context(tenant, actor=other):
        theirs = lead(other)
    with tenant_context(tenant, actor=rep):
        mine = lead(rep)
        with pytest.raises(Http404):  # may see a team mate's lead? no team: not even that
            lead_services.lead_change_status(actor=rep, lead=theirs, status="contacted")
        lead_services.lead_change_status(actor=rep, lead=mine, status="contacted")
    with tenant_context(tenant, actor=reader), pytest.raises(PermissionDenied):
        lead(reader)


# --- scoring ----------------------------------------------------------------------------------------


def test_scoring_rules_fit_and_engagement(in_tenant):
    admin = in_tenant.admin
    rules = [
        LeadScoringRule(name="IT", field="industry", operator="in", value="it, finance", points=20),
        LeadScoringRule(name="Director", field="title", operator="contains", value="director", points=10),
        LeadScoringRule(name="Work mail", field="email_domain", operator="is_set", points=5),
        LeadScoringRule(name="Fair", field="source", operator="equals", value="trade_show", points=7),
        LeadScoringRule(name="Junk", field="campaign", operator="equals", value="junk", points=-50),
        LeadScoringRule(
            name="Call", field="activity.calls_connected", operator="greater_than", value="0", points=15,
            category="engagement",
        ),
        LeadScoringRule(
            name="Meetings", field="activity.meetings_held", operator="greater_than", value="1", points=25,
            category="engagement",
        ),
    ]  # fmt: skip
    for rule in rules:
        lead_services.scoring_rule_save(actor=admin, rule=rule)
    obj = lead(admin, industry="it", title="IT Director", email="a@acme.cn", source="trade_show")
    assert obj.score == 20 + 10 + 5 + 7
    assert obj.score_breakdown["fit"] == 42 and obj.score_breakdown["engagement"] == 0
    assert {i["name"] for i in obj.score_breakdown["items"]} == {"IT", "Director", "Work mail", "Fair"}
    gmail = lead(admin, email="a@gmail.com")
    assert gmail.score == 0  # free mail is no company domain

    ct = ContentType.objects.get_for_model(Lead)
    regarding = {"regarding_type": ct.pk, "regarding_id": obj.pk}
    activity_services.activity_create(
        actor=admin, data={"kind": "call", "subject": "Intro", "outcome": "connected", **regarding}
    )
    obj.refresh_from_db()
    assert obj.score == 57 and obj.score_breakdown["engagement"] == 15
    for _ in range(2):
        activity_services.activity_create(actor=admin, data={"kind": "meeting", "subject": "Demo", **regarding})
    obj.refresh_from_db()
    assert obj.score == 82
    call = Activity.objects.get(kind="call")
    activity_services.activity_delete(actor=admin, activity=call)
    obj.refresh_from_db()
    assert obj.score == 67

    # Changing a rule recomputes every lead; a change to the lead rescoring it.
    rule = LeadScoringRule.objects.get(name="IT")
    rule.points = 30
    lead_services.scoring_rule_save(actor=admin, rule=rule)
    obj.refresh_from_db()
    assert obj.score == 77
    obj = lead_services.lead_update(actor=admin, lead=obj, data={"campaign": "junk"})
    assert obj.score == 27


def test_scoring_rule_validation_and_suggested(in_tenant):
    admin = in_tenant.admin
    with pytest.raises(ValidationError) as exc:
        lead_services.scoring_rule_save(
            actor=admin, rule=LeadScoringRule(name="x", field="nope", operator="equals", value="a")
        )
    assert "field" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        lead_services.scoring_rule_save(
            actor=admin, rule=LeadScoringRule(name="x", field="activity.done", operator="greater_than", value="a")
        )
    assert "value" in exc.value.message_dict
    added = lead_services.scoring_rules_install_suggested(actor=admin)
    assert added == len(lead_services.SUGGESTED_RULES)
    assert lead_services.scoring_rules_install_suggested(actor=admin) == 0


def test_scoring_admin_only(tenant):
    rep = make_member(tenant)
    with tenant_context(tenant, actor=rep), pytest.raises(PermissionDenied):
        lead_services.scoring_rule_save(
            actor=rep, rule=LeadScoringRule(name="x", field="email", operator="is_set", points=1)
        )


def test_rescore_command(in_tenant):
    from django.core.management import call_command

    admin = in_tenant.admin
    obj = lead(admin, email="a@acme.cn")
    LeadScoringRule.objects.create(name="Mail", field="email", operator="is_set", points=9)  # no rescore yet
    obj.refresh_from_db()
    assert obj.score == 0
    call_command("rescore_leads", tenant=in_tenant.slug, verbosity=0)
    obj.refresh_from_db()
    assert obj.score == 9


# --- assignment -------------------------------------------------------------------------------------


def test_round_robin_and_criteria(tenant):
    admin = tenant.admin
    east = make_unit(tenant, "East")
    shanghai = make_unit(tenant, "Shanghai", parent=east, kind="branch")
    reps = [make_member(tenant) for _ in range(3)]
    with tenant_context(tenant, actor=admin):
        members = [Member.objects.get(user=u) for u in reps]
        lead_services.assignment_rule_save(
            actor=admin,
            rule=LeadAssignmentRule(name="Fairs", source="trade_show", strategy="fixed"),
            member_ids=[members[2].pk],
        )
        lead_services.assignment_rule_save(
            actor=admin, rule=LeadAssignmentRule(name="East", region=east), member_ids=[members[0].pk, members[1].pk]
        )
        owners = [
            lead_services.lead_create(actor=None, data={"company": f"C{i}", "region": shanghai}).owner for i in range(4)
        ]
        assert owners == [reps[0], reps[1], reps[0], reps[1]]
        fair = lead_services.lead_create(actor=None, data={"company": "Fair", "source": "trade_show"})
        assert fair.owner == reps[2]
        # No rule matches: the creator owns it; an explicit owner always wins.
        assert lead_services.lead_create(actor=admin, data={"company": "Else"}).owner == admin
        explicit = lead_services.lead_create(actor=admin, data={"company": "X", "region": east, "owner": reps[2]})
        assert explicit.owner == reps[2]
        # The new owner is told.
        note = Notification.objects.filter(user=reps[0], title__contains="C0").first()
        assert note is not None and note.kind == "assigned" and note.url.startswith("/sales/leads/")
        # Inactive people are skipped.
        Member.objects.filter(pk=members[0].pk).update(is_active=False)
        assert lead_services.lead_create(actor=None, data={"company": "Y", "region": east}).owner == reps[1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_round_robin_is_race_free_on_postgresql():
    """Concurrent creations take distinct turns (SELECT … FOR UPDATE on the rule row)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection, connections

    from guanxi.platform.testing import make_tenant

    if connection.vendor != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter")
    tenant = make_tenant()
    reps = [make_member(tenant) for _ in range(4)]
    with tenant_context(tenant, actor=tenant.admin):
        members = [Member.objects.get(user=u).pk for u in reps]
        lead_services.assignment_rule_save(actor=tenant.admin, rule=LeadAssignmentRule(name="All"), member_ids=members)

    def create(i):
        try:
            with tenant_context(tenant):
                return lead_services.lead_create(actor=None, data={"company": f"Race {i}"}).owner_id
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=4) as pool:
        owners = list(pool.map(create, range(8)))
    assert sorted(owners) == sorted([u.pk for u in reps] * 2)


# --- duplicates and conversion ----------------------------------------------------------------------


def test_company_core():
    assert lead_services.company_core("北京华信科技有限公司") == "北京华信科技"
    assert lead_services.company_core("Acme Co., Ltd.") == "acme"
    assert lead_services.company_core("ACME Inc") == "acme"


def test_duplicates_by_email_phone_and_name_respect_visibility(tenant):
    admin = tenant.admin
    rep = make_member(tenant)
    with tenant_context(tenant, actor=admin):
        hidden = customer_services.account_create(actor=admin, data={"name": "Globex GmbH", "phone": "13800138001"})
        customer_services.contact_create(actor=admin, data={"family_name": "Li", "email": "li@globex.com"})
    with tenant_context(tenant, actor=rep):
        mine = customer_services.account_create(actor=rep, data={"name": "GLOBEX Group"})
        obj = lead(rep, company="Globex", email="LI@globex.com", phone="+86 138 0013 8001")
        found = lead_services.lead_duplicates(rep, obj)
        assert [m.obj for m in found.accounts] == [mine] and found.hidden == 2  # the hidden account and contact
    with tenant_context(tenant, actor=admin):
        found = lead_services.lead_duplicates(admin, obj)
        reasons = {m.obj.pk: m.reasons for m in found.accounts}
        assert set(reasons) == {hidden.pk, mine.pk}
        assert "same phone" in reasons[hidden.pk] and "similar company name" in reasons[hidden.pk]
        assert found.contacts[0].reasons == ["same email"]


def test_convert_creates_everything_in_one_transaction_and_moves_activities(in_tenant):
    admin = in_tenant.admin
    obj = lead(admin, company="Huaxin", family_name="王", given_name="伟", title="CTO", email="w@huaxin.cn",
               phone="13800138000", city="北京", source="web")  # fmt: skip
    ct = ContentType.objects.get_for_model(Lead)
    activity = activity_services.activity_create(
        actor=admin, data={"kind": "call", "subject": "Qualify", "regarding_type": ct.pk, "regarding_id": obj.pk}
    )
    result = lead_services.lead_convert(
        actor=admin, lead=obj, opportunity_data={"amount": "5000.555", "name": "Huaxin ERP"}
    )
    obj.refresh_from_db()
    assert obj.status == "converted" and obj.converted_at and obj.converted_by == admin
    assert obj.converted_account == result.account and obj.converted_contact == result.contact
    assert obj.converted_opportunity == result.opportunity
    assert result.account.name == "Huaxin" and result.account.city == "北京"
    assert result.account.lifecycle_stage == "opportunity"
    assert result.contact.full_name == "王伟" and result.contact.account == result.account
    assert str(result.opportunity.amount) == "5000.56" and result.opportunity.contact == result.contact
    activity.refresh_from_db()
    assert activity.account == result.account and activity.contact == result.contact
    assert activity.regarding_id == obj.pk  # still on the lead's timeline
    with pytest.raises(ValidationError):
        lead_services.lead_convert(actor=admin, lead=obj)


def test_convert_links_existing_records_and_rolls_back_on_error(in_tenant):
    admin = in_tenant.admin
    account = customer_services.account_create(actor=admin, data={"name": "Existing"})
    contact = customer_services.contact_create(actor=admin, data={"family_name": "Known"})
    obj = lead(admin, family_name="Known")
    result = lead_services.lead_convert(
        actor=admin, lead=obj, account=account, contact=contact, create_opportunity=False
    )
    assert result.account == account and result.contact == contact and result.opportunity is None
    assert not result.created_account and account.contact_links.filter(contact=contact).exists()
    assert Account.objects.count() == 1 and Contact.objects.count() == 1

    other = lead(admin, company="Broken Co", family_name="X")
    with pytest.raises(ValidationError):
        lead_services.lead_convert(actor=admin, lead=other, opportunity_data={"stage": "999999"})
    other.refresh_from_db()
    assert other.status == "new"
    assert not Account.objects.filter(name="Broken Co").exists() and not Opportunity.objects.exists()


def test_rep_cannot_link_an_invisible_account(tenant):
    rep = make_member(tenant)
    with tenant_context(tenant, actor=tenant.admin):
        secret = customer_services.account_create(actor=tenant.admin, data={"name": "Secret"})
    with tenant_context(tenant, actor=rep):
        obj = lead(rep)
        with pytest.raises(ValidationError):
            lead_services.lead_convert(actor=rep, lead=obj, account=secret)
        result = lead_services.lead_convert(actor=rep, lead=obj)
        assert result.account.owner == rep and result.opportunity.owner == rep


# --- web-to-lead -------------------------------------------------------------------------------------


@pytest.fixture
def webform(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        return lead_services.webform_save(
            actor=tenant.admin,
            form=WebToLeadForm(
                name="Contact us",
                fields=["family_name", "company", "email", "phone", "description"],
                required_fields=["family_name", "email"],
                campaign="Spring 2026",
                source="web",
                thank_you_message="谢谢！",
            ),
        )


def _post(client, form, data, *, age=10, **extra):
    token = webforms.make_token(form.pk, now=time.time() - age)
    return client.post(reverse("sales:web_to_lead", args=[form.key]), {"token": token, **data}, **extra)


def test_public_form_creates_a_lead_with_source_campaign_and_owner(client, tenant, webform):
    page = client.get(reverse("sales:web_to_lead", args=[webform.key]))
    assert page.status_code == 200 and 'name="token"' in page.content.decode()
    assert "X-Frame-Options" not in page  # embeddable
    r = _post(client, webform, {"family_name": "Zhang", "company": "Zhang Ltd", "email": "z@zhang.cn",
                                "description": "Call me", "status": "qualified", "owner": "1"})  # fmt: skip
    assert r.status_code == 200 and "谢谢！" in r.content.decode()
    with tenant_context(tenant):
        created = Lead.objects.get()
        assert created.source == "web" and created.campaign == "Spring 2026" and created.web_form == webform
        assert created.status == "new"  # visitors cannot set other fields
        assert created.owner == tenant.admin  # no rule, no default owner: the form's author
        assert AuditEntry.objects.filter(object_id=created.pk, action="create", via="web").exists()


def test_public_form_spam_protection(client, tenant, webform):
    data = {"family_name": "Bot", "email": "bot@spam.com"}
    r = _post(client, webform, {**data, webforms.HONEYPOT: "http://spam"})
    assert r.status_code == 200  # thanks, but nothing kept
    r = _post(client, webform, data, age=0)
    assert r.status_code == 400 and "quick" in r.content.decode()
    r = client.post(reverse("sales:web_to_lead", args=[webform.key]), {**data, "token": "forged"})
    assert r.status_code == 400
    other = webforms.make_token(webform.pk + 1, now=time.time() - 10)
    r = client.post(reverse("sales:web_to_lead", args=[webform.key]), {**data, "token": other})
    assert r.status_code == 400
    r = _post(client, webform, {"family_name": "No mail"})
    assert r.status_code == 400  # required email
    with tenant_context(tenant):
        assert not Lead.objects.exists()


def test_public_form_rate_limit(client, tenant, webform, settings):
    for i in range(webforms.RATE_LIMIT):
        assert _post(client, webform, {"family_name": f"P{i}", "email": f"p{i}@x.com"}).status_code == 200
    r = _post(client, webform, {"family_name": "Late", "email": "late@x.com"})
    assert r.status_code == 429
    r = _post(client, webform, {"family_name": "Other IP", "email": "o@x.com"}, REMOTE_ADDR="10.1.2.3")
    assert r.status_code == 200
    with tenant_context(tenant):
        assert Lead.objects.count() == webforms.RATE_LIMIT + 1


def test_public_form_uses_default_owner_or_assignment_rules(client, tenant, webform):
    rep = make_member(tenant)
    with tenant_context(tenant, actor=tenant.admin):
        lead_services.assignment_rule_save(
            actor=tenant.admin, rule=LeadAssignmentRule(name="Web", source="web"),
            member_ids=[Member.objects.get(user=rep).pk],
        )  # fmt: skip
    _post(client, webform, {"family_name": "A", "email": "a@a.com"})
    with tenant_context(tenant):
        assert Lead.objects.get().owner == rep
        assert Notification.objects.filter(user=rep, kind="assigned").exists()


def test_inactive_or_unknown_forms_are_not_found(client, tenant, webform):
    assert client.get(reverse("sales:web_to_lead", args=["nope"])).status_code == 404
    with all_tenants_scope():
        WebToLeadForm.objects.filter(pk=webform.pk).update(is_active=False)
    assert client.get(reverse("sales:web_to_lead", args=[webform.key])).status_code == 404


def test_signed_in_user_of_another_tenant_can_send_the_form(client, tenant, other_tenant, webform):
    client.force_login(other_tenant.admin)
    r = _post(client, webform, {"family_name": "Guest", "email": "g@x.com"})
    assert r.status_code == 200
    with tenant_context(tenant):
        assert Lead.objects.filter(family_name="Guest").exists()
    with tenant_context(other_tenant):
        assert not Lead.objects.exists()


def test_webform_needs_contact_fields(in_tenant):
    with pytest.raises(ValidationError):
        lead_services.webform_save(actor=in_tenant.admin, form=WebToLeadForm(name="x", fields=["company"]))
