"""The feature shelf: clustering's features in an unlinked temporary file, read back unchanged."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime

import numpy as np
import pytest

from curator.cluster import ClusterInput, assign_stories
from curator.shelf import FeatureShelf
from curator.similarity import item_features, score_pair

WHEN = datetime(2026, 3, 2, 9, tzinfo=UTC)
WORDS = ["compiler", "borrow", "checker", "async", "runtime", "garbage", "collector", "allocator", "channel", "goroutine", "comptime", "generics", "trait", "interface", "module", "package", "release", "benchmark", "memory", "thread", "scheduler"]  # fmt: skip


def _item(item_id: int, topic: str) -> ClusterInput:
    draw = random.Random(topic)  # one text and vocabulary per topic: its copies are one story
    words = [w + draw.choice("abcdefgh") + draw.choice("ijklmnop") for w in draw.choices(WORDS, k=240)]
    text = "\n\n".join(f"{topic} " + " ".join(words[i : i + 20]) + f" {i * 7}." for i in range(0, 240, 20))
    return ClusterInput(item_id, f"{topic} 2.{item_id % 3} released", text, None, WHEN)


def test_features_read_back_after_eviction_are_the_features_put() -> None:
    shelf = FeatureShelf(cache_items=1)
    docs = [item_features(_item(i, topic)) for i, topic in enumerate(["Rust", "Go", "Zig"], start=1)]
    for doc in docs:
        shelf.put(doc)
    assert len(shelf) == 3 and 2 in shelf and 9 not in shelf
    for doc in docs:  # the cache holds one: every read but the last comes from the file
        back = shelf[doc.item_id]
        assert np.array_equal(back.units, doc.units)
        assert np.array_equal(back.body.shingles, doc.body.shingles)
        assert np.array_equal(back.body.bag, doc.body.bag)
        fields = ("published_at", "para_keys", "para_ends", "para_facts", "title", "versions", "cross", "serial")
        assert [getattr(back, f) for f in fields] == [getattr(doc, f) for f in fields]
        assert back.body.facts == doc.body.facts
        assert shelf.han(doc.item_id) is False
        assert score_pair(back, doc).score == score_pair(doc, doc).score
    shelf.close()
    assert len(shelf) == 0
    with pytest.raises(KeyError):
        shelf[1]
    with pytest.raises(KeyError):
        shelf.han(1)


def test_a_chinese_item_reads_back_as_chinese() -> None:
    shelf = FeatureShelf(cache_items=1)
    zh = item_features(ClusterInput(1, "开源编译器发布新版本", "编译器团队今天发布了新版本，性能提升百分之三十。" * 8, "zh", WHEN))
    shelf.put(zh)
    shelf.put(item_features(_item(2, "Rust")))
    assert shelf.han(1) and not shelf.han(2)
    assert shelf[1].cross == zh.cross and shelf[1].title == zh.title  # read from the file (cache of one)


def test_the_shelf_file_has_no_name_on_disk() -> None:
    shelf = FeatureShelf()
    shelf.put(item_features(_item(1, "Rust")))
    assert (
        shelf._file is not None and os.fstat(shelf._file.fileno()).st_nlink == 0
    )  # nothing left after a kill
    shelf.close()


def test_an_item_shelved_twice_keeps_its_first_features() -> None:
    shelf = FeatureShelf(cache_items=1)
    first = item_features(_item(1, "Rust"))
    shelf.put(first)
    shelf.put(item_features(_item(1, "Go")))
    shelf.put(item_features(_item(2, "Zig")))  # evicts item 1 from the cache
    assert np.array_equal(shelf[1].units, first.units) and len(shelf) == 2


def test_stories_do_not_depend_on_what_the_cache_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    items = [_item(i, topic) for i, topic in enumerate(["Rust", "Go", "Rust", "Zig", "Go", "Rust"], start=1)]
    roomy = assign_stories(items)
    monkeypatch.setattr(FeatureShelf.__init__, "__defaults__", (1,))  # every look-up a read from the file
    assert assign_stories(items) == roomy
    assert roomy[3] == roomy[6] == 1 and roomy[5] == 2 and roomy[4] == 4
