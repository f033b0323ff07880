"""Configured keywords (tags, sections, the profile) matched in a title or text, as the offline backend scores."""

from __future__ import annotations

import re
import unicodedata

from curator import text as textutil


def haystack(text: str) -> str:
    """Title/text as keywords are matched against: NFKC, Simplified, spaces collapsed, case kept."""
    return re.sub(r"\s+", " ", textutil.to_simplified(unicodedata.normalize("NFKC", text)))


def keyword_pattern(keyword: str) -> re.Pattern[str] | None:
    """A regex for one configured keyword.

    Chinese keywords match as substrings. Latin keywords are case-insensitive and must start at a
    word boundary; short ones (≤ 4 letters) must also end at one, allowing a plural "s" from 3
    letters on, so "Go" never matches "Google" or "goes". Upper-case acronyms also match at a
    camel-case seam ("ChatGPT", "OpenAI") and before digits ("GPT4").
    """
    kw = haystack(keyword).strip()
    if not kw:
        return None
    body = r"\s+".join(re.escape(part) for part in kw.split(" "))
    first, last = kw[0], kw[-1]
    latin_start = first.isascii() and first.isalnum()
    latin_end = last.isascii() and last.isalnum()
    plural = "s?" if len(kw) >= 3 else ""
    if kw.isascii() and kw.isalnum() and kw.isupper() and len(kw) >= 2:
        return re.compile(rf"(?:(?<![A-Za-z0-9])(?i:{body})|(?<=[a-z]){body}){plural}(?![A-Za-z])")
    prefix = r"(?<![A-Za-z0-9])" if latin_start else ""
    suffix = rf"{plural}(?![A-Za-z0-9])" if latin_end and len(kw) <= 4 else ""
    return re.compile(prefix + body + suffix, re.IGNORECASE)


class KeywordSet:
    """Compiled keywords of one tag / section / profile list, deduplicated case-insensitively."""

    def __init__(self, keywords: list[str]) -> None:
        self.patterns: list[tuple[str, re.Pattern[str]]] = []
        # Each keyword's text as its pattern must find it (case-folded), or None: a substring test that
        # rules out most keywords before their regex scans the text (most of the offline backend's time).
        self.needles: list[str | None] = []
        seen: set[str] = set()
        for kw in keywords:
            key = kw.strip().casefold()
            pattern = keyword_pattern(kw)
            if pattern is not None and key not in seen:
                seen.add(key)
                self.patterns.append((kw.strip(), pattern))
                plain = haystack(kw).strip()
                self.needles.append(plain.casefold() if len(plain.casefold()) == len(plain) else None)

    def counts(self, haystack: str) -> dict[str, int]:
        """keyword → occurrences, only keywords that occur, in configured order."""
        out = {}
        folded = haystack.casefold()
        aligned = len(folded) == len(haystack)  # ß, İ …: case-folding moved characters, test no needle
        for (kw, pattern), needle in zip(self.patterns, self.needles, strict=True):
            if aligned and needle is not None and needle not in folded:
                continue
            n = len(pattern.findall(haystack))
            if n:
                out[kw] = n
        return out

    def weighted(self, title: str, text: str, title_weight: int = 3) -> int:
        return title_weight * sum(self.counts(title).values()) + sum(self.counts(text).values())
