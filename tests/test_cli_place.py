"""#12 §3: running in the wrong place, or on nothing, is an error.

A command finds its workspace as git finds a repository (this folder or the nearest parent holding
config/curator.toml; --home / CURATOR_HOME win) and refuses (78) outside one instead of running on the
built-in defaults and leaving a data/ folder behind; `draft` on fewer stories than `drafts.min_stories`
refuses (66), writes nothing and takes no issue number, unless --allow-empty.
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curator.cli import app
from tests.sites import NewsSite

runner = CliRunner()


def cli(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def bare(tmp_path, monkeypatch):
    """A folder that is no workspace (nor is any folder above it), as the current folder; no CURATOR_HOME."""
    here = tmp_path / "somewhere"
    here.mkdir()
    assert not any((p / "config" / "curator.toml").exists() for p in (here, *here.parents))
    monkeypatch.delenv("CURATOR_HOME", raising=False)
    monkeypatch.chdir(here)

    def serve(*a: object, **kw: object) -> None:  # `review` outside a workspace must not start a board (it never returns)
        raise AssertionError("the review board was started outside a workspace")

    monkeypatch.setattr("curator.review.board.serve", serve)
    return here


OUTSIDE = [
    ["collect"],
    ["collect", "--provider", "offline"],
    ["add", "https://example.com/post", "--no-process"],
    ["draft"],
    ["draft", "--allow-empty"],
    ["status"],
    ["status", "--json"],
    ["lint", "d.md"],
    ["publish", "d.md"],
    ["review", "--no-open"],
    ["archive", "import", "."],
    ["sources", "add", "http://127.0.0.1:9/"],  # refused before any request (loopback only)
    ["sources", "check"],
    ["sources", "export-opml"],
    ["sources", "import-opml", "feeds.opml"],
]


@pytest.mark.parametrize("args", OUTSIDE, ids=[" ".join(a) for a in OUTSIDE])
def test_a_command_outside_a_workspace_refuses_78_says_what_to_do_and_makes_nothing(bare, args):
    (bare / "d.md").write_text("---\ntitle: t\n---\n")
    (bare / "feeds.opml").write_text('<opml version="2.0"><body><outline xmlUrl="https://e.example/f"/></body></opml>')
    before = sorted(p.name for p in bare.iterdir())
    result = cli(*args)
    assert result.exit_code == 78, result.output
    out = result.output
    assert "not in a curator workspace" in out and "config/curator.toml" in out
    assert "curator init" in out and "--home" in out and "CURATOR_HOME" in out
    assert "Traceback" not in out
    assert sorted(p.name for p in bare.iterdir()) == before  # no data/, no config/, no drafts/


def test_the_workspace_is_found_in_the_nearest_parent_like_git(bare):
    assert cli("init").exit_code == 0  # init needs no workspace: it makes one here
    deep = bare / "drafts" / "notes" / "deeper"
    deep.mkdir(parents=True)
    os.chdir(deep)  # the `bare` fixture's monkeypatch.chdir restores the folder afterwards
    result = cli("draft", "--date", "2026-11-23", "--allow-empty")
    assert result.exit_code == 0, result.output
    assert (bare / "drafts" / "issue-1.md").is_file() and (bare / "data" / "curator.db").is_file()
    assert sorted(p.name for p in deep.iterdir()) == []  # nothing made where the command was typed
    status = cli("status", "--json")
    assert status.exit_code == 0, status.output


def test_home_and_curator_home_win_over_the_folder_it_runs_in(tmp_path, monkeypatch):
    here, other = tmp_path / "here", tmp_path / "other"
    for ws in (here, other):
        assert cli("init", "--home", ws).exit_code == 0
    monkeypatch.delenv("CURATOR_HOME", raising=False)
    monkeypatch.chdir(here)
    assert cli("draft", "--home", other, "--date", "2026-11-23", "--allow-empty").exit_code == 0
    assert (other / "drafts" / "issue-1.md").is_file() and not (here / "drafts" / "issue-1.md").exists()
    monkeypatch.setenv("CURATOR_HOME", str(other))
    assert cli("draft", "--date", "2026-11-23", "--allow-empty", "--number", "2").exit_code == 0
    assert (other / "drafts" / "issue-2.md").is_file() and not (here / "drafts" / "issue-2.md").exists()
    assert not (here / "data" / "curator.db").exists()


@pytest.mark.parametrize("how", ["--home", "CURATOR_HOME"])
@pytest.mark.parametrize("command", ["status", "collect", "draft"])
def test_a_missing_home_given_either_way_is_not_created(bare, monkeypatch, how, command):
    missing = bare / "missing"
    if how == "--home":
        result = cli(command, "--home", missing)
    else:
        monkeypatch.setenv("CURATOR_HOME", str(missing))
        result = cli(command)
    assert result.exit_code == 78, result.output
    assert "no such folder" in result.output and "curator init" in result.output
    assert list(bare.iterdir()) == []  # neither the folder nor a data/ anywhere


# -- draft on nothing ---------------------------------------------------------------------------------------


def _issue_numbers(home: Path) -> list[int]:
    db = home / "data" / "curator.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as con:
        return [r[0] for r in con.execute("SELECT number FROM issues ORDER BY number")]


def _drafts(home: Path) -> list[str]:
    folder = home / "drafts"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_draft_on_an_empty_store_refuses_writes_nothing_and_keeps_the_number(workspace):
    result = cli("draft", "--home", workspace, "--date", "2026-11-23")
    assert result.exit_code == 66, result.output
    out = " ".join(result.output.split())
    assert "0 stories in the window 2026-11-16 – 2026-11-23" in out
    assert "drafts.min_stories = 1" in out and "nothing written" in out and "issue number 1 is still free" in out
    assert "curator collect" in out and "--allow-empty" in out and "window" in out
    assert _drafts(workspace) == [] and _issue_numbers(workspace) == []
    as_json = cli("draft", "--home", workspace, "--date", "2026-11-23", "--json")
    assert as_json.exit_code == 66 and _drafts(workspace) == []
    # --allow-empty writes it anyway, and it is still issue 1: the refusals took no number
    empty = cli("draft", "--home", workspace, "--date", "2026-11-23", "--allow-empty")
    assert empty.exit_code == 0, empty.output
    assert _drafts(workspace) == ["issue-1.json", "issue-1.md"] and _issue_numbers(workspace) == [1]


def test_draft_honours_min_stories(workspace):
    with NewsSite(n_articles=3) as site:
        site.write_sources(workspace)
        collected = cli("collect", "--home", workspace, "--provider", "offline")
    assert collected.exit_code == 0, collected.output
    (workspace / "config" / "zz-min.toml").write_text("[drafts]\nmin_stories = 50\n")
    refused = cli("draft", "--home", workspace, "--date", "2026-11-14")  # NewsSite's articles: Nov 10-12
    assert refused.exit_code == 66, refused.output
    found = int(re.search(r"(\d+) stor(?:y|ies) in the window", refused.output).group(1))
    assert 1 <= found < 50 and "drafts.min_stories = 50" in refused.output
    assert _drafts(workspace) == [] and _issue_numbers(workspace) == []

    (workspace / "config" / "zz-min.toml").write_text(f"[drafts]\nmin_stories = {found}\n")
    ok = cli("draft", "--home", workspace, "--date", "2026-11-14")
    assert ok.exit_code == 0, ok.output
    assert _drafts(workspace) == ["issue-1.json", "issue-1.md"] and _issue_numbers(workspace) == [1]
    written = (workspace / "drafts" / "issue-1.md").read_bytes()

    # Regenerating the open draft under a raised bar refuses too, and leaves the draft as it was.
    (workspace / "config" / "zz-min.toml").write_text(f"[drafts]\nmin_stories = {found + 1}\n")
    again = cli("draft", "--home", workspace)  # no --date: the open draft's own window
    assert again.exit_code == 66, again.output
    assert "issue #1's draft is left as it was" in " ".join(again.output.split())
    assert (workspace / "drafts" / "issue-1.md").read_bytes() == written
    assert cli("draft", "--home", workspace, "--allow-empty").exit_code == 0

    # min_stories = 0 turns the check off
    (workspace / "config" / "zz-min.toml").write_text("[drafts]\nmin_stories = 0\n")
    assert cli("draft", "--home", workspace, "--number", "2", "--date", "2020-01-01").exit_code == 0
