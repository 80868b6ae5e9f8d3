"""zh-Hans: one English message means one thing across all catalogues, and ambiguous words use a context.

Django merges the catalogues of all installed apps; for a message in several of them the app listed
first in INSTALLED_APPS wins (and LOCALE_PATHS beat every app). So a msgid (with its context) must
have the same translation wherever it appears, else some app silently shows another app's wording.
"""

import gettext
import pathlib
from decimal import Decimal as D

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from guanxi.commerce import services as commerce_services
from guanxi.commerce.models import Product, TaxClass
from guanxi.customers import services as customer_services
from guanxi.platform.context import tenant_context


def _catalogues():
    paths = [(str(p), pathlib.Path(p)) for p in settings.LOCALE_PATHS]
    paths += [(config.label, pathlib.Path(config.path) / "locale") for config in apps.get_app_configs()]
    for label, locale in paths:
        mo = locale / "zh_Hans" / "LC_MESSAGES" / "django.mo"
        if mo.exists():
            with mo.open("rb") as f:
                yield label, gettext.GNUTranslations(f)._catalog


def test_a_message_has_one_translation_in_every_catalogue():
    seen: dict = {}
    for label, catalogue in _catalogues():
        for key, text in catalogue.items():
            if key == "" or (isinstance(key, tuple) and key[0] == ""):
                continue  # the header
            seen.setdefault(key, {})[label] = text
    ours = {config.label for config in apps.get_app_configs() if config.name.startswith("guanxi.")}
    ours |= {str(p) for p in settings.LOCALE_PATHS}
    clashes = {key: by_app for key, by_app in seen.items() if len(set(by_app.values())) > 1 and ours & set(by_app)}
    assert not clashes, "Give these messages a context (pgettext / {% translate … context … %}):\n" + "\n".join(
        f"{key!r}: {by_app}" for key, by_app in clashes.items()
    )


@pytest.fixture
def zh_client(tenant):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(tenant.admin)
    # The locale middleware leaves zh-hans active in this thread: restore the language for the next tests.
    with translation.override(translation.get_language()):
        yield client


def test_ambiguous_words_render_with_their_own_meaning(zh_client, tenant):
    admin = tenant.admin
    with tenant_context(tenant, actor=admin):
        vat = TaxClass.objects.create(name="VAT 13", rate=13)
        product = Product.objects.create(sku="ERP-1", name="ERP", list_price=D("1000"), tax_class=vat)
        account = customer_services.account_create(
            actor=admin, data={"name": "客户 Ltd", "lifecycle_stage": "opportunity"}
        )
        contact = customer_services.contact_create(
            actor=admin, data={"family_name": "李", "given_name": "雷", "account": account, "email": "li@example.com"}
        )
        quote = commerce_services.quote_create(
            actor=admin, data={"title": "Rollout", "account": account, "contact": contact}
        )
        commerce_services.quote_set_lines(actor=admin, quote=quote, lines=[{"product": product.pk, "quantity": "1"}])

    def page(url):
        response = zh_client.get(url)
        assert response.status_code == 200, url
        return response.content.decode()

    # "Order": the sales order (not the sort order of custom fields) …
    assert '<h2 class="gx-form-section mt-0">订单</h2>' in page(reverse("commerce:order_create"))
    assert "<th>排序</th>" in page(reverse("customization:custom_fields"))
    # … "Unit": unit of measure on products, organisation unit on people.
    assert "单位" in page(reverse("commerce:product_list") + "?cols=sku,name,unit")
    assert "<th>组织单元</th>" in page(reverse("org:members"))
    # "To" of an e-mail, "Date" and "Number" of a quote.
    assert "收件人" in page(reverse("commerce:quote_send", args=[quote.pk]))
    detail = page(reverse("commerce:quote_detail", args=[quote.pk]))
    assert "<dt>报价单号</dt>" in detail and "<dt>报价日期</dt>" in detail and "<dt>创建时间</dt>" in detail
    # "Opportunity" as a lifecycle stage, "Name" of people, "Email" ours rather than django.contrib.auth's.
    assert "商机客户" in page(reverse("customers:account_detail", args=[account.pk]))
    assert "<th>姓名</th>" in page(reverse("org:members"))
    assert "发邮件" in page(reverse("customers:contact_detail", args=[contact.pk]))
