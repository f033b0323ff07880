"""The weekly's own feeds: Atom (RFC 4287) and JSON Feed 1.1, one entry per published issue, rewritten on
every `publish`.

    store (published issues → their drafts) ─► FeedEntry ─┬► atom_xml ─► publication.feed_path
                                                          └► json_feed ─► publication.json_feed_path

The feed is rebuilt from what the store says was published, not patched: each published issue's
draft (the record) is read back, made into its published copy (curator/site.py) and rendered to
HTML, so the feed never lists an issue twice and never carries provenance comments.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import nh3
from lxml import etree
from markdown_it import MarkdownIt

from curator import site, sitepaths
from curator.compose import write_atomic
from curator.models import ReviewData
from curator.settings import Settings
from curator.sitepaths import slugify
from curator.store import Store

__all__ = ["FEED_ENTRIES", "JSON_FEED_VERSION", "FeedEntry", "atom_xml", "entry_of", "json_feed", "markdown_html",
           "write_feeds"]

log = logging.getLogger(__name__)

ATOM = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 20  # the newest issues a reader's client sees by default (publication.feed_entries)
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
SUMMARY_CHARS = 280
_MD = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "strong", "em", "code", "pre",
         "blockquote", "a", "hr", "br", "table", "thead", "tbody", "tr", "th", "td", "sup", "img"}
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML 1.0


@dataclass(frozen=True)
class FeedEntry:
    number: int
    title: str
    updated: datetime  # the issue's date (never the wall clock: the feed is the same bytes on every rebuild)
    summary: str
    content_html: str
    slug: str


def markdown_html(body: str) -> str:
    """Sanitised HTML of an issue body (front matter already removed). CommonMark has no footnotes: the
    marks become superscript [n] and the definitions a numbered list, as the review board shows them."""
    body = re.sub(r"<!--.*?-->\n?", "", body, flags=re.DOTALL)
    body = re.sub(r"^\[\^(\d+)\]:\s*", r"\1. ", body, flags=re.MULTILINE)
    body = re.sub(r"\[\^(\d+)\]", r"<sup>[\1]</sup>", body)
    html = _MD.render(body)
    # html=False escaped the <sup> above too: restore exactly that one shape.
    html = re.sub(r"&lt;sup&gt;\[(\d+)\]&lt;/sup&gt;", r"<sup>[\1]</sup>", html)
    return nh3.clean(html, tags=_TAGS, attributes={"a": {"href"}, "img": {"src", "alt"}},
                     url_schemes={"http", "https"}, link_rel="noopener noreferrer")


def _summary(body: str, intro: str) -> str:
    """The issue's intro when the body still carries it, else its first lines of prose (plain text)."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", re.sub(r"<!--.*?-->", "", body, flags=re.DOTALL))]
    prose = [p for p in paragraphs if p and not p.startswith(("#", "[^", "|", "```", "---", "!["))]
    text = intro.strip() if intro.strip() and intro.strip() in body else " ".join(prose[:2])
    text = re.sub(r"\[\^\d+\]", "", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links → their text
    text = re.sub(r"[*_`]+", "", re.sub(r"\s+", " ", text)).strip()
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1].rstrip() + "…"


def entry_of(number: int, title: str, day: datetime, body: str, intro: str) -> FeedEntry:
    """The feed entry of one published issue, from its published copy's body."""
    when = day if day.tzinfo else day.replace(tzinfo=UTC)
    return FeedEntry(number=number, title=title, updated=when.astimezone(UTC), summary=_summary(body, intro),
                     content_html=markdown_html(body), slug=slugify(title) or f"issue-{number}")


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(parent: etree._Element, tag: str, value: str, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{ATOM}}}{tag}", **attrs)
    el.text = _XML_BAD.sub("", value)
    return el


def _link(base_url: str, issue_url: str, entry: FeedEntry) -> str | None:
    if not base_url:
        return None
    rel = issue_url.format(n=entry.number, date=entry.updated.date().isoformat(), slug=entry.slug)
    return urljoin(base_url if base_url.endswith("/") else base_url + "/", rel)


def _namespace(base_url: str, name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, base_url or f"curator:{name}")


def _entry_id(ns: uuid.UUID, entry: FeedEntry) -> str:
    return uuid.uuid5(ns, f"issue-{entry.number}").urn


def _feed_url(base_url: str, feed_name: str) -> str:
    return urljoin(base_url if base_url.endswith("/") else base_url + "/", feed_name)


def atom_xml(entries: list[FeedEntry], *, name: str, author: str, language: str, base_url: str = "",
             issue_url: str = "{n}/", feed_name: str = "feed.xml", limit: int = FEED_ENTRIES) -> bytes:
    """The Atom document for `entries` (newest first, at most `limit`). Ids are name-based UUIDs of
    the site (base_url, else the publication's name) and the issue number, so moving the pages
    (issue_url) never makes a reader's client show an issue twice."""
    entries = sorted(entries, key=lambda e: e.number, reverse=True)[:limit]
    ns = _namespace(base_url, name)
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", language)
    _text(feed, "id", ns.urn)
    _text(feed, "title", name)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    _text(feed, "updated", _rfc3339(max((e.updated for e in entries), default=epoch)))
    _text(_text(feed, "author", ""), "name", author)
    if base_url:
        etree.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=base_url)
        etree.SubElement(feed, f"{{{ATOM}}}link", rel="self", type="application/atom+xml",
                         href=_feed_url(base_url, feed_name))
    _text(feed, "generator", "curator")
    for e in entries:
        item = etree.SubElement(feed, f"{{{ATOM}}}entry")
        href = _link(base_url, issue_url, e)
        _text(item, "id", _entry_id(ns, e))
        _text(item, "title", e.title)
        _text(item, "updated", _rfc3339(e.updated))
        _text(item, "published", _rfc3339(e.updated))
        if href:
            etree.SubElement(item, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=href)
        _text(item, "summary", e.summary, type="text")
        _text(item, "content", e.content_html, type="html")
    xml: bytes = etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return xml


def json_feed(entries: list[FeedEntry], *, name: str, author: str, language: str, base_url: str = "",
              issue_url: str = "{n}/", feed_name: str = "feed.json", limit: int = FEED_ENTRIES) -> str:
    """The JSON Feed 1.1 document for `entries` (newest first, at most `limit`), with the same ids as the
    Atom feed, so a reader who moves from one to the other is not shown an issue twice."""
    entries = sorted(entries, key=lambda e: e.number, reverse=True)[:limit]
    ns = _namespace(base_url, name)
    doc: dict[str, object] = {"version": JSON_FEED_VERSION, "title": name, "language": language,
                              "authors": [{"name": author}]}
    if base_url:
        doc["home_page_url"] = base_url
        doc["feed_url"] = _feed_url(base_url, feed_name)
    items = []
    for e in entries:
        item: dict[str, object] = {"id": _entry_id(ns, e), "title": e.title, "summary": e.summary,
                                   "content_html": e.content_html, "date_published": _rfc3339(e.updated)}
        if href := _link(base_url, issue_url, e):
            item["url"] = href
        items.append(item)
    doc["items"] = items
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _draft_file(settings: Settings, recorded: str) -> Path | None:
    """The draft an issue was published from, as the store recorded it (relative paths were given from
    the workspace or the shell's folder)."""
    path = Path(recorded)
    for candidate in ([path] if path.is_absolute() else [settings.home / path, path]):
        if candidate.is_file():
            return candidate
    return None


def _entry_from_draft(settings: Settings, number: int, path: Path, text: str) -> FeedEntry:
    meta, body = site.front_matter(site.strip_provenance(text))
    review = path.with_suffix(".json")
    data = ReviewData.model_validate_json(review.read_text(encoding="utf-8")) if review.is_file() else None
    title = str(meta.get("title") or (data.title if data else f"{settings.publication.name} #{number}"))
    raw_day = data.date if data else str(meta.get("date") or "1970-01-01")
    day = datetime.fromisoformat(raw_day) if len(raw_day) > 10 else datetime.fromisoformat(raw_day[:10] + "T00:00:00")
    return entry_of(number, title, day, body, settings.publication.intro)


def write_feeds(settings: Settings, store: Store, current: tuple[int, Path, str]) -> list[Path]:
    """Rewrite the Atom feed (publication.feed_path) and the JSON Feed (publication.json_feed_path) from
    every published issue plus `current` (number, draft path, its text: the issue being published now);
    returns the files written ([] when both are turned off). A published issue whose draft is gone is
    left out, with a warning."""
    pub = settings.publication
    targets = [(key, rel) for key, rel in (("publication.feed_path", pub.feed_path),
                                            ("publication.json_feed_path", pub.json_feed_path)) if rel]
    if not targets:
        return []
    dests = [(key, sitepaths.inside(settings.home, rel, key)) for key, rel in targets]
    entries = _published_entries(settings, store, current)
    written = []
    for key, dest in dests:
        render = json_feed if key == "publication.json_feed_path" else _atom_text
        write_atomic(dest, render(entries, name=pub.name, author=pub.author, language=pub.language,
                                  base_url=pub.base_url, issue_url=pub.issue_url, feed_name=dest.name,
                                  limit=pub.feed_entries))
        written.append(dest)
    return written


def _atom_text(entries: list[FeedEntry], **kwargs: Any) -> str:
    return atom_xml(entries, **kwargs).decode("utf-8")


def _published_entries(settings: Settings, store: Store, current: tuple[int, Path, str]) -> list[FeedEntry]:
    number, path, text = current
    entries = [_entry_from_draft(settings, number, path, text)]
    for n in store.published_issue_numbers():
        record = store.issue(n)
        if n == number or record is None or not record.path:
            continue
        draft = _draft_file(settings, record.path)
        if draft is None:
            log.warning("feed: issue #%s was published from %s, which is gone; left out of the feed", n, record.path)
            continue
        try:
            entries.append(_entry_from_draft(settings, n, draft, draft.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:  # ValueError: pydantic's ValidationError, a bad date
            log.warning("feed: issue #%s (%s) cannot be read back (%s); left out of the feed", n, draft, exc)
    return entries
