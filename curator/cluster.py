"""Cluster: group items about the same event into stories (MinHash LSH candidates, exact verification).

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
footer, "About us" box) are dropped before comparing them, and paragraphs repeated across many
items are kept out of the MinHashes, so a site's boilerplate neither merges nor slows anything.

Text is cut into *units*: a Han character or a Latin/digit word. Shingles are 3 consecutive units
(three words in English, three characters in Chinese, mixed text handled alike), so one scheme
serves both languages without a segmenter. Candidates come from three `datasketch.MinHashLSH`
indexes (body shingles, title features, distinctive numbers — one per rule); every candidate is
verified exactly, so LSH only decides what is compared, never what is merged.

`similarity()` is a score in [0, 1]; two items are one story when it reaches the threshold
(`DEFAULT_THRESHOLD`, 0.5). Each rule is scaled so that its own cut-off lands on 0.5, so raising
the threshold tightens all rules together.
"""

from __future__ import annotations

import functools
import itertools
import operator
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from datasketch import MinHash, MinHashLSH

from curator import xlang
from curator.text import has_traditional, to_simplified

__all__ = [
    "DEFAULT_THRESHOLD",
    "ClusterInput",
    "StoryIndex",
    "assign_stories",
    "explain",
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
SEED = 1
# A paragraph repeated verbatim in this many items is boilerplate (a site's footer): it is left out
# of the body MinHash. Syndicated copies repeat paragraphs too, but rarely five times in a window,
# and their titles and numbers still make them candidates.
BOILERPLATE_DF = 5
SAMPLE_MOD = 4  # MinHash sees the shingles whose hash ≡ 0 (mod 4): consistent sampling, 4× faster
BODY_ROWS = 3  # LSH band width: a pair at resemblance 0.5 is a candidate with p ≈ 0.996
TITLE_ROWS = 2  # titles (or number sets) at 0.25 are candidates with p ≈ 0.98, at 0.5 p ≈ 1
# A figure or link found in more items than this is too common to propose cross-language candidates.
CROSS_POSTINGS_MAX = 300

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_UNIT_RE = re.compile(rf"[{_HAN}]|[a-z0-9]+(?:[.\-'][a-z0-9]+)*")
_THOUSANDS_RE = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")
# A version in a title: "3.2", "v1.4.1", not a price, share or size ("2.3 billion", "15.2%").
_VERSION_RE = re.compile(
    r"(?<![\d.$¥€£])v?(\d+(?:\.\d+)+)(?![\d.]|\s*(?:%|亿|万|倍|元|美元|英寸|"
    r"billion|million|trillion|bn\b|[mbk]\b|tb\b|gb\b|nm\b|x\b|tflops|inch))"
)
_PARA_RE = re.compile(r"\s*\n\s*")  # paragraphs, trimmed
# A distinctive number: a unit with a digit, three characters or more or a decimal ("6710", "81.2",
# "5nm"); years are left out, every article of a season carries them.
_NUMBER_UNIT_RE = re.compile(r"(?<![a-z0-9.\-'])[a-z]*\d[a-z0-9]*(?:[.\-'][a-z0-9]+)*")
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
_MASK32 = 0xFFFFFFFF
_MIX = 0x9E3779B1


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
class _Doc:
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
    return _UNIT_RE.findall(_normalise(text))


class _UnitHashes(dict[str, int]):
    """A process-wide memo of unit -> crc32 (deterministic, unlike `hash()`), read at C speed."""

    def __missing__(self, unit: str) -> int:
        if len(self) > 500_000:
            self.clear()
        h = self[unit] = zlib.crc32(unit.encode("utf-8"))
        return h


_UNIT_HASHES = _UnitHashes()


def _shingles(units: list[str]) -> set[tuple[str, ...]]:
    """Every run of SHINGLE_UNITS units (a shorter text is one shingle)."""
    if len(units) < SHINGLE_UNITS:
        return {tuple(units)} if units else set()
    return set(zip(units, units[1:], units[2:], strict=False))


def _minhash_input(units: list[str]) -> np.ndarray:
    """32-bit hashes of the shingles whose hash is ≡ 0 (mod SAMPLE_MOD): a consistent sample, so
    MinHash estimates the resemblance at a quarter of the cost. Short texts keep every shingle."""
    if len(units) < SHINGLE_UNITS:
        return np.empty(0, dtype=np.uint64)
    hs = np.fromiter(map(_UNIT_HASHES.__getitem__, units), dtype=np.uint64, count=len(units))
    mix, mask = np.uint64(_MIX), np.uint64(_MASK32)
    out = (((hs[:-2] * mix + hs[1:-1]) & mask) * mix + hs[2:]) & mask
    out = np.unique(out)
    sampled = out[out % np.uint64(SAMPLE_MOD) == 0]
    return sampled if len(sampled) >= 64 else out


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


def _facts(text: str) -> set[str]:
    return {u for u in _NUMBER_UNIT_RE.findall(text) if len(u) >= 3 or "." in u} - set(_YEAR_RE.findall(text))


def _body(text: str) -> _Body:
    units = _UNIT_RE.findall(text)
    return _Body(frozenset(_shingles(units)), frozenset(_bag(units)), frozenset(_facts(text)))


def _versions(title: str) -> frozenset[str]:
    found = _VERSION_RE.findall(_normalise(title))
    return frozenset(re.sub(r"(?:\.0)+$", "", v) for v in found)


def _doc(item: ClusterInput) -> _Doc:
    text = _normalise(item.text)
    body = _body(text)
    cross = xlang.features(item.title, item.text, links=item.links, title_en=item.title_en)
    return _Doc(
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


def _strip_shared_edges(a: _Doc, b: _Doc) -> tuple[_Body, _Body]:
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


def _explain(
    a: _Doc, b: _Doc, *, strip: bool = True, common_links: frozenset[str] = frozenset()
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
    return _explain(_doc(a), _doc(b)).score


def explain(a: ClusterInput, b: ClusterInput) -> Explanation:
    """The signals behind `similarity(a, b)`, for tests and for an editor asking "why merged?"."""
    return _explain(_doc(a), _doc(b))


# ---- the index --------------------------------------------------------------------------------


class StoryIndex:
    """Items added run after run; each joins the story of the items it matches.

    Story ids: an item that matches nobody starts a story with its own id. When a match joins two
    stories, the merged story keeps the id of a pinned story (one given to `add(story_id=…)`,
    i.e. already stored) if any, else the smaller id — so stored story ids never change because
    a new item arrived, and the result does not depend on the order items are added in.
    """

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        num_perm: int = 128,
        *,
        boilerplate: Iterable[str] = (),
        common_links: Iterable[str] = (),
    ) -> None:
        """`boilerplate`: normalised paragraphs known to repeat across items (see `assign_stories`);
        paragraphs seen in BOILERPLATE_DF items are added as items arrive. `common_links`: the same
        for outbound links (a site's "follow us" links are no shared original)."""
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self.num_perm = num_perm
        self._body = MinHashLSH(num_perm=num_perm, params=(num_perm // BODY_ROWS, BODY_ROWS))
        self._titles = MinHashLSH(num_perm=num_perm, params=(num_perm // TITLE_ROWS, TITLE_ROWS))
        self._facts = MinHashLSH(num_perm=num_perm, params=(num_perm // TITLE_ROWS, TITLE_ROWS))
        # Built once: MinHash would otherwise draw its permutations again for every item.
        self._permutations = MinHash(num_perm=num_perm, seed=SEED, scheme="affine32").permutations
        self._docs: dict[int, _Doc] = {}
        self._parent: dict[int, int] = {}
        self._story: dict[int, tuple[bool, int]] = {}  # root item -> (not pinned, story id)
        self._pinned: dict[int, int] = {}  # pinned story id -> an item of it
        self._boilerplate: set[str] = set(boilerplate)
        self._paragraph_df: Counter[str] = Counter()
        self._common_links = frozenset(common_links)
        self._link_df: Counter[str] = Counter()
        # figure / link -> items stating it: cross-language candidates (no shingle can match there)
        self._postings: dict[str, list[int]] = {}

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._docs

    def add(self, item: ClusterInput, *, story_id: int | None = None) -> int:
        """Index `item`, merge it with every story it matches; returns its story id.

        `story_id` pins the story the item is already stored in (from a previous run).
        Adding an item id twice changes nothing.
        """
        if item.item_id in self._docs:
            return self.story_of(item.item_id)
        return self._add(_doc(item), story_id)

    def _add(self, doc: _Doc, story_id: int | None) -> int:
        key = doc.item_id
        self._parent[key] = key
        self._story[key] = (story_id is None, story_id if story_id is not None else key)
        if story_id is not None:
            if story_id in self._pinned:
                self._union(key, self._pinned[story_id])
            self._pinned.setdefault(story_id, key)

        # Boilerplate stays out of the MinHashes (it would make every item of a site a candidate of
        # every other); verification still sees the whole text.
        self._paragraph_df.update(set(doc.paragraphs))
        self._boilerplate.update(p for p in doc.paragraphs if self._paragraph_df[p] >= BOILERPLATE_DF)
        clean = "\n".join(p for p in doc.paragraphs if p not in self._boilerplate)
        body_mh = self._minhash(_minhash_input(_UNIT_RE.findall(clean)))
        title_mh = self._minhash(np.fromiter(map(_UNIT_HASHES.__getitem__, doc.title), dtype=np.uint64))
        facts = _facts(clean)
        facts_mh = None
        if len(facts) >= SHARED_FACTS_MIN:
            facts_mh = self._minhash(np.fromiter(map(_UNIT_HASHES.__getitem__, facts), dtype=np.uint64))
        lookups = ((self._body, body_mh), (self._titles, title_mh), (self._facts, facts_mh))
        candidates: set[int] = set()
        for lsh, mh in lookups:
            if mh is not None:
                candidates.update(lsh.query(mh))
        self._link_df.update(doc.cross.links)
        if any(self._link_df[link] >= BOILERPLATE_DF for link in doc.cross.links):
            self._common_links |= {link for link in doc.cross.links if self._link_df[link] >= BOILERPLATE_DF}
        candidates.update(self._cross_candidates(doc))
        for other in sorted(candidates):
            if self._find(other) != self._find(key) and self._matches(doc, self._docs[other]):
                self._union(key, other)

        self._docs[key] = doc
        for lsh, mh in lookups:
            if mh is not None:
                lsh.insert(key, mh)
        for feature in self._cross_keys(doc):
            self._postings.setdefault(feature, []).append(key)
        return self.story_of(key)

    @staticmethod
    def _cross_keys(doc: _Doc) -> list[str]:
        return [f"q{q}" for q in doc.cross.quantities] + [f"l{link}" for link in doc.cross.links]

    def _cross_candidates(self, doc: _Doc) -> set[int]:
        """Items in the other language sharing QTY_SHARED_MIN figures or a link with `doc`: exact
        look-ups, so every pair the cross-language rule could merge is compared."""
        shared: Counter[int] = Counter()
        linked: set[int] = set()
        for feature in self._cross_keys(doc):
            posting = self._postings.get(feature, ())
            if len(posting) > CROSS_POSTINGS_MAX:
                continue
            if feature[0] == "q":
                shared.update(posting)
            elif feature[1:] not in self._common_links:
                linked.update(posting)
        found = linked | {i for i, n in shared.items() if n >= xlang.QTY_SHARED_MIN}
        return {i for i in found if self._docs[i].cross.han != doc.cross.han}

    def story_of(self, item_id: int) -> int:
        return self._story[self._find(item_id)][1]

    def assignments(self) -> dict[int, int]:
        """item id -> story id for every indexed item."""
        return {i: self.story_of(i) for i in self._docs}

    def _matches(self, a: _Doc, b: _Doc) -> bool:
        links = self._common_links
        if _explain(a, b, strip=False, common_links=links).score < self.threshold:
            return False
        return _explain(a, b, common_links=links).score >= self.threshold

    def _minhash(self, hashes: np.ndarray) -> MinHash | None:
        if len(hashes) == 0:
            return None
        mh = MinHash(
            num_perm=self.num_perm,
            seed=SEED,
            hashfunc=int,
            scheme="affine32",
            permutations=self._permutations,
        )
        mh.update_batch(hashes.tolist())
        return mh

    def _find(self, key: int) -> int:
        root = key
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[key] != root:  # path compression
            self._parent[key], key = root, self._parent[key]
        return root

    def _union(self, a: int, b: int) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra == rb:
            return
        keep = min(self._story[ra], self._story[rb])  # pinned first, then the smaller id
        self._parent[rb] = ra
        self._story[ra] = keep
        del self._story[rb]


def assign_stories(
    items: Iterable[ClusterInput], existing: dict[int, int] | None = None, *, threshold: float | None = None
) -> dict[int, int]:
    """item id -> story id for `items`.

    `existing` holds stored assignments (item id -> story id) of items among `items`: those stories
    keep their ids and a new item that matches one takes its id. A new story is named after its
    smallest item id. The result does not depend on the order of `items`.
    """
    existing = existing or {}
    docs = sorted((_doc(item) for item in items), key=lambda d: d.item_id)
    df = Counter(p for doc in docs for p in set(doc.paragraphs))
    link_df = Counter(link for doc in docs for link in doc.cross.links)
    index = StoryIndex(
        DEFAULT_THRESHOLD if threshold is None else threshold,
        boilerplate=(p for p, n in df.items() if n >= BOILERPLATE_DF),
        common_links=(link for link, n in link_df.items() if n >= BOILERPLATE_DF),
    )
    for doc in docs:
        if doc.item_id not in index:
            index._add(doc, existing.get(doc.item_id))
    return {doc.item_id: index.story_of(doc.item_id) for doc in docs}
