"""Sources family: reading the fields of untrusted feed and API entries (text, dates, JSON)."""

from __future__ import annotations

import calendar
import html
import json
import re
from datetime import UTC, datetime
from typing import Any

import nh3

from curator import feeds
from curator.errors import SourceError

_EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)


def plain_text(markup: str, limit: int = 600) -> str:
    """Feed summaries are untrusted HTML: keep only text."""
    # NULs and other control characters (a broken or hostile feed) never reach a stored title or snippet.
    text = feeds.strip_controls(html.unescape(nh3.clean(feeds.strip_controls(markup or ""), tags=set(),
                                                        attributes={}, strip_comments=True)))
    text = re.sub(r"\s+", " ", text).strip()
    return text[:limit]


def entry_date(entry: Any, now: datetime) -> datetime | None:
    """A feedparser entry's published/updated/created date, clamped to `now`; None for garbage dates."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                dt = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
            except (OverflowError, ValueError, TypeError):
                continue
            if dt < _EARLIEST:
                return None  # garbage / 1970 dates: fall back to first-seen time
            return min(dt, now)  # future dates are clamped
    return None


def load_json(body: bytes, url: str) -> Any:
    """Parse a JSON body; anything that is not JSON is SourceError(bad_shape)."""
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise SourceError(
            f"response is not JSON ({type(exc).__name__})", reason="bad_shape", url=url
        ) from exc


def clamp_date(dt: datetime | None, now: datetime) -> datetime | None:
    """Future dates are clamped to now; garbage (pre-1995) dates become None (first-seen time)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    if dt < _EARLIEST:
        return None
    return min(dt, now)


def iso_date(value: Any, now: datetime) -> datetime | None:
    """An RFC 3339 / ISO 8601 timestamp ("2026-11-18T09:00:00Z") as an aware datetime, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return clamp_date(datetime.fromisoformat(value.strip()), now)
    except ValueError:
        return None


def epoch_date(value: Any, now: datetime) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return clamp_date(datetime.fromtimestamp(value, tz=UTC), now)
    except (OverflowError, OSError, ValueError):
        return None


def entry_tags(entry: Any) -> list[str]:
    """A feedparser entry's categories (RSS <category>, Atom <category term>), as plain text."""
    terms = [t.get("term") or t.get("label") for t in entry.get("tags") or [] if isinstance(t, dict)]
    return [plain_text(t, 100) for t in terms if isinstance(t, str) and t.strip()][:50]


def text_field(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else ""
