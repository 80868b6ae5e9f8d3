"""Smoke test in a real browser: sign in, land on My day, switch language, use it on a phone."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from .conftest import PHONE, has_no_horizontal_scroll, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_language_switch_and_phone_layout(page, live_url, browser_tenant, assert_no_page_errors):
    rep = browser_tenant.rep

    # Signed out: the app sends us to the sign-in form.
    page.goto(live_url("/"))
    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")  # the browser asked for Chinese

    # A wrong password keeps us on the form with a message.
    login_page = page.goto(live_url("identity:login"))
    assert login_page.ok
    page.locator("input[name=username]").fill(rep.email)
    page.locator("input[name=password]").fill("wrong password")
    page.locator("form button[type=submit]").click()
    expect(page.locator(".alert-danger")).to_be_visible()

    # Sign in (the address in capitals: e-mail sign-in is case-insensitive) and land on My day.
    login(page, live_url, rep.email.upper())
    expect(page).to_have_url(live_url("activities:my_day"))
    expect(page.locator(".gx-page-header h1")).to_be_visible()
    expect(page.locator("#gx-sidebar")).to_be_visible()

    # Switch the interface language from the top bar.
    menu = page.get_by_test_id("language-menu")
    expect(menu).to_contain_text("中文")
    menu.click()
    page.get_by_test_id("language-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("language-menu")).to_contain_text("English")
    expect(page.locator("#gx-sidebar")).to_contain_text("Guanxi CRM")
    rep.refresh_from_db()
    assert rep.language == "en"

    page.get_by_test_id("language-menu").click()
    page.get_by_test_id("language-zh-hans").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_test_id("language-menu")).to_contain_text("中文")

    # On a phone the sidebar hides behind the menu button, and nothing scrolls sideways.
    page.set_viewport_size(PHONE)
    page.reload()
    sidebar = page.locator("#gx-sidebar")
    expect(sidebar).to_be_hidden()
    menu_button = page.locator(".gx-menu-button")
    expect(menu_button).to_be_visible()
    assert has_no_horizontal_scroll(page)
    menu_button.click()
    expect(sidebar).to_be_visible()
    expect(sidebar.locator(".gx-nav-link").first).to_be_visible()
    sidebar.locator("[data-bs-dismiss=offcanvas]").click()
    expect(sidebar).to_be_hidden()
    assert has_no_horizontal_scroll(page)

    assert_no_page_errors()


def test_sign_in_page_fits_a_phone(page, live_url, assert_no_page_errors, transactional_db):
    page.set_viewport_size(PHONE)
    page.goto(live_url("identity:login"))
    expect(page.locator("input[name=username]")).to_be_visible()
    assert has_no_horizontal_scroll(page)
    # The language links of the sign-in page work before signing in.
    page.locator("form button[lang=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("form button[type=submit]")).to_be_visible()
    assert page.url.endswith(reverse("identity:login"))
    assert_no_page_errors()


def test_logged_in_page_fixture_signs_in_the_administrator(logged_in_page, live_url, browser_tenant):
    logged_in_page.goto(live_url("identity:profile"))
    expect(logged_in_page.locator(".gx-page-header h1")).to_be_visible()
    expect(logged_in_page.locator("input[disabled]").first).to_have_value(browser_tenant.admin.email)
