"""MinHash LSH band tables in sorted numpy arrays: the candidates `datasketch.MinHashLSH` gives, in a sixth
of its memory; and the MinHash values themselves (`MinHasher`: datasketch's, without importing datasketch).

`datasketch.MinHashLSH` keeps, for every item and band, a bytes key in a dict of Python sets and again in
a per-item list: ~13 KB an item for clustering's three indexes (66 MB of a 5,000-page collect's peak).
Here each (band, rows) value is one 64-bit key beside the item's id, 16 bytes: new entries wait in a small
dict, then go into sorted chunks that merge as they grow (a binary counter: at most log2(n) chunks), and
a query is one `searchsorted` per chunk. Distinct band values could share a key only by a 64-bit hash
collision (one chance in ~10^19 a pair); clustering verifies every candidate exactly anyway.
"""

from __future__ import annotations

import numpy as np

_BUFFER = 64  # items kept in the dict before they become a sorted chunk
_M1 = np.uint64(0xBF58476D1CE4E5B9)  # splitmix64's multipliers: every input bit reaches every output bit
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        out: np.ndarray = x ^ (x >> np.uint64(31))
        return out


# MurmurHash3's 32-bit finalizer: datasketch's pre-mix of the input hashes in its "affine32" scheme
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))


class MinHasher:
    """The MinHash values datasketch's `MinHash(num_perm, seed, hashfunc=int, scheme="affine32")` gives
    after `update_batch(hashes)` (tests/test_lsh.py holds them equal), for 32-bit input hashes.

    datasketch's package imports scipy on the way in (~50 MB of a collect's memory, for 0.3 s); what
    clustering needs of it is these few lines: the permutations drawn once from the seed, then, per
    set, every input pre-mixed, permuted `a * h + b` (mod 2**32, `a` odd) and the minimum per permutation."""

    def __init__(self, num_perm: int, seed: int) -> None:
        gen = np.random.RandomState(seed)
        dt = np.uint32
        self.a = gen.randint(0, 1 << 31, num_perm, dtype=dt) * dt(2) + dt(1)
        self.b = gen.randint(0, 1 << 32, num_perm, dtype=dt)

    def hashvalues(self, hashes: np.ndarray) -> np.ndarray:
        """The MinHash (uint32, one value per permutation) of a non-empty array of 32-bit hashes."""
        if len(hashes) == 0:
            raise ValueError("no hashes: an empty set has no MinHash")
        if int(hashes.max()) >> 32:
            raise ValueError("MinHasher takes 32-bit hashes")
        s1, m1, s2, m2, s3 = _FMIX32
        hv = hashes.astype(np.uint32).reshape(-1, 1)
        with np.errstate(over="ignore"):
            hv = hv ^ (hv >> s1)
            hv = hv * m1
            hv = hv ^ (hv >> s2)
            hv = hv * m2
            hv = hv ^ (hv >> s3)
            out: np.ndarray = (hv * self.a + self.b).min(axis=0)
        return out


class BandIndex:
    """`insert(item_id, hashvalues)` and `query(hashvalues)`: the ids of the items inserted before that
    share at least one band (`bands` bands of `rows` MinHash values each) with `hashvalues`."""

    def __init__(self, bands: int, rows: int) -> None:
        self.bands, self.rows = bands, rows
        self._salt = np.arange(1, bands + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        self._recent: dict[int, list[int]] = {}  # key -> ids, the last items inserted
        self._recent_items = 0
        self._chunks: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted keys, their ids), largest first

    def keys(self, hashvalues: np.ndarray) -> np.ndarray:
        """One 64-bit key per band: its rows' values (and the band's number) hashed together."""
        rows = np.asarray(hashvalues[: self.bands * self.rows], dtype=np.uint64).reshape(self.bands, self.rows)
        key = self._salt.copy()
        for r in range(self.rows):
            key = _mix(key ^ rows[:, r])
        return key

    def insert(self, item_id: int, hashvalues: np.ndarray) -> None:
        for k in set(self.keys(hashvalues).tolist()):
            self._recent.setdefault(k, []).append(item_id)
        self._recent_items += 1
        if self._recent_items >= _BUFFER:
            self._flush()

    def query(self, hashvalues: np.ndarray) -> set[int]:
        keys = self.keys(hashvalues)
        found: set[int] = set()
        for k in keys.tolist():
            found.update(self._recent.get(k, ()))
        for sorted_keys, ids in self._chunks:
            left = np.searchsorted(sorted_keys, keys, side="left")
            right = np.searchsorted(sorted_keys, keys, side="right")
            for lo, hi in zip(left[left < right].tolist(), right[left < right].tolist(), strict=True):
                found.update(ids[lo:hi].tolist())
        return found

    def __len__(self) -> int:
        return sum(len(ids) for _, ids in self._chunks) + sum(map(len, self._recent.values()))

    def _flush(self) -> None:
        pairs = [(k, i) for k, ids in self._recent.items() for i in ids]
        keys = np.fromiter((k for k, _ in pairs), dtype=np.uint64, count=len(pairs))
        ids = np.fromiter((i for _, i in pairs), dtype=np.int64, count=len(pairs))
        self._recent.clear()
        self._recent_items = 0
        # Merge while the last chunk is no larger than the new one: sizes halve along the list.
        while self._chunks and len(self._chunks[-1][0]) <= len(keys):
            k2, i2 = self._chunks.pop()
            keys, ids = np.concatenate((k2, keys)), np.concatenate((i2, ids))
        order = np.argsort(keys, kind="stable")
        self._chunks.append((keys[order], ids[order]))
