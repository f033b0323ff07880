"""JSON Feed 1.0/1.1 (https://jsonfeed.org) bodies, read for the `rss` source.

A JSON Feed arrives through the ordinary `rss` source: `rss.parse_feed` routes a body that looks like
one here, so a feed URL works whatever its format. `kind = "jsonfeed"` is accepted as an alias of `rss`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from curator.errors import SourceError
from curator.models import Candidate
from curator.settings import SourceSettings
from curator.sources.fields import iso_date, load_json, plain_text, text_field
from curator.sources.registry import SourceResult
from curator.urls import absolutize

JSON_FEED_TYPE = "application/feed+json"
_VERSION = re.compile(rb'"version"\s*:\s*"https?://jsonfeed\.org/version/1', re.IGNORECASE)


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
    result = SourceResult(cap=source.max_entries)
    for item in result.capped(data["items"]):
        if not isinstance(item, dict):
            result.drop("bad_shape")
            continue
        link = absolutize(text_field(item, "url") or text_field(item, "external_url"), base)
        if link is None:
            result.drop("bad_link")
            continue
        summary = text_field(item, "summary") or text_field(item, "content_text")
        snippet = plain_text(summary or text_field(item, "content_html"))
        result.add(
            Candidate(
                url=link,
                title=plain_text(text_field(item, "title"), 300),
                source=source.name,
                published_at=iso_date(item.get("date_published") or item.get("date_modified"), now),
                snippet=snippet,
                author=_authors(item),
                tags=_tags(item),
            )
        )
    return result


def _authors(item: dict[str, Any]) -> str:
    """`authors` (1.1) or `author` (1.0): their names, as plain text."""
    many = item.get("authors")
    people: list[Any] = many if isinstance(many, list) else [item.get("author")]
    names = [p["name"] for p in people if isinstance(p, dict) and isinstance(p.get("name"), str)]
    return plain_text(", ".join(names), 200)


def _tags(item: dict[str, Any]) -> list[str]:
    tags = item.get("tags")
    return [plain_text(t, 100) for t in tags if isinstance(t, str) and t.strip()][:50] if isinstance(tags, list) else []
