"""Finding the dated entries on a watched page (the parsing half of the `watch` source).

Three kinds of block can be an entry; each must carry a calendar date of its own:

- a *lead*: a paragraph, leaf `div`, `dt`/`dd`, `blockquote` or table row whose text *starts* with a date
  (`【2026-11-30】`, `[2026-11-30]`, `2026年11月30日`, `2026-5-23`, `2026/05/23`, `2026.05.23`, a leading
  `<time>`), together with the undated siblings after it up to the next dated block or heading — the shape
  of a notes page (Jekyll, Hugo, a wiki) at any heading depth. A paragraph of several dated lines is split
  first (pagetext.split_dated_lines); the items under a heading that is only a date are leads of that date;
- a *box*: an `<article>`, `<li>` or `<details>` carrying a `<time>` or date text (for `<details>`: in its
  `<summary>`, else first in its body) — blog indexes, archive lists, READMEs listing notes;
- a *heading* (h1–h6, or a `<section>`) dated by its own text or by a byline under it, with the blocks up
  to the next heading — but only when no lead or box inside it is dated: then it is a section of entries.

A block holding two or more dated blocks is a container, not an entry. An entry's link is the link of its
heading, else its first outbound link, else the page URL plus an anchor: the block's own `id` when it has
one, otherwise one derived from the entry itself (its date and a hash of its title), so an entry keeps its
identity when others are added before or after it in the same section.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urldefrag

import lxml.html
from lxml.html import HtmlElement

from curator.sources.fields import clamp_date
from curator.sources.pagedates import (
    date_in_text,
    date_match,
    heading_year,
    resolve_yearless,
    time_value,
    yearless_match,
)
from curator.sources.pagetext import (
    LEAD_PREFIX,
    LEADING,
    SCAN_CHARS,
    block_text,
    clean_title,
    derived_anchor,
    first_sentence,
    head_text,
    parse_page,
    squash,
    text_before,
    text_of,
)
from curator.urls import absolutize

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
LEADS = ("p", "div", "dt", "dd", "blockquote", "tr")
BOXES = ("article", "li", "details")
SECTIONS = ("section",)
_ALL = HEADINGS + LEADS + BOXES + SECTIONS
_HEADING_STOPS = {*HEADINGS, "article", "section"}
_STOPS = _HEADING_STOPS | {"hr", "header", "footer", "nav", "main", "aside"}
_NOT_WEB = re.compile(r"(?i)(javascript|mailto|tel|data):")
MAX_BLOCKS = 60_000  # past this many candidate blocks a page is not a notes page (and parsing gets slow)


@dataclass
class Entry:
    url: str
    title: str
    published_at: datetime
    snippet: str  # the entry's own text, without its date and title (first 600 characters)
    anchor: str = ""  # set when `url` is the page plus `#anchor`
    text: str = ""  # the entry's whole text
    html: str = ""  # the entry's blocks, kept only on request (for extraction)


@dataclass
class PageScan:
    """What a page yielded: its entries (newest first) and what was looked at, for error messages."""

    entries: list[Entry]
    blocks: Counter[str] = field(default_factory=Counter)  # candidate blocks seen, by tag
    dated: int = 0  # how many of them carried a date

    def describe(self) -> str:
        seen = ", ".join(f"{n} <{tag}>" for tag, n in self.blocks.most_common()) or "none"
        return f"saw {sum(self.blocks.values())} blocks ({seen}), {self.dated} with a date"


# -- the page's blocks -------------------------------------------------------------------------------------


class _Page:
    def __init__(self, root: HtmlElement, page_url: str, base: str, now: datetime) -> None:
        self.page_url = urldefrag(page_url)[0]
        self.base = base
        self._absolute: dict[str, str | None] = {}
        self.blocks = [el for el in root.iter(*_ALL)][:MAX_BLOCKS]
        self.counts: Counter[str] = Counter(el.tag for el in self.blocks)
        self.lead_dates = {el: d for el in self.blocks if el.tag in LEADS and (d := _lead_date(el))}
        self.box_dates = {el: d for el in self.blocks if el.tag in BOXES and (d := _box_date(el))}
        self.yearless: set[HtmlElement] = set()
        self._date_yearless(now)
        # Leads and boxes are the entry candidates a heading or a section must not swallow.
        self.small = set(self.lead_dates) | set(self.box_dates)
        for el in [el for el in self.lead_dates if self._is_byline(el)]:
            del self.lead_dates[el]
            self.small.discard(el)

    def _date_yearless(self, now: datetime) -> None:
        """Blocks that open with a month-day and no year (`【11-30】`, `11月30日`) take the year from their
        context, read in page order: a heading naming a year, else the last full date before them."""
        year: int | None = None
        context: datetime | None = None
        for el in self.blocks:
            if el.tag in HEADINGS:
                text = text_of(el)
                if own := date_in_text(text):
                    context, year = own, None
                elif (named := heading_year(text)) is not None:
                    context, year = None, named
                continue
            if known := self.lead_dates.get(el) or self.box_dates.get(el):
                context, year = known, None  # the latest full date is the nearest context
                continue
            if el.tag not in LEADS and el.tag not in ("li", "details"):
                continue
            if el.tag == "div" and any(x.tag in ("p", "li", "div", "article", "table") for x in el.iterdescendants()):
                continue  # a wrapper: the paragraphs inside it are the leads
            summary = el.find("summary") if el.tag == "details" else None
            head = text_of(summary) if summary is not None else head_text([el], 80)
            found = yearless_match(head[:80])
            if found is None or not LEAD_PREFIX.fullmatch(head[: found[0]]):
                continue
            date = resolve_yearless(found[2], found[3], context, year, now)
            if date is None:
                continue
            (self.lead_dates if el.tag in LEADS else self.box_dates)[el] = date
            self.yearless.add(el)

    def _is_byline(self, el: HtmlElement) -> bool:
        """A dated line right under a heading that links to the post (`<h2><a>…</a></h2><p>2026-11-22 · 5
        min</p>`) dates that heading; it is no entry of its own. A section heading links nowhere."""
        prev = el.getprevious()
        while prev is not None and not isinstance(prev.tag, str):
            prev = prev.getprevious()
        if prev is None or prev.tag not in HEADINGS or self.outbound([el]):
            return False
        wrapped = next((a for a in prev.iterancestors("a") if a.get("href")), None)
        if not self.outbound([prev] + ([wrapped] if wrapped is not None else [])):
            return False
        # A linked heading over several dated lines is a section after all: every line is an entry.
        rest = self.extent(prev)[1:]
        return not any(x in self.small for part in rest for x in part.iter(*_ALL) if x is not el)

    def extent(self, el: HtmlElement) -> list[HtmlElement]:
        """A heading runs to the next heading or article/section; a lead to the next dated block too.

        Stopping at sub-headings keeps an undated heading from borrowing the date of the one below it,
        and a lead from taking the next section's opening as its own text."""
        heading = el.tag in HEADINGS
        if not heading and el not in self.lead_dates:
            return [el]
        stops = _HEADING_STOPS if heading else _STOPS
        parts = [el]
        for sib in el.itersiblings():
            if not isinstance(sib.tag, str):
                continue
            if sib.tag in stops:
                break
            if not heading and any(x in self.small for x in sib.iter(*_ALL)):  # iter() includes sib
                break
            parts.append(sib)
        return parts

    def inner_dated(self, el: HtmlElement, parts: list[HtmlElement]) -> set[HtmlElement]:
        return {x for p in parts for x in p.iter(*_ALL) if x is not el and x in self.small}

    def absolute(self, href: str) -> str | None:
        """The href as an absolute http(s) URL (None for any other scheme), cached."""
        if href not in self._absolute:  # a long page repeats its hrefs; urljoin is slow
            self._absolute[href] = absolutize(href.strip(), self.base)
        return self._absolute[href]

    def link_url(self, a: HtmlElement) -> str:
        """An outbound link's URL without its #fragment (another page's #section is that page)."""
        return urldefrag(self.absolute(a.get("href", "")) or "")[0]

    def outbound(self, parts: list[HtmlElement]) -> list[HtmlElement]:
        """Links in the blocks that lead off this page (not fragments, scripts, mail or the page itself)."""
        found = []
        for a in (a for p in parts for a in p.iter("a")):
            href = (a.get("href") or "").strip()
            if not href or href.startswith("#") or _NOT_WEB.match(href):
                continue
            url = self.absolute(href)
            if url is None or urldefrag(url)[0] == self.page_url:  # ftp: and the like lead nowhere we read
                continue
            found.append(a)
        return found


def _lead_date(el: HtmlElement) -> datetime | None:
    """A date at the very start of the block's own text (after bullets, brackets or a list number)."""
    if el.tag == "div" and any(x.tag in ("p", "li", "div", "article", "table") for x in el.iterdescendants()):
        return None  # a wrapper: the paragraphs inside it are the leads
    head = head_text([el], 80)
    found = date_match(head)
    if found is not None and LEAD_PREFIX.fullmatch(head[: found[0]]):
        return found[2]
    first_time = next(el.iter("time"), None)  # <p><time datetime="…">11月30日</time> …</p>
    if first_time is not None and LEAD_PREFIX.fullmatch(text_before(el, first_time)[:12]):
        return time_value(first_time)
    return None


def _box_date(el: HtmlElement) -> datetime | None:
    if el.tag == "details":
        summary = el.find("summary")
        if summary is None:
            return None
        # The date in the summary, else the first one in the body (`<summary>标题</summary><p>日期：…`);
        # a <details> holding several dated items is a container (_candidates), not an entry.
        return date_in_text(text_of(summary)) or _parts_date([el])
    return _parts_date([el])


def _parts_date(parts: list[HtmlElement]) -> datetime | None:
    for part in parts:
        for t in part.iter("time"):
            if dt := time_value(t):
                return dt
    return date_in_text(head_text(parts))


# -- entries -----------------------------------------------------------------------------------------------


@dataclass
class _Found:
    el: HtmlElement
    kind: str  # "lead" | "box" | "heading"
    date: datetime
    parts: list[HtmlElement]


def _candidates(page: _Page) -> list[_Found]:
    found: dict[HtmlElement, _Found] = {}
    for el in page.blocks:
        if el in page.lead_dates:
            if page.inner_dated(el, [el]):  # a <dd>/<blockquote> holding dated items: those are the entries
                continue
            found[el] = _Found(el, "lead", page.lead_dates[el], page.extent(el))
        elif el in page.box_dates:
            found[el] = _Found(el, "box", page.box_dates[el], [el])
        elif el.tag in HEADINGS or el.tag in SECTIONS:
            parts = page.extent(el)
            if page.inner_dated(el, parts):  # a section whose entries are dated paragraphs or items
                continue
            own = date_in_text(text_of(el)) if el.tag in HEADINGS else None
            date = own or _parts_date(parts)
            if date is None:
                continue
            items = _items_under(page, parts[1:]) if own and not clean_title(text_of(el)) else []
            if len(items) >= 2:  # a date heading over the day's items: each item is an entry of that date
                for item in items:
                    found[item[0]] = _Found(item[0], "lead", date, item)
            else:
                found[el] = _Found(el, "heading", date, parts)
    # A box holding two or more dated blocks is a container. A box speaks for the one dated block inside
    # it when that is its heading or where its date came from (<article><h2>…</h2><time>); a nested item
    # with its own, different date stays an entry.
    inner = {
        el: {x for p in f.parts for x in p.iter(*_ALL) if x is not el and x in found}
        for el, f in found.items()
        if f.kind != "lead"
    }
    kept = {el for el in found if len(inner.get(el, ())) < 2}
    # A box around another dated box is an entry only when it carries a date of its own outside it (a
    # dated item with a dated sub-item); a wrapper whose only date is the inner one's is not.
    for el in list(kept):
        boxes = {x for x in inner.get(el, ()) if found[x].kind == "box"}
        if boxes and _date_outside(el, boxes) is None:
            kept.discard(el)
    covered = {
        x
        for el in kept
        for x in inner.get(el, ())
        if found[x].kind != "box" and (x.tag in HEADINGS or found[x].date == found[el].date)
    }
    return [f for el, f in found.items() if el in kept and el not in covered]


def _date_outside(el: HtmlElement, skip: set[HtmlElement]) -> datetime | None:
    """The date in `el`'s <time> elements or first text, leaving out the subtrees in `skip`."""
    chunks: list[str] = []

    def walk(node: HtmlElement) -> datetime | None:
        if node in skip:
            return None
        if node.tag == "time" and (dt := time_value(node)):
            return dt
        if isinstance(node.tag, str) and node.text:
            chunks.append(node.text)
        for child in node:
            if dt := walk(child):
                return dt
            if child.tail:
                chunks.append(child.tail)
        return None

    return walk(el) or date_in_text(squash(" ".join(chunks))[:SCAN_CHARS])


def _items_under(page: _Page, parts: list[HtmlElement]) -> list[list[HtmlElement]]:
    """The items under a heading that is only a date: each list item, and each paragraph that opens
    with a link together with the undated paragraphs after it."""
    items: list[list[HtmlElement]] = []
    for part in parts:
        if part.tag in ("ul", "ol"):
            items.extend([li] for li in part if li.tag == "li")
        elif part.tag in LEADS:
            links = page.outbound([part])
            if links and not clean_title(text_before(part, links[0])):
                items.append([part])
            elif items:
                items[-1].append(part)
    return items


def _heading_of(f: _Found) -> HtmlElement | None:
    if f.el.tag in HEADINGS:
        return f.el
    return next((h for p in f.parts for h in p.iter(*HEADINGS)), None)


def _lead_title(page: _Page, parts: list[HtmlElement]) -> str:
    """A link placed right after the date is the title; otherwise the first sentence after the date."""
    for el in parts:
        # The first link with text, or an emphasised phrase, placed right after the date is the title.
        link = next((a for a in page.outbound([el]) if text_of(a)), None)
        strong = next((x for x in el.iter("strong", "b") if clean_title(text_of(x))), None)
        for x in (link, strong):
            if x is not None and not clean_title(text_before(el, x)):
                return clean_title(text_of(x))
        text = text_of(el)
        led = next(el.iter("time"), None)
        if led is not None and not clean_title(text_before(el, led)):  # the <time> is the date, not title
            text = text.replace(text_of(led), " ", 1)
        if title := first_sentence(clean_title(text)):
            return title
    return ""


def _title(page: _Page, f: _Found) -> str:
    if f.el.tag == "details":
        summary = f.el.find("summary")
        title = clean_title(text_of(summary)) if summary is not None else ""
        return title or _lead_title(page, f.parts)
    heading = _heading_of(f) if f.kind != "lead" else None
    if heading is not None and (title := clean_title(text_of(heading))):
        return title
    return _lead_title(page, f.parts) or (text_of(heading) if heading is not None else "")


def _heading_link(page: _Page, heading: HtmlElement) -> str | None:
    wrapped = next((a for a in heading.iterancestors("a") if a.get("href")), None)
    links = page.outbound(([wrapped] if wrapped is not None else []) + [heading])
    return page.link_url(links[0]) if links else None


def _own_anchor(f: _Found) -> str | None:
    """The block's own id, or (for headings and boxes) an id, named anchor or `#permalink` inside it.

    A lead only counts ids on itself: a footnote reference in a paragraph is not the entry's anchor."""
    if own := f.el.get("id"):
        return str(own)
    scope = [f.el] if f.kind == "lead" else f.parts
    for part in scope:
        for x in part.iter(*HEADINGS, "a"):
            if inner := x.get("id"):
                return str(inner)
            if x.tag == "a" and (name := x.get("name")):
                return str(name)
    if f.kind == "lead":
        return None
    for a in (a for p in f.parts for a in p.iter("a")):
        href = (a.get("href") or "").strip()
        if href.startswith("#") and len(href) > 1:
            return href[1:]
    return None


def _link(page: _Page, f: _Found, title: str) -> tuple[str, str]:
    """(url, anchor): the heading's link, else the first outbound link, else the page plus an anchor."""
    heading = _heading_of(f)
    if heading is not None and (link := _heading_link(page, heading)):
        return link, ""
    if links := page.outbound(f.parts):
        # Another page's #section is that page: the item merges with the same link from other sources.
        return page.link_url(links[0]), ""
    anchor = _own_anchor(f) or derived_anchor(f.date, title or head_text(f.parts, 200),
                                              yearless=f.el in page.yearless)
    return absolutize(f"#{anchor}", page.page_url) or page.page_url, anchor


def _snippet(f: _Found, text: str, title: str) -> str:
    """The entry's text after its leading date (text or <time>) and its title."""
    found = date_match(text)
    led = next(f.el.iter("time"), None)
    bare = yearless_match(text[:80])
    if found is not None and LEAD_PREFIX.fullmatch(text[: found[0]]):
        text = text[found[1] :]
    elif bare is not None and LEAD_PREFIX.fullmatch(text[: bare[0]]):
        text = text[bare[1] :]
    elif led is not None and text.startswith(text_of(led)):
        text = text[len(text_of(led)) :]
    text = LEADING.sub("", text)
    if title and text.startswith(title):
        text = LEADING.sub("", text[len(title) :])
    return text.strip()[:600]


def scan_page(html: str, page_url: str, now: datetime, *, keep_html: bool = False,
              year_clock: datetime | None = None) -> PageScan:
    """The dated entries on a page, newest first, with counts of what was looked at. Dates are clamped to
    `now`; a date without a year is placed by `year_clock` (default: `now`)."""
    root, base = parse_page(html, page_url)
    page = _Page(root, page_url, base, year_clock or now)
    found = _candidates(page)
    entries: dict[str, Entry] = {}
    for f in found:
        published = clamp_date(f.date, now)
        if published is None:
            continue
        title = _title(page, f)
        url, anchor = _link(page, f, title)
        text = block_text(f.parts)
        entry = Entry(url, title[:300], published, _snippet(f, text, title), anchor, text)
        if keep_html:
            entry.html = "".join(lxml.html.tostring(p, encoding="unicode", with_tail=False) for p in f.parts)
        entries.setdefault(url, entry)
    dated = len(page.lead_dates) + len(page.box_dates) + sum(1 for f in found if f.kind == "heading")
    ordered = sorted(entries.values(), key=lambda e: e.published_at, reverse=True)
    return PageScan(ordered, page.counts, dated)
