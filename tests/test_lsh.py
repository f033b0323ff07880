"""curator.lsh's band tables give the candidates datasketch's MinHashLSH gives, for any insert order."""

from __future__ import annotations

import random

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH

from curator.lsh import BandIndex


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
