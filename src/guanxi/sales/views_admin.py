"""Tenant administration of sales: pipelines and stages, lead scoring rules, lead assignment rules
and web-to-lead forms. Every page requires a tenant administrator."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from guanxi.access import permissions

from . import lead_services, services
from .forms import AssignmentRuleForm, PipelineForm, ScoringRuleForm, StageForm, WebFormForm
from .models import LeadAssignee, LeadAssignmentRule, LeadScoringRule, Pipeline, Stage, WebToLeadForm


def _admin(request) -> None:
    if not permissions.is_tenant_admin(request.user):
        raise PermissionDenied


def _get(model, pk):
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj


def _apply_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(name if name in form.fields else None, error)
    else:
        form.add_error(None, exc)


def _form_page(request, *, title, form, cancel_url, breadcrumbs, delete_url=None, extra=None, template=None):
    return render(
        request,
        template or "sales/simple_form.html",
        {
            "title": title,
            "form": form,
            "cancel_url": cancel_url,
            "breadcrumbs": breadcrumbs,
            "delete_url": delete_url,
            **(extra or {}),
        },
    )


# --- pipelines --------------------------------------------------------------------------------------


@login_required
def pipeline_list(request):
    _admin(request)
    services.pipeline_default_for_tenant()
    pipelines = list(
        Pipeline.objects.select_related("business_line")
        .prefetch_related(
            Prefetch("stages", queryset=Stage.objects.annotate(n=Count("opportunities")).order_by("position", "pk"))
        )
        .annotate(n=Count("opportunities", distinct=True))
        .order_by("-is_default", "name")
    )
    return render(
        request, "sales/admin_pipelines.html", {"pipelines": pipelines, "stage_form": StageForm(prefix="stage")}
    )


@login_required
def pipeline_create(request):
    _admin(request)
    form = PipelineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pipeline = services.pipeline_save(actor=request.user, pipeline=form.save(commit=False))
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("The pipeline “%(name)s” was created.") % {"name": pipeline})
            return redirect("sales:pipeline_list")
    back = reverse("sales:pipeline_list")
    return _form_page(
        request, title=_("New pipeline"), form=form, cancel_url=back, breadcrumbs=[(back, _("Pipelines"))]
    )


@login_required
def pipeline_edit(request, pk):
    _admin(request)
    pipeline = _get(Pipeline, pk)
    form = PipelineForm(request.POST or None, instance=pipeline)
    if request.method == "POST" and form.is_valid():
        try:
            services.pipeline_save(actor=request.user, pipeline=form.save(commit=False))
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Your changes were saved."))
            return redirect("sales:pipeline_list")
    back = reverse("sales:pipeline_list")
    return _form_page(
        request,
        title=_("Edit %(name)s") % {"name": pipeline.name},
        form=form,
        cancel_url=back,
        breadcrumbs=[(back, _("Pipelines"))],
        delete_url=reverse("sales:pipeline_delete", args=[pipeline.pk]),
    )


@login_required
@require_POST
def pipeline_delete(request, pk):
    _admin(request)
    pipeline = _get(Pipeline, pk)
    try:
        services.pipeline_delete(actor=request.user, pipeline=pipeline)
        messages.success(request, _("“%(name)s” was deleted.") % {"name": pipeline.name})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("sales:pipeline_list")


@login_required
@require_POST
def stage_create(request, pk):
    _admin(request)
    pipeline = _get(Pipeline, pk)
    form = StageForm(request.POST, prefix="stage")
    if form.is_valid():
        stage = form.save(commit=False)
        stage.pipeline = pipeline
        try:
            services.stage_save(actor=request.user, stage=stage)
            messages.success(request, _("The stage “%(name)s” was added.") % {"name": stage.name})
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect(reverse("sales:pipeline_list") + f"#pipeline-{pipeline.pk}")


@login_required
def stage_edit(request, pk):
    _admin(request)
    stage = _get(Stage, pk)
    form = StageForm(request.POST or None, instance=stage)
    if request.method == "POST" and form.is_valid():
        try:
            services.stage_save(actor=request.user, stage=form.save(commit=False))
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Your changes were saved."))
            return redirect(reverse("sales:pipeline_list") + f"#pipeline-{stage.pipeline_id}")
    back = reverse("sales:pipeline_list")
    return _form_page(
        request,
        title=_("Edit stage %(name)s") % {"name": stage.name},
        form=form,
        cancel_url=back,
        breadcrumbs=[(back, _("Pipelines")), (back + f"#pipeline-{stage.pipeline_id}", stage.pipeline.name)],
        delete_url=reverse("sales:stage_delete", args=[stage.pk]),
    )


@login_required
@require_POST
def stage_move(request, pk):
    _admin(request)
    stage = _get(Stage, pk)
    services.stage_move(actor=request.user, stage=stage, offset=-1 if request.POST.get("direction") == "up" else 1)
    return redirect(reverse("sales:pipeline_list") + f"#pipeline-{stage.pipeline_id}")


@login_required
@require_POST
def stage_delete(request, pk):
    _admin(request)
    stage = _get(Stage, pk)
    try:
        services.stage_delete(actor=request.user, stage=stage)
        messages.success(request, _("“%(name)s” was deleted.") % {"name": stage.name})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(reverse("sales:pipeline_list") + f"#pipeline-{stage.pipeline_id}")


# --- lead scoring rules ----------------------------------------------------------------------------


@login_required
def scoring_rule_list(request):
    _admin(request)
    fields = dict(lead_services.scoring_field_choices())
    rules = list(LeadScoringRule.objects.order_by("category", "position", "pk"))
    for rule in rules:
        rule.field_label = fields.get(rule.field, rule.field)
    return render(
        request,
        "sales/admin_scoring_rules.html",
        {
            "fit_rules": [r for r in rules if r.category == LeadScoringRule.Category.FIT],
            "engagement_rules": [r for r in rules if r.category == LeadScoringRule.Category.ENGAGEMENT],
            "last_nightly": lead_services.last_nightly_rescore(),
        },
    )


def _scoring_form_page(request, form, rule=None):
    back = reverse("sales:scoring_rule_list")
    return _form_page(
        request,
        title=_("Edit %(name)s") % {"name": rule.name} if rule else _("New scoring rule"),
        form=form,
        cancel_url=back,
        breadcrumbs=[(back, _("Lead scoring"))],
        delete_url=reverse("sales:scoring_rule_delete", args=[rule.pk]) if rule else None,
    )


@login_required
def scoring_rule_create(request):
    _admin(request)
    form = ScoringRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lead_services.scoring_rule_save(actor=request.user, rule=form.save(commit=False))
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("The rule was saved and every lead's score recomputed."))
            return redirect("sales:scoring_rule_list")
    return _scoring_form_page(request, form)


@login_required
def scoring_rule_edit(request, pk):
    _admin(request)
    rule = _get(LeadScoringRule, pk)
    form = ScoringRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        try:
            lead_services.scoring_rule_save(actor=request.user, rule=form.save(commit=False))
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("The rule was saved and every lead's score recomputed."))
            return redirect("sales:scoring_rule_list")
    return _scoring_form_page(request, form, rule)


@login_required
@require_POST
def scoring_rule_delete(request, pk):
    _admin(request)
    rule = _get(LeadScoringRule, pk)
    lead_services.scoring_rule_delete(actor=request.user, rule=rule)
    messages.success(request, _("“%(name)s” was deleted.") % {"name": rule.name})
    return redirect("sales:scoring_rule_list")


@login_required
@require_POST
def scoring_rules_suggested(request):
    _admin(request)
    n = lead_services.scoring_rules_install_suggested(actor=request.user)
    messages.success(
        request, ngettext("%(n)s suggested rule was added.", "%(n)s suggested rules were added.", n) % {"n": n}
    )
    return redirect("sales:scoring_rule_list")


@login_required
@require_POST
def scoring_rescore(request):
    _admin(request)
    n = lead_services.leads_rescore_all()
    messages.success(
        request,
        ngettext("Scores recomputed: %(n)s lead changed.", "Scores recomputed: %(n)s leads changed.", n) % {"n": n},
    )
    return redirect("sales:scoring_rule_list")


# --- lead assignment rules ------------------------------------------------------------------------


@login_required
def assignment_rule_list(request):
    _admin(request)
    rules = list(
        LeadAssignmentRule.objects.select_related("region", "business_line")
        .prefetch_related(
            Prefetch(
                "assignee_links",
                queryset=LeadAssignee.objects.select_related("member__user").order_by("position", "pk"),
            )
        )
        .order_by("position", "pk")
    )
    for rule in rules:  # one message "strategy: people", so that translations place the punctuation
        rule.assignee_names = ", ".join(str(link.member.user) for link in rule.assignee_links.all())
    return render(request, "sales/admin_assignment_rules.html", {"rules": rules})


def _assignment_page(request, form, rule=None):
    back = reverse("sales:assignment_rule_list")
    return _form_page(
        request,
        title=_("Edit %(name)s") % {"name": rule.name} if rule else _("New assignment rule"),
        form=form,
        cancel_url=back,
        breadcrumbs=[(back, _("Lead assignment"))],
        delete_url=reverse("sales:assignment_rule_delete", args=[rule.pk]) if rule else None,
    )


def _assignee_ids(request) -> list[int]:
    ids = []
    for value in request.POST.getlist("assignees"):
        try:
            ids.append(int(value))
        except ValueError:
            continue
    return ids


@login_required
def assignment_rule_create(request):
    _admin(request)
    form = AssignmentRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lead_services.assignment_rule_save(
                actor=request.user, rule=form.save(commit=False), member_ids=_assignee_ids(request)
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("The assignment rule was saved."))
            return redirect("sales:assignment_rule_list")
    return _assignment_page(request, form)


@login_required
def assignment_rule_edit(request, pk):
    _admin(request)
    rule = _get(LeadAssignmentRule, pk)
    form = AssignmentRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        try:
            lead_services.assignment_rule_save(
                actor=request.user, rule=form.save(commit=False), member_ids=_assignee_ids(request)
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Your changes were saved."))
            return redirect("sales:assignment_rule_list")
    return _assignment_page(request, form, rule)


@login_required
@require_POST
def assignment_rule_delete(request, pk):
    _admin(request)
    rule = _get(LeadAssignmentRule, pk)
    lead_services.assignment_rule_delete(actor=request.user, rule=rule)
    messages.success(request, _("“%(name)s” was deleted.") % {"name": rule.name})
    return redirect("sales:assignment_rule_list")


@login_required
@require_POST
def assignment_rule_move(request, pk):
    _admin(request)
    rule = _get(LeadAssignmentRule, pk)
    lead_services.assignment_rule_move(
        actor=request.user, rule=rule, offset=-1 if request.POST.get("direction") == "up" else 1
    )
    return redirect("sales:assignment_rule_list")


# --- web-to-lead forms ----------------------------------------------------------------------------


@login_required
def webform_list(request):
    _admin(request)
    forms_ = list(WebToLeadForm.objects.annotate(n=Count("leads")).select_related("default_owner").order_by("name"))
    return render(request, "sales/admin_webforms.html", {"webforms": forms_})


def _webform_page(request, form, config=None):
    back = reverse("sales:webform_list")
    extra = {}
    if config is not None:
        public_url = request.build_absolute_uri(reverse("sales:web_to_lead", args=[config.key]))
        extra = {
            "config": config,
            "public_url": public_url,
            "embed_code": (
                f'<iframe src="{public_url}" title="{config.title or config.name}" '
                'style="width:100%;max-width:640px;height:720px;border:0" loading="lazy"></iframe>'
            ),
        }
    return _form_page(
        request,
        title=_("Edit %(name)s") % {"name": config.name} if config else _("New web-to-lead form"),
        form=form,
        cancel_url=back,
        breadcrumbs=[(back, _("Web-to-lead forms"))],
        delete_url=reverse("sales:webform_delete", args=[config.pk]) if config else None,
        extra=extra,
        template="sales/admin_webform_form.html",
    )


@login_required
def webform_create(request):
    _admin(request)
    form = WebFormForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            config = lead_services.webform_save(actor=request.user, form=form.form_instance())
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("The form was created; put it on your website with the code below."))
            return redirect("sales:webform_edit", pk=config.pk)
    return _webform_page(request, form)


@login_required
def webform_edit(request, pk):
    _admin(request)
    config = _get(WebToLeadForm, pk)
    form = WebFormForm(request.POST or None, instance=config)
    if request.method == "POST" and form.is_valid():
        try:
            lead_services.webform_save(actor=request.user, form=form.form_instance())
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Your changes were saved."))
            return redirect("sales:webform_edit", pk=config.pk)
    return _webform_page(request, form, config)


@login_required
@require_POST
def webform_new_key(request, pk):
    _admin(request)
    config = _get(WebToLeadForm, pk)
    lead_services.webform_new_key(actor=request.user, form=config)
    messages.success(request, _("The form has a new address; update the code on your website."))
    return redirect("sales:webform_edit", pk=config.pk)


@login_required
@require_POST
def webform_delete(request, pk):
    _admin(request)
    config = _get(WebToLeadForm, pk)
    lead_services.webform_delete(actor=request.user, form=config)
    messages.success(request, _("“%(name)s” was deleted.") % {"name": config.name})
    return redirect("sales:webform_list")
