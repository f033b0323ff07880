"""JSON Feed 1.0/1.1 (https://jsonfeed.org), plus the JSON helpers the API sources (hn, github) share.

A JSON Feed arrives through the ordinary `rss` source: `rss.parse_feed` routes a body that looks like
one here, so a feed URL works whatever its format. `kind = "jsonfeed"` is accepted as an alias.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from curator.errors import SourceError
from curator.models import Candidate
from curator.settings import SourceSettings
from curator.sources import SourceResult, register
from curator.sources.rss import RssSource, plain_text
from curator.urls import absolutize

JSON_FEED_TYPE = "application/feed+json"
_VERSION = re.compile(rb'"version"\s*:\s*"https?://jsonfeed\.org/version/1', re.IGNORECASE)
_EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)

register("jsonfeed", "json_feed")(RssSource)


# -- helpers shared by the JSON sources ----------------------------------------------------------------


def load_json(body: bytes, url: str) -> Any:
    """Parse a JSON body; anything that is not JSON is SourceError(bad_shape)."""
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise SourceError(
            f"response is not JSON ({type(exc).__name__})", reason="bad_shape", url=url
        ) from exc


def bump(result: SourceResult, reason: str, n: int = 1) -> None:
    result.dropped[reason] = result.dropped.get(reason, 0) + n


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


def text_field(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else ""


# -- JSON Feed -----------------------------------------------------------------------------------------


def is_json_feed(body: bytes, content_type: str = "") -> bool:
    """True for `application/feed+json`, or a JSON object that declares a jsonfeed.org version."""
    if JSON_FEED_TYPE in (content_type or "").lower():
        return True
    starts_as_object = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"  # after a BOM / blanks
    return starts_as_object and _VERSION.search(body[:65536]) is not None


def parse_json_feed(body: bytes, final_url: str, source: SourceSettings, now: datetime) -> SourceResult:
    data = load_json(body, final_url)
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise SourceError("JSON Feed without an `items` list", reason="bad_shape", url=final_url)
    base = final_url
    result = SourceResult()
    items = data["items"]
    for item in items[: source.max_entries]:
        if not isinstance(item, dict):
            bump(result, "bad_shape")
            continue
        link = absolutize(text_field(item, "url") or text_field(item, "external_url"), base)
        if link is None:
            bump(result, "bad_link")
            continue
        summary = text_field(item, "summary") or text_field(item, "content_text")
        snippet = plain_text(summary or text_field(item, "content_html"))
        result.candidates.append(
            Candidate(
                url=link,
                title=plain_text(text_field(item, "title"), 300),
                source=source.name,
                published_at=iso_date(item.get("date_published") or item.get("date_modified"), now),
                snippet=snippet,
            )
        )
    if len(items) > source.max_entries:
        bump(result, "entry_cap", len(items) - source.max_entries)
    return result
