"""API shapes of leads, opportunities, pipelines and competitors. Output fields are optional:
restricted fields are left out. Money is a decimal string with its currency."""

import datetime
import decimal
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from guanxi.customers.api_schemas import AddressIn, AddressOut
from guanxi.customers.models import Industry, Source

from .models import Competitor, ForecastCategory, Lead, Stage


def _choice(choices):
    return Literal[tuple(v for v, _label in choices)]  # type: ignore[valid-type]


IndustryT = _choice([("", ""), *Industry.choices])
SourceT = _choice([("", ""), *Source.choices])
LeadStatusT = _choice([c for c in Lead.Status.choices if c[0] != "converted"])
ForecastT = _choice(ForecastCategory.choices)
StageKindT = _choice(Stage.Kind.choices)
CompetitorStatusT = _choice(Competitor.Status.choices)
Money = decimal.Decimal


# --- leads ----------------------------------------------------------------------------------------


class LeadOut(AddressOut):
    id: int
    company: str | None = None
    family_name: str | None = None
    given_name: str | None = None
    full_name: str | None = None
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    industry: str | None = None
    source: str | None = None
    campaign: str | None = None
    business_line_id: int | None = None
    region_id: int | None = None
    status: str | None = None
    status_changed_at: datetime.datetime | None = None
    unqualified_reason: str | None = None
    score: int | None = None
    score_breakdown: dict[str, Any] | None = None
    description: str | None = None
    web_form_id: int | None = None
    converted_at: datetime.datetime | None = None
    converted_account_id: int | None = None
    converted_contact_id: int | None = None
    converted_opportunity_id: int | None = None
    owner_id: int | None = None
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


class LeadIn(AddressIn):
    company: str = Field("", max_length=200)
    family_name: str = Field("", max_length=80)
    given_name: str = Field("", max_length=80)
    title: str = Field("", max_length=120)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=40)
    website: str = Field("", max_length=200)
    industry: IndustryT = ""  # type: ignore[valid-type]
    source: SourceT = ""  # type: ignore[valid-type]
    campaign: str = Field("", max_length=120)
    business_line_id: int | None = None
    region_id: int | None = None
    status: LeadStatusT = "new"  # type: ignore[valid-type]
    description: str = ""
    owner_id: int | None = Field(None, description="Empty: the lead assignment rules choose, else the caller.")
    tags: list[str] | None = Field(None, description="Tag names; unknown names are created.")
    custom_fields: dict[str, Any] | None = None


class LeadPatch(Schema):
    company: str | None = Field(None, max_length=200)
    family_name: str | None = Field(None, max_length=80)
    given_name: str | None = Field(None, max_length=80)
    title: str | None = Field(None, max_length=120)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    website: str | None = Field(None, max_length=200)
    industry: IndustryT | None = None  # type: ignore[valid-type]
    source: SourceT | None = None  # type: ignore[valid-type]
    campaign: str | None = Field(None, max_length=120)
    business_line_id: int | None = None
    region_id: int | None = None
    status: LeadStatusT | None = Field(None, description="Follows the status flow; converting is its own action.")  # type: ignore[valid-type]
    unqualified_reason: str | None = Field(None, max_length=300)
    description: str | None = None
    owner_id: int | None = None
    country: str | None = Field(None, max_length=60)
    province: str | None = Field(None, max_length=60)
    city: str | None = Field(None, max_length=60)
    district: str | None = Field(None, max_length=60)
    street: str | None = Field(None, max_length=200)
    postal_code: str | None = Field(None, max_length=20)
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None


class OpportunityDraft(Schema):
    name: str | None = Field(None, max_length=200)
    amount: Money | None = Field(None, max_digits=18, decimal_places=2, ge=0)
    currency: str | None = Field(None, min_length=3, max_length=3)
    expected_close_date: datetime.date | None = None
    pipeline_id: int | None = None
    stage_id: int | None = None


class ConvertIn(Schema):
    account_id: int | None = Field(None, description="Link to this account instead of creating one.")
    contact_id: int | None = Field(None, description="Link to this contact instead of creating one.")
    create_contact: bool = True
    create_opportunity: bool = True
    opportunity: OpportunityDraft | None = None


class ConversionOut(Schema):
    lead_id: int
    account_id: int
    contact_id: int | None
    opportunity_id: int | None
    created_account: bool
    created_contact: bool


class MatchOut(Schema):
    id: int
    name: str
    reasons: list[str]


class DuplicatesOut(Schema):
    accounts: list[MatchOut]
    contacts: list[MatchOut]
    hidden: int


# --- opportunities --------------------------------------------------------------------------------


class LineOut(Schema):
    id: int
    product_id: int | None = None
    description: str
    quantity: decimal.Decimal
    unit_price: Money
    discount_percent: decimal.Decimal
    total: Money
    position: int


class LineIn(Schema):
    product_id: int | None = None
    description: str = Field("", max_length=300)
    quantity: decimal.Decimal = Field(decimal.Decimal(1), gt=0, max_digits=14, decimal_places=3)
    unit_price: Money | None = Field(None, ge=0, max_digits=18, decimal_places=2, description="Empty: list price.")
    discount_percent: decimal.Decimal = Field(decimal.Decimal(0), ge=0, le=100, max_digits=5, decimal_places=2)


class LinePatch(Schema):
    product_id: int | None = None
    description: str | None = Field(None, max_length=300)
    quantity: decimal.Decimal | None = Field(None, gt=0, max_digits=14, decimal_places=3)
    unit_price: Money | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    discount_percent: decimal.Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)


class OpportunityOut(Schema):
    id: int
    name: str | None = None
    account_id: int | None = None
    contact_id: int | None = None
    pipeline_id: int | None = None
    stage_id: int | None = None
    status: str | None = None
    amount: Money | None = None
    currency: str | None = None
    amount_from_lines: bool | None = None
    expected_close_date: datetime.date | None = None
    probability: int | None = None
    forecast_category: str | None = None
    next_step: str | None = None
    team_id: int | None = None
    business_line_id: int | None = None
    region_id: int | None = None
    is_key_account: bool | None = None
    close_reason: str | None = None
    lost_to_id: int | None = None
    closed_at: datetime.datetime | None = None
    stage_changed_at: datetime.datetime | None = None
    description: str | None = None
    owner_id: int | None = None
    lines: list[LineOut] | None = None
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


class OpportunityIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    account_id: int
    contact_id: int | None = None
    pipeline_id: int | None = Field(None, description="Empty: the business line's pipeline, else the default.")
    stage_id: int | None = Field(None, description="Empty: the pipeline's first stage.")
    amount: Money = Field(decimal.Decimal(0), ge=0, max_digits=18, decimal_places=2)
    currency: str | None = Field(None, min_length=3, max_length=3, description="Empty: the company's currency.")
    amount_from_lines: bool = True
    expected_close_date: datetime.date | None = None
    probability: int | None = Field(None, ge=0, le=100, description="Empty: the stage's probability.")
    forecast_category: ForecastT = "pipeline"  # type: ignore[valid-type]
    next_step: str = Field("", max_length=300)
    team_id: int | None = None
    business_line_id: int | None = None
    region_id: int | None = None
    is_key_account: bool = False
    close_reason: str = Field("", max_length=300, description="Needed when created in a won or lost stage.")
    description: str = ""
    owner_id: int | None = Field(None, description="Defaults to the caller.")
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None


class OpportunityPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    account_id: int | None = None
    contact_id: int | None = None
    pipeline_id: int | None = None
    stage_id: int | None = None
    amount: Money | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    currency: str | None = Field(None, min_length=3, max_length=3)
    amount_from_lines: bool | None = None
    expected_close_date: datetime.date | None = None
    probability: int | None = Field(None, ge=0, le=100)
    forecast_category: ForecastT | None = None  # type: ignore[valid-type]
    next_step: str | None = Field(None, max_length=300)
    team_id: int | None = None
    business_line_id: int | None = None
    region_id: int | None = None
    is_key_account: bool | None = None
    close_reason: str | None = Field(None, max_length=300)
    description: str | None = None
    owner_id: int | None = None
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None


class MoveIn(Schema):
    stage_id: int


class WonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)
    stage_id: int | None = None


class LostIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)
    lost_to_id: int | None = Field(None, description="The competitor who won the deal.")
    stage_id: int | None = None


class StageChangeOut(Schema):
    from_stage_id: int | None
    to_stage_id: int
    changed_at: datetime.datetime
    changed_by_id: int | None
    seconds_in_previous_stage: int | None
    amount: Money


class OpportunityCompetitorIn(Schema):
    competitor_id: int
    strengths: str = Field("", max_length=500)
    weaknesses: str = Field("", max_length=500)
    price: Money | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    currency: str | None = Field(None, min_length=3, max_length=3)


class OpportunityCompetitorOut(Schema):
    id: int
    competitor_id: int
    competitor: str
    strengths: str
    weaknesses: str
    price: Money | None
    currency: str


# --- pipelines ------------------------------------------------------------------------------------


class StageOut(Schema):
    id: int
    name: str
    position: int
    probability: int
    kind: str


class PipelineOut(Schema):
    id: int
    name: str
    business_line_id: int | None
    is_default: bool
    is_active: bool
    stages: list[StageOut]


class PipelineIn(Schema):
    name: str = Field(..., min_length=1, max_length=120)
    business_line_id: int | None = None
    is_default: bool = False
    is_active: bool = True


class PipelinePatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=120)
    business_line_id: int | None = None
    is_default: bool | None = None
    is_active: bool | None = None


class StageIn(Schema):
    name: str = Field(..., min_length=1, max_length=80)
    probability: int = Field(10, ge=0, le=100)
    kind: StageKindT = "open"  # type: ignore[valid-type]


class StagePatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=80)
    probability: int | None = Field(None, ge=0, le=100)
    kind: StageKindT | None = None  # type: ignore[valid-type]
    position: int | None = Field(None, ge=0, description="Move the stage to this place (0 = first).")


# --- competitors ----------------------------------------------------------------------------------


class CompetitorOut(Schema):
    id: int
    name: str | None = None
    website: str | None = None
    status: str | None = None
    background: str | None = None
    main_markets: str | None = None
    strategy: str | None = None
    strengths: str | None = None
    weaknesses: str | None = None
    custom_fields: dict[str, Any] | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


class CompetitorIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    website: str = Field("", max_length=200)
    status: CompetitorStatusT = "active"  # type: ignore[valid-type]
    background: str = ""
    main_markets: str = Field("", max_length=300)
    strategy: str = ""
    strengths: str = ""
    weaknesses: str = ""
    custom_fields: dict[str, Any] | None = None


class CompetitorPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    website: str | None = Field(None, max_length=200)
    status: CompetitorStatusT | None = None  # type: ignore[valid-type]
    background: str | None = None
    main_markets: str | None = Field(None, max_length=300)
    strategy: str | None = None
    strengths: str | None = None
    weaknesses: str | None = None
    custom_fields: dict[str, Any] | None = None


class CompetingProductOut(Schema):
    id: int
    name: str
    use: str
    performance: str
    price: Money | None
    currency: str
    competes_with: list[int]


class CompetingProductIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    use: str = Field("", max_length=300)
    performance: str = ""
    price: Money | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    currency: str | None = Field(None, min_length=3, max_length=3)
    competes_with: list[int] = Field(default_factory=list, description="Ids of our products.")


class CompetingProductPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    use: str | None = Field(None, max_length=300)
    performance: str | None = None
    price: Money | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    currency: str | None = Field(None, min_length=3, max_length=3)
    competes_with: list[int] | None = None


class WinLossOut(Schema):
    competitor_id: int
    competitor: str
    involved: int
    open: int
    won: int
    lost: int
    lost_to_them: int
    win_rate: float | None
    won_amounts: dict[str, Money]
    lost_amounts: dict[str, Money]
