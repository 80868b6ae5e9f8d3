"""Reads of the sales app: list and detail querysets, the kanban board, win/loss by competitor.

Every read of records a person sees goes through ``permissions.visible``; each function runs a
fixed number of queries whatever the amount of data.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Prefetch, Q, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from guanxi.access import permissions

from .models import (
    CompetingProduct,
    Competitor,
    Lead,
    Opportunity,
    OpportunityCompetitor,
    OpportunityLine,
    OpportunityStageChange,
    Pipeline,
    Stage,
)
from .money import money

BOARD_CARDS_PER_STAGE = 50
BOARD_CLOSED_DAYS = 90  # won / lost columns show what closed recently


# --- leads ------------------------------------------------------------------------------------------


def lead_list_queryset():
    return Lead.objects.select_related("owner", "region", "business_line")


def lead_detail_queryset():
    return Lead.objects.select_related(
        "owner",
        "region",
        "business_line",
        "created_by",
        "web_form",
        "converted_by",
        "converted_account",
        "converted_contact",
        "converted_opportunity",
    )


# --- opportunities --------------------------------------------------------------------------------


def opportunity_list_queryset():
    return Opportunity.objects.select_related("owner", "account", "stage", "pipeline", "team")


def opportunity_api_queryset():
    return opportunity_list_queryset().prefetch_related(
        Prefetch("lines", queryset=OpportunityLine.objects.order_by("position", "pk"))
    )


def opportunity_detail_queryset():
    return Opportunity.objects.select_related(
        "owner",
        "account",
        "contact",
        "stage",
        "pipeline",
        "team",
        "business_line",
        "region",
        "created_by",
        "lost_to",
    )


def opportunity_related(opportunity: Opportunity, user) -> dict:
    """What the opportunity page shows beside its fields (a fixed number of queries)."""
    changes = list(
        OpportunityStageChange.objects.filter(opportunity=opportunity)
        .select_related("from_stage", "to_stage", "changed_by")
        .order_by("-changed_at", "-pk")[:100]
    )
    return {
        "lines": list(OpportunityLine.objects.filter(opportunity=opportunity).select_related("product")),
        "competitor_links": list(
            OpportunityCompetitor.objects.filter(opportunity=opportunity).select_related("competitor")
        ),
        "stage_changes": changes,
        "stages": list(Stage.objects.filter(pipeline_id=opportunity.pipeline_id).order_by("position", "pk")),
        "tags": list(opportunity.tags.all()),
        "source_leads": list(permissions.visible(user, Lead.objects.filter(converted_opportunity=opportunity))[:5]),
    }


# --- kanban board ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Column:
    stage: Stage
    cards: list[Opportunity]
    count: int
    totals: list[tuple[str, Decimal, Decimal]]  # (currency, amount, weighted)

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))


def board_queryset(user, pipeline: Pipeline, *, owner=None, q: str = ""):
    qs = permissions.visible(user, Opportunity.objects.filter(pipeline=pipeline))
    since = timezone.now() - datetime.timedelta(days=BOARD_CLOSED_DAYS)
    qs = qs.filter(Q(status=Opportunity.Status.OPEN) | Q(closed_at__gte=since))
    if owner is not None:
        qs = qs.filter(owner_id=owner)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(account__name__icontains=q))
    return qs


def board(user, pipeline: Pipeline, *, owner=None, q: str = "") -> list[Column]:
    """The columns of ``pipeline``'s board with the cards the user may see (4 queries)."""
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position", "pk"))
    qs = board_queryset(user, pipeline, owner=owner, q=q)
    totals: dict[int, list] = defaultdict(list)
    counts: dict[int, int] = defaultdict(int)
    rows = (
        qs.order_by()
        .values("stage_id", "currency")
        .annotate(
            n=Count("pk"),
            total=Sum("amount"),
            weighted=Sum(F("amount") * F("probability"), output_field=DecimalField(max_digits=24, decimal_places=2)),
        )
    )
    for row in rows:
        counts[row["stage_id"]] += row["n"]
        totals[row["stage_id"]].append(
            (row["currency"], money(row["total"] or 0), money((row["weighted"] or 0) / Decimal(100)))
        )
    cards = (
        qs.select_related("account", "owner")
        .annotate(
            row=Window(
                RowNumber(),
                partition_by=[F("stage_id")],
                order_by=[F("expected_close_date").asc(nulls_last=True), F("pk").asc()],
            )
        )
        .filter(row__lte=BOARD_CARDS_PER_STAGE)
        .order_by("stage_id", "row")
    )
    by_stage: dict[int, list] = defaultdict(list)
    for card in cards:
        by_stage[card.stage_id].append(card)
    return [Column(stage=s, cards=by_stage[s.pk], count=counts[s.pk], totals=sorted(totals[s.pk])) for s in stages]


# --- competitors ----------------------------------------------------------------------------------


def competitor_list_queryset():
    return Competitor.objects.all()


def competitor_products(competitor: Competitor) -> list[CompetingProduct]:
    return list(
        CompetingProduct.objects.filter(competitor=competitor).prefetch_related("competes_with").order_by("name")
    )


@dataclasses.dataclass
class WinLoss:
    competitor: Competitor
    involved: int = 0
    open: int = 0
    won: int = 0
    lost: int = 0
    lost_to_them: int = 0
    won_amounts: dict = dataclasses.field(default_factory=dict)  # currency → Decimal
    lost_amounts: dict = dataclasses.field(default_factory=dict)

    @property
    def closed(self) -> int:
        return self.won + self.lost

    @property
    def win_rate(self) -> float | None:
        return round(100 * self.won / self.closed, 1) if self.closed else None


def win_loss_by_competitor(user, *, competitor: Competitor | None = None, since=None, until=None) -> list[WinLoss]:
    """Per competitor: opportunities (that the user may see) it was involved in, won / lost counts and
    amounts per currency, and the win rate against it (2 queries)."""
    visible = permissions.visible(user, Opportunity.objects.all())
    links = OpportunityCompetitor.objects.filter(opportunity__in=visible.values("pk"))
    if competitor is not None:
        links = links.filter(competitor=competitor)
    closed_in = Q()
    if since is not None:
        closed_in &= Q(opportunity__closed_at__date__gte=since)
    if until is not None:
        closed_in &= Q(opportunity__closed_at__date__lte=until)
    won = Q(opportunity__status=Opportunity.Status.WON) & closed_in
    lost = Q(opportunity__status=Opportunity.Status.LOST) & closed_in
    rows = (
        links.order_by()
        .values("competitor_id", "opportunity__currency")
        .annotate(
            involved=Count("pk"),
            open=Count("pk", filter=Q(opportunity__status=Opportunity.Status.OPEN)),
            won=Count("pk", filter=won),
            lost=Count("pk", filter=lost),
            lost_to_them=Count("pk", filter=lost & Q(opportunity__lost_to_id=F("competitor_id"))),
            won_amount=Sum("opportunity__amount", filter=won),
            lost_amount=Sum("opportunity__amount", filter=lost),
        )
    )
    rows = list(rows)
    competitors = {c.pk: c for c in Competitor.objects.filter(pk__in={r["competitor_id"] for r in rows})}
    stats: dict[int, WinLoss] = {}
    for row in rows:
        item = stats.setdefault(row["competitor_id"], WinLoss(competitor=competitors[row["competitor_id"]]))
        for name in ("involved", "open", "won", "lost", "lost_to_them"):
            setattr(item, name, getattr(item, name) + row[name])
        currency = row["opportunity__currency"]
        item.won_amounts[currency] = money(row["won_amount"] or 0)
        item.lost_amounts[currency] = money(row["lost_amount"] or 0)
    return sorted(stats.values(), key=lambda w: (-w.closed, w.competitor.name))


def competitor_deals(user, competitor: Competitor, limit: int = 50) -> list[OpportunityCompetitor]:
    """The visible opportunities ``competitor`` was involved in, newest first."""
    visible = permissions.visible(user, Opportunity.objects.all())
    return list(
        OpportunityCompetitor.objects.filter(competitor=competitor, opportunity__in=visible.values("pk"))
        .select_related("opportunity", "opportunity__account", "opportunity__stage")
        .order_by("-opportunity__updated_at")[:limit]
    )


def opportunities_of(user, *, account=None, contact=None, limit: int = 100) -> list[Opportunity]:
    """The opportunities of an account or a contact that the user may see, open ones first."""
    from guanxi.access import permissions

    qs = permissions.visible(user, opportunity_list_queryset())
    qs = qs.filter(account=account) if account is not None else qs.filter(contact=contact)
    return list(qs.order_by("-status", "expected_close_date", "-id")[:limit])
