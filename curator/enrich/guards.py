"""Guards on what an LLM reads and writes: injection signals, facts not in the source, links and markup.

These are checks, not repairs: the backend re-asks once with the finding, then flags the item for
the reviewer (facts, injection) or rejects it (markup, foreign links).
"""

from __future__ import annotations

import re

from curator.text import normalise_for_match

_INJECTION = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"ignore\s+(all\s+|any\s+)?(the\s+)?(previous|prior|above|earlier)\s+(instructions|prompts|messages)",
        r"disregard\s+(all\s+|the\s+)?(previous|prior|above)",
        r"\byou\s+are\s+now\s+(a|an|the)\b",
        r"\bsystem\s+prompt\b",
        r"\bnew\s+instructions?\s*:",
        r"<\|im_(start|end)\|>|\[/?INST\]|<<SYS>>",
        r"忽略(之前|以上|上述|前面|先前)(的)?(所有|全部)?(指令|指示|提示|要求|设定)",
        r"(无视|忘记)(之前|以上|上述)(的)?(指令|指示|提示|规则)",
        r"你现在(是|扮演)",
        r"系统提示(词)?",
        r"(给|请)?(这篇|本文)?(文章)?(打|评)\s*(满分|100\s*分)",
    )
]
_ZERO_WIDTH = re.compile(r"[\u200b-\u200f\u2060-\u2064\ufeff]")
_URL = re.compile(r"https?://[^\s)\]>\"'，。）]+", re.IGNORECASE)
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>|!\[[^\]]*\]\(|javascript:", re.IGNORECASE)
# Thousands separators are gone by the time numbers are read (_digits); a comma left is a list
# separator ("3，8 张" normalises to "3,8"), not part of a number.
_NUMBER = re.compile(r"\d+(?:\.\d+)*")
_QUOTED = re.compile(r"[“\"「『《]([^”\"」』》]{2,40})[”\"」』》]")
_LATIN_NAME = re.compile(r"\b[A-Z][A-Za-z0-9]*(?:[-.+][A-Za-z0-9]+)*\b")


def injection_signals(text: str) -> list[str]:
    """Why a source text looks like it tries to steer the model (empty when it does not)."""
    found = [p.pattern[:40] for p in _INJECTION if p.search(text)]
    if len(_ZERO_WIDTH.findall(text)) >= 5:
        found.append("zero-width characters")
    return found


def strip_zero_width(text: str) -> str:
    return _ZERO_WIDTH.sub("", text)


def markup_problems(text: str, allowed_urls: set[str]) -> list[str]:
    problems = []
    if _MARKUP.search(text):
        problems.append("contains HTML, images or script links")
    foreign = [u for u in _URL.findall(text) if u.rstrip("/") not in {a.rstrip("/") for a in allowed_urls}]
    if foreign:
        problems.append(f"contains links other than the article's own: {', '.join(foreign[:3])}")
    return problems


def _digits(text: str) -> str:
    return re.sub(r"(?<=\d)[,，](?=\d{3})", "", text)


def unsupported_facts(summary: str, source: str) -> list[str]:
    """Numbers, quoted phrases and Latin-script names in `summary` that the source does not contain."""
    src = _digits(normalise_for_match(source))
    src_nospace = src.replace(" ", "")
    out: list[str] = []
    norm = _digits(normalise_for_match(summary))
    for num in dict.fromkeys(_NUMBER.findall(norm)):
        if len(num) == 1:
            continue  # "3 款" vs "三款": single digits are too often spelled out in the source
        if not re.search(rf"(?<![\d.]){re.escape(num)}(?![\d])", src):
            out.append(num)
    for phrase in dict.fromkeys(_QUOTED.findall(summary)):
        p = normalise_for_match(phrase).replace(" ", "")
        if p and p not in src_nospace:
            out.append(f"“{phrase}”")
    if re.search(r"[A-Za-z]{3,}", source):
        for name in dict.fromkeys(_LATIN_NAME.findall(summary)):
            if len(name) >= 2 and name.lower() not in src:
                out.append(name)
    return out
