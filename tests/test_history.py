"""Archive, publish and learning: a round trip on the bundled corpus that changes the next draft."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from curator import learning
from curator.cli import app
from curator.demo import DEMO_AS_OF, run_demo
from curator.pipeline import Pipeline
from curator.settings import load_settings
from curator.store import Store

runner = CliRunner()
BLOCK = re.compile(r"<!-- curator (.*?) -->\n(.*?)\n", re.DOTALL)


@pytest.fixture
def drafted(tmp_path):
    run_demo(tmp_path, env={}, echo=lambda s: None)
    return tmp_path


def stories_of(path):
    text = path.read_text(encoding="utf-8")
    out = []
    for m in BLOCK.finditer(text):
        fields = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        out.append((int(fields["story"]), m.group(0)))
    return text, out


def review_sources(workspace, story_id):
    review = json.loads((workspace / "drafts" / "issue-1.json").read_text())
    return next(s["sources"][0] for sec in review["sections"] for s in sec["stories"] if s["story"] == story_id)


def test_archive_import_keeps_stories_that_already_ran_out_of_the_draft(drafted):
    text, _stories = stories_of(drafted / "drafts" / "issue-1.md")
    review = json.loads((drafted / "drafts" / "issue-1.json").read_text())
    first = review["sections"][0]["stories"][0]
    past = drafted / "past"
    past.mkdir()
    (past / "issue-7.md").write_text(
        f'---\ntitle: "In The Loop 科技周刊 #7：旧闻"\ndate: 2025-11-20\n---\n\n## AI\n\n'
        f"**旧闻**：说明。[^1]\n\n[^1]: [某媒体：旧闻]({first['urls'][0]}?utm_source=old)\n", encoding="utf-8")
    result = runner.invoke(app, ["archive", "import", str(past), "--home", str(drafted)])
    assert result.exit_code == 0 and "1 issues read, 1 new links" in result.output
    runner.invoke(app, ["draft", "--home", str(drafted), "--date", "2026-11-23"])
    text = (drafted / "drafts" / "issue-1.md").read_text()
    assert first["urls"][0] not in text and f'story="{first["story"]}"' not in text
    review = json.loads((drafted / "drafts" / "issue-1.json").read_text())
    assert review["already_ran"] == {str(first["items"][0]): 7}


def test_publish_round_trip_records_decisions_archives_and_changes_the_next_draft(drafted):
    path = drafted / "drafts" / "issue-1.md"
    text, stories = stories_of(path)
    (dropped_id, dropped_block), (edited_id, edited_block) = stories[0], stories[1]
    edited_new = re.sub(r"：.*?(\[\^)", r"：编辑重写的摘要。\1", edited_block, count=1)
    text = text.replace(dropped_block, "").replace(edited_block, edited_new)
    text = text.replace("\n## ", "\n**编辑自己找的**：一篇好文。[^99]\n\n## ", 1) + "\n[^99]: [好文](https://handpicked.example.org/post)\n"
    path.write_text(text, encoding="utf-8")

    result = runner.invoke(app, ["publish", str(path), "--home", str(drafted)])
    assert result.exit_code == 0, result.output
    assert "dropped 1" in result.output and "edited 1" in result.output and "added by hand 1" in result.output

    settings = load_settings(drafted, env={})
    with Store(settings.db_path) as store:
        actions = dict(store.db.execute("SELECT story_id, action FROM decisions WHERE story_id IS NOT NULL").fetchall())
        assert actions[dropped_id] == "published:drop" and actions[edited_id] == "published:edit"
        assert store.db.execute("SELECT state FROM issues WHERE number=1").fetchone()[0] == "published"
        published = store.state_counts()["published"]
        assert published == len(stories) - 1
        assert store.db.execute("SELECT COUNT(*) FROM archive WHERE url LIKE 'https://handpicked%'").fetchone()[0] == 1
        weights = learning.load_weights(store)
        rows = {r["key"]: (r["kept"], r["dropped"]) for r in store.db.execute("SELECT * FROM weights WHERE kind='source'")}
        dropped_source = review_sources(drafted, dropped_id)
        assert rows[dropped_source][1] == 1
        clean = [k for k, (kept, dropped) in rows.items() if dropped == 0]
        assert clean and weights[("source", dropped_source)] < weights[("source", clean[0])]

        # The next issue never proposes a published story again.
        nxt = Pipeline(settings, store).draft(as_of=DEMO_AS_OF)
        assert nxt.issue.number == 2
        chosen = {s.id for s in nxt.issue.stories}
        published_ids = {sid for sid, _ in stories if sid != dropped_id}
        assert not chosen & published_ids
        assert chosen  # runners-up and the dropped story are still available

    status = runner.invoke(app, ["status", "--home", str(drafted)])
    assert "learned weights" in status.output


def test_publishing_twice_is_refused(drafted):
    path = drafted / "drafts" / "issue-1.md"
    assert runner.invoke(app, ["publish", str(path), "--home", str(drafted)]).exit_code == 0
    again = runner.invoke(app, ["publish", str(path), "--home", str(drafted)])
    assert again.exit_code == 1 and "already published" in again.output


def test_learning_can_be_switched_off(drafted):
    (drafted / "config" / "zz.toml").write_text("[learning]\nenabled = false\n")
    path = drafted / "drafts" / "issue-1.md"
    text, stories = stories_of(path)
    path.write_text(text.replace(stories[0][1], ""), encoding="utf-8")
    assert runner.invoke(app, ["publish", str(path), "--home", str(drafted)]).exit_code == 0
    with Store(drafted / "data" / "curator.db") as store:
        assert learning.load_weights(store) == {}


def test_looking_back_lists_issues_of_the_same_week_in_earlier_years(drafted):
    past = drafted / "past"
    past.mkdir()
    for number, day in ((30, "2025-11-20"), (31, "2025-11-27")):  # 2025-11-20 is in the same ISO week
        (past / f"issue-{number}.md").write_text(
            f'---\ntitle: "In The Loop 科技周刊 #{number}：旧闻"\ndate: {day}\n---\n\n## AI\n\n'
            f"**旧闻**：说明。[^1]\n\n[^1]: [某媒体：旧闻 {number}](https://old.example.com/{number})\n", encoding="utf-8")
    assert runner.invoke(app, ["archive", "import", str(past), "--home", str(drafted)]).exit_code == 0
    (drafted / "config" / "zz.toml").write_text("[publication]\nlooking_back = true\n")
    assert runner.invoke(app, ["draft", "--home", str(drafted), "--date", "2026-11-19"]).exit_code == 0
    text = (drafted / "drafts" / "issue-1.md").read_text(encoding="utf-8")
    assert "## 往年回顾" in text and "第 30 期（2025-11-20）" in text
    assert "30" in text.split("往年回顾")[-1] and "第 31 期" not in text
