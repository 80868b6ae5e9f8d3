"""Tenant administration: the settings home, people, organisation units, business lines, teams.

Every view here is for tenant administrators only (``admin_required``); the other
settings apps (access, customization) use the same decorator.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from guanxi.access import permissions
from guanxi.platform.pagination import InvalidCursor, paginate

from . import selectors, services
from .forms import (
    BusinessLineForm,
    MemberForm,
    MemberInviteForm,
    MemberSearchForm,
    TeamForm,
    UnitForm,
    add_service_errors,
)
from .models import BusinessLine, Member, OrgUnit, Team


def admin_required(view):
    """Only administrators of the current tenant (403 for everyone else)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if getattr(request, "tenant", None) is None or not permissions.is_tenant_admin(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapper)


# --- settings home -----------------------------------------------------------------------------

SECTIONS = [
    (
        gettext_lazy("People and organisation"),
        [
            (
                "org:members",
                "people",
                gettext_lazy("People"),
                gettext_lazy("Invite people, set their unit, manager and roles."),
            ),
            (
                "org:units",
                "diagram-3",
                gettext_lazy("Organisation units"),
                gettext_lazy("The company, regions, branches and departments."),
            ),
            (
                "org:business_lines",
                "briefcase",
                gettext_lazy("Business lines"),
                gettext_lazy("Product lines or business models."),
            ),
            ("org:teams", "people-fill", gettext_lazy("Teams"), gettext_lazy("Groups of people across units.")),
        ],
    ),
    (
        gettext_lazy("Access"),
        [
            (
                "access:roles",
                "shield-lock",
                gettext_lazy("Roles"),
                gettext_lazy("What each role may do, on which records."),
            ),
            (
                "access:sharing_rules",
                "share",
                gettext_lazy("Sharing rules"),
                gettext_lazy("Give units, teams or roles access to sets of records."),
            ),
            (
                "access:restricted_fields",
                "eye-slash",
                gettext_lazy("Restricted fields"),
                gettext_lazy("Fields only some roles may see or change."),
            ),
        ],
    ),
    (
        gettext_lazy("Data"),
        [
            (
                "customization:custom_fields",
                "input-cursor-text",
                gettext_lazy("Custom fields"),
                gettext_lazy("Your own fields on accounts and contacts."),
            ),
            ("customization:tags", "tags", gettext_lazy("Tags"), gettext_lazy("Labels to group and filter records.")),
            ("audit:log", "journal-text", gettext_lazy("Audit log"), gettext_lazy("Who changed what, and when.")),
        ],
    ),
]


@admin_required
def settings_home(request):
    sections = []
    for title, items in SECTIONS:
        links = []
        for url_name, icon, label, description in items:
            try:
                url = reverse(url_name)
            except NoReverseMatch:
                continue  # an app without that page (yet)
            links.append({"url": url, "icon": icon, "label": label, "description": description})
        if links:
            sections.append((title, links))
    return render(request, "org/settings_home.html", {"sections": sections})


# --- people ------------------------------------------------------------------------------------


@admin_required
def members(request):
    search = MemberSearchForm(request.GET or None)
    qs = selectors.members_for_admin(**search.filters())
    try:
        page = paginate(qs, sort="user__full_name", cursor=request.GET.get("cursor"), limit=50)
    except InvalidCursor:
        page = paginate(qs, sort="user__full_name", limit=50)
    params = request.GET.copy()
    params.pop("cursor", None)
    ctx = {"search": search, "page": page, "query": params.urlencode()}
    template = "org/members.html#member-table" if request.htmx and not request.htmx.boosted else "org/members.html"
    return render(request, template, ctx)


@admin_required
def member_add(request):
    form = MemberInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member, email = services.member_invite(
                actor=request.user, domain=request.get_host(), use_https=request.is_secure(), **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            name = member.user.full_name or member.user.email
            if email == "sent":
                messages.success(
                    request, _("%(name)s was added and got an email to choose a password.") % {"name": name}
                )
            elif email == "failed":
                messages.warning(
                    request,
                    _(
                        "%(name)s was added, but the invitation email could not be sent. They can use “Forgot password” to choose one."
                    )
                    % {"name": name},
                )
            else:
                messages.success(
                    request, _("%(name)s was added; they sign in with their existing password.") % {"name": name}
                )
            return redirect("org:members")
    return render(request, "org/member_form.html", {"form": form, "member": None})


@admin_required
def member_edit(request, pk):
    member = get_object_or_404(Member.objects.select_related("user"), pk=pk)
    form = MemberForm(request.POST or None, member=member)
    if member.user_id == request.user.pk:
        # Nobody locks themselves out by accident (the services refuse it too).
        form.fields["is_active"].disabled = True
        form.fields["is_admin"].disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            services.member_update(actor=request.user, member=member, data=dict(form.cleaned_data))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The changes were saved."))
            return redirect("org:members")
    return render(request, "org/member_form.html", {"form": form, "member": member})


@admin_required
@require_POST
def member_deactivate(request, pk):
    member = get_object_or_404(Member.objects.select_related("user"), pk=pk)
    try:
        services.member_deactivate(actor=request.user, member=member)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(name)s can no longer sign in to this company.") % {"name": member.user})
    return redirect("org:members")


# --- units -------------------------------------------------------------------------------------


@admin_required
def units(request):
    return render(request, "org/units.html", {"units": selectors.units_with_counts()})


@admin_required
def unit_create(request):
    initial = {}
    if request.GET.get("parent", "").isdigit():
        initial["parent"] = int(request.GET["parent"])
    return _unit_form(request, OrgUnit(), initial)


@admin_required
def unit_edit(request, pk):
    return _unit_form(request, get_object_or_404(OrgUnit, pk=pk))


def _unit_form(request, unit: OrgUnit, initial=None):
    form = UnitForm(request.POST or None, instance=unit, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.org_unit_save(actor=request.user, unit=form.instance)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The unit was saved."))
            return redirect("org:units")
    return render(request, "org/unit_form.html", {"form": form, "unit": unit})


@admin_required
@require_POST
def unit_delete(request, pk):
    unit = get_object_or_404(OrgUnit, pk=pk)
    try:
        services.org_unit_delete(actor=request.user, unit=unit)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The unit was deleted."))
    return redirect("org:units")


# --- business lines ----------------------------------------------------------------------------


@admin_required
def business_lines(request):
    return render(request, "org/business_lines.html", {"lines": selectors.business_lines_with_counts()})


@admin_required
def business_line_create(request):
    return _business_line_form(request, BusinessLine())


@admin_required
def business_line_edit(request, pk):
    return _business_line_form(request, get_object_or_404(BusinessLine, pk=pk))


def _business_line_form(request, line: BusinessLine):
    form = BusinessLineForm(request.POST or None, instance=line)
    if request.method == "POST" and form.is_valid():
        try:
            services.business_line_save(actor=request.user, line=form.instance)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The business line was saved."))
            return redirect("org:business_lines")
    return render(request, "org/business_line_form.html", {"form": form, "line": line})


@admin_required
@require_POST
def business_line_delete(request, pk):
    line = get_object_or_404(BusinessLine, pk=pk)
    services.business_line_delete(actor=request.user, line=line)
    messages.success(request, _("The business line was deleted."))
    return redirect("org:business_lines")


# --- teams -------------------------------------------------------------------------------------


@admin_required
def teams(request):
    return render(request, "org/teams.html", {"teams": selectors.teams_for_admin()})


@admin_required
def team_create(request):
    return _team_form(request, Team())


@admin_required
def team_edit(request, pk):
    return _team_form(request, get_object_or_404(Team, pk=pk))


def _team_form(request, team: Team):
    form = TeamForm(request.POST or None, instance=team)
    if request.method == "POST" and form.is_valid():
        try:
            services.team_save(
                actor=request.user, team=form.instance, member_ids=[m.pk for m in form.cleaned_data["members"]]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The team was saved."))
            return redirect("org:teams")
    return render(request, "org/team_form.html", {"form": form, "team": team})


@admin_required
@require_POST
def team_delete(request, pk):
    team = get_object_or_404(Team, pk=pk)
    services.team_delete(actor=request.user, team=team)
    messages.success(request, _("The team was deleted."))
    return redirect("org:teams")
