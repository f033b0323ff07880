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


# Month and day without a year (`11月30日`, `【11-30】`, `[11/30]`, `11-30：`), recognised only where an
# entry's date stands (the start of a block): elsewhere `3-15` is a range and `1/2` a fraction, so the
# numeric forms need a two-digit day and brackets or a colon after them, or `MM-DD ` (`[1.2]`, `[1-3]`
# and `3-15 倍` are numbering and ranges).
_YEARLESS = [
    re.compile(r"(?<![\d年])(\d{1,2})\s*月\s*(\d{1,2})\s*[日号](?!\d)"),
    re.compile(r"(?<=[\[【(（])\s*(\d{1,2})[-/](\d{2})\s*(?=[\]】)）])"),
    re.compile(r"(?<![\d\-/.])(\d{1,2})[-/](\d{2})(?=\s*[:：])"),
    re.compile(r"(?<![\d\-/.])(\d{2})-(\d{2})(?=\s)"),  # `11-30 标题`: both parts two-digit
]
_YEAR = re.compile(r"(?<!\d)(199\d|2[01]\d\d)(?!\d)")


def yearless_match(text: str) -> tuple[int, int, int, int] | None:
    """The earliest month-day without a year in `text`: (start, end, month, day); end includes a bracket."""
    best: tuple[int, int, int, int] | None = None
    for pattern in _YEARLESS:
        m = pattern.search(text)
        if m is None or not (1 <= int(m.group(1)) <= 12 and 1 <= int(m.group(2)) <= 31):
            continue
        end = m.end() + (1 if m.end() < len(text) and text[m.end()] in "]】)）" else 0)
        if best is None or m.start() < best[0]:
            best = (m.start(), end, int(m.group(1)), int(m.group(2)))
    return best


def heading_year(text: str) -> int | None:
    """A year named by a heading (`## 2025`, `2025年3月`), which dates the month-days under it."""
    m = _YEAR.search(text)
    return int(m.group(1)) if m else None


def resolve_yearless(month: int, day: int, context: datetime | None, year: int | None, now: datetime) -> datetime | None:
    """The date a month-day means: in the year a heading above it names; else the one nearest the last full
    date before it on the page; else, with no context, the most recent one not after the run clock `now`.
    Never after `now` either way (a yearless date is of the past)."""

    def on(y: int) -> datetime | None:
        try:
            return datetime(y, month, day, tzinfo=UTC)
        except ValueError:  # 02-29 outside a leap year, 04-31
            return None

    if year is not None:
        found = on(year)
    elif context is not None:
        options = [d for y in (context.year - 1, context.year, context.year + 1) if (d := on(y))]
        found = min(options, key=lambda d: abs(d - context)) if options else None
    else:
        found = None
    if found is None or (year is None and found > now):
        base = min(now.year, 9998)
        found = next((d for y in range(base, base - 8, -1) if (d := on(y)) and d <= now), None)
    return found
