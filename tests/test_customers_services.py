import pytest
from django.core.exceptions import ValidationError

from guanxi.audit.models import AuditEntry
from guanxi.customers import services
from guanxi.customers.models import AccountContact, ContactPoint, LifecycleChange
from guanxi.customization.models import CustomFieldDefinition


def test_account_lifecycle_changes_are_recorded_with_dates(in_tenant):
    admin = in_tenant.admin
    acc = services.account_create(actor=admin, data={"name": "华为技术有限公司", "phone": "0755 2878 0808"})
    assert acc.phone == "+8675528780808"
    services.account_change_stage(actor=admin, account=acc, stage="customer")
    stages = list(
        LifecycleChange.objects.filter(account=acc).order_by("changed_at", "id").values_list("from_stage", "to_stage")
    )
    assert stages == [("", "prospect"), ("prospect", "customer")]
    entries = AuditEntry.objects.filter(content_type__model="account", object_id=acc.pk).order_by("id")
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[1].changes["lifecycle_stage"] == ["prospect", "customer"]


def test_contact_with_several_emails_and_phones(in_tenant):
    admin = in_tenant.admin
    acc = services.account_create(actor=admin, data={"name": "Acme"})
    c = services.contact_create(
        actor=admin,
        data={
            "family_name": "王",
            "given_name": "伟",
            "account": acc,
            "emails": [("Wang.Wei@Example.com", "work"), ("ww@home.cn", "home")],
            "phones": [("138 0013 8000", "mobile")],
        },
    )
    assert c.full_name == "王伟"
    assert c.email == "wang.wei@example.com" and c.phone == "+8613800138000"
    assert ContactPoint.objects.filter(contact=c).count() == 3
    assert AccountContact.objects.filter(contact=c, account=acc).exists()
    with pytest.raises(ValidationError) as err:
        services.contact_update(actor=admin, contact=c, data={"phones": [("not a phone", "mobile")]})
    assert "phones" in err.value.message_dict
    assert ContactPoint.objects.filter(contact=c).count() == 3  # nothing lost


def test_western_name_and_custom_fields(in_tenant):
    admin = in_tenant.admin
    CustomFieldDefinition.objects.create(
        entity="customers.contact",
        key="tier",
        label_en="Tier",
        field_type="choice",
        choices=[{"value": "gold", "label_en": "Gold", "label_zh": "金牌"}],
        required=True,
    )
    with pytest.raises(ValidationError) as err:
        services.contact_create(actor=admin, data={"family_name": "Smith", "given_name": "John"})
    assert "custom.tier" in err.value.message_dict
    c = services.contact_create(
        actor=admin, data={"family_name": "Smith", "given_name": "John", "custom": {"tier": "金牌"}}
    )
    assert c.full_name == "John Smith" and c.custom == {"tier": "gold"}


def test_deleting_an_account_others_depend_on_explains_why(in_tenant):
    from guanxi.platform import crud
    from guanxi.sales.models import Opportunity
    from guanxi.sales.services import pipeline_default_for_tenant

    admin = in_tenant.admin
    acc = services.account_create(actor=admin, data={"name": "Has deals"})
    pipeline = pipeline_default_for_tenant()
    Opportunity.objects.create(name="Deal", account=acc, owner=admin, pipeline=pipeline, stage=pipeline.stages.first())
    with pytest.raises(ValidationError) as err:
        services.account_delete(actor=admin, account=acc)
    assert "opportunities" in str(err.value)
    from guanxi.customers.models import Account

    assert Account.objects.filter(pk=acc.pk).exists()
    with pytest.raises(ValidationError):
        crud.records_delete(entity_key="customers.account", actor=admin, queryset=Account.objects.all())
    assert Account.objects.filter(pk=acc.pk).exists()
