"""Extract stage helpers: structural cleanup of a parsed page before trafilatura sees it.

Two kinds of removal, both on the lxml tree curator parsed once:

- hidden text (`remove_hidden`): elements a reader cannot see are a prompt-injection hiding place
  (RELIABILITY.md row 28), so they go — except blocks that are the page's content and that script
  reveals (WeChat's `visibility:hidden` body, React/Next.js streamed segments `<div hidden id="S:0">`)
  and panels the reader opens with one click (tabs, accordions, `<details>`: `user_revealable`);
- boilerplate (`remove_boilerplate`): blocks whose class/id say related / recommend / comment /
  share / tags … and link-dense teaser lists, unless they hold the page's main text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

from lxml import etree
from lxml.html import HtmlElement

NEVER_TEXT = ("script", "style", "noscript", "template", "svg", "iframe", "object", "embed", "canvas")

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


# Some pages ship their content hidden and reveal it with script: WeChat's `visibility:hidden`
# body, React/Next.js streaming, which sends each finished segment as `<div hidden id="S:0">` and a
# script (`$RC("B:0","S:0")`) that moves it into place. Those blocks are the page, not a hiding
# place. A hidden block is kept when it is long (REVEAL_MIN_CHARS) and either holds most of the
# page's text (whatever hides it), or it is hidden by attribute or display/visibility/opacity and
# its id is named in one of the page's inline scripts (the script that reveals it). Short hidden
# spans, where injected instructions sit, always go.
_REVEALABLE = {"hidden", "display", "visibility", "opacity"}
REVEAL_MIN_CHARS = 200
REVEAL_PAGE_SHARE = 0.5


def script_ids(scripts: str) -> Callable[[str], bool]:
    """Whether an element id appears quoted in the page's inline script text."""

    def named(el_id: str) -> bool:
        return any(f"{q}{el_id}{q}" in scripts for q in ("\"", "'"))

    return named


_MAY_HIDE = etree.XPath(".//*[@hidden or @aria-hidden or @style]")


def holds_the_page(chars: int, page_chars: int) -> bool:
    """Whether a block a reader may not see (hidden, or a `<noscript>`) with `chars` of text is the page
    itself: long, and most of the page's `page_chars` (extract.py keeps such a `<noscript>` too)."""
    return chars >= REVEAL_MIN_CHARS and chars >= REVEAL_PAGE_SHARE * page_chars


# Panels a reader opens with one click: tab panels, accordion / collapse bodies, expanders, the body
# of a `<details>`. Widget libraries hide the closed ones inline (`hidden`, `aria-hidden="true"`,
# display / visibility / opacity / zero height) until the click, but their text is on the page as
# the reader sees it, so it stays. A panel is known by its ARIA role (WAI-ARIA's tab and accordion
# patterns: role="tabpanel", role="region" labelled by its header) or by the class/id words of the
# widget (Bootstrap's `tab-pane` / `collapse`, `accordion__content`, `expander-content` …). Popups
# (dialogs, menus, navigation, tooltips) are not panels: their words and roles veto. Text hidden
# in ways no click undoes (zero font size, off-screen, white on white) always goes, panel or not.
_PANEL_REASONS = {"hidden", "aria-hidden", "display", "visibility", "opacity", "zero-size"}
_PANEL_ROLES = {"tabpanel"}
_PANEL_WORDS = {
    "tab", "tabs", "tabpanel", "tabcontent", "pane", "collapse", "collapsible", "accordion",
    "expander", "expandable", "toggle", "disclosure",
}  # fmt: skip
_POPUP_ROLES = {"dialog", "alertdialog", "menu", "menubar", "navigation", "tooltip", "listbox", "banner"}
_POPUP_WORDS = {
    "modal", "dialog", "popup", "popover", "tooltip", "dropdown", "menu", "submenu", "megamenu", "nav",
    "navbar", "navigation", "drawer", "offcanvas", "overlay", "lightbox", "flyout", "cookie", "banner",
}  # fmt: skip


def user_revealable(el: HtmlElement) -> bool:
    """Whether a hidden element is a panel the reader opens with one click (see above)."""
    role = (el.get("role") or "").strip().lower()
    words = _words(el)
    if el.tag == "nav" or role in _POPUP_ROLES or words & _POPUP_WORDS:
        return False
    if role in _PANEL_ROLES or (role == "region" and el.get("aria-labelledby")):
        return True
    parent = el.getparent()
    return bool(words & _PANEL_WORDS) or (parent is not None and parent.tag == "details")


def remove_hidden(root: HtmlElement, scripts: str = "") -> int:
    """Drop hidden elements (see above); `scripts` is the page's inline script text."""
    total = max(1, text_len(root))
    named = script_ids(scripts)
    dropped: set[HtmlElement] = set()
    # only elements with a hiding attribute can be hidden (inline signals): no walk over the page
    for el in _MAY_HIDE(root):
        reason = _hidden_reason(el)
        if reason is None or any(a in dropped for a in el.iterancestors()):
            continue
        n = text_len(el)
        if holds_the_page(n, total):
            continue  # most of the page: it is the page (a modal-style or script-sized container)
        el_id = el.get("id")
        if reason in _REVEALABLE and n >= REVEAL_MIN_CHARS and el_id and named(el_id):
            continue
        if reason in _PANEL_REASONS and user_revealable(el):
            continue
        _drop(el)
        dropped.add(el)
    return len(dropped)


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


def text_len(el: HtmlElement) -> int:
    return sum(len(t.strip()) for t in el.itertext())


def _link_len(el: HtmlElement) -> int:
    return sum(text_len(a) for a in el.iter("a"))


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
    lengths, link_lengths = _lengths(root)
    scores: dict[HtmlElement, float] = {}
    for el in _elements(root):
        if el.tag in NEVER_TEXT:
            continue
        own = len((el.text or "").strip()) + sum(len((c.tail or "").strip()) for c in el)
        if el.tag in _PARA_TAGS or own >= 25:
            n = lengths[el] if el.tag in _PARA_TAGS else own
            if n < 25:
                continue
            parent = el.getparent() if el.tag in _PARA_TAGS else el
            if parent is None:
                continue
            links = link_lengths[el] / max(1, n) if el.tag in _PARA_TAGS else 0.0
            scores[parent] = scores.get(parent, 0.0) + n * (1.0 - min(1.0, links))
    if not scores:
        return None
    return max(scores, key=lambda k: scores[k])


def _lengths(root: HtmlElement) -> tuple[dict[HtmlElement, int], dict[HtmlElement, int]]:
    """`text_len` and `_link_len` of every element, bottom-up in one pass (no subtree re-walks)."""
    lengths: dict[HtmlElement, int] = {}
    links: dict[HtmlElement, int] = {}
    for el in reversed(list(_elements(root))):
        n = len((el.text or "").strip())
        a = 0
        for child in el:
            n += lengths.get(child, 0) + len((child.tail or "").strip())
            a += links.get(child, 0)
        lengths[el] = n
        links[el] = a + n if el.tag == "a" else a
    return lengths, links


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


