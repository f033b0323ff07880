"""A video page's transcript, when the page carries one: the text to summarise when its notes are missing.

Read from the markup itself, never from an external captions service (a YouTube-style captions URL in
`ytInitialPlayerResponse` is not followed): a transcript block (`class`/`id` naming a transcript,
`itemprop="transcript"`), schema.org `VideoObject.transcript` in JSON-LD, a subtitle cue list embedded
in a page script (Bilibili-style `{"from": 0.0, "to": 2.5, "content": "…"}`), and WebVTT/SRT text that
the fetch stage read from a same-site `<track kind="captions|subtitles">` (`cues_text`). Timestamps, cue
numbers and voice tags go; caption fragments are joined into paragraphs of whole sentences.
"""

from __future__ import annotations

import html as htmllib
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

from curator import text as textutil
from curator.enrich import cleanup
from curator.text import HAN_RE

__all__ = ["caption_track", "cues_text", "find", "stands_for", "with_block"]

# Cheap sniff before a second parse: most pages carry none of these words. Substring search and a
# case-sensitive pattern (JSON keys are): one case-insensitive regex over the page cost 76 ms on a
# 5 MB dev page, these about 5 ms. "ranscript" in either case covers transcript / Transcript / TRANSCRIPT.
_SNIFF_WORDS = ("ranscript", "RANSCRIPT")
_SNIFF_CUES = re.compile(r"\"(?:from|start|startTime|start_time)\"\s*:\s*\"?\d")
_CLASS_WORD = re.compile(r"(?:^|[\s_-])transcript(?:s|ion)?(?:$|[\s_-])", re.IGNORECASE)
_TIMESTAMP = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
# "00:00:01,000 --> 00:00:03,000 align:start", "WEBVTT", "NOTE …", "STYLE", a cue number on its own.
_CUE_TIMING = re.compile(rf"^\s*{_TIMESTAMP}\s*-->\s*{_TIMESTAMP}.*$")
_CUE_META = re.compile(r"^\s*(?:WEBVTT\b.*|NOTE\b.*|STYLE\s*|REGION\s*|\d{1,5}\s*|Kind:.*|Language:.*)$")
# "[00:01:23] ", "(0:05) ", "0:05 ", "00:12 - " at a line's start, or a timestamp alone on a line.
_LEADING_TS = re.compile(rf"^\s*[\[(（【]?\s*{_TIMESTAMP}\s*[\])）】]?\s*[-–—:：|]?\s*")
_STAMPED = re.compile(rf"^\s*[\[(（【]?\s*{_TIMESTAMP}\b")
_VOICE = re.compile(r"</?(?:v|c|i|b|u|lang|ruby|rt)(?:[.\s][^>]*)?>|<\d{2}:[^>]*>")
_CUE_OBJECT = re.compile(
    r"\{[^{}]*?\"(?:from|start|startTime|start_time)\"\s*:\s*\"?[\d.]+\"?[^{}]*?"
    r"\"(?:content|text)\"\s*:\s*\"((?:[^\"\\]|\\.)*)\"[^{}]*\}"
)
_GREETING = re.compile(
    r"^(?:大家好|各位(?:观众|朋友|小伙伴)(?:们)?(?:大家)?好|哈喽|嗨|hello everyone|hi everyone|hey (?:guys|everyone)|"
    r"welcome back)(?:[,，!！。.\s]+|$)(?:(?:我是\S{1,8}?|欢迎(?:回到|收看|来到)\S{0,10}?)(?:[,，!！。\s]+|$))?",
    re.IGNORECASE,
)
_HAN_PAUSE = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")
_TERMINAL = re.compile(r"[。！？.!?…][”’」』）)\"']*$")
MIN_CHARS = 80  # less than this is a caption or two, not a transcript
CUES_PER_PARAGRAPH = 6


def _json_string(raw: str) -> str:
    try:
        value = json.loads(f'"{raw}"')
    except json.JSONDecodeError:
        return ""
    return value if isinstance(value, str) else ""


def cues_text(raw: str) -> str:
    """Caption or transcript text as prose: timings, cue numbers, voice tags and repeats removed, the
    fragments joined into paragraphs that end a sentence."""
    cues: list[str] = []
    for line in raw.replace("\r\n", "\n").split("\n"):
        if _CUE_TIMING.match(line) or _CUE_META.match(line):
            continue
        line = _VOICE.sub("", _LEADING_TS.sub("", line)).strip()
        line = _HAN_PAUSE.sub("，", line)  # Chinese captions mark a pause with a space
        if not cues:  # the host's hello opens many videos; it is not what the video says
            line = _GREETING.sub("", line)
        if line and (not cues or cues[-1] != line):  # rolling captions repeat the previous cue
            cues.append(line)
    return _paragraphs(cues)


def _paragraphs(cues: list[str]) -> str:
    paragraphs: list[str] = []
    current: list[str] = []
    for cue in cues:
        current.append(cue)
        if len(current) >= CUES_PER_PARAGRAPH and _TERMINAL.search(cue) or len(current) >= 3 * CUES_PER_PARAGRAPH:
            paragraphs.append(_join(current))
            current = []
    if current:
        paragraphs.append(_join(current))
    return "\n".join(p for p in paragraphs if p)


def _join(cues: list[str]) -> str:
    """Fragments into one paragraph: Chinese cues (no spaces, often no punctuation) get a comma between
    them and a full stop at the end; others are joined with spaces."""
    han = bool(HAN_RE.search("".join(cues)))
    out, run = "", 0  # run: cues since the last sentence end
    for cue in cues:
        if out and han:
            if re.search(r"[，。！？；、：,.!?;:]$", out):
                out += cue
            else:  # unpunctuated captions: a sentence every few cues, so summaries get whole sentences
                out += ("。" if run >= 3 else "，") + cue
                run = 0 if run >= 3 else run
        else:
            out = f"{out} {cue}".strip()
        run = 0 if _TERMINAL.search(out) else run + 1
    if not _TERMINAL.search(out):
        out = out.rstrip("，,;；:：") + ("。" if han else ".")
    return out


def _ld_objects(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for value in data:
            yield from _ld_objects(value)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "video", "hasPart", "mainEntity", "subjectOf"):
            if key in data:
                yield from _ld_objects(data[key])


def _from_json_ld(root: HtmlElement) -> str:
    for script in root.iter("script"):
        if script.get("type") != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except (json.JSONDecodeError, RecursionError):
            continue
        for obj in _ld_objects(data):
            kind = obj.get("@type")
            kinds = kind if isinstance(kind, list) else [kind]
            if "VideoObject" in kinds and isinstance(obj.get("transcript"), str):
                return cues_text(obj["transcript"])
    return ""


def _from_blocks(root: HtmlElement) -> str:
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        named = f"{el.get('class', '')} {el.get('id', '')}"
        if el.get("itemprop") == "transcript" or _CLASS_WORD.search(named):
            if el.tag == "meta":
                text = el.get("content", "")
            else:
                # One line per block element, so a timestamp and its caption stay together.
                for br in el.iter("br"):
                    br.tail = "\n" + (br.tail or "")
                for block in el.iter("p", "div", "li", "span", "dd", "dt", "tr"):
                    block.tail = "\n" + (block.tail or "")
                text = "".join(el.itertext())
            found = cues_text(text)
            if len(found) >= MIN_CHARS:
                return found
    return ""


def _from_scripts(root: HtmlElement) -> str:
    for script in root.iter("script"):
        if script.get("type") == "application/ld+json" or not script.text or "content" not in script.text:
            continue
        cues = [_json_string(m.group(1)) for m in _CUE_OBJECT.finditer(script.text)]
        found = cues_text("\n".join(c for c in cues if c))
        if len(found) >= MIN_CHARS:
            return found
    return ""


def _parse(html: str) -> HtmlElement | None:
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def sniff(html: str) -> bool:
    """Whether the page may carry a transcript (the word, or a subtitle cue's timing key)."""
    return any(w in html for w in _SNIFF_WORDS) or _SNIFF_CUES.search(html) is not None


def find(html: str) -> str:
    """The page's embedded transcript as prose, or "" when it carries none (or too little to be one)."""
    if not sniff(html):
        return ""
    root = _parse(html)
    if root is None:
        return ""
    for way in (_from_json_ld, _from_scripts, _from_blocks):
        found = way(root)
        if len(found) >= MIN_CHARS:
            return found
    return ""


def stands_for(text: str, title: str, min_chars: int, spoken: str) -> bool:
    """The transcript `spoken` is the article: the extracted text is too short, or only page chrome
    (player notices, view counts, "next up" lists). Notes a page does have stay the article."""
    if len(text) < min_chars:
        return True
    # The extractor may have kept the transcript itself (timestamps and all): judge what else there is.
    said = re.sub(r"\s+", "", spoken)
    rest = "\n".join(line for line in text.splitlines()
                     if not _STAMPED.match(line) and not (line.strip() and re.sub(r"\s+", "", line) in said))
    if not rest.strip():
        return True
    return cleanup.is_not_article(cleanup.clean_for_summary(rest, title), textutil.detect_lang(text + title))


def caption_track(html: str, page_url: str) -> str | None:
    """The URL of a same-site `<track kind="captions|subtitles">` (.vtt/.srt) to fetch, or None."""
    if "<track" not in html.lower():
        return None
    root = _parse(html)
    if root is None:
        return None
    site = urlsplit(page_url).hostname
    for track in root.iter("track"):
        if (track.get("kind") or "subtitles").lower() not in ("captions", "subtitles") or not track.get("src"):
            continue
        url = urljoin(page_url, str(track.get("src")))
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname == site and parts.path.lower().endswith((".vtt", ".srt")):
            return url
    return None


def with_block(page_html: str, cues: str) -> str:
    """The page with a captions track's text added as a transcript block (what `find` reads)."""
    paras = "".join(f"<p>{htmllib.escape(p)}</p>" for p in cues.split("\n") if p.strip())
    block = f'<div class="transcript" data-from="captions-track">{paras}</div>'
    at = page_html.lower().rfind("</body>")
    return page_html[:at] + block + page_html[at:] if at >= 0 else page_html + block
