"""Cluster: group items about the same event into stories (MinHash LSH candidates, exact verification).

Whether two items are one story is `curator.similarity`'s exact pair test (near-duplicate bodies,
a rewrite, a rewrite under another headline, a Chinese and an English report of one event). This
module decides which pairs are compared: candidates come from three MinHash LSH indexes (body
shingles, title features, distinctive numbers — one per rule; datasketch's MinHash values, made
by `curator.lsh.MinHasher`, in its compact band tables) and from exact look-ups of figures and links for the
cross-language rule; every candidate is verified exactly, so LSH only decides what is compared,
never what is merged. Paragraphs repeated across many items are kept out
of the MinHashes, so a site's boilerplate neither merges nor slows anything.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np

from curator import xlang
from curator.lsh import BandIndex, MinHasher
from curator.shelf import FeatureShelf
from curator.similarity import (
    DEFAULT_THRESHOLD,
    SHARED_FACTS_MIN,
    SHINGLE_UNITS,
    ClusterInput,
    ItemFeatures,
    explain,
    item_features,
    release_memos,
    score_pair,
    similarity,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "ClusterInput",
    "StoryIndex",
    "assign_stories",
    "explain",
    "merge_translated",
    "similarity",
]

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
_MASK32 = 0xFFFFFFFF
_MIX = 0x9E3779B1


class _UnitHashes(dict[str, int]):
    """A process-wide memo of unit -> crc32 (deterministic, unlike `hash()`), read at C speed."""

    def __missing__(self, unit: str) -> int:
        if len(self) > 500_000:
            self.clear()
        h = self[unit] = zlib.crc32(unit.encode("utf-8"))
        return h


_UNIT_HASHES = _UnitHashes()


def _minhash_input(units: np.ndarray) -> np.ndarray:
    """32-bit hashes of the shingles whose hash is ≡ 0 (mod SAMPLE_MOD): a consistent sample, so
    MinHash estimates the resemblance at a quarter of the cost. Short texts keep every shingle.
    `units`: the units' keys (`similarity.ItemFeatures.units`), whose high half is the unit's crc32."""
    if len(units) < SHINGLE_UNITS:
        return np.empty(0, dtype=np.uint64)
    hs = units >> np.uint64(32)
    mix, mask = np.uint64(_MIX), np.uint64(_MASK32)
    out = (((hs[:-2] * mix + hs[1:-1]) & mask) * mix + hs[2:]) & mask
    out = np.unique(out)
    sampled = out[out % np.uint64(SAMPLE_MOD) == 0]
    return sampled if len(sampled) >= 64 else out


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
        boilerplate: Iterable[int] = (),
        common_links: Iterable[str] = (),
        shelf: FeatureShelf | None = None,
    ) -> None:
        """`boilerplate`: keys (`similarity.paragraph_key`) of normalised paragraphs known to repeat
        across items (see `assign_stories`);
        paragraphs seen in BOILERPLATE_DF items are added as items arrive. `common_links`: the same
        for outbound links (a site's "follow us" links are no shared original). `shelf`: where the
        features are kept (`assign_stories` passes the one it filled; an item counts once added)."""
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self.num_perm = num_perm
        self._body = BandIndex(num_perm // BODY_ROWS, BODY_ROWS)
        self._titles = BandIndex(num_perm // TITLE_ROWS, TITLE_ROWS)
        self._facts = BandIndex(num_perm // TITLE_ROWS, TITLE_ROWS)
        self._hasher = MinHasher(num_perm, SEED)  # its permutations drawn once
        # every item's features; their key arrays in a temporary file (curator.shelf)
        self._docs = shelf if shelf is not None else FeatureShelf()
        self._parent: dict[int, int] = {}
        self._story: dict[int, tuple[bool, int]] = {}  # root item -> (not pinned, story id)
        self._pinned: dict[int, int] = {}  # pinned story id -> an item of it
        self._boilerplate: set[int] = set(boilerplate)
        self._paragraph_df: Counter[int] = Counter()
        self._common_links = frozenset(common_links)
        self._link_df: Counter[str] = Counter()
        # figure / link -> items stating it: cross-language candidates (no shingle can match there)
        self._postings: dict[str, list[int]] = {}

    def __len__(self) -> int:
        return len(self._parent)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._parent

    def add(self, item: ClusterInput, *, story_id: int | None = None) -> int:
        """Index `item`, merge it with every story it matches; returns its story id.

        `story_id` pins the story the item is already stored in (from a previous run).
        Adding an item id twice changes nothing.
        """
        if item.item_id in self._parent:
            return self.story_of(item.item_id)
        return self._add(item_features(item), story_id)

    def _add(self, doc: ItemFeatures, story_id: int | None) -> int:
        key = doc.item_id
        self._parent[key] = key
        self._story[key] = (story_id is None, story_id if story_id is not None else key)
        if story_id is not None:
            if story_id in self._pinned:
                self._union(key, self._pinned[story_id])
            self._pinned.setdefault(story_id, key)

        # Boilerplate stays out of the MinHashes (it would make every item of a site a candidate of
        # every other); verification still sees the whole text.
        self._paragraph_df.update(set(doc.para_keys))
        self._boilerplate.update(p for p in doc.para_keys if self._paragraph_df[p] >= BOILERPLATE_DF)
        clean = [i for i, p in enumerate(doc.para_keys) if p not in self._boilerplate]
        body_mh = self._minhash(_minhash_input(doc.para_units(clean)))
        title_mh = self._minhash(np.fromiter(map(_UNIT_HASHES.__getitem__, doc.title), dtype=np.uint64))
        facts = doc.facts_in(clean)
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

        self._docs.put(doc)
        for lsh, mh in lookups:
            if mh is not None:
                lsh.insert(key, mh)
        for feature in self._cross_keys(doc):
            self._postings.setdefault(feature, []).append(key)
        return self.story_of(key)

    @staticmethod
    def _cross_keys(doc: ItemFeatures, *, han: bool | None = None) -> list[str]:
        """Posting keys of `doc`; headline words are keyed by script (`han`: the script looked up, the
        doc's own by default), so an English item looks up only the translated Chinese titles."""
        script = int(doc.cross.han if han is None else han)
        return ([f"q{q}" for q in doc.cross.quantities] + [f"l{link}" for link in doc.cross.links]
                + [f"t{script}{t}" for t in doc.cross.title_terms])

    def _cross_candidates(self, doc: ItemFeatures) -> set[int]:
        """Items in the other language sharing QTY_SHARED_MIN figures or a link with `doc`: exact
        look-ups, so every pair the cross-language rule could merge is compared."""
        shared: Counter[int] = Counter()
        titled: Counter[int] = Counter()  # headline words shared with a translated title (or with its English)
        linked: set[int] = set()
        for feature in self._cross_keys(doc, han=not doc.cross.han):
            posting = self._postings.get(feature, ())
            if len(posting) > CROSS_POSTINGS_MAX:
                continue
            if feature[0] == "q":
                shared.update(posting)
            elif feature[0] == "t":
                titled.update(posting)
            elif feature[1:] not in self._common_links:
                linked.update(posting)
        found = linked | {i for i, n in shared.items() if n >= xlang.QTY_SHARED_MIN}
        found |= {i for i, n in titled.items() if n >= xlang.TITLE_EN_ALONE_WORDS}
        return {i for i in found if self._docs.han(i) != doc.cross.han}

    def story_of(self, item_id: int) -> int:
        return self._story[self._find(item_id)][1]

    def assignments(self) -> dict[int, int]:
        """item id -> story id for every indexed item."""
        return {i: self.story_of(i) for i in self._parent}

    def _matches(self, a: ItemFeatures, b: ItemFeatures) -> bool:
        links = self._common_links
        if score_pair(a, b, strip=False, common_links=links).score < self.threshold:
            return False
        return score_pair(a, b, common_links=links).score >= self.threshold

    def _minhash(self, hashes: np.ndarray) -> np.ndarray | None:
        return self._hasher.hashvalues(hashes) if len(hashes) else None

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
    items: Iterable[ClusterInput], existing: dict[int, int] | None = None, *, threshold: float | None = None,
    featurize: Callable[[Iterable[ClusterInput]], Iterable[ItemFeatures]] | None = None,
) -> dict[int, int]:
    """item id -> story id for `items`.

    `existing` holds stored assignments (item id -> story id) of items among `items`: those stories
    keep their ids and a new item that matches one takes its id. A new story is named after its
    smallest item id. The result does not depend on the order of `items`. `featurize` makes the items'
    features elsewhere (`Pipeline._cluster`: in worker processes); the result is the same.
    """
    existing = existing or {}
    made = featurize(items) if featurize is not None else map(item_features, items)
    # Two passes: the first shelves each item's features as it is made (memory holds counts, not
    # features) and counts the paragraphs and links repeated across items; the second indexes them.
    shelf, df, link_df = FeatureShelf(), Counter[int](), Counter[str]()
    for doc in made:
        if doc.item_id not in shelf:
            shelf.put(doc)
            df.update(set(doc.para_keys))
            link_df.update(doc.cross.links)
    from curator.workers import trim

    trim()  # the features came pickled from the workers: the heap they passed through goes back
    index = StoryIndex(
        DEFAULT_THRESHOLD if threshold is None else threshold,
        boilerplate=(p for p, n in df.items() if n >= BOILERPLATE_DF),
        common_links=(link for link, n in link_df.items() if n >= BOILERPLATE_DF),
        shelf=shelf,
    )
    try:
        for item_id in sorted(shelf):
            index._add(shelf[item_id], existing.get(item_id))
        return index.assignments()
    finally:
        shelf.close()
        release_memos()
        _UNIT_HASHES.clear()
        trim()  # the index, its memos and the features read back are gone: so is the heap they took


def features_batch(items: list[ClusterInput]) -> list[ItemFeatures]:
    """The features of a batch, made in a worker process (`Pipeline._featurize`); the memos it filled go with
    it. Unpickled in the collect process, each takes a serial of that process (`ItemFeatures.__setstate__`)."""
    try:
        return [item_features(item) for item in items]
    finally:
        release_memos()


def merge_translated(leads: Iterable[ClusterInput], stories: dict[int, int]) -> dict[int, int]:
    """The second pass, after triage: story leads carrying triage's translated titles (`title_en`), each
    standing for its stored story (`stories`: lead id -> story id, pinned). Returns lead id -> story id
    for the leads whose story joins another one (the merged story keeps the smaller id).

    The first pass could not merge a Chinese and an English report that share no Latin name, figure or
    link; with the Chinese headline in English the pair test sees what both headlines say."""
    leads = list(leads)
    found = assign_stories(leads, {lead.item_id: stories.get(lead.item_id, lead.item_id) for lead in leads})
    return {i: s for i, s in found.items() if s != stories.get(i, i)}
