"""Read back: the editor's edits in drafts/issue-N.md survive `curator draft` and the board's regenerate.

Against the demo corpus (run once on loopback, copied per test), real SQLite, the real CLI.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curator import decisions, readback
from curator.cli import app
from curator.models import Action
from curator.settings import load_settings
from curator.store import Store

runner = CliRunner()


@pytest.fixture
def ws(demo_template, tmp_path) -> Path:
    target = tmp_path / "ws"
    shutil.copytree(demo_template, target)
    return target


def draft_path(ws: Path) -> Path:
    return ws / "drafts" / "issue-1.md"


def review(ws: Path) -> dict:
    return json.loads((ws / "drafts" / "issue-1.json").read_text(encoding="utf-8"))


def draft(ws: Path, *extra: str):
    return runner.invoke(app, ["draft", "--home", str(ws), *extra])


def story_par(text: str, sid: int) -> str:
    """The paragraph of story `sid` (its comment and its **title**：summary line)."""
    m = re.search(rf'<!-- curator story="{sid}" .*?-->\n[^\n]*\n', text)
    assert m, sid
    return m.group(0)


def order(ws: Path) -> dict[str, list[int]]:
    return {sec["id"]: [s["story"] for s in sec["stories"]] for sec in review(ws)["sections"]}


def test_an_unedited_draft_regenerates_exactly_and_its_hash_is_stored(ws):
    before = draft_path(ws).read_text(encoding="utf-8")
    with Store(ws / "data" / "curator.db") as store:
        assert "draft_written" in [r[0] for r in store.db.execute("SELECT name FROM schema_migrations")]
        assert store.written_draft(1).sha == readback.sha256(before)
    result = draft(ws)
    assert result.exit_code == 0, result.output
    assert draft_path(ws).read_text(encoding="utf-8") == before
    with Store(ws / "data" / "curator.db") as store:
        assert decisions.load(store, 1) == []


def test_an_edited_summary_and_title_are_kept(ws):
    data = review(ws)
    st = data["sections"][0]["stories"][1]
    path = draft_path(ws)
    text = path.read_text(encoding="utf-8")
    old = story_par(text, st["story"])
    new = re.sub(r"\*\*.*?\*\*：.*?(\[\^)", "**编辑改写的标题**：编辑重写的摘要，一句话。\\1", old, count=1)
    path.write_text(text.replace(old, new), encoding="utf-8")

    result = draft(ws)
    assert result.exit_code == 0, result.output
    out = path.read_text(encoding="utf-8")
    assert "**编辑改写的标题**：编辑重写的摘要，一句话。" in out and st["summary"] not in out
    with Store(ws / "data" / "curator.db") as store:
        edits = [d for d in decisions.load(store, 1) if d.action is Action.EDIT]
    assert [(d.story_id, d.title, d.summary) for d in edits] == [(st["story"], "编辑改写的标题", "编辑重写的摘要，一句话。")]
    # and again: the file is now what curator wrote, nothing more is read back
    assert draft(ws).exit_code == 0
    assert path.read_text(encoding="utf-8") == out


def _edit_structure(ws: Path) -> tuple[int, int, list[int], str]:
    """Delete one story, move one to the next section, swap two, add a paragraph of the editor's own."""
    data = review(ws)
    first, second = data["sections"][0], data["sections"][1]
    path = draft_path(ws)
    text = path.read_text(encoding="utf-8")
    gone = first["stories"][0]["story"]
    moved = first["stories"][1]
    a, b = second["stories"][0]["story"], second["stories"][1]["story"]
    text = text.replace(story_par(text, gone), "")
    moved_par = story_par(text, moved["story"])
    text = text.replace(moved_par, "")
    pa, pb = story_par(text, a), story_par(text, b)
    text = text.replace(pa, "\x00").replace(pb, pa).replace("\x00", pb)  # b before a
    note = "编者按：这一条我们会持续跟进，欢迎读者来信补充。"
    text = text.replace(pa, pa + "\n" + note + "\n")  # after story a
    text = text.replace(f"## {second['title']}\n", f"## {second['title']}\n\n" + moved_par, 1)  # at the top
    path.write_text(text, encoding="utf-8")
    return gone, moved["story"], [moved["story"], b, a], note


def _check_structure(ws: Path, gone: int, moved: int, head: list[int], note: str) -> None:
    text = draft_path(ws).read_text(encoding="utf-8")
    sections = order(ws)
    second = list(sections)[1]
    assert gone not in [s for ids in sections.values() for s in ids]
    assert sections[second][:3] == head
    assert text.count(note) == 1
    # the note stands right after story a's paragraph
    assert story_par(text, head[2]) + "\n" + note in text


def test_drop_move_reorder_and_an_added_paragraph_survive_draft_and_the_board(ws):
    gone, moved, head, note = _edit_structure(ws)
    result = draft(ws)
    assert result.exit_code == 0, result.output
    _check_structure(ws, gone, moved, head, note)
    with Store(ws / "data" / "curator.db") as store:
        acts = [d.action for d in decisions.load(store, 1)]
        assert Action.DROP in acts and Action.MOVE in acts and Action.REORDER in acts
        assert Action.EDIT not in acts  # untouched stories (English ones carry a label) are not "edited"
        assert [b.text for b in store.editor_blocks(1)] == [note]
    # the board's regenerate, and a second plain draft, keep all of it
    _regenerate(ws)
    _check_structure(ws, gone, moved, head, note)
    assert draft(ws).exit_code == 0
    _check_structure(ws, gone, moved, head, note)


def test_the_editor_removing_their_own_paragraph_is_read_back_too(ws):
    *_, note = _edit_structure(ws)
    assert draft(ws).exit_code == 0
    path = draft_path(ws)
    path.write_text(path.read_text(encoding="utf-8").replace(note + "\n\n", ""), encoding="utf-8")
    assert draft(ws).exit_code == 0
    assert note not in path.read_text(encoding="utf-8")


def test_an_unmappable_edit_refuses_and_force_keeps_a_copy(ws):
    path = draft_path(ws)
    text = path.read_text(encoding="utf-8")
    st = review(ws)["sections"][0]["stories"][0]
    edited = re.sub(rf'<!-- curator story="{st["story"]}" .*?-->\n', "", text, count=1)  # comment gone, text stays
    path.write_text(edited, encoding="utf-8")

    refused = draft(ws)
    assert refused.exit_code == 65
    msg = refused.output
    assert str(path) in msg and f"story {st['story']}" in msg and "--force" in msg
    assert path.read_text(encoding="utf-8") == edited  # nothing written

    with pytest.raises(readback.DraftEditedError, match="--force"):  # the board says the same
        _regenerate(ws)
    assert path.read_text(encoding="utf-8") == edited

    forced = draft(ws, "--force")
    assert forced.exit_code == 0, forced.output
    aside = ws / "drafts" / "issue-1.edited-1.md"
    assert aside.read_text(encoding="utf-8") == edited
    assert path.read_text(encoding="utf-8") == text  # regenerated as curator writes it
    # a second forced run keeps the earlier copy and makes another one
    path.write_text(edited, encoding="utf-8")
    assert draft(ws, "--force").exit_code == 0
    assert aside.exists() and (ws / "drafts" / "issue-1.edited-2.md").read_text(encoding="utf-8") == edited


@pytest.mark.parametrize("damage", ["front_matter", "footnote", "garbled"])
def test_other_unmappable_edits_refuse(ws, damage):
    path = draft_path(ws)
    text = path.read_text(encoding="utf-8")
    if damage == "front_matter":
        edited = text.replace("draft: true", "draft: true\nseries: 周刊", 1)
    elif damage == "footnote":
        edited = text.replace("\n[^1]: ", "\n[^1]: （编辑补充） ", 1)
    else:
        edited = "这不是 curator 的草稿了。\n"
    path.write_text(edited, encoding="utf-8")
    result = draft(ws)
    assert result.exit_code != 0 and str(path) in result.output and "--force" in result.output
    assert path.read_text(encoding="utf-8") == edited


def test_publish_counts_the_boards_and_the_files_decisions(ws):
    data = review(ws)
    first = data["sections"][0]["stories"]
    with Store(ws / "data" / "curator.db") as store:
        decisions.record(store, 1, "edit", story_id=first[0]["story"], summary="编辑在看板上改写的摘要。")
        decisions.record(store, 1, "drop", story_id=first[1]["story"])
    assert runner.invoke(app, ["review", "--help"]).exit_code == 0

    _regenerate(ws)
    # the second drop is made in the file
    path = draft_path(ws)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(story_par(text, first[2]["story"]), ""), encoding="utf-8")
    assert draft(ws).exit_code == 0
    result = runner.invoke(app, ["publish", str(path), "--home", str(ws)])
    assert result.exit_code == 0, result.output
    assert "edited 1, dropped 2" in result.output


def test_a_draft_from_before_the_hash_is_kept_aside_once(ws):
    path = draft_path(ws)
    text = path.read_text(encoding="utf-8")
    edited = text.replace("本期内容由", "本期（编辑改过）内容由", 1)
    path.write_text(edited, encoding="utf-8")
    with Store(ws / "data" / "curator.db") as store, store.transaction():
        store.db.execute("UPDATE issues SET draft_sha=NULL, draft_render=NULL")
    assert draft(ws).exit_code == 0
    assert (ws / "drafts" / "issue-1.edited-1.md").read_text(encoding="utf-8") == edited
    assert path.read_text(encoding="utf-8") == text
    assert draft(ws).exit_code == 0 and not (ws / "drafts" / "issue-1.edited-2.md").exists()


def test_an_english_story_keeps_its_label_and_an_edit_to_it_is_read_back(ws):
    settings = load_settings(ws, env={})
    label = settings.publication.label_english
    path = draft_path(ws)
    text = path.read_text(encoding="utf-8")
    m = re.search(rf'(<!-- curator story="(\d+)" [^\n]*-->\n\*\*)([^\n]*?){re.escape(label)}\*\*', text)
    assert m, "the demo has an English story"
    sid = int(m.group(2))
    path.write_text(text.replace(m.group(0), f"{m.group(1)}编辑译的标题{label}**"), encoding="utf-8")
    assert draft(ws).exit_code == 0
    out = path.read_text(encoding="utf-8")
    assert f"**编辑译的标题{label}**" in out
    with Store(ws / "data" / "curator.db") as store:
        assert [(d.story_id, d.title) for d in decisions.load(store, 1)] == [(sid, "编辑译的标题")]


def test_paragraphs_above_the_intro_and_under_a_heading_stay_where_they_were(ws):
    path = draft_path(ws)
    text = path.read_text(encoding="utf-8")
    second = review(ws)["sections"][1]
    top, under = "编辑寄语：本期提前一天发出。", "    本节由特约编辑挑选（缩进照原样保留）。"
    intro = "本期内容由 curator 自动收集整理，经编辑审阅后发布。"
    text = text.replace(intro, f"{top}\n\n{intro}", 1)
    text = text.replace(f"## {second['title']}\n", f"## {second['title']}\n\n{under}\n", 1)
    path.write_text(text, encoding="utf-8")
    assert draft(ws).exit_code == 0
    out = path.read_text(encoding="utf-8")
    assert f"---\n\n{top}\n\n{intro}" in out
    assert f"## {second['title']}\n\n{under}\n\n<!-- curator story=" in out
    assert draft(ws).exit_code == 0 and path.read_text(encoding="utf-8") == out


def test_the_list_style_reads_back_an_edited_title_summary_and_a_drop(ws):
    toml = ws / "config" / "curator.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('template = "footnotes"', 'template = "list"', 1),
                    encoding="utf-8")
    assert draft(ws).exit_code == 0  # unedited: redrawn in the list style
    path = draft_path(ws)
    text = path.read_text(encoding="utf-8")
    stories = review(ws)["sections"][0]["stories"]
    edited_st, gone = stories[0], stories[1]
    # the title line and the summary paragraph of the first story
    m = re.search(rf'(<!-- curator story="{edited_st["story"]}" [^\n]*-->\n\d+、\[)[^\]]*(\]\([^)]*\)[^\n]*\n\n)'
                  rf'{re.escape(edited_st["summary"])}', text)
    assert m, text[:1500]
    text = text.replace(m.group(0), f"{m.group(1)}编辑改写的标题{m.group(2)}编辑重写的摘要。")
    g = re.search(rf'<!-- curator story="{gone["story"]}" [^\n]*-->\n.*?\n\n(?=<!-- curator|## )', text, re.DOTALL)
    text = text.replace(g.group(0), "")
    path.write_text(text, encoding="utf-8")
    result = draft(ws)
    assert result.exit_code == 0, result.output
    out = path.read_text(encoding="utf-8")
    assert "编辑改写的标题" in out and "编辑重写的摘要。" in out and gone["title"] not in out
    with Store(ws / "data" / "curator.db") as store:
        got = {(d.action, d.story_id) for d in decisions.load(store, 1)}
    assert got == {(Action.EDIT, edited_st["story"]), (Action.DROP, gone["story"])}


def _regenerate(ws):
    """The board's regenerate, on the store the board holds."""
    from curator.review.board import regenerate

    settings = load_settings(ws, env={})
    with Store(settings.db_path) as store:
        return regenerate(settings, store)
