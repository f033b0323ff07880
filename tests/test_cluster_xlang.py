"""Cross-language stories: a Chinese and an English report of one event are one story.

Pinned by labelled zh/en pairs (`fixtures/cluster/xlang_pairs.json`, side `a` Chinese, side `b`
English): every positive merges, no hard negative does — same company, same week, another event;
one product family in two versions; a background figure or a product page both repeat.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from curator import xlang
from curator.cluster import DEFAULT_THRESHOLD, ClusterInput, StoryIndex, assign_stories, explain, similarity

PAIRS = json.loads((Path(__file__).parent / "fixtures" / "cluster" / "xlang_pairs.json").read_text("utf-8"))[
    "pairs"
]
POSITIVE = [p for p in PAIRS if p["kind"] == "positive"]
NEGATIVE = [p for p in PAIRS if p["kind"] == "negative"]


def _input(item_id: int, side: dict, *, dated: bool = True, **extra: object) -> ClusterInput:
    when = datetime.fromisoformat(side["published_at"]) if dated else None
    links = tuple(side.get("links", ()))
    return ClusterInput(item_id, side["title"], side["text"], None, when, links=links, **extra)  # type: ignore[arg-type]


def test_the_labelled_set_is_big_enough_and_really_bilingual() -> None:
    assert len(POSITIVE) >= 12 and len(NEGATIVE) >= 12
    for pair in PAIRS:
        zh, en = pair["a"], pair["b"]
        assert xlang.script(zh["title"] + zh["text"]) and not xlang.script(en["title"] + en["text"]), pair[
            "id"
        ]
        for side in (zh, en):  # short articles: a title and two to four sentences
            sentences = [
                s for s in re.split(r"(?<=[。！？])|(?<=[.!?])\s+(?=[A-Z])", side["text"]) if s.strip()
            ]
            assert 2 <= len(sentences) <= 5, (pair["id"], sentences)


@pytest.mark.parametrize("pair", POSITIVE, ids=lambda p: p["id"])
def test_positive_pairs_are_one_story(pair: dict) -> None:
    zh, en = _input(10, pair["a"]), _input(20, pair["b"])
    assert similarity(zh, en) >= DEFAULT_THRESHOLD, explain(zh, en)
    assert assign_stories([en, zh]) == {10: 10, 20: 10}


@pytest.mark.parametrize("pair", NEGATIVE, ids=lambda p: p["id"])
@pytest.mark.parametrize("dated", [True, False], ids=["dated", "undated"])
def test_hard_negatives_stay_apart(pair: dict, dated: bool) -> None:
    """Undated too: the text evidence keeps them apart, not only the time guard."""
    zh, en = _input(10, pair["a"], dated=dated), _input(20, pair["b"], dated=dated)
    assert similarity(zh, en) < DEFAULT_THRESHOLD, explain(zh, en)
    assert assign_stories([zh, en]) == {10: 10, 20: 20}


def test_all_pairs_together_make_exactly_the_labelled_stories() -> None:
    """One week's worth at once: every positive pair joins, and nothing joins across pairs."""
    items, expected = [], {}
    for n, pair in enumerate(POSITIVE):
        zh, en = _input(100 + 2 * n, pair["a"], dated=False), _input(101 + 2 * n, pair["b"], dated=False)
        items += [zh, en]
        expected |= {zh.item_id: zh.item_id, en.item_id: zh.item_id}
    assert assign_stories(items) == expected


def test_negatives_do_not_merge_with_each_other_either() -> None:
    items = [
        _input(200 + i, side, dated=False)
        for i, side in enumerate(s for p in NEGATIVE for s in (p["a"], p["b"]))
    ]
    assert len(set(assign_stories(items).values())) == len(items)


def test_the_hard_negatives_are_hard() -> None:
    """Each negative shares something that a single kind of evidence would take for one event."""
    for pair in NEGATIVE:
        cross = explain(_input(1, pair["a"]), _input(2, pair["b"])).cross
        assert cross is not None
        assert cross.names >= 1 or cross.quantities >= 1 or cross.links >= 1, pair["id"]
    by_id = {p["id"]: p for p in NEGATIVE}
    v3_r1 = explain(
        _input(1, by_id["xl-deepseek-v3-vs-r1"]["a"]), _input(2, by_id["xl-deepseek-v3-vs-r1"]["b"])
    )
    assert v3_r1.cross and v3_r1.cross.quantities >= 2 and v3_r1.cross.names >= 2  # 671B, 37B; DeepSeek
    m5_m4 = explain(
        _input(1, by_id["xl-apple-m5-vs-m4-max"]["a"]), _input(2, by_id["xl-apple-m5-vs-m4-max"]["b"])
    )
    assert m5_m4.cross and m5_m4.cross.product_conflict and m5_m4.cross.quantities >= 3


# ---- the evidence, one kind at a time --------------------------------------------------------


@pytest.mark.parametrize(
    ("zh", "en"),
    [
        ("融资 66 亿美元", "raised $6.6 billion"),
        ("估值 1570 亿美元", "a $157 billion valuation"),
        ("提速 1.5 倍", "a 1.5x speed-up"),
        ("提速 2.3 倍", "2.3 times the throughput"),
        ("占比 38%", "38 percent of the data"),
        ("6710 亿参数", "671B parameters"),
        ("100 万 token 的上下文", "a one million token context"),
        ("显存 96GB", "96 GB of memory"),
        ("功耗 700 瓦", "a 700 W board"),
        ("每月 2000 次补全", "2,000 completions a month"),
        ("營收 351 億美元", "revenue of $35.1 billion"),  # Traditional script
        ("提升 11 个百分点", "up 11 percentage points"),
    ],
)
def test_figures_are_normalised_across_languages(zh: str, en: str) -> None:
    shared = xlang.quantities(zh) & xlang.quantities(en)
    assert len(shared) == 1, (xlang.quantities(zh), xlang.quantities(en))


def test_years_and_small_counts_are_no_evidence() -> None:
    assert xlang.quantities("2025 年 11 月 16 日，三家公司") == frozenset()
    assert xlang.quantities("in November 2025, 16 companies") == frozenset()


def test_latin_names_in_chinese_text_are_found() -> None:
    names = xlang.names("深度求索发布 DeepSeek-V3，在 H800 上训练，Sam Altman 表示祝贺。AI 行业")
    assert {"deepseek", "v3", "h800", "sam", "altman"} <= names
    assert "ai" not in names  # every story has it


def test_one_product_family_in_two_versions_conflicts() -> None:
    v3 = xlang.features("DeepSeek-V3 发布", "正文")
    r1 = xlang.features("DeepSeek-R1 is out", "Body text.")
    same = xlang.features("DeepSeek-V3 is out", "Body text.")
    assert xlang.compare(v3, r1).product_conflict
    assert not xlang.compare(v3, same).product_conflict
    assert xlang.products("OpenAI raises $6.6 billion") == frozenset()  # a figure is not a version
    assert xlang.products("Anthropic launches Claude 4") == {("claude", "4")}


def test_shared_link_must_name_a_page() -> None:
    home = xlang.features("标题", "正文", links=("https://openai.com/",))
    other = xlang.features("Title", "Text.", links=("https://www.openai.com",))
    assert xlang.compare(home, other).links == 0
    paper = xlang.features("标题", "正文", links=("https://arxiv.org/abs/2506.01234",))
    version = xlang.features("Title", "Text.", links=("https://arxiv.org/abs/2506.01234v2?utm_source=x",))
    assert xlang.compare(paper, version).links == 1


def test_a_link_every_page_carries_is_no_evidence() -> None:
    rust = next(p for p in POSITIVE if p["id"] == "xl-rust-1-85")
    zh, en = _input(1, rust["a"]), _input(2, rust["b"])
    assert explain(zh, en).cross.links == 1  # type: ignore[union-attr]
    assert assign_stories([zh, en]) == {1: 1, 2: 1}
    # Five more pages (a newsletter's "what's new in Rust" box) link the same release notes.
    link = rust["b"]["links"][0]
    when = datetime.fromisoformat(rust["b"]["published_at"])
    boxes = [
        ClusterInput(
            10 + i,
            f"Weekly notes {i}",
            f"Topic number {i} of the week, unrelated.",
            None,
            when,
            links=(link,),
        )
        for i in range(5)
    ]
    assert assign_stories([zh, en, *boxes])[2] == 2


def test_a_translated_title_from_triage_is_evidence() -> None:
    """With an LLM, triage's English title of a Chinese item counts as one more kind of evidence;
    without it (offline) the same pair, stripped of its shared link, stays apart."""
    pair = next(p for p in POSITIVE if p["id"] == "xl-copilot-free")
    zh = ClusterInput(1, pair["a"]["title"], pair["a"]["text"], None, None)
    en = ClusterInput(2, pair["b"]["title"], pair["b"]["text"], None, None)
    assert similarity(zh, en) < DEFAULT_THRESHOLD
    zh.title_en = "GitHub Copilot is now free: 2,000 completions and 50 chats a month in VS Code"
    assert explain(zh, en).cross.title_en >= xlang.TITLE_EN_MIN  # type: ignore[union-attr]
    assert similarity(zh, en) >= DEFAULT_THRESHOLD
    zh.title_en = "GitHub Copilot adds an agent mode"  # a translation of another headline
    assert similarity(zh, en) < DEFAULT_THRESHOLD


def test_the_time_guard_applies_across_languages() -> None:
    pair = POSITIVE[0]
    zh, en = _input(1, pair["a"]), _input(2, pair["b"])
    en.published_at = zh.published_at + timedelta(days=30)  # type: ignore[operator]
    assert similarity(zh, en) == 0.0


def test_a_cross_language_pair_is_found_among_many_items() -> None:
    """No shingle can match across languages: the index proposes such pairs by shared figures."""
    start = datetime(2025, 5, 1, tzinfo=UTC)
    noise = [
        ClusterInput(
            i,
            f"Report {i}: market notes",
            f"Company {i} said revenue grew {i % 40 + 3}% to ${i}.{i % 9} billion. Shipments reached {1000 + i} units.",
            None,
            start,
        )
        for i in range(1, 301)
    ]
    pair = next(p for p in POSITIVE if p["id"] == "xl-tsmc-us-investment")  # titles share no word
    index = StoryIndex()
    for item in noise:
        index.add(item)
    index.add(_input(1001, pair["a"], dated=False))
    assert index.add(_input(1002, pair["b"], dated=False)) == 1001
    stories = index.assignments()
    assert sorted(i for i, story in stories.items() if story == 1001) == [1001, 1002]


def test_bare_numbers_and_sentence_case_words_are_weak_evidence() -> None:
    """Seen on real pages: a Chinese note quoting English and listing ratings, and an English
    product review with ratings, shared seven bare decimals and words like "Where" and "Long"."""
    zh = ClusterInput(
        1,
        "关于月亮的一百个小故事",
        "本文收集了关于月亮的小故事。书中写道：Where the moon rises, long nights follow. Long ago, where "
        "the river bends, people told stories. 豆瓣评分分别是 7.4、7.8、8.3、8.5 和 9.1，另一本是 7.2。"
        "最后一章是纪实故事，讲述一个普通人的一生。",
    )
    en = ClusterInput(
        2,
        "The best standing desk converters, tested",
        "Where should you start? Long desks need long converters, and where you sit matters. "
        "Our ratings: the first model scored 7.4, the second 7.8, then 8.3, 8.5 and 9.1; the budget pick 7.2. "
        "Full details of every test are below.",
    )
    cross = explain(zh, en).cross
    assert cross is not None and cross.quantities >= 6
    assert cross.names == 0  # "Where"/"Long" are words here, lower-case elsewhere in the same text
    assert similarity(zh, en) < DEFAULT_THRESHOLD
