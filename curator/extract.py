"""Extract stage: main article text and metadata from a fetched Page (the only module that knows trafilatura).

Pipeline for one page (`extract_text` is the text path, `extract_article` adds metadata):

1. parse the decoded `str` with lxml (never bytes: see RELIABILITY.md row 26);
2. structural cleanup (`clean_tree`): drop hidden elements (a prompt-injection hiding place, RELIABILITY
   row 28), then boilerplate blocks whose class/id say related / recommend / comment / share / tags …
   and link-dense teaser lists — unless they hold the page's main text;
3. run trafilatura in the mode the page calls for: precision without comments for
   articles; recall with comments for discussion pages (forums, Q&A), where replies are the content;
   otherwise check the precise output against the default mode's text on the uncleaned tree
   (`_choose`): take the default when precision found only a fragment or the wrong block, and on
   pages with thread markup (post / reply / quote … class words) where precision dropped the replies;
4. post-filter: drop a trailing run of short headline-like lines (a "related" list that survived).
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import lxml.html
import trafilatura
from lxml import etree
from lxml.html import HtmlElement

from curator import outlinks
from curator.errors import ExtractionError
from curator.models import Article, Page
from curator.settings import ExtractSettings

logger = logging.getLogger(__name__)

_PARSER = lxml.html.HTMLParser(
    encoding="utf-8", remove_comments=True, remove_pis=True, collect_ids=False, default_doctype=False
)
_HTML_SNIFF = re.compile(
    r"<(?:!doctype\s+html|html|head|body|div|p|article|main|title|meta)\b", re.IGNORECASE
)
_NEVER_TEXT = ("script", "style", "noscript", "template", "svg", "iframe", "object", "embed", "canvas")

# --- hidden text ---------------------------------------------------------------------------------

_WHITE = re.compile(r"^(?:white|#fff(?:fff)?|rgba?\(\s*255\s*,\s*255\s*,\s*255\s*(?:,\s*[\d.]+\s*)?\))$")
_ZERO = re.compile(r"^-?0*(?:\.0+)?(?:px|pt|em|rem|%|vw|vh)?$")
_OFFSCREEN = re.compile(r"^-\d{3,}(?:\.\d+)?(?:px|pt|em|rem)$")


def _style(el: HtmlElement) -> dict[str, str]:
    raw = el.get("style")
    if not raw:
        return {}
    decls = {}
    for part in raw.split(";"):
        key, sep, value = part.partition(":")
        if sep:
            decls[key.strip().lower()] = value.replace("!important", "").strip().lower()
    return decls


def _hidden_reason(el: HtmlElement) -> str | None:
    """Why an element is invisible to a reader, or None. Inline signals only (no stylesheet)."""
    if el.get("hidden") is not None:
        return "hidden"
    if (el.get("aria-hidden") or "").strip().lower() == "true":
        return "aria-hidden"
    s = _style(el)
    if not s:
        return None
    if s.get("display") == "none":
        return "display"
    if s.get("visibility") in {"hidden", "collapse"}:
        return "visibility"
    if _ZERO.match(s.get("opacity", "1")):
        return "opacity"
    if _ZERO.match(s.get("font-size", "1")):
        return "font-size"
    w, h = _ZERO.match(s.get("width", "1")), _ZERO.match(s.get("height", "1"))
    mh = _ZERO.match(s.get("max-height", "1"))
    if (w and h) or ((w or h or mh) and s.get("overflow") == "hidden"):
        return "zero-size"
    if any(_OFFSCREEN.match(s.get(k, "")) for k in ("left", "top", "text-indent", "margin-left")):
        return "offscreen"
    color = s.get("color", "")
    if _WHITE.match(color):
        bg = s.get("background-color") or s.get("background") or ""
        if not bg or _WHITE.match(bg.split()[0]):
            return "white-on-white"
    return None


# Some pages ship the whole article hidden and reveal it with script (WeChat's `visibility:hidden`
# body); those are the article, not a hiding place. Style-hidden blocks holding most of the page's
# text are kept; attribute-hidden and white/zero-size text never are.
_REVEALABLE = {"display", "visibility", "opacity"}


def remove_hidden(root: HtmlElement) -> int:
    total = max(1, _text_len(root))

    def visit(el: HtmlElement) -> bool:
        reason = _hidden_reason(el)
        if reason is None:
            return False
        if reason in _REVEALABLE and _text_len(el) >= max(200, 0.5 * total):
            return False
        _drop(el)
        return True

    return _walk(root, visit)


# --- boilerplate ---------------------------------------------------------------------------------

# Class/id words of blocks that are not the article. Matched as whole words inside class/id values
# split on -, _, space and camelCase ("relatedNews", "post-share", "hot_list").
_BOILER_WORDS = {
    "related", "relate", "relates", "recommend", "recommends", "recommended", "recommendation",
    "recommendations", "recom", "tuijian", "xgyd", "xgwz", "comment", "comments", "commentlist",
    "share", "sharing", "shares", "sharebar", "bdshare", "social", "tag", "tags", "tagcloud",
    "keywords", "hot", "hotnews", "hotlist", "rank", "ranking", "popular", "trending", "footer",
    "sidebar", "aside", "breadcrumb", "breadcrumbs", "crumb", "crumbs", "nav", "navbar", "navigation",
    "menu", "advert", "advertisement", "ads", "ad", "banner", "sponsor", "sponsored", "promo",
    "copyright", "login", "subscribe", "newsletter", "outbrain", "taboola", "recirc", "more",
    "morestories", "stream", "guess", "cnxh", "prev", "next", "pager", "pagination", "toolbar",
    "disclaimer", "statement", "reward", "qrcode", "download", "app",
    "tieba", "gentie", "pinglun",  # Chinese portals' reader-comment blocks (跟帖 / 评论)
}  # fmt: skip
# On discussion pages replies are the content, so these words do not mark boilerplate there.
_DISCUSSION_WORDS = {"comment", "comments", "commentlist", "tieba", "gentie", "pinglun"}
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])")
_STRUCTURAL = {"html", "body", "main", "article"}


def _words(el: HtmlElement) -> set[str]:
    raw = f"{el.get('class', '')} {el.get('id', '')}"
    return {w.lower() for w in _SPLIT.split(raw) if w}


def _elements(root: HtmlElement) -> Iterator[HtmlElement]:
    return (el for el in root.iter() if isinstance(el.tag, str))


def _text_len(el: HtmlElement) -> int:
    return sum(len(t.strip()) for t in el.itertext())


def _link_len(el: HtmlElement) -> int:
    return sum(_text_len(a) for a in el.iter("a"))


def _drop(el: HtmlElement) -> None:
    """Remove an element but keep its tail text (which belongs to the parent)."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail and el.tail.strip():
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


_PARA_TAGS = {"p", "pre", "blockquote", "h2", "h3", "h4", "li"}


def main_block(root: HtmlElement) -> HtmlElement | None:
    """The element holding the most paragraph text (readability's candidate, simplified)."""
    scores: dict[HtmlElement, float] = {}
    for el in _elements(root):
        if el.tag in _NEVER_TEXT:
            continue
        own = len((el.text or "").strip()) + sum(len((c.tail or "").strip()) for c in el)
        if el.tag in _PARA_TAGS or own >= 25:
            n = _text_len(el) if el.tag in _PARA_TAGS else own
            if n < 25:
                continue
            parent = el.getparent() if el.tag in _PARA_TAGS else el
            if parent is None:
                continue
            links = _link_len(el) / max(1, n) if el.tag in _PARA_TAGS else 0.0
            scores[parent] = scores.get(parent, 0.0) + n * (1.0 - min(1.0, links))
    if not scores:
        return None
    return max(scores, key=lambda k: scores[k])


def _text_lengths(root: HtmlElement) -> dict[HtmlElement, int]:
    """Visible text length of every element, computed bottom-up in one pass."""
    lengths: dict[HtmlElement, int] = {}
    for el in reversed(list(_elements(root))):
        n = len((el.text or "").strip())
        for child in el:
            n += lengths.get(child, 0) + len((child.tail or "").strip())
        lengths[el] = n
    return lengths


_LIST_TAGS = {"ul", "ol", "div", "section", "aside", "nav", "dl", "table", "span", "p"}


def _walk(root: HtmlElement, visit: Callable[[HtmlElement], bool]) -> int:
    """Pre-order walk; `visit` returns True when it removed the element (its subtree is skipped)."""
    removed = 0
    stack = [root]
    while stack:
        el = stack.pop()
        if el is not root and visit(el):
            removed += 1
            continue
        stack.extend(reversed([c for c in el if isinstance(c.tag, str)]))
    return removed


def remove_boilerplate(
    root: HtmlElement, *, discussion: bool = False, anchors: Iterable[HtmlElement] = ()
) -> int:
    """Drop class/id-marked boilerplate and link-dense lists, sparing the blocks holding the text.

    `anchors` are elements known to hold article text (besides the paragraph-densest block): they,
    their ancestors, and big blocks inside them are never removed.
    """
    body = root.find("body")
    body = body if body is not None else root
    lengths = _text_lengths(body)
    total = max(1, lengths.get(body, 0))
    best = main_block(body)
    anchor_list = [a for a in (best, *anchors) if a is not None]
    ancestors: set[HtmlElement] = set()
    for a in anchor_list:
        ancestors.update((a, *a.iterancestors()))
    inside = {el: lengths.get(best, 0) for el in _elements(best)} if best is not None else {}
    words = _BOILER_WORDS - _DISCUSSION_WORDS if discussion else _BOILER_WORDS

    def visit(el: HtmlElement) -> bool:
        if el in ancestors or el.tag in _STRUCTURAL:
            return False
        n = lengths.get(el, 0)
        # inside the article only small blocks go (a share bar, a tag line), never big ones
        limit = 0.25 * inside[el] if el in inside else 0.6 * total
        if n > limit:
            return False
        if _words(el) & words or (el.tag in _LIST_TAGS and _is_link_list(el, n)):
            _drop(el)
            return True
        return False

    return _walk(body, visit)


def _is_link_list(el: HtmlElement, n: int) -> bool:
    """Mostly links, several of them: teaser lists, tag clouds, pagers."""
    if n < 20:
        return False
    links = [a for a in el.iter("a")]
    return len(links) >= 3 and _link_len(el) >= 0.7 * n


# --- discussion pages ----------------------------------------------------------------------------

_DISCUSSION_TYPES = re.compile(
    r"(?:schema\.org/|\"@type\"\s*:\s*\")(?:DiscussionForumPosting|QAPage|Question|Answer|Comment)\b"
)
_FORUM_SOFTWARE = re.compile(
    r"<meta[^>]+generator[^>]+(?:discuz|phpbb|vbulletin|discourse|xenforo|flarum|nodebb|mybb|smf|ubb|invision)",
    re.IGNORECASE,
)


def is_discussion(html: str) -> bool:
    """Forum / Q&A signals in the markup: schema.org discussion types or forum software."""
    head = html[:400_000]
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


def thread_markup(root: HtmlElement) -> bool:
    """Post/reply class words: at least THREAD_MIN_WORDS different ones, each on THREAD_MIN_ELEMENTS elements."""
    counts: dict[str, int] = {}
    for el in _elements(root):
        for w in _words(el) & _THREAD_WORDS:
            counts[w] = counts.get(w, 0) + 1
    return sum(1 for n in counts.values() if n >= THREAD_MIN_ELEMENTS) >= THREAD_MIN_WORDS


# --- tree / text ---------------------------------------------------------------------------------


def parse_html(html: str) -> HtmlElement:
    if not html or not _HTML_SNIFF.search(html[:8192]):
        raise ExtractionError("the page is not HTML; nothing to extract", reason="not_html", stage="extract")
    try:
        root = lxml.html.document_fromstring(html.encode("utf-8", "surrogatepass"), parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError(
            f"the page could not be parsed as HTML ({exc})", reason="not_html", stage="extract"
        ) from exc
    return root


_WS = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _WS.sub("", text)


def locate(root: HtmlElement, text: str, max_lines: int = 3) -> list[HtmlElement]:
    """Elements whose own text holds the first substantial lines (and the longest line) of `text`."""
    lines = [ln.strip() for ln in text.splitlines() if len(ln.strip()) >= 20]
    if not lines:
        return []
    picks = lines[: max_lines - 1] + [max(lines, key=len)]
    snippets = {_norm(ln)[:16] for ln in picks}
    found: list[HtmlElement] = []
    for el in _elements(root):
        if el.tag in _NEVER_TEXT:
            continue
        own = _norm((el.text or "") + "".join(c.tail or "" for c in el))
        hit = {sn for sn in snippets if sn in own}
        if hit:
            found.append(el)
            snippets -= hit
            if not snippets:
                break
    return found


def _strip_non_text(root: HtmlElement) -> None:
    for el in list(_elements(root)):
        if el.tag in _NEVER_TEXT and el.getparent() is not None and el.get("type") != "application/ld+json":
            _drop(el)


def _bare(root: HtmlElement, url: str | None, *, with_metadata: bool = False, **kwargs: bool) -> Any:
    """trafilatura on a copy of the tree (it mutates what it is given); None when nothing is found."""
    try:
        return trafilatura.bare_extraction(
            copy.deepcopy(root), url=url, with_metadata=with_metadata, include_comments=True, **kwargs
        )
    except (ValueError, TypeError, etree.LxmlError) as exc:  # trafilatura's parser edge cases
        logger.debug("trafilatura failed on %s: %s", url, exc)
        return None


def _text(doc: Any) -> str:
    return (getattr(doc, "text", None) or "").strip() if doc is not None else ""


def _comments(doc: Any) -> str:
    return (getattr(doc, "comments", None) or "").strip() if doc is not None else ""


def _joined(doc: Any) -> str:
    return "\n".join(t for t in (_text(doc), _comments(doc)) if t)


# Below this many characters the precise output is a fragment (a title, a byline): the page is
# not an article trafilatura's precision mode understands, so the default mode gets a chance.
TINY_CHARS = 100
# Sanity check against trafilatura's default mode on the uncleaned tree. When the precise output is
# under LOST_SHARE of the default text while that text is not a whole-page dump (under
# DUMP_SHARE of the page's visible text), precision mode picked the wrong block (a title and byline,
# the first post of a thread) and the default text is the article.
LOST_SHARE = 0.1
DUMP_SHARE = 0.9
# On pages with thread markup the default text (posts + replies; not its comment section, which on
# blogs is reader chatter) wins whenever the precise output is clearly shorter: precision mode keeps
# the first post and drops the replies.
THREAD_SHARE = 0.7


def _choose(text: str, default: Any, *, thread: bool, page_chars: int) -> str:
    """Precise `text` or trafilatura default's output (`default`, run on the uncleaned tree)."""
    alt_text, alt_all = _text(default), _joined(default)
    if len(text) < TINY_CHARS:
        return alt_all if len(alt_all) > len(text) else text
    if thread and len(text) < THREAD_SHARE * len(alt_text):
        return alt_text
    if len(text) < LOST_SHARE * len(alt_text) and len(alt_text) < DUMP_SHARE * page_chars:
        return alt_text
    return text


def _extract(
    html: str, url: str | None, *, with_metadata: bool = False, links: list[str] | None = None
) -> tuple[str, Any]:
    """(main text, trafilatura document of the cleaned page for metadata); `links` receives the
    article's outbound links (see `outlinks`).

    trafilatura runs at most three times: precision on the page (anchors the cleanup), precision on
    the cleaned page, then recall (discussion pages) or default (the sanity check) on the uncleaned one.
    """
    root = parse_html(html)
    _strip_non_text(root)
    remove_hidden(root)
    raw = copy.deepcopy(root)
    discussion = is_discussion(html)
    thread = not discussion and thread_markup(root)
    body = root.find("body")
    page_chars = _text_len(body if body is not None else root)
    # Where does the text start? trafilatura's own first pass anchors the cleanup, so a class word
    # never removes the block holding the article.
    first = _text(_bare(root, url, favor_precision=True))
    remove_boilerplate(root, discussion=discussion, anchors=locate(root, first))
    if links is not None:
        links.extend(outlinks.cited_links(main_block(body if body is not None else root), url))
    doc = _bare(root, url, favor_precision=True, with_metadata=with_metadata)
    text, comments = _text(doc), _comments(doc)
    if discussion or len(comments) > max(1, len(text)):
        # forum / Q&A: the replies are the content; recall mode with comments on the uncleaned tree
        text = _joined(_bare(raw, url, favor_recall=True)) or text
    else:
        text = _choose(text, _bare(raw, url), thread=thread, page_chars=page_chars)
    return text, doc


def extract_text(html: str, url: str | None = None) -> str:
    """Main text of an HTML document, exactly what `extract_article` uses; '' when nothing is found."""
    return _extract(html, url)[0]


# --- metadata ------------------------------------------------------------------------------------

_HAN_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA_RE = re.compile("[\u3040-\u30ff]")
_HANGUL_RE = re.compile("[\uac00-\ud7af\u1100-\u11ff]")


def detect_lang(text: str) -> str:
    """Script-based guess: Han share of letters → zh (kana → ja, hangul → ko), else en."""
    sample = text[:5000]
    letters = sum(1 for c in sample if c.isalpha())
    if not letters:
        return "en"
    kana, hangul, han = (len(r.findall(sample)) for r in (_KANA_RE, _HANGUL_RE, _HAN_RE))
    if kana / letters >= 0.05:
        return "ja"
    if hangul / letters >= 0.2:
        return "ko"
    if han / letters >= 0.2:
        return "zh"
    return "en"


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
        text, doc = _extract(page.text, page.final_url, with_metadata=True, links=links)
    except ExtractionError as exc:
        exc.url = page.final_url
        raise
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
        lang=(lang.split("-")[0].lower() if lang else detect_lang(text)),
        image=_meta(doc, "image"),
        sitename=_meta(doc, "sitename"),
        description=_meta(doc, "description"),
        links=links,
    )
