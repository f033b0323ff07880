"""rs-trafilatura, the extractor of non-CJK pages when it is installed (CPython 3.12, Linux x86_64).

rs-trafilatura (MIT OR Apache-2.0) is a Rust port of trafilatura with a page-type classifier
(article, forum, product, collection, listing, documentation, service) and one extraction profile
per type; on the dev sets it beats trafilatura's default on every English page type at half its CPU
(bench/eval_extraction.py). It ships only cp312 manylinux x86_64 wheels: elsewhere `available()` is
False and extract.py runs its trafilatura path.

It gets the page curator already cleaned (XML-incompatible characters, script/style and hidden text
removed, the Next.js streamed segments kept: `extract.prepared_tree`), serialised once, so both
engines see the same page. Its text, title, author, date, site name, description and language are
the article's; `failed` is the cheap signal that sends a page to the trafilatura path instead.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, replace
from functools import cache
from types import ModuleType

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

logger = logging.getLogger(__name__)

# rs-trafilatura's own predicted quality of its extraction (an estimated F1, 0–1). Under this, the
# page goes to the trafilatura path. 0.8 is the line rs-trafilatura documents ("scores below 0.80
# suggest the extraction may be poor"); on all non-CJK dev pages together (1,825: wcxb-dev,
# magic-html, ScrapingHub) it sends 7% of pages to trafilatura and scores 0.861 word F1 against
# 0.847 with no fallback, 0.855 at 0.7 and 0.857 at 0.9 (no line wins on every set: 0.7 is 0.004
# better on ScrapingHub, 0.9 on magic-html articles; 0.8 is the best on wcxb-dev and overall).
MIN_QUALITY = 0.8
# A text with no paragraph structure: on a page rs-trafilatura calls an article, a text averaging
# this many characters per line is a container flattened whole (on dev news pages: the story run
# into the site's "more stories" rails and footer, 2-4 times the story's length), and the page goes
# to the trafilatura path. On all non-CJK dev pages (1,825) it fires on 30: 13 wcxb articles, 7
# ScrapingHub, 4 magic-html articles, 1 forum, 5 wcxb pages of other types that rs-trafilatura
# classed as articles. Paired word F1, full run: overall +0.002 [+0.000,+0.004], ScrapingHub (its
# protocol) +0.009 [+0.002,+0.017], wcxb articles +0.002; the cost is two listings (-0.011 on that
# type, 94 pages: one a listing rs-trafilatura kept whole on one line, where trafilatura keeps a teaser).
# Not a knife-edge: the pages it would flag at a higher bound are a subset, and the summed per-page gain
# over all dev sets is +4.0 F1 at 1,000, +3.6 at 1,250, +3.9 at 1,500, +3.2 at 2,000, +1.5 at 3,000.
FLAT_LINE_CHARS = 1000


@cache
def _module() -> ModuleType | None:
    try:
        import rs_trafilatura
    except ImportError:  # not installed (no wheel for this interpreter / platform)
        return None
    return rs_trafilatura


def available() -> bool:
    """Whether rs-trafilatura can be imported here."""
    return _module() is not None


@dataclass(frozen=True)
class RsDoc:
    """What extract.py needs of one rs-trafilatura result (the same names as trafilatura's document)."""

    text: str
    title: str | None
    author: str | None
    date: str | None
    sitename: str | None
    description: str | None
    language: str | None
    image: str | None
    page_type: str
    quality: float


_OG_IMAGE = etree.XPath("//meta[@property='og:image' or @name='twitter:image']/@content")


def _str(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


# On large pages rs-trafilatura reads a lighter copy: attribute values longer than this are data
# (serialised app state, data: URIs), never text; a dev collection page carried 1.5 MB of them.
BLOB_CHARS = 1000


def _serialised(root: HtmlElement, light: bool) -> str:
    """The page as rs-trafilatura reads it; `light` (large pages): a copy with `<span>` tags unwrapped
    (their text stays in place) and attribute values over BLOB_CHARS dropped (not on <meta>).

    rs-trafilatura's cost grows faster than linearly with inline elements, and with the markup it
    parses: on a dev documentation page of 5,161 elements, 3,659 of them spans (syntax-highlighted
    code), it took 0.43 s, 0.11 s unwrapped; on a 5 MB collection page 0.15 s, 0.07 s without its
    attribute blobs (same text). extract.py asks for it on large pages only
    (extract.LARGE_PAGE_ELEMENTS): there, on the dev pages, unwrapping moves word F1 by +0.26
    points summed over 38 collection pages, +0.26 over 22 product pages, −0.04 over 23
    documentation pages, under ±0.06 elsewhere; on all pages it would cost 0.004 on magic-html
    articles and 0.009 on wcxb listings (it moves the predicted quality, so the routing, both ways)."""
    tree = root
    if light:
        tree = copy.deepcopy(root)
        etree.strip_tags(tree, "span")
        for el in tree.iter():
            if isinstance(el.tag, str) and el.tag != "meta":
                for name in [k for k, v in el.attrib.items() if len(v) > BLOB_CHARS]:
                    del el.attrib[name]
    return str(lxml.html.tostring(tree, encoding="unicode"))


def extract(root: HtmlElement, url: str | None, *, light: bool = False) -> RsDoc | None:
    """rs-trafilatura on the cleaned tree (a lighter copy with `light`, see `_serialised`); None when
    it is not installed or fails on the page."""
    rs = _module()
    if rs is None:
        return None
    html = _serialised(root, light)
    try:
        res = rs.extract(html, url=url) if url else rs.extract(html)
    except (ValueError, RuntimeError, TypeError) as exc:  # the Rust side reports a bad page this way
        logger.debug("rs-trafilatura failed on %s: %s", url, exc)
        return None
    images = _OG_IMAGE(root)
    return RsDoc(
        text=(res.main_content or "").strip(),
        title=_str(res.title),
        author=_str(res.author),
        date=_str(res.date),
        sitename=_str(res.sitename),
        description=_str(res.description),
        language=_str(res.language),
        image=_str(images[0]) if images else None,
        page_type=res.page_type or "",
        quality=float(res.extraction_quality or 0.0),
    )


# The date search when rs-trafilatura found none in the page's meta / structured data: htmldate's
# cheap mode (meta, JSON-LD, <time> and date-classed elements, the URL; no text search), on pages
# up to this size (its cost grows with the tree; the feed's date wins upstream anyway).
DATE_SEARCH_MAX_CHARS = 1_500_000


def _date_search(root: HtmlElement, url: str | None) -> str | None:
    import htmldate

    try:
        found = htmldate.find_date(root, extensive_search=False, original_date=True, url=url)
    except (ValueError, TypeError, etree.LxmlError) as exc:
        logger.debug("htmldate failed on %s: %s", url, exc)
        return None
    return found if isinstance(found, str) else None


def complete_metadata(doc: RsDoc, root: HtmlElement, url: str | None, page_chars: int) -> RsDoc:
    """Fill what rs-trafilatura left empty from the same tree: the <title>, a bounded date search."""
    title = doc.title or _str(root.findtext(".//title"))
    date = doc.date
    if date is None and page_chars <= DATE_SEARCH_MAX_CHARS:
        date = _date_search(root, url)
    return replace(doc, title=title, date=date)


def flat(doc: RsDoc) -> bool:
    """An article-type text without paragraphs: over FLAT_LINE_CHARS characters per line on average."""
    lines = sum(1 for line in doc.text.split("\n") if line.strip())
    return doc.page_type == "article" and len(doc.text) >= FLAT_LINE_CHARS * max(lines, 1)


def failed(doc: RsDoc | None, min_chars: int) -> bool:
    """The cheap signal that rs-trafilatura's extraction failed: nothing, too short, its own
    predicted quality under MIN_QUALITY, or an article flattened into a few long lines (`flat`)."""
    # rounded: its scores are sums of tenths in floating point (0.7999999999999999 is its 0.8)
    return doc is None or len(doc.text) < min_chars or round(doc.quality, 6) < MIN_QUALITY or flat(doc)
