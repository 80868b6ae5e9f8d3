"""API shapes of products, price books, quotes and orders. Money is a decimal string with its currency."""

import datetime
import decimal
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from .models import Channel, OrderStatus, Product, Tier


def _choice(choices):
    return Literal[tuple(v for v, _label in choices)]  # type: ignore[valid-type]


ChannelT = _choice(Channel.choices)
OptChannelT = _choice([("", ""), *Channel.choices])
TierT = _choice([("", ""), *Tier.choices])
KindT = _choice(Product.Kind.choices)
OrderStatusT = _choice(OrderStatus.choices)
Money = decimal.Decimal
Currency = Field(None, min_length=3, max_length=3, description="ISO 4217 code, e.g. CNY, USD.")


# --- products -------------------------------------------------------------------------------------


class ProductOut(Schema):
    id: int
    sku: str | None = None
    name: str | None = None
    kind: str | None = None
    category_id: int | None = None
    business_line_id: int | None = None
    unit: str | None = None
    cost: Money | None = None
    list_price: Money | None = None
    currency: str | None = None
    tax_class_id: int | None = None
    tax_rate: decimal.Decimal | None = Field(None, description="Rate (%) of the tax class.")
    is_active: bool | None = None
    description: str | None = None
    custom_fields: dict[str, Any] | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


class ProductIn(Schema):
    sku: str = Field(..., min_length=1, max_length=60)
    name: str = Field(..., min_length=1, max_length=200)
    kind: KindT = "product"  # type: ignore[valid-type]
    category_id: int | None = None
    business_line_id: int | None = None
    unit: str = Field("pcs", max_length=30)
    cost: Money | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    list_price: Money = Field(decimal.Decimal(0), ge=0, max_digits=18, decimal_places=4)
    currency: str = Field("CNY", min_length=3, max_length=3)
    tax_class_id: int | None = None
    is_active: bool = True
    description: str = ""
    custom_fields: dict[str, Any] | None = None


class ProductPatch(Schema):
    sku: str | None = Field(None, min_length=1, max_length=60)
    name: str | None = Field(None, min_length=1, max_length=200)
    kind: KindT | None = None  # type: ignore[valid-type]
    category_id: int | None = None
    business_line_id: int | None = None
    unit: str | None = Field(None, max_length=30)
    cost: Money | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    list_price: Money | None = Field(None, ge=0, max_digits=18, decimal_places=4)
    currency: str | None = Field(None, min_length=3, max_length=3)
    tax_class_id: int | None = None
    is_active: bool | None = None
    description: str | None = None
    custom_fields: dict[str, Any] | None = None


class PriceOut(Schema):
    product_id: int
    currency: str
    quantity: decimal.Decimal
    unit_price: Money
    price_book_id: int | None = Field(None, description="Null: the product's own list price.")
    price_book: str
    min_quantity: decimal.Decimal


# --- price books -----------------------------------------------------------------------------------


class PriceBookOut(Schema):
    id: int
    name: str | None = None
    currency: str | None = None
    region_id: int | None = None
    tier: str | None = None
    channel: str | None = None
    is_default: bool | None = None
    is_active: bool | None = None
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None
    description: str | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


class PriceBookIn(Schema):
    name: str = Field(..., min_length=1, max_length=120)
    currency: str = Field("CNY", min_length=3, max_length=3)
    region_id: int | None = None
    tier: TierT = ""  # type: ignore[valid-type]
    channel: OptChannelT = ""  # type: ignore[valid-type]
    is_default: bool = False
    is_active: bool = True
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None
    description: str = ""


class PriceBookPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=120)
    currency: str | None = Field(None, min_length=3, max_length=3)
    region_id: int | None = None
    tier: TierT | None = None  # type: ignore[valid-type]
    channel: OptChannelT | None = None  # type: ignore[valid-type]
    is_default: bool | None = None
    is_active: bool | None = None
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None
    description: str | None = None


class EntryOut(Schema):
    id: int
    product_id: int
    product: str
    unit_price: Money
    min_quantity: decimal.Decimal


class EntryIn(Schema):
    product_id: int
    unit_price: Money = Field(..., ge=0)
    min_quantity: decimal.Decimal = Field(decimal.Decimal(1), gt=0)


class EntryPatch(Schema):
    unit_price: Money | None = Field(None, ge=0)
    min_quantity: decimal.Decimal | None = Field(None, gt=0)


# --- lines ---------------------------------------------------------------------------------------


class LineIn(Schema):
    product_id: int | None = Field(None, description="Empty for a free-text line.")
    description: str = Field("", max_length=300, description="Default: the product's name.")
    quantity: decimal.Decimal = Field(decimal.Decimal(1), gt=0)
    unit_price: Money | None = Field(None, ge=0, description="Default: the price from the price books (price_for).")
    discount_percent: decimal.Decimal = Field(decimal.Decimal(0), ge=0, le=100)
    tax_rate: decimal.Decimal | None = Field(
        None, ge=0, le=100, description="Free-text lines only; a product line takes its tax class's rate."
    )


class LineOut(Schema):
    id: int
    position: int
    product_id: int | None = None
    sku: str
    description: str
    unit: str
    quantity: decimal.Decimal
    list_price: Money | None = None
    unit_price: Money
    discount_percent: decimal.Decimal
    tax_rate: decimal.Decimal
    gross_amount: Money
    discount_amount: Money
    net_amount: Money
    tax_amount: Money
    total: Money


class LinesIn(Schema):
    lines: list[LineIn]
    discount_percent: decimal.Decimal | None = Field(None, ge=0, le=100, description="Discount on the total (%).")


class TaxRowOut(Schema):
    rate: decimal.Decimal
    base: Money
    tax: Money


class LinesOut(Schema):
    lines: list[LineOut]
    currency: str
    discount_percent: decimal.Decimal
    subtotal: Money
    discount_total: Money
    net_total: Money
    tax_total: Money
    total: Money
    taxes: list[TaxRowOut]


# --- quotes ---------------------------------------------------------------------------------------


class QuoteOut(Schema):
    id: int
    number: str | None = None
    version: int | None = None
    display_number: str | None = None
    previous_version_id: int | None = None
    title: str | None = None
    status: str | None = None
    account_id: int | None = None
    contact_id: int | None = None
    opportunity_id: int | None = None
    price_book_id: int | None = None
    channel: str | None = None
    currency: str | None = None
    quote_date: datetime.date | None = None
    valid_until: datetime.date | None = None
    discount_percent: decimal.Decimal | None = None
    subtotal: Money | None = None
    discount_total: Money | None = None
    net_total: Money | None = None
    tax_total: Money | None = None
    total: Money | None = None
    effective_discount_percent: decimal.Decimal | None = None
    needs_approval: bool | None = Field(None, description="The discount is above the tenant's threshold.")
    terms: str | None = None
    notes: str | None = None
    sent_at: datetime.datetime | None = None
    accepted_at: datetime.datetime | None = None
    rejected_at: datetime.datetime | None = None
    rejection_reason: str | None = None
    owner_id: int | None = None
    custom_fields: dict[str, Any] | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


class QuoteIn(Schema):
    title: str = Field("", max_length=200, description="Default: the opportunity's or account's name.")
    account_id: int
    contact_id: int | None = None
    opportunity_id: int | None = None
    price_book_id: int | None = Field(None, description="Default: the most specific valid book per product.")
    channel: ChannelT = "direct"  # type: ignore[valid-type]
    currency: str | None = Currency
    quote_date: datetime.date | None = None
    valid_until: datetime.date | None = Field(None, description="Default: the tenant's validity from the date.")
    discount_percent: decimal.Decimal = Field(decimal.Decimal(0), ge=0, le=100, description="Discount on the total.")
    terms: str = ""
    notes: str = ""
    owner_id: int | None = Field(None, description="Defaults to the caller.")
    custom_fields: dict[str, Any] | None = None
    lines: list[LineIn] | None = None


class QuotePatch(Schema):
    title: str | None = Field(None, min_length=1, max_length=200)
    account_id: int | None = None
    contact_id: int | None = None
    opportunity_id: int | None = None
    price_book_id: int | None = None
    channel: ChannelT | None = None  # type: ignore[valid-type]
    currency: str | None = Currency
    quote_date: datetime.date | None = None
    valid_until: datetime.date | None = None
    discount_percent: decimal.Decimal | None = Field(None, ge=0, le=100)
    terms: str | None = None
    notes: str | None = None
    owner_id: int | None = None
    custom_fields: dict[str, Any] | None = None


class SendIn(Schema):
    to: list[str] | None = Field(None, description="Default: the quote's contact.")
    cc: list[str] = []
    subject: str | None = Field(None, max_length=200)
    body: str | None = None


class ReasonIn(Schema):
    reason: str = Field("", max_length=2000)


class DecisionIn(Schema):
    decision: Literal["approve", "reject"]
    comment: str = Field("", max_length=2000)


class ApprovalOut(Schema):
    id: int
    quote_id: int
    status: str
    requested_by_id: int
    approver_id: int | None = None
    discount_percent: decimal.Decimal
    threshold_percent: decimal.Decimal
    reason: str
    comment: str
    requested_at: datetime.datetime
    decided_at: datetime.datetime | None = None


# --- orders ---------------------------------------------------------------------------------------


class OrderOut(Schema):
    id: int
    number: str | None = None
    status: str | None = None
    channel: str | None = None
    account_id: int | None = None
    contact_id: int | None = None
    opportunity_id: int | None = None
    quote_id: int | None = None
    currency: str | None = None
    order_date: datetime.date | None = None
    discount_percent: decimal.Decimal | None = None
    subtotal: Money | None = None
    discount_total: Money | None = None
    net_total: Money | None = None
    tax_total: Money | None = None
    total: Money | None = None
    delivery_address: str | None = None
    requested_delivery_date: datetime.date | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    delivered_at: datetime.datetime | None = None
    confirmed_at: datetime.datetime | None = None
    fulfilled_at: datetime.datetime | None = None
    closed_at: datetime.datetime | None = None
    cancelled_at: datetime.datetime | None = None
    cancel_reason: str | None = None
    notes: str | None = None
    owner_id: int | None = None
    custom_fields: dict[str, Any] | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


class OrderIn(Schema):
    account_id: int
    contact_id: int | None = None
    opportunity_id: int | None = None
    channel: ChannelT = "direct"  # type: ignore[valid-type]
    currency: str | None = Currency
    order_date: datetime.date | None = None
    discount_percent: decimal.Decimal = Field(decimal.Decimal(0), ge=0, le=100)
    delivery_address: str = ""
    requested_delivery_date: datetime.date | None = None
    carrier: str = Field("", max_length=100)
    tracking_number: str = Field("", max_length=100)
    notes: str = ""
    owner_id: int | None = None
    custom_fields: dict[str, Any] | None = None
    lines: list[LineIn] | None = None


class OrderPatch(Schema):
    account_id: int | None = None
    contact_id: int | None = None
    opportunity_id: int | None = None
    channel: ChannelT | None = None  # type: ignore[valid-type]
    currency: str | None = Currency
    order_date: datetime.date | None = None
    discount_percent: decimal.Decimal | None = Field(None, ge=0, le=100)
    delivery_address: str | None = None
    requested_delivery_date: datetime.date | None = None
    carrier: str | None = Field(None, max_length=100)
    tracking_number: str | None = Field(None, max_length=100)
    delivered_at: datetime.datetime | None = None
    notes: str | None = None
    owner_id: int | None = None
    custom_fields: dict[str, Any] | None = None


class TransitionIn(Schema):
    to: OrderStatusT  # type: ignore[valid-type]
    reason: str = Field("", max_length=300)
