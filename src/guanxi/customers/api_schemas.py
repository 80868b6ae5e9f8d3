"""API shapes of accounts and contacts. Output fields are optional: restricted fields are left out."""

import datetime
import decimal
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from .models import Account, AccountContact, CompanySize, Contact, Industry, LifecycleStage, Rating, Source


def _choice(choices):
    return Literal[tuple(v for v, _label in choices)]  # type: ignore[valid-type]


Kind = _choice(Account.Kind.choices)
Stage = _choice(LifecycleStage.choices)
IndustryT = _choice([("", ""), *Industry.choices])
SizeT = _choice([("", ""), *CompanySize.choices])
SourceT = _choice([("", ""), *Source.choices])
RatingT = _choice([("", ""), *Rating.choices])
ChannelT = _choice([("", ""), *Contact.Channel.choices])
SalutationT = _choice([("", ""), *Contact.Salutation.choices])
LinkRole = _choice([("", ""), *AccountContact.Role.choices])

ADDRESS = ("country", "province", "city", "district", "street", "postal_code")


class AddressOut(Schema):
    country: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    postal_code: str | None = None


class AddressIn(Schema):
    country: str = Field("", max_length=60)
    province: str = Field("", max_length=60)
    city: str = Field("", max_length=60)
    district: str = Field("", max_length=60)
    street: str = Field("", max_length=200)
    postal_code: str = Field("", max_length=20)


class AccountOut(AddressOut):
    id: int
    name: str | None = None
    kind: str | None = None
    lifecycle_stage: str | None = None
    lifecycle_changed_at: datetime.datetime | None = None
    rating: str | None = None
    industry: str | None = None
    size: str | None = None
    annual_revenue: decimal.Decimal | None = None
    currency: str | None = None
    region_id: int | None = None
    business_line_id: int | None = None
    parent_id: int | None = None
    source: str | None = None
    website: str | None = None
    phone: str | None = None
    email: str | None = None
    description: str | None = None
    owner_id: int | None = None
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


class AccountIn(AddressIn):
    name: str = Field(..., min_length=1, max_length=200)
    kind: Kind = "organization"  # type: ignore[valid-type]
    lifecycle_stage: Stage = "prospect"  # type: ignore[valid-type]
    rating: RatingT = ""  # type: ignore[valid-type]
    industry: IndustryT = ""  # type: ignore[valid-type]
    size: SizeT = ""  # type: ignore[valid-type]
    annual_revenue: decimal.Decimal | None = Field(None, max_digits=18, decimal_places=2)
    currency: str = Field("CNY", min_length=3, max_length=3)
    region_id: int | None = None
    business_line_id: int | None = None
    parent_id: int | None = None
    source: SourceT = ""  # type: ignore[valid-type]
    website: str = Field("", max_length=200)
    phone: str = Field("", max_length=40)
    email: str = Field("", max_length=254)
    description: str = ""
    owner_id: int | None = Field(None, description="Defaults to the caller.")
    tags: list[str] | None = Field(None, description="Tag names; unknown names are created.")
    custom_fields: dict[str, Any] | None = None


class AccountPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    kind: Kind | None = None  # type: ignore[valid-type]
    lifecycle_stage: Stage | None = None  # type: ignore[valid-type]
    rating: RatingT | None = None  # type: ignore[valid-type]
    industry: IndustryT | None = None  # type: ignore[valid-type]
    size: SizeT | None = None  # type: ignore[valid-type]
    annual_revenue: decimal.Decimal | None = Field(None, max_digits=18, decimal_places=2)
    currency: str | None = Field(None, min_length=3, max_length=3)
    region_id: int | None = None
    business_line_id: int | None = None
    parent_id: int | None = None
    source: SourceT | None = None  # type: ignore[valid-type]
    website: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    description: str | None = None
    owner_id: int | None = None
    country: str | None = Field(None, max_length=60)
    province: str | None = Field(None, max_length=60)
    city: str | None = Field(None, max_length=60)
    district: str | None = Field(None, max_length=60)
    street: str | None = Field(None, max_length=200)
    postal_code: str | None = Field(None, max_length=20)
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = Field(None, description="Only the keys given are changed; null clears.")


class PointIn(Schema):
    value: str = Field(..., min_length=1, max_length=254)
    label: Literal["work", "mobile", "home", "fax", "other"] = "work"


class PointOut(Schema):
    kind: str
    value: str
    label: str
    is_primary: bool


class AccountLinkOut(Schema):
    account_id: int
    role: str
    note: str


class ContactOut(AddressOut):
    id: int
    family_name: str | None = None
    given_name: str | None = None
    full_name: str | None = None
    salutation: str | None = None
    title: str | None = None
    department: str | None = None
    account_id: int | None = None
    email: str | None = None
    phone: str | None = None
    emails: list[PointOut] | None = None
    phones: list[PointOut] | None = None
    accounts: list[AccountLinkOut] | None = None
    birthday: datetime.date | None = None
    preferred_channel: str | None = None
    consent_email: bool | None = None
    consent_sms: bool | None = None
    consent_phone: bool | None = None
    consent_mail: bool | None = None
    consent_updated_at: datetime.datetime | None = None
    description: str | None = None
    owner_id: int | None = None
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


class ContactIn(AddressIn):
    family_name: str = Field("", max_length=80)
    given_name: str = Field("", max_length=80)
    salutation: SalutationT = ""  # type: ignore[valid-type]
    title: str = Field("", max_length=120)
    department: str = Field("", max_length=120)
    account_id: int | None = None
    emails: list[PointIn] = Field(default_factory=list, description="The first one is the primary address.")
    phones: list[PointIn] = Field(default_factory=list, description="The first one is the primary number.")
    birthday: datetime.date | None = None
    preferred_channel: ChannelT = ""  # type: ignore[valid-type]
    consent_email: bool = False
    consent_sms: bool = False
    consent_phone: bool = False
    consent_mail: bool = False
    description: str = ""
    owner_id: int | None = Field(None, description="Defaults to the caller.")
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None


class ContactPatch(Schema):
    family_name: str | None = Field(None, max_length=80)
    given_name: str | None = Field(None, max_length=80)
    salutation: SalutationT | None = None  # type: ignore[valid-type]
    title: str | None = Field(None, max_length=120)
    department: str | None = Field(None, max_length=120)
    account_id: int | None = None
    emails: list[PointIn] | None = None
    phones: list[PointIn] | None = None
    birthday: datetime.date | None = None
    preferred_channel: ChannelT | None = None  # type: ignore[valid-type]
    consent_email: bool | None = None
    consent_sms: bool | None = None
    consent_phone: bool | None = None
    consent_mail: bool | None = None
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


class LinkIn(Schema):
    account_id: int
    role: LinkRole = ""  # type: ignore[valid-type]
    note: str = Field("", max_length=200)
