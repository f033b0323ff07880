"""Clustering's key arrays on a shelf: an anonymous temporary file, not the heap.

A window of N items needs every item's features (any later item may match any earlier one), ~50 KB an
item; held in memory, they were the largest part of a 5,000-page collect's peak. Half of that is three
arrays of 64-bit keys (the units, shingles and vocabulary of the text), the other half small objects
(titles, numbers, cross-language evidence: ~180 an item). The shelf writes each item's features to a
temporary file as they are made, the arrays as their bytes and the rest pickled, and reads them back
(one `pread`: three views and one unpickling) when a pair test needs them, keeping the most recently
read in a small cache; memory keeps where each item is and whether it is Chinese. Measured on 5,000
dev texts (3.4 copies each): clustering's peak 579 -> 473 MB for 12% more CPU with the arrays on the
shelf; on the bench's 5,000 pages, the rest moved there too took the collect process at the end of
clustering from 162 to 85 MB (PSS; 48 MB before it) for 13% more of clustering's CPU. The file is
unlinked from the start (`tempfile.TemporaryFile`): nothing is left behind, even after kill -9; the
operating system's page cache keeps reads cheap.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections import OrderedDict
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from curator.similarity import ItemFeatures, _Body

CACHE_ITEMS = 256  # ~6 MB of arrays; an item is compared mostly with its site's and its story's items


class FeatureShelf:
    """item id -> `ItemFeatures`, written once (`put`), read any number of times (`shelf[item_id]`)."""

    def __init__(self, cache_items: int = CACHE_ITEMS) -> None:
        self._file: IO[bytes] | None = None
        self._end = 0
        # item id -> (offset, length of each array, bytes of the rest pickled)
        self._where: dict[int, tuple[int, int, int, int, int]] = {}
        self._han: set[int] = set()  # the Chinese items (the cross-language rule's look-ups ask)
        self._cache: OrderedDict[int, ItemFeatures] = OrderedDict()
        self._cache_items = cache_items

    def put(self, doc: ItemFeatures) -> None:
        """Shelve `doc` (an item id shelved before keeps its first features)."""
        if doc.item_id in self._where:
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile(buffering=0, prefix="curator-features-")  # noqa: SIM115 (close())
        # The key arrays go to the file as their bytes (read back without a copy), then the rest pickled
        # (its serial too: read back, it is the same features, and the pair test's memos stay valid).
        arrays = (doc.units, doc.body.shingles, doc.body.bag)
        rest = pickle.dumps((doc.published_at, doc.body.facts, doc.para_keys, doc.para_ends, doc.para_facts,
                             doc.title, doc.versions, doc.cross, doc.serial), protocol=pickle.HIGHEST_PROTOCOL)
        # Unbuffered (`buffering=0`), so what `pread` reads is what was written, not a buffer behind it.
        os.pwrite(self._file.fileno(), b"".join([*(keys.tobytes() for keys in arrays), rest]), self._end)
        self._where[doc.item_id] = (self._end, len(arrays[0]), len(arrays[1]), len(arrays[2]), len(rest))
        self._end += 8 * sum(len(keys) for keys in arrays) + len(rest)
        if doc.cross.han:
            self._han.add(doc.item_id)
        self._remember(doc)

    def __getitem__(self, item_id: int) -> ItemFeatures:
        doc = self._cache.get(item_id)
        if doc is not None:
            self._cache.move_to_end(item_id)
            return doc
        offset, n_units, n_shingles, n_bag, n_rest = self._where[item_id]  # KeyError: never shelved
        assert self._file is not None
        size = 8 * (n_units + n_shingles + n_bag)
        data = os.pread(self._file.fileno(), size + n_rest, offset)
        keys = np.frombuffer(data, dtype=np.uint64, count=size // 8)
        units, shingles, bag = (
            keys[:n_units],
            keys[n_units : n_units + n_shingles],
            keys[n_units + n_shingles :],
        )
        rest: tuple[Any, ...] = pickle.loads(memoryview(data)[size:])  # the bytes this shelf wrote
        published_at, facts, para_keys, para_ends, para_facts, title, versions, cross, serial = rest
        doc = ItemFeatures(
            item_id=item_id, published_at=published_at, body=_Body(shingles, bag, facts), units=units,
            para_keys=para_keys, para_ends=para_ends, para_facts=para_facts, title=title, versions=versions,
            cross=cross, serial=serial,
        )  # fmt: skip
        self._remember(doc)
        return doc

    def han(self, item_id: int) -> bool:
        """Whether the shelved item is Chinese."""
        if item_id not in self._where:
            raise KeyError(item_id)
        return item_id in self._han

    def _remember(self, doc: ItemFeatures) -> None:
        self._cache[doc.item_id] = doc
        self._cache.move_to_end(doc.item_id)
        while len(self._cache) > self._cache_items:
            self._cache.popitem(last=False)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._where

    def __len__(self) -> int:
        return len(self._where)

    def __iter__(self) -> Iterator[int]:
        return iter(self._where)

    def close(self) -> None:
        """Drop the file and the cache (the shelf is empty afterwards)."""
        if self._file is not None:
            self._file.close()
        self._file, self._end = None, 0
        self._where.clear()
        self._han.clear()
        self._cache.clear()
