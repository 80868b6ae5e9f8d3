"""Finding likely duplicates among a tenant's accounts and contacts, without comparing all pairs.

Candidates come from blocks of records sharing a key:
  * the same normalised email or phone (``ContactPoint`` values are lower-case / E.164),
  * the same website domain (accounts),
  * names: within a block (contacts: the same account, or the same city; accounts: the whole
    tenant) records are sorted by their normalised name and each is compared with its
    ``WINDOW`` next neighbours only (sorted neighbourhood), so comparisons grow linearly.
Blocks larger than ``MAX_BLOCK`` records (a switchboard number, info@…, a very common name in
a big city) say little about any one pair and are skipped; the counts are reported.

Names are compared with rapidfuzz's ``ratio`` on normalised strings (NFKC, case-folded,
without spaces and punctuation; accounts also without legal-form suffixes such as 有限公司 or
"Co., Ltd" and a leading "…市" / "…省"). Chinese names are compared as strings.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.db.models import Count
from django.db.models.functions import Lower
from rapidfuzz import fuzz

from guanxi.customers.models import Account, Contact, ContactPoint

ACCOUNT = "customers.account"
CONTACT = "customers.contact"
ENTITIES = (ACCOUNT, CONTACT)

WINDOW = 8  # neighbours each record is compared with in a sorted block
MAX_BLOCK = 50  # records sharing one key (email, phone, domain, identical name) beyond which it is skipped
CONTACT_NAME_MIN = 88  # rapidfuzz ratio
ACCOUNT_NAME_MIN = 90

# Score (0–100) a single reason gives; several reasons combine as independent evidence.
SCORES = {
    "email": 95,
    "phone": 90,
    "website": 85,
}
NAME_WEIGHT = {"name": 0.9, "name_same_account": 0.85, "name_same_city": 0.75}

_SEPARATORS = re.compile(r"[\W_]+", re.UNICODE)
LEGAL_TOKENS = {
    "co",
    "company",
    "corp",
    "corporation",
    "inc",
    "incorporated",
    "ltd",
    "limited",
    "llc",
    "llp",
    "plc",
    "gmbh",
    "ag",
    "kg",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "oy",
    "ab",
    "pte",
    "pty",
    "kk",
    "group",
}
CJK_SUFFIXES = sorted(
    ["股份有限公司", "有限责任公司", "有限公司", "集团有限公司", "集团股份有限公司", "集团", "公司"],
    key=len,
    reverse=True,
)
_CJK_PLACE_PREFIX = re.compile(r"^[\u4e00-\u9fff]{2,4}?[省市]")


def normalize_text(text: str) -> str:
    """NFKC, case-folded, without spaces and punctuation ("Li, Wei" → "liwei", "王 伟" → "王伟")."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or "").casefold())


def normalize_person(family: str, given: str) -> str:
    return normalize_text(f"{family or ''} {given or ''}")


def normalize_company(name: str) -> str:
    """A company name without legal form and place prefix: "深圳市腾飞电子有限公司" → "腾飞电子", "ACME Co., Ltd." → "acme"."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    tokens = _SEPARATORS.sub(" ", text).split()
    while len(tokens) > 1 and tokens[-1] in LEGAL_TOKENS:
        tokens.pop()
    text = "".join(tokens)
    changed = True
    while changed:
        changed = False
        for suffix in CJK_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix) + 1:
                text = text[: -len(suffix)]
                changed = True
                break
    match = _CJK_PLACE_PREFIX.match(text)
    if match and len(text) - match.end() >= 2:
        text = text[match.end() :]
    return text


def website_domain(url: str) -> str:
    """ "https://www.Example.com/about" → "example.com"."""
    url = (url or "").strip().lower()
    if not url:
        return ""
    if "//" not in url:
        url = "//" + url
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    if host.startswith("www."):
        host = host[4:]
    return host if "." in host else ""


# --- collecting pairs ------------------------------------------------------------------------


@dataclass
class Detection:
    """Pairs found for one entity, with reasons; and how much work finding them took."""

    entity: str
    pairs: dict[tuple[int, int], dict] = field(default_factory=dict)  # (a, b) → {kind: reason}
    comparisons: int = 0
    skipped_blocks: int = 0

    def add(self, a: int, b: int, kind: str, **reason) -> None:
        if a == b:
            return
        key = (a, b) if a < b else (b, a)
        reasons = self.pairs.setdefault(key, {})
        previous = reasons.get(kind)
        if previous is None or reason.get("similarity", 100) > previous.get("similarity", 100):
            reasons[kind] = {"kind": kind, **reason}

    def scored(self) -> dict[tuple[int, int], tuple[int, list[dict]]]:
        """(a, b) → (score, reasons sorted by strength)."""
        result = {}
        for key, reasons in self.pairs.items():
            strengths = sorted(((reason_score(r), r) for r in reasons.values()), key=lambda x: -x[0])
            miss = math.prod(1 - s / 100 for s, _r in strengths)
            result[key] = (min(100, round(100 * (1 - miss))), [r for _s, r in strengths])
        return result

    @property
    def stats(self) -> dict:
        return {"pairs": len(self.pairs), "comparisons": self.comparisons, "skipped_blocks": self.skipped_blocks}


def reason_score(reason: dict) -> int:
    kind = reason["kind"]
    if kind in NAME_WEIGHT:
        return round(reason.get("similarity", 100) * NAME_WEIGHT[kind])
    return SCORES.get(kind, 50)


def _pairs_in_key_blocks(det: Detection, rows: Iterable[tuple[str, int]], kind: str) -> None:
    """``rows`` are (key, record id) ordered by key: every two records sharing a key are a pair."""
    for key, group in itertools.groupby(rows, key=lambda r: r[0]):
        ids = sorted({rid for _k, rid in group})
        if len(ids) < 2:
            continue
        if len(ids) > MAX_BLOCK:
            det.skipped_blocks += 1
            continue
        for a, b in itertools.combinations(ids, 2):
            det.comparisons += 1
            det.add(a, b, kind, value=key)


def _shared_points(owner: str, kind: str) -> Iterator[tuple[str, int]]:
    """(value, owner id) of the emails or phones that more than one account / contact has, by value."""
    base = ContactPoint.objects.filter(kind=kind, **{f"{owner}__isnull": False})
    shared = base.values("value").annotate(n=Count(f"{owner}_id", distinct=True)).filter(n__gt=1).values("value")
    rows = base.filter(value__in=shared).order_by("value", f"{owner}_id").values_list("value", f"{owner}_id")
    return rows.iterator(chunk_size=5000)


def _sorted_neighbourhood(det: Detection, block: list[tuple[str, int]], kind: str, minimum: int, **extra) -> None:
    """Compare each record of a block with its ``WINDOW`` next neighbours in normalised-name order."""
    block = sorted((k, i) for k, i in block if k)
    # Runs of one identical name longer than MAX_BLOCK are too common to mean anything.
    skip: set[int] = set()
    for _key, run in itertools.groupby(range(len(block)), key=lambda n: block[n][0]):
        run = list(run)
        if len(run) > MAX_BLOCK:
            skip.update(run)
            det.skipped_blocks += 1
    for n, (key, rid) in enumerate(block):
        if n in skip:
            continue
        for m in range(n + 1, min(n + 1 + WINDOW, len(block))):
            if m in skip:
                continue
            other_key, other_id = block[m]
            det.comparisons += 1
            similarity = 100.0 if key == other_key else fuzz.ratio(key, other_key, score_cutoff=minimum)
            if similarity >= minimum:
                det.add(rid, other_id, kind, similarity=round(similarity), **extra)


def _blocks_by(rows: Iterable[tuple], key_index: int) -> Iterator[tuple[object, list[tuple]]]:
    for key, group in itertools.groupby(rows, key=lambda r: r[key_index]):
        yield key, list(group)


# --- per entity ----------------------------------------------------------------------------


def detect_contacts() -> Detection:
    det = Detection(CONTACT)
    _pairs_in_key_blocks(det, _shared_points("contact", ContactPoint.Kind.EMAIL), "email")
    _pairs_in_key_blocks(det, _shared_points("contact", ContactPoint.Kind.PHONE), "phone")

    by_account = (
        Contact.objects.filter(account__isnull=False)
        .order_by("account_id", "id")
        .values_list("account_id", "id", "family_name", "given_name", "account__name")
        .iterator(chunk_size=5000)
    )
    for _account_id, rows in _blocks_by(by_account, 0):
        if len(rows) > 1:
            block = [(normalize_person(f, g), rid) for _a, rid, f, g, _n in rows]
            _sorted_neighbourhood(det, block, "name_same_account", CONTACT_NAME_MIN, value=rows[0][4])

    by_city = (
        Contact.objects.exclude(city="")
        .annotate(city_key=Lower("city"))
        .order_by("city_key", "id")
        .values_list("city_key", "id", "family_name", "given_name", "city")
        .iterator(chunk_size=5000)
    )
    for _city, rows in _blocks_by(by_city, 0):
        if len(rows) > 1:
            block = [(normalize_person(f, g), rid) for _c, rid, f, g, _city in rows]
            _sorted_neighbourhood(det, block, "name_same_city", CONTACT_NAME_MIN, value=rows[0][4])
    return det


def detect_accounts() -> Detection:
    det = Detection(ACCOUNT)
    _pairs_in_key_blocks(det, _shared_points("account", ContactPoint.Kind.EMAIL), "email")
    _pairs_in_key_blocks(det, _shared_points("account", ContactPoint.Kind.PHONE), "phone")

    domains: dict[str, list[int]] = {}
    for rid, url in Account.objects.exclude(website="").values_list("id", "website").iterator(chunk_size=5000):
        domain = website_domain(url)
        if domain:
            domains.setdefault(domain, []).append(rid)
    _pairs_in_key_blocks(
        det, ((d, rid) for d in sorted(domains) if len(domains[d]) > 1 for rid in domains[d]), "website"
    )
    del domains

    names = [
        (normalize_company(name), rid)
        for rid, name in Account.objects.values_list("id", "name").iterator(chunk_size=5000)
    ]
    _sorted_neighbourhood(det, names, "name", ACCOUNT_NAME_MIN)
    return det


DETECTORS = {ACCOUNT: detect_accounts, CONTACT: detect_contacts}


def detect(entity_key: str) -> Detection:
    return DETECTORS[entity_key]()
