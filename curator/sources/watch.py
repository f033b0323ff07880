"""Pages without a feed (a notes page, a "what's new" list, a README of notes): dated entries become candidates.

    [[sources]]
    name = "某某的笔记"
    kind = "watch"
    url = "https://example.com/notes/"

What counts as an entry (dated paragraphs under headings, `<details>` lists, dated `<article>`/`<li>`
teasers) is described in `curator.sources.entries`. Each entry links to its own page when it has one, else
to the page URL plus an anchor; an entry on the page itself keeps its own text, never the section's.

Nothing extra is stored per source: an unchanged page answers 304 to the saved ETag/Last-Modified, the
store dedupes by canonical URL (anchors included), and `published_at` lets the issue window leave old
entries out. A page that yields no dated entry is an error on the source, never a silent 0.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import unquote

from curator.charset import decode_html
from curator.errors import SourceError
from curator.models import Article, Candidate, Page
from curator.sources.entries import Entry, PageScan, scan_page
from curator.sources.pagedates import date_in_text
from curator.sources.registry import BaseSource, SourceContext, SourceResult, register
from curator.text import detect_lang

log = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
SHAPES = (
    "paragraphs/list items/table rows starting with a date (【2026-11-30】, [2026-11-30], 2026年11月30日, "
    "2026/11/30 …) under h1–h6 headings; <details> whose <summary> (or body) holds a date; "
    "<article>/<li>/<section> teasers with a <time> or date text; headings dated by their own text"
)

__all__ = ["Entry", "WatchSource", "date_in_text", "entry_article", "find_entries", "narrow_to_entry"]


def find_entries(html: str, page_url: str, now: datetime) -> tuple[list[Entry], int]:
    """Dated entries on a page, newest first, and how many dated blocks had no link (always 0 now: an
    entry without a link or id gets an anchor derived from its date and title)."""
    return scan_page(html, page_url, now).entries, 0


# The entries of the last few pages read, by anchor, in this process: every anchored item of one page is
# extracted from the same page, which would otherwise be parsed again for each of its entries.
_BY_ANCHOR: OrderedDict[tuple[str, str, str], dict[str, Entry]] = OrderedDict()
_BY_ANCHOR_PAGES = 4


def entry_by_anchor(html: str, page_url: str, anchor: str, now: datetime | None = None) -> Entry | None:
    """The entry `#anchor` names on the page (its HTML in `.html`), or None if the page has no such entry.

    `now` is the clock the page was read on: it places a date given without a year (no clamping here)."""
    never = datetime.max.replace(tzinfo=UTC)
    key = (hashlib.sha1(html.encode("utf-8", "replace")).hexdigest(), page_url, (now or never).isoformat())
    if (by_anchor := _BY_ANCHOR.get(key)) is None:
        try:
            scan = scan_page(html, page_url, never, keep_html=True, year_clock=now)
        except SourceError:
            return None
        by_anchor = {unquote(e.anchor): e for e in reversed(scan.entries) if e.anchor}
        _BY_ANCHOR[key] = by_anchor
        while len(_BY_ANCHOR) > _BY_ANCHOR_PAGES:
            _BY_ANCHOR.popitem(last=False)
    return by_anchor.get(unquote(anchor))


def no_entries_message(scan: PageScan) -> str:
    return (
        f"no dated entry found on the watched page; looked for {SHAPES}; {scan.describe()}. "
        "Has the page's layout changed? Open it in a browser, or disable the source"
    )


def narrow_to_entry(html: str, anchor: str, page_url: str = "http://page.invalid/") -> str | None:
    """The HTML of just the entry `#anchor` names on a watched page (for extraction), or None if absent.

    A watch item's URL is the page plus an anchor; extracting the whole page would give every item the
    same text and title."""
    entry = entry_by_anchor(html, page_url, anchor)
    if entry is None:
        return None
    return f"<html><body><article>{entry.html}</article></body></html>"


def entry_article(page: Page, anchor: str, max_chars: int = 100_000) -> Article | None:
    """The article of an entry that lives on the watched page itself: its own title, date and text.

    Built from the entry rather than by extraction: a dated note is often a line or two, which an
    extractor would throw away as too short, and the page around it is other entries."""
    entry = entry_by_anchor(page.text, page.final_url, anchor, page.fetched_at)
    if entry is None or not entry.text:
        return None
    return Article(
        url=page.final_url,
        title=entry.title,
        text=entry.text[:max_chars],
        date=entry.published_at,
        lang=detect_lang(entry.text, undetermined="en"),  # as extraction reads a page with no known script
    )


@register("watch")
class WatchSource(BaseSource):
    kind: ClassVar[str] = "watch"
    keeps_fragment: ClassVar[bool] = True  # an entry on the page itself is `page#anchor`

    @classmethod
    def own_article(cls, page: Page, anchor: str, max_chars: int) -> Article | None:
        return entry_article(page, anchor, max_chars)

    async def discover(self, ctx: SourceContext) -> SourceResult:
        resp = await ctx.fetcher.get(self.config.url, validators=ctx.validators, accept=PAGE_ACCEPT)
        if resp.not_modified:
            return SourceResult(not_modified=True)
        ctype = resp.headers.get("content-type", "")
        if ctype and "html" not in ctype.lower():
            raise SourceError(
                f"watched page is {ctype.split(';')[0]}, not HTML", reason="not_html", url=resp.final_url
            )
        text, _ = decode_html(resp.body, ctype)
        scan = await ctx.cpu(scan_page, text, resp.final_url, ctx.now)
        if not scan.entries:
            raise SourceError(no_entries_message(scan), reason="no_entries", url=resp.final_url)
        result = SourceResult(validators=resp.validators, cap=self.config.max_entries)
        for entry in scan.entries:
            result.add(
                Candidate(
                    url=entry.url,
                    title=entry.title,
                    source=self.config.name,
                    published_at=entry.published_at,
                    snippet=entry.snippet,
                )
            )
        return result
