import pytest
from django.urls import reverse

from guanxi.audit.models import AuditEntry
from guanxi.customers import services
from guanxi.customers.models import Account, Contact
from guanxi.customization.models import CustomFieldDefinition, SavedView, Tag
from guanxi.platform.context import tenant_context
from guanxi.platform.testing import make_member


@pytest.fixture
def accounts(tenant):
    with tenant_context(tenant, actor=tenant.admin):
        return [
            services.account_create(
                actor=tenant.admin,
                data={"name": f"客户 {i:02d}", "phone": f"1380013{i:04d}", "industry": "it" if i % 2 else "retail"},
            )
            for i in range(30)
        ]


def test_account_list_filters_sorts_and_paginates(admin_client, accounts):
    r = admin_client.get(reverse("customers:account_list"))
    assert r.status_code == 200
    assert "客户 00" in r.content.decode()
    r = admin_client.get(reverse("customers:account_list"), {"industry": "it", "sort": "-name", "per_page": 25})
    body = r.content.decode()
    assert "客户 29" in body and "客户 00" not in body
    assert "15 records" in body or "15 条" in body or "15" in body


def test_account_list_queries_do_not_grow_with_page_size(admin_client, accounts, django_assert_max_num_queries):
    admin_client.get(reverse("customers:account_list"), {"per_page": 25})
    with django_assert_max_num_queries(22) as small:
        admin_client.get(reverse("customers:account_list"), {"per_page": 25, "cols": "name,owner,region,tags"})
    with django_assert_max_num_queries(len(small.captured_queries)):
        admin_client.get(reverse("customers:account_list"), {"per_page": 100, "cols": "name,owner,region,tags"})


def test_create_account_with_custom_field_then_edit_and_delete(admin_client, tenant):
    with tenant_context(tenant):
        CustomFieldDefinition.objects.create(
            entity="customers.account",
            key="tier",
            label_en="Tier",
            field_type="choice",
            choices=[{"value": "gold", "label_en": "Gold", "label_zh": "金牌"}],
        )
    url = reverse("customers:account_create")
    r = admin_client.post(
        url,
        {
            "name": "",
            "kind": "organization",
            "lifecycle_stage": "prospect",
            "currency": "CNY",
            "owner": tenant.admin.pk,
        },
    )
    assert r.status_code == 200 and "This field is required" in r.content.decode()
    r = admin_client.post(
        url,
        {
            "name": "Acme GmbH",
            "kind": "organization",
            "lifecycle_stage": "prospect",
            "currency": "EUR",
            "owner": tenant.admin.pk,
            "phone": "not a phone",
            "cf_tier": "gold",
        },
    )
    assert r.status_code == 200 and "is not a phone number" in r.content.decode()
    with tenant_context(tenant):
        assert not Account.objects.exists()  # nothing half-written
    r = admin_client.post(
        url,
        {
            "name": "Acme GmbH",
            "kind": "organization",
            "lifecycle_stage": "prospect",
            "currency": "EUR",
            "owner": tenant.admin.pk,
            "phone": "+49 30 1234567",
            "cf_tier": "gold",
        },
    )
    assert r.status_code == 302
    with tenant_context(tenant):
        acc = Account.objects.get()
        assert acc.custom == {"tier": "gold"} and acc.phone == "+49301234567"
    detail = admin_client.get(r["Location"])
    assert "Acme GmbH" in detail.content.decode() and "Gold" in detail.content.decode()
    r = admin_client.post(
        reverse("customers:account_edit", args=[acc.pk]),
        {
            "name": "Acme AG",
            "kind": "organization",
            "lifecycle_stage": "customer",
            "currency": "EUR",
            "owner": tenant.admin.pk,
            "cf_tier": "gold",
        },
    )
    assert r.status_code == 302
    history = admin_client.get(reverse("audit:history", args=[_ct(Account), acc.pk])).content.decode()
    assert "Acme GmbH" in history and "Acme AG" in history
    r = admin_client.post(reverse("customers:account_delete", args=[acc.pk]))
    assert r.status_code == 302
    with tenant_context(tenant):
        assert not Account.objects.exists()
        assert AuditEntry.objects.filter(action="delete", object_id=acc.pk).exists()


def _ct(model):
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(model).pk


def test_inline_validation_saves_nothing(admin_client, tenant):
    r = admin_client.post(
        reverse("customers:account_create"),
        {
            "_validate": "1",
            "name": "Valid name",
            "kind": "organization",
            "lifecycle_stage": "prospect",
            "currency": "CNY",
            "owner": tenant.admin.pk,
            "email": "nope",
        },
    )
    assert r.status_code == 200
    body = r.content.decode()
    assert 'id="errors-email"' in body and "hx-swap-oob" in body
    with tenant_context(tenant):
        assert not Account.objects.exists()
        assert not AuditEntry.objects.filter(action="create", content_type_id=_ct(Account)).exists()


def test_rep_cannot_reach_other_peoples_accounts(client, tenant, accounts):
    rep = make_member(tenant, roles=("Sales representative",))
    client.force_login(rep)
    acc = accounts[0]
    assert client.get(reverse("customers:account_detail", args=[acc.pk])).status_code == 404
    assert client.get(reverse("customers:account_edit", args=[acc.pk])).status_code == 404
    assert client.post(reverse("customers:account_delete", args=[acc.pk])).status_code == 404
    body = client.get(reverse("customers:account_list")).content.decode()
    assert "客户 00" not in body


def test_bulk_assign_tag_and_delete(admin_client, tenant, accounts):
    rep = make_member(tenant, roles=("Sales representative",))
    with tenant_context(tenant):
        tag = Tag.objects.create(name="VIP")
    ids = [a.pk for a in accounts[:3]]
    url = reverse("customers:account_bulk")
    assert admin_client.post(url, {"ids": ids, "action": "assign", "owner": rep.pk}).status_code == 302
    assert admin_client.post(url, {"ids": ids, "action": "tag", "tag": tag.pk}).status_code == 302
    with tenant_context(tenant):
        assert Account.objects.filter(owner=rep).count() == 3
        assert Account.objects.filter(tags=tag).count() == 3
        assert AuditEntry.objects.filter(action="update", object_id__in=ids, note="Bulk owner change").count() == 3
    assert admin_client.post(url, {"ids": ids, "action": "delete"}).status_code == 302
    with tenant_context(tenant):
        assert Account.objects.count() == 27


def test_saved_view(admin_client, tenant, accounts):
    r = admin_client.post(
        reverse("customers:account_saved_view"), {"name": "IT only", "query": "industry=it", "cols": "name,phone"}
    )
    assert r.status_code == 302
    with tenant_context(tenant):
        view = SavedView.objects.get()
    body = admin_client.get(reverse("customers:account_list"), {"view": view.pk}).content.decode()
    assert "客户 01" in body and "客户 00" not in body and "IT only" in body


def test_contact_create_with_several_emails_phones_and_links(admin_client, tenant, accounts):
    r = admin_client.post(
        reverse("customers:contact_create"),
        {
            "family_name": "李",
            "given_name": "娜",
            "owner": tenant.admin.pk,
            "account": accounts[0].pk,
            "email": "li.na@example.cn",
            "extra_emails": "lina@home.cn\n",
            "phone": "13912345678",
            "extra_phones": "010 6552 9988",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    with tenant_context(tenant):
        c = Contact.objects.get()
        assert c.full_name == "李娜" and c.points.count() == 4
    r = admin_client.post(reverse("customers:contact_link", args=[c.pk]), {"account": accounts[1].pk, "role": "buyer"})
    assert r.status_code == 302
    page = admin_client.get(reverse("customers:contact_detail", args=[c.pk])).content.decode()
    assert accounts[1].name in page and "lina@home.cn" in page


def test_global_search_by_name_email_and_phone_fragment(admin_client, tenant, accounts):
    with tenant_context(tenant, actor=tenant.admin):
        services.contact_create(
            actor=tenant.admin,
            data={
                "family_name": "Smith",
                "given_name": "Anna",
                "emails": [("anna@example.org", "work")],
                "phones": [("+44 20 7946 0018", "work")],
            },
        )
    url = reverse("search:global")
    assert "Anna Smith" in admin_client.get(url, {"q": "anna", "typeahead": "1"}).content.decode()
    assert "Anna Smith" in admin_client.get(url, {"q": "example.org", "typeahead": "1"}).content.decode()
    assert "Anna Smith" in admin_client.get(url, {"q": "7946", "typeahead": "1"}).content.decode()
    assert "客户 05" in admin_client.get(url, {"q": "00130005"}).content.decode()


def test_search_respects_permissions_and_tenants(client, tenant, other_tenant, accounts):
    rep = make_member(tenant, roles=("Sales representative",))
    client.force_login(rep)
    assert "客户 00" not in client.get(reverse("search:global"), {"q": "客户"}).content.decode()
    client.force_login(other_tenant.admin)
    assert "客户 0" not in client.get(reverse("search:global"), {"q": "客户"}).content.decode()


def test_audit_log_for_admins_only(admin_client, client, tenant, accounts):
    assert admin_client.get(reverse("audit:log"), {"action": "create"}).status_code == 200
    rep = make_member(tenant, roles=("Sales representative",))
    client.force_login(rep)
    assert client.get(reverse("audit:log")).status_code == 403


def test_list_page_offers_import_only_to_importers(admin_client, client, tenant):
    assert 'data-testid="import-button"' in admin_client.get(reverse("customers:contact_list")).content.decode()
    rep = make_member(tenant, roles=("Sales representative",))
    client.force_login(rep)
    assert 'data-testid="import-button"' not in client.get(reverse("customers:contact_list")).content.decode()


def test_account_page_shows_its_opportunities_in_a_related_tab(admin_client, client, tenant):
    from guanxi.sales.models import Opportunity
    from guanxi.sales.services import pipeline_default_for_tenant

    with tenant_context(tenant, actor=tenant.admin):
        acc = services.account_create(actor=tenant.admin, data={"name": "Deals Ltd"})
        pipeline = pipeline_default_for_tenant()
        Opportunity.objects.create(
            name="Big deal",
            account=acc,
            owner=tenant.admin,
            pipeline=pipeline,
            stage=pipeline.stages.first(),
            amount="1000.00",
        )
    page = admin_client.get(reverse("customers:account_detail", args=[acc.pk])).content.decode()
    url = reverse("sales:related_opportunities") + f"?account={acc.pk}"
    assert url in page
    assert "Big deal" in admin_client.get(url).content.decode()
    rep = make_member(tenant, roles=("Sales representative",))
    client.force_login(rep)
    assert client.get(url).status_code == 404
