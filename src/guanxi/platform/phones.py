"""Phone numbers: parsed and stored in E.164 so search and de-duplication can match them."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Return the E.164 form of ``raw`` (e.g. "138 0013 8000" → "+8613800138000").

    Raises ``ValidationError`` for text that is not a possible phone number.
    """
    text = (raw or "").strip()
    if not text:
        raise ValidationError(_("Enter a phone number."))
    try:
        number = phonenumbers.parse(text, region or settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError(_("“%(value)s” is not a phone number.") % {"value": text})
    if not phonenumbers.is_possible_number(number):
        raise ValidationError(_("“%(value)s” is not a phone number.") % {"value": text})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """Human-friendly form: national format for the default region, international otherwise."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    region = phonenumbers.region_code_for_number(number)
    if region == settings.PHONE_DEFAULT_REGION:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_digits(text: str) -> str:
    """Digits of a search fragment, to match against stored E.164 numbers."""
    return "".join(ch for ch in text if ch.isdigit())
