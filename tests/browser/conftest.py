"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium) against the live server.

No browser is downloaded: ``browser_type_launch_args`` points Playwright at the system
Chromium. Tests are marked ``@pytest.mark.browser`` and use
``@pytest.mark.django_db(transaction=True)`` (the live server runs in another thread).

Fixtures for new tests:

* ``live_url(path_or_url_name, *args)`` — absolute URL on the live server.
* ``browser_tenant`` — a tenant with an administrator (``browser_tenant.admin``) and a sales
  representative (``browser_tenant.rep``), password ``PASSWORD``.
* ``logged_in_page`` — a page signed in as the tenant administrator (``login_as`` for others).
* ``page_errors`` — JavaScript errors and failed static-file requests seen by ``page``;
  ``assert_no_page_errors()`` checks it is empty.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import NoReverseMatch, reverse

# Playwright's sync API runs an event loop in the test thread; the test code's ORM calls are
# still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed (apt-get install chromium fonts-noto-cjk)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # The browser asks for Chinese first, as most of Guanxi's users' browsers do.
    return {**browser_context_args, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


@pytest.fixture(autouse=True)
def _timeouts(request):
    if "page" in request.fixturenames:
        page = request.getfixturevalue("page")
        page.set_default_timeout(15_000)
        page.set_default_navigation_timeout(30_000)


@pytest.fixture
def live_url(live_server):
    def build(name_or_path: str, *args) -> str:
        if name_or_path.startswith("/"):
            return f"{live_server.url}{name_or_path}"
        return f"{live_server.url}{reverse(name_or_path, args=args)}"

    return build


def url_exists(name: str, *args) -> bool:
    try:
        reverse(name, args=args)
    except NoReverseMatch:
        return False
    return True


@pytest.fixture
def browser_tenant(transactional_db):
    from guanxi.platform.testing import make_member, make_tenant

    tenant = make_tenant("华信测试 Huaxin Test")
    tenant.rep = make_member(tenant, roles=("Sales representative",), name="李娜 Li Na")
    return tenant


def login(page, live_url, email: str, password: str | None = None):
    """Sign in through the form; returns after the redirect away from the sign-in page."""
    from guanxi.platform.testing import PASSWORD

    page.goto(live_url("identity:login"))
    page.locator("input[name=username]").fill(email)
    page.locator("input[name=password]").fill(password or PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    return page


@pytest.fixture
def login_as(page, live_url):
    def sign_in(user, password: str | None = None):
        return login(page, live_url, user.email, password)

    return sign_in


@pytest.fixture
def logged_in_page(page, browser_tenant, login_as):
    login_as(browser_tenant.admin)
    return page


@pytest.fixture
def page_errors(page, live_server):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"JavaScript error: {exc}"))

    def on_response(response):
        if response.url.startswith(live_server.url) and "/static/" in response.url and response.status >= 400:
            errors.append(f"{response.status} {response.url}")

    page.on("response", on_response)
    return errors


@pytest.fixture
def assert_no_page_errors(page_errors):
    def check():
        assert page_errors == []

    return check


def has_no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
