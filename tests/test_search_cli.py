"""`curator search` on the demo workspace after its issue was published: "did we already cover X?"."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curator.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def published(demo_template, tmp_path_factory) -> Path:
    """The demo's issue #1 published as drafted; the runners-up stay in the pool."""
    ws = tmp_path_factory.mktemp("search") / "ws"
    shutil.copytree(demo_template, ws)
    result = runner.invoke(app, ["publish", str(ws / "drafts" / "issue-1.md"), "--home", str(ws)])
    assert result.exit_code == 0, result.output
    return ws


def stories(ws: Path) -> list[dict]:
    review = json.loads((ws / "drafts" / "issue-1.json").read_text(encoding="utf-8"))
    return [s for sec in review["sections"] for s in sec["stories"]]


def search(ws: Path, *args: str):
    return runner.invoke(app, ["search", "--home", str(ws), *args])


def test_a_published_story_is_found_with_the_issue_it_ran_in(published):
    first = stories(published)[0]
    word = re.findall(r"[\u4e00-\u9fff]{4,}", first["title"])[0][:4]  # a Chinese run of its title
    result = search(published, word)
    assert result.exit_code == 0, result.output
    head = result.output.splitlines()[0]
    assert first["title"] in head and "already ran in #1 (2026-11-23)" in head
    assert f"«{word}" in result.output or "«" in result.output  # the match is marked in the snippet
    assert "published" in result.output.splitlines()[1]


def test_json_shape(published):
    first = stories(published)[0]
    result = search(published, first["title"], "--json", "--limit", "5")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["query"] == first["title"] and data["count"] == len(data["hits"]) >= 1
    hit = data["hits"][0]
    assert set(hit) == {"id", "archive_id", "title", "url", "state", "sources", "section", "tags", "date", "ran_in",
                        "rank", "snippet"}
    assert hit["id"] == first["items"][0] and hit["ran_in"] == {"number": 1, "date": "2026-11-23"}
    assert hit["state"] == "published" and hit["sources"] == first["sources"][:1] or hit["sources"]
    text = hit["snippet"]["text"]
    assert hit["snippet"]["marks"] and all(0 <= s < e <= len(text) for s, e in hit["snippet"]["marks"])


def test_filters_on_the_command_line(published):
    every = json.loads(search(published, "模型", "--json", "--limit", "100").stdout)["hits"]
    ran = {h["id"] for h in every if h["ran_in"]}
    fresh = {h["id"] for h in every if not h["ran_in"]}
    assert ran and fresh  # the demo's pool has both published stories and runners-up about models
    only_ran = json.loads(search(published, "模型", "--published", "--json", "--limit", "100").stdout)["hits"]
    never = json.loads(search(published, "模型", "--unpublished", "--json", "--limit", "100").stdout)["hits"]
    assert {h["id"] for h in only_ran} == ran and {h["id"] for h in never} == fresh
    enriched = json.loads(search(published, "模型", "--state", "enriched", "--json", "--limit", "100").stdout)["hits"]
    assert enriched and all(h["state"] == "enriched" for h in enriched)
    source = every[0]["sources"][0]
    by_source = json.loads(search(published, "模型", "--source", source, "--json", "--limit", "100").stdout)["hits"]
    assert by_source and all(source in h["sources"] for h in by_source)
    later = json.loads(search(published, "模型", "--since", "2026-11-19", "--json", "--limit", "100").stdout)["hits"]
    assert later and all(h["date"] >= "2026-11-19" for h in later) and len(later) < len(every)
    assert len(json.loads(search(published, "模型", "--json", "--limit", "2").stdout)["hits"]) == 2


def test_nothing_found_is_an_answer_not_an_error(published):
    result = search(published, "zzyzx量子泡沫")
    assert result.exit_code == 0 and "no item matches" in result.output


@pytest.mark.parametrize(("args", "says"), [
    (['rust "unclosed'], "no closing quote"),
    (["OR"], "OR needs a word"),
    (["--", "-only"], "only excluded words"),
    (["模型", "--since", "23/11/2026"], "--since"),
    (["模型", "--since", "2026-11-20", "--until", "2026-11-01"], "after --until"),
    (["模型", "--state", "nosuch"], "--state"),
])
def test_bad_input_exits_2_with_the_reason_and_no_traceback(published, args, says):
    result = search(published, *args)
    assert result.exit_code == 2, result.output
    assert says in result.output and "Traceback" not in result.output


def test_search_where_nothing_was_collected_says_so_and_makes_no_store(workspace, tmp_path):
    result = search(workspace, "模型")
    assert result.exit_code == 78 and "nothing collected yet" in result.output and "Traceback" not in result.output
    assert not list(workspace.rglob("*.db"))
    missing = search(tmp_path / "nowhere", "模型")
    assert missing.exit_code == 78 and "no such folder" in missing.output


def test_a_link_of_an_imported_past_issue_is_found_with_its_issue(published):
    past = published / "past"
    past.mkdir(exist_ok=True)
    (past / "issue-7.md").write_text(
        '---\ntitle: "In The Loop 科技周刊 #7：旧闻"\ndate: 2025-11-20\n---\n\n## AI\n\n'
        "**拜占庭容错的十年**：说明。[^1]\n\n[^1]: [某媒体：拜占庭容错的十年](https://old.example/bft)\n", encoding="utf-8")
    assert runner.invoke(app, ["archive", "import", str(past), "--home", str(published)]).exit_code == 0
    result = search(published, "拜占庭")
    assert result.exit_code == 0, result.output
    assert "already ran in #7 (2025-11-20)" in result.output and "archive" in result.output
    data = json.loads(search(published, "拜占庭", "--json").stdout)
    [hit] = data["hits"]
    assert hit["id"] is None and hit["url"] == "https://old.example/bft" and hit["ran_in"]["number"] == 7
    assert json.loads(search(published, "拜占庭", "--unpublished", "--json").stdout)["hits"] == []
