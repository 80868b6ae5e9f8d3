"""The sales dashboard selector: pipeline by stage, weighted forecast by month, win rate, cycle time
and breakdowns by owner, team, organisation unit (the owner's) and business line — of the opportunities the
user may see.

All figures are computed in the database with a fixed number of queries (about a dozen) whatever
the number of opportunities; amounts are Decimal and never mix currencies (one currency at a time).
"""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

from django.db.models import Avg, Count, DecimalField, DurationField, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from guanxi.access import permissions

from .models import Opportunity, Stage
from .money import money

HUNDRED = Decimal(100)
WEIGHTED = Sum(F("amount") * F("probability"), output_field=DecimalField(max_digits=24, decimal_places=2))


@dataclasses.dataclass
class Filters:
    currency: str
    start: datetime.date
    end: datetime.date
    owner_id: int | None = None
    team: object = None
    unit: object = None
    business_line: object = None
    pipeline: object = None


def default_period(today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """The last twelve months, this one included."""
    today = today or timezone.localdate()
    start = _add_months(today.replace(day=1), -11)
    return start, today


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def _month(value) -> datetime.date | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.date().replace(day=1)
    return value.replace(day=1)


def scoped(user, f: Filters):
    """The opportunities the user may see, narrowed by the dashboard filters."""
    from guanxi.org.models import Member, TeamMembership

    qs = permissions.visible(user, Opportunity.objects.all()).filter(currency=f.currency)
    if f.owner_id:
        qs = qs.filter(owner_id=f.owner_id)
    if f.team is not None:
        members = TeamMembership.objects.filter(team=f.team).values("member__user_id")
        qs = qs.filter(Q(team=f.team) | Q(owner_id__in=members))
    if f.unit is not None:
        qs = qs.filter(owner_id__in=Member.objects.filter(unit__path__startswith=f.unit.path).values("user_id"))
    if f.business_line is not None:
        qs = qs.filter(business_line=f.business_line)
    if f.pipeline is not None:
        qs = qs.filter(pipeline=f.pipeline)
    return qs


def _weighted(value) -> Decimal:
    return money((value or 0) / HUNDRED)


def _names(model, ids, label) -> dict:
    ids = [i for i in ids if i]
    if not ids:
        return {}
    return dict(model.objects.filter(pk__in=ids).values_list("pk", label))


def dashboard(user, f: Filters) -> dict:
    from guanxi.identity.models import User
    from guanxi.org.models import BusinessLine, Member, OrgUnit, Team

    base = scoped(user, f)
    is_open = Q(status=Opportunity.Status.OPEN)
    closed_in = Q(closed_at__date__gte=f.start, closed_at__date__lte=f.end)
    won = Q(status=Opportunity.Status.WON) & closed_in
    lost = Q(status=Opportunity.Status.LOST) & closed_in

    # Pipeline by stage (open opportunities).
    stage_rows = list(
        base.filter(is_open).order_by().values("stage_id").annotate(n=Count("pk"), total=Sum("amount"), w=WEIGHTED)
    )
    stages = {
        s.pk: s for s in Stage.objects.filter(pk__in=[r["stage_id"] for r in stage_rows]).select_related("pipeline")
    }
    many_pipelines = len({s.pipeline_id for s in stages.values()}) > 1
    by_stage = sorted(
        (
            {
                "label": f"{stages[r['stage_id']].name} · {stages[r['stage_id']].pipeline.name}"
                if many_pipelines
                else stages[r["stage_id"]].name,
                "count": r["n"],
                "amount": money(r["total"] or 0),
                "weighted": _weighted(r["w"]),
                "order": (stages[r["stage_id"]].pipeline.name, stages[r["stage_id"]].position),
            }
            for r in stage_rows
        ),
        key=lambda row: row["order"],
    )

    # Weighted forecast by expected close month: overdue, then this month and the next eleven.
    this_month = timezone.localdate().replace(day=1)
    horizon = _add_months(this_month, 12)
    months = [_add_months(this_month, i) for i in range(12)]
    forecast = {m: {"amount": Decimal(0), "weighted": Decimal(0), "count": 0} for m in months}
    overdue = {"amount": Decimal(0), "weighted": Decimal(0), "count": 0}
    for r in (
        base.filter(is_open, expected_close_date__lt=horizon)
        .order_by()
        .annotate(month=TruncMonth("expected_close_date"))
        .values("month")
        .annotate(n=Count("pk"), total=Sum("amount"), w=WEIGHTED)
    ):
        month = _month(r["month"])
        bucket = forecast.get(month, overdue) if month >= this_month else overdue
        bucket["amount"] += money(r["total"] or 0)
        bucket["weighted"] += _weighted(r["w"])
        bucket["count"] += r["n"]

    # Won per month in the period (the history beside the forecast).
    period_months = []
    m = f.start.replace(day=1)
    while m <= f.end:
        period_months.append(m)
        m = _add_months(m, 1)
    won_by_month = {m: {"amount": Decimal(0), "count": 0} for m in period_months}
    for r in (
        base.filter(won)
        .order_by()
        .annotate(month=TruncMonth("closed_at"))
        .values("month")
        .annotate(n=Count("pk"), total=Sum("amount"))
    ):
        month = _month(r["month"])
        if month in won_by_month:
            won_by_month[month]["amount"] += money(r["total"] or 0)
            won_by_month[month]["count"] += r["n"]

    # Totals, win rate, cycle time (created → won) in the period.
    cycle = ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())
    totals = base.aggregate(
        open_count=Count("pk", filter=is_open),
        open_amount=Sum("amount", filter=is_open),
        open_weighted=Sum(
            F("amount") * F("probability"), filter=is_open, output_field=DecimalField(max_digits=24, decimal_places=2)
        ),
        won_count=Count("pk", filter=won),
        won_amount=Sum("amount", filter=won),
        lost_count=Count("pk", filter=lost),
        lost_amount=Sum("amount", filter=lost),
        cycle=Avg(cycle, filter=won),
    )
    closed = totals["won_count"] + totals["lost_count"]
    cycle_days = round(totals["cycle"].total_seconds() / 86400, 1) if totals["cycle"] is not None else None
    won_amount = money(totals["won_amount"] or 0)
    kpis = {
        "open_count": totals["open_count"],
        "open_amount": money(totals["open_amount"] or 0),
        "open_weighted": _weighted(totals["open_weighted"]),
        "won_count": totals["won_count"],
        "won_amount": won_amount,
        "lost_count": totals["lost_count"],
        "lost_amount": money(totals["lost_amount"] or 0),
        "win_rate": round(100 * totals["won_count"] / closed, 1) if closed else None,
        "cycle_days": cycle_days,
        "average_won": money(won_amount / totals["won_count"]) if totals["won_count"] else None,
    }

    # Breakdowns: the same figures per owner, team, unit (the owner's) and business line.
    def breakdown(field: str, names: dict, qs=base) -> list[dict]:
        rows = (
            qs.order_by()
            .values(field)
            .annotate(
                open_count=Count("pk", filter=is_open),
                open_amount=Sum("amount", filter=is_open),
                weighted=Sum(
                    F("amount") * F("probability"),
                    filter=is_open,
                    output_field=DecimalField(max_digits=24, decimal_places=2),
                ),
                won_count=Count("pk", filter=won),
                won_amount=Sum("amount", filter=won),
                lost_count=Count("pk", filter=lost),
                cycle=Avg(cycle, filter=won),
            )
        )
        rows = list(rows)
        labels = names([r[field] for r in rows])
        result = []
        for r in rows:
            closed_n = r["won_count"] + r["lost_count"]
            if not (r["open_count"] or closed_n):
                continue
            result.append(
                {
                    "label": labels.get(r[field]) or "—",
                    "open_count": r["open_count"],
                    "open_amount": money(r["open_amount"] or 0),
                    "weighted": _weighted(r["weighted"]),
                    "won_count": r["won_count"],
                    "won_amount": money(r["won_amount"] or 0),
                    "lost_count": r["lost_count"],
                    "win_rate": round(100 * r["won_count"] / closed_n, 1) if closed_n else None,
                    "cycle_days": round(r["cycle"].total_seconds() / 86400, 1) if r["cycle"] is not None else None,
                }
            )
        result.sort(key=lambda row: (-row["won_amount"], -row["open_amount"], str(row["label"])))
        return result

    return {
        "kpis": kpis,
        "by_stage": by_stage,
        "forecast": [(m, forecast[m]) for m in months],
        "overdue": overdue,
        "won_by_month": [(m, won_by_month[m]) for m in period_months],
        "by_owner": breakdown("owner_id", lambda ids: _names(User, ids, "full_name")),
        "by_team": breakdown("team_id", lambda ids: _names(Team, ids, "name")),
        "by_unit": breakdown(
            "owner_unit",
            lambda ids: _names(OrgUnit, ids, "name"),
            base.annotate(
                owner_unit=Subquery(Member.objects.filter(user_id=OuterRef("owner_id")).values("unit_id")[:1])
            ),
        ),
        "by_line": breakdown("business_line_id", lambda ids: _names(BusinessLine, ids, "name")),
    }


def chart_data(data: dict) -> dict:
    """The figures the ECharts charts draw (amounts as strings: exact, parsed by the page)."""
    return {
        "stages": {
            "labels": [str(r["label"]) for r in data["by_stage"]],
            "amounts": [str(r["amount"]) for r in data["by_stage"]],
            "weighted": [str(r["weighted"]) for r in data["by_stage"]],
            "counts": [r["count"] for r in data["by_stage"]],
        },
        "forecast": {
            "labels": [m.strftime("%Y-%m") for m, _v in data["forecast"]],
            "amounts": [str(v["amount"]) for _m, v in data["forecast"]],
            "weighted": [str(v["weighted"]) for _m, v in data["forecast"]],
        },
        "won": {
            "labels": [m.strftime("%Y-%m") for m, _v in data["won_by_month"]],
            "amounts": [str(v["amount"]) for _m, v in data["won_by_month"]],
            "counts": [v["count"] for _m, v in data["won_by_month"]],
        },
        "winloss": {"won": data["kpis"]["won_count"], "lost": data["kpis"]["lost_count"]},
    }
