from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_POST

from guanxi.access import permissions
from guanxi.platform.registry import Action
from guanxi.platform.views import Column, EntityViews

from . import selectors, services
from .filters import AccountFilterSet, ContactFilterSet
from .forms import AccountForm, ContactForm
from .models import Account, AccountContact, Contact, LifecycleStage

STAGE_BADGES = {
    LifecycleStage.PROSPECT: "text-bg-light",
    LifecycleStage.OPPORTUNITY: "text-bg-info",
    LifecycleStage.CUSTOMER: "text-bg-success",
    LifecycleStage.END_USER: "text-bg-primary",
    LifecycleStage.CHURNED: "text-bg-secondary",
}


class AccountViews(EntityViews):
    entity_key = "customers.account"
    url_prefix = "accounts/"
    name = "account"
    filterset_class = AccountFilterSet
    form_class = AccountForm
    detail_template = "customers/account_detail.html"
    default_sort = "name"
    columns = [
        Column("name", _("Name"), sort="name", kind="link", default=True),
        Column(
            "lifecycle_stage",
            _("Stage"),
            sort="lifecycle_stage",
            kind="badge",
            default=True,
            badge_classes=STAGE_BADGES,
        ),
        Column("industry", _("Industry"), sort="industry", kind="choice", default=True),
        Column("city", _("City"), sort="city", default=True),
        Column("phone", _("Phone"), kind="phone", default=True),
        Column("owner", _("Owner"), default=True),
        Column("rating", _("Rating"), sort="rating", kind="choice"),
        Column("kind", _("Type"), kind="choice"),
        Column("size", pgettext_lazy("company size", "Size"), kind="choice"),
        Column("annual_revenue", _("Annual revenue"), sort="annual_revenue", kind="money"),
        Column("region", _("Region")),
        Column("business_line", _("Business line")),
        Column("source", _("Source"), kind="choice"),
        Column("email", _("Email"), kind="email"),
        Column("website", _("Website"), kind="url"),
        Column("tags", _("Tags"), kind="tags"),
        Column("created_at", _("Created"), sort="created_at", kind="datetime"),
        Column("updated_at", _("Updated"), sort="updated_at", kind="datetime", default=True),
    ]
    form_sections = [
        (_("Account"), ["name", "kind", "lifecycle_stage", "rating", "owner", "tags"]),
        (
            _("Company"),
            ["industry", "size", "annual_revenue", "currency", "region", "business_line", "parent", "source"],
        ),
        (_("Contact details"), ["phone", "email", "website"]),
        (_("Address"), ["country", "province", "city", "district", "street", "postal_code"]),
        (_("Description"), ["description"]),
    ]

    def list_queryset(self, request):
        return selectors.account_list_queryset()

    def initial_for_create(self, request):
        return {"owner": request.user.pk}

    def detail_queryset(self, request):
        return selectors.account_detail_queryset()

    def create(self, request, data):
        tags = data.pop("tags", None)
        return services.account_create(actor=request.user, data=data, tags=tags)

    def update(self, request, obj, data):
        tags = data.pop("tags", None)
        return services.account_update(actor=request.user, account=obj, data=data, tags=tags)

    def delete(self, request, obj):
        services.account_delete(actor=request.user, account=obj)

    def detail_context(self, request, obj):
        visible_contacts = permissions.visible(request.user, Contact.objects.all())
        return {
            **selectors.account_related(obj, visible_contacts),
            "stage_choices": LifecycleStage.choices,
            "stage_badges": STAGE_BADGES,
            "can_add_contact": permissions.has_action(request.user, "customers.contact", Action.CREATE),
            "contact_roles": AccountContact.Role.choices,
        }


class ContactViews(EntityViews):
    entity_key = "customers.contact"
    url_prefix = "contacts/"
    name = "contact"
    filterset_class = ContactFilterSet
    form_class = ContactForm
    detail_template = "customers/contact_detail.html"
    default_sort = "full_name"
    columns = [
        Column(
            "full_name",
            pgettext_lazy("person", "Name"),
            sort="full_name",
            kind="link",
            default=True,
            field="family_name",
        ),
        Column("title", _("Job title"), sort="title", default=True),
        Column("account", _("Account"), default=True),
        Column("phone", _("Phone"), kind="phone", default=True),
        Column("email", _("Email"), kind="email", default=True),
        Column("owner", _("Owner"), default=True),
        Column("department", _("Department")),
        Column("city", _("City"), sort="city"),
        Column("preferred_channel", _("Preferred channel"), kind="choice"),
        Column("birthday", _("Birthday"), sort="birthday", kind="date"),
        Column("consent_email", _("Agrees to email"), kind="bool"),
        Column("consent_sms", _("Agrees to SMS"), kind="bool"),
        Column("tags", _("Tags"), kind="tags"),
        Column("created_at", _("Created"), sort="created_at", kind="datetime"),
        Column("updated_at", _("Updated"), sort="updated_at", kind="datetime", default=True),
    ]
    form_sections = [
        (_("Person"), ["family_name", "given_name", "salutation", "title", "department", "account", "owner", "tags"]),
        (
            _("Reaching them"),
            [
                "email",
                "extra_emails",
                "phone",
                "extra_phones",
                "preferred_channel",
                "consent_email",
                "consent_sms",
                "consent_phone",
                "consent_mail",
            ],
        ),
        (_("Address"), ["country", "province", "city", "district", "street", "postal_code"]),
        (_("More"), ["birthday", "description"]),
    ]

    def list_queryset(self, request):
        return selectors.contact_list_queryset()

    def detail_queryset(self, request):
        return selectors.contact_detail_queryset()

    def initial_for_create(self, request):
        return {"owner": request.user.pk}

    def create(self, request, data):
        tags = data.pop("tags", None)
        return services.contact_create(actor=request.user, data=data, tags=tags)

    def update(self, request, obj, data):
        tags = data.pop("tags", None)
        return services.contact_update(actor=request.user, contact=obj, data=data, tags=tags)

    def delete(self, request, obj):
        services.contact_delete(actor=request.user, contact=obj)

    def detail_context(self, request, obj):
        visible_accounts = permissions.visible(request.user, Account.objects.all())
        return {
            **selectors.contact_related(obj, visible_accounts),
            "contact_roles": AccountContact.Role.choices,
        }


account_views = AccountViews()
contact_views = ContactViews()


@login_required
@require_POST
def account_stage(request, pk):
    """Move an account to another lifecycle stage (from the stage bar on its page)."""
    account = permissions.get_for(request.user, Account.objects.all(), pk, Action.EDIT)
    stage = request.POST.get("stage")
    if stage in LifecycleStage.values:
        services.account_change_stage(actor=request.user, account=account, stage=stage)
    return redirect(account.get_absolute_url())


@login_required
@require_POST
def contact_link(request, pk):
    """Link a contact to another account with a role."""
    contact = permissions.get_for(request.user, Contact.objects.all(), pk, Action.EDIT)
    account = permissions.get_for(request.user, Account.objects.all(), request.POST.get("account"))
    services.contact_link_account(
        actor=request.user,
        contact=contact,
        account=account,
        role=request.POST.get("role", ""),
        note=request.POST.get("note", "")[:200],
    )
    return redirect(contact.get_absolute_url())


@login_required
@require_POST
def contact_unlink(request, pk, link_pk):
    contact = permissions.get_for(request.user, Contact.objects.all(), pk, Action.EDIT)
    link = AccountContact.objects.filter(pk=link_pk, contact=contact).select_related("account", "contact").first()
    if link is None:
        from django.http import Http404

        raise Http404
    services.contact_unlink_account(actor=request.user, link=link)
    return redirect(contact.get_absolute_url())


@login_required
def account_options(request):
    """Typeahead options for account pickers: {results: [{id, label}]} of visible accounts."""
    from django.http import JsonResponse

    q = (request.GET.get("q") or "").strip()
    qs = permissions.visible(request.user, Account.objects.all())
    if q:
        qs = qs.filter(name__icontains=q)
    return JsonResponse({"results": [{"id": a.pk, "label": a.name} for a in qs.order_by("name")[:20]]})
