"""Text of a page's blocks for the `watch` source: parsing, block text, titles, and paragraphs that hold
several dated lines split into one paragraph per line."""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from datetime import datetime
from urllib.parse import urljoin

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

from curator.errors import SourceError
from curator.sources.pagedates import DATE_PATTERNS, date_match, strip_dates, yearless_match

SCAN_CHARS = 1500  # date text is looked for near the start of a box
LEAD_PREFIX = re.compile(r"[\W\d_]{0,12}")  # bullets, brackets, a list number before a lead's date
_PUNCT = "\\s·|:：\\-–—/,，.。;；()（）\\[\\]【】「」『』<>《》*•#"
_EDGES = re.compile(f"^[{_PUNCT}]+|[{_PUNCT}]+$")
LEADING = re.compile(f"^[{_PUNCT}]+")
_NUMBERING = re.compile(r"^\s*(?:No\.|#)?\s*\d{1,5}\s*[.、)）:：]\s*")
_SENTENCE_END = re.compile(r"[。！？!?；;]")


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def text_of(el: HtmlElement) -> str:
    return squash(el.text_content())


_BLOCK_TAGS = {
    *("h1", "h2", "h3", "h4", "h5", "h6", "p", "div", "dt", "dd", "blockquote", "tr", "article", "li"),
    *("details", "section", "br", "ul", "ol", "td", "th", "summary", "table", "pre", "figure", "figcaption"),
}


def block_text(parts: list[HtmlElement]) -> str:
    """The blocks' text, with a space where one block ends and another begins (never inside a line)."""
    out: list[str] = []

    def walk(node: HtmlElement) -> None:
        block = node.tag in _BLOCK_TAGS
        if block:
            out.append(" ")
        if isinstance(node.tag, str) and node.text:
            out.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                out.append(child.tail)
        if block:
            out.append(" ")

    for part in parts:
        walk(part)
    return squash("".join(out))


def head_text(parts: list[HtmlElement], limit: int = SCAN_CHARS) -> str:
    """The first `limit` characters of the blocks' text, without walking a whole large container."""
    chunks: list[str] = []
    size = 0
    for part in parts:
        for piece in part.itertext():
            chunks.append(piece)
            size += len(piece)
            if size >= limit:
                return squash(" ".join(chunks))[:limit]
    return squash(" ".join(chunks))


def text_before(el: HtmlElement, stop: HtmlElement) -> str:
    """The text of `el` that comes before the element `stop` inside it."""
    out: list[str] = []

    def walk(node: HtmlElement) -> bool:
        if node is stop:
            return True
        if isinstance(node.tag, str) and node.text:
            out.append(node.text)
        for child in node:
            if walk(child):
                return True
            if child.tail:
                out.append(child.tail)
        return False

    walk(el)
    return squash("".join(out))


def clean_title(text: str) -> str:
    text = squash(strip_dates(text))
    if (bare := yearless_match(text[:80])) and LEAD_PREFIX.fullmatch(text[: bare[0]]):
        text = text[bare[1] :]  # a leading month-day is the entry's date, not its title
    text = _EDGES.sub("", _NUMBERING.sub("", _EDGES.sub("", text)))
    return squash(text)


def first_sentence(text: str, limit: int = 120) -> str:
    m = _SENTENCE_END.search(text)
    cut = text[: m.start()] if m and m.start() >= 4 else text
    return cut[:limit].strip()


_LINE_SPLIT = re.compile(r"(<br\s*/?>|\n)", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]*>")


def starts_dated(markup: str) -> bool:
    head = squash(html_lib.unescape(_TAGS.sub("", markup)))[:80]
    found = date_match(head)
    return found is not None and bool(LEAD_PREFIX.fullmatch(head[: found[0]]))


def split_dated_lines(root: HtmlElement) -> None:
    """A paragraph holding several dated lines (Markdown without blank lines between entries, or <br>)
    becomes one paragraph per dated line, so each line is a lead of its own."""
    for p in list(root.iter("p")):
        text = p.text_content()
        if p.getparent() is None or sum(len(pattern.findall(text)) for pattern, _ in DATE_PATTERNS) < 2:
            continue
        inner = html_lib.escape(p.text or "", quote=False) + "".join(
            lxml.html.tostring(child, encoding="unicode") for child in p
        )
        pieces = _LINE_SPLIT.split(inner)  # content, separator, content, …
        groups: list[str] = [pieces[0]]
        for sep, piece in zip(pieces[1::2], pieces[2::2], strict=True):
            if starts_dated(piece) and _TAGS.sub("", groups[-1]).strip():
                groups.append(piece)
            else:
                groups[-1] += sep + piece
        if len(groups) < 2 or not starts_dated(groups[0]):
            continue
        tail, parent, at = p.tail, p.getparent(), p.getparent().index(p)
        parent.remove(p)
        for i, group in enumerate(groups):
            new = lxml.html.fragment_fromstring(f"<p>{group}</p>")
            new.tail = tail if i == len(groups) - 1 else "\n"
            parent.insert(at + i, new)


def parse_page(html: str, page_url: str) -> tuple[HtmlElement, str]:
    try:
        root = lxml.html.fromstring(html or "<html></html>")
    except (etree.ParserError, ValueError) as exc:
        raise SourceError(
            f"page could not be parsed as HTML: {exc}", reason="not_html", url=page_url
        ) from exc
    for junk in root.xpath("//script|//style|//template|//noscript"):
        junk.drop_tree()
    split_dated_lines(root)
    base_el = root.find(".//base[@href]")
    base = urljoin(page_url, base_el.get("href")) if base_el is not None else page_url
    return root, base


def derived_anchor(date: datetime, title: str, *, yearless: bool = False) -> str:
    """A stable anchor for an entry without an id: its date and a hash of its title. A date the page gave
    without a year is named by month and day only: its year depends on the clock it was read with."""
    digest = hashlib.sha1(squash(title).lower().encode("utf-8")).hexdigest()[:10]
    return f"{date:%m-%d}-{digest}" if yearless else f"{date:%Y-%m-%d}-{digest}"
