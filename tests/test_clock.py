"""The injected clock: every window follows run.now (CURATOR_RUN__NOW), so nothing depends on today's date."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from curator.cli import app
from curator.demo import DEMO_AS_OF, run_demo
from curator.errors import ConfigError
from curator.settings import load_settings

runner = CliRunner()
# A year after the demo's week: the suite as it will run next year (no test reads the wall clock).
YEAR_AHEAD = "2027-11-24T09:00:00+00:00"


def test_demo_status_and_draft_pass_with_the_clock_a_year_ahead(tmp_path, monkeypatch):
    monkeypatch.setenv("CURATOR_RUN__NOW", YEAR_AHEAD)  # what the CLI commands read from the environment
    home = str(tmp_path)
    run_demo(tmp_path, env={"CURATOR_RUN__NOW": YEAR_AHEAD}, echo=lambda s: None)
    first = (tmp_path / "drafts" / "issue-1.md").read_text(encoding="utf-8")
    assert "date: 2026-11-23" in first and first.count("[^") >= 20  # the demo drafts its own pinned week

    status = runner.invoke(app, ["status", "--home", home, "--json"])
    assert status.exit_code == 0, status.output
    report = json.loads(status.output)
    assert report["next_issue_window"]["end"].startswith("2026-11-23")  # the open draft's week
    assert sum(report["next_issue_candidates"].values()) >= 10
    # this_week counts the demo's items inside that window, per source
    assert sum(s["items_week"] for s in report["sources"]) >= 20

    again = runner.invoke(app, ["draft", "--home", home])  # no --date: the open draft's own window
    assert again.exit_code == 0, again.output
    assert (tmp_path / "drafts" / "issue-1.md").read_text(encoding="utf-8") == first

    # A new issue with no --date ends its window on the injected clock, not on the machine's date.
    nxt = runner.invoke(app, ["draft", "--home", home, "--number", "2", "--allow-empty"])  # an empty week
    assert nxt.exit_code == 0, nxt.output
    assert "date: 2027-11-24" in (tmp_path / "drafts" / "issue-2.md").read_text(encoding="utf-8")
    assert "no enriched stories in the window" in nxt.output  # the corpus week is a year back
    later = json.loads(runner.invoke(app, ["status", "--home", home, "--json"]).output)
    assert later["next_issue_window"]["end"].startswith("2027-11-24")
    assert sum(later["next_issue_candidates"].values()) == 0


def test_run_now_is_read_from_config_and_environment(workspace):
    assert load_settings(workspace, env={}).now() == DEMO_AS_OF  # the test workspace's pinned week
    pinned = load_settings(workspace, env={"CURATOR_RUN__NOW": "2030-01-02T03:04:05"})
    assert pinned.now() == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)  # no zone given: UTC
    assert pinned.origins["run.now"] == "env:CURATOR_RUN__NOW"


def test_a_malformed_clock_is_a_config_error_naming_the_setting(workspace):
    with pytest.raises(ConfigError) as info:
        load_settings(workspace, env={"CURATOR_RUN__NOW": "next tuesday"})
    assert "run.now" in str(info.value) and "env:CURATOR_RUN__NOW" in str(info.value)
    result = runner.invoke(app, ["status", "--home", str(workspace)], env={"CURATOR_RUN__NOW": "next tuesday"})
    assert result.exit_code == 78 and "run.now" in result.output and "Traceback" not in result.output
