"""The fetch stage: every item waiting at `discovered` (and the editor's stand-ins due for a retry) is
fetched once, decoded, and stored as a Page; the page goes straight on to extraction.

    discovered item ─► robots? ─► GET ─► HTML? ─► decode ─► not a wall? ─► Page (fetched) ─► on_page
                            └──────────── skipped | failed:<reason> (an editor's find stays a flagged candidate)

Items are admitted only as fast as the fetcher can take them, so a stop leaves the rest untouched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from itertools import chain, zip_longest
from urllib.parse import urlsplit

from curator import charset, finds, transcript
from curator.context import RUN_LEVEL, StageContext
from curator.errors import FetchError
from curator.http import Fetcher, Response
from curator.models import ItemState, Page, WorkItem
from curator.packing import PackedPage
from curator.robots import RobotsCache
from curator.urls import redact

log = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
HTML_TYPES = ("text/html", "application/xhtml", "text/plain", "")

# A stored item waiting for its page, as `Store.waiting()` / `finds.due_for_retry()` return it, and the page
# fetched for it, packed as it was stored (curator/packing.py): a page waiting for a parser holds no decoded text.
OnPage = Callable[[WorkItem, PackedPage], Awaitable[None]]


async def fetch_waiting(ctx: StageContext, fetcher: Fetcher, parsers: int, on_page: OnPage) -> None:
    """Fetch what waits, handing each stored page to `on_page` (the extractor) while the others download."""
    # The editor's finds kept as stand-ins after a failure that may pass are tried again each run
    # (bounded by RETRY_CAP); they stay drafted-able stand-ins until a fetch succeeds.
    due = {row.id: row for row in finds.due_for_retry(ctx.store)}
    if due:
        ctx.run.counters["retry/editor_finds"] += len(due)
    # Only (id, URL) of every waiting item is held; an item is read whole when its turn comes.
    rows = [*ctx.store.waiting_urls(ItemState.DISCOVERED), *((row.id, row.url) for row in due.values())]
    # Admit items only as fast as the fetcher can take them, so a stop leaves the rest untouched.
    admit = asyncio.Semaphore(ctx.settings.fetch.max_concurrency)
    robots = RobotsCache(fetcher, ctx.settings.fetch.user_agent) if ctx.settings.fetch.respect_robots else None
    pages = PageFetcher(ctx, fetcher, robots, set(due))
    waiting = across_hosts(rows)
    with ctx.reporter.stage("fetch", len(rows)) as advance:

        async def lane() -> None:
            """Fetch the next waiting item, hand its page to the parsers, repeat: a lane holds at most one
            page, so the pages in memory never outnumber the lanes, however many items wait."""
            for item_id, _ in waiting:
                async with admit:
                    # a stop leaves the item `discovered` for the next run; one no longer `discovered` when its
                    # turn comes (its state changed since the list was read) is not fetched twice
                    row = None if ctx.stopping.is_set() else (
                        due.get(item_id) or ctx.store.work_item_at(item_id, ItemState.DISCOVERED))
                    if row is None:
                        advance()
                        continue
                    try:
                        page = await pages.fetch_one(row)
                    finally:
                        advance()
                if page is not None:
                    await on_page(row, page)

        # Fetched pages wait for a parser in these lanes: fetching goes on while the parsers work.
        await asyncio.gather(*(lane() for _ in range(min(len(rows), page_lanes(ctx.settings.fetch.max_concurrency,
                                                                                 parsers)))))
    if robots is not None and robots.unavailable:
        ctx.run.counters["fetch/robots_unavailable"] += robots.unavailable


def across_hosts(rows: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """The (id, URL) rows taken one host at a time in turn (h1, h2, h3, h1, h2, …), each host's own in their order.

    A feed's items share its host and are stored together; fetched in that order, every download slot would
    wait on the one host the politeness limit (`per_host_concurrency`) lets serve a request at a time,
    and a run of many feeds would fetch about as fast as a single host answers."""
    by_host: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        by_host.setdefault((urlsplit(row[1]).hostname or "").lower(), []).append(row)
    turns = zip_longest(*by_host.values())
    return (row for row in chain.from_iterable(turns) if row is not None)


def page_lanes(max_concurrency: int, parsers: int) -> int:
    """How many pages a run holds at most: one per download in flight, and four per parser waiting."""
    return max_concurrency + max(1, parsers) * 4


class PageFetcher:
    """Fetches one item's page: the Page stored, or None with the item's outcome recorded."""

    def __init__(self, ctx: StageContext, fetcher: Fetcher, robots: RobotsCache | None, retrying: set[int]) -> None:
        self.ctx, self.fetcher, self.robots, self.retrying = ctx, fetcher, robots, retrying

    async def fetch_one(self, row: WorkItem) -> PackedPage | None:
        ctx = self.ctx
        try:
            resp = await self._get(row)
            return None if resp is None else self._page(row, resp, await self._captions(resp))
        except FetchError as exc:
            state = ItemState.SKIPPED if exc.reason == "too_large" else ItemState.FAILED
            ctx.store.set_state(row.id, state, exc.reason, retryable=exc.retryable)
            ctx.run.counters[f"fetch/{exc.reason}"] += 1
            log.info("fetch failed (%s): %s", exc.reason, redact(row.url))
            keep_find(ctx, row, exc.reason)
        except RUN_LEVEL:
            raise
        except Exception as exc:  # noqa: BLE001  (one item's fault is that item's outcome)
            ctx.internal_error("fetch", exc, f"fetching {redact(row.url)}")
            ctx.store.set_state(row.id, ItemState.FAILED, "internal_error", retryable=True)
            keep_find(ctx, row, "internal_error")
        return None

    async def _get(self, row: WorkItem) -> Response | None:
        """The HTML answer for the item, or None when robots.txt or the content type rule it out."""
        ctx = self.ctx
        if self.robots is not None and not await self.robots.allowed(row.url):
            ctx.store.set_state(row.id, ItemState.SKIPPED, "robots")
            ctx.run.counters["fetch/skipped_robots"] += 1
            keep_find(ctx, row, "robots")
            return None
        resp = await self.fetcher.get(row.url, accept=PAGE_ACCEPT)
        if not _content_type(resp).startswith(HTML_TYPES):
            ctx.store.set_state(row.id, ItemState.SKIPPED, "not_html")
            ctx.run.counters["fetch/skipped_not_html"] += 1
            keep_find(ctx, row, "not_html")
            return None
        return resp

    async def _captions(self, resp: Response) -> str:
        """The text of a same-site captions track the page plays (its transcript), "" when none or unread:
        a video page without notes is summarised from it (extract.py reads it from the page)."""
        if b"<track" not in resp.body.lower():
            return ""
        text, _ = charset.decode_html(resp.body, resp.headers.get("content-type"))
        url = transcript.caption_track(text, resp.final_url)
        if url is None or (self.robots is not None and not await self.robots.allowed(url)):
            return ""
        try:
            track = await self.fetcher.get(url)
        except FetchError as exc:  # the page stands without it
            log.info("captions track not read (%s): %s", exc.reason, redact(url))
            return ""
        self.ctx.run.counters["fetch/captions"] += 1
        return transcript.cues_text(track.body.decode("utf-8", "replace"))

    def _page(self, row: WorkItem, resp: Response, captions: str = "") -> PackedPage | None:
        """The decoded page, stored (packed); None when it is a wall or a removal notice, not the page asked for."""
        ctx, run = self.ctx, self.ctx.run
        text, encoding = charset.decode_html(resp.body, resp.headers.get("content-type"))
        if captions:  # stored with the page, so a later extraction (an interrupted run's) reads it too
            text = transcript.with_block(text, captions)
        if (wall := finds.challenge_page(text)) and keep_find(ctx, row, wall):
            run.counters[f"fetch/{wall}"] += 1
            return None
        page = PackedPage.of(Page(url=resp.url, final_url=resp.final_url, status=resp.status, text=text,
                                  encoding=encoding, content_type=_content_type(resp), validators=resp.validators,
                                  fetched_at=ctx.clock()))
        ctx.store.save_page(row.id, page)
        if row.id in self.retrying:  # read at last: clustered anew with the week's items
            ctx.store.release_story(row.id)
            run.notes.append(f"item {row.id} ({redact(row.url)}): the editor's find could be "
                             "fetched this time; the page replaces its stand-in")
        run.counters["fetch/ok"] += 1
        return page


def _content_type(resp: Response) -> str:
    return resp.headers.get("content-type", "").split(";")[0].strip().lower()


def keep_find(ctx: StageContext, row: WorkItem, reason: str) -> bool:
    """An editor's find whose page could not be read stays a candidate, flagged (finds.py);
    a feed's item keeps the outcome just recorded. True when it was an editor's find."""
    run = ctx.run
    item = finds.editor_find(ctx.store, row.id)
    if item is None:
        return False
    flag = finds.keep_unfetched(ctx.settings, ctx.store, item, reason, row.snippet)
    if _retrying_stand_in(row):  # still unreadable: the stand-in stays, retried on a later run
        run.counters["retry/editor_find_not_fetched"] += 1
        run.notes.append(f"item {item.id} ({redact(item.url)}) still could not be fetched ({reason}): "
                         f"it stays a candidate flagged {flag}")
        return True
    run.counters["add/not_fetched"] += 1
    run.notes.append(f"item {item.id} ({redact(item.url)}) could not be fetched ({reason}): kept as a "
                     f"candidate with the editor's title/note, flagged {flag} for the reviewer")
    return True


def _retrying_stand_in(row: WorkItem) -> bool:
    """Whether `row` came from `finds.due_for_retry` (it carries the stand-in's enrichment)."""
    return row.stand_in is not None
