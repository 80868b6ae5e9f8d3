"""Value transforms of imported cells: dates, numbers, booleans, choices, names, lists, headers.

Each parser takes a cell as read from the file (text, or a number / date from XLSX) and
returns the canonical value, or raises ``ValidationError`` with a message for the user.
"""

from __future__ import annotations

import datetime
import decimal
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

EXCEL_EPOCH = datetime.date(1899, 12, 30)
TRUE_WORDS = {"1", "true", "yes", "y", "on", "x", "✓", "✔", "是", "对", "有", "同意", "真", "t", "ja", "oui", "si"}
FALSE_WORDS = {"0", "false", "no", "n", "off", "否", "不", "错", "无", "没有", "不同意", "假", "f", "nein", "non", "-"}
LIST_SEPARATORS = re.compile(r"[,;，；、|\n]+")
PUNCTUATION = re.compile(r"[\s_\-–—.,;:/\\()\[\]{}<>'\"`*#@!?&+，。；：、（）【】《》“”‘’？！·]+")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
COMPOUND_SURNAMES = {
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯",
    "轩辕", "令狐", "端木", "南宫", "独孤", "西门", "澹台", "公冶", "宗政", "濮阳", "淳于", "单于", "太叔",
    "申屠", "钟离", "闻人", "赫连", "呼延", "百里", "东郭", "南门", "万俟", "司空", "拓跋", "歐陽", "諸葛",
}  # fmt: skip


def norm(text) -> str:
    """A header or choice label reduced for matching: width, case, spaces and punctuation ignored."""
    text = unicodedata.normalize("NFKC", str(text or "")).casefold()
    return PUNCTUATION.sub("", text)


def is_empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value) -> str:
    from .readers import cell_text

    return cell_text(value).strip()


# --- dates --------------------------------------------------------------------------------------

_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")
_DMY = re.compile(r"^(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4})(?:[ T].*)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def excel_serial_to_date(number) -> datetime.date:
    number = float(number)
    if not 1 <= number < 2958466:
        raise ValidationError(_("“%(value)s” is not a date.") % {"value": number})
    if number < 61:  # Excel's phantom 29 February 1900
        number += 1
    return EXCEL_EPOCH + datetime.timedelta(days=int(number))


def parse_date(value, *, day_first: bool = False) -> datetime.date:
    """2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日, 20240305, 05.03.2024, 3/5/2024, Excel serials."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
        return excel_serial_to_date(value)
    raw = str(value).strip()
    try:
        m = _YMD.match(raw)
        if m:
            return datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = _COMPACT.match(raw)
        if m:
            return datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = _DMY.match(raw)
        if m:
            a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
            dotted = "." in raw
            if dotted or day_first or a > 12:
                day, month = a, b
            else:
                month, day = a, b
            return datetime.date(year, month, day)
    except ValueError:
        raise ValidationError(_("“%(value)s” is not a valid date.") % {"value": raw})
    if re.fullmatch(r"\d{5}(?:\.0+)?", raw):
        return excel_serial_to_date(float(raw))
    try:
        from dateutil import parser

        return parser.parse(raw, dayfirst=day_first).date()
    except (ValueError, OverflowError):
        raise ValidationError(_("“%(value)s” is not a valid date.") % {"value": raw})


# --- numbers, booleans, lists -------------------------------------------------------------------

_MULTIPLIERS = {"万": decimal.Decimal(10_000), "亿": decimal.Decimal(100_000_000), "k": decimal.Decimal(1000)}


def parse_decimal(value) -> decimal.Decimal:
    if isinstance(value, (int, decimal.Decimal)) and not isinstance(value, bool):
        return decimal.Decimal(value)
    if isinstance(value, float):
        return decimal.Decimal(repr(value))
    raw = unicodedata.normalize("NFKC", str(value)).strip()
    cleaned = re.sub(r"[\s'¥$€£]|元|RMB|CNY|USD|EUR", "", raw, flags=re.IGNORECASE)
    cleaned = _separators(cleaned)
    factor = decimal.Decimal(1)
    if cleaned[-1:].lower() in _MULTIPLIERS:
        factor = _MULTIPLIERS[cleaned[-1:].lower()]
        cleaned = cleaned[:-1]
    try:
        number = decimal.Decimal(cleaned) * factor
    except decimal.InvalidOperation:
        raise ValidationError(_("“%(value)s” is not a number.") % {"value": raw})
    if not number.is_finite():
        raise ValidationError(_("“%(value)s” is not a number.") % {"value": raw})
    return number


def _separators(text: str) -> str:
    """1,234.5 / 1.234,5 / 1.200.000 / 250,000 / 12,5 → a plain decimal string."""
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        decimal_mark = "." if text.rfind(".") > text.rfind(",") else ","
        thousands = "," if decimal_mark == "." else "."
        return text.replace(thousands, "").replace(decimal_mark, ".")
    if commas:
        if commas > 1 or re.search(r",\d{3}$", text):
            return text.replace(",", "")
        return text.replace(",", ".")
    if dots > 1:
        return text.replace(".", "")
    return text


def parse_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    word = str(value).strip().casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValidationError(_("“%(value)s” is not yes or no.") % {"value": value})


def split_list(value) -> list[str]:
    return [part.strip() for part in LIST_SEPARATORS.split(text(value)) if part.strip()]


# --- choices --------------------------------------------------------------------------------------


def choice_lookup(choices, aliases: dict | None = None) -> dict[str, str]:
    """{normalised value / English label / Chinese label / alias: stored value}."""
    from django.utils import translation

    lookup: dict[str, str] = {}
    for value, label in choices:
        if value in ("", None):
            continue
        lookup[norm(value)] = value
        for language in ("en", "zh-hans"):
            with translation.override(language):
                lookup.setdefault(norm(str(label)), value)
    for alias, value in (aliases or {}).items():
        lookup.setdefault(norm(alias), value)
    return lookup


def parse_choice(value, lookup: dict[str, str]) -> str:
    found = lookup.get(norm(text(value)))
    if found is None:
        raise ValidationError(_("“%(value)s” is not one of the choices.") % {"value": text(value)})
    return found


# --- names ----------------------------------------------------------------------------------------


def split_name(full: str) -> tuple[str, str]:
    """A full name → (family, given): 王伟 → (王, 伟), 欧阳娜娜 → (欧阳, 娜娜), John Smith → (Smith, John)."""
    name = re.sub(r"\s+", " ", (full or "").strip())
    if not name:
        return "", ""
    if CJK.search(name) and " " not in name:
        if "·" in name or "•" in name:  # transliterated foreign names: 约翰·史密斯
            parts = re.split(r"[·•]", name)
            return parts[-1], "·".join(parts[:-1])
        if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES:
            return name[:2], name[2:]
        if len(name) == 1:
            return name, ""
        return name[0], name[1:]
    if "," in name:
        family, _comma, given = name.partition(",")
        return family.strip(), given.strip()
    parts = name.split(" ")
    if len(parts) == 1:
        return "", parts[0]
    if CJK.search(name):  # 王 伟
        return parts[0], "".join(parts[1:])
    return parts[-1], " ".join(parts[:-1])
