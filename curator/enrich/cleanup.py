"""Text cleanup before summarising (both backends): Markdown, scaffolding, citation markers, page chrome.

    article text ─► clean_for_summary(text, title) ─► Cleaned(text, chrome_chars, removed_title)
                                                         └─► is_not_article() for a chrome-only page

What the source's writer (often an LLM writing video notes) left around the prose is taken off so a
summary starts with what the article says: `**标题：**…` lines, `*   ` list markers glued inline,
`[1]` citation markers of a repost, a video player's notice and view counts, the page's own title
repeated as its first line. Pure and deterministic.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from curator import text as textutil
from curator.copytext import CHROME, CITATION, SCAFFOLD, repeats_title
from curator.titles import pipe_segments

__all__ = [
    "CHROME",
    "CITATION",
    "Cleaned",
    "clean_for_summary",
    "is_chrome",
    "is_not_article",
    "strip_citations",
    "strip_markdown",
    "subheadings",
]

# --- Markdown -------------------------------------------------------------------------------------

_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((?:[^()\s]|\([^()\s]*\))+(?:\s+\"[^\"]*\")?\)")
_MD_LINE_HEAD = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|(?:[-*+•·]|\d{1,2}[.)、])\s+|[-*+•]\s*(?=\S))")
_MD_RULE = re.compile(r"^\s*(?:[-*_]\s*){3,}$")
_MD_EMPHASIS = re.compile(r"(\*\*|__|~~)(.*?)\1")
_MD_STAR = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_MD_CODE = re.compile(r"`([^`\n]*)`")
# A list item glued to the previous text when the line break was lost: "蒸馏技术*   从更大的…".
# Whitespace may have been collapsed on the way ("技术* 从"): a lone star glued to a word and
# followed by a space is a marker too ("a * b" has a space before it).
_INLINE_BULLET = re.compile(r"\s*(?<!\*)[*•](?!\*)\s{2,}|\s{2,}[*•-]\s+|(?<=[^\s*])\*(?!\*)\s+(?=\S)")


def strip_markdown(line: str) -> str:
    """A line of text without Markdown syntax: headings, quotes, list markers, emphasis, links
    (label kept), images, inline code, horizontal rules, stray ** and table pipes."""
    if _MD_RULE.match(line):
        return ""
    s = _MD_IMAGE.sub("", line)
    s = _MD_LINK.sub(r"\1", s)
    s = _MD_CODE.sub(r"\1", s)
    for _ in range(3):
        s = _MD_LINE_HEAD.sub("", s)
    s = _MD_EMPHASIS.sub(r"\2", s)
    s = _MD_STAR.sub(r"\1", s)
    s = s.replace("**", "").replace("__", "")
    s = s.strip().strip("|").strip()
    return s


# --- scaffolding and citations ----------------------------------------------------------------------

# SCAFFOLD (labels before the prose), CITATION and CHROME live in curator.copytext, shared with lint.
# "**：**" residue of bold labels whose text was lost, leading colons.
_EMPTY_LABEL = re.compile(r"^\s*(?:\*\*\s*[:：]\s*\*\*|[:：])\s*")

def strip_citations(text: str) -> str:
    return CITATION.sub("", text)


# --- page chrome -----------------------------------------------------------------------------------

_COUNT = r"\d[\d,.]*\s*(?:[万亿千kKmMbB]|\s?(?:thousand|million))?"
_CHROME_TOKEN = re.compile(
    rf"(?:{_COUNT}\s*(?:次观看|次播放|播放|观看|人观看|人看过|views?|watching|subscribers?|位订阅者|订阅者|"
    r"个赞|点赞|likes?|comments?|条评论|评论|弹幕)|"
    r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|"
    r"(?:\d+\s*(?:秒|分钟|小时|天|周|个月|年)前)|(?:\d+\s*(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?)\s+ago)|"
    r"\d{1,2}:\d{2}(?::\d{2})?|[·•|｜/]|(?:首播|发布|上传)(?:于|时间)\s*[:：]?|"
    rf"(?:播放量?|弹幕|点赞|投币|收藏|转发|分享|评论)\s*[:：]?\s*{_COUNT}|"
    r"(?:streamed live|premiered|published)(?:\s+on)?\s+[A-Z][a-z]{2,8}\.?\s+\d{1,2},?\s+\d{4}|"
    r"[A-Z][a-z]{2,8}\.?\s+\d{1,2},\s+\d{4})",
    re.IGNORECASE,
)


def _chrome_head(line: str) -> int:
    """Length of the run of chrome tokens (view counts, dates, separators) at the start of `line`."""
    pos = 0
    while True:
        m = _CHROME_TOKEN.match(line, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        while pos < len(line) and line[pos].isspace():
            pos += 1
    if pos < len(line) and line[pos] in "，,、。":
        return 0  # "2026年11月25日，OpenAI 发布…": a date that starts a sentence is prose
    return pos


def is_chrome(line: str) -> bool:
    """A line that is page furniture, not prose: a player notice, a view-count/date line, a nav
    word, or another video's keyword-pipe title from a "next up" list."""
    s = line.strip()
    if not s:
        return True
    light = unicodedata.normalize("NFKC", s)
    if CHROME.search(light):
        return True
    if _chrome_head(light) >= len(light):
        return True
    return len(pipe_segments(s)) >= 3 and not textutil.split_sentences(s)[0].endswith(("。", ".", "！", "？"))


# --- headings (multi-topic documents) --------------------------------------------------------------

_TERMINAL = re.compile(r"[。！？；.!?…：:][”’」』）)\]】》\"']*$")
_NUMBERING = re.compile(r"^\s*(?:(?:议题|议程|事项|主题|话题|专题)[一二三四五六七八九十\d]+\s*[、:：.．]?|[一二三四五六七八九十]+[、.．]|\d{1,2}[、.．)）]|第[一二三四五六七八九十\d]+[部分章节项个点][、:：\s]?|[(（][一二三四五六七八九十\d]+[)）])\s*")


_GENERIC_HEADING = re.compile(
    r"^(?:其他|其它)(?:事项|问题|议题)?$|^(?:附录|参考资料|参考文献|相关链接|延伸阅读|会议信息|参会人员|"
    r"references|appendix|further reading|related links|other business)$",
    re.IGNORECASE,
)


def _heading_text(line: str) -> str | None:
    """The topic of a subheading line (short, no terminal punctuation), else None."""
    s = line.strip()
    if not s or _TERMINAL.search(s) or is_chrome(s):
        return None
    bare = _NUMBERING.sub("", s).strip()
    size = len(re.sub(r"\s+", "", bare))
    cjk = textutil.detect_lang(bare) in {"zh", "ja", "ko"}
    if not bare or size > (24 if cjk else 80) or (not cjk and len(bare.split()) > 10) or size < 2:
        return None
    if (cjk and size < 4) or (not cjk and len(bare.split()) < 2):
        return None  # "问题", "方法", "Results": a paper's outline, not a topic of its own
    if SCAFFOLD.match(bare + "：") or _GENERIC_HEADING.match(bare):
        return None  # "引言", "总结", "其他事项": the outline's furniture, not a topic
    return bare


def subheadings(text: str) -> list[str]:
    """Topics of the subheadings of a document: short unpunctuated lines each followed by prose."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    out = []
    for i, line in enumerate(lines[:-1]):
        topic = _heading_text(line)
        nxt = lines[i + 1].strip()
        if topic and _heading_text(nxt) is None and len(nxt) > len(line.strip()):
            out.append(topic)
    return list(dict.fromkeys(out))


# --- the whole cleanup -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cleaned:
    text: str
    chrome_chars: int  # characters of page chrome taken out
    prose_chars: int  # characters of prose left


def _strip_title_prefix(line: str, title: str) -> str:
    """"OpenAI提案解读 2023年…" when the line starts with the headline: the part after it."""
    for part in sorted({title.strip(), *pipe_segments(title)}, key=len, reverse=True):
        if len(part) >= 6 and line.startswith(part) and len(line) > len(part) + 4:
            return line[len(part):].lstrip(" ：:，,|-–—")
    return line


def clean_for_summary(text: str, title: str = "") -> Cleaned:
    """`text` as a summariser should read it: one prose line per source line, without Markdown,
    scaffolding labels, citation markers, page chrome or the title repeated."""
    out: list[str] = []
    chrome = 0
    raw_lines = []
    for raw in text.splitlines():
        # A bullet glued inline is a lost line break: split there first.
        raw_lines.extend(_INLINE_BULLET.split(raw))
    for raw in raw_lines:
        line = strip_markdown(raw)
        line = _EMPTY_LABEL.sub("", line)
        if m := SCAFFOLD.match(line):
            if m.group("drop"):
                continue
            line = line[m.end():]
        line = _EMPTY_LABEL.sub("", strip_citations(line)).strip()
        if not line:
            continue
        head = _chrome_head(unicodedata.normalize("NFKC", line))
        if head and head < len(line):
            chrome += head
            line = line[head:].strip()  # "28.1万次观看 · 2026年11月25日正文…": the tokens go
        if is_chrome(line):
            chrome += len(line)
            continue
        if title and repeats_title(line, title):
            continue  # not chrome: a short article repeating its headline is still an article
        if title and not out:
            line = _strip_title_prefix(line, title)
        out.append(line)
    body = "\n".join(out)
    return Cleaned(text=body, chrome_chars=chrome, prose_chars=len(re.sub(r"\s+", "", body)))


def is_not_article(cleaned: Cleaned, lang: str) -> bool:
    """Too little prose left once the chrome is gone: a video page with no notes, a nav or a
    "next up" list. A short article without chrome is not judged here (extraction's job)."""
    cjk = lang in {"zh", "ja", "ko"}
    sentences = [s for s in textutil.split_sentences(cleaned.text, lang) if _TERMINAL.search(s)]
    words = cleaned.prose_chars if cjk else len(cleaned.text.split())
    thin = words < (60 if cjk else 20) or not sentences
    return thin and cleaned.chrome_chars > 0
