"""Story clustering: pinned real and written pairs, transitivity, stable ids, no boilerplate merges."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from curator.cluster import DEFAULT_THRESHOLD, ClusterInput, StoryIndex, assign_stories, explain, similarity

FIXTURES = Path(__file__).parent / "fixtures" / "cluster"
PAIRS = json.loads((FIXTURES / "pairs.json").read_text(encoding="utf-8"))["pairs"]
POSITIVE = [p for p in PAIRS if p["kind"] == "positive"]
NEGATIVE = [p for p in PAIRS if p["kind"] == "negative"]


def _input(item_id: int, side: dict, *, dated: bool = True) -> ClusterInput:
    when = datetime.fromisoformat(side["published_at"]) if dated and side.get("published_at") else None
    return ClusterInput(item_id, side["title"], side["text"], None, when)


def test_fixture_set_is_big_enough_and_bilingual() -> None:
    assert len(POSITIVE) >= 8 and len(NEGATIVE) >= 8
    for group in (POSITIVE, NEGATIVE):
        assert any(p["id"].startswith("zh-") for p in group) and any(p["id"].startswith("en-") for p in group)


@pytest.mark.parametrize("pair", POSITIVE, ids=lambda p: p["id"])
def test_positive_pairs_are_one_story(pair: dict) -> None:
    a, b = _input(10, pair["a"]), _input(20, pair["b"])
    assert similarity(a, b) >= DEFAULT_THRESHOLD, explain(a, b)
    assert assign_stories([b, a]) == {10: 10, 20: 10}


@pytest.mark.parametrize("pair", NEGATIVE, ids=lambda p: p["id"])
def test_negative_pairs_stay_apart(pair: dict) -> None:
    a, b = _input(10, pair["a"]), _input(20, pair["b"])
    assert similarity(a, b) < DEFAULT_THRESHOLD, explain(a, b)
    assert assign_stories([a, b]) == {10: 10, 20: 20}


@pytest.mark.parametrize(
    "pair", [p for p in NEGATIVE if p.get("apart_only_by") != "time"], ids=lambda p: p["id"]
)
def test_negative_pairs_stay_apart_without_dates(pair: dict) -> None:
    """The text signals alone keep these apart; the time guard is not what saves them."""
    a, b = _input(10, pair["a"], dated=False), _input(20, pair["b"], dated=False)
    assert similarity(a, b) < DEFAULT_THRESHOLD, explain(a, b)


def test_pairs_that_rely_on_a_guard_say_so() -> None:
    by_id = {p["id"]: p for p in NEGATIVE}
    earnings = by_id["zh-earnings-quarters"]
    # Same template three months apart: alike in text, apart in time.
    assert (
        similarity(_input(1, earnings["a"], dated=False), _input(2, earnings["b"], dated=False))
        >= DEFAULT_THRESHOLD
    )
    assert explain(_input(1, earnings["a"]), _input(2, earnings["b"])).days_apart > 80
    for pid in ("en-release-notes-versions", "zh-release-notes-versions"):
        assert explain(_input(1, by_id[pid]["a"]), _input(2, by_id[pid]["b"])).version_conflict


def test_similarity_is_symmetric_and_bounded() -> None:
    for pair in PAIRS:
        a, b = _input(1, pair["a"]), _input(2, pair["b"])
        assert 0.0 <= similarity(a, b) == similarity(b, a) <= 1.0


def _chain() -> list[ClusterInput]:
    """A~B and B~C by overlapping paragraphs; A and C share too little to match directly."""
    by_id = {p["id"]: p for p in PAIRS}
    paras = [
        re.sub(r"\d", "", para)  # no numbers, so only the body overlap links them
        for pid in ("en-rewrite-acquisition", "en-repost-prefix")
        for para in by_id[pid]["a"]["text"].split("\n\n")
        if len(para) > 100
    ]
    return [
        ClusterInput(1, "Helix closes a deal", "\n\n".join(paras[0:8])),
        ClusterInput(2, "Weekly notes on infrastructure", "\n\n".join(paras[2:10])),
        ClusterInput(3, "Reading list: cloud spending", "\n\n".join(paras[4:12])),
    ]


def test_transitive_matches_form_one_story() -> None:
    a, b, c = _chain()
    assert similarity(a, b) >= DEFAULT_THRESHOLD and similarity(b, c) >= DEFAULT_THRESHOLD
    assert similarity(a, c) < DEFAULT_THRESHOLD
    for order in ([a, b, c], [c, a, b], [a, c, b]):
        assert assign_stories(order) == {1: 1, 2: 1, 3: 1}


def test_story_ids_are_stable_across_runs_and_orders() -> None:
    by_id = {p["id"]: p for p in PAIRS}
    copy = by_id["zh-zhuanzai-prefix"]
    rewrite = by_id["en-rewrite-acquisition"]
    other = by_id["en-layoffs-two-companies"]
    # Run 1 stores the re-post (id 50) and an unrelated item (id 60).
    first = assign_stories([_input(60, other["a"]), _input(50, copy["b"])])
    assert first == {50: 50, 60: 60}
    # Run 2: the original (a *smaller* id, 30) and a rewrite pair arrive; stored stories keep their ids.
    new = [_input(30, copy["a"]), _input(70, rewrite["a"]), _input(80, rewrite["b"]), _input(90, other["b"])]
    stored = [_input(50, copy["b"]), _input(60, other["a"])]
    rng = random.Random(3)
    results = []
    for _ in range(4):
        batch = stored + new
        rng.shuffle(batch)
        results.append(assign_stories(batch, existing=first))
    assert all(r == results[0] for r in results)
    assert results[0] == {30: 50, 50: 50, 60: 60, 70: 70, 80: 70, 90: 90}


def test_merging_two_stored_stories_keeps_the_older_id() -> None:
    a, b, c = _chain()
    # Stored runs had A and C apart; B arrives and bridges them.
    assert assign_stories([a, b, c], existing={1: 7, 3: 5}) == {1: 5, 2: 5, 3: 5}


def test_existing_story_of_several_items_stays_whole() -> None:
    by_id = {p["id"]: p for p in PAIRS}
    a = _input(1, by_id["en-layoffs-two-companies"]["a"])
    b = _input(2, by_id["en-layoffs-two-companies"]["b"])
    # An editor (or an earlier threshold) put them together: clustering does not split stored stories.
    assert assign_stories([a, b], existing={1: 1, 2: 1}) == {1: 1, 2: 1}


def test_story_index_is_incremental() -> None:
    by_id = {p["id"]: p for p in PAIRS}
    index = StoryIndex()
    assert index.add(_input(5, by_id["en-syndicated-trimmed"]["a"])) == 5
    assert index.add(_input(6, by_id["en-layoffs-two-companies"]["a"])) == 6
    assert index.add(_input(7, by_id["en-syndicated-trimmed"]["b"])) == 5
    assert index.add(_input(7, by_id["en-syndicated-trimmed"]["b"])) == 5  # adding twice changes nothing
    assert index.add(_input(3, by_id["zh-syndicated-trimmed"]["a"]), story_id=2) == 2
    assert index.add(_input(4, by_id["zh-syndicated-trimmed"]["b"])) == 2
    assert len(index) == 5 and 4 in index
    assert index.assignments() == {5: 5, 6: 6, 7: 5, 3: 2, 4: 2}


def test_threshold_is_validated_and_tunable() -> None:
    with pytest.raises(ValueError):
        StoryIndex(threshold=0)
    europa = next(p for p in POSITIVE if p["id"] == "en-real-europa-plumes")
    a, b = _input(1, europa["a"]), _input(2, europa["b"])
    assert assign_stories([a, b], threshold=0.9) == {1: 1, 2: 2}


def test_time_guard_spares_near_identical_copies() -> None:
    repost = next(p for p in POSITIVE if p["id"] == "en-repost-prefix")
    rewrite = next(p for p in POSITIVE if p["id"] == "en-rewrite-acquisition")
    later = timedelta(days=30)
    a, b = _input(1, repost["a"]), _input(2, repost["b"])
    b.published_at = a.published_at + later  # type: ignore[operator]
    assert similarity(a, b) >= DEFAULT_THRESHOLD  # the same text a month later: still the same piece
    c, d = _input(1, rewrite["a"]), _input(2, rewrite["b"])
    d.published_at = c.published_at + later  # type: ignore[operator]
    assert similarity(c, d) == 0.0  # a rewrite a month later is another event


def test_traditional_script_copy_is_the_same_story() -> None:
    opencc = pytest.importorskip("opencc")
    s2t = opencc.OpenCC("s2t")
    original = next(p for p in POSITIVE if p["id"] == "zh-zhuanzai-prefix")["a"]
    a = _input(1, original)
    b = ClusterInput(2, s2t.convert(original["title"]), s2t.convert(original["text"]), "zh", a.published_at)
    assert similarity(a, b) >= 0.9


def test_naive_and_aware_datetimes_compare() -> None:
    pair = POSITIVE[0]
    a, b = _input(1, pair["a"]), _input(2, pair["b"])
    a.published_at = a.published_at.astimezone(UTC).replace(tzinfo=None)  # type: ignore[union-attr]
    assert similarity(a, b) >= DEFAULT_THRESHOLD


def test_empty_and_tiny_items_do_not_merge() -> None:
    items = [
        ClusterInput(1, "", ""),
        ClusterInput(2, "", ""),
        ClusterInput(3, "Weekly digest", "Read more"),
        ClusterInput(4, "Weekly digest", "Read more"),
    ]
    assert assign_stories(items) == {1: 1, 2: 2, 3: 3, 4: 4}


# ---- no false merges at scale ----------------------------------------------------------------

_HEADER = "Subscribe to our daily newsletter for the latest news on AI, cloud and developer tools."
_FOOTER = next(p for p in NEGATIVE if p["id"] == "en-shared-footer")["a"]["text"].split("---", 1)[1]
_ZH_FOOTER = "\n\n".join(
    next(p for p in NEGATIVE if p["id"] == "zh-shared-footer")["a"]["text"].split("\n\n")[-6:]
)


def _synthetic(n: int, seed: int = 11) -> list[ClusterInput]:
    """`n` distinct articles drawn from the fixtures' vocabulary, sharing a header and long footers,
    all published in the same week."""
    rng = random.Random(seed)
    corpus = " ".join(side["text"] for p in PAIRS for side in (p["a"], p["b"]))
    words = sorted(set(re.findall(r"[A-Za-z]{3,}", corpus)))
    han = sorted(set(re.findall(r"[\u4e00-\u9fff]", corpus)))
    start = datetime(2025, 6, 2, tzinfo=UTC)
    items = []
    for i in range(n):
        if i % 2:
            paras = [
                "，".join("".join(rng.choices(han, k=rng.randint(6, 14))) for _ in range(8)) + "。"
                for _ in range(4)
            ]
            title = "".join(rng.choices(han, k=14))
            text = "\n\n".join(paras) + "\n\n" + _ZH_FOOTER
        else:
            paras = [" ".join(rng.choices(words, k=70)) + f" {rng.randint(100, 99999)}." for _ in range(4)]
            title = " ".join(rng.choices(words, k=8))
            text = _HEADER + "\n\n" + "\n\n".join(paras) + "\n\n" + _FOOTER
        items.append(ClusterInput(i + 1, title, text, None, start + timedelta(hours=i % 120)))
    return items


def test_distinct_articles_sharing_boilerplate_stay_distinct() -> None:
    items = _synthetic(300)
    stories = assign_stories(items)
    assert len(set(stories.values())) == 300


def test_copies_hidden_among_distinct_articles_are_found() -> None:
    items = _synthetic(200, seed=5)
    pair = next(p for p in POSITIVE if p["id"] == "zh-syndicated-trimmed")
    items += [_input(1001, pair["a"]), _input(1002, pair["b"])]
    stories = assign_stories(items)
    assert stories[1002] == 1001
    assert len(set(stories.values())) == 201


def test_a_body_without_shared_edges_is_the_body_of_the_text_without_them() -> None:
    """The pair test drops a site's shared header/footer by rebuilding the body from kept unit keys:
    the result is what the text without those paragraphs gives (its numbers too: the header's year
    no longer hides the body's "2025.")."""
    import numpy as np

    from curator import similarity

    core = ["Helios 发布 v2 芯片，功耗降低 37.5%，售价 $1,299，上市时间为 2025.",
            "The Helios v2 chip ships with 128GB memory and 6710 cores, the company said on Monday.",
            "分析师认为这款芯片将改变数据中心的格局，首批客户包括三家云厂商。"]
    framed = "\n".join(["本站 2025 年度声明：转载请注明出处", *core, "About us: Example Media, since 2019."])
    whole = similarity.item_features(ClusterInput(1, "Helios v2", framed))
    bare = similarity.item_features(ClusterInput(2, "Helios v2", "\n".join(core)))
    kept = similarity._kept_body(whole, 1, 1)
    assert np.array_equal(kept.shingles, bare.body.shingles) and np.array_equal(kept.bag, bare.body.bag)
    assert kept.facts == bare.body.facts and "2025" in kept.facts and "2025" not in whole.body.facts
    assert len(whole.body.shingles) > len(kept.shingles)


def test_features_made_in_worker_processes_give_the_same_stories(workspace, monkeypatch) -> None:
    """A large pool's features are made in the parser processes (pipeline._featurize); the stories are
    the ones this process finds, pinned stories and the copies among boilerplate included."""
    from curator import pipeline
    from curator.settings import load_settings
    from curator.similarity import item_features as similarity_features
    from curator.store import Store

    items = _synthetic(120, seed=7)
    for offset, pid in ((2001, "zh-syndicated-trimmed"), (2011, "en-shared-footer")):
        pair = next(p for p in PAIRS if p["id"] == pid)
        items += [_input(offset, pair["a"]), _input(offset + 1, pair["b"])]
    existing = {3: 3, 5: 3}  # a stored story of two items stays whole
    settings = load_settings(workspace, env={}, overrides={"extract": {"workers": 2}})
    monkeypatch.setattr(pipeline, "PARALLEL_FEATURES_MIN", 10)
    monkeypatch.setattr(pipeline, "FEATURES_BATCH", 7)  # batches spread over both workers, the last one short
    with Store(settings.db_path) as store:
        featurize = pipeline.Pipeline(settings, store)._featurize(len(items))
    assert featurize is not None
    here = assign_stories(items, existing, featurize=pipeline._features_here)
    there = assign_stories(items, existing, featurize=featurize)
    assert there == here
    assert there[2002] == 2001 and there[2012] != 2011 and there[5] == 3
    # Serials key this process's memos of kept bodies: made in two workers, they must still be distinct.
    made = list(featurize(items)) + [similarity_features(items[0])]
    assert len({doc.serial for doc in made}) == len(made)


def test_features_stay_in_process_for_a_small_pool_or_in_process_parsers(workspace) -> None:
    from curator import pipeline
    from curator.settings import load_settings
    from curator.store import Store

    for workers, items in ((2, pipeline.PARALLEL_FEATURES_MIN - 1), (0, 10_000), (1, 10_000)):
        settings = load_settings(workspace, env={}, overrides={"extract": {"workers": workers}})
        with Store(settings.db_path) as store:
            assert pipeline.Pipeline(settings, store)._featurize(items) is None, (workers, items)
