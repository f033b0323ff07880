"""Lint rules on the copy of each item (its title and summary): what an editor would have to rewrite.

    Document ─► items() ─► Entry(line, title, summary) ─► pipe_title, title_repeat, markdown_residue,
                                                          citation_marker, chrome_phrase, mid_sentence

Items are read in both house styles: `**title**：summary[^n]` (footnotes) and `N、[title](url)` with
the summary on the next line (list). `curator.lint` registers RULES and DESCRIPTIONS with its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from curator import copytext
from curator import text as textutil
from curator.findings import Finding, Options, Rule
from curator.markdown import FOOTNOTE_DEF, Document, Line, plain
from curator.titles import pipe_segments
from curator.vocab import mainland_form, regional_words

DESCRIPTIONS: dict[str, str] = {
    "pipe_title": "a title made of keyword pipes (3 or more ' | ' segments)",
    "title_repeat": "a summary that starts by repeating its item's title",
    "markdown_residue": "Markdown or outline scaffolding left in a summary (** / * list markers / 标题：)",
    "citation_marker": "a source's citation markers ([1], [12]) left in a summary",
    "chrome_phrase": "page chrome in a summary (player notices, view counts, next-up lists)",
    "mid_sentence": "a summary that stops mid-sentence (ends with ； ， or no closing punctuation)",
    "regional_vocab": "Taiwan vocabulary in a Simplified-Chinese issue (软体, 程式, 记忆体 …)",
}

_BOLD_ITEM = re.compile(r"^\s*(?:(?:[-*+]|\d+[.)])\s+)?\*\*(?!\s)(.+?)\*\*\s*[:：]\s*(.*)$")
_LIST_ITEM = re.compile(r"^\s*\d+、\s*\[([^\]]+)\]\([^)]*\)")
_FOOTNOTE_REF = re.compile(r"\[\^[^\]\s]+\]")
_TRAILING_NOTE = re.compile(r"\s*[（(][^（）()]*(?:讨论|投稿|points)[^（）()]*[）)]\s*$")
_TERMINAL = re.compile(r"[。！？!?.…][”’」』）)\]】》\"']*$")
_CLAUSE_END = re.compile(r"[；;，,、：:]$")
# An emphasis pair wrapping nothing or a colon ("**：**"), a list marker glued inline ("技术*   从"),
# heading or quote markers; the editor's own **bold** words are not residue.
_RESIDUE = re.compile(r"\*\*\s*[:：]?\s*\*\*|(?<!\*)\*\s{2,}|(?<=[\w。，])\*\s|(?:^|\s)#{1,6}\s|^\s*>\s|^\s*[-+*]\s")
_COUNTS = re.compile(r"\d[\d.,]*\s*[万千亿kKmM]?\s*(?:次观看|次播放|人观看|views\b|subscribers\b)", re.IGNORECASE)


@dataclass(frozen=True)
class Entry:
    line: int  # where the summary is (the title's line for the footnotes style)
    title: str
    title_line: int
    summary: str  # as the reader reads it: footnote refs and discussion notes taken off


def _summary_text(s: str) -> str:
    s = _FOOTNOTE_REF.sub("", s).strip()
    s = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", s)  # links read as their labels
    # A trailing <br> or element is markup (raw_html's business), not the sentence's end.
    while (t := re.sub(r"\s*(?:<(\w+)[^>]*>[^<]*</\1\s*>|<[^>]+>)\s*$", "", s)) != s:
        s = t
    while (t := _TRAILING_NOTE.sub("", s)) != s:
        s = t
    return s.strip()


def items(doc: Document) -> Iterator[Entry]:
    lines = [ln for ln in doc.lines if ln.kind == "text"]
    for idx, line in enumerate(lines):
        if m := _BOLD_ITEM.match(line.masked):
            yield Entry(line.no, m.group(1).strip(), line.no, _summary_text(line.masked[m.start(2):]))
        elif m := _LIST_ITEM.match(line.masked):
            nxt: Line | None = next((x for x in lines[idx + 1 :] if x.visible.strip()), None)
            if nxt is not None and not _LIST_ITEM.match(nxt.masked) and not nxt.masked.lstrip().startswith("#"):
                yield Entry(nxt.no, m.group(1).strip(), line.no, _summary_text(nxt.masked))


def _finding(line: int, rule: str, message: str) -> Finding:
    return Finding(line, rule, message)


def pipe_title(doc: Document, opt: Options) -> Iterator[Finding]:
    seen = set()
    for e in items(doc):
        if len(pipe_segments(e.title)) >= 3:
            seen.add(e.title_line)
            yield _finding(e.title_line, "pipe_title", f"标题是关键词堆砌（{len(pipe_segments(e.title))} 段 |），请改成一句标题：「{e.title[:30]}」")
    for line in doc.lines:
        if line.no in seen:
            continue
        head = re.match(r"^\s*(?:title:\s*|#\s+)(.+)$", line.raw) if line.kind in ("front", "text") else None
        if head and len(pipe_segments(head.group(1).strip("\"'"))) >= 3:
            yield _finding(line.no, "pipe_title", "期刊标题是关键词堆砌（3 段以上 |），请改成一句标题")


def _norm(s: str) -> str:
    return "".join(ch for ch in textutil.normalise_for_match(s) if ch.isalnum())


def title_repeat(doc: Document, opt: Options) -> Iterator[Finding]:
    for e in items(doc):
        t, s = _norm(e.title), _norm(e.summary)
        first = textutil.split_sentences(e.summary)
        # A Chinese summary opening with the whole headline glued to the text, or an English one
        # opening with a whole multi-word title; a subject named again ("Rust 1.99 ships…") is prose.
        long_title = len(t) >= 8 if textutil.han_ratio(e.title) > 0.3 else len(e.title.split()) >= 4
        if (long_title and s.startswith(t)) or (first and copytext.repeats_title(first[0], e.title)):
            yield _finding(e.line, "title_repeat", f"摘要开头重复了标题「{e.title[:30]}」，请删去重复部分")


def markdown_residue(doc: Document, opt: Options) -> Iterator[Finding]:
    for e in items(doc):
        problems = []
        if m := _RESIDUE.search(e.summary):
            problems.append(f"Markdown 标记「{m.group(0).strip()}」")
        for sentence in textutil.split_sentences(e.summary):
            if m := copytext.SCAFFOLD.match(sentence):
                problems.append(f"提纲标签「{m.group(0).strip()}」")
                break
        if problems:
            yield _finding(e.line, "markdown_residue", f"摘要中残留{'、'.join(problems)}，请删除")


def citation_marker(doc: Document, opt: Options) -> Iterator[Finding]:
    for e in items(doc):
        marks = [m.group(0) for m in copytext.CITATION.finditer(e.summary)
                 if not e.summary[m.end():].startswith("(")]
        if marks:
            yield _finding(e.line, "citation_marker", f"摘要中有原文的引用标记 {' '.join(marks[:5])}，请删除")


def chrome_phrase(doc: Document, opt: Options) -> Iterator[Finding]:
    for e in items(doc):
        hit = _COUNTS.search(e.summary) or copytext.CHROME.search(e.summary)
        if not hit:
            hit = next((m for s in textutil.split_sentences(e.summary) if (m := copytext.CHROME.search(s))), None)
        if hit:
            yield _finding(e.line, "chrome_phrase", f"摘要里是网页/播放器的界面文字「{hit.group(0)[:30]}」，请改写")


def mid_sentence(doc: Document, opt: Options) -> Iterator[Finding]:
    for e in items(doc):
        s = e.summary.rstrip()
        if not s or not textutil.han_ratio(s):
            continue  # an English issue's summaries are left to the editor's ear
        if _CLAUSE_END.search(s) or not _TERMINAL.search(s):
            yield _finding(e.line, "mid_sentence", f"摘要没有以完整的句子结尾：「…{s[-15:]}」")


def regional_vocab(doc: Document, opt: Options) -> Iterator[Finding]:
    if not opt.simplified:
        return
    for line in doc.lines:
        # Footnote definitions quote the sources' own titles, which are theirs to word.
        if line.kind not in ("text", "front") or FOOTNOTE_DEF.match(line.masked):
            continue
        words = regional_words(plain(line))
        if words:
            shown = "、".join(f"{w}（{mainland_form(w)}）" for w in words[:6])
            yield _finding(line.no, "regional_vocab", f"简体中文期刊中出现台湾用语：{shown}")


RULES: dict[str, Rule] = {
    "pipe_title": pipe_title,
    "title_repeat": title_repeat,
    "markdown_residue": markdown_residue,
    "citation_marker": citation_marker,
    "chrome_phrase": chrome_phrase,
    "mid_sentence": mid_sentence,
    "regional_vocab": regional_vocab,
}
assert RULES.keys() == DESCRIPTIONS.keys()
