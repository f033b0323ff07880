"""Calendar dates in page text (2026-11-30, 2026/11/30, 2026.11.30, 2026年11月30日, Nov 30, 2026 …) and <time>."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from lxml.html import HtmlElement

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
_MON = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
DATE_PATTERNS: list[tuple[re.Pattern[str], tuple[int, int, int]]] = [
    (re.compile(r"(?<!\d)(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?(?!\d)"), (1, 2, 3)),
    (re.compile(r"(?<![\d.])(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?![\d])"), (1, 2, 3)),
    (re.compile(_MON + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?!\d)", re.IGNORECASE), (3, 1, 2)),
    (
        re.compile(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?\s+" + _MON + r",?\s+(\d{4})(?!\d)", re.IGNORECASE),
        (3, 2, 1),
    ),
]


def _to_int(value: str) -> int:
    return int(value) if value.isdigit() else _MONTHS[value.lower()[:3]]


def date_match(text: str) -> tuple[int, int, datetime] | None:
    """The earliest-placed recognisable calendar date in `text`: (start, end, midnight UTC)."""
    best: tuple[int, int, datetime] | None = None
    for pattern, (y, m, d) in DATE_PATTERNS:
        for match in pattern.finditer(text):
            try:
                dt = datetime(
                    _to_int(match.group(y)), _to_int(match.group(m)), _to_int(match.group(d)), tzinfo=UTC
                )
            except (ValueError, KeyError):
                continue
            if not 1995 <= dt.year <= 2200:  # version numbers, phone numbers, copyright ranges
                continue
            if best is None or match.start() < best[0]:
                best = (match.start(), match.end(), dt)
            break
    return best


def date_in_text(text: str) -> datetime | None:
    """The earliest-placed recognisable calendar date in `text`, as midnight UTC."""
    found = date_match(text)
    return found[2] if found else None


def strip_dates(text: str) -> str:
    for pattern, _ in DATE_PATTERNS:
        text = pattern.sub(" ", text)
    return text


def time_value(el: HtmlElement) -> datetime | None:
    raw = (el.get("datetime") or "").strip()
    if raw:
        try:
            dt = datetime.fromisoformat(raw)
            return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
        except ValueError:
            pass
    return date_in_text(raw or el.text_content())
