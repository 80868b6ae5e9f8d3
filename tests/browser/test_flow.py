"""The main path of a sales representative, end to end in a real browser.

Create an account and a contact, log a call on the contact's timeline, find both with the
global search, switch the language, and do the same lookups on a phone-sized screen.
"""

import re

import pytest
from playwright.sync_api import expect

from guanxi.activities.models import Activity
from guanxi.customers.models import Account, Contact, ContactPoint
from guanxi.platform.context import tenant_context

from .conftest import PHONE, has_no_horizontal_scroll

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ACCOUNT = "北京星辰信息技术有限公司"


def test_create_account_contact_log_call_and_search(page, live_url, browser_tenant, login_as, assert_no_page_errors):
    rep = browser_tenant.rep
    login_as(rep)

    # A new account.
    page.goto(live_url("customers:account_list"))
    page.get_by_test_id("create-button").click()
    page.locator("input[name=name]").fill(ACCOUNT)
    page.locator("input[name=phone]").fill("010 6552 8888")
    page.locator("input[name=email]").fill("Info@XingChen.example")
    page.get_by_test_id("save-button").click()
    expect(page).to_have_url(re.compile(r"/customers/accounts/\d+/$"))
    expect(page.locator(".gx-page-header h1")).to_contain_text(ACCOUNT)
    with tenant_context(browser_tenant):
        account = Account.objects.get(name=ACCOUNT)
        assert (account.owner_id, account.phone, account.email) == (rep.pk, "+861065528888", "info@xingchen.example")

    # A contact of that account, from the account page.
    page.locator(f"a[href*='contacts/new/?account={account.pk}']").click()
    page.locator("input[name=family_name]").fill("王")
    page.locator("input[name=given_name]").fill("伟")
    page.locator("input[name=title]").fill("采购经理")
    page.locator("input[name=phone]").fill("138 0013 8000")
    page.locator("input[name=email]").fill("wang.wei@xingchen.example")
    page.get_by_test_id("save-button").click()
    expect(page).to_have_url(re.compile(r"/customers/contacts/\d+/$"))
    expect(page.locator(".gx-page-header h1")).to_contain_text("王伟")
    with tenant_context(browser_tenant):
        contact = Contact.objects.get(full_name="王伟")
        assert contact.account_id == account.pk
        assert set(ContactPoint.objects.filter(contact=contact).values_list("value", flat=True)) == {
            "+8613800138000",
            "wang.wei@xingchen.example",
        }

    # Log a call on the contact's timeline.
    page.get_by_test_id("tab-timeline").click()
    form = page.get_by_test_id("quick-log")
    expect(form).to_be_visible()
    form.locator("label[for$='-kind-call']").click()
    form.locator("input[name=subject]").fill("电话沟通报价")
    form.locator("textarea[name=body]").fill("客户希望下周收到详细报价。")
    form.locator("button.btn-primary").click()
    expect(page.locator("section[data-testid=timeline]")).to_contain_text("电话沟通报价")
    with tenant_context(browser_tenant):
        call = Activity.objects.get(subject="电话沟通报价")
        assert (call.kind, call.contact_id, call.owner_id) == ("call", contact.pk, rep.pk)

    # Global search finds the contact by a fragment of the phone number and the account by name.
    search = page.get_by_test_id("global-search")
    search.fill("0013 8000")
    result = page.get_by_test_id("search-result").filter(has_text="王伟")
    expect(result).to_be_visible()
    search.fill("星辰")
    account_result = page.locator(f"[data-testid=search-result][href='{account.get_absolute_url()}']")
    expect(account_result).to_contain_text(ACCOUNT)
    account_result.click()
    expect(page).to_have_url(live_url("customers:account_detail", account.pk))

    # The same page in English.
    page.get_by_test_id("language-menu").click()
    page.get_by_test_id("language-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".gx-page-header h1")).to_contain_text(ACCOUNT)

    # On a phone: the list fits, the menu opens, search still works.
    page.set_viewport_size(PHONE)
    page.goto(live_url("customers:contact_list"))
    expect(page.get_by_text("王伟").first).to_be_visible()
    assert has_no_horizontal_scroll(page)
    page.locator(".gx-menu-button").click()
    page.locator("#gx-sidebar").get_by_role("link", name=re.compile("Accounts")).click()
    expect(page).to_have_url(live_url("customers:account_list"))
    expect(page.locator("#gx-sidebar")).to_be_hidden()
    assert has_no_horizontal_scroll(page)
    page.get_by_test_id("global-search").fill("王伟")
    expect(page.get_by_test_id("search-result").filter(has_text="王伟")).to_be_visible()
    assert has_no_horizontal_scroll(page)

    assert_no_page_errors()
