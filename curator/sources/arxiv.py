"""arXiv papers from the export API (Atom), at most one request every 3 seconds per process.

    [[sources]]
    name = "arXiv cs.CL"
    kind = "arxiv"
    url = "http://export.arxiv.org/api/query?search_query=cat:cs.CL&sortBy=submittedDate&sortOrder=descending&max_results=50"

arXiv's terms ask for no more than one request every three seconds; every arxiv source in the process
shares one throttle, so several arxiv sources in one run queue behind each other. Links are the
version-less abstract page (https://arxiv.org/abs/2411.01234), so an HN post of the same paper dedupes.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import ClassVar, TypeVar

from curator import feeds
from curator.errors import ExtractionError, SourceError
from curator.models import Candidate
from curator.settings import SourceSettings
from curator.sources.fields import entry_date, plain_text
from curator.sources.registry import BaseSource, SourceContext, SourceResult, register
from curator.sources.rss import FEED_ACCEPT
from curator.urls import absolutize

log = logging.getLogger(__name__)
T = TypeVar("T")

ARXIV_INTERVAL_S = 3.0
_ABS = re.compile(r"^https?://(?:export\.)?arxiv\.org/abs/(.+?)(?:v\d+)?/?$", re.IGNORECASE)


class Throttle:
    """At most one request per `interval_s`, measured from the end of one request to the start of the next.

    The timestamp is per process; the lock is per event loop (an asyncio.Lock cannot be shared by two
    loops, and each `asyncio.run` has its own).
    """

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._last_done: float | None = None  # time.monotonic() when the previous request finished
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        """Await `call()` once the interval since the previous call has passed."""
        async with self._lock():
            if self._last_done is not None:
                wait = self._last_done + self.interval_s - time.monotonic()
                if wait > 0:
                    log.debug("arxiv throttle: waiting %.2fs", wait)
                    await asyncio.sleep(wait)
            try:
                return await call()
            finally:
                self._last_done = time.monotonic()


THROTTLE = Throttle(ARXIV_INTERVAL_S)


def abs_url(entry_link: str) -> str:
    """https://arxiv.org/abs/<id> without the version suffix; other links unchanged."""
    m = _ABS.match(entry_link.strip())
    return f"https://arxiv.org/abs/{m.group(1)}" if m else entry_link


def parse_arxiv(body: bytes, final_url: str, source: SourceSettings, now: datetime) -> SourceResult:
    parsed = feeds.parse(body, final_url, sanitize_html=True)
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        raise SourceError("not an arXiv Atom answer", reason="not_a_feed", url=final_url)
    result = SourceResult(cap=source.max_entries)
    for entry in parsed.entries:
        if "/api/errors" in entry.get("id", ""):  # the API reports a bad query as a one-entry feed
            raise SourceError(
                f"arXiv API error: {plain_text(entry.get('summary', ''), 200)}",
                reason="api_error",
                url=final_url,
            )
        alternate = next(
            (ln.get("href", "") for ln in entry.get("links", []) if ln.get("rel") == "alternate"),
            entry.get("link", "") or entry.get("id", ""),
        )
        link = absolutize(abs_url(alternate), final_url)
        if link is None:
            result.drop("bad_link")
            continue
        authors = ", ".join(a.get("name", "") for a in entry.get("authors", [])[:5] if a.get("name"))
        summary = plain_text(entry.get("summary", ""))
        result.add(
            Candidate(
                url=link,
                title=plain_text(entry.get("title", ""), 300),
                source=source.name,
                published_at=entry_date(entry, now),
                snippet=plain_text(f"{authors}: {summary}" if authors else summary),
            )
        )
    return result


@register("arxiv")
class ArxivSource(BaseSource):
    kind: ClassVar[str] = "arxiv"

    def __init__(self, config: SourceSettings, *, throttle: Throttle | None = None) -> None:
        super().__init__(config)
        self.throttle = throttle or THROTTLE

    async def discover(self, ctx: SourceContext) -> SourceResult:
        resp = await self.throttle.run(
            lambda: ctx.fetcher.get(self.config.url, validators=ctx.validators, accept=FEED_ACCEPT)
        )
        if resp.not_modified:
            return SourceResult(not_modified=True)
        try:  # in the parser pool: a hostile feed meets the worker's memory cap, not this process
            result = await ctx.cpu(parse_arxiv, resp.body, resp.final_url, self.config, ctx.now)
        except ExtractionError as exc:
            raise SourceError(f"the feed could not be parsed: {exc}", reason=exc.reason, url=resp.final_url) from None
        result.validators = resp.validators
        return result
