"""Finding a site's feed from its homepage, and OPML import/export of the source list.

`discover_feed` order: the URL itself when it already is a feed → `<link rel="alternate">` feed links in
the page (comment feeds last) → the common paths (/feed, /rss, /atom.xml …) next to the page, then at
the site root. Every candidate is fetched and must parse as a feed before it is returned.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree
from pydantic import ValidationError

from curator import feeds
from curator.charset import decode_html
from curator.errors import ExtractionError, FetchError, SourceError
from curator.settings import SourceSettings
from curator.sources.jsonfeed import is_json_feed
from curator.sources.rss import FEED_ACCEPT
from curator.urls import absolutize, domain, is_web_url

if TYPE_CHECKING:
    from curator.http import Fetcher

log = logging.getLogger(__name__)
Cpu = Callable[..., Awaitable[Any]]

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/rdf+xml")
COMMON_PATHS = ("feed", "rss", "atom.xml", "feed.xml", "index.xml", "rss.xml")
DISCOVERY_ACCEPT = "text/html;q=0.9, " + FEED_ACCEPT
_MAX_LINK_TAGS = 4  # feed links tried from one page
# OPML is a config file: no DTD at all, so no entity tricks.
_OPML_DTD = re.compile(rb"<!ENTITY|<!DOCTYPE", re.IGNORECASE)
_DEFAULTS = SourceSettings(name="-", url="https://example.invalid/")
_OPTIONAL = ("kind", "weight", "section", "enabled", "max_entries")
PAGE_KINDS = {"watch"}  # kinds that follow a web page, not a feed


def looks_like_feed(body: bytes, content_type: str = "") -> bool:
    """True when the body parses as RSS/Atom/RDF or is a JSON Feed."""
    if is_json_feed(body, content_type):
        return True
    head = body[:1024].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return False
    try:
        parsed = feeds.parse(body, "", content_type)  # bytes only: a body naming a local file opens nothing
    except SourceError:  # declares entities: not a feed we will ever read
        return False
    return bool(parsed.get("version")) and (bool(parsed.entries) or not parsed.bozo)


def feed_links(html: str, page_url: str) -> list[str]:
    """Absolute feed URLs from `<link rel="alternate" type="…feed type…" href>`, comment feeds last."""
    try:
        root = lxml.html.fromstring(html or "<html></html>")
    except (etree.ParserError, ValueError):
        return []
    base_el = root.find(".//base[@href]")
    base = urljoin(page_url, base_el.get("href")) if base_el is not None else page_url
    found: list[tuple[bool, str]] = []
    for link in root.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        ctype = (link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" not in rels or ctype not in FEED_TYPES:
            continue
        url = absolutize(link.get("href") or "", base)
        if url and url not in (u for _, u in found):
            is_comments = "comment" in f"{link.get('title', '')} {url}".lower()
            found.append((is_comments, url))
    return [url for _, url in sorted(found, key=lambda pair: pair[0])]  # stable: page order otherwise


def common_feed_urls(url: str) -> list[str]:
    parts = urlsplit(url)
    here = url if parts.path.endswith("/") else urljoin(url, ".")
    root = f"{parts.scheme}://{parts.netloc}/"
    urls: list[str] = []
    for base in (here, root):
        for path in COMMON_PATHS:
            candidate = urljoin(base, path)
            if candidate not in urls:
                urls.append(candidate)
    return urls


async def _inline(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args)


async def _is_feed(fetcher: Fetcher, url: str, cpu: Cpu) -> bool:
    try:
        resp = await fetcher.get(url, accept=FEED_ACCEPT)
    except FetchError as exc:
        log.debug("no feed at %s (%s)", url, exc.reason)
        return False
    return await _feed_check(cpu, resp.body, resp.headers.get("content-type", ""))


async def _feed_check(cpu: Cpu, body: bytes, content_type: str) -> bool:
    try:
        return bool(await cpu(looks_like_feed, body, content_type))
    except ExtractionError as exc:  # the parser pool's deadline or memory cap: not a feed we can read
        log.info("a candidate feed could not be parsed (%s)", exc.reason)
        return False


async def discover_feed(fetcher: Fetcher, url: str, cpu: Cpu = _inline) -> str:
    """The feed URL for `url` (a feed or a homepage). FetchError if the page itself cannot be fetched;
    SourceError(no_feed_found) if no feed is found. `cpu` runs the feed parsing (the parser pool)."""
    resp = await fetcher.get(url, accept=DISCOVERY_ACCEPT)
    ctype = resp.headers.get("content-type", "")
    if await _feed_check(cpu, resp.body, ctype):
        return resp.final_url
    tried: list[str] = []
    if "html" in ctype.lower() or not ctype:
        text, _ = decode_html(resp.body, ctype)
        for link in feed_links(text, resp.final_url)[:_MAX_LINK_TAGS]:
            tried.append(link)
            if await _is_feed(fetcher, link, cpu):
                return link
    for candidate in common_feed_urls(resp.final_url):
        if candidate in tried:
            continue
        tried.append(candidate)
        if await _is_feed(fetcher, candidate, cpu):
            return candidate
    raise SourceError(
        f"no feed found for {url}: the page links no RSS/Atom/JSON feed and none of "
        f"/{', /'.join(COMMON_PATHS)} answered with one. Give the feed's own URL, or add the page with "
        f'kind = "watch" to follow it without a feed.',
        reason="no_feed_found",
        url=resp.final_url,
    )


# -- OPML ------------------------------------------------------------------------------------------------


def _attr(key: str) -> str:
    """OPML attribute for a curator field: max_entries → curatorMaxEntries."""
    return "curator" + key.title().replace("_", "")


def parse_opml(data: bytes) -> list[dict[str, Any]]:
    """Source tables from an OPML file: `{"name", "url"}` plus any non-default curator attributes.

    Outlines without an http(s) `xmlUrl` are skipped; a repeated name gets " (2)", " (3)" …"""
    if _OPML_DTD.search(data[:1_000_000]):
        raise SourceError("OPML declares a DTD or entities (refused)", reason="xml_entities")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise SourceError(f"not valid OPML/XML: {exc}", reason="bad_opml") from exc
    if root.tag.lower() != "opml" or root.find("body") is None:
        raise SourceError("not an OPML document (no <opml><body>)", reason="bad_opml")
    sources: list[dict[str, Any]] = []
    names: set[str] = set()
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url and outline.get(_attr("kind")):  # a watched page (type="link"), as export-opml writes it
            url = (outline.get("url") or outline.get("htmlUrl") or "").strip()
        if not is_web_url(url):
            continue
        name = (outline.get("title") or outline.get("text") or "").strip() or domain(url) or url
        unique, n = name, 2
        while unique in names:
            unique, n = f"{name} ({n})", n + 1
        names.add(unique)
        entry: dict[str, Any] = {"name": unique, "url": url}
        for key in _OPTIONAL:
            raw = outline.get(_attr(key))
            if raw is not None:
                entry[key] = raw
        try:
            checked = SourceSettings.model_validate(entry)
        except ValidationError:
            log.warning("OPML outline %r has invalid curator attributes; imported with defaults", unique)
            checked = SourceSettings(name=unique, url=url)
        sources.append(source_table(checked))
    return sources


def source_table(src: SourceSettings) -> dict[str, Any]:
    """A `[[sources]]` table: name, kind and url, plus the fields that differ from the defaults."""
    table: dict[str, Any] = {"name": src.name, "kind": src.kind, "url": src.url}
    for key in _OPTIONAL[1:]:
        value = getattr(src, key)
        if value != getattr(_DEFAULTS, key):
            table[key] = value
    return table


def to_opml(sources: Iterable[SourceSettings], title: str = "curator sources") -> str:
    """OPML 2.0; curator-only fields ride along as `curatorKind`, `curatorWeight` … attributes. A watched
    page is `type="link"` with `url` / `htmlUrl` (no `xmlUrl`: a feed reader must not poll it as a feed)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for src in sources:
        attrs = {"text": src.name, "title": src.name, "type": "rss", "xmlUrl": src.url}
        if src.kind in PAGE_KINDS:  # a page followed without a feed: a link outline, never a fake rss entry
            attrs = {"text": src.name, "title": src.name, "type": "link", "url": src.url, "htmlUrl": src.url}
        for key, value in source_table(src).items():
            if key in _OPTIONAL and not (key == "kind" and value == "rss"):
                attrs[_attr(key)] = str(value).lower() if isinstance(value, bool) else str(value)
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
