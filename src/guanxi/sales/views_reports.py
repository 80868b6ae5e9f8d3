"""The pipeline board (kanban with drag and drop), the sales dashboard and win/loss by competitor."""

from __future__ import annotations

import datetime
import json

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from guanxi.access import permissions
from guanxi.platform.context import current_tenant
from guanxi.platform.registry import Action

from . import dashboard as dash
from . import selectors, services
from .models import Competitor, Opportunity, Pipeline, Stage
from .views import STATUS_BADGES, _int

OPPORTUNITY = services.OPPORTUNITY


def _owner_param(request):
    value = request.GET.get("owner") or ""
    if value == "me":
        return request.user.pk
    return _int(value)


def _totals_text(column) -> str:
    if not column.totals:
        return ""
    return " · ".join(
        f"{formats.number_format(amount, 0, use_l10n=True, force_grouping=True)} {currency}"
        for currency, amount, _weighted in column.totals
    )


@login_required
def board(request):
    """The kanban board of one pipeline: a column per stage, cards the user may see."""
    from guanxi.org.selectors import member_user_choices

    user = request.user
    permissions.require(user, OPPORTUNITY, Action.VIEW)
    pipelines = list(Pipeline.objects.filter(is_active=True).order_by("-is_default", "name"))
    pipeline = next((p for p in pipelines if p.pk == _int(request.GET.get("pipeline"))), None)
    if pipeline is None:
        pipeline = services.pipeline_default_for_tenant()
        if pipeline not in pipelines:
            pipelines.insert(0, pipeline)
    owner = _owner_param(request)
    q = (request.GET.get("q") or "").strip()[:100]
    columns = selectors.board(user, pipeline, owner=owner, q=q)
    card_ids = [c.pk for col in columns for c in col.cards]
    editable = set(
        permissions.visible(user, Opportunity.objects.filter(pk__in=card_ids), Action.EDIT).values_list("pk", flat=True)
    )
    return render(
        request,
        "sales/board.html",
        {
            "pipeline": pipeline,
            "pipelines": pipelines,
            "columns": [(col, _totals_text(col)) for col in columns],
            "editable": editable,
            "owner": request.GET.get("owner") or "",
            "owner_choices": member_user_choices(),
            "q": q,
            "status_badges": STATUS_BADGES,
            "competitors": list(
                permissions.visible(user, Competitor.objects.filter(status=Competitor.Status.ACTIVE)).order_by("name")
            )
            if permissions.has_action(user, services.COMPETITOR, Action.VIEW)
            else [],
            "can_create": permissions.has_action(user, OPPORTUNITY, Action.CREATE),
            "today": datetime.date.today(),
        },
    )


@login_required
@require_POST
def opportunity_move(request, pk):
    """Drop of a card on another column (JSON answer). Open stages move; won / lost stages need
    ``reason`` (and optionally ``lost_to``). A refused move answers 400 with a message."""
    user = request.user
    opp = permissions.get_for(user, Opportunity.objects.select_related("pipeline", "stage"), pk, Action.EDIT)
    if request.content_type == "application/json":
        try:
            payload = json.loads(request.body or b"{}")
        except ValueError:
            payload = {}
    else:
        payload = request.POST
    stage = Stage.objects.filter(pk=_int(payload.get("stage"))).first()
    if stage is None or stage.pipeline_id != opp.pipeline_id:
        return JsonResponse({"ok": False, "message": _("This stage belongs to another pipeline.")}, status=400)
    reason = (payload.get("reason") or "").strip()
    try:
        if stage.kind == Stage.Kind.OPEN:
            opp = services.opportunity_move(actor=user, opportunity=opp, stage=stage)
        elif stage.kind == Stage.Kind.WON:
            opp = services.opportunity_mark_won(actor=user, opportunity=opp, reason=reason, stage=stage)
        else:
            lost_to = None
            if payload.get("lost_to"):
                try:
                    lost_to = permissions.get_for(user, Competitor.objects.all(), payload.get("lost_to"))
                except Http404:
                    lost_to = None
            opp = services.opportunity_mark_lost(
                actor=user, opportunity=opp, reason=reason, lost_to=lost_to, stage=stage
            )
    except ValidationError as exc:
        return JsonResponse({"ok": False, "message": " ".join(exc.messages)}, status=400)
    columns = selectors.board(user, opp.pipeline, owner=_int(payload.get("owner")) or None)
    return JsonResponse(
        {
            "ok": True,
            "message": _("“%(name)s” moved to %(stage)s.") % {"name": opp.name, "stage": stage.name},
            "opportunity": {"id": opp.pk, "stage": opp.stage_id, "status": opp.status, "probability": opp.probability},
            "columns": {col.stage.pk: {"count": col.count, "totals": _totals_text(col)} for col in columns},
        }
    )


# --- dashboard -----------------------------------------------------------------------------------


class DashboardForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    owner = forms.TypedChoiceField(label=gettext_lazy("Owner"), required=False, coerce=int, empty_value=None)
    team = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Team"), required=False)
    unit = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Unit"), required=False)
    business_line = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Business line"), required=False)
    pipeline = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Pipeline"), required=False)
    currency = forms.ChoiceField(label=gettext_lazy("Currency"), required=False)

    def __init__(self, *args, currencies=(), **kwargs):
        from guanxi.org.models import BusinessLine, OrgUnit, Team
        from guanxi.org.selectors import member_user_choices

        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", _("Everyone")), *member_user_choices(active_only=False)]
        self.fields["team"].queryset = Team.objects.order_by("name")
        self.fields["unit"].queryset = OrgUnit.objects.order_by("path")
        self.fields["unit"].label_from_instance = lambda u: "— " * u.depth + u.name
        self.fields["business_line"].queryset = BusinessLine.objects.order_by("name")
        self.fields["pipeline"].queryset = Pipeline.objects.order_by("name")
        self.fields["currency"].choices = [(c, c) for c in currencies]
        for field in self.fields.values():
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )
            field.widget.attrs["class"] = css


def _currencies(user) -> list[str]:
    tenant_currency = getattr(current_tenant(), "currency", "") or "CNY"
    found = set(
        permissions.visible(user, Opportunity.objects.all()).order_by().values_list("currency", flat=True).distinct()
    )
    return [tenant_currency, *sorted(found - {tenant_currency})]


@login_required
def dashboard(request):
    user = request.user
    permissions.require(user, OPPORTUNITY, Action.VIEW)
    currencies = _currencies(user)
    start, end = dash.default_period()
    form = DashboardForm(
        request.GET or None, currencies=currencies, initial={"start": start, "end": end, "currency": currencies[0]}
    )
    cleaned = form.cleaned_data if form.is_bound and form.is_valid() else {}
    start = cleaned.get("start") or start
    end = cleaned.get("end") or end
    if end < start:
        start, end = end, start
    filters = dash.Filters(
        currency=cleaned.get("currency") or currencies[0],
        start=start,
        end=end,
        owner_id=cleaned.get("owner"),
        team=cleaned.get("team"),
        unit=cleaned.get("unit"),
        business_line=cleaned.get("business_line"),
        pipeline=cleaned.get("pipeline"),
    )
    data = dash.dashboard(user, filters)
    return render(
        request,
        "sales/dashboard.html",
        {"form": form, "filters": filters, "data": data, "charts": dash.chart_data(data)},
    )


# --- win / loss by competitor ----------------------------------------------------------------------


@login_required
def competitor_analysis(request):
    user = request.user
    permissions.require(user, services.COMPETITOR, Action.VIEW)
    since = _date(request.GET.get("start"))
    until = _date(request.GET.get("end"))
    rows = selectors.win_loss_by_competitor(user, since=since, until=until)
    chart = {
        "labels": [r.competitor.name for r in rows],
        "won": [r.won for r in rows],
        "lost": [r.lost for r in rows],
        "rates": [r.win_rate for r in rows],
    }
    return render(
        request,
        "sales/competitor_analysis.html",
        {"rows": rows, "chart": chart, "start": since, "end": until},
    )


def _date(value):
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None
