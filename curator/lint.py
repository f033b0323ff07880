"""Lint: problems in a drafted issue's Markdown (chatter, script, links, footnotes, markup) before review.

    text ─► markdown.scan() ─► Document ─► each rule in RULES ─► Finding(line, rule, message, severity)

Rules look only at what the reader sees (`curator.markdown` masks fenced code, inline code and HTML
comments), except that the composer's provenance comments (`<!-- curator story="…" … -->`) are read
for the `stale_item` and `injection_flag` rules. The copy rules (titles and summaries) live in
`curator.lint_copy`; this module registers them. Line numbers are 1-based.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

from curator import lint_copy
from curator.findings import Finding, Options, Rule, format_findings
from curator.markdown import (
    FOOTNOTE_DEF,
    FOOTNOTE_REF,
    Document,
    Line,
    Link,
    heading,
    is_blank,
    plain,
    provenance,
    scan,
)
from curator.outlet import url_outlet
from curator.text import HAN, is_chatter, split_sentences, to_simplified, traditional_chars
from curator.urls import canonical_url, domain, tracking_keys

__all__ = ["RULES", "Finding", "format_findings", "lint_markdown", "review_links"]

RULES: dict[str, str] = {
    "chatter": "LLM chatter or page boilerplate in the prose (好的，以下是… / I hope this helps)",
    "traditional": "Traditional characters in a Simplified-Chinese issue",
    "empty_item": "an item with nothing after its title, or a section heading with no items",
    "tracking_params": "a link carrying tracking parameters (utm_*, fbclid, spm …)",
    "non_https": "a plain http:// link (warning)",
    "duplicate_link": "the same page linked twice",
    "domain_dominance": "more items from one domain than drafts.max_per_domain (warning)",
    "stale_item": "an item published before the issue's window (warning)",
    "broken_footnote": "a [^n] without a definition, a definition never used, or one defined twice",
    "unbalanced_markdown": "unclosed ``` fence or HTML comment, unbalanced ** or link brackets",
    "injection_flag": "enrichment flagged a suspected prompt injection in the source",
    "raw_html": "<script>, <iframe>, <img> and other raw tags, on*= handlers or javascript: links",
    "unsafe_link": "a link that is not http(s), a footnote defined twice (the first wins: a spoof), "
    "or, with the draft's review data, a link the composer did not write (warning)",
    **lint_copy.DESCRIPTIONS,  # the copy rules (titles and summaries) live in their own module
}


# --- line shapes -----------------------------------------------------------------------------------

_NUMBERED = re.compile(r"^\s*\d+、\s*")  # 科技爱好者周刊 style: "12、[Title](url)"
_LIST_MARK = re.compile(r"^\s{0,3}(?:[-*+]|\d+[.)])(?:\s+|$)")
_BOLD_HEAD = re.compile(r"^\s*\*\*(?!\s)(.+?)\*\*")
_LABEL = re.compile(r"^\s*[（(](?:英文|日文|韩文|English)[）)]")
_END_MARK = re.compile(r"^\s*[（(]完[）)]\s*$")
_IMAGE_ONLY = re.compile(r"^\s*(?:!\[[^\]]*\]\([^)]*\)\s*)+$")
_WORD = re.compile(rf"[0-9A-Za-z{HAN}]")


def _item_rest(line: Line) -> str | None:
    """For an item head, the text after its title ("" when there is none); None for other lines."""
    s = line.masked
    if (m := _NUMBERED.match(s)) or (m := _LIST_MARK.match(s)):
        s = s[m.end() :]
    elif not _BOLD_HEAD.match(s):
        return None
    if m := _BOLD_HEAD.match(s):
        s = s[m.end() :]
    elif s.lstrip().startswith("[") and not s.lstrip().startswith("[^"):
        first = next((x for x in line.links if x.start >= len(line.masked) - len(s) and x.label), None)
        if first is not None:
            s = line.masked[first.end :]
    s = _LABEL.sub("", s)
    s = FOOTNOTE_REF.sub("", s)
    return s if _WORD.search(s) else ""


def _is_boundary(line: Line) -> bool:
    return line.kind == "text" and bool(
        heading(line) or FOOTNOTE_DEF.match(line.masked) or _END_MARK.match(line.masked)
    )


def _parse_date(value: str) -> date | None:
    m = re.search(r"(\d{4})(?:-|年)(\d{1,2})(?:-|月)(\d{1,2})", value)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


# --- rules -----------------------------------------------------------------------------------------



def _chatter(doc: Document, opt: Options) -> Iterator[Finding]:
    lang = "zh" if opt.language.lower().startswith("zh") else None
    for line in doc.lines:
        # Footnote definitions quote sources' own titles ("少数派：…"), which are not our prose.
        if line.kind not in ("text", "front") or FOOTNOTE_DEF.match(line.masked):
            continue
        words = plain(line)
        hit = next((s for s in split_sentences(words, lang) if is_chatter(s)), None) if words else None
        if hit:
            yield Finding(line.no, "chatter", f"疑似 LLM 套话或网页样板文字，请删除：「{hit[:40]}」")


def _traditional(doc: Document, opt: Options) -> Iterator[Finding]:
    if not opt.simplified:
        return
    for line in doc.lines:
        if line.kind not in ("text", "front"):
            continue
        chars = traditional_chars(plain(line))
        if not chars:
            continue
        shown = "、".join(chars[:10]) + ("…" if len(chars) > 10 else "")
        simple = "、".join(to_simplified(c) for c in chars[:10])
        if FOOTNOTE_DEF.match(line.masked):
            msg = f"来源标题含繁体字 {shown}（简体：{simple}），可保留原文或改为简体"
            yield Finding(line.no, "traditional", msg, "warning")
        else:
            yield Finding(line.no, "traditional", f"简体中文期刊中出现繁体字 {shown}（应为 {simple}）")


def _section_has_content(lines: list[Line], level: int) -> bool:
    """Whether the lines after a heading of `level` hold anything before the next heading at that
    level or above (deeper headings do not count as content)."""
    for nxt in lines:
        if nxt.kind != "text":
            return True
        if h := heading(nxt):
            if h[0] <= level:
                return False
            continue
        if is_blank(nxt):
            continue
        return not _is_boundary(nxt)
    return False


def _item_has_text(lines: list[Line]) -> bool:
    """Whether text follows an item head whose own line stops at the title (list style puts the
    summary on the next lines); images and comments are not text."""
    for nxt in lines:
        if is_blank(nxt) or (nxt.kind == "text" and _IMAGE_ONLY.match(nxt.visible)):
            continue
        return nxt.kind != "text" or not (_is_boundary(nxt) or _item_rest(nxt) is not None)
    return False


def _empty_item(doc: Document, opt: Options) -> Iterator[Finding]:
    lines = doc.lines
    for idx, line in enumerate(lines):
        if line.kind != "text":
            continue
        if h := heading(line):
            if h[0] >= 2 and not _section_has_content(lines[idx + 1 :], h[0]):
                yield Finding(line.no, "empty_item", f"小节「{h[1]}」下没有任何条目")
            continue
        if _item_rest(line) == "" and not _item_has_text(lines[idx + 1 :]):
            yield Finding(line.no, "empty_item", "条目只有标题，没有介绍文字")


def _web_links(doc: Document) -> Iterator[tuple[Line, Link]]:
    for line in doc.text_lines():
        for link in line.links:
            if link.url.lower().startswith(("http://", "https://")):
                yield line, link


def _tracking(doc: Document, opt: Options) -> Iterator[Finding]:
    for line, link in _web_links(doc):
        if keys := tracking_keys(link.url):  # the very list canonical_url and drafts strip
            yield Finding(line.no, "tracking_params", f"链接带有跟踪参数 {', '.join(keys)}：{link.url}")


def _non_https(doc: Document, opt: Options) -> Iterator[Finding]:
    for line, link in _web_links(doc):
        if link.url.lower().startswith("http://") and domain(link.url) not in opt.allow_http_hosts:
            yield Finding(line.no, "non_https", f"非 HTTPS 链接，能换成 https:// 就换：{link.url}", "warning")


def _is_content_link(link: Link) -> bool:
    """Links to the story itself, not credits ("[@user](…)") or discussion threads ("[HN 讨论](…)")."""
    label = link.label.strip()
    return not link.image and not label.startswith("@") and not label.endswith("讨论")


def _duplicate_link(doc: Document, opt: Options) -> Iterator[Finding]:
    seen: dict[str, int] = {}
    for line, link in _web_links(doc):
        if not _is_content_link(link):
            continue
        try:
            key = canonical_url(link.url)
        except ValueError:
            continue
        if key in seen and seen[key] != line.no:
            yield Finding(line.no, "duplicate_link", f"与第 {seen[key]} 行重复的链接：{link.url}")
        seen.setdefault(key, line.no)


def _footnote_defs(doc: Document) -> dict[str, Line]:
    defs: dict[str, Line] = {}
    for line in doc.text_lines():
        if m := FOOTNOTE_DEF.match(line.masked):
            defs.setdefault(m.group(1), line)
    return defs


def _item_url(line: Line, defs: dict[str, Line]) -> str | None:
    """The link an item head stands for: its first link, else its first footnote's first link."""
    link = next((x for x in line.links if _is_content_link(x)), None)
    if link is None and (m := FOOTNOTE_REF.search(line.masked)) and m.group(1) in defs:
        link = next((x for x in defs[m.group(1)].links if _is_content_link(x)), None)
    return link.url if link else None


def _domain_dominance(doc: Document, opt: Options) -> Iterator[Finding]:
    defs = _footnote_defs(doc)
    counts: dict[str, int] = {}
    for line in doc.text_lines():
        # An account on a platform (github.com/<owner>, x.com/<user>, a WeChat __biz) is its own outlet.
        if _item_rest(line) is None or not (url := _item_url(line, defs)) or not (host := url_outlet(url)[0]):
            continue
        counts[host] = counts.get(host, 0) + 1
        if counts[host] == opt.max_per_domain + 1:
            msg = f"来自 {host} 的条目超过 {opt.max_per_domain} 条（drafts.max_per_domain），考虑换掉一些"
            yield Finding(line.no, "domain_dominance", msg, "warning")


def _stale_item(doc: Document, opt: Options) -> Iterator[Finding]:
    if opt.window_start is None:
        return
    start = opt.window_start
    for comment in doc.comments:
        fields = provenance(comment) or {}
        when = _parse_date(fields.get("published", ""))
        if when and when < start:
            msg = f"条目发布于 {when.isoformat()}，早于本期时间窗口起点 {start.isoformat()}"
            yield Finding(comment.line, "stale_item", msg, "warning")
    for line in doc.text_lines():
        if not FOOTNOTE_DEF.match(line.masked):
            continue
        rest = list(line.masked)
        for link in line.links:  # dates in titles and URLs are not the footnote's date
            rest[link.start : link.end] = [" "] * (link.end - link.start)
        when = _parse_date("".join(rest))
        if when and when < start:
            msg = f"脚注日期 {when.isoformat()} 早于本期时间窗口起点 {start.isoformat()}"
            yield Finding(line.no, "stale_item", msg, "warning")


def _broken_footnote(doc: Document, opt: Options) -> Iterator[Finding]:
    defs: dict[str, int] = {}
    refs: dict[str, int] = {}
    for line in doc.text_lines():
        body = line.masked
        if m := FOOTNOTE_DEF.match(body):
            if m.group(1) in defs:
                yield Finding(
                    line.no,
                    "broken_footnote",
                    f"脚注 [^{m.group(1)}] 重复定义（首次在第 {defs[m.group(1)]} 行）",
                )
            defs.setdefault(m.group(1), line.no)
            body = body[m.end() :]
        for ref in FOOTNOTE_REF.finditer(body):
            refs.setdefault(ref.group(1), line.no)
    for name, no in refs.items():
        if name not in defs:
            yield Finding(no, "broken_footnote", f"脚注 [^{name}] 被引用但没有定义")
    for name, no in defs.items():
        if name not in refs:
            yield Finding(no, "broken_footnote", f"脚注 [^{name}] 已定义但正文从未引用")


def _unbalanced(doc: Document, opt: Options) -> Iterator[Finding]:
    if doc.unclosed_front_matter:
        yield Finding(1, "unbalanced_markdown", "front matter 以 --- 开头但没有结束的 ---")
    if doc.unclosed_fence is not None:
        yield Finding(doc.unclosed_fence, "unbalanced_markdown", "代码块 ``` 没有闭合")
    for comment in doc.comments:
        if not comment.closed:
            yield Finding(comment.line, "unbalanced_markdown", "HTML 注释 <!-- 没有闭合的 -->")
    for line in doc.text_lines():
        problems = list(line.link_problems)
        if len(re.findall(r"(?<!\\)\*\*", line.prose)) % 2:
            problems.append("加粗标记 ** 不成对")
        opens, closes = len(re.findall(r"(?<!\\)\[", line.prose)), len(re.findall(r"(?<!\\)\]", line.prose))
        if opens != closes:
            problems.append(f"方括号不成对（{opens} 个 [，{closes} 个 ]）")
        if "-->" in line.masked:
            problems.append("多余的 -->（没有对应的 <!--）")
        if problems:
            yield Finding(line.no, "unbalanced_markdown", "；".join(problems))


def _injection(doc: Document, opt: Options) -> Iterator[Finding]:
    for comment in doc.comments:
        fields = provenance(comment) or {}
        flags = [f for f in fields.get("flags", "").split(",") if "injection" in f.lower()]
        if flags:
            msg = f"来源内容疑似提示词注入（{', '.join(flags)}，story {fields.get('story', '?')}），请人工核对该条目"
            yield Finding(comment.line, "injection_flag", msg)


# A raw tag as a renderer sees it (not `\\<` or `&lt;`, which are text); its attributes up to `>`.
_RAW_TAG = re.compile(r"(?<!\\)<\s*/?\s*([a-zA-Z][\w-]*)(?=[\s/>]|$)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>?")
# Text-level tags that carry no URL and run nothing: an editor's <br> or <sup> is not a problem.
_HARMLESS_TAGS = {"br", "sup", "sub", "kbd", "b", "i", "em", "strong", "code", "del", "s", "u", "mark", "small",
                  "wbr", "abbr", "span"}
_HTML_HANDLER = re.compile(r"\s(on[a-z]+)\s*=", re.IGNORECASE)
_HTML_JS_ATTR = re.compile(r"=\s*[\"']?\s*(?:javascript|vbscript):", re.IGNORECASE)
_BAD_SCHEME = re.compile(r"^\s*(?:javascript|vbscript|data:text/html)", re.IGNORECASE)


def _raw_html(doc: Document, opt: Options) -> Iterator[Finding]:
    for line in doc.text_lines():
        problems, js = [], any(_BAD_SCHEME.match(x.url) for x in line.links)
        for m in _RAW_TAG.finditer(line.masked):
            tag, attrs = m.group(1).lower(), m.group(2)
            if tag not in _HARMLESS_TAGS:
                problems.append(f"<{tag}> 标签")
            problems += [f"事件属性 {h.group(1)}=" for h in _HTML_HANDLER.finditer(attrs)]
            js = js or bool(_HTML_JS_ATTR.search(attrs))
        if js:
            problems.append("javascript: 链接")
        if problems:
            yield Finding(line.no, "raw_html", f"草稿中有可执行的 HTML：{'、'.join(dict.fromkeys(problems))}")


def _unsafe_link(doc: Document, opt: Options) -> Iterator[Finding]:
    for line in doc.text_lines():
        for link in line.links:
            if _BAD_SCHEME.match(link.url):
                continue  # raw_html says it
            if not link.url.lower().startswith(("http://", "https://")):
                what = "图片" if link.image else "链接"
                # An editor's mailto: or site-relative link is unusual in a draft, not hostile.
                mild = not _SCHEME.match(link.url) or link.url.lower().startswith("mailto:")
                yield Finding(line.no, "unsafe_link", f"{what}不是 http(s) 地址，读者点开会去哪里无法核对：{link.url[:80]}",
                              "warning" if mild else "error")
            elif opt.allowed_links is not None and not link.image and _link_key(link.url) not in opt.allowed_links:
                yield Finding(line.no, "unsafe_link",
                              f"草稿生成时没有这个链接（不是本期条目的地址），请核对：{link.url[:80]}", "warning")
    # A definition planted in the text above the real footnote block wins over it (the first one is
    # used): a label defined twice with prose in between is a spoof. Twice in one block is only a
    # duplicate (broken_footnote says so).
    first: dict[str, tuple[Line, int]] = {}
    prose = 0  # prose lines seen so far
    for line in doc.text_lines():
        m = FOOTNOTE_DEF.match(line.masked)
        if m is None:
            prose += not is_blank(line)
        elif m.group(1) not in first:
            first[m.group(1)] = (line, prose)
        elif first[m.group(1)][1] != prose:
            spoof = first[m.group(1)][0]
            yield Finding(spoof.no, "unsafe_link",
                          f"脚注 [^{m.group(1)}] 在第 {line.no} 行又定义了一次：渲染时生效的是这里的定义，疑似伪造")


_SCHEME = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*:")


def _link_key(url: str) -> str:
    return url.strip().rstrip("/").lower()


_RULES: dict[str, Rule] = {
    "chatter": _chatter,
    "traditional": _traditional,
    "empty_item": _empty_item,
    "tracking_params": _tracking,
    "non_https": _non_https,
    "duplicate_link": _duplicate_link,
    "domain_dominance": _domain_dominance,
    "stale_item": _stale_item,
    "broken_footnote": _broken_footnote,
    "unbalanced_markdown": _unbalanced,
    "injection_flag": _injection,
    "raw_html": _raw_html,
    "unsafe_link": _unsafe_link,
    **lint_copy.RULES,
}
assert _RULES.keys() == RULES.keys()


def lint_markdown(
    text: str,
    *,
    language: str = "zh-Hans",
    window_start: date | None = None,
    max_per_domain: int = 3,
    rules: set[str] | None = None,
    allowed_links: set[str] | None = None,
    allow_http_hosts: Iterable[str] = (),
) -> list[Finding]:
    """Every problem found in a draft, ordered by line. `rules` limits the run to some rule ids;
    `allowed_links` (the review data's `links`) makes any other link a warning."""
    unknown = (rules or set()) - RULES.keys()
    if unknown:
        raise ValueError(f"unknown lint rules: {', '.join(sorted(unknown))} (known: {', '.join(RULES)})")
    doc = scan(text)
    allowed = {_link_key(u) for u in allowed_links} if allowed_links is not None else None
    hosts = frozenset(h.lower().removeprefix("www.") for h in allow_http_hosts)
    opt = Options(language, window_start, max_per_domain, allowed, hosts)
    findings = [
        f for rule_id, rule in _RULES.items() if rules is None or rule_id in rules for f in rule(doc, opt)
    ]
    order = list(RULES)
    return sorted(findings, key=lambda f: (f.line, order.index(f.rule), f.message))


def review_links(draft: Path) -> set[str] | None:
    """The links the composer wrote into `draft`, from its review data (`issue-N.json` beside it);
    None when there is none (a hand-written draft, or one made before drafts recorded their links)."""
    try:
        links = json.loads(draft.with_suffix(".json").read_text(encoding="utf-8")).get("links")
    except (OSError, ValueError, AttributeError):
        return None
    return {str(u) for u in links} if isinstance(links, list) else None
