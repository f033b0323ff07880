"""Extract stage: main text and metadata from a fetched Page (with extract_rs, the only modules that know the extractors).

One parse, one extraction pass in the common case (`extract_text` is the text path, `extract_article`
adds metadata from the same pass):

1. drop characters XML cannot hold (trafilatura would otherwise fail on the whole page), parse the
   decoded `str` once with lxml (never bytes: RELIABILITY.md row 26);
2. remove script/style and hidden text (`htmlclean.remove_hidden`; script-revealed content stays);
3. profile the page from cheap signals (`page_kind`): a discussion (forum / Q&A thread markup), a
   CJK-language page, or any other page (article, service, product, listing, documentation …);
4. on non-CJK pages, where rs-trafilatura is installed (`extract_rs`, engine "auto"): its text and
   metadata, unless its result failed (text under `min_chars`, its own predicted quality under
   `extract_rs.MIN_QUALITY`, or an article flattened into a few long lines: `extract_rs.flat`);
   then (its metadata still stands), and on CJK pages, the trafilatura path below;
   run trafilatura once, in the mode the profile calls for (`MODES`), metadata included when
   rs-trafilatura did not run, with htmldate's cheap date search (meta and structured-data dates;
   the feed's date wins upstream);
5. a second pass only when a cheap signal says the first one failed: a precise pass whose text is
   under `min_chars` gets the balanced mode; on discussion pages, resiliparse's text wins when it is
   THREAD_GAIN times longer (trafilatura kept one post of the thread);
   large pages (`LARGE_PAGE_ELEMENTS`) get one trafilatura pass at most, a fast recall one, and
   resiliparse's text as the second: their cost stays bounded by the page's size; on a CJK
   article, readability's block (milliseconds) replaces trafilatura's text when it is a clearly
   shorter part of it (trafilatura kept an infobox, a story stream: `extract_cjk.tighter`);
   when every pass kept a fragment (collect would drop the page), a text already made that is long
   enough stands: readability's block, or rs-trafilatura's text its quality estimate turned down.
6. a video page whose text is only player chrome: the transcript it carries is the text (transcript.py).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import lxml.html
import trafilatura
from lxml import etree
from lxml.html import HtmlElement

from curator import extract_rs, outlinks, transcript
from curator.errors import ExtractionError
from curator.extract_cjk import readable_text, strip_legal_lines, thread_chars, thread_wins, tighter
from curator.htmlclean import (
    NEVER_TEXT,
    holds_the_page,
    main_block,
    remove_boilerplate,
    remove_hidden,
    text_len,
)
from curator.models import Article, Page
from curator.settings import ExtractSettings

# The one language detector is text.py's; re-exported because sources/watch.py imports it from here
# (drop the alias once that import points at curator.text).
from curator.text import detect_lang

logger = logging.getLogger(__name__)

_PARSER = lxml.html.HTMLParser(
    encoding="utf-8", remove_comments=True, remove_pis=True, collect_ids=False, default_doctype=False
)
_HTML_SNIFF = re.compile(
    r"<(?:!doctype\s+html|html|head|body|div|p|article|main|title|meta)\b", re.IGNORECASE
)
# Characters outside XML 1.0's Char production: lxml refuses to store them in a tree, and
# trafilatura then raises "All strings must be XML compatible" and loses the whole page.
_XML_INCOMPATIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# One setting for "too short to be an article", shared with collect (ExtractSettings.min_chars).
DEFAULT_MIN_CHARS = ExtractSettings().min_chars


# --- tree ----------------------------------------------------------------------------------------


def parse_html(html: str) -> HtmlElement:
    if not html or not _HTML_SNIFF.search(html[:8192]):
        raise ExtractionError("the page is not HTML; nothing to extract", reason="not_html", stage="extract")
    html = _XML_INCOMPATIBLE.sub("", html)
    try:
        root = lxml.html.document_fromstring(html.encode("utf-8"), parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError(
            f"the page could not be parsed as HTML ({exc})", reason="not_html", stage="extract"
        ) from exc
    return root


def _strip_non_text(root: HtmlElement) -> str:
    """Remove elements that never hold article text; returns the inline scripts' text.

    A `<noscript>` holding most of the page's text is the page as a reader without script sees it
    (a forum or app that renders its posts server-side there, Flarum's `#flarum-content`): it stays,
    as a `<div>`, by the rule that keeps a hidden block that is most of the page (`htmlclean`)."""
    scripts: list[str] = []
    fallbacks: list[HtmlElement] = []
    for el in list(root.iter(*NEVER_TEXT)):
        if el.get("type") == "application/ld+json" or el.getparent() is None:
            continue  # structured data feeds trafilatura's metadata
        if el.tag == "noscript":
            fallbacks.append(el)
            continue
        if el.tag == "script" and el.text and not el.get("src"):
            scripts.append(el.text)
        el.drop_tree()
    if fallbacks:
        total = text_len(root)
        for el in fallbacks:
            if any(a.tag == "noscript" for a in el.iterancestors()):
                continue  # inside one already dropped or kept
            if holds_the_page(text_len(el), total):
                el.tag = "div"
            else:
                el.drop_tree()
    return "\n".join(scripts)


def prepared_tree(html: str) -> HtmlElement:
    """The parsed page with script/style and hidden text removed."""
    root = parse_html(html)
    remove_hidden(root, _strip_non_text(root))
    return root


# --- page profile --------------------------------------------------------------------------------

_DISCUSSION_TYPES = re.compile(
    r"(?:schema\.org/|\"@type\"\s*:\s*\[?\s*\")(?:DiscussionForumPosting|QAPage|Question|Answer|Comment)\b"
)
_FORUM_SOFTWARE = re.compile(
    r"<meta[^>]+generator[^>]+(?:discuz|phpbb|vbulletin|discourse|xenforo|flarum|nodebb|mybb|smf|ubb|invision)",
    re.IGNORECASE,
)
_HEAD_BYTES = 400_000


def is_discussion(html: str) -> bool:
    """Forum / Q&A signals in the markup: schema.org discussion types or forum software."""
    head = html[:_HEAD_BYTES]
    return bool(_DISCUSSION_TYPES.search(head) or _FORUM_SOFTWARE.search(head))


# Class/id words of post-and-reply markup. One word is weak evidence (blogs have a "post", news
# sites a "topic"); several different ones, each on several elements, mark a thread page whose
# replies are content even without schema.org types or a forum generator tag.
_THREAD_WORDS = {
    "post", "posts", "postbody", "reply", "replies", "topic", "thread", "forum", "bbs", "answer",
    "answers", "question", "quote", "username", "vote", "votes", "floor", "signature", "lzl", "tieba",
}  # fmt: skip
THREAD_MIN_ELEMENTS = 3
THREAD_MIN_WORDS = 3
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])")


_NAMED = etree.XPath("//*[@class or @id]")


def thread_markup(root: HtmlElement) -> bool:
    """Post/reply class words: at least THREAD_MIN_WORDS different ones, each on THREAD_MIN_ELEMENTS elements."""
    counts: dict[str, int] = {}
    for el in _NAMED(root):
        raw = f"{el.get('class', '')} {el.get('id', '')}"
        for w in {w.lower() for w in _SPLIT.split(raw) if w} & _THREAD_WORDS:
            counts[w] = counts.get(w, 0) + 1
    return sum(1 for n in counts.values() if n >= THREAD_MIN_ELEMENTS) >= THREAD_MIN_WORDS


def page_profile(root: HtmlElement, html: str) -> str:
    """"discussion" (forum / Q&A: schema.org types, forum software, thread markup) or "page"."""
    return "discussion" if is_discussion(html) or thread_markup(root) else "page"


@dataclass(frozen=True)
class Mode:
    """How trafilatura runs for one kind of page."""

    precision: bool = False
    recall: bool = False
    comments: bool = False  # append trafilatura's comment section (on threads replies are content)
    cleanup: bool = False  # class/id boilerplate removal before trafilatura


# Measured on all dev sets together (bench/eval_extraction.py): trafilatura's default (balanced) mode
# is the best single choice on every English page type; precision mode loses 0.01–0.2 there
# (service, listing, product pages, threads). On CJK pages (Chinese portals: related lists, reader
# comments, whole-page dumps) precision plus class/id cleanup is the better one; comment sections
# are reader chatter except on discussion pages.
MODES: dict[str, Mode] = {
    "discussion": Mode(comments=True),
    "cjk-discussion": Mode(recall=True, comments=True),
    "cjk": Mode(precision=True, cleanup=True),
    "page": Mode(),
}
FALLBACK = Mode()
LAST_RESORT = Mode(comments=True)
# The precise pass failed when it kept under min_chars: it picked a fragment (a title, a byline).
# A second signal, "under half of the paragraph-densest block's text", was dropped: on Chinese
# articles it fired on related-list blocks and cost 0.011 char F1 (dev, 52 pages).
# On discussion pages trafilatura often keeps the first post only; resiliparse's main-content
# extraction (milliseconds, its own parser) keeps the thread. It wins when it holds this many
# times trafilatura's text.
THREAD_GAIN = 1.5
_CJK_LANGS = {"zh", "ja", "ko"}
# The page kinds rs-trafilatura extracts (engine "auto", when it is installed); the CJK ones keep
# the trafilatura path above.
RS_KINDS = frozenset({"page", "discussion"})


# Large pages: trafilatura's cost grows with the tree (its cleaning and pruning walk every element,
# several times per pass; about 0.1 ms per element on dev pages), and its full cascade (readability
# and jusText comparisons, a recall retry) is what made pages of a few thousand elements cost
# 0.3-0.95 s. Above this many elements (after cleanup; 8% of dev pages) a page gets at most one
# trafilatura pass, in fast mode (no readability / jusText comparisons), and a fragment's second
# pass is resiliparse's (its own parser, milliseconds); rs-trafilatura reads a lighter copy (<span>
# tags unwrapped, attribute blobs dropped: extract_rs._serialised). Measured on all dev sets together, with the text-only pass after rs
# below: F1 unchanged within ±0.007 on every set and wcxb page type (wcxb-dev +0.001, collection
# +0.006, product +0.004; the one loss, listings −0.004, is one page), magic-html articles −0.0003;
# CPU per page 59 → 39 ms and slowest page 0.95 → 0.48 s (one process, idle machine).
# That pass runs in recall mode (a balanced one is not one pass: when its text covers little of the
# page, trafilatura re-runs its extractor in recall mode). On the 162 large dev pages (23 of them on
# this path) word F1 summed +0.25 (articles +0.28, products +0.06, collections −0.10), CPU summed
# 15.1 → 14.5 s, slowest page 0.47 → 0.31 s (wcxb 0632).
LARGE_PAGE_ELEMENTS = 2000


def is_large(root: HtmlElement) -> bool:
    """More than LARGE_PAGE_ELEMENTS elements (counting stops there)."""
    return sum(1 for _ in zip(root.iter(), range(LARGE_PAGE_ELEMENTS + 1))) > LARGE_PAGE_ELEMENTS


def _bare(root: HtmlElement, url: str | None, mode: Mode, *, with_metadata: bool, fast: bool = False) -> Any:
    """One trafilatura pass (it copies the tree it is given); None when nothing is found. `fast`:
    without trafilatura's readability / jusText comparison passes (large pages)."""
    try:
        return trafilatura.bare_extraction(
            root, url=url, with_metadata=with_metadata, include_comments=mode.comments,
            favor_precision=mode.precision, favor_recall=mode.recall, fast=fast,
            date_extraction_params={"original_date": True, "extensive_search": False},
        )  # fmt: skip
    except (ValueError, TypeError, etree.LxmlError) as exc:  # trafilatura's parser edge cases
        logger.debug("trafilatura failed on %s: %s", url, exc)
        return None


def _text(doc: Any, mode: Mode) -> str:
    if doc is None:
        return ""
    parts = [getattr(doc, "text", None) or ""]
    if mode.comments:
        parts.append(getattr(doc, "comments", None) or "")
    return "\n".join(p.strip() for p in parts if p and p.strip())


def _sample(el: HtmlElement, limit: int = 3000) -> str:
    parts, n = [], 0
    for t in el.itertext():
        if t.strip():
            parts.append(t)
            n += len(t)
            if n >= limit:
                break
    return "".join(parts)


def _thread_text(html: str) -> str:
    """resiliparse's main-content text of the page ('' when it fails)."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    try:
        return extract_plain_text(HTMLTree.parse(html), main_content=True).strip()
    except (ValueError, TypeError, RuntimeError) as exc:
        logger.debug("resiliparse failed: %s", exc)
        return ""


def page_kind(root: HtmlElement, html: str) -> str:
    """Which MODES entry a page gets: "discussion" / "cjk-discussion", "cjk" or "page"."""
    body = root.find("body")
    cjk = detect_lang(_sample(body if body is not None else root)) in _CJK_LANGS
    if page_profile(root, html) == "discussion":
        return "cjk-discussion" if cjk else "discussion"
    if cjk and thread_chars(root):
        return "cjk-discussion"  # a thread without forum markup: its main text is a post (extract_cjk)
    return "cjk" if cjk else "page"


def _cited(root: HtmlElement, url: str | None) -> list[str]:
    body = root.find("body")
    return outlinks.cited_links(main_block(body if body is not None else root), url)


def _past_fragment(text: str, root: HtmlElement, html: str, url: str | None, *, large: bool, min_chars: int,
                   spares: tuple[str, ...]) -> str:
    """The text when the passes so far kept a fragment (under `min_chars`).

    A thread without thread markup keeps its posts in what trafilatura calls comments: only here, where the
    main text failed the length collect needs, do comments count as content (on articles the comment section
    is reader chatter). On a large page the second pass is resiliparse's (milliseconds, its own parser), not
    another trafilatura pass. If every pass kept a fragment, collect would drop the page: a text already made
    that holds an article's length stands instead (`spares`: readability's block of a CJK article,
    rs-trafilatura's text that its own quality estimate turned down)."""
    if large:
        other = _thread_text(html)
    else:
        other = _text(_bare(root, url, LAST_RESORT, with_metadata=False), LAST_RESORT)
    if len(other) > len(text):
        text = other
    if len(text) < min_chars:
        spare = max(spares, key=len)
        if len(spare) >= min_chars:
            text = spare
    return text


def _extract(
    html: str, url: str | None, *, with_metadata: bool = False, min_chars: int = DEFAULT_MIN_CHARS,
    links: list[str] | None = None, engine: str = "auto",
) -> tuple[str, Any, str]:
    """(main text, the document its metadata comes from — rs-trafilatura's when it ran, else
    trafilatura's first pass —, the engine whose text it is); `links` receives the article's
    outbound links (see `outlinks`)."""
    root = prepared_tree(html)
    large = is_large(root)
    kind = page_kind(root, html)
    rs_doc = None
    if engine == "auto" and kind in RS_KINDS and extract_rs.available():
        rs_doc = extract_rs.extract(root, url, light=large)
        if rs_doc is not None and with_metadata:
            rs_doc = extract_rs.complete_metadata(rs_doc, root, url, len(html))
        if rs_doc is not None and not extract_rs.failed(rs_doc, min_chars):
            if links is not None:
                links.extend(_cited(root, url))
            return rs_doc.text, rs_doc, "rs-trafilatura"
    mode = MODES[kind]
    # a CJK article: readability's block of the page before class/id cleanup, to compare (extract_cjk)
    block = readable_text(root) if kind == "cjk" else ""
    if mode.cleanup:
        remove_boilerplate(root, discussion=kind.endswith("discussion"))
    if links is not None:
        links.extend(_cited(root, url))
    if large and not mode.precision:
        mode = replace(mode, recall=True)  # one pass: no balanced pass then trafilatura's recall retry
    # after rs-trafilatura its metadata stands: this pass is for the text only
    doc = _bare(root, url, mode, with_metadata=with_metadata and rs_doc is None, fast=large)
    text = _text(doc, mode)
    if mode.precision and len(text) < min_chars and not large:
        # the precise pass missed the content: the balanced mode on the page without class/id cleanup
        other = _text(_bare(prepared_tree(html) if mode.cleanup else root, url, FALLBACK, with_metadata=False),
                      FALLBACK)  # fmt: skip
        if len(other) > len(text):
            text = other
    elif kind.endswith("discussion"):
        thread = _thread_text(html)
        posts = thread_chars(root) if kind == "cjk-discussion" else 0  # the posts' text, when measurable
        if thread_wins(text, thread, posts, THREAD_GAIN, cjk=kind == "cjk-discussion"):
            text = thread
    if len(text) < min_chars:
        text = _past_fragment(text, root, html, url, large=large, min_chars=min_chars,
                              spares=(block, rs_doc.text if rs_doc is not None else ""))
    if block and tighter(text, block, min_chars):
        text = block  # trafilatura kept the blocks around the article (extract_cjk.tighter)
    if kind.startswith("cjk"):
        text = strip_legal_lines(text)
    return text, (rs_doc if rs_doc is not None else doc), "trafilatura"


def extract_text(
    html: str, url: str | None = None, *, min_chars: int = DEFAULT_MIN_CHARS, engine: str = "auto"
) -> str:
    """Main text of an HTML document, exactly what `extract_article` uses; '' when nothing is found."""
    return _extract(html, url, min_chars=min_chars, engine=engine)[0]


def extract_routed(
    html: str, url: str | None = None, *, min_chars: int = DEFAULT_MIN_CHARS, engine: str = "auto"
) -> tuple[str, str]:
    """(`extract_text`'s text, the engine that produced it: "rs-trafilatura" or "trafilatura")."""
    text, _, used = _extract(html, url, min_chars=min_chars, engine=engine)
    return text, used

# --- metadata ------------------------------------------------------------------------------------

def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def _meta(doc: Any, name: str) -> str | None:
    value = getattr(doc, name, None) if doc is not None else None
    return value.strip() or None if isinstance(value, str) else None


def extract_article(page: Page, settings: ExtractSettings) -> Article:
    """Main text and metadata of a fetched page; raises ExtractionError(reason=not_html|empty|too_short)."""
    links: list[str] = []
    try:
        text, doc, _ = _extract(page.text, page.final_url, with_metadata=True, min_chars=settings.min_chars,
                                links=links, engine=settings.engine)
    except ExtractionError as exc:
        exc.url = page.final_url
        raise
    # A video page without notes: the transcript it carries (if any) is what there is to summarise.
    spoken = transcript.find(page.text)
    if spoken and transcript.stands_for(text, _meta(doc, "title") or "", settings.min_chars, spoken):
        text = spoken
    if not text:
        raise ExtractionError(
            "no article text found in the page", reason="empty", url=page.final_url, stage="extract"
        )
    if len(text) < settings.min_chars:
        raise ExtractionError(
            f"article text too short ({len(text)} < {settings.min_chars} characters)",
            reason="too_short",
            url=page.final_url,
            stage="extract",
        )
    lang = _meta(doc, "language")
    return Article(
        url=page.final_url,
        title=_meta(doc, "title") or "",
        text=text[: settings.max_chars],
        author=_meta(doc, "author"),
        date=_date(_meta(doc, "date")),
        lang=(lang.split("-")[0].lower() if lang else detect_lang(text[:5000], undetermined="en")),
        image=_meta(doc, "image"),
        sitename=_meta(doc, "sitename"),
        description=_meta(doc, "description"),
        links=links,
    )
