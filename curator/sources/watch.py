"""Pages without a feed (a notes page, a "what's new" list): dated blocks on the page become candidates.

    [[sources]]
    name = "某某的笔记"
    kind = "watch"
    url = "https://example.com/notes/"

An entry is an `<article>`, `<section>`, `<li>`, or an `<h2>`/`<h3>` together with the siblings up to the
next heading, that carries a date: a `<time datetime>` or date text such as 2026-11-18, 2026/11/18,
2026年11月18日 or November 18, 2026. A block holding two or more dated blocks is a container, not an
entry. Each entry links to its own page when it has one (a link in its heading; for a list item, its
first link), else to the page URL plus its anchor (`#id`); an entry with neither is left out.

Nothing extra is stored per source: an unchanged page answers 304 to the saved ETag/Last-Modified, the
store dedupes by canonical URL, and `published_at` lets the issue window leave old entries out.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import urljoin

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

from curator.charset import decode_html
from curator.errors import SourceError
from curator.models import Candidate
from curator.settings import SourceSettings
from curator.sources import SourceContext, SourceResult, register
from curator.sources.jsonfeed import bump, clamp_date
from curator.sources.rss import plain_text
from curator.urls import absolutize

log = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
_BLOCKS = ("article", "section", "li", "h2", "h3")  # h4-h6 are read as parts of these, never entries
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_MAX_BLOCKS = 5000  # a page with more candidate blocks than this is not a notes page
_SCAN_CHARS = 1500  # date text is looked for near the start of a block

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
_MON = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE_PATTERNS: list[tuple[re.Pattern[str], tuple[int, int, int]]] = [
    (re.compile(r"(?<!\d)(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]"), (1, 2, 3)),
    (re.compile(r"(?<![\d.])(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?![\d])"), (1, 2, 3)),
    (re.compile(_MON + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?!\d)", re.IGNORECASE), (3, 1, 2)),
    (
        re.compile(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?\s+" + _MON + r",?\s+(\d{4})(?!\d)", re.IGNORECASE),
        (3, 2, 1),
    ),
]


@dataclass
class Entry:
    url: str
    title: str
    published_at: datetime
    snippet: str


def _to_int(value: str) -> int:
    return int(value) if value.isdigit() else _MONTHS[value.lower()[:3]]


def date_in_text(text: str) -> datetime | None:
    """The earliest-placed recognisable calendar date in `text`, as midnight UTC."""
    best: tuple[int, datetime] | None = None
    for pattern, (y, m, d) in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            try:
                dt = datetime(
                    _to_int(match.group(y)), _to_int(match.group(m)), _to_int(match.group(d)), tzinfo=UTC
                )
            except (ValueError, KeyError):
                continue
            if not 1995 <= dt.year <= 2200:  # version numbers, phone numbers, copyright ranges
                continue
            if best is None or match.start() < best[0]:
                best = (match.start(), dt)
            break
    return best[1] if best else None


def _time_value(el: HtmlElement) -> datetime | None:
    raw = (el.get("datetime") or "").strip()
    if raw:
        try:
            dt = datetime.fromisoformat(raw)
            return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
        except ValueError:
            pass
    return date_in_text(raw or el.text_content())


def _text(el: HtmlElement) -> str:
    return re.sub(r"\s+", " ", el.text_content()).strip()


def _extent(el: HtmlElement) -> list[HtmlElement]:
    """A heading runs to the next heading (of any level) or article/section; any other block is itself.

    Stopping at sub-headings too keeps an undated heading from borrowing the date of the one below it."""
    if el.tag not in _HEADINGS:
        return [el]
    parts = [el]
    for sib in el.itersiblings():
        if not isinstance(sib.tag, str):
            continue
        if sib.tag in _HEADINGS or sib.tag in ("article", "section"):
            break
        parts.append(sib)
    return parts


def _head_text(parts: list[HtmlElement], limit: int = _SCAN_CHARS) -> str:
    """The first `limit` characters of the blocks' text, without walking a whole large container."""
    chunks: list[str] = []
    size = 0
    for part in parts:
        for piece in part.itertext():
            chunks.append(piece)
            size += len(piece)
            if size >= limit:
                return re.sub(r"\s+", " ", " ".join(chunks))[:limit]
    return re.sub(r"\s+", " ", " ".join(chunks))


def _block_date(parts: list[HtmlElement]) -> datetime | None:
    for part in parts:
        for t in part.iter("time"):
            dt = _time_value(t)
            if dt:
                return dt
    return date_in_text(_head_text(parts))


def _inner(parts: list[HtmlElement], el: HtmlElement) -> set[HtmlElement]:
    inside: set[HtmlElement] = set()
    for part in parts:
        inside.update(x for x in part.iter(*_BLOCKS) if x is not el)
    return inside


def _is_fragment(href: str) -> bool:
    return href.strip().startswith("#")


def _links(parts: list[HtmlElement]) -> list[HtmlElement]:
    return [a for p in parts for a in p.iter("a") if a.get("href")]  # iter() includes p itself


def _anchor(el: HtmlElement, parts: list[HtmlElement]) -> str | None:
    """The block's own id, its heading's, a named anchor, or a `#permalink` inside it."""
    if el.get("id"):
        return el.get("id")
    for part in parts:
        for x in part.iter(*_HEADINGS, "a"):
            if x.get("id"):
                return x.get("id")
            if x.tag == "a" and x.get("name"):
                return x.get("name")
    for a in _links(parts):
        if _is_fragment(a.get("href", "")) and len(a.get("href", "").strip()) > 1:
            return a.get("href").strip()[1:]
    return None


def _entry_link(el: HtmlElement, parts: list[HtmlElement], base: str) -> str | None:
    headings = [el] if el.tag in _HEADINGS else [h for p in parts for h in p.iter(*_HEADINGS)][:1]
    for h in headings:  # a link in (or around) the heading is the entry's own page
        wrapped = next((a for a in h.iterancestors("a") if a.get("href")), None)
        for a in ([wrapped] if wrapped is not None else []) + list(h.iter("a")):
            href = a.get("href", "")
            if href and not _is_fragment(href):
                return absolutize(href, base)
    if el.tag == "li":  # a list item's first link is its own page
        first = next((a for a in _links(parts) if not _is_fragment(a.get("href", ""))), None)
        if first is not None:
            return absolutize(first.get("href", ""), base)
    anchor = _anchor(el, parts)
    return absolutize(f"#{anchor}", base) if anchor else None


def _title(el: HtmlElement, parts: list[HtmlElement]) -> str:
    heading = el if el.tag in _HEADINGS else next((h for p in parts for h in p.iter(*_HEADINGS)), None)
    if heading is None:
        heading = next((a for a in _links(parts) if _text(a)), el)
    title = _text(heading)
    for pattern, _ in _DATE_PATTERNS:  # "2026-11-18 · Title" → "Title"
        title = pattern.sub("", title)
    title = re.sub(r"^[\s·|:：\-–—/]+|[\s·|:：\-–—/]+$", "", title)
    return (title or _text(heading))[:300]


def find_entries(html: str, page_url: str, now: datetime) -> tuple[list[Entry], int]:
    """Dated entries on a page, newest first, and how many dated blocks had no link or anchor."""
    try:
        root = lxml.html.fromstring(html or "<html></html>")
    except (etree.ParserError, ValueError) as exc:
        raise SourceError(
            f"page could not be parsed as HTML: {exc}", reason="not_html", url=page_url
        ) from exc
    for junk in root.xpath("//script|//style|//template|//noscript"):
        junk.drop_tree()
    base_el = root.find(".//base[@href]")
    base = urljoin(page_url, base_el.get("href")) if base_el is not None else page_url

    blocks = list(root.iter(*_BLOCKS))[:_MAX_BLOCKS]
    extents = {el: _extent(el) for el in blocks}
    dated = {el: dt for el in blocks if (dt := _block_date(extents[el])) is not None}
    inner = {el: _inner(extents[el], el) & dated.keys() for el in dated}
    kept = [el for el in dated if len(inner[el]) < 2]  # two dated blocks inside: a container
    # A kept block speaks for the one dated block inside it when that is its heading or where its date came
    # from (<article><h2>…</h2><time>); a nested item with its own, different date stays an entry.
    covered = {x for el in kept for x in inner[el] if x.tag in _HEADINGS or dated[x] == dated[el]}
    entries: dict[str, Entry] = {}
    no_link = 0
    for el in kept:
        if el in covered:
            continue
        link = _entry_link(el, extents[el], base)
        if link is None:
            no_link += 1
            continue
        title = _title(el, extents[el])
        body = " ".join(t for p in extents[el] for t in p.itertext())
        published = clamp_date(dated[el], now)
        if published is None:
            continue
        entries.setdefault(link, Entry(link, title, published, plain_text(body.replace(title, "", 1))))
    return sorted(entries.values(), key=lambda e: e.published_at, reverse=True), no_link


def narrow_to_entry(html: str, anchor: str) -> str | None:
    """The HTML of just the entry `#anchor` names on a watched page (for extraction), or None if absent.

    A watch item's URL is the page plus an anchor; extracting the whole page would give every item the
    same text and title."""
    try:
        root = lxml.html.fromstring(html or "<html></html>")
    except (etree.ParserError, ValueError):
        return None
    found = root.xpath("//*[@id=$a] | //a[@name=$a]", a=anchor)
    if not found:
        return None
    el = found[0]
    chain = [el, *el.iterancestors()]
    heading = next((x for x in chain if x.tag in _HEADINGS), None)
    block = next((x for x in chain if x.tag in ("article", "section", "li")), None)
    if heading is not None and (block is None or block in heading.iterancestors()):
        parts = _extent(heading)
    else:
        parts = [block if block is not None else el]
    body = "".join(lxml.html.tostring(p, encoding="unicode", with_tail=False) for p in parts)
    return f"<html><body><article>{body}</article></body></html>"


@register("watch")
class WatchSource:
    kind: ClassVar[str] = "watch"

    def __init__(self, config: SourceSettings) -> None:
        self.config = config

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
        entries, no_link = find_entries(text, resp.final_url, ctx.now)
        if not entries and not no_link:
            raise SourceError(
                "no dated entries found on the watched page (has its layout changed?)",
                reason="no_entries",
                url=resp.final_url,
            )
        result = SourceResult(validators=resp.validators)
        if no_link:
            bump(result, "no_link", no_link)
        for entry in entries:
            if len(result.candidates) >= self.config.max_entries:
                bump(result, "entry_cap")
            else:
                result.candidates.append(
                    Candidate(
                        url=entry.url,
                        title=entry.title,
                        source=self.config.name,
                        published_at=entry.published_at,
                        snippet=entry.snippet,
                    )
                )
        return result
