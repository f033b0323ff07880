"""Extract stage, CJK pages: a structural signal that tells a thread from an article with comments.

On Chinese pages the class/id words do not say whether the replies are the content: a forum or Q&A
page without forum markup looks like a portal article with a reader-comment block (网友跟帖).
What differs is where the main text sits. A thread's posts are repeated sibling blocks of one shape
(same tag and class), each with a time stamp (发表于 2024-05-01 12:30, 3 小时前), and the first
post — the paragraph-densest block of the page — is one of them. An article's body is not one of
its comment blocks: the comments are a trailing list of such blocks beside it.

`thread_chars` measures that: the text held by the repeated, time-stamped sibling blocks that
contain the page's main block (0 when there are none). extract.py uses it twice, on CJK pages:

- a CJK page without thread markup whose main text is a post is a thread (`extract.page_kind` says
  "cjk-discussion"): replies count as content and the class/id cleanup (which removes 评论 /
  comment blocks) is not run;
- on a thread so found, trafilatura kept the thread when its text holds at least KEPT_SHARE of the
  posts' text; resiliparse's text replaces it only when it did not (`thread_wins`). Where posts
  are not measured, the length-ratio swap asks more of resiliparse on CJK pages (CJK_GAIN_SCALE).

A third rule is text-level (`strip_legal_lines`): the site's legal lines (Copyright ©, 版权所有, ICP
备案号, 特别声明 / 免责声明, 转载请注明) that trafilatura keeps when they sit inside the article's
container are not the article; they go when they are short lines in the text's last quarter.

A fourth is a choice between two extractors (`readable_text`, `tighter`): trafilatura, even in
precision mode, often keeps the blocks around a short Chinese article — an infobox and reference
list (Wikipedia, Baidu Baike), the next stories of an endless news stream (Yahoo, Toutiao), a login
prompt. readability's article block (trafilatura's own port, run on the cleaned page) is then a
subset of trafilatura's text. When it is — almost all of its tokens are in trafilatura's text, and
it is clearly shorter — it is the article; where readability picked another block (a teaser, a
sidebar) it is not contained and trafilatura's text stays.

Dev evidence for the thread signal (bench/eval_extraction.py's sets, every language): the signal holds on 15 of 103
magic-html forum pages and on 1 of 334 article pages (magic-html articles, ScrapingHub); it never
fires on a magic-html article.
"""

from __future__ import annotations

import copy
import re
from collections import Counter

import lxml.html
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.readability_lxml import Document

from curator.htmlclean import main_block, text_len
from curator.text import HAN

# Time stamps of posts: absolute dates and clock times, and the relative forms forums print.
_STAMP = re.compile(
    r"\d{4}[-/年.]\d{1,2}[-/月.]\d{1,2}|(?<!\d)\d{1,2}:\d{2}(?!\d)"
    r"|\d+\s*(?:秒|分钟|小时|天|周|个月|年)前|刚刚|昨天|前天"
    r"|\b(?:minutes?|hours?|days?|weeks?|months?|years?)\s+ago\b",
    re.IGNORECASE,
)
# A thread shows at least this many posts (the first one and two replies).
THREAD_MIN_POSTS = 3
# trafilatura kept the thread when its text is at least this share of the posts' text.
KEPT_SHARE = 0.5
# Without measured posts the swap is a length ratio (extract.THREAD_GAIN). resiliparse keeps more
# page chrome on CJK pages even where it is right: on dev pages where trafilatura's text is right
# (F1 ≥ 0.9), resiliparse's text is longer by a factor whose upper quartile is 1.46 on 55 CJK pages
# and 1.16 on 347 English articles (ScrapingHub, wcxb). On CJK pages the ratio is scaled by that.
CJK_GAIN_SCALE = 1.3


def _stamped(el: HtmlElement) -> bool:
    """Whether the element's text holds a time stamp (stops at the first)."""
    return any(_STAMP.search(t) for t in el.itertext())


def _shape(el: HtmlElement) -> tuple[str, str]:
    return str(el.tag), " ".join(sorted((el.get("class") or "").split()))


def thread_chars(root: HtmlElement) -> int:
    """Text length of the repeated time-stamped sibling blocks (≥ THREAD_MIN_POSTS of one shape under
    one parent) of which one holds the page's main block; 0 when the main text is not a post."""
    body = root.find("body")
    body = body if body is not None else root
    best = main_block(body)
    if best is None:
        return 0
    # only the main block's ancestors and their same-shape siblings are looked at: no page walk
    for el in (best, *best.iterancestors()):
        parent = el.getparent()
        if parent is None:
            break
        shape = _shape(el)
        same = [s for s in parent if s.tag == el.tag and _shape(s) == shape]
        if len(same) < THREAD_MIN_POSTS or not _stamped(el):
            continue
        posts = [s for s in same if _stamped(s)]
        if len(posts) >= THREAD_MIN_POSTS:
            return sum(text_len(p) for p in posts)
    return 0


def thread_wins(text: str, thread: str, posts: int, gain: float, *, cjk: bool = False) -> bool:
    """Whether resiliparse's `thread` text replaces trafilatura's `text` on a discussion page.

    With the posts measured (`posts` > 0), only when trafilatura kept under KEPT_SHARE of them;
    otherwise when the thread text is `gain` times longer (trafilatura kept one post), on a CJK
    page `gain` × CJK_GAIN_SCALE.
    """
    if posts:
        return len(text) < KEPT_SHARE * posts and len(thread) > len(text)
    return len(thread) > gain * (CJK_GAIN_SCALE if cjk else 1.0) * len(text)


# A site's legal footer lines: copyright, ICP licence numbers, platform disclaimers, reprint notes.
_LEGAL = re.compile(
    r"copyright|©|all rights reserved|版权所有|版權所有|ICP[备证]|公网安备|未经授权|未經授權"
    r"|禁止转载|不得转载|转载请注明|免责声明|特别声明",
    re.IGNORECASE,
)
LEGAL_TAIL_SHARE = 0.25  # the text's last quarter of lines (at least its last 3)
LEGAL_MAX_CHARS = 300  # a legal line is short; a paragraph that mentions copyright is not one


def strip_legal_lines(text: str) -> str:
    """The text without the site's legal lines at its end (see the module docstring)."""
    lines = text.split("\n")
    start = min(len(lines) - 3, int(len(lines) * (1 - LEGAL_TAIL_SHARE)))
    kept = [
        line for i, line in enumerate(lines)
        if i < start or len(line.strip()) >= LEGAL_MAX_CHARS or not _LEGAL.search(line)
    ]  # fmt: skip
    return "\n".join(kept).strip()


# --- the tighter of two extractions --------------------------------------------------------------

# Tokens as the dev scorer counts them: one per Han / kana / hangul character, one per other word.
_CJK = HAN + "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
_TOKEN = re.compile(f"[{_CJK}]|[^\\W{_CJK}]+")
# readability's block is inside trafilatura's text when this share of its tokens is there, and
# tighter when it holds under TIGHTER_RATIO of trafilatura's tokens. On the dev CJK article pages
# (magic-html, 63) it fires on 8: +0.02 char F1 on the zh ones; 0.9 / 1.0 move that by under 0.003.
CONTAINED_SHARE = 0.95
TIGHTER_RATIO = 0.95
_BLOCKS = frozenset({
    "p", "div", "section", "article", "header", "footer", "li", "ul", "ol", "dl", "dt", "dd", "table",
    "tr", "pre", "blockquote", "figcaption", "h1", "h2", "h3", "h4", "h5", "h6",
})  # fmt: skip


def _bag(text: str) -> Counter[str]:
    return Counter(t.lower() for t in _TOKEN.findall(text))


def readable_text(root: HtmlElement) -> str:
    """readability's article block of the page (trafilatura's port, on a copy of `root`), one line
    per block; '' when it finds none."""
    try:
        summary = Document(copy.deepcopy(root)).summary()
        block = lxml.html.fromstring(summary) if summary.strip() else None
    except (ValueError, TypeError, etree.LxmlError):
        return ""
    if block is None:
        return ""
    for el in block.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag == "br":
            el.tail = "\n" + (el.tail or "")
        elif el.tag in _BLOCKS:
            el.text, el.tail = "\n" + (el.text or ""), "\n" + (el.tail or "")
        elif el.tag in ("td", "th"):
            el.tail = " " + (el.tail or "")
    lines = (" ".join(line.split()) for line in block.text_content().split("\n"))
    return "\n".join(line for line in lines if line)


def tighter(text: str, block: str, min_chars: int) -> bool:
    """Whether readability's `block` replaces trafilatura's `text`: it holds at least `min_chars`,
    CONTAINED_SHARE of its tokens are in `text`, and it has under TIGHTER_RATIO of `text`'s tokens."""
    if len(block) < min_chars:
        return False
    ours, theirs = _bag(text), _bag(block)
    n = sum(theirs.values())
    if not n:
        return False
    return sum((ours & theirs).values()) >= CONTAINED_SHARE * n and n < TIGHTER_RATIO * sum(ours.values())
