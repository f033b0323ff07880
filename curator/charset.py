"""Fetch stage helper: decode an HTML body to text before anything parses it.

Order (RELIABILITY.md rows 26–27): BOM → Content-Type charset → `<meta>` prescan of the first 64 KB
→ strict UTF-8 → strict GB18030 → UTF-8 / GB18030 with replacement when that leaves a tiny error rate
→ charset-normalizer → UTF-8 with replacement. A declared charset that fails strict decoding loses to
valid UTF-8 (servers often mis-declare), and is used with replacement when only a few bytes are bad. Chinese labels are
widened (gb2312/gbk → gb18030, big5 → big5hkscs) because pages labelled gb2312 routinely use GBK
characters, and a narrow codec turns them into U+FFFD.
"""

from __future__ import annotations

import codecs
import logging
import re

logger = logging.getLogger(__name__)

PRESCAN_BYTES = 64 * 1024

BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its BOM starts with FF FE too
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Codec names (as codecs.lookup spells them) widened to a superset that decodes the same bytes.
_WIDEN = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
    "cp950": "big5hkscs",
    "ascii": "cp1252",  # WHATWG: labels ascii/latin-1 mean windows-1252
    "latin_1": "cp1252",
    "iso8859-1": "cp1252",
}
_EXTRA_LABELS = {"x-gbk": "gbk", "x-gb2312": "gb2312", "gb_2312-80": "gb2312", "x-big5": "big5"}

_META_CHARSET = re.compile(rb"<meta[^>]+?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.IGNORECASE)


def normalize_label(label: str | None) -> str | None:
    """Python codec name for a charset label, widened to its superset; None when unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _EXTRA_LABELS.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    if name in {"utf-16", "utf-32"} or name.startswith(("utf-16", "utf-32")):
        return None  # a text-level meta tag cannot truthfully declare a UTF-16/32 body
    return _WIDEN.get(name, name)


def charset_from_header(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = _HEADER_CHARSET.search(content_type)
    return normalize_label(m.group(1)) if m else None


def charset_from_meta(body: bytes) -> str | None:
    """`<meta charset>` or `<meta http-equiv content="…; charset=…">` in the first 64 KB."""
    for m in _META_CHARSET.finditer(body[:PRESCAN_BYTES]):
        name = normalize_label(m.group(1).decode("ascii", "ignore"))
        if name:
            return name
    return None


def _strict(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


# A decoding with replacement is accepted when its U+FFFD count is tiny: at most this share of the
# non-ASCII characters (a wrong codec garbles far more: latin-1 bytes read as GB18030 fail on every
# accented letter) or of the whole text, and never fewer than NEARLY_MIN_ERRORS.
NEARLY_SHARE = 0.01
NEARLY_MIN_ERRORS = 2


def _nearly(body: bytes, encoding: str) -> str | None:
    """`body` decoded with replacement when that leaves only a tiny error rate, else None."""
    try:
        text = body.decode(encoding, "replace")
    except LookupError:
        return None
    errors = text.count("\ufffd")
    non_ascii = sum(1 for c in text if ord(c) > 127)
    allowed = max(NEARLY_MIN_ERRORS, int(NEARLY_SHARE * non_ascii), len(text) // 1000)
    return text if errors <= allowed else None


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode an HTML body; returns (text, codec name actually used)."""
    for bom, name in BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(name, "replace"), name

    declared = charset_from_header(content_type) or charset_from_meta(body)
    if declared:
        # Non-ASCII bytes that form valid UTF-8 are near-impossible by accident, so UTF-8 beats a
        # declaration (a latin-1 label would "decode" UTF-8 bytes strictly, into mojibake).
        if declared != "utf-8" and not body.isascii():
            text = _strict(body, "utf-8")
            if text is not None:
                return text, "utf-8"
        text = _strict(body, declared)
        if text is not None:
            return text, declared
        # A few bad bytes (truncated body, one stray character) don't make the declaration wrong.
        text = _nearly(body, declared)
        if text is not None:
            return text, declared
        logger.debug("declared charset %s fails strict decoding; trying fallbacks", declared)

    for candidate in ("utf-8", "gb18030"):
        text = _strict(body, candidate)
        if text is not None:
            return text, candidate
    # Undeclared and not strictly valid: one bad byte in a UTF-8 or GBK page is far likelier than a
    # charset the detector guesses from a few KB (it picks Cyrillic code pages for GBK text).
    for candidate in ("utf-8", "gb18030"):
        text = _nearly(body, candidate)
        if text is not None:
            return text, candidate

    guessed = _detect(body)
    if guessed:
        return body.decode(guessed, "replace"), guessed
    return body.decode("utf-8", "replace"), "utf-8"


def _detect(body: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(body[: 4 * PRESCAN_BYTES]).best()
    return normalize_label(best.encoding) if best is not None else None
