"""Spam protection of the public web-to-lead forms: a signed time token, a honeypot and a per-IP
rate limit (the cache). The page itself is in ``views_public``; the lead is created by
``lead_services.webform_submit``."""

from __future__ import annotations

import time

from django.core import signing
from django.core.cache import cache

SALT = "guanxi.sales.web-to-lead"
HONEYPOT = "homepage"  # a field people never see; bots fill it in
MIN_FILL_SECONDS = 3  # faster than this is a script
TOKEN_MAX_AGE = 60 * 60 * 24  # a page left open for a day must be reloaded
RATE_LIMIT = 10  # posts per IP and form …
RATE_WINDOW = 60 * 10  # … in ten minutes


def make_token(form_id: int, now: float | None = None) -> str:
    return signing.dumps({"f": form_id, "t": int(now if now is not None else time.time())}, salt=SALT, compress=True)


class TokenError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # "invalid" | "expired" | "too_fast"


def check_token(token: str, form_id: int, now: float | None = None) -> None:
    """Raise ``TokenError`` unless ``token`` was issued for this form long enough ago (and not too long)."""
    now = now if now is not None else time.time()
    try:
        data = signing.loads(token or "", salt=SALT, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        raise TokenError("expired")
    except signing.BadSignature:
        raise TokenError("invalid")
    if not isinstance(data, dict) or data.get("f") != form_id:
        raise TokenError("invalid")
    if now - int(data.get("t", 0)) < MIN_FILL_SECONDS:
        raise TokenError("too_fast")


def rate_limited(form_id: int, ip: str | None) -> bool:
    """Count a post from ``ip``; True when it is over the limit for the window."""
    key = f"guanxi:w2l:{form_id}:{ip or 'unknown'}"
    if cache.add(key, 1, RATE_WINDOW):
        return False
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, RATE_WINDOW)
        return False
    return count > RATE_LIMIT
