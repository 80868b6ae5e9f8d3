"""Writes of the commerce app: catalogue, price books, quotes, discount approvals and orders.

Every function is keyword-only, atomic and audited; views, the API, commands and the demo
data call these. Amounts are computed by ``guanxi.commerce.pricing`` only.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import models, transaction
from django.db.models import ProtectedError
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.access import permissions
from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.platform import context, crud
from guanxi.platform.registry import Action

from . import pricing
from .models import (
    Channel,
    CommerceSettings,
    DiscountApproval,
    NumberSequence,
    Order,
    OrderLine,
    OrderStatus,
    PriceBook,
    PriceBookEntry,
    Product,
    ProductCategory,
    Quote,
    QuoteLine,
    QuoteStatus,
    TaxClass,
)

logger = logging.getLogger(__name__)

PRODUCT = "commerce.product"
PRICE_BOOK = "commerce.price_book"
QUOTE = "commerce.quote"
ORDER = "commerce.order"
MAX_TOTAL = Decimal(10) ** 15
LINE_FIELDS = (
    "position",
    "product_id",
    "sku",
    "description",
    "unit",
    "quantity",
    "list_price",
    "unit_price",
    "discount_percent",
    "tax_rate",
    "gross_amount",
    "discount_amount",
    "net_amount",
    "tax_amount",
    "total",
)


def _pk(value):
    return getattr(value, "pk", value)


def _require_admin(actor) -> None:
    if actor is not None and not permissions.is_tenant_admin(actor):
        raise PermissionDenied


def _audit_save(obj, before: dict, creating: bool) -> None:
    changes = audit.diff(before, audit.snapshot(obj))
    if creating or changes:
        audit.record_change(AuditAction.CREATE if creating else AuditAction.UPDATE, obj, changes)


def _full_clean(obj, exclude=None) -> None:
    obj.full_clean(exclude=exclude)


# --- settings --------------------------------------------------------------------------------------


def commerce_settings() -> CommerceSettings:
    """The tenant's settings row (created with the defaults on first use)."""
    cache = context.context_cache()
    row = cache.get("commerce_settings")
    if row is not None:
        return row
    row = CommerceSettings.objects.first()
    if row is None:
        # INSERT … ON CONFLICT DO NOTHING: a concurrent first use cannot fail (no savepoint rollback needed).
        CommerceSettings.objects.bulk_create([CommerceSettings()], ignore_conflicts=True)
        row = CommerceSettings.objects.get()
    cache["commerce_settings"] = row
    return row


@transaction.atomic
def commerce_settings_update(*, actor, data: dict) -> CommerceSettings:
    """Change the tenant's commerce settings (tenant administrators only)."""
    _require_admin(actor)
    row = commerce_settings()
    before = audit.snapshot(row)
    for name, value in data.items():
        setattr(row, name, value)
    if "default_currency" in data:
        row.default_currency = (row.default_currency or "").upper()
    _full_clean(row)
    row.save()
    _audit_save(row, before, False)
    context.context_cache()["commerce_settings"] = row
    return row


# --- categories and tax classes (tenant administration) --------------------------------------------


@transaction.atomic
def category_save(*, actor, category: ProductCategory) -> ProductCategory:
    _require_admin(actor)
    creating = category.pk is None
    before = {} if creating else audit.snapshot(ProductCategory.objects.get(pk=category.pk))
    parent_id = category.parent_id
    seen = set()
    while parent_id and not creating:
        if parent_id == category.pk or parent_id in seen:
            raise ValidationError({"parent": _("A category cannot be placed under itself.")})
        seen.add(parent_id)
        parent_id = ProductCategory.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
    _full_clean(category)
    category.save()
    _audit_save(category, before, creating)
    return category


@transaction.atomic
def category_delete(*, actor, category: ProductCategory) -> None:
    _require_admin(actor)
    if category.children.exists():
        raise ValidationError(_("Move or delete the sub-categories first."))
    audit.record_deleted(category)
    category.delete()


@transaction.atomic
def tax_class_save(*, actor, tax_class: TaxClass) -> TaxClass:
    _require_admin(actor)
    creating = tax_class.pk is None
    before = {} if creating else audit.snapshot(TaxClass.objects.get(pk=tax_class.pk))
    _full_clean(tax_class)
    if not (0 <= tax_class.rate <= 100):
        raise ValidationError({"rate": _("A tax rate is between 0 and 100 %.")})
    tax_class.save()
    _audit_save(tax_class, before, creating)
    return tax_class


@transaction.atomic
def tax_class_delete(*, actor, tax_class: TaxClass) -> None:
    _require_admin(actor)
    if Product.objects.filter(tax_class=tax_class).exists():
        raise ValidationError(_("Products still use this tax class; give them another one first."))
    audit.record_deleted(tax_class)
    tax_class.delete()


# --- products --------------------------------------------------------------------------------------


def _product_data(data: dict) -> dict:
    data = dict(data)
    if data.get("sku"):
        data["sku"] = data["sku"].strip()
    if data.get("currency"):
        data["currency"] = data["currency"].strip().upper()
    for name in ("list_price", "cost"):
        if data.get(name) is not None and data[name] < 0:
            raise ValidationError({name: _("A price cannot be negative.")})
    return data


@transaction.atomic
def product_create(*, actor, data: dict) -> Product:
    data = _product_data(data)
    if data.get("sku") and Product.objects.filter(sku__iexact=data["sku"]).exists():
        raise ValidationError({"sku": _("Another product has this SKU.")})
    return crud.record_create(entity_key=PRODUCT, actor=actor, data=data)


@transaction.atomic
def product_update(*, actor, product: Product, data: dict) -> Product:
    data = _product_data(data)
    if data.get("sku") and Product.objects.filter(sku__iexact=data["sku"]).exclude(pk=product.pk).exists():
        raise ValidationError({"sku": _("Another product has this SKU.")})
    return crud.record_update(entity_key=PRODUCT, actor=actor, instance=product, data=data)[0]


@transaction.atomic
def product_delete(*, actor, product: Product) -> None:
    """Delete a product never quoted or ordered; otherwise deactivate it instead."""
    if QuoteLine.objects.filter(product=product).exists() or OrderLine.objects.filter(product=product).exists():
        raise ValidationError(_("This product is on quotes or orders: deactivate it instead of deleting it."))
    crud.record_delete(entity_key=PRODUCT, actor=actor, instance=product)


# --- price books -----------------------------------------------------------------------------------


def _price_book_data(data: dict, instance: PriceBook | None = None) -> dict:
    data = dict(data)
    if data.get("currency"):
        data["currency"] = data["currency"].strip().upper()
    start = data.get("valid_from", getattr(instance, "valid_from", None))
    end = data.get("valid_until", getattr(instance, "valid_until", None))
    if start and end and end < start:
        raise ValidationError({"valid_until": _("The end must be on or after the start.")})
    return data


def _one_default_per_currency(book: PriceBook) -> None:
    """A default book is the default of its currency: any other default of that currency stops being one."""
    if not book.is_default:
        return
    others = list(PriceBook.objects.filter(is_default=True, currency=book.currency).exclude(pk=book.pk))
    for other in others:
        PriceBook.objects.filter(pk=other.pk).update(is_default=False)
        audit.record(AuditAction.UPDATE, other, changes={"is_default": [True, False]})


@transaction.atomic
def price_book_create(*, actor, data: dict) -> PriceBook:
    book = crud.record_create(entity_key=PRICE_BOOK, actor=actor, data=_price_book_data(data))
    _one_default_per_currency(book)
    return book


@transaction.atomic
def price_book_update(*, actor, price_book: PriceBook, data: dict) -> PriceBook:
    data = _price_book_data(data, price_book)
    book = crud.record_update(entity_key=PRICE_BOOK, actor=actor, instance=price_book, data=data)[0]
    _one_default_per_currency(book)
    return book


@transaction.atomic
def price_book_delete(*, actor, price_book: PriceBook) -> None:
    crud.record_delete(entity_key=PRICE_BOOK, actor=actor, instance=price_book)


@transaction.atomic
def price_book_entry_save(
    *, actor, price_book: PriceBook, product, unit_price, min_quantity=1, entry: PriceBookEntry | None = None
) -> PriceBookEntry:
    """Add or change a product's price (from ``min_quantity`` on) in a book the actor may edit."""
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, price_book)
    unit_price = pricing.to_decimal(unit_price, None)
    min_quantity = pricing.to_decimal(min_quantity, None)
    errors = {}
    if unit_price is None or unit_price < 0 or unit_price >= pricing.MAX_PRICE:
        errors["unit_price"] = [_("Enter a price of 0 or more.")]
    elif unit_price.normalize().as_tuple().exponent < -4:
        errors["unit_price"] = [_("At most 4 decimal places.")]
    if min_quantity is None or min_quantity <= 0 or min_quantity >= pricing.MAX_QUANTITY:
        errors["min_quantity"] = [_("The minimum quantity must be more than 0.")]
    product_obj = None
    if product in (None, ""):
        errors["product"] = [_("Choose a product.")]
    else:
        product_obj = product if isinstance(product, Product) else Product.objects.filter(pk=_pk(product)).first()
        if product_obj is None:
            errors["product"] = [_("Choose a product.")]
    if errors:
        raise ValidationError(errors)
    creating = entry is None
    if entry is None:
        entry = PriceBookEntry(price_book=price_book)
    elif entry.price_book_id != price_book.pk:
        raise ValidationError(_("This price belongs to another price book."))
    before = {} if creating else {"price": f"{entry.product} ≥ {entry.min_quantity}: {entry.unit_price}"}
    entry.product = product_obj
    entry.unit_price = unit_price.quantize(Decimal("0.0001"))
    entry.min_quantity = min_quantity.quantize(Decimal("0.001"))
    clash = PriceBookEntry.objects.filter(price_book=price_book, product=product_obj, min_quantity=entry.min_quantity)
    if entry.pk:
        clash = clash.exclude(pk=entry.pk)
    if clash.exists():
        raise ValidationError({"min_quantity": [_("This product already has a price from this quantity.")]})
    entry.save()
    PriceBook.objects.filter(pk=price_book.pk).update(updated_at=timezone.now())
    after = f"{product_obj} ≥ {min_quantity.normalize():f}: {unit_price.normalize():f}"
    audit.record(AuditAction.UPDATE, price_book, changes={"price": [before.get("price"), after]})
    return entry


@transaction.atomic
def price_book_entry_delete(*, actor, entry: PriceBookEntry) -> None:
    book = entry.price_book
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, book)
    label = f"{entry.product} ≥ {entry.min_quantity.normalize():f}: {entry.unit_price.normalize():f}"
    entry.delete()
    audit.record(AuditAction.UPDATE, book, changes={"price": [label, None]})


# --- price lookup -----------------------------------------------------------------------------------


@dataclass
class PriceResult:
    unit_price: Decimal
    price_book: PriceBook | None  # None: the product's own list price
    min_quantity: Decimal = Decimal(1)

    @property
    def source(self) -> str:
        return self.price_book.name if self.price_book is not None else str(_("List price"))


def _book_matches(book: PriceBook, account, channel: str) -> bool:
    if book.region_id:
        region = getattr(account, "region", None) if account is not None else None
        if region is None or not region.path.startswith(book.region.path):
            return False
    if book.tier and (account is None or account.rating != book.tier):
        return False
    return not (book.channel and book.channel != channel)


def applicable_price_books(*, account, channel: str, currency: str, day: datetime.date, price_book=None):
    """Active books valid on ``day`` in ``currency`` that apply to the account and channel, most specific first.

    Specificity = how many of region / tier / channel a book sets; a deeper region beats a
    wider one; the default book comes last. A book chosen on the document comes first.
    """
    books = [
        b
        for b in PriceBook.objects.filter(is_active=True, currency=currency).select_related("region")
        if b.is_valid_on(day) and _book_matches(b, account, channel)
    ]
    books.sort(key=lambda b: (-b.specificity, -(b.region.depth if b.region_id else -1), b.is_default, b.pk))
    if price_book is not None:
        books = [price_book] + [b for b in books if b.pk != price_book.pk]
    return books


def prices_for(
    items: list[tuple[Product, Decimal]],
    *,
    account,
    channel: str,
    currency: str,
    day: datetime.date | None = None,
    price_book: PriceBook | None = None,
) -> list[PriceResult | None]:
    """The unit price of each (product, quantity), with the same rules as ``price_for``, in 2 queries."""
    day = day or timezone.localdate()
    books = applicable_price_books(account=account, channel=channel, currency=currency, day=day, price_book=price_book)
    product_ids = {p.pk for p, _q in items if p is not None}
    entries: dict[tuple[int, int], list[tuple[Decimal, Decimal]]] = {}
    if books and product_ids:
        for book_id, product_id, min_qty, price in PriceBookEntry.objects.filter(
            price_book__in=[b.pk for b in books], product_id__in=product_ids
        ).values_list("price_book_id", "product_id", "min_quantity", "unit_price"):
            entries.setdefault((book_id, product_id), []).append((min_qty, price))
    results: list[PriceResult | None] = []
    for product, quantity in items:
        if product is None:
            results.append(None)
            continue
        quantity = quantity if quantity and quantity > 0 else Decimal(1)
        found = None
        for book in books:
            tiers = [t for t in entries.get((book.pk, product.pk), []) if t[0] <= quantity]
            if tiers:
                min_qty, price = max(tiers, key=lambda t: t[0])
                found = PriceResult(unit_price=price, price_book=book, min_quantity=min_qty)
                break
        if found is None and product.currency == currency:
            found = PriceResult(unit_price=product.list_price, price_book=None)
        results.append(found)
    return results


def price_for(
    product: Product,
    account=None,
    channel: str = Channel.DIRECT,
    currency: str | None = None,
    quantity=1,
    date: datetime.date | None = None,
    *,
    price_book: PriceBook | None = None,
) -> PriceResult | None:
    """The unit price of ``product`` for this customer, channel, currency, quantity and day.

    Looks through the applicable price books from the most specific (region, tier and channel
    all matching) to the default book, taking in the first book that lists the product the
    entry with the largest minimum quantity not above ``quantity``. Without any, the product's
    own list price if it is in ``currency``; else ``None`` (no price in that currency).
    """
    currency = currency or product.currency
    quantity = pricing.to_decimal(quantity, Decimal(1))
    return prices_for(
        [(product, quantity)], account=account, channel=channel, currency=currency, day=date, price_book=price_book
    )[0]


# --- numbering -------------------------------------------------------------------------------------


def next_number(key: str, prefix: str, day: datetime.date | None = None) -> str:
    """The next document number of the tenant, e.g. ``Q-2026-00042`` (race-free: a locked counter row)."""
    year = (day or timezone.localdate()).year
    with transaction.atomic():
        sequence = NumberSequence.objects.select_for_update().filter(key=key, year=year).first()
        if sequence is None:
            # The year's first number: create the counter unless a concurrent transaction just did
            # (ON CONFLICT DO NOTHING waits for it), then lock whichever row exists.
            NumberSequence.objects.bulk_create([NumberSequence(key=key, year=year)], ignore_conflicts=True)
            sequence = NumberSequence.objects.select_for_update().get(key=key, year=year)
        sequence.last_value += 1
        sequence.save(update_fields=["last_value"])
    return f"{prefix}-{year}-{sequence.last_value:05d}"


# --- document lines --------------------------------------------------------------------------------


@dataclass
class LineRow:
    """A line as the editor and the services see it: raw input, resolved product, amounts, errors."""

    product: Product | None = None
    description: str = ""
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    discount_percent: Decimal | None = None
    tax_rate: Decimal | None = None
    list_price: Decimal | None = None
    price_source: str = ""
    amounts: pricing.LineAmounts | None = None
    errors: dict[str, str] = field(default_factory=dict)
    raw: dict = field(default_factory=dict)

    @property
    def sku(self) -> str:
        return self.product.sku if self.product else ""

    @property
    def unit(self) -> str:
        return self.product.unit if self.product else ""

    def _shown(self, name: str, value) -> str:
        """The value as the editor shows it: normalised when valid, as typed when not."""
        if value is None:
            raw = self.raw.get(name, "")
            return "" if raw is None else str(raw)
        if value == value.to_integral():
            return f"{value.quantize(Decimal(1)):f}"
        return f"{value.normalize():f}"

    @property
    def quantity_input(self) -> str:
        return self._shown("quantity", self.quantity)

    @property
    def unit_price_input(self) -> str:
        return self._shown("unit_price", self.unit_price)

    @property
    def discount_input(self) -> str:
        value = self.discount_percent
        return (
            ""
            if value is not None and value == 0 and not self.raw.get("discount_percent")
            else self._shown("discount_percent", value)
        )

    @property
    def tax_input(self) -> str:
        return self._shown("tax_rate", self.tax_rate)

    @property
    def list_price_input(self) -> str:
        return self._shown("list_price", self.list_price)


@dataclass
class LinesPreview:
    rows: list[LineRow]
    amounts: pricing.DocumentAmounts
    errors: dict[str, list[str]]  # "lines.<i>.<field>" / "discount_percent" → messages
    threshold: Decimal
    discount_percent: Decimal

    @property
    def needs_approval(self) -> bool:
        return self.amounts.highest_discount_percent > self.threshold

    @property
    def is_valid(self) -> bool:
        return not self.errors


def _visible_products(actor):
    qs = Product.objects.select_related("tax_class")
    return permissions.visible(actor, qs) if actor is not None else qs


def preview_lines(
    *, actor, raw_lines: Iterable[dict], discount_percent, account, channel: str, currency: str, day, price_book=None
) -> LinesPreview:
    """Resolve, price and compute lines; the line editor's live totals and saving both use this.

    Each raw line has ``product`` (instance or id, or empty for a free-text line),
    ``description``, ``quantity``, ``unit_price`` (empty: looked up with ``price_for``),
    ``discount_percent`` and, for free-text lines, ``tax_rate`` (a product line takes the
    rate of its product's tax class). Nothing is written.
    """
    raw_lines = list(raw_lines)
    errors: dict[str, list[str]] = {}
    wanted_ids = {_pk(r.get("product")) for r in raw_lines if r.get("product") not in (None, "")}
    products = {}
    if wanted_ids:
        ids = [int(i) for i in wanted_ids if str(i).isdigit()]
        products = {p.pk: p for p in _visible_products(actor).filter(pk__in=ids)}
    rows: list[LineRow] = []
    for raw in raw_lines:
        row = LineRow(raw=raw)
        product_value = raw.get("product")
        if product_value not in (None, ""):
            pk = _pk(product_value)
            row.product = products.get(int(pk)) if str(pk).isdigit() else None
            if row.product is None:
                row.errors["product"] = _("Choose a product you can see.")
        row.description = (raw.get("description") or "").strip()[:300]
        if not row.description and row.product is not None:
            row.description = row.product.name[:300]
        row.quantity = pricing.to_decimal(raw.get("quantity"), None)
        row.unit_price = pricing.to_decimal(raw.get("unit_price"), None)
        row.discount_percent = pricing.to_decimal(raw.get("discount_percent"), pricing.ZERO)
        if row.product is not None:
            row.tax_rate = row.product.tax_class.rate if row.product.tax_class_id else pricing.ZERO
        else:
            row.tax_rate = pricing.to_decimal(raw.get("tax_rate"), pricing.ZERO)
        rows.append(row)

    lookups = [(i, r) for i, r in enumerate(rows) if r.product is not None]
    found = prices_for(
        [(r.product, r.quantity or Decimal(1)) for _i, r in lookups],
        account=account,
        channel=channel,
        currency=currency,
        day=day,
        price_book=price_book,
    )
    for (_i, row), result in zip(lookups, found, strict=True):
        if result is not None:
            row.list_price = result.unit_price
            row.price_source = result.source
            if row.unit_price is None:
                row.unit_price = result.unit_price
        elif row.unit_price is None:
            row.errors["unit_price"] = _("No price in %(currency)s: enter one.") % {"currency": currency}
    for row in rows:
        if row.product is None and not row.description and "product" not in row.errors:
            row.errors["description"] = _("Choose a product or describe the line.")
        if row.product is None and row.unit_price is None and "unit_price" not in row.errors:
            row.errors["unit_price"] = _("Enter a price.")
        if row.unit_price is not None or row.quantity is not None:
            for key, message in pricing.validate_line_values(
                quantity=row.quantity,
                unit_price=row.unit_price if row.unit_price is not None else pricing.ZERO,
                discount_percent=row.discount_percent,
                tax_rate=row.tax_rate,
            ).items():
                row.errors.setdefault(key, message)
    doc_discount = pricing.to_decimal(discount_percent, None)
    if doc_discount is None or not (0 <= doc_discount <= 100) or doc_discount.normalize().as_tuple().exponent < -2:
        errors["discount_percent"] = [_("A discount is between 0 and 100 % (2 decimals).")]
        doc_discount = pricing.ZERO
    good = [r for r in rows if not r.errors]
    amounts = pricing.compute_document(
        [
            pricing.LineInput(
                quantity=r.quantity,
                unit_price=r.unit_price,
                discount_percent=r.discount_percent,
                tax_rate=r.tax_rate,
                list_price=r.list_price,
            )
            for r in good
        ],
        doc_discount,
    )
    for row, line_amounts in zip(good, amounts.lines, strict=True):
        row.amounts = line_amounts
    if abs(amounts.total) >= MAX_TOTAL:
        errors.setdefault("lines", []).append(_("The total is too large."))
    for index, row in enumerate(rows):
        for key, message in row.errors.items():
            errors.setdefault(f"lines.{index}.{key}", []).append(message)
    return LinesPreview(
        rows=rows,
        amounts=amounts,
        errors=errors,
        threshold=commerce_settings().discount_approval_threshold_percent,
        discount_percent=doc_discount,
    )


def _line_objects(model, parent_field: str, parent, preview: LinesPreview) -> list:
    lines = []
    for position, row in enumerate(preview.rows):
        a = row.amounts
        lines.append(
            model(
                **{parent_field: parent},
                position=position,
                product=row.product,
                sku=row.sku,
                description=row.description,
                unit=row.unit,
                quantity=row.quantity,
                list_price=row.list_price,
                unit_price=row.unit_price,
                discount_percent=row.discount_percent,
                tax_rate=row.tax_rate,
                gross_amount=a.gross,
                discount_amount=a.discount_total,
                net_amount=a.net,
                tax_amount=a.tax,
                total=a.total,
            )
        )
    return lines


def _apply_totals(document, amounts: pricing.DocumentAmounts) -> dict:
    values = {
        "subtotal": amounts.subtotal,
        "discount_total": amounts.discount_total,
        "net_total": amounts.net_total,
        "tax_total": amounts.tax_total,
        "total": amounts.total,
    }
    if isinstance(document, Quote):
        values["effective_discount_percent"] = amounts.effective_discount_percent
        values["max_line_discount_percent"] = amounts.max_line_discount_percent
    for name, value in values.items():
        setattr(document, name, value)
    return values


def _lines_summary(lines) -> list[str]:
    return [f"{line.quantity.normalize():f} × {line.description} @ {line.unit_price.normalize():f}" for line in lines]


def _stored_line_inputs(lines) -> list[pricing.LineInput]:
    return [
        pricing.LineInput(
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            tax_rate=line.tax_rate,
            list_price=line.list_price,
        )
        for line in lines
    ]


def _recompute_stored(document, line_model, parent_field: str) -> pricing.DocumentAmounts:
    """Recompute line amounts and totals from the stored lines (after the discount on the total changed)."""
    lines = list(line_model.objects.filter(**{parent_field: document}).order_by("position", "id"))
    amounts = pricing.compute_document(_stored_line_inputs(lines), document.discount_percent or pricing.ZERO)
    for line, a in zip(lines, amounts.lines, strict=True):
        line.gross_amount, line.discount_amount, line.net_amount = a.gross, a.discount_total, a.net
        line.tax_amount, line.total = a.tax, a.total
    if lines:
        line_model.objects.bulk_update(lines, ["gross_amount", "discount_amount", "net_amount", "tax_amount", "total"])
    _apply_totals(document, amounts)
    return amounts


def document_amounts(document) -> pricing.DocumentAmounts:
    """The amounts (incl. the tax breakdown by rate) of a saved quote or order, from its lines."""
    lines = list(document.lines.all())
    return pricing.compute_document(_stored_line_inputs(lines), document.discount_percent or pricing.ZERO)


# --- quotes ----------------------------------------------------------------------------------------


def _resolve_visible(actor, model, value, field_name: str):
    if value in (None, ""):
        return None
    qs = model._default_manager.all()
    pk = _pk(value)
    if actor is not None and _is_entity(model):
        obj = permissions.visible(actor, qs).filter(pk=pk).first() if str(pk).isdigit() else None
    else:
        obj = qs.filter(pk=pk).first() if str(pk).isdigit() else None
    if obj is None:
        raise ValidationError({field_name: [_("Select a record you can see.")]})
    return obj


def _is_entity(model) -> bool:
    from guanxi.platform import registry

    return registry.entity_for_model(model) is not None


def _opportunity_queryset(actor):
    """Opportunities the actor may pick: through the sales entity's permissions when it is registered."""
    from guanxi.customers.models import Account
    from guanxi.sales.models import Opportunity

    qs = Opportunity.objects.all()
    if actor is None:
        return qs
    if _is_entity(Opportunity):
        return permissions.visible(actor, qs)
    return qs.filter(account__in=permissions.visible(actor, Account.objects.all()))


def _document_links(actor, data: dict, instance=None) -> dict:
    """Resolve and check account / contact / opportunity / price book of a quote or order."""
    from guanxi.customers.models import Account, Contact

    data = dict(data)
    for key in ("account_id", "contact_id", "opportunity_id", "price_book_id", "owner_id"):
        if key in data:
            data[key[:-3]] = data.pop(key)
    errors: dict[str, list[str]] = {}

    def resolve(name, func):
        try:
            data[name] = func()
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)

    for name, model in (("account", Account), ("contact", Contact), ("price_book", PriceBook)):
        if name in data:
            current = getattr(instance, f"{name}_id", None) if instance is not None else None
            if current is not None and _pk(data[name]) == current:
                data[name] = getattr(instance, name)
            else:
                resolve(name, lambda n=name, m=model: _resolve_visible(actor, m, data[n], n))
    if "opportunity" in data:
        current = getattr(instance, "opportunity_id", None) if instance is not None else None
        value = data["opportunity"]
        if value in (None, ""):
            data["opportunity"] = None
        elif current is not None and _pk(value) == current:
            data["opportunity"] = instance.opportunity
        else:
            pk = _pk(value)
            opportunity = _opportunity_queryset(actor).filter(pk=pk).first() if str(pk).isdigit() else None
            if opportunity is None:
                errors.setdefault("opportunity", []).append(_("Select a record you can see."))
            data["opportunity"] = opportunity
    account = data.get("account", getattr(instance, "account", None) if instance is not None else None)
    opportunity = data.get("opportunity", getattr(instance, "opportunity", None) if instance is not None else None)
    if account is not None and opportunity is not None and opportunity.account_id != account.pk:
        errors.setdefault("opportunity", []).append(_("This opportunity is with another account."))
    book = data.get("price_book", getattr(instance, "price_book", None) if instance is not None else None)
    if data.get("currency"):
        data["currency"] = data["currency"].strip().upper()
    currency = data.get("currency") or (getattr(instance, "currency", None) if instance is not None else None)
    if book is not None and currency and book.currency != currency:
        errors.setdefault("price_book", []).append(
            _("This price book is in %(currency)s.") % {"currency": book.currency}
        )
    if errors:
        raise ValidationError(errors)
    return data


def _check_dates(data: dict, instance=None) -> None:
    start = data.get("quote_date", getattr(instance, "quote_date", None))
    end = data.get("valid_until", getattr(instance, "valid_until", None))
    if start and end and end < start:
        raise ValidationError({"valid_until": _("A quote cannot expire before its date.")})


def _raw_from_lines(lines) -> list[dict]:
    return [
        {
            "product": line.product_id,
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "discount_percent": line.discount_percent,
            "tax_rate": line.tax_rate,
        }
        for line in lines
    ]


def preview_quote_lines(*, actor, quote: Quote, raw_lines, discount_percent=None) -> LinesPreview:
    return preview_lines(
        actor=actor,
        raw_lines=raw_lines,
        discount_percent=quote.discount_percent if discount_percent is None else discount_percent,
        account=quote.account,
        channel=quote.channel,
        currency=quote.currency,
        day=quote.quote_date,
        price_book=quote.price_book,
    )


@transaction.atomic
def quote_create(*, actor, data: dict, lines: list[dict] | None = None) -> Quote:
    """Create a draft quote (number ``Q-<year>-<n>``, version 1), optionally with its lines.

    Defaults: validity from the tenant's settings, currency of the price book or the
    tenant's default currency, the standard terms.
    """
    conf = commerce_settings()
    data = _document_links(actor, data)
    if data.get("account") is None:
        raise ValidationError({"account": [_("Choose the account the quote is for.")]})
    if not data.get("currency"):
        data["currency"] = data["price_book"].currency if data.get("price_book") else conf.default_currency
    if not data.get("quote_date"):
        data["quote_date"] = timezone.localdate()
    if not data.get("valid_until"):
        data["valid_until"] = data["quote_date"] + datetime.timedelta(days=conf.quote_validity_days)
    if not data.get("terms"):
        data["terms"] = conf.quote_terms
    if not data.get("title"):
        data["title"] = str(data["opportunity"]) if data.get("opportunity") else str(data["account"])
    if not data.get("contact") and data.get("opportunity") is not None and data["opportunity"].contact_id:
        data["contact"] = data["opportunity"].contact
    _check_dates(data)
    if actor is not None:
        permissions.require(actor, QUOTE, Action.CREATE)
    data["number"] = next_number("quote", "Q")
    data["version"] = 1
    data["status"] = QuoteStatus.DRAFT
    quote = crud.record_create(entity_key=QUOTE, actor=actor, data=data)
    if lines:
        _quote_store_lines(actor=actor, quote=quote, raw_lines=lines, discount_percent=None)
    return quote


QUOTE_AMOUNT_FIELDS = {"discount_percent", "currency", "price_book", "channel", "account", "quote_date"}
QUOTE_ALWAYS_EDITABLE = {"owner", "notes", "custom"}


@transaction.atomic
def quote_update(*, actor, quote: Quote, data: dict) -> Quote:
    """Change a draft (or approved) quote's header; a sent or closed quote only takes owner and notes.

    Changing the discount on the total recomputes the amounts; any change of amounts of an
    approved quote sends it back to draft (it needs approving again if still above the threshold).
    """
    data = _document_links(actor, data, quote)
    blocked = set(data) - QUOTE_ALWAYS_EDITABLE
    if not quote.is_editable:
        blocked = {name for name in blocked if _pk(data[name]) != _pk(getattr(quote, name, None))}
        if blocked:
            raise ValidationError(_("This quote can no longer be changed; revise it as a new version instead."))
        data = {k: v for k, v in data.items() if k in QUOTE_ALWAYS_EDITABLE}
    _check_dates(data, quote)
    quote, changes = crud.record_update(entity_key=QUOTE, actor=actor, instance=quote, data=data)
    if "discount_percent" in changes or "currency" in changes:
        preview = preview_quote_lines(actor=actor, quote=quote, raw_lines=_raw_from_lines(quote.lines.all()))
        if not preview.is_valid:
            raise ValidationError(preview.errors)
        _write_lines(quote, QuoteLine, "quote", preview)
    if quote.status == QuoteStatus.APPROVED and (set(changes) & QUOTE_AMOUNT_FIELDS):
        _quote_set_status(quote, QuoteStatus.DRAFT, note="changed after approval")
    return quote


def _write_lines(document, line_model, parent_field: str, preview: LinesPreview) -> None:
    line_model.objects.filter(**{parent_field: document}).delete()
    line_model.objects.bulk_create(_line_objects(line_model, parent_field, document, preview))
    values = _apply_totals(document, preview.amounts)
    document.__class__.objects.filter(pk=document.pk).update(**values, updated_at=timezone.now())


def _quote_store_lines(*, actor, quote: Quote, raw_lines, discount_percent) -> LinesPreview:
    before_lines = _lines_summary(quote.lines.all()) if quote.pk else []
    before_total = quote.total
    before_discount = quote.discount_percent
    preview = preview_quote_lines(actor=actor, quote=quote, raw_lines=raw_lines, discount_percent=discount_percent)
    if not preview.is_valid:
        raise ValidationError(preview.errors)
    quote.discount_percent = preview.discount_percent
    _write_lines(quote, QuoteLine, "quote", preview)
    Quote.objects.filter(pk=quote.pk).update(discount_percent=quote.discount_percent)
    after_lines = _lines_summary(_line_objects(QuoteLine, "quote", quote, preview))
    changes = {}
    if before_lines != after_lines:
        changes["lines"] = [before_lines, after_lines]
    if before_total != quote.total:
        changes["total"] = [before_total, quote.total]
    if before_discount != quote.discount_percent:
        changes["discount_percent"] = [before_discount, quote.discount_percent]
    if changes:
        audit.record(AuditAction.UPDATE, quote, changes=changes)
    return preview


@transaction.atomic
def quote_set_lines(*, actor, quote: Quote, lines: list[dict], discount_percent=None) -> Quote:
    """Replace the quote's lines (and optionally the discount on the total); totals are recomputed.

    Only a draft or approved quote; an approved one whose amounts change goes back to draft.
    """
    quote = (
        Quote.objects.select_for_update(of=("self",)).select_related("account__region", "price_book").get(pk=quote.pk)
    )
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, quote)
    if not quote.is_editable:
        raise ValidationError(_("This quote can no longer be changed; revise it as a new version instead."))
    before = (quote.total, quote.effective_discount_percent, quote.discount_percent, _lines_summary(quote.lines.all()))
    _quote_store_lines(actor=actor, quote=quote, raw_lines=lines, discount_percent=discount_percent)
    after = (quote.total, quote.effective_discount_percent, quote.discount_percent)
    if quote.status == QuoteStatus.APPROVED and (before[:3] != after or before[3] != _lines_summary(quote.lines.all())):
        _quote_set_status(quote, QuoteStatus.DRAFT, note="changed after approval")
    return quote


@transaction.atomic
def quote_delete(*, actor, quote: Quote) -> None:
    """Delete a draft; a deleted revision gives its previous version back its status."""
    if quote.status not in (QuoteStatus.DRAFT, QuoteStatus.PENDING_APPROVAL):
        raise ValidationError(_("Only draft quotes can be deleted."))
    previous = quote.previous_version
    try:
        crud.record_delete(entity_key=QUOTE, actor=actor, instance=quote)
    except ProtectedError:
        raise ValidationError(_("This quote has other versions or orders and cannot be deleted."))
    if previous is not None and previous.status == QuoteStatus.SUPERSEDED:
        _quote_set_status(previous, previous.previous_status or QuoteStatus.SENT, note="revision deleted")


def _quote_set_status(quote: Quote, status: str, *, note: str = "", changes: dict | None = None, **stamps) -> Quote:
    before = quote.status
    quote.status = status
    for name, value in stamps.items():
        setattr(quote, name, value)
    Quote.objects.filter(pk=quote.pk).update(status=status, updated_at=timezone.now(), **stamps)
    all_changes = {"status": [before, status], **(changes or {})}
    audit.record(AuditAction.UPDATE, quote, changes=all_changes, note=note)
    return quote


def quote_needs_approval(quote: Quote) -> bool:
    """Does the quote's discount exceed the tenant's threshold (so it needs approving before it goes out)?"""
    threshold = commerce_settings().discount_approval_threshold_percent
    return max(quote.discount_percent, quote.max_line_discount_percent, quote.effective_discount_percent) > threshold


def quote_can_send(quote: Quote) -> bool:
    if quote.status == QuoteStatus.APPROVED:
        return True
    return quote.status == QuoteStatus.DRAFT and not quote_needs_approval(quote)


def _lock_quote(quote: Quote) -> Quote:
    return Quote.objects.select_for_update(of=("self",)).select_related("account", "contact", "owner").get(pk=quote.pk)


def approver_for(user):
    """The requester's manager (an active member), or None: then any tenant administrator decides."""
    from guanxi.org.models import Member

    member = Member.objects.filter(user=user, is_active=True).select_related("manager__user").first()
    manager = member.manager if member is not None else None
    if manager is not None and manager.is_active and manager.user_id != user.pk:
        return manager.user
    return None


def _tenant_admins():
    from guanxi.org.models import Member

    return [m.user for m in Member.objects.filter(is_admin=True, is_active=True).select_related("user")]


def _notify(user, title_func, body_func, url: str) -> None:
    from guanxi.activities.models import Notification
    from guanxi.activities.services import notification_create, recipient_locale

    with recipient_locale(user):
        title, body = str(title_func()), str(body_func())
    notification_create(user=user, kind=Notification.Kind.SYSTEM, title=title, body=body, url=url)


@transaction.atomic
def quote_request_approval(*, actor, quote: Quote, reason: str = "") -> DiscountApproval:
    """Ask the owner's manager (or the administrators) to approve a discount above the threshold."""
    quote = _lock_quote(quote)
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, quote)
    if quote.status != QuoteStatus.DRAFT:
        raise ValidationError(_("Only a draft quote can be submitted for approval."))
    if not quote.lines.exists():
        raise ValidationError(_("Add lines to the quote first."))
    if not quote_needs_approval(quote):
        raise ValidationError(_("The discount is within the threshold: no approval is needed."))
    requester = actor or quote.owner
    approver = approver_for(requester)
    conf = commerce_settings()
    highest = max(quote.discount_percent, quote.max_line_discount_percent, quote.effective_discount_percent)
    approval = DiscountApproval.objects.create(
        quote=quote,
        requested_by=requester,
        approver=approver,
        discount_percent=highest,
        threshold_percent=conf.discount_approval_threshold_percent,
        quote_total=quote.total,
        reason=(reason or "").strip(),
    )
    _quote_set_status(
        quote,
        QuoteStatus.PENDING_APPROVAL,
        note="discount approval requested",
        changes={"approval": [None, f"requested: {highest} % > {conf.discount_approval_threshold_percent} %"]},
    )
    recipients = [approver] if approver is not None else [u for u in _tenant_admins() if u.pk != requester.pk]
    if not recipients:
        recipients = _tenant_admins()
    from django.urls import reverse

    url = reverse("commerce:approval_inbox")
    for user in recipients:
        _notify(
            user,
            lambda: _("Discount approval requested: %(quote)s") % {"quote": quote.display_number},
            lambda: (
                _("%(who)s asks to approve %(percent)s %% off for %(account)s (%(total)s %(currency)s).")
                % {
                    "who": requester,
                    "percent": highest,
                    "account": quote.account,
                    "total": quote.total,
                    "currency": quote.currency,
                }
            ),
            url,
        )
    return approval


def can_decide(user, approval: DiscountApproval) -> bool:
    """The named approver or a tenant administrator may decide a pending request."""
    if approval.status != DiscountApproval.Status.PENDING:
        return False
    return approval.approver_id == user.pk or permissions.is_tenant_admin(user)


@transaction.atomic
def approval_decide(*, actor, approval: DiscountApproval, approve: bool, comment: str = "") -> DiscountApproval:
    """Approve (the quote may be sent) or reject (back to draft with the comment) a discount request."""
    approval = (
        DiscountApproval.objects.select_for_update(of=("self",))
        .select_related("quote", "requested_by")
        .get(pk=approval.pk)
    )
    if not can_decide(actor, approval):
        if approval.status != DiscountApproval.Status.PENDING:
            raise ValidationError(_("This request was already decided."))
        raise PermissionDenied
    quote = _lock_quote(approval.quote)
    if quote.status != QuoteStatus.PENDING_APPROVAL:
        raise ValidationError(_("The quote is no longer waiting for approval."))
    approval.status = DiscountApproval.Status.APPROVED if approve else DiscountApproval.Status.REJECTED
    approval.comment = (comment or "").strip()
    approval.decided_at = timezone.now()
    approval.decided_by = actor
    approval.save(update_fields=["status", "comment", "decided_at", "decided_by"])
    decision = "approved" if approve else "rejected"
    _quote_set_status(
        quote,
        QuoteStatus.APPROVED if approve else QuoteStatus.DRAFT,
        note=f"discount {decision}" + (f": {approval.comment}" if approval.comment else ""),
        changes={"approval": ["pending", f"{decision} ({approval.discount_percent} %) by {actor}"]},
    )
    _notify(
        approval.requested_by,
        lambda: (
            (_("Discount approved: %(quote)s") if approve else _("Discount rejected: %(quote)s"))
            % {"quote": quote.display_number}
        ),
        lambda: approval.comment or quote.title,
        quote.get_absolute_url(),
    )
    return approval


@transaction.atomic
def approval_cancel(*, actor, quote: Quote) -> None:
    """Withdraw a pending request (the requester, or anyone who may edit the quote): back to draft."""
    quote = _lock_quote(quote)
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, quote)
    if quote.status != QuoteStatus.PENDING_APPROVAL:
        raise ValidationError(_("The quote is not waiting for approval."))
    DiscountApproval.objects.filter(quote=quote, status=DiscountApproval.Status.PENDING).update(
        status=DiscountApproval.Status.CANCELLED, decided_at=timezone.now(), decided_by=actor
    )
    _quote_set_status(quote, QuoteStatus.DRAFT, note="approval request withdrawn")


def quote_email_defaults(quote: Quote, actor) -> dict:
    """Recipient, subject and body proposed in the send form."""
    contact = quote.contact
    greeting = contact.full_name if contact is not None else str(quote.account)
    return {
        "to": contact.email if contact is not None and contact.email else (quote.account.email or ""),
        "subject": _("Quote %(number)s: %(title)s") % {"number": quote.display_number, "title": quote.title},
        "body": _(
            "Dear %(name)s,\n\nplease find attached our quote %(number)s, valid until %(date)s.\n\n"
            "Total: %(total)s %(currency)s\n\nKind regards,\n%(sender)s"
        )
        % {
            "name": greeting,
            "number": quote.display_number,
            "date": quote.valid_until.isoformat(),
            "total": f"{quote.total:,.2f}",
            "currency": quote.currency,
            "sender": actor.full_name if actor is not None else "",
        },
    }


def _addresses(values, field_name: str) -> list[str]:
    from django.core.validators import validate_email

    if isinstance(values, str):
        values = values.replace(";", ",").split(",")
    result = []
    for value in values or []:
        value = (value or "").strip()
        if not value:
            continue
        try:
            validate_email(value)
        except ValidationError:
            raise ValidationError({field_name: [_("“%(value)s” is not an email address.") % {"value": value}]})
        result.append(value)
    return result


@transaction.atomic
def quote_send(*, actor, quote: Quote, to, subject: str, body: str, cc=()) -> Quote:
    """E-mail the quote as a PDF to the customer, mark it sent and log the e-mail on the timelines.

    A quote whose discount is above the threshold must be approved first. The e-mail goes
    through Django's e-mail backend; if it cannot be sent nothing is changed.
    """
    from guanxi.activities.models import Activity
    from guanxi.activities.services import activity_create

    from .pdf import quote_pdf

    quote = _lock_quote(quote)
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, quote)
    if quote.status == QuoteStatus.PENDING_APPROVAL:
        raise ValidationError(_("The discount is waiting for approval."))
    if quote.status == QuoteStatus.DRAFT and quote_needs_approval(quote):
        raise ValidationError(_("The discount is above the approval threshold: ask for approval first."))
    if quote.status not in (QuoteStatus.DRAFT, QuoteStatus.APPROVED, QuoteStatus.SENT):
        raise ValidationError(_("This quote cannot be sent any more."))
    if not quote.lines.exists():
        raise ValidationError(_("Add lines to the quote first."))
    recipients = _addresses(to, "to")
    copies = _addresses(cc, "cc")
    subject = (subject or "").strip()
    errors = {}
    if not recipients:
        errors["to"] = [_("Enter at least one address.")]
    if not subject:
        errors["subject"] = [_("Enter a subject.")]
    if errors:
        raise ValidationError(errors)
    pdf = quote_pdf(quote)
    first_send = quote.status != QuoteStatus.SENT
    now = timezone.now()
    if first_send:
        _quote_set_status(
            quote,
            QuoteStatus.SENT,
            note="quote e-mailed",
            changes={"sent_to": [None, ", ".join(recipients + copies)]},
            sent_at=now,
        )
    else:
        audit.record(
            AuditAction.UPDATE,
            quote,
            changes={"sent_to": [None, ", ".join(recipients + copies)]},
            note="quote e-mailed again",
        )
    activity_create(
        actor=None,
        data={
            "kind": Activity.Kind.EMAIL,
            "status": Activity.Status.DONE,
            "direction": Activity.Direction.OUTBOUND,
            "subject": subject[:200],
            "body": "\n".join(
                [
                    _("To: %(addresses)s") % {"addresses": ", ".join(recipients + copies)},
                    _("Attachment: %(file)s") % {"file": f"{quote.display_number}.pdf"},
                    "",
                    body,
                ]
            ),
            "starts_at": now,
            "owner": actor or quote.owner,
            "account": quote.account,
            "contact": quote.contact,
            "regarding_type": ContentType.objects.get_for_model(Quote).pk,
            "regarding_id": quote.pk,
        },
    )
    message = EmailMessage(
        subject=subject,
        body=body or "",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        cc=copies,
        reply_to=[actor.email] if actor is not None and getattr(actor, "email", "") else None,
    )
    message.attach(f"{quote.display_number}.pdf", pdf, "application/pdf")
    try:
        message.send(fail_silently=False)
    except OSError as exc:  # SMTP errors, refused connections, time-outs
        logger.warning("sending quote %s failed: %s", quote.pk, exc)
        raise ValidationError(_("The e-mail could not be sent (%(error)s). Nothing was changed.") % {"error": exc})
    return quote


def _opportunity_won(actor, quote: Quote, order: Order) -> None:
    """Mark the quote's opportunity won through the sales app's public service, when it has one.

    The acceptance stands even if the opportunity cannot be closed (e.g. its pipeline has no won
    stage); the actor's own rights on the opportunity are used when they may edit it.
    """
    if quote.opportunity_id is None:
        return
    try:
        from guanxi.sales import services as sales_services
    except ImportError:
        return
    mark_won = getattr(sales_services, "opportunity_mark_won", None)
    opportunity = quote.opportunity
    if mark_won is None or opportunity is None or opportunity.status != "open":
        return
    by = actor if actor is not None and _can_edit(actor, opportunity) else None
    reason = _("Quote %(number)s accepted (order %(order)s)") % {"number": quote.display_number, "order": order.number}
    try:
        mark_won(actor=by, opportunity=opportunity, reason=reason)
    except (ValidationError, PermissionDenied, Http404) as exc:
        logger.info("opportunity %s not marked won: %s", opportunity.pk, exc)


def _can_edit(actor, obj) -> bool:
    try:
        return permissions.can(actor, Action.EDIT, obj)
    except LookupError:  # not a registered entity
        return False


@transaction.atomic
def quote_accept(*, actor, quote: Quote, order_data: dict | None = None) -> Order:
    """The customer accepted: the quote becomes accepted and an order with its lines and totals is created."""
    quote = _lock_quote(quote)
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, quote)
        permissions.require(actor, ORDER, Action.CREATE)
    if quote.status == QuoteStatus.DRAFT and quote_needs_approval(quote):
        raise ValidationError(_("The discount is above the approval threshold: ask for approval first."))
    if quote.status not in (QuoteStatus.DRAFT, QuoteStatus.APPROVED, QuoteStatus.SENT):
        raise ValidationError(_("Only an open quote can be accepted."))
    lines = list(quote.lines.all())
    if not lines:
        raise ValidationError(_("Add lines to the quote first."))
    if quote.valid_until < timezone.localdate():
        raise ValidationError(_("This quote expired on %(date)s; revise it first.") % {"date": quote.valid_until})
    order = _order_new(
        actor=actor,
        data={
            "account": quote.account,
            "contact": quote.contact,
            "opportunity": quote.opportunity,
            "channel": quote.channel,
            "currency": quote.currency,
            "discount_percent": quote.discount_percent,
            "owner": quote.owner,
            "delivery_address": "\n".join(quote.account.address_lines),
            "notes": "",
            **(order_data or {}),
        },
        quote=quote,
    )
    OrderLine.objects.bulk_create(
        [OrderLine(order=order, **{name: getattr(line, name) for name in LINE_FIELDS}) for line in lines]
    )
    for name in ("subtotal", "discount_total", "net_total", "tax_total", "total"):
        setattr(order, name, getattr(quote, name))
    Order.objects.filter(pk=order.pk).update(
        **{n: getattr(quote, n) for n in ("subtotal", "discount_total", "net_total", "tax_total", "total")}
    )
    _quote_set_status(
        quote,
        QuoteStatus.ACCEPTED,
        note="quote accepted",
        changes={"order": [None, order.number]},
        accepted_at=timezone.now(),
        previous_status=quote.status,
    )
    _opportunity_won(actor, quote, order)
    return order


@transaction.atomic
def quote_reject(*, actor, quote: Quote, reason: str = "") -> Quote:
    """The customer declined the quote."""
    quote = _lock_quote(quote)
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, quote)
    if quote.status not in (QuoteStatus.DRAFT, QuoteStatus.APPROVED, QuoteStatus.SENT):
        raise ValidationError(_("Only an open quote can be marked rejected."))
    reason = (reason or "").strip()[:300]
    return _quote_set_status(
        quote,
        QuoteStatus.REJECTED,
        note="quote rejected by the customer",
        changes={"rejection_reason": [None, reason]} if reason else None,
        rejected_at=timezone.now(),
        rejection_reason=reason,
    )


@transaction.atomic
def quote_revise(*, actor, quote: Quote) -> Quote:
    """A new draft version of a sent (or approved, rejected, expired) quote; the old one is superseded, read-only."""
    quote = _lock_quote(quote)
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, quote)
        permissions.require(actor, QUOTE, Action.CREATE)
    if quote.status not in (QuoteStatus.SENT, QuoteStatus.APPROVED, QuoteStatus.REJECTED, QuoteStatus.EXPIRED):
        raise ValidationError(_("Only a sent, approved, rejected or expired quote can be revised."))
    if Quote.objects.filter(previous_version=quote).exists():
        raise ValidationError(_("This quote was already revised."))
    conf = commerce_settings()
    today = timezone.localdate()
    latest = Quote.objects.filter(number=quote.number).aggregate(v=models.Max("version"))["v"] or quote.version
    new = Quote(
        number=quote.number,
        version=latest + 1,
        previous_version=quote,
        title=quote.title,
        status=QuoteStatus.DRAFT,
        account=quote.account,
        contact=quote.contact,
        opportunity_id=quote.opportunity_id,
        price_book_id=quote.price_book_id,
        channel=quote.channel,
        currency=quote.currency,
        discount_percent=quote.discount_percent,
        quote_date=today,
        valid_until=max(quote.valid_until, today + datetime.timedelta(days=conf.quote_validity_days)),
        terms=quote.terms,
        notes=quote.notes,
        owner=quote.owner,
        created_by=actor,
        custom=dict(quote.custom or {}),
        **{n: getattr(quote, n) for n in ("subtotal", "discount_total", "net_total", "tax_total", "total")},
        effective_discount_percent=quote.effective_discount_percent,
        max_line_discount_percent=quote.max_line_discount_percent,
    )
    new.save()
    QuoteLine.objects.bulk_create(
        [QuoteLine(quote=new, **{name: getattr(line, name) for name in LINE_FIELDS}) for line in quote.lines.all()]
    )
    audit.record_created(new)
    _quote_set_status(
        quote,
        QuoteStatus.SUPERSEDED,
        note="revised",
        changes={"next_version": [None, new.display_number]},
        previous_status=quote.status,
    )
    return new


@transaction.atomic
def quotes_expire(*, today: datetime.date | None = None) -> int:
    """Mark open quotes whose validity ended as expired (run daily; audited per quote)."""
    today = today or timezone.localdate()
    due = list(
        Quote.objects.select_for_update().filter(
            status__in=(QuoteStatus.DRAFT, QuoteStatus.APPROVED, QuoteStatus.SENT), valid_until__lt=today
        )
    )
    for quote in due:
        _quote_set_status(quote, QuoteStatus.EXPIRED, note="validity ended")
    return len(due)


# --- orders ----------------------------------------------------------------------------------------

ORDER_TRANSITIONS = {
    OrderStatus.DRAFT: (OrderStatus.CONFIRMED, OrderStatus.CANCELLED),
    OrderStatus.CONFIRMED: (OrderStatus.FULFILLED, OrderStatus.CANCELLED),
    OrderStatus.FULFILLED: (OrderStatus.CLOSED,),
    OrderStatus.CLOSED: (),
    OrderStatus.CANCELLED: (),
}
ORDER_STAMPS = {
    OrderStatus.CONFIRMED: "confirmed_at",
    OrderStatus.FULFILLED: "fulfilled_at",
    OrderStatus.CLOSED: "closed_at",
    OrderStatus.CANCELLED: "cancelled_at",
}
ORDER_DELIVERY_FIELDS = {"delivery_address", "requested_delivery_date", "carrier", "tracking_number", "delivered_at"}
ORDER_ALWAYS_EDITABLE = {"owner", "notes", "custom"}


def _order_new(*, actor, data: dict, quote: Quote | None = None) -> Order:
    conf = commerce_settings()
    if data.get("account") is None:
        raise ValidationError({"account": [_("Choose the customer's account.")]})
    if not data.get("currency"):
        data["currency"] = conf.default_currency
    if not data.get("order_date"):
        data["order_date"] = timezone.localdate()
    data["number"] = next_number("order", "SO")
    data["status"] = OrderStatus.DRAFT
    data = {k: v for k, v in data.items() if v is not None or k in ("contact", "opportunity", "owner")}
    if data.get("owner") is None:
        data.pop("owner", None)
    order = crud.record_create(entity_key=ORDER, actor=None if quote is not None else actor, data=data)
    if quote is not None:
        Order.objects.filter(pk=order.pk).update(quote=quote)
        order.quote = quote
    if quote is not None and actor is not None and order.created_by_id is None:
        Order.objects.filter(pk=order.pk).update(created_by=actor)
        order.created_by = actor
    return order


def preview_order_lines(*, actor, order: Order, raw_lines, discount_percent=None) -> LinesPreview:
    return preview_lines(
        actor=actor,
        raw_lines=raw_lines,
        discount_percent=order.discount_percent if discount_percent is None else discount_percent,
        account=order.account,
        channel=order.channel,
        currency=order.currency,
        day=order.order_date,
    )


@transaction.atomic
def order_create(*, actor, data: dict, lines: list[dict] | None = None) -> Order:
    """Enter an order directly (not from a quote): number ``SO-<year>-<n>``, draft."""
    if actor is not None:
        permissions.require(actor, ORDER, Action.CREATE)
    data = _document_links(actor, data)
    data.pop("price_book", None)
    if data.get("currency"):
        data["currency"] = data["currency"].upper()
    order = _order_new(actor=actor, data=data)
    if lines:
        order_set_lines(actor=actor, order=order, lines=lines)
        order.refresh_from_db()
    return order


@transaction.atomic
def order_update(*, actor, order: Order, data: dict) -> Order:
    """Change an order: everything while draft; delivery details until it is closed or cancelled."""
    data = _document_links(actor, data, order)
    data.pop("price_book", None)
    if order.status != OrderStatus.DRAFT:
        allowed = ORDER_ALWAYS_EDITABLE | (
            ORDER_DELIVERY_FIELDS if order.status in (OrderStatus.CONFIRMED, OrderStatus.FULFILLED) else set()
        )
        blocked = {n for n in data if n not in allowed and _pk(data[n]) != _pk(getattr(order, n, None))}
        if blocked:
            raise ValidationError({n: [_("This cannot change once the order is confirmed.")] for n in sorted(blocked)})
        data = {k: v for k, v in data.items() if k in allowed}
    order, changes = crud.record_update(entity_key=ORDER, actor=actor, instance=order, data=data)
    if "discount_percent" in changes or "currency" in changes:
        preview = preview_order_lines(actor=actor, order=order, raw_lines=_raw_from_lines(order.lines.all()))
        if not preview.is_valid:
            raise ValidationError(preview.errors)
        _write_lines(order, OrderLine, "order", preview)
    return order


@transaction.atomic
def order_set_lines(*, actor, order: Order, lines: list[dict], discount_percent=None) -> Order:
    """Replace a draft order's lines; totals are recomputed."""
    order = Order.objects.select_for_update(of=("self",)).select_related("account__region").get(pk=order.pk)
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, order)
    if order.status != OrderStatus.DRAFT:
        raise ValidationError(_("The lines of a confirmed order cannot change."))
    before_lines, before_total = _lines_summary(order.lines.all()), order.total
    preview = preview_order_lines(actor=actor, order=order, raw_lines=lines, discount_percent=discount_percent)
    if not preview.is_valid:
        raise ValidationError(preview.errors)
    order.discount_percent = preview.discount_percent
    _write_lines(order, OrderLine, "order", preview)
    Order.objects.filter(pk=order.pk).update(discount_percent=order.discount_percent)
    after_lines = _lines_summary(_line_objects(OrderLine, "order", order, preview))
    changes = {}
    if before_lines != after_lines:
        changes["lines"] = [before_lines, after_lines]
    if before_total != order.total:
        changes["total"] = [before_total, order.total]
    if changes:
        audit.record(AuditAction.UPDATE, order, changes=changes)
    return order


def order_billing_invoice(order: Order):
    """The finance invoice (not void) that bills ``order``, if the finance app is installed and one does."""
    from django.apps import apps

    if not apps.is_installed("guanxi.finance"):
        return None
    from guanxi.finance.selectors import order_invoice

    return order_invoice(order)


@transaction.atomic
def order_transition(*, actor, order: Order, to: str, reason: str = "") -> Order:
    """Move an order along draft → confirmed → fulfilled → closed (or cancel it before fulfilment)."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if actor is not None:
        permissions.require_can(actor, Action.EDIT, order)
    if to not in ORDER_TRANSITIONS.get(order.status, ()):
        raise ValidationError(
            {
                "status": [
                    _("An order cannot go from %(from)s to %(to)s.")
                    % {"from": order.get_status_display(), "to": dict(OrderStatus.choices).get(to, to)}
                ]
            }
        )
    if to == OrderStatus.CONFIRMED and not order.lines.exists():
        raise ValidationError({"status": [_("Add lines to the order before confirming it.")]})
    if to == OrderStatus.CANCELLED:
        invoice = order_billing_invoice(order)
        if invoice is not None:
            raise ValidationError(
                {"status": [_("This order is billed by %(invoice)s; void the invoice before cancelling the order.")
                            % {"invoice": invoice.display_number}]}
            )  # fmt: skip
    before = order.status
    now = timezone.now()
    stamps = {ORDER_STAMPS[to]: now} if to in ORDER_STAMPS else {}
    if to == OrderStatus.FULFILLED and order.delivered_at is None:
        stamps["delivered_at"] = now
    if to == OrderStatus.CANCELLED:
        stamps["cancel_reason"] = (reason or "").strip()[:300]
    Order.objects.filter(pk=order.pk).update(status=to, updated_at=now, **stamps)
    order.status = to
    for name, value in stamps.items():
        setattr(order, name, value)
    changes = {"status": [before, to]}
    if reason:
        changes["reason"] = [None, reason[:300]]
    audit.record(AuditAction.UPDATE, order, changes=changes)
    return order


@transaction.atomic
def order_delete(*, actor, order: Order) -> None:
    if order.status != OrderStatus.DRAFT:
        raise ValidationError(_("Only draft orders can be deleted; cancel it instead."))
    quote_id = order.quote_id
    crud.record_delete(entity_key=ORDER, actor=actor, instance=order)
    if quote_id:
        quote = Quote.objects.get(pk=quote_id)
        if quote.status == QuoteStatus.ACCEPTED:
            _quote_set_status(quote, quote.previous_status or QuoteStatus.SENT, note="order deleted", accepted_at=None)
