"""Custom field and tag administration: settings pages and the /api/v1/tags, /custom-fields API."""

import json

import pytest
from django.urls import reverse

from guanxi.access.models import RestrictedField
from guanxi.audit.models import AuditAction, AuditEntry
from guanxi.customers.models import Account, AccountTag, Contact, ContactTag
from guanxi.customization.models import CustomFieldDefinition, Tag
from guanxi.customization.services import custom_field_save
from guanxi.identity.services import api_token_create
from guanxi.platform.context import tenant_context

BACKEND = "guanxi.identity.backends.EmailBackend"
PROBLEM = "application/problem+json"


def field(tenant, key, *, entity="customers.account", position=10, **extra):
    with tenant_context(tenant):
        return custom_field_save(
            actor=None,
            definition=CustomFieldDefinition(
                entity=entity,
                key=key,
                label_en=key.title(),
                field_type=extra.pop("field_type", "text"),
                position=position,
                **extra,
            ),
        )


def tag(tenant, name, color="#123456"):
    with tenant_context(tenant):
        return Tag.objects.create(name=name, color=color)


def audit(tenant, **filters):
    with tenant_context(tenant):
        return list(AuditEntry.objects.filter(**filters).order_by("id"))


# --- custom field pages ---------------------------------------------------------------------------


def test_creating_a_choice_field_with_the_choices_editor(admin_client, tenant):
    url = reverse("customization:custom_field_create", args=["customers.account"])
    page = admin_client.get(url).content.decode()
    assert 'data-testid="choices-editor"' in page and 'x-model="type"' in page
    response = admin_client.post(
        url,
        {
            "key": "tier",
            "label_en": "Tier",
            "label_zh": "等级",
            "field_type": "choice",
            "position": 10,
            "filterable": "on",
            "is_active": "True",
            "choice_value": ["gold", "silver", ""],
            "choice_label_en": ["Gold", "Silver", ""],
            "choice_label_zh": ["金牌", "银牌", ""],
        },
    )
    assert response.status_code == 302, response.content.decode()
    with tenant_context(tenant):
        definition = CustomFieldDefinition.objects.get(key="tier")
    assert definition.entity == "customers.account" and definition.is_active
    assert definition.choices == [
        {"value": "gold", "label_en": "Gold", "label_zh": "金牌"},
        {"value": "silver", "label_en": "Silver", "label_zh": "银牌"},
    ]
    assert audit(
        tenant, action=AuditAction.CREATE, object_id=definition.pk, content_type__model="customfielddefinition"
    )
    # The editor shows the stored rows back (as JSON for Alpine.js).
    page = admin_client.get(reverse("customization:custom_field_edit", args=[definition.pk])).content.decode()
    assert '"value": "gold"' in page and "\\u91d1\\u724c" in page


@pytest.mark.parametrize(
    "data, message",
    [
        ({"choice_value": ["a", "a"], "choice_label_en": ["A", "A2"]}, "is used twice"),
        ({"choice_value": [""], "choice_label_en": ["Label only"]}, "Every choice needs a value."),
        ({}, "Give at least one choice."),
        ({"key": "Bad Key", "choice_value": ["a"]}, "Lower-case letters, digits and _"),
        ({"label_en": "", "choice_value": ["a"]}, "Give a label in English or Chinese."),
    ],
)
def test_custom_field_errors_are_shown_inline(admin_client, tenant, data, message):
    post = {"key": "tier", "label_en": "Tier", "field_type": "choice", "position": 10, **data}
    response = admin_client.post(reverse("customization:custom_field_create", args=["customers.account"]), post)
    assert response.status_code == 200
    assert message in response.content.decode()
    with tenant_context(tenant):
        assert not CustomFieldDefinition.objects.exists()


def test_duplicate_key_is_refused_per_record_type(admin_client, tenant):
    field(tenant, "region_code")
    url = reverse("customization:custom_field_create", args=["customers.account"])
    response = admin_client.post(url, {"key": "region_code", "label_en": "X", "field_type": "text", "position": 20})
    assert "already has a field with this key" in response.content.decode()
    url = reverse("customization:custom_field_create", args=["customers.contact"])
    response = admin_client.post(url, {"key": "region_code", "label_en": "X", "field_type": "text", "position": 20})
    assert response.status_code == 302


def test_key_and_type_cannot_change_on_edit(admin_client, tenant):
    definition = field(tenant, "code", max_length=20)
    response = admin_client.post(
        reverse("customization:custom_field_edit", args=[definition.pk]),
        {
            "key": "other",
            "field_type": "integer",
            "label_en": "Code",
            "label_zh": "代码",
            "position": 10,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    with tenant_context(tenant):
        definition.refresh_from_db()
    assert (definition.key, definition.field_type, definition.label_zh) == ("code", "text", "代码")
    entry = audit(tenant, action=AuditAction.UPDATE, object_id=definition.pk)[-1]
    assert entry.changes["label_zh"] == ["", "代码"]
    assert "max_length" in entry.changes  # left empty in the form: cleared


def test_deactivating_and_reordering_fields(admin_client, tenant):
    a = field(tenant, "a", position=10)
    b = field(tenant, "b", position=20)
    c = field(tenant, "c", position=30)
    admin_client.post(reverse("customization:custom_field_move", args=[c.pk]), {"direction": "up"})
    admin_client.post(reverse("customization:custom_field_move", args=[c.pk]), {"direction": "up"})
    admin_client.post(reverse("customization:custom_field_move", args=[a.pk]), {"direction": "down"})
    with tenant_context(tenant):
        order = list(CustomFieldDefinition.objects.order_by("position").values_list("key", flat=True))
    assert order == ["c", "b", "a"]
    page = admin_client.get(reverse("customization:custom_fields"), {"entity": "customers.account"}).content.decode()
    assert page.index("<code>c</code>") < page.index("<code>b</code>") < page.index("<code>a</code>")

    admin_client.post(reverse("customization:custom_field_toggle", args=[b.pk]))
    with tenant_context(tenant):
        b.refresh_from_db()
    assert not b.is_active
    admin_client.post(reverse("customization:custom_field_toggle", args=[b.pk]))
    with tenant_context(tenant):
        b.refresh_from_db()
    assert b.is_active
    assert len(audit(tenant, object_id=b.pk, action=AuditAction.UPDATE)) == 2  # deactivated, activated
    assert len(audit(tenant, object_id=c.pk, note="reordered")) == 2


def test_custom_field_pages_404(admin_client, tenant, other_tenant):
    other = field(other_tenant, "secret")
    assert admin_client.get(reverse("customization:custom_field_edit", args=[other.pk])).status_code == 404
    assert admin_client.post(reverse("customization:custom_field_toggle", args=[other.pk])).status_code == 404
    assert admin_client.post(reverse("customization:custom_field_move", args=[other.pk])).status_code == 404
    # Activities have no custom fields.
    url = reverse("customization:custom_field_create", args=["activities.activity"])
    assert admin_client.get(url).status_code == 404
    assert admin_client.get(reverse("customization:custom_fields"), {"entity": "nope"}).status_code == 404
    with tenant_context(other_tenant):
        assert CustomFieldDefinition.objects.get(pk=other.pk).is_active


# --- tag pages ------------------------------------------------------------------------------------


def test_tags_list_with_usage_counts(admin_client, tenant, django_assert_max_num_queries):
    vip, cold = tag(tenant, "VIP"), tag(tenant, "Cold")
    with tenant_context(tenant):
        accounts = [Account.objects.create(name=f"A{i}", owner=tenant.admin) for i in range(3)]
        contact = Contact.objects.create(family_name="D", given_name="C", owner=tenant.admin)
        AccountTag.objects.bulk_create([AccountTag(account=a, tag=vip) for a in accounts])
        ContactTag.objects.create(contact=contact, tag=vip)
        AccountTag.objects.create(account=accounts[0], tag=cold)
    with django_assert_max_num_queries(20):
        page = admin_client.get(reverse("customization:tags")).content.decode()
    assert "4 records" in page and "1 record" in page
    assert page.index("Cold") < page.index("VIP")


def test_tags_create_rename_recolour_delete(admin_client, tenant, other_tenant):
    assert (
        admin_client.post(reverse("customization:tag_create"), {"name": "Key", "color": "#ff0000"}).status_code == 302
    )
    response = admin_client.post(reverse("customization:tag_create"), {"name": "Key", "color": "#ff0000"})
    assert "A tag with this name exists already." in response.content.decode()
    response = admin_client.post(reverse("customization:tag_create"), {"name": "Bad", "color": "red"})
    assert "Use a colour like #1f6feb." in response.content.decode()
    with tenant_context(tenant):
        key = Tag.objects.get(name="Key")
    admin_client.post(reverse("customization:tag_edit", args=[key.pk]), {"name": "Key account", "color": "#00ff00"})
    with tenant_context(tenant):
        key.refresh_from_db()
    assert (key.name, key.color) == ("Key account", "#00ff00")
    admin_client.post(reverse("customization:tag_delete", args=[key.pk]))
    with tenant_context(tenant):
        assert not Tag.objects.filter(pk=key.pk).exists()
    actions = [e.action for e in audit(tenant, object_id=key.pk, content_type__model="tag")]
    assert actions == [AuditAction.CREATE, AuditAction.UPDATE, AuditAction.DELETE]

    theirs = tag(other_tenant, "Theirs")
    assert admin_client.get(reverse("customization:tag_edit", args=[theirs.pk])).status_code == 404
    assert admin_client.post(reverse("customization:tag_delete", args=[theirs.pk])).status_code == 404
    with tenant_context(other_tenant):
        assert Tag.objects.filter(pk=theirs.pk).exists()


def test_a_rep_cannot_open_customisation_pages(client, rep, tenant):
    client.force_login(rep, backend=BACKEND)
    definition = field(tenant, "x")
    the_tag = tag(tenant, "T")
    for url in [
        reverse("customization:custom_fields"),
        reverse("customization:custom_field_create", args=["customers.account"]),
        reverse("customization:custom_field_edit", args=[definition.pk]),
        reverse("customization:tags"),
        reverse("customization:tag_create"),
        reverse("customization:tag_edit", args=[the_tag.pk]),
    ]:
        assert client.get(url).status_code == 403, url
    for url in [
        reverse("customization:custom_field_toggle", args=[definition.pk]),
        reverse("customization:custom_field_move", args=[definition.pk]),
        reverse("customization:tag_delete", args=[the_tag.pk]),
    ]:
        assert client.post(url).status_code == 403, url


# --- API ------------------------------------------------------------------------------------------


def bearer(tenant, user, scope="write"):
    with tenant_context(tenant):
        _token, secret = api_token_create(user=user, name="test", scope=scope)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def api(client, method, path, headers, body=None):
    kwargs = dict(headers)
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method)(f"/api/v1{path}", **kwargs)


@pytest.fixture
def admin_api(client, tenant):
    headers = bearer(tenant, tenant.admin)
    return lambda method, path, body=None: api(client, method, path, headers, body)


@pytest.fixture
def rep_api(client, tenant, rep):
    headers = bearer(tenant, rep)
    return lambda method, path, body=None: api(client, method, path, headers, body)


def test_tags_api_crud(admin_api, rep_api, tenant):
    response = admin_api("post", "/tags", {"name": "VIP", "color": "#aa0000"})
    assert response.status_code == 201, response.content
    tag_id = response.json()["id"]
    tag(tenant, "Alpha")
    listing = rep_api("get", "/tags").json()
    assert [t["name"] for t in listing["items"]] == ["Alpha", "VIP"] and listing["total"] == 2
    assert rep_api("get", "/tags?q=vi").json()["items"][0]["id"] == tag_id
    assert rep_api("get", f"/tags/{tag_id}").json() == {"id": tag_id, "name": "VIP", "color": "#aa0000"}

    response = admin_api("patch", f"/tags/{tag_id}", {"name": "Very important"})
    assert response.status_code == 200 and response.json()["name"] == "Very important"
    response = admin_api("patch", f"/tags/{tag_id}", {"color": "blue"})
    assert response.status_code == 422 and response["Content-Type"] == PROBLEM
    assert "color" in response.json()["errors"]
    response = admin_api("post", "/tags", {"name": "Alpha"})
    assert response.status_code == 422 and "name" in response.json()["errors"]

    # Members read; only administrators write.
    for method, path, body in [
        ("post", "/tags", {"name": "Mine"}),
        ("patch", f"/tags/{tag_id}", {"name": "Mine"}),
        ("delete", f"/tags/{tag_id}", None),
    ]:
        response = rep_api(method, path, body)
        assert response.status_code == 403 and response["Content-Type"] == PROBLEM, (method, path)

    assert admin_api("delete", f"/tags/{tag_id}").status_code == 204
    assert admin_api("get", f"/tags/{tag_id}").status_code == 404
    assert [e.action for e in audit(tenant, content_type__model="tag", object_id=tag_id)] == [
        AuditAction.CREATE,
        AuditAction.UPDATE,
        AuditAction.DELETE,
    ]


def test_custom_fields_api_crud(admin_api, rep_api, tenant):
    body = {
        "entity": "customers.account",
        "key": "tier",
        "field_type": "choice",
        "label_en": "Tier",
        "choices": [{"value": "gold", "label_en": "Gold", "label_zh": "金牌"}],
    }
    response = admin_api("post", "/custom-fields", body)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["position"] == 10 and created["choices"][0]["label_zh"] == "金牌" and created["is_active"]
    field(tenant, "note", entity="customers.contact")

    assert [d["key"] for d in rep_api("get", "/custom-fields").json()["items"]] == ["tier", "note"]
    assert [d["key"] for d in rep_api("get", "/custom-fields?entity=customers.contact").json()["items"]] == ["note"]
    assert rep_api("get", f"/custom-fields/{created['id']}").json()["key"] == "tier"

    for bad, error_field in [
        ({**body, "key": "tier"}, "key"),
        ({**body, "key": "other", "entity": "activities.activity"}, "entity"),
        ({**body, "key": "other", "choices": []}, "choices"),
        ({**body, "key": "other", "choices": [{"value": "a"}, {"value": "a"}]}, "choices"),
        ({**body, "key": "other", "label_en": ""}, "label_en"),
        ({**body, "key": "Not valid"}, "key"),
    ]:
        response = admin_api("post", "/custom-fields", bad)
        assert response.status_code == 422 and response["Content-Type"] == PROBLEM, bad
        assert error_field in response.json()["errors"], (bad, response.json())

    response = admin_api("patch", f"/custom-fields/{created['id']}", {"label_zh": "等级", "is_active": False})
    assert response.status_code == 200 and response.json()["label_zh"] == "等级" and not response.json()["is_active"]
    response = admin_api("patch", f"/custom-fields/{created['id']}", {"key": "renamed", "field_type": "text"})
    assert response.status_code == 422 and set(response.json()["errors"]) == {"key", "field_type"}
    assert rep_api("patch", f"/custom-fields/{created['id']}", {"label_en": "X"}).status_code == 403
    assert rep_api("post", "/custom-fields", {**body, "key": "x"}).status_code == 403


def test_deleting_a_custom_field_by_api_removes_its_values(admin_api, tenant):
    definition = field(tenant, "code")
    with tenant_context(tenant):
        account = Account.objects.create(name="A", owner=tenant.admin, custom={"code": "X1", "other": 1})
        RestrictedField.objects.create(module="customers.account", field_name="custom.code")
    assert admin_api("delete", f"/custom-fields/{definition.pk}").status_code == 204
    with tenant_context(tenant):
        account.refresh_from_db()
        assert account.custom == {"other": 1}
        assert not CustomFieldDefinition.objects.exists()
        assert not RestrictedField.objects.exists()
    assert audit(tenant, action=AuditAction.DELETE, object_id=definition.pk)


def test_customisation_api_is_scoped_to_the_tenant(admin_api, other_tenant):
    theirs_tag = tag(other_tenant, "Theirs")
    theirs_field = field(other_tenant, "theirs")
    for method, path, body in [
        ("get", f"/tags/{theirs_tag.pk}", None),
        ("patch", f"/tags/{theirs_tag.pk}", {"name": "Mine"}),
        ("delete", f"/tags/{theirs_tag.pk}", None),
        ("get", f"/custom-fields/{theirs_field.pk}", None),
        ("patch", f"/custom-fields/{theirs_field.pk}", {"label_en": "Mine"}),
        ("delete", f"/custom-fields/{theirs_field.pk}", None),
    ]:
        response = admin_api(method, path, body)
        assert response.status_code == 404 and response["Content-Type"] == PROBLEM, path
    assert admin_api("get", "/tags").json()["items"] == []
    assert admin_api("get", "/custom-fields").json()["items"] == []
    with tenant_context(other_tenant):
        assert Tag.objects.get(pk=theirs_tag.pk).name == "Theirs"
        assert CustomFieldDefinition.objects.filter(pk=theirs_field.pk).exists()


def test_read_only_tokens_cannot_write(client, tenant):
    headers = bearer(tenant, tenant.admin, scope="read")
    response = api(client, "post", "/tags", headers, {"name": "X"})
    assert response.status_code == 403 and response["Content-Type"] == PROBLEM
