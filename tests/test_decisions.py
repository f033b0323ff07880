"""Decisions: recorded in the store, replayed on a draft (pure logic), and applied when the draft is rewritten."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from curator import decisions, select
from curator.decisions import Action
from curator.errors import CuratorError
from curator.models import Enrichment, Issue, IssueSection, Item, ItemState, Story
from curator.pipeline import Pipeline
from curator.settings import load_settings
from curator.store import Store

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def story(sid: int, section: str, score: int, title: str | None = None) -> Story:
    enr = Enrichment(title=title or f"标题{sid}", summary=f"摘要{sid}。", section=section, score=score, backend="offline")
    item = Item(id=sid, canonical_url=f"https://e.test/{sid}", url=f"https://e.test/{sid}", state=ItemState.ENRICHED,
                discovered_at=NOW, enrichment=enr, story_id=sid)
    return Story(id=sid, lead=item)


def issue() -> Issue:
    return Issue(number=7, title="t", date=NOW, sections=[
        IssueSection(id="ai", title="AI", stories=[story(1, "ai", 90), story(2, "ai", 80), story(3, "ai", 70)]),
        IssueSection(id="dev", title="Dev", stories=[story(4, "dev", 60)]),
    ], runners_up=[story(5, "ai", 50), story(6, "dev", 40)])


def D(n: int, action: str, **kw) -> decisions.Decision:
    return decisions.Decision(id=n, issue_number=7, action=Action(action), created_at=NOW, **kw)


def ids(iss: Issue) -> dict[str, list[int]]:
    return {sec.id: [s.id for s in sec.stories] for sec in iss.sections}


def test_no_decisions_leaves_the_issue_as_selected():
    base = issue()
    assert ids(decisions.apply(base, [], base.runners_up)) == ids(base)


def test_drop_move_reorder_swap_and_edit():
    base = issue()
    out = decisions.apply(base, [
        D(1, "drop", story_id=2),
        D(2, "move", story_id=3, section="dev"),
        D(3, "reorder", story_id=4, position=1),
        D(4, "swap_in", story_id=5, section="ai", position=0),
        D(5, "edit", story_id=1, title="新标题"),
        D(6, "edit", story_id=1, summary="编辑写的摘要。"),
    ], base.runners_up)
    assert ids(out) == {"ai": [5, 1], "dev": [3, 4]}
    lead = out.sections[0].stories[1].lead.enrichment
    assert (lead.title, lead.summary) == ("新标题", "编辑写的摘要。")
    assert [s.id for s in out.runners_up] == [6]  # the swapped-in one left the runners-up
    # copies only: the input issue and its models are untouched
    assert ids(base) == {"ai": [1, 2, 3], "dev": [4]}
    assert base.sections[0].stories[0].lead.enrichment.title == "标题1"


def test_latest_decision_wins_and_keep_restores_in_place():
    base = issue()
    review = decisions.replay(base, [D(1, "drop", story_id=2), D(2, "keep", story_id=2)], base.runners_up)
    assert ids(review.issue)["ai"] == [1, 2, 3]
    assert review.dropped == []
    review = decisions.replay(base, [D(1, "swap_in", story_id=6), D(2, "drop", story_id=6)], base.runners_up)
    assert 6 not in {s.id for s in review.issue.stories}


def test_swap_in_place_of_a_story_takes_its_slot():
    base = issue()
    out = decisions.apply(base, [D(1, "drop", story_id=2), D(2, "swap_in", story_id=6, section="ai", position=1)],
                          base.runners_up)
    assert ids(out)["ai"] == [1, 6, 3]


def test_add_waits_until_the_item_is_a_story():
    base = issue()
    review = decisions.replay(base, [D(1, "add", item_id=99, url="https://e.test/99")], base.runners_up)
    assert [d.action for d in review.pending] == [Action.ADD]
    extra = story(99, "dev", 10)
    out = decisions.apply(base, [D(1, "add", item_id=99, url="https://e.test/99")], [*base.runners_up, extra])
    assert ids(out)["dev"] == [4, 99]  # editor's adds bypass score and quota


def test_edit_of_the_headline_retitles_the_issue(tmp_path):
    settings = load_settings(tmp_path, env={})
    base = issue()
    out = decisions.apply(base, [D(1, "edit", story_id=1, title="编辑改过的头条")], base.runners_up, settings=settings)
    assert "编辑改过的头条" in out.title


def test_record_and_load_roundtrip(store_target):
    with Store(store_target) as store:
        decisions.record(store, 7, "drop", story_id=2)
        decisions.record(store, 7, Action.EDIT, story_id=1, summary="  两行\n摘要  ")
        decisions.record(store, 8, "keep", story_id=1)
    with Store(store_target) as store:
        found = decisions.load(store, 7)
    assert [(d.action, d.story_id) for d in found] == [(Action.DROP, 2), (Action.EDIT, 1)]
    assert found[1].summary == "两行 摘要"  # one Markdown line, whatever the form sent


@pytest.mark.parametrize("kw", [
    {"action": "explode", "story_id": 1},
    {"action": "drop"},
    {"action": "move", "story_id": 1},
    {"action": "reorder", "story_id": 1},
    {"action": "edit", "story_id": 1, "summary": "   "},
    {"action": "add"},
])
def test_record_refuses_incomplete_decisions(store_target, kw):
    with Store(store_target) as store, pytest.raises(CuratorError) as err:
        decisions.record(store, 7, **kw)
    assert err.value.reason == "bad_decision"


# ---- against the demo corpus: a regenerated draft follows the stored decisions ----------------
@pytest.fixture
def demo_ws(demo_template, tmp_path) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(demo_template, ws)
    return ws


def test_regenerated_draft_applies_the_stored_decisions(demo_ws):
    from curator.demo import DEMO_AS_OF

    settings = load_settings(demo_ws, env={})
    with Store(settings.db_path) as store:
        items = store.items(states=[ItemState.ENRICHED, ItemState.DRAFTED])
        base = select.select(items, settings, number=1, as_of=DEMO_AS_OF, draft_ids=store.issue_item_ids(1))
        dropped, runner, edited = base.sections[0].stories[1], base.runners_up[0], base.sections[1].stories[0]
        decisions.record(store, 1, "drop", story_id=dropped.id)
        decisions.record(store, 1, "swap_in", story_id=runner.id, section="research")
        decisions.record(store, 1, "edit", story_id=edited.id, summary="编辑重写的摘要，一句话。")
        path = Pipeline(settings, store).draft(number=1, as_of=DEMO_AS_OF).draft_path
        placed = store.issue_item_ids(1)
    text = path.read_text(encoding="utf-8")
    assert dropped.lead.enrichment.title not in text
    assert runner.lead.enrichment.title in text
    assert "编辑重写的摘要，一句话。" in text and edited.lead.enrichment.summary not in text
    assert runner.lead.id in placed and dropped.lead.id not in placed
    # A second regeneration (the runner-up is now `drafted`) gives the same draft.
    with Store(settings.db_path) as store:
        path2 = Pipeline(settings, store).draft(number=1, as_of=DEMO_AS_OF).draft_path
    assert path2.read_text(encoding="utf-8") == text


def test_load_ignores_what_publish_recorded(store_target):
    with Store(store_target) as store:
        decisions.record(store, 7, "drop", story_id=2)
        with store.transaction():
            store.db.execute("INSERT INTO decisions(issue_number, story_id, action, created_at) "
                             "VALUES (7, 3, 'published:keep', '2026-11-23T00:00:00+00:00')")
        decisions.record(store, 7, "swap_in", story_id=5, section="ai")
        decisions.record(store, 7, "drop", story_id=5)
        decisions.record(store, 7, "drop", story_id=4)
        decisions.record(store, 7, "keep", story_id=4)
        assert [d.action for d in decisions.load(store, 7)] == ["drop", "swap_in", "drop", "drop", "keep"]
        assert decisions.dropped_items(store, 7) == [2, 5]


def test_a_board_regenerated_draft_can_be_published(demo_ws):
    from curator.demo import DEMO_AS_OF
    from curator.publish import publish

    settings = load_settings(demo_ws, env={})
    with Store(settings.db_path) as store:
        items = store.items(states=[ItemState.ENRICHED, ItemState.DRAFTED])
        base, _ = select.select_for(store, settings, items, number=1, as_of=DEMO_AS_OF)
        dropped, runner = base.sections[0].stories[0], base.runners_up[0]
        decisions.record(store, 1, "drop", story_id=dropped.id)
        decisions.record(store, 1, "swap_in", story_id=runner.id, section="ai")
        path = Pipeline(settings, store).draft(number=1, as_of=DEMO_AS_OF).draft_path
        review = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        assert runner.id in {s["story"] for sec in review["sections"] for s in sec["stories"]}
        result = publish(settings, store, path)
        assert runner.id in result.kept and dropped.id not in result.kept
        assert decisions.dropped_items(store, 1) == [dropped.id]
