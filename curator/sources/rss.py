"""RSS 0.9x/2.0, Atom and RDF feeds (and JSON Feed, routed to `jsonfeed`): feedparser over bytes fetched by
curator's own client."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import ClassVar

from curator import feeds
from curator.errors import ExtractionError, SourceError
from curator.models import Candidate
from curator.settings import SourceSettings
from curator.sources import jsonfeed
from curator.sources.fields import entry_date, entry_tags, plain_text
from curator.sources.registry import BaseSource, SourceContext, SourceResult, register
from curator.urls import absolutize

log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/feed+json;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
__all__ = ["FEED_ACCEPT", "RssSource", "parse_feed", "plain_text"]


def parse_feed(body: bytes, final_url: str, content_type: str, source: SourceSettings, now: datetime) -> SourceResult:
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
    result = SourceResult(cap=source.max_entries)
    for entry in result.capped(parsed.entries):
        link = absolutize(entry.get("link", ""), final_url)
        if link is None:
            result.drop("bad_link")
            continue
        result.add(
            Candidate(
                url=link,
                title=plain_text(entry.get("title", ""), 300),
                source=source.name,
                published_at=entry_date(entry, now),
                snippet=plain_text(entry.get("summary", "")),
                author=plain_text(entry.get("author", ""), 200),
                tags=entry_tags(entry),
            )
        )
    return result


@register("rss", "atom", "feed", "jsonfeed", "json_feed")
class RssSource(BaseSource):
    kind: ClassVar[str] = "rss"

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
