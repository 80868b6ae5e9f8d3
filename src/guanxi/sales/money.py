"""Money arithmetic of the sales app: Decimal only, rounded half up to cents."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def to_decimal(value, default: Decimal | None = None) -> Decimal | None:
    if value is None or value == "":
        return default
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return default


def money(value) -> Decimal:
    """``value`` rounded half up to cents (2.675 → 2.68)."""
    return to_decimal(value, Decimal(0)).quantize(CENT, rounding=ROUND_HALF_UP)


def line_total(quantity, unit_price, discount_percent=0) -> Decimal:
    """quantity × unit price less the discount, rounded once at the end."""
    quantity = to_decimal(quantity, Decimal(0))
    unit_price = to_decimal(unit_price, Decimal(0))
    discount = to_decimal(discount_percent, Decimal(0))
    return money(quantity * unit_price * (HUNDRED - discount) / HUNDRED)


def weighted(amount, probability) -> Decimal:
    return money(to_decimal(amount, Decimal(0)) * Decimal(int(probability or 0)) / HUNDRED)
