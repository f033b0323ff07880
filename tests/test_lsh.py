"""curator.lsh's band tables give the candidates datasketch's MinHashLSH gives, for any insert order; its MinHasher
gives datasketch's MinHash values."""

from __future__ import annotations

import random

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH

from curator.lsh import BandIndex, MinHasher


def _minhash(words: set[str]) -> MinHash:
    mh = MinHash(num_perm=128, seed=1, scheme="affine32")
    mh.update_batch([w.encode() for w in words])
    return mh


@pytest.mark.parametrize("rows", [2, 3])
def test_candidates_are_datasketch_s_through_many_chunk_merges(rows: int) -> None:
    draw = random.Random(rows)
    vocab = [f"w{i}" for i in range(400)]
    stories = [set(draw.sample(vocab, 40)) for _ in range(60)]
    # 700 items (11 chunks merged): rewrites of 60 stories, each keeping a random share of its words
    docs = [set(draw.sample(sorted(s), draw.randint(8, 40))) | set(draw.sample(vocab, 3)) for s in draw.choices(stories, k=700)]
    bands = 128 // rows
    ours, theirs = BandIndex(bands, rows), MinHashLSH(num_perm=128, params=(bands, rows))
    found = 0
    for item_id, words in enumerate(docs, start=1000):
        mh = _minhash(words)
        expected = set(theirs.query(mh))
        assert ours.query(mh.hashvalues) == expected
        found += len(expected)
        ours.insert(item_id, mh.hashvalues)
        theirs.insert(item_id, mh)
    assert found > 2000  # the stories' rewrites found each other (not a test of empty answers)
    assert len(ours) == sum(len(set(BandIndex(bands, rows).keys(_minhash(d).hashvalues).tolist())) for d in docs)


def test_an_item_shares_no_band_with_an_unrelated_one() -> None:
    index = BandIndex(42, 3)
    index.insert(1, _minhash({f"a{i}" for i in range(50)}).hashvalues)
    assert index.query(_minhash({f"b{i}" for i in range(50)}).hashvalues) == set()
    assert index.query(_minhash({f"a{i}" for i in range(50)}).hashvalues) == {1}
    assert isinstance(next(iter(index.query(_minhash({f"a{i}" for i in range(50)}).hashvalues))), int)
    assert np.array_equal(index.keys(np.arange(128, dtype=np.uint64)), index.keys(np.arange(128, dtype=np.uint64)))


@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (64, 7)])
def test_minhasher_gives_datasketch_s_values(num_perm: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    hasher = MinHasher(num_perm, seed)
    for size in (1, 2, 50, 3000):
        hashes = rng.integers(0, 2**32, size, dtype=np.uint64)
        mh = MinHash(num_perm=num_perm, seed=seed, hashfunc=int, scheme="affine32")
        mh.update_batch(hashes.tolist())
        assert np.array_equal(hasher.hashvalues(hashes), mh.hashvalues)
    # the extremes of the 32-bit range
    edge = np.array([0, 1, 2**31, 2**32 - 1], dtype=np.uint64)
    mh = MinHash(num_perm=num_perm, seed=seed, hashfunc=int, scheme="affine32")
    mh.update_batch(edge.tolist())
    assert np.array_equal(hasher.hashvalues(edge), mh.hashvalues)


def test_minhasher_refuses_what_it_cannot_hash() -> None:
    hasher = MinHasher(16, 1)
    with pytest.raises(ValueError, match="empty"):
        hasher.hashvalues(np.empty(0, dtype=np.uint64))
    with pytest.raises(ValueError, match="32-bit"):
        hasher.hashvalues(np.array([2**40], dtype=np.uint64))
