"""Money arithmetic of quotes and orders: the one place amounts, discounts, taxes and totals are computed.

The rule (the same for the live totals of the line editor, saving, the PDF and the API):

1. Every value is a ``Decimal``; nothing goes through ``float``.
2. Per line, each amount is rounded **half up to cents** (``ROUND_HALF_UP``, 0.01) as soon as it
   is computed, in this order:

   * gross    = round(quantity × unit price)
   * discount = round(gross × line discount %)                      (the line's own discount)
   * share    = round((gross − discount) × discount % on the total)  (the line's share of the
     document discount)
   * net      = gross − discount − share
   * tax      = round(net × tax rate %)                             (the rate of the product's
     tax class, kept on the line)
   * total    = net + tax

3. Document amounts are the **sums of the rounded line amounts**: subtotal = Σ gross,
   discounts = Σ (discount + share), net = Σ net, tax = Σ tax, total = Σ total. The tax
   breakdown groups the lines by rate (Σ net and Σ tax per rate). So the printed lines always
   add up to the printed totals, to the cent.

Example: 3 × 33.335 at 13 % → gross 100.005 → 100.01; tax 13.0013 → 13.00; total 113.01.
Two lines of 1 × 0.125 at 13 % → each 0.13 + 0.02 = 0.15, total 0.30 (rounding the sum instead
would give 0.28).

The overall (effective) discount of a document compares its net amount with the price-book
prices of its lines (Σ round(quantity × list price)); it is what the approval threshold checks,
together with the largest line discount and the discount on the total.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal(0)
MAX_QUANTITY = Decimal(10) ** 10
MAX_PRICE = Decimal(10) ** 9


def to_decimal(value, default: Decimal | None = ZERO) -> Decimal | None:
    """A Decimal from user input ("1,234.50", "", None, int, Decimal); ``default`` when empty/invalid."""
    if value is None:
        return default
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip().replace(",", "").replace(" ", "")
    if not text:
        return default
    try:
        result = Decimal(text)
    except InvalidOperation:
        return default
    return result if result.is_finite() else default


def cents(value: Decimal) -> Decimal:
    """Round half up to cents."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    return cents(amount * percent / HUNDRED)


@dataclass
class LineInput:
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal = ZERO
    tax_rate: Decimal = ZERO
    list_price: Decimal | None = None


@dataclass
class LineAmounts:
    gross: Decimal
    discount: Decimal  # the line's own discount
    document_discount: Decimal  # the line's share of the discount on the total
    net: Decimal
    tax: Decimal
    total: Decimal
    list_amount: Decimal  # quantity × price-book price, rounded (what the line would cost undiscounted)

    @property
    def discount_total(self) -> Decimal:
        return self.discount + self.document_discount


@dataclass
class TaxRow:
    rate: Decimal
    base: Decimal
    tax: Decimal


@dataclass
class DocumentAmounts:
    lines: list[LineAmounts]
    subtotal: Decimal = ZERO
    discount_total: Decimal = ZERO
    net_total: Decimal = ZERO
    tax_total: Decimal = ZERO
    total: Decimal = ZERO
    list_total: Decimal = ZERO
    taxes: list[TaxRow] = field(default_factory=list)
    max_line_discount_percent: Decimal = ZERO
    document_discount_percent: Decimal = ZERO

    @property
    def effective_discount_percent(self) -> Decimal:
        """How far below the price-book prices the net amount is, in percent (2 decimals)."""
        if self.list_total <= 0:
            return ZERO
        percent = (self.list_total - self.net_total) * HUNDRED / self.list_total
        return max(ZERO, cents(percent))

    @property
    def highest_discount_percent(self) -> Decimal:
        """The discount the approval threshold is compared with."""
        return max(self.max_line_discount_percent, self.document_discount_percent, self.effective_discount_percent)


def compute_line(line: LineInput, document_discount_percent: Decimal = ZERO) -> LineAmounts:
    gross = cents(line.quantity * line.unit_price)
    discount = percent_of(gross, line.discount_percent)
    share = percent_of(gross - discount, document_discount_percent)
    net = gross - discount - share
    tax = percent_of(net, line.tax_rate)
    list_price = line.list_price if line.list_price is not None else line.unit_price
    list_amount = max(cents(line.quantity * list_price), gross)
    return LineAmounts(
        gross=gross,
        discount=discount,
        document_discount=share,
        net=net,
        tax=tax,
        total=net + tax,
        list_amount=list_amount,
    )


def compute_document(lines: Iterable[LineInput], discount_percent: Decimal = ZERO) -> DocumentAmounts:
    """Amounts of every line and of the document, by the rule in this module's docstring."""
    lines = list(lines)
    discount_percent = discount_percent or ZERO
    amounts = [compute_line(line, discount_percent) for line in lines]
    doc = DocumentAmounts(lines=amounts, document_discount_percent=discount_percent)
    taxes: dict[Decimal, TaxRow] = {}
    for line, a in zip(lines, amounts, strict=True):
        doc.subtotal += a.gross
        doc.discount_total += a.discount_total
        doc.net_total += a.net
        doc.tax_total += a.tax
        doc.total += a.total
        doc.list_total += a.list_amount
        rate = line.tax_rate.normalize() if line.tax_rate else ZERO
        row = taxes.setdefault(rate, TaxRow(rate=rate, base=ZERO, tax=ZERO))
        row.base += a.net
        row.tax += a.tax
        doc.max_line_discount_percent = max(doc.max_line_discount_percent, line.discount_percent or ZERO)
    doc.taxes = [taxes[r] for r in sorted(taxes, reverse=True)]
    return doc


def validate_line_values(*, quantity, unit_price, discount_percent, tax_rate) -> dict[str, str]:
    """Field name → problem for values a line may not have (shared by services and the editor)."""
    from django.utils.translation import gettext as _

    errors = {}
    if quantity is None or quantity <= 0:
        errors["quantity"] = _("The quantity must be more than 0.")
    elif quantity.normalize().as_tuple().exponent < -3 or quantity >= MAX_QUANTITY:
        errors["quantity"] = _("At most 3 decimal places and less than 10 billion.")
    if unit_price is None or unit_price < 0:
        errors["unit_price"] = _("The price cannot be negative.")
    elif unit_price.normalize().as_tuple().exponent < -4 or unit_price >= MAX_PRICE:
        errors["unit_price"] = _("At most 4 decimal places and less than 1 billion.")
    if discount_percent is None or not (ZERO <= discount_percent <= HUNDRED):
        errors["discount_percent"] = _("A discount is between 0 and 100 %.")
    if tax_rate is None or not (ZERO <= tax_rate <= HUNDRED):
        errors["tax_rate"] = _("A tax rate is between 0 and 100 %.")
    return errors
