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

Guards keep look-alikes apart: items published more than MAX_GAP apart, or whose titles name different
versions ("FlowDB 3.1" / "FlowDB 3.2"), are one story only when their bodies are near-identical; paragraphs
two texts share verbatim at their start or end (a site's header, footer, "About us" box) are dropped before
comparing them, so a site's boilerplate does not merge.

Text is cut into *units*: a Han character or a Latin/digit word. Shingles are 3 consecutive units (three
words in English, three characters in Chinese, mixed text handled alike): one scheme, no segmenter.

`similarity()` is a score in [0, 1]; two items are one story when it reaches the threshold (`DEFAULT_THRESHOLD`,
0.5). Each rule is scaled so that its own cut-off lands on 0.5, so raising the threshold tightens all rules
together. `curator.cluster` decides which pairs are compared.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
import re
import unicodedata
import zlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

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
    "paragraph_key",
    "release_memos",
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


@dataclass(frozen=True, eq=False)
class _Body:
    """A text as the pair test compares it: every feature is a 64-bit key, in a sorted array (a set
    of ~8 bytes per element, where a set of string tuples costs ~170)."""

    shingles: np.ndarray  # keys of the runs of 3 units, sorted, unique
    bag: np.ndarray  # keys of the vocabulary (Han bigrams, Latin content words), sorted, unique
    facts: frozenset[str]  # distinctive numbers: "6710", "81.2", "128k", "5nm"


_SERIAL = itertools.count()
_ParaFacts = tuple[tuple[int, frozenset[str], frozenset[str]], ...]


@dataclass(frozen=True, eq=False)
class ItemFeatures:
    """An item reduced to what clustering compares; the text itself is not kept.

    The body's units are kept as keys (`units`, see `_UnitKeys`) with the paragraph each ends
    (`para_ends`) and a key per paragraph (`para_keys`), so a body without the paragraphs two texts
    share (a site's header, footer) is rebuilt exactly from them."""

    item_id: int
    published_at: datetime | None
    body: _Body
    units: np.ndarray  # uint64 key of each unit of the normalised text, in order
    para_keys: tuple[int, ...]  # `paragraph_key` of each normalised paragraph, in order
    para_ends: tuple[int, ...]  # index in `units` where each paragraph ends
    # (paragraph index, its distinctive numbers, its years) for the paragraphs stating numbers
    para_facts: _ParaFacts
    title: frozenset[str]  # Han bigrams, Latin content words and word pairs of the title
    versions: frozenset[str]  # version numbers named in the title
    cross: xlang.CrossFeatures  # figures, names, links: evidence across languages
    serial: int = field(default_factory=lambda: next(_SERIAL))  # memo key, never reused

    def __setstate__(self, state: dict[str, object]) -> None:  # unpickled, as made in a worker process:
        self.__dict__.update(state, serial=next(_SERIAL))  # a serial of this process, which keys its memos

    def para_units(self, indices: Iterable[int]) -> np.ndarray:
        """The unit keys of the paragraphs at `indices` (ascending), as if their text were joined."""
        ends = self.para_ends
        parts = [self.units[(ends[i - 1] if i else 0) : ends[i]] for i in indices]
        return np.concatenate(parts) if parts else self.units[:0]

    def facts_in(self, indices: Iterable[int]) -> frozenset[str]:
        """`distinctive_numbers` of the paragraphs at `indices` joined (years anywhere in them are out)."""
        return _facts(self.para_facts, set(indices))


def _facts(para_facts: _ParaFacts, keep: set[int] | range) -> frozenset[str]:
    found = [(n, y) for i, n, y in para_facts if i in keep]
    if not found:
        return frozenset()
    return frozenset().union(*(n for n, _ in found)) - frozenset().union(*(y for _, y in found))


# ---- features ---------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).lower()
    # OpenCC is slow: convert only texts whose opening shows Traditional characters.
    if has_traditional(text[:TRADITIONAL_PROBE_CHARS]):
        text = to_simplified(text)
    return _THOUSANDS_RE.sub("", text)


def _units(text: str) -> list[str]:
    return UNIT_RE.findall(_normalise(text))


# A unit's key: its crc32 (what `curator.cluster` feeds MinHash) in the high 32 bits, 30 bits of
# blake2b, and two flag bits. Two independent hashes make 62 bits: distinct units get distinct keys.
_FLAG_HAN = 1  # a Han character (Han bigrams enter the bag)
_FLAG_WORD = 2  # a Latin content word: not a stop word, longer than one letter or a digit
_P1 = np.uint64(0x9E3779B97F4A7C15)  # odd multipliers: the key of a run depends on its order
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_P3 = np.uint64(0x165667B19E3779F9)


class _UnitKeys(dict[str, int]):
    """A process-wide memo of unit -> key (deterministic, unlike `hash()`), read at C speed."""

    def __missing__(self, unit: str) -> int:
        if len(self) > 500_000:
            self.clear()
        flags = _FLAG_HAN if len(unit) == 1 and unit >= "\u3400" else 0
        if unit < "\u3400" and unit not in _STOPWORDS and (len(unit) > 1 or unit.isdigit()):
            flags |= _FLAG_WORD
        data = unit.encode("utf-8")
        digest = int.from_bytes(hashlib.blake2b(data, digest_size=4).digest(), "little")
        key = self[unit] = (zlib.crc32(data) << 32) | (digest & ~3 & 0xFFFFFFFF) | flags
        return key


_UNIT_KEYS = _UnitKeys()


def paragraph_key(paragraph: str) -> int:
    """A 64-bit key of a normalised paragraph (equal paragraphs, equal keys)."""
    return int.from_bytes(hashlib.blake2b(paragraph.encode("utf-8"), digest_size=8).digest(), "little")


def _unit_keys(units: list[str]) -> np.ndarray:
    return np.fromiter(map(_UNIT_KEYS.__getitem__, units), dtype=np.uint64, count=len(units))


def _shingle_keys(units: np.ndarray) -> np.ndarray:
    """Keys of every run of SHINGLE_UNITS units (a shorter text is one shingle)."""
    if len(units) < SHINGLE_UNITS:
        return np.unique(units[:1] * _P1)  # one shingle (or none): too few to count either way
    with np.errstate(over="ignore"):
        return np.unique((units[:-2] * _P1 + units[1:-1]) * _P2 + units[2:])


def _bag_keys(units: np.ndarray) -> np.ndarray:
    """Keys of the Han-character bigrams and of the Latin words other than stop words."""
    han = (units & np.uint64(_FLAG_HAN)) != 0
    pairs = han[:-1] & han[1:]
    with np.errstate(over="ignore"):
        bigrams = units[:-1][pairs] * _P3 + units[1:][pairs]
    words = units[(units & np.uint64(_FLAG_WORD)) != 0]
    return np.unique(np.concatenate((bigrams, words)))


def _bag(units: list[str]) -> set[str]:
    """Han-character bigrams and Latin words other than stop words (of a title)."""
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


def _body(units: np.ndarray, facts: frozenset[str]) -> _Body:
    return _Body(_shingle_keys(units), _bag_keys(units), facts)


def _versions(title: str) -> frozenset[str]:
    found = _VERSION_RE.findall(_normalise(title))
    return frozenset(re.sub(r"(?:\.0)+$", "", v) for v in found)


def item_features(item: ClusterInput) -> ItemFeatures:
    text = _normalise(item.text)
    paragraphs = [p for p in _PARA_RE.split(text) if p]
    units: list[str] = []
    ends: list[int] = []
    para_facts: list[tuple[int, frozenset[str], frozenset[str]]] = []
    for i, p in enumerate(paragraphs):
        units += UNIT_RE.findall(p)
        ends.append(len(units))
        numbers = {u for u in _NUMBERUNIT_RE.findall(p) if len(u) >= 3 or "." in u}
        if numbers:
            para_facts.append((i, frozenset(numbers), frozenset(_YEAR_RE.findall(p))))
    keys = _unit_keys(units)
    return ItemFeatures(
        item_id=item.item_id,
        published_at=_aware(item.published_at),
        body=_body(keys, _facts(tuple(para_facts), range(len(paragraphs)))),
        units=keys,
        para_keys=tuple(map(paragraph_key, paragraphs)),
        para_ends=tuple(ends),
        para_facts=tuple(para_facts),
        title=frozenset(_title_features(_units(item.title))),
        versions=_versions(item.title),
        cross=xlang.features(item.title, item.text, links=item.links, title_en=item.title_en),
    )


def _aware(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


# ---- scoring ----------------------------------------------------------------------------------


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def _common(a: np.ndarray, b: np.ndarray) -> int:
    """How many keys two sorted unique key arrays share."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    if not len(small):
        return 0
    at = np.searchsorted(large, small)
    at[at == len(large)] = 0
    return int(np.count_nonzero(large[at] == small))


def _key_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    if not len(a) or not len(b):
        return 0.0
    inter = _common(a, b)
    return inter / (len(a) + len(b) - inter)


def _resemblance(a: np.ndarray, b: np.ndarray) -> float:
    """Shingle Jaccard, or — for a trimmed copy inside a longer text — weighted containment."""
    if len(a) < MIN_FEATURES or len(b) < MIN_FEATURES:
        return 0.0
    inter = _common(a, b)
    jac = inter / (len(a) + len(b) - inter)
    small, large = sorted((len(a), len(b)))
    if small / large >= CONTAINMENT_MIN_RATIO:
        jac = max(jac, CONTAINMENT_WEIGHT * inter / small)
    return jac


def _strip_shared_edges(a: ItemFeatures, b: ItemFeatures) -> tuple[_Body, _Body]:
    """Bodies without the leading/trailing paragraphs both texts share verbatim (a site's header,
    footer, "About us" or info box) — unless that is all of one text: then it is a copy."""
    pa, pb = a.para_keys, b.para_keys
    n = min(len(pa), len(pb))
    head = next((i for i in range(n) if pa[i] != pb[i]), n)
    tail = next((i for i in range(n - head) if pa[-1 - i] != pb[-1 - i]), n - head)
    if not head and not tail:
        return a.body, b.body
    if len(pa) - head - tail < 1 or len(pb) - head - tail < 1:
        return a.body, b.body
    return _kept_body(a, head, tail), _kept_body(b, head, tail)


_KEPT: OrderedDict[tuple[int, int, int], _Body] = OrderedDict()
_KEPT_MAX = 256


def _kept_body(doc: ItemFeatures, head: int, tail: int) -> _Body:
    """`doc`'s body without its first `head` and last `tail` paragraphs; memoised: an item shares the
    same footer with every other item of its site."""
    key = (doc.serial, head, tail)
    if (body := _KEPT.get(key)) is not None:
        _KEPT.move_to_end(key)
        return body
    kept = range(head, len(doc.para_keys) - tail)
    start = doc.para_ends[head - 1] if head else 0
    body = _KEPT[key] = _body(doc.units[start : doc.para_ends[kept[-1]]], doc.facts_in(kept))
    if len(_KEPT) > _KEPT_MAX:
        _KEPT.popitem(last=False)
    return body


def release_memos() -> None:
    """Forget the bodies and unit keys memoised for a clustering run (a long-lived process keeps none)."""
    _KEPT.clear()
    _UNIT_KEYS.clear()


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
    bag = _key_jaccard(ba.bag, bb.bag) if min(len(ba.bag), len(bb.bag)) >= MIN_FEATURES else 0.0
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
