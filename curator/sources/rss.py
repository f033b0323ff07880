"""RSS 0.9x/2.0, Atom and RDF feeds: feedparser over bytes fetched by curator's own client."""

from __future__ import annotations

import calendar
import codecs
import html
import io
import logging
import re
from datetime import UTC, datetime
from typing import Any, ClassVar

import feedparser
import nh3

from curator import charset
from curator.errors import ExtractionError, SourceError
from curator.models import Candidate
from curator.settings import SourceSettings
from curator.sources import SourceContext, SourceResult, register
from curator.urls import absolutize

log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/feed+json;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
# An internal DTD subset or entity declaration is how "billion laughs" and huge-entity feeds work.
_ENTITY_DECL = re.compile(rb"<!ENTITY|<!DOCTYPE[^>\[]*\[", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([A-Za-z0-9._:\-]+)(["'])""")
_EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)


def _entry_date(entry: Any, now: datetime) -> datetime | None:
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


def plain_text(markup: str, limit: int = 600) -> str:
    """Feed summaries are untrusted HTML: keep only text."""
    text = html.unescape(nh3.clean(markup or "", tags=set(), attributes={}, strip_comments=True))
    text = re.sub(r"\s+", " ", text).strip()
    return text[:limit]


def _declares_entities(body: bytes) -> bool:
    # The whole body, NULs removed: UTF-16/32 spell "<!ENTITY" with NULs between the letters, and a long
    # comment can push the DOCTYPE past any fixed prefix.
    return _ENTITY_DECL.search(body.replace(b"\x00", b"")) is not None


def _as_utf8(body: bytes, content_type: str) -> tuple[bytes, str]:
    """feedparser decodes a feed whose declared charset fails (GBK labelled UTF-8, a body cut inside a
    character) as windows-1252, turning every title into mojibake. Such a body is decoded the way pages
    are (curator.charset) and handed over as UTF-8."""
    if body.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return body, content_type
    m = _XML_ENCODING.match(body)
    declared = charset.charset_from_header(content_type) or (
        charset.normalize_label(m.group(2).decode("ascii")) if m else None) or "utf-8"
    try:
        body.decode(declared)
        return body, content_type
    except (UnicodeDecodeError, LookupError):
        pass
    text, _ = charset.decode_html(body, f"charset={declared}")
    data = _XML_ENCODING.sub(rb"\g<1>utf-8\g<3>", text.encode("utf-8"), count=1)
    return data, (content_type or "application/xml").split(";")[0]


def parse_feed(body: bytes, final_url: str, content_type: str, source: SourceSettings, now: datetime) -> SourceResult:
    from curator.sources import jsonfeed  # imports this module; JSON Feed bodies are parsed there

    if jsonfeed.is_json_feed(body, content_type):
        return jsonfeed.parse_json_feed(body, final_url, source, now)
    if _declares_entities(body):
        raise SourceError("feed declares XML entities (refused to expand them)", reason="xml_entities", url=final_url)
    body, content_type = _as_utf8(body, content_type)
    parsed = feedparser.parse(
        io.BytesIO(body),  # as a stream: feedparser would open() a bytes body that names a local file
        response_headers={"content-location": final_url, "content-type": content_type or "application/xml"},
        # Only text is kept (plain_text strips every tag), so feedparser's slow HTML sanitizer and
        # relative-URI rewriting of entry HTML are skipped: a 5 MB entry took ~7 s in them.
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    if not parsed.entries:
        if parsed.bozo:
            raise SourceError("not a feed (no entries could be read)", reason="not_a_feed", url=final_url)
        return SourceResult()
    result = SourceResult()
    for entry in parsed.entries[: source.max_entries]:
        link = absolutize(entry.get("link", ""), final_url)
        if link is None:
            result.dropped["bad_link"] = result.dropped.get("bad_link", 0) + 1
            continue
        result.candidates.append(
            Candidate(
                url=link,
                title=plain_text(entry.get("title", ""), 300),
                source=source.name,
                published_at=_entry_date(entry, now),
                snippet=plain_text(entry.get("summary", "")),
            )
        )
    if len(parsed.entries) > source.max_entries:
        result.dropped["entry_cap"] = len(parsed.entries) - source.max_entries
    return result


@register("rss", "atom", "feed")
class RssSource:
    kind: ClassVar[str] = "rss"

    def __init__(self, config: SourceSettings) -> None:
        self.config = config

    async def discover(self, ctx: SourceContext) -> SourceResult:
        resp = await ctx.fetcher.get(self.config.url, validators=ctx.validators, accept=FEED_ACCEPT)
        if resp.not_modified:
            return SourceResult(not_modified=True)
        try:
            result = await ctx.cpu(parse_feed, resp.body, resp.final_url, resp.headers.get("content-type", ""),
                                   self.config, ctx.now)
        except ExtractionError as exc:  # the parser pool's deadline or crash: this source fails, not the run
            raise SourceError(f"the feed could not be parsed: {exc}", reason=exc.reason, url=resp.final_url) from None
        result.validators = resp.validators
        return result
