"""Cluster, the pair test: what an item's text is cut into, and the exact score of two items.

Two items are one story when

* their bodies are near-duplicates (a syndicated copy, a re-post with "转载自…" or "Originally
  published at…", a copy with another header/footer or a trimmed paragraph): the resemblance of
  their 3-shingles is high (NEAR_DUP); or
* they are the same news written twice (a wire story and its rewrite): the titles are alike and the
  bodies share much of their vocabulary (TITLE_MIN, BAG_MIN); or
* they are a rewrite under another headline: most distinctive numbers agree ("6710 亿参数",
  "$2.3 billion", "81.2") and the vocabulary overlaps (FACTS_MIN, SHARED_FACTS_MIN, BAG_MIN); or
* they are a Chinese and an English report of one event: normalised figures (`66亿美元` = `$6.6
  billion`) or a cited original agree, and another kind of evidence too (Latin-script names, the
  headline's figure or product, a translated title) — see `curator.xlang`.

Guards keep look-alikes apart: items published more than MAX_GAP apart, or whose titles name
different versions ("FlowDB 3.1" / "FlowDB 3.2"), are one story only when their bodies are
near-identical; paragraphs two texts share verbatim at their start or end (a site's header,
footer, "About us" box) are dropped before comparing them, so a site's boilerplate does not merge.

Text is cut into *units*: a Han character or a Latin/digit word. Shingles are 3 consecutive units
(three words in English, three characters in Chinese, mixed text handled alike), so one scheme
serves both languages without a segmenter.

`similarity()` is a score in [0, 1]; two items are one story when it reaches the threshold
(`DEFAULT_THRESHOLD`, 0.5). Each rule is scaled so that its own cut-off lands on 0.5, so raising
the threshold tightens all rules together. `curator.cluster` decides which pairs are compared.
"""

from __future__ import annotations

import functools
import itertools
import operator
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from curator import xlang
from curator.text import HAN, has_traditional, to_simplified

__all__ = [
    "DEFAULT_THRESHOLD",
    "UNIT_RE",
    "ClusterInput",
    "Explanation",
    "ItemFeatures",
    "distinctive_numbers",
    "explain",
    "item_features",
    "score_pair",
    "similarity",
]

DEFAULT_THRESHOLD = 0.5
# Near-duplicate rule: shingle resemblance at which two bodies are one story (score = resemblance).
# A syndicated copy with its own header/footer and one paragraph dropped scores 0.6–0.9; two
# different articles sharing a long footer stay under 0.3.
NEAR_DUP = 0.5
# Rewrite rule: both must hold (score = 0.5 × the weaker of title/TITLE_MIN and body/BAG_MIN).
TITLE_MIN = 0.25  # Jaccard of title features (Han-character bigrams, Latin words and word pairs)
BAG_MIN = 0.14  # Jaccard of body vocabulary (Han-character bigrams, Latin content words)
# Facts rule (a rewrite under another headline): the distinctive numbers largely agree, at least
# SHARED_FACTS_MIN of them, and the vocabulary overlaps (score = 0.5 × the weakest ratio).
FACTS_MIN = 0.5
SHARED_FACTS_MIN = 4
# Outside the time window, or with conflicting versions, only near-identical bodies stay together.
MAX_GAP = timedelta(days=5)
NEAR_IDENTICAL = 0.8
CONTAINMENT_WEIGHT = 0.8  # a trimmed copy fully inside a longer one resembles it at 0.8 …
CONTAINMENT_MIN_RATIO = 0.25  # … when it is at least a quarter of the other's length
MIN_FEATURES = 8  # fewer shingles / words than this carry no evidence
MAX_CHARS = 20_000  # only the head of very long texts counts, so cost stays linear
TRADITIONAL_PROBE_CHARS = 400
SHINGLE_UNITS = 3

UNIT_RE = re.compile(rf"[{HAN}]|[a-z0-9]+(?:[.\-'][a-z0-9]+)*")
_THOUSANDS_RE = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")
# A version in a title: "3.2", "v1.4.1", not a price, share or size ("2.3 billion", "15.2%").
_VERSION_RE = re.compile(
    r"(?<![\d.$¥€£])v?(\d+(?:\.\d+)+)(?![\d.]|\s*(?:%|亿|万|倍|元|美元|英寸|"
    r"billion|million|trillion|bn\b|[mbk]\b|tb\b|gb\b|nm\b|x\b|tflops|inch))"
)
_PARA_RE = re.compile(r"\s*\n\s*")  # paragraphs, trimmed
# A distinctive number: a unit with a digit, three characters or more or a decimal ("6710", "81.2",
# "5nm"); years are left out, every article of a season carries them.
_NUMBERUNIT_RE = re.compile(r"(?<![a-z0-9.\-'])[a-z]*\d[a-z0-9]*(?:[.\-'][a-z0-9]+)*")
_YEAR_RE = re.compile(r"(?<![a-z0-9.\-'])(?:19[5-9]|20[0-4])\d(?![a-z0-9.\-'])")
_STOPWORDS = frozenset(
    (  # noqa: SIM905 - a word list reads better as prose
        "a about after again all also an and any are as at be been before being but by can could did do does "
        "for from had has have he her his how i if in into is it its just may more most much new no not now of "
        "on one only or our out over said says she should so some such than that the their them then there "
        "these they this those through to two up us was we were what when where which while who will with "
        "would you your"
    ).split()
)


@dataclass
class ClusterInput:
    """What clustering needs of an item (the pipeline builds it from `Item` + `Article`).

    `lang` is informational: features are cut by script (Han characters / Latin words), so mixed
    Chinese–English text needs no language decision. `links`: the article's outbound links
    (canonical URLs); `title_en`: an English translation of a Chinese title (LLM triage), if any.
    """

    item_id: int
    title: str
    text: str
    lang: str | None = None
    published_at: datetime | None = None
    links: tuple[str, ...] = ()
    title_en: str | None = None


@dataclass(frozen=True)
class _Body:
    shingles: frozenset[tuple[str, ...]]  # runs of 3 units
    bag: frozenset[str]  # vocabulary: Han bigrams, Latin content words
    facts: frozenset[str]  # distinctive numbers: "6710", "81.2", "128k", "5nm"


@dataclass(frozen=True)
class ItemFeatures:
    item_id: int
    published_at: datetime | None
    body: _Body
    paragraphs: tuple[str, ...]  # normalised, to find a header/footer two texts share
    title: frozenset[str]  # Han bigrams, Latin content words and word pairs of the title
    versions: frozenset[str]  # version numbers named in the title
    cross: xlang.CrossFeatures  # figures, names, links: evidence across languages


# ---- features ---------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).lower()
    # OpenCC is slow: convert only texts whose opening shows Traditional characters.
    if has_traditional(text[:TRADITIONAL_PROBE_CHARS]):
        text = to_simplified(text)
    return _THOUSANDS_RE.sub("", text)


def _units(text: str) -> list[str]:
    return UNIT_RE.findall(_normalise(text))


def _shingles(units: list[str]) -> set[tuple[str, ...]]:
    """Every run of SHINGLE_UNITS units (a shorter text is one shingle)."""
    if len(units) < SHINGLE_UNITS:
        return {tuple(units)} if units else set()
    return set(zip(units, units[1:], units[2:], strict=False))


def _bag(units: list[str]) -> set[str]:
    """Han-character bigrams and Latin words other than stop words."""
    pairs = set(map(operator.add, units, units[1:]))  # every unit pair; only Han ones are kept
    bag = {b for b in pairs if len(b) == 2 and b[0] >= "\u3400" and b[1] >= "\u3400"}
    latin = {u for u in set(units) if u < "\u3400"} - _STOPWORDS
    bag.update(u for u in latin if len(u) > 1 or u.isdigit())
    return bag


def _title_features(units: list[str]) -> set[str]:
    """The bag of the title plus its Latin word pairs ("github copilot")."""
    words = [u for u in units if u >= "\u3400" or u not in _STOPWORDS]
    feats = _bag(words)
    feats.update(f"{a} {b}" for a, b in itertools.pairwise(words) if a < "\u3400" and b < "\u3400")
    return feats


def distinctive_numbers(text: str) -> set[str]:
    return {u for u in _NUMBERUNIT_RE.findall(text) if len(u) >= 3 or "." in u} - set(_YEAR_RE.findall(text))


def _body(text: str) -> _Body:
    units = UNIT_RE.findall(text)
    return _Body(frozenset(_shingles(units)), frozenset(_bag(units)), frozenset(distinctive_numbers(text)))


def _versions(title: str) -> frozenset[str]:
    found = _VERSION_RE.findall(_normalise(title))
    return frozenset(re.sub(r"(?:\.0)+$", "", v) for v in found)


def item_features(item: ClusterInput) -> ItemFeatures:
    text = _normalise(item.text)
    body = _body(text)
    cross = xlang.features(item.title, item.text, links=item.links, title_en=item.title_en)
    return ItemFeatures(
        item_id=item.item_id,
        published_at=_aware(item.published_at),
        body=body,
        paragraphs=tuple(p for p in _PARA_RE.split(text) if p),
        title=frozenset(_title_features(_units(item.title))),
        versions=_versions(item.title),
        cross=cross,
    )


def _aware(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


# ---- scoring ----------------------------------------------------------------------------------


def _jaccard(a: frozenset[object], b: frozenset[object]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def _resemblance(a: frozenset[tuple[str, ...]], b: frozenset[tuple[str, ...]]) -> float:
    """Shingle Jaccard, or — for a trimmed copy inside a longer text — weighted containment."""
    if len(a) < MIN_FEATURES or len(b) < MIN_FEATURES:
        return 0.0
    inter = len(a & b)
    jac = inter / (len(a) + len(b) - inter)
    small, large = sorted((len(a), len(b)))
    if small / large >= CONTAINMENT_MIN_RATIO:
        jac = max(jac, CONTAINMENT_WEIGHT * inter / small)
    return jac


def _strip_shared_edges(a: ItemFeatures, b: ItemFeatures) -> tuple[_Body, _Body]:
    """Bodies without the leading/trailing paragraphs both texts share verbatim (a site's header,
    footer, "About us" or info box) — unless that is all of one text: then it is a copy."""
    pa, pb = a.paragraphs, b.paragraphs
    n = min(len(pa), len(pb))
    head = next((i for i in range(n) if pa[i] != pb[i]), n)
    tail = next((i for i in range(n - head) if pa[-1 - i] != pb[-1 - i]), n - head)
    if not head and not tail:
        return a.body, b.body
    if len(pa) - head - tail < 1 or len(pb) - head - tail < 1:
        return a.body, b.body
    return _kept_body(pa, head, tail), _kept_body(pb, head, tail)


@functools.lru_cache(maxsize=4096)
def _kept_body(paragraphs: tuple[str, ...], head: int, tail: int) -> _Body:
    """Memoised: an item shares the same footer with every other item of its site."""
    return _body("\n".join(paragraphs[head : len(paragraphs) - tail]))


@dataclass(frozen=True)
class Explanation:
    """Why two items are (not) one story: the signals, and the score they give."""

    body: float  # shingle resemblance (near-duplicate rule)
    title: float  # title-feature Jaccard (rewrite rule)
    bag: float  # body-vocabulary Jaccard (both rewrite rules)
    facts: float  # Jaccard of distinctive numbers (facts rule)
    shared_facts: int
    days_apart: float | None
    version_conflict: bool
    score: float
    cross: xlang.CrossEvidence | None = None  # for a Chinese–English pair


def score_pair(
    a: ItemFeatures, b: ItemFeatures, *, strip: bool = True, common_links: frozenset[str] = frozenset()
) -> Explanation:
    """`strip=False` skips the shared-edge removal: an upper bound of the score (dropping shared
    paragraphs only lowers each signal), used to reject most candidates cheaply."""
    ba, bb = _strip_shared_edges(a, b) if strip else (a.body, b.body)
    body = _resemblance(ba.shingles, bb.shingles)
    title = _jaccard(a.title, b.title)
    bag = _jaccard(ba.bag, bb.bag) if min(len(ba.bag), len(bb.bag)) >= MIN_FEATURES else 0.0
    shared = len(ba.facts & bb.facts)
    facts = _jaccard(ba.facts, bb.facts)
    near = min(1.0, 0.5 * body / NEAR_DUP)
    titled = 0.5 * min(title / TITLE_MIN, bag / BAG_MIN)
    factual = 0.5 * min(facts / FACTS_MIN, shared / SHARED_FACTS_MIN, bag / BAG_MIN)
    days = None
    if a.published_at is not None and b.published_at is not None:
        days = abs((a.published_at - b.published_at).total_seconds()) / 86400
    conflict = bool(a.versions and b.versions and not a.versions & b.versions)
    cross = None
    if a.cross.han != b.cross.han:
        cross = xlang.compare(a.cross, b.cross, common_links=common_links)
    if conflict or (days is not None and days > MAX_GAP.total_seconds() / 86400):
        # Another release or another week: only a copy of the same text is the same story.
        score = body if body >= NEAR_IDENTICAL else 0.0
    else:
        score = min(1.0, max(near, titled, factual, cross.score if cross else 0.0))
    return Explanation(
        round(body, 4),
        round(title, 4),
        round(bag, 4),
        round(facts, 4),
        shared,
        days,
        conflict,
        round(score, 4),
        cross,
    )


def similarity(a: ClusterInput, b: ClusterInput) -> float:
    """Score in [0, 1]; `a` and `b` are one story when it reaches the threshold (default 0.5)."""
    return score_pair(item_features(a), item_features(b)).score


def explain(a: ClusterInput, b: ClusterInput) -> Explanation:
    """The signals behind `similarity(a, b)`, for tests and for an editor asking "why merged?"."""
    return score_pair(item_features(a), item_features(b))
