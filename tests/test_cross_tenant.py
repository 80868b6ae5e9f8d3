"""Walks every URL that takes an id — UI and API — and proves tenant B cannot reach tenant A's objects.

The attacker is tenant B's administrator (who passes every permission check inside B). For
each route, every HTTP method is tried with the ids of tenant A's objects; the answer must be
404 (or 405 for a method the route does not have, or 403 for platform-operator pages), no
page may contain tenant A's data, and nothing may be written in tenant A. A route taking an
id that this test does not know how to fill makes the test fail, so new routes cannot
silently escape it.
"""

import datetime
import json
import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from guanxi.access import services as access_services
from guanxi.access.models import RecordShare, Role, SharingRule
from guanxi.activities.models import Activity, FollowUpPlan, FollowUpStep, Notification
from guanxi.audit.models import AuditEntry
from guanxi.customers import services as customer_services
from guanxi.customers.models import Account, AccountContact
from guanxi.customization.models import CustomFieldDefinition, Tag
from guanxi.exports.models import ExportFile
from guanxi.finance.testing import FINANCE_API_BODIES, FINANCE_API_PARAMS, FINANCE_UI_PARAMS, make_finance_records
from guanxi.identity.services import api_token_create
from guanxi.imports.models import ImportJob
from guanxi.org.models import BusinessLine, Member, OrgUnit, Team
from guanxi.platform.context import all_tenants_scope, tenant_context
from guanxi.platform.testing import make_tenant
from guanxi.sales.testing import SALES_API_BODIES, SALES_API_PARAMS, SALES_UI_PARAMS, make_sales_records

MARKER = "SECRET-OF-A"

# Routes whose parameters are not ids of tenant objects.
NOT_TENANT_IDS = {
    "identity:password_reset_confirm",  # uid/token of Django's reset flow
    "activities:calendar_feed",  # an unguessable secret, tested in the calendar tests
    "activities:lookup",  # a kind name
    "access:restricted_field_edit",  # a module and field name, the same in every tenant
    "customization:custom_field_create",  # an entity key
    "sales:web_to_lead",  # a public form found by its secret key (tested in test_sales_leads)
}
# Platform-operator pages: tenant B's admin is no operator, so they must be refused outright.
OPERATOR_ROUTES = re.compile(r"^tenancy:")


def make_commerce_records(admin, account) -> dict:
    from decimal import Decimal

    from guanxi.commerce import services as commerce_services
    from guanxi.commerce.models import DiscountApproval, PriceBook, PriceBookEntry, Product, ProductCategory, TaxClass

    vat = TaxClass.objects.create(name=f"Tax {MARKER}", rate=13)
    category = ProductCategory.objects.create(name=f"Cat {MARKER}")
    product = Product.objects.create(sku="A-1", name=f"Product {MARKER}", list_price=10, tax_class=vat)
    book = PriceBook.objects.create(name=f"Book {MARKER}", is_default=True)
    entry = PriceBookEntry.objects.create(price_book=book, product=product, unit_price=9)
    quote = commerce_services.quote_create(
        actor=admin,
        data={"account": account, "title": f"Quote {MARKER}", "discount_percent": Decimal("50")},
        lines=[{"product": product.pk, "quantity": 1}],
    )
    commerce_services.quote_request_approval(actor=admin, quote=quote)
    order = commerce_services.order_create(
        actor=admin, data={"account": account, "notes": MARKER}, lines=[{"product": product.pk, "quantity": 1}]
    )
    return {
        "product": product,
        "price_book": book,
        "entry": entry,
        "quote": quote,
        "order": order,
        "approval": DiscountApproval.objects.get(quote=quote),
        "category": category,
        "tax_class": vat,
    }


def walk(patterns, prefix="", namespace=None):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace or namespace
            yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), f"{namespace}:{p.name}" if namespace else p.name, p.pattern.converters


@pytest.fixture
def tenant_a(db):
    tenant = make_tenant(f"Alpha {MARKER}")
    admin = tenant.admin
    with tenant_context(tenant, actor=admin):
        unit = OrgUnit.objects.create(
            name=f"Unit {MARKER}", parent=OrgUnit.objects.get(kind="company"), path="", kind="region"
        )
        unit.path = f"{OrgUnit.objects.get(kind='company').path}{unit.pk}/"
        unit.save()
        line = BusinessLine.objects.create(name=f"Line {MARKER}")
        team = Team.objects.create(name=f"Team {MARKER}")
        role = Role.objects.create(name=f"Role {MARKER}")
        rule = SharingRule.objects.create(name=f"Rule {MARKER}", module="customers.account", grantee_unit=unit)
        account = customer_services.account_create(actor=admin, data={"name": f"Account {MARKER}"})
        contact = customer_services.contact_create(actor=admin, data={"family_name": MARKER, "account": account})
        other_account = customer_services.account_create(actor=admin, data={"name": f"Other {MARKER}"})
        link = AccountContact.objects.get(contact=contact, account=account)
        activity = Activity.objects.create(
            subject=f"Call {MARKER}",
            owner=admin,
            account=account,
            contact=contact,
            kind="task",
            status="planned",
            starts_at=timezone.now() + datetime.timedelta(days=1),
        )
        plan = FollowUpPlan.objects.create(name=f"Plan {MARKER}")
        step = FollowUpStep.objects.create(plan=plan, subject=f"Step {MARKER}")
        notification = Notification.objects.create(user=admin, title=f"Note {MARKER}")
        field = CustomFieldDefinition.objects.create(
            entity="customers.account", key="secret", label_en=f"Field {MARKER}", field_type="text"
        )
        tag = Tag.objects.create(name=f"Tag {MARKER}")
        share = access_services.record_share_create(actor=admin, obj=account, team=team)
        token, _secret = api_token_create(user=admin, name=f"Token {MARKER}", scope="write")
        member = Member.objects.get(user=admin)
        import_job = ImportJob.objects.create(
            entity="customers.contact", original_name=f"{MARKER}.csv", format="csv", created_by=admin
        )
        export_job = ExportFile.objects.create(
            entity="customers.account",
            format="csv",
            query=f"q={MARKER}",
            filters=f"q={MARKER}",
            file_name=f"{MARKER}.csv",
            status=ExportFile.Status.DONE,
            rows=1,
            requested_by=admin,
        )
        sales = make_sales_records(admin, MARKER)
        commerce = make_commerce_records(admin, account)
        finance = make_finance_records(admin, MARKER)
    tenant.objs = {
        "sales": sales,
        "commerce": commerce,
        "finance": finance,
        "tenant": tenant,
        "admin": admin,
        "member": member,
        "unit": unit,
        "line": line,
        "team": team,
        "role": role,
        "rule": rule,
        "account": account,
        "other_account": other_account,
        "contact": contact,
        "link": link,
        "activity": activity,
        "plan": plan,
        "step": step,
        "notification": notification,
        "field": field,
        "tag": tag,
        "share": share,
        "token": token,
        "account_ct": ContentType.objects.get_for_model(Account).pk,
        "import_job": import_job,
        "export_job": export_job,
    }
    return tenant


# url name prefix (or API path prefix) → how to fill its parameters from tenant A's objects
UI_PARAMS = [
    (r"^customers:account_", lambda o: {"pk": o["account"].pk}),
    (r"^customers:contact_unlink$", lambda o: {"pk": o["contact"].pk, "link_pk": o["link"].pk}),
    (r"^customers:contact_", lambda o: {"pk": o["contact"].pk}),
    (r"^activities:activity_", lambda o: {"pk": o["activity"].pk}),
    (r"^activities:plan_", lambda o: {"pk": o["plan"].pk}),
    (r"^activities:step_create$", lambda o: {"pk": o["plan"].pk}),
    (r"^activities:step_", lambda o: {"pk": o["step"].pk}),
    (r"^activities:notification_", lambda o: {"pk": o["notification"].pk}),
    (r"^org:member_", lambda o: {"pk": o["member"].pk}),
    (r"^org:unit_", lambda o: {"pk": o["unit"].pk}),
    (r"^org:business_line_", lambda o: {"pk": o["line"].pk}),
    (r"^org:team_", lambda o: {"pk": o["team"].pk}),
    (r"^access:role_", lambda o: {"pk": o["role"].pk}),
    (r"^access:sharing_rule_", lambda o: {"pk": o["rule"].pk}),
    (
        r"^access:record_share",
        lambda o: {"content_type_id": o["account_ct"], "object_id": o["account"].pk, "share_id": o["share"].pk},
    ),
    (r"^customization:custom_field_", lambda o: {"pk": o["field"].pk}),
    (r"^customization:tag_", lambda o: {"pk": o["tag"].pk}),
    (r"^audit:history$", lambda o: {"content_type_id": o["account_ct"], "object_id": o["account"].pk}),
    (r"^identity:api_token_revoke$", lambda o: {"pk": o["token"].pk}),
    (r"^identity:switch_tenant$", lambda o: {"tenant_id": o["tenant"].pk}),
    (r"^tenancy:", lambda o: {"pk": o["tenant"].pk}),
    (r"^imports:", lambda o: {"pk": o["import_job"].pk}),
    (r"^exports:", lambda o: {"pk": o["export_job"].pk}),
    (
        r"^commerce:price_book_entry_",
        lambda o: {"pk": o["commerce"]["price_book"].pk, "entry_pk": o["commerce"]["entry"].pk},
    ),
    *[
        (rf"^commerce:{kind}_", (lambda k: lambda o: {"pk": o["commerce"][k].pk})(kind))
        for kind in ("product", "price_book", "quote", "order", "approval", "category", "tax_class")
    ],
    *SALES_UI_PARAMS,
    *FINANCE_UI_PARAMS,
]
API_PARAMS = [
    (r"^api/v1/accounts/", lambda o: {"pk": o["account"].pk}),
    (r"^api/v1/contacts/", lambda o: {"pk": o["contact"].pk, "account_id": o["account"].pk}),
    (r"^api/v1/activities/", lambda o: {"activity_id": o["activity"].pk, "pk": o["activity"].pk}),
    (r"^api/v1/tags/", lambda o: {"tag_id": o["tag"].pk, "pk": o["tag"].pk}),
    (r"^api/v1/custom-fields/", lambda o: {"field_id": o["field"].pk, "pk": o["field"].pk}),
    (r"^api/v1/users/", lambda o: {"user_id": o["admin"].pk, "pk": o["admin"].pk}),
    (r"^api/v1/units/", lambda o: {"unit_id": o["unit"].pk, "pk": o["unit"].pk}),
    (r"^api/v1/business-lines/", lambda o: {"pk": o["line"].pk, "line_id": o["line"].pk}),
    (r"^api/v1/teams/", lambda o: {"pk": o["team"].pk, "team_id": o["team"].pk}),
    (r"^api/v1/imports/", lambda o: {"job_id": o["import_job"].pk, "pk": o["import_job"].pk}),
    (r"^api/v1/exports/jobs/", lambda o: {"job_id": o["export_job"].pk}),
    *[
        (
            rf"^api/v1/{path}/",
            (lambda k: lambda o: {"pk": o["commerce"][k].pk, "entry_id": o["commerce"]["entry"].pk})(kind),
        )
        for path, kind in (
            ("products", "product"),
            ("price-books", "price_book"),
            ("quotes", "quote"),
            ("orders", "order"),
        )
    ],
    *SALES_API_PARAMS,
    *FINANCE_API_PARAMS,
]

# Request bodies that pass validation, so the answer depends on the id alone.
API_BODIES = {
    "api:link_account": lambda o: {"account_id": o["other_account"].pk},
    "api:list_entries": lambda o: {"product_id": o["commerce"]["product"].pk, "unit_price": "1"},
    "api:create_entry": lambda o: {"product_id": o["commerce"]["product"].pk, "unit_price": "1"},
    "api:quote_decide": lambda o: {"decision": "approve"},
    "api:order_transition": lambda o: {"to": "confirmed"},
    **SALES_API_BODIES,
    **FINANCE_API_BODIES,
}


def fill(route: str, params: dict) -> str:
    def sub(match):
        name = match.group(2)
        if name not in params:
            raise KeyError(name)
        return str(params[name])

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", sub, route)


def id_routes():
    seen = set()
    for route, name, converters in walk(get_resolver().url_patterns):
        if converters and (route, name) not in seen:
            seen.add((route, name))
            yield route, name


def state_of_a(tenant):
    """What must not change: tenant A's audit trail and a fingerprint of its objects."""
    with all_tenants_scope():
        return (
            AuditEntry.objects.filter(tenant=tenant).count(),
            sorted(Account.objects.filter(tenant=tenant).values_list("name", "owner_id")),
            RecordShare.objects.filter(tenant=tenant).count(),
            Tag.objects.filter(tenant=tenant).count(),
        )


@pytest.mark.django_db
def test_no_route_reaches_another_tenants_objects(tenant_a):
    tenant_b = make_tenant("Beta")
    objs = tenant_a.objs
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(tenant_b.admin)
    with tenant_context(tenant_b, actor=tenant_b.admin):
        secret_b = api_token_create(user=tenant_b.admin, name="attacker", scope="write")[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret_b}")
    before = state_of_a(tenant_a)

    unknown, failures, checked = [], [], 0
    for route, name in id_routes():
        if name in NOT_TENANT_IDS:
            continue
        is_api = route.startswith("api/v1/")
        table = API_PARAMS if is_api else UI_PARAMS
        filler = next((f for pattern, f in table if re.search(pattern, route if is_api else name or "")), None)
        if filler is None:
            unknown.append(f"{name} {route}")
            continue
        try:
            url = fill(route, filler(objs))
        except KeyError as missing:
            unknown.append(f"{name} {route} (no value for {missing})")
            continue
        client = api if is_api else browser
        allowed = {404, 405} | ({403, 302} if OPERATOR_ROUTES.search(name or "") else set())
        for method in ("get", "post", "put", "patch", "delete") if is_api else ("get", "post"):
            kwargs = {}
            if is_api and method != "get":
                body = API_BODIES[name](objs) if name in API_BODIES and method == "post" else {}
                if method == "put":
                    body = {"lines": []}
                kwargs = {"content_type": "application/json", "data": json.dumps(body)}
            response = getattr(client, method)(url, **kwargs)
            checked += 1
            body = response.content.decode(errors="replace")
            if response.status_code not in allowed or MARKER in body:
                failures.append(f"{method.upper()} {url} ({name}) → {response.status_code}")
    assert not unknown, "Routes with ids this test cannot fill; add them to UI_PARAMS/API_PARAMS:\n" + "\n".join(
        unknown
    )
    assert not failures, "Tenant B reached tenant A's objects:\n" + "\n".join(failures)
    assert checked > 50
    assert state_of_a(tenant_a) == before, "Tenant B changed something in tenant A"


@pytest.mark.django_db
def test_lists_and_search_show_nothing_of_another_tenant(tenant_a):
    tenant_b = make_tenant("Beta")
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(tenant_b.admin)
    with tenant_context(tenant_b, actor=tenant_b.admin):
        secret_b = api_token_create(user=tenant_b.admin, name="attacker", scope="read")[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret_b}")
    list_routes = [
        route
        for route, name, converters in walk(get_resolver().url_patterns)
        if not converters
        and route.startswith(
            (
                "customers/",
                "activities/",
                "settings/",
                "audit/",
                "search/",
                "sales/",
                "commerce/",
                "imports/",
                "exports/",
                "duplicates/",
                "finance/",
            )
        )
    ]
    for route in [*list_routes, "search/?q=SECRET"]:
        response = browser.get("/" + route)
        assert MARKER not in response.content.decode(errors="replace"), route
    for path in (
        "accounts",
        "contacts",
        "activities",
        "tags",
        "custom-fields",
        "users",
        "units",
        "business-lines",
        "teams",
        "leads",
        "opportunities",
        "pipelines",
        "competitors",
        "products",
        "price-books",
        "quotes",
        "orders",
        "imports",
        "exports/jobs",
        "duplicates",
        "contracts",
        "invoices",
        "payments",
        "commission-plans",
        "commissions",
        "commissions/statements",
        "expenses",
    ):
        response = api.get(f"/api/v1/{path}")
        assert MARKER not in response.content.decode(errors="replace"), path


# Related panels (tabs of a detail page) take their parent's id in the query string: entity key → that id.
PANEL_PARENTS = {
    "customers.account": lambda o: o["account"].pk,
    "customers.contact": lambda o: o["contact"].pk,
    "sales.opportunity": lambda o: o["sales"]["opportunity"].pk,
    "commerce.order": lambda o: o["commerce"]["order"].pk,
    "finance.contract": lambda o: o["finance"]["contract"].pk,
    "finance.invoice": lambda o: o["finance"]["invoice"].pk,
    "finance.expense": lambda o: o["finance"]["expense"].pk,
}


@pytest.mark.django_db
def test_no_related_panel_opens_another_tenants_record(tenant_a):
    from django.urls import reverse

    from guanxi.platform import registry

    tenant_b = make_tenant("Beta")
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(tenant_b.admin)
    owner = Client(HTTP_ACCEPT_LANGUAGE="en")  # tenant A's administrator: the same URL opens the panel
    owner.force_login(tenant_a.admin)
    unknown, failures, checked = [], [], 0
    for entity in registry.entities():
        for panel in registry.related_panels(entity.key):
            if entity.key not in PANEL_PARENTS:
                unknown.append(f"{entity.key}: {panel.url_name}")
                continue
            url = f"{reverse(panel.url_name)}?{panel.param}={PANEL_PARENTS[entity.key](tenant_a.objs)}"
            assert owner.get(url).status_code == 200, url
            response = browser.get(url)
            checked += 1
            if response.status_code != 404 or MARKER in response.content.decode(errors="replace"):
                failures.append(f"{url} → {response.status_code}")
    assert not unknown, "Related panels this test cannot fill; add their entity to PANEL_PARENTS:\n" + "\n".join(
        unknown
    )
    assert not failures, "Tenant B opened tenant A's records through related panels:\n" + "\n".join(failures)
    assert checked >= 10
