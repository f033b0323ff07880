"""Hacker News stories from the Algolia search API, with their discussion link and points.

    [[sources]]
    name = "Hacker News"
    kind = "hn"
    url = "https://hn.algolia.com/api/v1/search_by_date?tags=story&numericFilters=points>100"

The points threshold is read from `numericFilters=points>N` (or `>=N`) in the URL, 100 when absent, and
is enforced here too: the API filter is a hint we do not trust blindly. An Ask HN post has no `url`, so
its discussion page is the link.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import ClassVar
from urllib.parse import parse_qsl, urlsplit

from curator.errors import SourceError
from curator.models import Candidate
from curator.settings import SourceSettings
from curator.sources.fields import epoch_date, load_json, plain_text, text_field
from curator.sources.registry import BaseSource, SourceContext, SourceResult, register
from curator.urls import absolutize

log = logging.getLogger(__name__)

DISCUSSION = "https://news.ycombinator.com/item?id={}"
DEFAULT_MIN_POINTS = 100
_POINTS = re.compile(r"^\s*points\s*(>=|>)\s*(\d+)\s*$")


def points_threshold(url: str) -> tuple[int, bool]:
    """(N, inclusive) from `numericFilters=points>N` / `points>=N` in the URL; (100, False) by default."""
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key != "numericFilters":
            continue
        for part in value.split(","):
            m = _POINTS.match(part)
            if m:
                return int(m.group(2)), m.group(1) == ">="
    return DEFAULT_MIN_POINTS, False


def parse_hits(body: bytes, final_url: str, source: SourceSettings, now: datetime) -> SourceResult:
    data = load_json(body, final_url)
    if not isinstance(data, dict) or not isinstance(data.get("hits"), list):
        raise SourceError("Algolia answer without a `hits` list", reason="bad_shape", url=final_url)
    threshold, inclusive = points_threshold(source.url)
    result = SourceResult(cap=source.max_entries)
    seen: set[str] = set()
    for hit in data["hits"]:
        story_id = hit.get("objectID") if isinstance(hit, dict) else None
        if not isinstance(story_id, str | int) or not str(story_id).isdigit():
            result.drop("bad_shape")
            continue
        story_id = str(story_id)
        if story_id in seen:
            continue
        seen.add(story_id)
        points = hit.get("points")
        if isinstance(points, bool) or not isinstance(points, int):
            points = 0
        if points < threshold or (points == threshold and not inclusive):
            result.drop("below_points")
            continue
        discussion = DISCUSSION.format(story_id)
        raw_link = text_field(hit, "url")
        link = absolutize(raw_link, final_url) if raw_link else discussion  # Ask HN: the thread is the story
        if link is None:
            result.drop("bad_link")
            continue
        result.add(
            Candidate(
                url=link,
                title=plain_text(text_field(hit, "title") or text_field(hit, "story_title"), 300),
                source=source.name,
                published_at=epoch_date(hit.get("created_at_i"), now),
                snippet=plain_text(text_field(hit, "story_text")),
                discussion_url=discussion,
                points=points,
            )
        )
    return result


@register("hn", "hackernews")
class HackerNewsSource(BaseSource):
    kind: ClassVar[str] = "hn"

    async def discover(self, ctx: SourceContext) -> SourceResult:
        resp = await ctx.fetcher.get(self.config.url, validators=ctx.validators, accept="application/json")
        if resp.not_modified:
            return SourceResult(not_modified=True)
        # Parsed in the bounded worker pool: a huge or deeply nested JSON answer costs a worker, not the run.
        result = await ctx.cpu(parse_hits, resp.body, resp.final_url, self.config, ctx.now)
        result.validators = resp.validators
        log.debug("hn %s: %d stories, dropped %s", self.config.name, len(result.candidates), result.dropped)
        return result
