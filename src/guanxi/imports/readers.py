"""Reading uploaded files row by row: CSV (any common encoding and delimiter), XLSX, vCard.

Nothing here loads a whole file: CSV is decoded through a stream, XLSX is read with
openpyxl's ``read_only`` mode, vCard is parsed card by card. Every reader yields
``(row_number, cells)`` where ``row_number`` is what a person sees in a spreadsheet (the
header is row 1) or the card's position in a vCard file.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime
import io
import os
import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

csv.field_size_limit(10 * 1024 * 1024)

DELIMITERS = [",", ";", "\t", "|"]
ENCODINGS = [
    ("utf-8", "UTF-8"),
    ("utf-8-sig", "UTF-8 (BOM)"),
    ("gb18030", "GBK / GB18030"),
    ("big5", "Big5"),
    ("utf-16", "UTF-16"),
    ("utf-16-le", "UTF-16 LE"),
    ("utf-16-be", "UTF-16 BE"),
    ("shift_jis", "Shift-JIS"),
    ("cp1252", "Windows-1252"),
    ("latin-1", "ISO-8859-1"),
]
SAMPLE = 256 * 1024
BLOCK = 64 * 1024

# The most frequent characters of simplified and traditional Chinese business text: decoding
# a sample both ways and counting them tells GBK from Big5 (and from Latin text mis-decoded).
COMMON_SIMPLIFIED = set(
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年公司限责任省市区县路号街道电话手机邮箱名称姓客户经理"
    "部门北京上海广州深圳杭州南天津重庆成都武汉西安王李张刘陈杨黄赵周吴徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾"
    "科技术业务销售集团股份有份发展贸易实工程服务总监主管员新华东南江苏浙山建设信息网络软件数据产品管理中心"
)
COMMON_TRADITIONAL = set(
    "的一是不了人我在有他這中大來上國個到說們為子和你地出道也時年公司限責任省市區縣路號街道電話手機郵箱名稱姓客戶經理"
    "部門北京上海廣州深圳台灣香港高雄王李張劉陳楊黃趙周吳徐孫馬朱胡郭何林羅鄭梁謝宋唐許韓馮鄧曹彭曾"
    "科技術業務銷售集團股份有發展貿易實工程服務總監主管員新華東南江蘇浙山建設資訊網路軟體數據產品管理中心"
)
CJK = re.compile(r"[\u3400-\u9fff]")


class FileProblem(ValueError):
    """The file cannot be read as the chosen format; the message is for the user."""


# --- detection ----------------------------------------------------------------------------------


def detect_format(name: str, head: bytes) -> str:
    lower = (name or "").lower()
    if head.startswith(b"PK\x03\x04") or lower.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if lower.endswith((".vcf", ".vcard")):
        return "vcard"
    probe = head[:4096]
    for enc in ("utf-8", "utf-16", "gb18030"):
        try:
            text = probe.decode(enc, errors="ignore")
        except LookupError:  # pragma: no cover
            continue
        if "BEGIN:VCARD" in text.upper()[:2000]:
            return "vcard"
    if lower.endswith(".xls"):
        raise FileProblem(_("Old Excel files (.xls) cannot be read; save the file as .xlsx or CSV."))
    return "csv"


def _samples(f) -> list[bytes]:
    """The start of the file and a few blocks further in (an all-ASCII start proves little)."""
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(0)
    blocks = [f.read(SAMPLE)]
    if size > SAMPLE + BLOCK:
        for fraction in (0.33, 0.66, 1.0):
            f.seek(max(SAMPLE, int(size * fraction) - BLOCK))
            blocks.append(f.read(BLOCK))
    f.seek(0)
    return blocks


def _decodes(blocks: list[bytes], encoding: str) -> str | None:
    """Decoded text of the blocks if every one decodes, else None.

    Blocks after the first start at an arbitrary byte, perhaps inside a multi-byte
    character: up to three leading bytes may be dropped to find a character boundary.
    """
    parts = []
    for i, block in enumerate(blocks):
        for skip in range(4 if i else 1):
            decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
            try:
                parts.append(decoder.decode(block[skip:], final=False))
                break
            except UnicodeDecodeError:
                continue
        else:
            return None
    return "\n".join(parts)


def _common_ratio(text: str, common: set) -> float:
    chars = CJK.findall(text)
    if not chars:
        return 0.0
    return sum(1 for c in chars if c in common) / len(chars)


def detect_encoding(f) -> str:
    """The encoding of a text file: BOMs first, then UTF-8, then the Chinese legacy encodings."""
    f.seek(0)
    head = f.read(4)
    f.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    blocks = _samples(f)
    start = blocks[0][:4096]
    if len(start) >= 8:
        odd_nuls = start[1::2].count(0)
        even_nuls = start[0::2].count(0)
        half = len(start) // 2
        if odd_nuls > half * 0.3 and even_nuls < half * 0.05:
            return "utf-16-le"
        if even_nuls > half * 0.3 and odd_nuls < half * 0.05:
            return "utf-16-be"
    if _decodes(blocks, "utf-8") is not None:
        return "utf-8"
    scores = []
    gb = _decodes(blocks, "gb18030")
    if gb is not None:
        scores.append((_common_ratio(gb, COMMON_SIMPLIFIED), 2, "gb18030"))
    big5 = _decodes(blocks, "big5")
    if big5 is not None:
        scores.append((_common_ratio(big5, COMMON_TRADITIONAL), 1, "big5"))
    scores.sort(reverse=True)
    if scores and scores[0][0] >= 0.08:
        return scores[0][2]
    if gb is not None and _common_ratio(gb, COMMON_SIMPLIFIED) >= 0.02:
        return "gb18030"  # Chinese text with rare words; Latin text read as GBK hits almost none
    return "cp1252"


def detect_delimiter(text: str) -> str:
    lines = text.splitlines()[:50]
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may end inside a row
    best, best_score = ",", (-1, 0)
    for delimiter in DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter) if any(c.strip() for c in row)]
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        score = (counts.count(mode), mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def sniff(f, name: str) -> dict:
    """Format, encoding and delimiter of an uploaded file (``f`` opened in binary mode)."""
    f.seek(0)
    head = f.read(8192)
    f.seek(0)
    fmt = detect_format(name, head)
    info = {"format": fmt, "encoding": "", "delimiter": "", "sheet": ""}
    if fmt == "csv":
        info["encoding"] = detect_encoding(f)
        f.seek(0)
        sample = f.read(SAMPLE)
        f.seek(0)
        text = codecs.getincrementaldecoder(info["encoding"])(errors="replace").decode(sample, final=False)
        info["delimiter"] = detect_delimiter(text.lstrip("\ufeff"))
    elif fmt == "vcard":
        info["encoding"] = detect_encoding(f)
    return info


# --- cell values ------------------------------------------------------------------------------


def cell_text(value) -> str:
    """How a cell reads to a person (and in the error file)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ") if value.time() != datetime.time(0) else value.date().isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def _xlsx_value(value):
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, str):
        return value.strip()
    return value


# --- sources ----------------------------------------------------------------------------------


@dataclass
class Source:
    """An opened file: its header and its data rows."""

    header: list[str]
    header_row: int
    _rows: Iterator[tuple[int, list]]
    _closers: list = field(default_factory=list)

    def rows(self, after: int = 0) -> Iterator[tuple[int, list]]:
        """Data rows with a row number above ``after`` (resuming skips the rows done)."""
        width = len(self.header)
        for number, cells in self._rows:
            if number <= after:
                continue
            if not any(c not in (None, "") and (not isinstance(c, str) or c.strip()) for c in cells):
                continue  # blank rows (Excel leaves many) are not data
            if len(cells) < width:
                cells = list(cells) + [""] * (width - len(cells))
            yield number, list(cells)

    def close(self) -> None:
        for closer in self._closers:
            with contextlib.suppress(Exception):  # closing a read-only file cannot lose data
                closer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _dedupe_header(cells: list) -> list[str]:
    names, seen = [], {}
    for i, cell in enumerate(cells):
        name = cell_text(cell).strip().lstrip("\ufeff") or _("Column %(n)s") % {"n": i + 1}
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        names.append(name)
    return names


def _first_row(rows: Iterator[tuple[int, list]]) -> tuple[int, list]:
    for number, cells in rows:
        if any(cell_text(c).strip() for c in cells):
            return number, cells
    raise FileProblem(_("The file has no rows."))


def open_csv(f, *, encoding: str, delimiter: str) -> Source:
    text = io.TextIOWrapper(f, encoding=encoding or "utf-8", errors="strict", newline="")
    reader = csv.reader(text, delimiter=delimiter or ",")

    def numbered():
        try:
            yield from enumerate(reader, start=1)
        except UnicodeDecodeError:
            raise FileProblem(
                _("The file cannot be read as %(encoding)s; choose its encoding.") % {"encoding": encoding}
            )
        except csv.Error as exc:
            raise FileProblem(_("The file is not valid CSV: %(error)s") % {"error": exc})

    rows = numbered()
    header_row, cells = _first_row(rows)
    if cells and isinstance(cells[0], str):
        cells[0] = cells[0].lstrip("\ufeff")
    return Source(header=_dedupe_header(cells), header_row=header_row, _rows=rows, _closers=[text.detach])


def xlsx_sheets(f) -> list[str]:
    from openpyxl import load_workbook

    wb = load_workbook(f, read_only=True, data_only=True)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def open_xlsx(f, *, sheet: str = "") -> Source:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(f, read_only=True, data_only=True)
    except Exception:
        raise FileProblem(_("The file is not a readable Excel (.xlsx) workbook."))
    ws = wb[sheet] if sheet and sheet in wb.sheetnames else wb.worksheets[0]

    def numbered():
        for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
            yield i, [_xlsx_value(v) for v in row]

    rows = numbered()
    try:
        header_row, cells = _first_row(rows)
    except FileProblem:
        wb.close()
        raise
    while cells and cells[-1] in (None, ""):
        cells = cells[:-1]
    return Source(header=_dedupe_header(cells), header_row=header_row, _rows=rows, _closers=[wb.close])


# --- vCard ------------------------------------------------------------------------------------

VCARD_COLUMNS = [
    "Full name",
    "Family name",
    "Given name",
    "Company",
    "Department",
    "Job title",
    "Email",
    "Other emails",
    "Mobile",
    "Work phone",
    "Other phones",
    "Birthday",
    "Notes",
    "Street",
    "City",
    "Province",
    "Postal code",
    "Country",
    "Website",
    "Tags",
]
_ESCAPES = {"n": "\n", "N": "\n", ",": ",", ";": ";", "\\": "\\", ":": ":"}


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text)


def _split_structured(text: str, sep: str = ";") -> list[str]:
    parts, current, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append(_unescape("".join(current)))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append(_unescape("".join(current)))
    return parts


def _split_property(line: str) -> tuple[str, dict[str, list[str]], str] | None:
    """``[group.]NAME;PARAM=a,b;BARE:value`` → (NAME, {PARAM: [a, b], TYPE: [bare…]}, value)."""
    in_quotes, colon = False, -1
    for i, ch in enumerate(line):
        if ch == '"':
            in_quotes = not in_quotes
        elif ch == ":" and not in_quotes:
            colon = i
            break
    if colon < 0:
        return None
    head, value = line[:colon], line[colon + 1 :]
    parts = re.findall(r'(?:[^;"]|"[^"]*")+', head)
    if not parts:
        return None
    name = parts[0].split(".")[-1].strip().upper()
    params: dict[str, list[str]] = {}
    for part in parts[1:]:
        if "=" in part:
            key, _eq, raw = part.partition("=")
            values = [v.strip().strip('"') for v in re.findall(r'(?:[^,"]|"[^"]*")+', raw)]
            params.setdefault(key.strip().upper(), []).extend(values)
        else:
            params.setdefault("TYPE", []).append(part.strip())
    if "TYPE" in params:
        params["TYPE"] = [t.lower() for v in params["TYPE"] for t in v.split(",")]
    return name, params, value


def _decode_value(value: str, params: dict, file_encoding: str) -> str:
    if "QUOTED-PRINTABLE" in [v.upper() for v in params.get("ENCODING", [])]:
        raw = quopri.decodestring(value.encode("latin-1", errors="replace"))
        charset = (params.get("CHARSET") or ["utf-8"])[0]
        try:
            return raw.decode(charset, errors="replace")
        except LookupError:
            return raw.decode("utf-8", errors="replace")
    return value


def _logical_lines(text) -> Iterator[str]:
    """Unfold continuation lines (leading space or tab) and quoted-printable soft breaks."""
    pending = None
    for raw in text:
        line = raw.rstrip("\r\n")
        if pending is None:
            pending = line
            continue
        if line[:1] in (" ", "\t"):
            pending += line[1:]
        elif pending.endswith("=") and "QUOTED-PRINTABLE" in pending.split(":", 1)[0].upper():
            pending = pending[:-1] + line
        else:
            yield pending
            pending = line
    if pending is not None:
        yield pending


def _birthday(value: str) -> str:
    value = value.strip()
    m = re.fullmatch(r"(\d{4})-?(\d{2})-?(\d{2})(?:T.*)?", value)
    if m:
        return f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    return value


def _card_row(props: list[tuple[str, dict, str]], encoding: str) -> list[str]:
    row = dict.fromkeys(VCARD_COLUMNS, "")
    emails: list[tuple[bool, str]] = []
    mobiles: list[tuple[bool, str]] = []
    others: list[tuple[bool, str]] = []
    tags: list[str] = []
    for name, params, raw in props:
        value = _decode_value(raw, params, encoding)
        types = params.get("TYPE", [])
        pref = "pref" in types or bool(params.get("PREF"))
        if name == "FN":
            row["Full name"] = _unescape(value).strip()
        elif name == "N":
            parts = [*_split_structured(value), "", ""]
            row["Family name"], row["Given name"] = parts[0].strip(), parts[1].strip()
        elif name == "ORG":
            parts = [*_split_structured(value), ""]
            row["Company"], row["Department"] = parts[0].strip(), parts[1].strip()
        elif name == "TITLE":
            row["Job title"] = _unescape(value).strip()
        elif name == "EMAIL":
            emails.append((pref, _unescape(value).strip()))
        elif name == "TEL":
            number = _unescape(value).strip()
            if number.lower().startswith("tel:"):
                number = number[4:]
            number = number.split(";ext=")[0]
            (mobiles if "cell" in types or "mobile" in types else others).append((pref, number))
        elif name == "BDAY":
            row["Birthday"] = _birthday(value)
        elif name == "NOTE":
            row["Notes"] = _unescape(value).strip()
        elif name == "ADR" and not row["Street"] and not row["City"]:
            parts = [*_split_structured(value), "", "", "", "", "", "", ""]
            row["Street"] = " ".join(p.strip() for p in parts[:3] if p.strip())
            row["City"], row["Province"] = parts[3].strip(), parts[4].strip()
            row["Postal code"], row["Country"] = parts[5].strip(), parts[6].strip()
        elif name == "URL" and not row["Website"]:
            row["Website"] = _unescape(value).strip()
        elif name == "CATEGORIES":
            tags += [t.strip() for t in _split_structured(value, ",") if t.strip()]

    def ordered(items):
        return [v for _p, v in sorted(items, key=lambda item: not item[0]) if v]

    emails_, mobiles_, others_ = ordered(emails), ordered(mobiles), ordered(others)
    row["Email"], row["Other emails"] = (emails_[:1] or [""])[0], "; ".join(emails_[1:])
    row["Mobile"] = (mobiles_[:1] or [""])[0]
    row["Work phone"] = (others_[:1] or [""])[0]
    row["Other phones"] = "; ".join(mobiles_[1:] + others_[1:])
    row["Tags"] = ", ".join(dict.fromkeys(tags))
    if not row["Family name"] and not row["Given name"] and row["Full name"]:
        row["Family name"] = ""  # the name splitter of the contact spec takes the full name
    return [row[c] for c in VCARD_COLUMNS]


def open_vcard(f, *, encoding: str) -> Source:
    text = io.TextIOWrapper(f, encoding=encoding or "utf-8", errors="replace", newline="")

    def cards():
        number, props, inside = 0, [], False
        for line in _logical_lines(text):
            upper = line.strip().upper()
            if upper == "BEGIN:VCARD":
                inside, props = True, []
                continue
            if upper == "END:VCARD":
                if inside:
                    number += 1
                    yield number, _card_row(props, encoding)
                inside = False
                continue
            if inside and line.strip():
                parsed = _split_property(line)
                if parsed is not None:
                    props.append(parsed)

    return Source(header=list(VCARD_COLUMNS), header_row=0, _rows=cards(), _closers=[text.detach])


def open_source(f, *, format: str, encoding: str = "", delimiter: str = "", sheet: str = "") -> Source:
    """Open ``f`` (binary, seekable) as the given format."""
    f.seek(0)
    if format == "xlsx":
        return open_xlsx(f, sheet=sheet)
    if format == "vcard":
        return open_vcard(f, encoding=encoding)
    return open_csv(f, encoding=encoding, delimiter=delimiter)
