"""Money and number formatting for commerce pages and the quote PDF (``{% load commerce %}``)."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def money(value, currency=""):
    """``1234.5`` → ``1,234.50 CNY`` (two decimals, grouped; empty for None)."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(value)
    except (ArithmeticError, TypeError, ValueError):
        return str(value)
    text = f"{amount:,.2f}"
    return f"{text} {currency}".strip() if currency else text


@register.filter
def num(value):
    """A Decimal without trailing zeros for inputs and quantities: ``3.000`` → ``3``, ``33.3350`` → ``33.335``."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(value)
    except (ArithmeticError, TypeError, ValueError):
        return str(value)
    if amount == amount.to_integral():
        return f"{amount.quantize(Decimal(1)):f}"
    return f"{amount.normalize():f}"


@register.filter
def price(value):
    """A unit price with at least two decimals (up to four): ``33.3350`` → ``33.335``, ``5`` → ``5.00``."""
    if value is None or value == "":
        return ""
    amount = Decimal(value)
    text = f"{amount.normalize():f}"
    if "." not in text:
        return f"{amount:,.2f}"
    decimals = len(text.split(".")[1])
    return f"{amount:,.{max(2, decimals)}f}"


@register.filter
def percent(value):
    if value is None or value == "":
        return ""
    return f"{num(value)} %"


@register.filter
def css_string(value):
    """Text safe inside a double-quoted CSS string (``content: "…"``): special characters as CSS escapes."""
    from django.utils.safestring import mark_safe

    out = []
    for char in str(value):
        if char in "\"\\<>&{};'" or ord(char) < 32:
            out.append(f"\\{ord(char):x} ")
        else:
            out.append(char)
    return mark_safe("".join(out))
