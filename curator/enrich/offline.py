"""Offline enrichment backend: extractive TextRank summary, keyword tags/section, profile score.

No network and no model: what it writes comes from the article itself, so it never invents facts.
An English article in a Chinese publication keeps its English sentences behind a short Chinese
framing built from its tags (the offline backend cannot translate). Deterministic throughout.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import re
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from pydantic import BaseModel

from curator import copytext, segment, vocab
from curator import text as textutil
from curator.enrich import cleanup
from curator.enrich.backends import Attempt, CallRecord, TriageVerdict
from curator.enrich.keywords import KeywordSet, haystack
from curator.errors import LLMError
from curator.models import Enrichment, EnrichRequest
from curator.settings import Settings
from curator.titles import headline
from curator.workers import CallPool

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

SUMMARY_MAX_CJK_CHARS = 120
SUMMARY_MAX_WORDS = 60
MIN_CJK_CHARS = 8
MIN_WORDS = 5
MAX_SENTENCES = 3
MIN_TOPICS = 3  # subheadings that make a document multi-topic (minutes, digests)
MAX_TOPICS = 4
MAX_CANDIDATES = 150  # TextRank is quadratic; past the first ~150 sentences the lead bias wins anyway
INCLUDE_MAX = 45.0  # the most profile keywords can add to a score
SOURCE_WEIGHT_RANGE = (0.5, 1.5)  # one source can tilt a score, not decide it
_SIMPLIFIED_LANGS = {"zh", "zh-hans", "zh-cn", "zh-sg", "zh-my"}
_FOREIGN = {"en": "英文", "ja": "日文", "ko": "韩文"}

# fmt: off
_EN_STOPWORDS = frozenset((
    "a", "an", "the", "and", "or", "but", "if", "then", "than", "so", "of", "to", "in", "on", "at",
    "by", "for", "with", "from", "as", "into", "about", "over", "after", "before", "is", "are", "was",
    "were", "be", "been", "being", "has", "have", "had", "do", "does", "did", "will", "would", "can",
    "could", "should", "may", "might", "must", "it", "its", "this", "that", "these", "those", "there",
    "here", "we", "you", "they", "he", "she", "i", "our", "your", "their", "his", "her", "them", "us",
    "not", "no", "also", "just", "more", "most", "very", "what", "which", "who", "whom", "how", "when",
    "where", "why", "all", "any", "each", "some", "such", "said", "says", "new", "one", "two",
))
_ZH_STOPWORDS = frozenset((
    "我们", "你们", "他们", "她们", "它们", "这个", "那个", "这些", "那些", "一个", "一些", "没有", "可以", "以及", "进行", "已经",
    "表示", "认为", "因为", "所以", "但是", "而且", "如果", "或者", "还是", "就是", "不是", "这样", "那样", "其中", "之后", "之前",
    "目前", "同时", "通过", "对于", "关于", "由于", "此外", "并且", "以及", "自己", "什么", "如何", "为了", "这种", "一种",
))
# fmt: on

_HAS_NUMBER = re.compile(r"\d|[一二两三四五六七八九十百千万亿]+(?:亿|万|千|倍|个|家|款|位|项|年)")
_HAS_DATE = re.compile(
    r"\d{4}\s*年|\d{1,2}\s*月|\d{1,2}\s*日|(?:周|星期)[一二三四五六日天]|[今昨前明]天|本周|上周|"
    r"\b(?:19|20)\d{2}\b|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d|"
    r"\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today)\b"
)
_HAS_ORG = re.compile(
    rf"公司|集团|大学|研究院|研究所|实验室|银行|基金|委员会|交易所|协会|政府|[{textutil.HAN}]\s*[A-Z][A-Za-z0-9]+|"
    r"\b(?:Inc|Corp|Corporation|Ltd|LLC|University|Institute|Labs?|Foundation|Commission|Agency|Ministry)\b|"
    r"\s[A-Z][a-z]*[A-Z0-9][A-Za-z0-9]*|\s[A-Z][a-z]+\s[A-Z][a-z]+"
)
_HAS_QUOTE = re.compile(r"“[^”]{2,}”|「[^」]{2,}」|\"[^\"]{2,}\"|‘[^’]{2,}’")
_SOFT_BOILERPLATE = re.compile(
    r"图片来源|图源|题图|配图|编者按|更多精彩|相关阅读|延伸阅读|^\s*(?:图|来源)\s*[:：]|"
    r"^\s*(?:photo|image)\b|credit\s*:|getty images|read more|sign up|newsletter|cookie|advertis|"
    r"subscribe|related\s*:|click here|follow us",
    re.IGNORECASE,
)
_TERMINAL = re.compile(r"[。！？；.!?…][”’」』）)\]】》\"']*$")


# --- summarising -------------------------------------------------------------------------------


def _tokens(sentence: str, lang: str) -> frozenset[str]:
    if lang == "zh":
        words = segment.jieba().lcut(textutil.to_simplified(sentence).lower())
        return frozenset(
            w
            for w in (w.strip() for w in words)
            if w
            and w not in _ZH_STOPWORDS
            and (len(w) >= 2 or (w.isascii() and w.isalnum()))
            and not w.isspace()
        )
    if lang in {"ja", "ko"}:
        chars = [ch for ch in sentence if ch.isalnum()]
        return frozenset(a + b for a, b in itertools.pairwise(chars))
    words = re.findall(r"[a-z0-9]+(?:[-'.][a-z0-9]+)*", sentence.lower())
    return frozenset(w for w in words if w not in _EN_STOPWORDS and len(w) > 1)


def _size(sentence: str, cjk: bool) -> int:
    """Characters (CJK, whitespace ignored) or words (otherwise)."""
    return len(re.sub(r"\s+", "", sentence)) if cjk else len(sentence.split())


def _prior(sentence: str, position: int) -> float:
    """Lead bias × concrete-fact bonus × boilerplate penalty."""
    lead = 1.0 + 1.5 * 0.6**position
    facts = 1.0
    facts += 0.15 if _HAS_NUMBER.search(sentence) else 0.0
    facts += 0.15 if _HAS_DATE.search(sentence) else 0.0
    facts += 0.10 if _HAS_ORG.search(sentence) else 0.0
    facts += 0.10 if _HAS_QUOTE.search(sentence) else 0.0
    penalty = 0.3 if _SOFT_BOILERPLATE.search(sentence) else 1.0
    if not _TERMINAL.search(sentence):
        penalty *= 0.6  # a heading or caption, not a sentence
    return lead * facts * penalty


def _pagerank(tokens: list[frozenset[str]], damping: float = 0.85) -> np.ndarray:
    """TextRank: PageRank over sentences, edges weighted by overlap / (log|Si| + log|Sj|)."""
    import numpy as np  # here, not at import: a draft that writes no summary never loads numpy
    n = len(tokens)
    weights = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            overlap = len(tokens[i] & tokens[j])
            if overlap:
                w = overlap / (math.log(len(tokens[i]) + 1) + math.log(len(tokens[j]) + 1))
                weights[i, j] = weights[j, i] = w
    out = weights.sum(axis=1)
    transition = np.divide(weights, out[:, None], out=np.full((n, n), 1.0 / n), where=out[:, None] > 0)
    rank = np.full(n, 1.0 / n)
    for _ in range(200):
        new = (1 - damping) / n + damping * transition.T @ rank
        if np.abs(new - rank).sum() < 1e-10:
            rank = new
            break
        rank = new
    return rank * n  # mean 1


@dataclass(frozen=True)
class _Candidate:
    position: int
    sentence: str
    size: int
    tokens: frozenset[str]


def extractive_summary(text: str, lang: str, *, title: str = "", budget: int | None = None) -> list[str]:
    """One to three whole sentences of `text` in their original order, chatter and sentences that
    repeat `title` never included; [] when no sentence qualifies."""
    cjk = lang in {"zh", "ja", "ko"}
    budget = budget or (SUMMARY_MAX_CJK_CHARS if cjk else SUMMARY_MAX_WORDS)
    low = MIN_CJK_CHARS if cjk else MIN_WORDS
    cleaned, _ = textutil.strip_chatter(text)
    sentences = [s for s in textutil.split_sentences(cleaned, lang) if not textutil.is_chatter(s)]
    candidates = []
    for position, sentence in enumerate(sentences):
        size = _size(sentence, cjk)
        if low <= size <= budget and not (title and copytext.repeats_title(sentence, title)):
            candidates.append(_Candidate(position, sentence, size, _tokens(sentence, lang)))
            if len(candidates) == MAX_CANDIDATES:
                break
    # Headings and captions (no closing punctuation) are never a summary when real sentences exist.
    whole = [c for c in candidates if _TERMINAL.search(c.sentence)]
    candidates = whole or candidates
    if not candidates:
        return []
    rank = _pagerank([c.tokens for c in candidates])
    scores = [float(r) * _prior(c.sentence, c.position) for r, c in zip(rank, candidates, strict=True)]
    order = sorted(range(len(candidates)), key=lambda i: (-round(scores[i], 9), candidates[i].position))
    top = scores[order[0]]
    chosen: list[_Candidate] = []
    used = 0
    for i in order:
        c = candidates[i]
        if len(chosen) == MAX_SENTENCES or scores[i] < 0.4 * top:
            break
        if used + c.size > budget or any(_redundant(c.tokens, o.tokens) for o in chosen):
            continue
        chosen.append(c)
        used += c.size
    return _whole([c.sentence for c in sorted(chosen, key=lambda c: c.position)], cjk)


def _whole(sentences: list[str], cjk: bool) -> list[str]:
    """Sentences as a reader expects them: a clause ending in ；，、： (the splitter cuts at ；) or
    with no closing punctuation at all is closed with a full stop."""
    out = []
    for s in sentences:
        s = s.rstrip()
        if re.search(r"[；;，,、：:]$", s):
            s = s[:-1] + ("。" if cjk else ".")
        elif not _TERMINAL.search(s):
            s += "。" if cjk else "."
        out.append(s)
    return out


def _redundant(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a and b) and len(a & b) / len(a | b) > 0.6


def _fallback(text: str, cjk: bool) -> str:
    """The first substantive paragraph, cut to the summary budget at a clause boundary."""
    cleaned, _ = textutil.strip_chatter(text)
    for line in cleaned.splitlines():
        line = line.strip()
        if not line or textutil.is_chatter(line):
            continue
        if cjk:
            if len(line) <= SUMMARY_MAX_CJK_CHARS:
                return _whole([line], cjk)[0]
            head = line[:SUMMARY_MAX_CJK_CHARS]
            cut = max(head.rfind(p) for p in "。！？；，")
            if cut >= SUMMARY_MAX_CJK_CHARS // 3:
                return _whole([head[: cut + 1]], cjk)[0]
            return textutil.truncate(line, SUMMARY_MAX_CJK_CHARS)
        words = line.split()
        return line if len(words) <= SUMMARY_MAX_WORDS else " ".join(words[:SUMMARY_MAX_WORDS]) + "…"
    return ""


def _overview(topics: list[str], cjk: bool) -> str:
    """For a multi-topic document (minutes, a digest): the topics its subheadings name."""
    if not topics:
        return ""
    shown = [t.rstrip("：:") for t in topics[:MAX_TOPICS]]
    more = len(topics) > MAX_TOPICS
    if cjk:
        listed = f"{'、'.join(shown[:-1])}和{shown[-1]}" if not more else f"{'、'.join(shown)}等{len(topics)}个议题"
        return f"内容涉及{listed}。"
    return f"It covers {', '.join(shown[:-1])} and {shown[-1]}{' among others' if more else ''}."


def _join(sentences: list[str], cjk: bool) -> str:
    if not cjk:
        return " ".join(sentences)
    out = ""
    for s in sentences:
        out += (" " if out[-1:].isascii() and out[-1:].isalnum() and s[:1].isascii() else "") + s
    return out


# --- the backend -------------------------------------------------------------------------------


class OfflineBackend:
    """Enrichment without a model: extractive, keyword-driven, deterministic."""

    name = "offline"
    model = ""
    prompt_sha = ""
    triage_sha = ""
    # Free and deterministic: nothing to cache or to triage, no prose. CPU-bound: `pooled` (the run's backend)
    # enriches in extract.workers processes (0: inline), `workers` stage threads waiting on them.
    caches_answers = False
    triages = False
    writes_prose = False
    workers = 1

    def __init__(self, settings: Settings, *, pooled: bool = False) -> None:
        self.settings = settings
        n = settings.extract.workers if settings.extract.workers >= 0 else (os.cpu_count() or 1)
        self._pool = CallPool(OfflineBackend, (settings,), workers=n, max_bytes=settings.extract.worker_max_mb << 20,
                              words=True) if pooled and n > 0 else None
        self.workers = n if self._pool is not None else 1
        pub = settings.publication.language.strip().lower()
        self.simplified = pub in _SIMPLIFIED_LANGS
        self.chinese_pub = pub.startswith("zh")
        self.tags = [(t.id, KeywordSet(t.keywords)) for t in settings.taxonomy]
        self.sections = [(s.id, s.title, KeywordSet(s.keywords)) for s in settings.sections]
        self.include = KeywordSet(settings.profile.include)
        self.exclude = KeywordSet(settings.profile.exclude)

    # No model: no calls to log, no triage (the stage asks only a backend that `triages`), no prose.
    def drain_calls(self) -> list[CallRecord]:
        return []

    def triage(self, reqs: list[EnrichRequest]) -> list[TriageVerdict]:
        return []

    def schema_note(self, schema: type[BaseModel]) -> str:
        return ""

    def complete(self, messages: list[dict[str, str]], state: Attempt, schema: type[BaseModel], prompt_sha: str) -> str:
        raise LLMError("the offline backend has no model to ask", reason="llm_offline")

    def release(self) -> None:  # end the worker processes (the next `enrich` starts them again)
        if self._pool is not None:
            self._pool.close()

    def enrich(self, req: EnrichRequest) -> Enrichment:
        if self._pool is None:
            return self._enrich_here(req)
        try:
            return cast(Enrichment, self._pool.call("enrich", req))  # the worker's own, inline backend
        except BrokenProcessPool:  # this item's outcome (retried on a later run), not the run's
            raise LLMError("the offline enrichment process died (out of memory?)", reason="worker_crashed",
                           url=req.url, stage="enrich", retryable=True) from None

    def _enrich_here(self, req: EnrichRequest) -> Enrichment:
        if not req.text.strip():
            raise LLMError("article text is empty; nothing to summarise", reason="empty_summary", url=req.url,
                           stage="enrich")
        lang = self._lang(req)
        cleaned, _ = textutil.strip_chatter(req.text)
        title_h, text_h = haystack(req.title), haystack(cleaned)

        tags = self._tags(title_h, text_h)
        section_id, section_title = self._section(title_h, text_h, req.section_hint)
        score, reason = self._score(title_h, text_h, cleaned, lang, req.source_weight)
        title, summary = self._summary(req, lang, tags, section_title)
        flags = []
        if self.simplified:
            taiwan = vocab.is_taiwan_usage(f"{req.title}\n{req.text[:4000]}")
            title, summary = vocab.to_mainland(title, taiwan=taiwan), vocab.to_mainland(summary, taiwan=taiwan)
            if textutil.has_traditional(title + summary):
                flags.append("traditional_residue")
        return Enrichment(
            title=title,
            summary=summary,
            tags=tags,
            section=section_id,
            score=score,
            reason=reason,
            backend=self.name,
            model="",
            prompt_sha="",
            flags=flags,
        )

    def _summary(self, req: EnrichRequest, lang: str, tags: list[str], section_title: str) -> tuple[str, str]:
        """(title, summary) from the article's own sentences; LLMError when it is not an article."""
        cjk = lang in {"zh", "ja", "ko"}
        clean = cleanup.clean_for_summary(req.text, req.title)
        if cleanup.is_not_article(clean, lang):
            raise LLMError(
                "the page text is page chrome (view counts, player notices, lists of other pages), "
                "not an article",
                reason="not_article",
                url=req.url,
                stage="enrich",
            )
        body = clean.text or req.text
        head = headline(req.title, lang)
        topics = cleanup.subheadings(body) if len(cleanup.subheadings(body)) >= MIN_TOPICS else []
        overview = _overview(topics, cjk)
        budget = (SUMMARY_MAX_CJK_CHARS if cjk else SUMMARY_MAX_WORDS) - _size(overview, cjk)
        sentences = extractive_summary(body, lang, title=req.title, budget=budget)
        if overview:
            sentences = [overview, *sentences[:1]]
        summary = _join(sentences, cjk) if sentences else _fallback(body, cjk)
        if not summary:
            raise LLMError(
                "no usable sentence in the article (only chatter/boilerplate)",
                reason="empty_summary",
                url=req.url,
                stage="enrich",
            )
        title = head.text if req.title.strip() else textutil.truncate(sentences[0] if sentences else summary, 40)
        if self.chinese_pub and lang != "zh":
            topic = "、".join(tags[:2]) if tags else section_title
            foreign = _FOREIGN.get(lang, "外文")
            summary = (
                f"{foreign}文章，介绍{topic}相关内容：{summary}" if topic else f"{foreign}文章：{summary}"
            )
        log.debug("offline enrich item=%s lang=%s sentences=%d", req.item_id, lang, len(sentences))
        return title, summary

    def _lang(self, req: EnrichRequest) -> str:
        """The article's language from its text (extractors guess wrong on mixed pages)."""
        lang = textutil.detect_lang(req.text)
        if lang == "und":
            lang = textutil.detect_lang(req.title)
        if lang == "und" and req.lang:
            lang = req.lang.split("-")[0].lower()
        return lang if lang != "und" else "en"

    def _tags(self, title: str, text: str) -> list[str]:
        scored = [(kws.weighted(title, text), i, tag) for i, (tag, kws) in enumerate(self.tags)]
        scored = [s for s in scored if s[0] > 0]
        scored.sort(key=lambda s: (-s[0], s[1]))
        strong = [tag for weight, _, tag in scored if weight >= 2]
        return (strong or [tag for _, _, tag in scored[:1]])[:4]

    def _section(self, title: str, text: str, hint: str | None) -> tuple[str, str]:
        if not self.sections:
            return hint or "general", ""
        titles = {sid: stitle for sid, stitle, _ in self.sections}
        scored = [(kws.weighted(title, text), sid) for sid, _, kws in self.sections]
        best = max(score for score, _ in scored)
        tied = [sid for score, sid in scored if score == best]
        if best > 0 and len(tied) == 1:
            chosen = tied[0]
        elif hint in titles and (best == 0 or hint in tied):
            chosen = hint
        else:
            chosen = tied[0]
        return chosen, titles[chosen]

    def _score(self, title: str, text: str, cleaned: str, lang: str, weight: float) -> tuple[int, str]:
        cjk = lang in {"zh", "ja", "ko"}
        parts: list[str] = []
        raw = 40.0
        in_title, in_text = self.include.counts(title), self.include.counts(text)
        title_kws = list(in_title)
        text_kws = [kw for kw in in_text if kw not in in_title]
        occurrences = sum(in_text.values())
        include = 8 * len(title_kws) + 4 * len(text_kws) + 2 * math.log2(1 + occurrences)
        # Saturating, not capped: a long article hitting many keywords must still rank above one
        # hitting a few (a hard cap put 8 of 11 stories of a real week at 90-98).
        raw += INCLUDE_MAX * (1 - math.exp(-include / INCLUDE_MAX))
        hit = title_kws + text_kws
        parts.append(f"命中关注词：{'、'.join(hit[:5])}" if hit else "未命中关注词")

        size = _size(cleaned, cjk)
        short, long_ = (300, 1500) if cjk else (80, 400)
        if size < short:
            raw -= 15
            parts.append("正文过短")
        elif size >= long_:
            raw += 5
        facts = len(re.findall(r"\d+(?:\.\d+)?", cleaned))
        if facts >= 3:
            raw += 5
            parts.append("含具体数据")

        ex_title, ex_text = self.exclude.counts(title), self.exclude.counts(text)
        ex_text_only = [kw for kw in ex_text if kw not in ex_title]
        raw -= 25 * len(ex_text_only)
        w = min(max(weight, SOURCE_WEIGHT_RANGE[0]), SOURCE_WEIGHT_RANGE[1])
        raw *= w
        if ex_title:
            raw = min(raw, 10.0)
            parts.append(f"标题含排除词：{'、'.join(ex_title)}")
        if ex_text_only:
            parts.append(f"正文含排除词：{'、'.join(ex_text_only)}")
        parts.append(f"来源权重 {weight:g}")
        return round(min(100.0, max(0.0, raw))), "；".join(parts)
