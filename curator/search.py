"""Search: what an editor types → a full-text query; text → index tokens; a hit's snippet with the match marked.

    "大模型 rust -java"  ─► parse_query ─► Query(clauses) ─► fts5_expression (SQLite) / tsquery_expression (Postgres)
    title, summary, article, source, tags ─► index_tokens (jieba, case-folded, Simplified) ─► the store's index

Index and query go through the same tokenizer, so a compound splits the same way on both sides: 大模型 is
大 + 模型 in jieba's dictionary, and finds 大模型推理 (大 + 模型 + 推理). The index keeps jieba's search-mode
sub-words too (数据库 → 数据, 数据库), so a query for a part of a compound finds the whole. The editor's text
never reaches the FTS engine as syntax: each word is quoted, so `AND`, `*`, `NEAR(` or `title:` typed by an
editor are words to look for; only unbalanced quotes and a dangling `OR` are refused, with the reason.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from curator import segment
from curator.errors import UsageError
from curator.text import to_simplified

__all__ = ["Clause", "Query", "SearchQueryError", "fts5_expression", "index_tokens", "parse_query",
           "query_words", "snippet", "tsquery_expression"]

MAX_QUERY_CHARS = 500
MAX_TERMS = 24
_WORD = re.compile(r"\w", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_OPERATORS = {"AND", "OR", "NOT"}


class SearchQueryError(UsageError):
    """The editor's query cannot be searched as typed (the message says why and what to type)."""


@dataclass(frozen=True)
class Clause:
    """One thing to find: the tokens of a word or a quoted phrase (all must occur, close together)."""

    tokens: tuple[str, ...]
    negated: bool = False
    phrase: bool = False
    surface: str = ""  # the word as typed, folded: what a snippet marks first


@dataclass
class Query:
    """Positive clauses in OR-groups (a group matches when any clause does; every group must match),
    and excluded clauses."""

    text: str
    groups: list[list[Clause]] = field(default_factory=list)
    excluded: list[Clause] = field(default_factory=list)

    def words(self) -> list[str]:
        """What snippets mark, longest first: each word as typed (大模型), then its parts of two or more
        characters (模型; a lone 大 would light up half a Chinese text)."""
        seen = {c.surface for g in self.groups for c in g if c.surface}
        seen |= {t for g in self.groups for c in g for t in c.tokens if len(t) > 1 or len(c.tokens) == 1}
        return sorted(seen, key=lambda t: (-len(t), t))


def fold(text: str) -> str:
    """What both sides of the index compare: NFKC (full-width ｒｕｓｔ is rust), Simplified Chinese, lower case."""
    return to_simplified(unicodedata.normalize("NFKC", text)).lower()


# What jieba yields, as `_tokens` keeps it, for a text holding none of the Han characters it segments
# (U+4E00-U+9FD5) and none of its dictionary's other words (AT&T, c#, c++; tests/test_search_tokens.py
# checks both against jieba): each run of ASCII letters and digits, and every other word character alone.
# Half the pages are English, which jieba walks a character at a time (10 ms a page).
_PLAIN_TOKEN = re.compile(r"[a-zA-Z0-9]+|\w")
_JIEBA_HAN = re.compile("[\u4e00-\u9fd5]")


def _jieba_free(folded: str) -> bool:
    return "c+" not in folded and "c#" not in folded and not _JIEBA_HAN.search(folded)


def _tokens(text: str, *, search_mode: bool) -> list[str]:
    folded = fold(text)
    if _jieba_free(folded):
        return _PLAIN_TOKEN.findall(folded)
    jieba = segment.jieba()
    cut = jieba.cut_for_search(folded, HMM=False) if search_mode else jieba.cut(folded, HMM=False)
    return [t.strip() for t in cut if _WORD.search(t)]


def index_tokens(text: str) -> str:
    """The text as the index stores it: its tokens (with search-mode sub-words) joined by spaces; SQLite's
    unicode61 (or Postgres's 'simple' config) then only has to split on the spaces."""
    # Line by line: jieba's cost grows with the run it segments, and a line break is a word boundary anyway.
    return " ".join(t for line in text.splitlines() for t in _tokens(line, search_mode=True))


def query_words(text: str) -> tuple[str, ...]:
    """A query word's tokens (jieba's precise mode: the parts the index holds for it)."""
    return tuple(_tokens(text, search_mode=False))


def _lex(text: str) -> list[tuple[str, bool]]:
    """Split into (term, quoted); a quote left open is refused, naming where it opened."""
    out: list[tuple[str, bool]] = []
    for m in re.finditer(r'"([^"]*)"|"|[^\s"]+', text):
        if m.group(0) == '"':
            raise SearchQueryError(
                f"the search has a quote (\") with no closing quote, at character {m.start() + 1} of {text!r}: "
                'close the phrase ("like this") or remove the quote')
        out.append((m.group(1), True) if m.group(1) is not None else (m.group(0), False))
    return out


def parse_query(text: str) -> Query:
    """The editor's query: words (all must match), "quoted phrases", `-word` or `NOT word` to exclude,
    `a OR b` for either. Refused with a clear message: empty, unbalanced quotes, a dangling OR."""
    text = text.strip()
    if len(text) > MAX_QUERY_CHARS:
        raise SearchQueryError(f"the search is {len(text)} characters long; keep it under {MAX_QUERY_CHARS}")
    query = Query(text=text)
    pending_or = negate_next = False
    for term, quoted in _lex(text):
        if not quoted and term in _OPERATORS:
            if term == "OR":
                if not query.groups or pending_or or negate_next:
                    raise SearchQueryError(f"OR needs a word on each side in {text!r}: type `word OR word`")
                pending_or = True
            negate_next = negate_next or term == "NOT"
            continue
        negated = negate_next or (not quoted and term.startswith("-") and len(term) > 1)
        negate_next = False
        body = term[1:] if (not quoted and term.startswith("-") and len(term) > 1) else term
        tokens = query_words(body)
        if not tokens:  # punctuation only (`*`, `()`, `^`): nothing to find in it
            pending_or = pending_or and not negated
            continue
        clause = Clause(tokens=tokens, negated=negated, phrase=quoted, surface=fold(body).strip())
        if negated:
            query.excluded.append(clause)
        elif pending_or:
            query.groups[-1].append(clause)
            pending_or = False
        else:
            query.groups.append([clause])
    if pending_or or negate_next:
        raise SearchQueryError(f"{text!r} ends with an operator: type a word after {'OR' if pending_or else 'NOT'}")
    if not query.groups:
        what = "only excluded words" if query.excluded else "no word to look for"
        raise SearchQueryError(f"the search {text!r} has {what}: type at least one word to find")
    if sum(len(g) for g in query.groups) + len(query.excluded) > MAX_TERMS:
        raise SearchQueryError(f"the search has more than {MAX_TERMS} words; shorten it")
    return query


def _fts5_string(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _sub_words(token: str) -> int:
    """At most how many search-mode sub-words the index puts before `token` (jieba's cut_for_search adds
    the dictionary's 2-grams of a word longer than 2 and its 3-grams of one longer than 3)."""
    if not _HAN.search(token):  # the dictionary's grams are Chinese: a Latin word gets none
        return 0
    n = len(token)
    return (n - 1 if n > 2 else 0) + (n - 2 if n > 3 else 0)


def _fts5_clause(c: Clause) -> str:
    if len(c.tokens) == 1:
        return _fts5_string(c.tokens[0])
    # The parts of a compound or phrase stand next to each other in the text, with only the sub-words the
    # index interleaves between them: 大模型 finds 大模型推理 (大 模型 推理) but not 大语言模型 (大 语言 模型).
    # FTS5 counts every token between the end of the first phrase and the start of the last, the
    # middle parts included.
    slack = len(c.tokens) - 2 + sum(_sub_words(t) for t in c.tokens[1:])
    return f"NEAR({' '.join(_fts5_string(t) for t in c.tokens)}, {slack})"


def fts5_expression(query: Query) -> str:
    """The SQLite FTS5 MATCH expression: every token quoted, so nothing the editor typed is syntax."""
    groups = ["(" + " OR ".join(_fts5_clause(c) for c in g) + ")" for g in query.groups]
    expr = " AND ".join(groups)
    for c in query.excluded:
        expr = f"({expr}) NOT {_fts5_clause(c)}"
    return expr


def _ts_lexeme(token: str) -> str:
    # A tsquery lexeme in single quotes; the 'simple' config splits it like the indexed text was split.
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def _ts_clause(c: Clause) -> str:
    # Parts that the index keeps side by side (no sub-words can stand between them) must follow each other
    # (`<->`), as FTS5's NEAR wants them close; where sub-words may stand between, all parts must occur.
    if len(c.tokens) > 1 and not any(_sub_words(t) for t in c.tokens[1:]):
        return "(" + " <-> ".join(_ts_lexeme(t) for t in c.tokens) + ")"
    return "(" + " & ".join(_ts_lexeme(t) for t in c.tokens) + ")"


def tsquery_expression(query: Query) -> str:
    """The same query for Postgres (`to_tsquery('simple', …)`): the parts of a compound must all occur."""
    expr = " & ".join("(" + " | ".join(_ts_clause(c) for c in g) + ")" for g in query.groups)
    for c in query.excluded:
        expr = f"{expr} & !{_ts_clause(c)}"
    return expr


@dataclass(frozen=True)
class Snippet:
    """A stretch of a hit's text with the query's words at `marks` (start, end offsets into `text`)."""

    text: str
    marks: tuple[tuple[int, int], ...] = ()

    def parts(self) -> list[tuple[str, bool]]:
        """The text cut at the marks: (piece, is a match), for renderers that escape each piece."""
        out: list[tuple[str, bool]] = []
        pos = 0
        for start, end in self.marks:
            if start > pos:
                out.append((self.text[pos:start], False))
            out.append((self.text[start:end], True))
            pos = end
        if pos < len(self.text):
            out.append((self.text[pos:], False))
        return out


@functools.cache
def _char_table() -> dict[int, str]:
    """Traditional → Simplified, one character for one (OpenCC's TSCharacters, first choice): a fold that
    keeps every offset, for marking matches in a hit's original text. Phrase-aware conversion (fold) is
    for the index; here a whole article passes through, so it must be cheap."""
    import opencc

    table: dict[int, str] = {}
    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        trad, _, simp = line.partition("\t")
        first = simp.split(" ")[0] if simp else ""
        if len(trad) == 1 and len(first) == 1:
            table[ord(trad)] = first
    return table


def _fold_chars(text: str) -> str:
    folded = text.lower().translate(_char_table())
    # A character whose lower case is longer (İ) would shift every offset after it: then case is kept.
    return folded if len(folded) == len(text) else text.translate(_char_table())


def _find_marks(text: str, words: Iterable[str]) -> list[tuple[int, int]]:
    folded = _fold_chars(text)
    taken: list[tuple[int, int]] = []
    for word in words:
        for m in re.finditer(re.escape(word), folded):
            if not any(m.start() < e and s < m.end() for s, e in taken):
                taken.append((m.start(), m.end()))
    merged: list[tuple[int, int]] = []
    for s, e in sorted(taken):  # 大模型 next to 推理: one mark
        if merged and s == merged[-1][1]:
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def snippet(texts: Iterable[str], words: list[str], width: int = 160) -> Snippet:
    """About `width` characters of the first text that contains a query word, centred on the first match;
    the start of the first non-empty text if none does (a hit on the source name or a tag)."""
    first_text = ""
    for raw in texts:
        if not raw or not raw.strip():
            continue
        first_text = first_text or raw
        folded = _fold_chars(raw)
        found = [p for p in (folded.find(w) for w in words) if p >= 0]
        if not found:
            continue
        # Only the window is cut and marked: an article can be 20,000 characters of a common word.
        begin, stop = max(0, min(found) - width // 3), min(found) + 2 * width
        text = " ".join(raw[begin:stop].split())
        cut = text[:width]
        marks = tuple((s, e) for s, e in _find_marks(cut, words) if e <= len(cut))
        lead = "…" if begin > 0 else ""
        tail = "…" if stop < len(raw) or len(text) > width else ""
        return Snippet(lead + cut + tail, tuple((s + len(lead), e + len(lead)) for s, e in marks))
    if not first_text:
        return Snippet("")
    text = " ".join(first_text[:width * 2].split())
    return Snippet(text[:width] + ("…" if len(text) > width or len(first_text) > width * 2 else ""))
