"""RSS 0.9x/2.0, Atom and RDF feeds: feedparser over bytes fetched by curator's own client."""

from __future__ import annotations

import calendar
import html
import logging
import re
from datetime import UTC, datetime
from typing import Any, ClassVar

import nh3

from curator import feeds
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
    # NULs and other control characters (a broken or hostile feed) never reach a stored title or snippet.
    text = feeds.strip_controls(html.unescape(nh3.clean(feeds.strip_controls(markup or ""), tags=set(),
                                                        attributes={}, strip_comments=True)))
    text = re.sub(r"\s+", " ", text).strip()
    return text[:limit]


def parse_feed(body: bytes, final_url: str, content_type: str, source: SourceSettings, now: datetime) -> SourceResult:
    from curator.sources import jsonfeed  # imports this module; JSON Feed bodies are parsed there

    if jsonfeed.is_json_feed(body, content_type):
        return jsonfeed.parse_json_feed(body, final_url, source, now)
    parsed = feeds.parse(
        body,
        final_url,
        content_type,
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
