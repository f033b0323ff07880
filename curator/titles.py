"""Titles: an editor's headline from a source's raw title (keyword pipes, bracket tags, punctuation, length).

    "【人工智能】OpenAI提案矛头直指DeepSeek | 锁死全球AI发展 | 指责DeepSeek有害 | …"
        ─► headline() ─► Headline(text="OpenAI提案矛头直指DeepSeek", tags=["人工智能"])

Pure and deterministic. Used by the offline backend for the story title and by the composer for
footnote labels, so a source's SEO title never reaches the reader as is.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from curator import segment
from curator import text as textutil

__all__ = ["MAX_ZH_CHARS", "Headline", "fullwidth_punct", "headline", "pipe_segments"]

MAX_ZH_CHARS = 30  # an editor's Chinese headline; longer only when the source gives no boundary
MAX_EN_CHARS = 90
_HARD_ZH_CHARS = 40  # past this a headline is cut at a word boundary even without a clause break

# Tags in lenticular/square brackets at either end: 【人工智能】, [Video], 〖快讯〗, 「独家」 at the start.
_LEAD_TAG = re.compile(r"^\s*(?:【([^【】]{1,16})】|\[([^\[\]^]{1,16})\]|〖([^〖〗]{1,16})〗|〔([^〔〕]{1,16})〕)\s*")
_TAIL_TAG = re.compile(r"\s*(?:【([^【】]{1,16})】|\[([^\[\]^]{1,16})\]|〖([^〖〗]{1,16})〗)\s*$")
# Keyword pipes: ASCII or full-width bars, and 丨 (U+4E28), which Chinese sites use as a bar.
_PIPE = re.compile(r"\s*[|｜丨]\s*")
_STRONG = re.compile(r"[，；！？]|——|\s[-–—]\s")  # clause breaks (a colon introduces, it does not end)


# A platform's or portal's name after the headline: "… - YouTube", "…_哔哩哔哩_bilibili", "…_科技_新浪网".
# Case is ignored in the Latin names only: IGNORECASE over the Han class would make compiling this
# case-fold every ideograph (~3 ms of each start-up), and ideographs have no case.
_SITE_SUFFIX = re.compile(
    r"(?:\s*[-–—_]\s*(?:(?i:YouTube)|(?i:bilibili)|哔哩哔哩|知乎|微博|今日头条|头条|(?i:CSDN)博客|(?i:CSDN)|博客园|掘金|"
    r"简书|少数派|36氪|虎嗅网?|钛媒体|雷锋网|(?i:Medium)|(?i:Substack)|(?i:GitHub)|"
    rf"[{textutil.HAN}]{{0,6}}(?:网|频道|科技|新闻|财经|日报|晚报|在线)))+\s*$",
)


@dataclass(frozen=True)
class Headline:
    text: str
    tags: list[str] = field(default_factory=list)  # bracket tags taken off the title


def pipe_segments(title: str) -> list[str]:
    """The non-empty ` | `-separated parts of a title (one part when it has no pipe)."""
    return [p.strip() for p in _PIPE.split(title) if p.strip().strip("…").strip()]


def _size(s: str) -> int:
    return len(re.sub(r"\s+", "", s))


def _choose_segment(parts: list[str]) -> str:
    """The headline part: the first substantive segment. A very short first part ("机器之心",
    "视频") is a site or column name when a longer segment follows."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    if _size(first) <= 4 and any(_size(p) > 8 for p in parts[1:]):
        return next(p for p in parts[1:] if _size(p) > 8)
    return first


def fullwidth_punct(text: str) -> str:
    """Half-width , ; : ! ? ( ) touching a Han character become their full-width forms (the way a
    Chinese headline is set); between Latin letters or digits they stay ("GPT-4o: 2:1")."""
    # Each pattern runs only when its mark is in the text: most headlines hold none, and compiling these
    # patterns (each a Han class or two) costs ~9 ms of a draft.
    out = re.sub(rf"\(([^()]*[{textutil.HAN}][^()]*)\)", r"（\1）", text) if "(" in text else text
    han = f"[{textutil.HAN}）」”]"
    if "," in out:
        out = re.sub(rf"(?<={han})\s*,\s*|\s*,\s*(?={han})", "，", out)
    if ";" in out:
        out = re.sub(rf"(?<={han})\s*;\s*|\s*;\s*(?={han})", "；", out)
    if ":" in out:
        out = re.sub(rf"(?<={han})\s*:\s*|(?<![0-9])\s*:\s*(?={han})", "：", out)
    if "!" in out:
        out = re.sub(rf"(?<={han})\s*!(?![A-Za-z0-9])\s*", "！", out)
    if "?" in out:
        out = re.sub(rf"(?<={han})\s*\?(?![A-Za-z0-9=&])\s*", "？", out)
    return out


@functools.cache
def _jieba_cut(text: str) -> tuple[str, ...]:
    return tuple(segment.jieba().cut(text))


def _shorten_zh(text: str, limit: int) -> str:
    """A long headline cut at its last clause break within ~`limit` characters; a title up to the
    hard cap without such a break stands as the source wrote it; past the cap, a word boundary
    (jieba) and an ellipsis. Never inside a word, never at a space between words."""
    if _size(text) <= limit:
        return text
    cuts = [m.start() for m in _STRONG.finditer(text) if 10 <= _size(text[: m.start()]) <= limit]
    if cuts and _size(text) > _HARD_ZH_CHARS:
        return text[: cuts[-1]].rstrip(" ，：；、-–—")
    if _size(text) <= _HARD_ZH_CHARS:
        return text
    out = ""
    for word in _jieba_cut(text):
        if _size(out + word) > limit:
            break
        out += word
    return out.rstrip(" ，：；、-–—") + "…"


def _shorten_en(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    for sep in (": ", " – ", " — ", " - ", ", "):
        cut = text.rfind(sep, 0, limit)
        if cut >= 20:
            return text[:cut].rstrip()
    return textutil.truncate(text, limit)


def headline(raw: str, lang: str | None = None) -> Headline:
    """The editor's headline of a raw source title, with the bracket tags it carried."""
    text = re.sub(r"\s+", " ", raw).strip()
    tags: list[str] = []
    while m := _LEAD_TAG.match(text):
        tag = next(g for g in m.groups() if g)
        if not text[m.end() :].strip():
            break  # the tag is the whole title: keep it
        tags.append(tag.strip())
        text = text[m.end() :]
    while m := _TAIL_TAG.search(text):
        if not text[: m.start()].strip():
            break
        tags.append(next(g for g in m.groups() if g).strip())
        text = text[: m.start()]
    if (bare := _SITE_SUFFIX.sub("", text)) and len(bare) >= 4:
        text = bare
    parts = pipe_segments(text)
    text = _choose_segment(parts) if parts else text
    zh = (lang or textutil.detect_lang(text)).startswith("zh")
    if zh:
        text = fullwidth_punct(text)
        text = _shorten_zh(text, MAX_ZH_CHARS)
    else:
        text = _shorten_en(text, MAX_EN_CHARS)
    return Headline(text=text.strip() or raw.strip(), tags=tags)
