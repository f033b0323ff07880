"""Run-level faults (RELIABILITY rows 32–35): kill -9 at every checkpoint, SIGTERM, two runs at once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.canary import CANARY
from tests.fake_openai import FakeOpenAI
from tests.sites import NewsSite

REPO = Path(__file__).resolve().parents[1]
TERMINAL = {"enriched", "drafted", "skipped", "failed"}


def cli(*args: str, env_extra: dict[str, str] | None = None, harness: tuple[str, int] | None = None,
        wait: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str] | subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CURATOR_", "OPENAI_"))}
    env.update(env_extra or {})
    env["PYTHONPATH"] = str(REPO)
    cmd = [sys.executable, "-m", "curator.cli", *args]
    if harness:
        cmd = [sys.executable, str(REPO / "tests" / "crash_harness.py"), harness[0], str(harness[1]), "--", *args]
    if not wait:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    # Output goes to files, not pipes: a killed run's parser processes may outlive it by a moment,
    # and a pipe would make the test wait for them.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.run(cmd, env=env, stdout=out, stderr=err, text=True, timeout=timeout, cwd=REPO, check=False)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())
    assert CANARY not in done.stdout + done.stderr
    return done


def db_rows(workspace: Path) -> dict[str, object]:
    db = sqlite3.connect(workspace / "data" / "curator.db")
    try:
        states = [r[0] for r in db.execute("SELECT state FROM items")]
        urls = [r[0] for r in db.execute("SELECT canonical_url FROM items")]
        enrichments = db.execute("SELECT COUNT(*) FROM enrichments").fetchone()[0]
        runs = [r for r in db.execute("SELECT command, status FROM runs ORDER BY id")]
        return {"states": states, "urls": urls, "enrichments": enrichments, "runs": runs}
    finally:
        db.close()


def assert_nothing_lost(workspace: Path, n: int) -> None:
    rows = db_rows(workspace)
    assert len(rows["urls"]) == n and len(set(rows["urls"])) == n  # no lost, no duplicate rows
    assert set(rows["states"]) <= TERMINAL, rows["states"]
    assert rows["enrichments"] == rows["states"].count("enriched") + rows["states"].count("drafted")


@pytest.mark.parametrize(("checkpoint", "after_n"), [("save_page", 4), ("validators", 1), ("save_article", 3)])
def test_kill_9_at_a_checkpoint_then_one_normal_run_loses_nothing(workspace, checkpoint, after_n):
    with NewsSite(n_articles=10) as site:
        site.write_sources(workspace)
        crashed = cli("collect", "--home", str(workspace), "--provider", "offline", harness=(checkpoint, after_n))
        assert crashed.returncode == 137, crashed.stderr[-2000:]
        again = cli("collect", "--home", str(workspace), "--provider", "offline")
        assert again.returncode == 0, again.stderr[-2000:]
        assert_nothing_lost(workspace, 10)
        runs = db_rows(workspace)["runs"]
        assert runs[0] == ("collect", "crashed") and runs[-1] == ("collect", "ok")  # the next run marked it


def test_kill_9_mid_llm_call_never_charges_twice_for_stored_answers(workspace):
    with NewsSite(n_articles=8) as site, FakeOpenAI() as fake:
        site.write_sources(workspace)
        env = {"OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": fake.base_url}
        crashed = cli("collect", "--home", str(workspace), harness=("llm_call", 3), env_extra=env)
        assert crashed.returncode == 137
        stored_before = db_rows(workspace)["enrichments"]
        sent_before = len(fake.requests)
        again = cli("collect", "--home", str(workspace), env_extra=env)
        assert again.returncode == 0, again.stderr[-2000:]
        assert_nothing_lost(workspace, 8)
        # Only items without a stored answer are sent again.
        assert len(fake.requests) - sent_before == 8 - stored_before
        third = cli("collect", "--home", str(workspace), env_extra=env)
        assert third.returncode == 0 and len(fake.requests) - sent_before == 8 - stored_before


def test_kill_9_mid_draft_write_leaves_no_partial_draft(workspace):
    with NewsSite(n_articles=6) as site:
        site.write_sources(workspace)
        assert cli("collect", "--home", str(workspace), "--provider", "offline").returncode == 0
        crashed = cli("draft", "--home", str(workspace), "--date", "2026-11-20", harness=("draft_write", 1))
        assert crashed.returncode == 137
        drafts = workspace / "drafts"
        assert not (drafts / "issue-1.md").exists()
        leftovers = list(drafts.glob(".*.tmp")) if drafts.exists() else []
        # A killed writer may leave its hidden temp file, never a half-written draft under the real name.
        again = cli("draft", "--home", str(workspace), "--date", "2026-11-20")
        assert again.returncode == 0, again.stderr
        text = (drafts / "issue-1.md").read_text()
        assert text.startswith("---\n") and "[^1]: [" in text and text.rstrip().endswith(")")
        assert len(leftovers) <= 1


def test_a_second_run_exits_75_while_the_first_holds_the_lock_and_kill_9_frees_it(workspace):
    with NewsSite(n_articles=6, page_delay_s=1.0) as site:
        site.write_sources(workspace)
        first = cli("collect", "--home", str(workspace), "--provider", "offline", wait=False)
        lock = workspace / "data" / "curator.lock"
        for _ in range(100):
            if lock.exists() and lock.read_text():
                break
            time.sleep(0.05)
        second = cli("collect", "--home", str(workspace), "--provider", "offline")
        assert second.returncode == 75
        assert f"pid {first.pid}" in second.stderr and "another curator run holds the lock" in second.stderr
        first.kill()  # SIGKILL
        first.wait(timeout=10)
        site.page_delay_s = 0
        third = cli("collect", "--home", str(workspace), "--provider", "offline")
        assert third.returncode == 0, third.stderr[-2000:]
        assert_nothing_lost(workspace, 6)


def test_sigterm_stops_taking_work_marks_the_run_interrupted_and_exits_143(workspace):
    with NewsSite(n_articles=12, page_delay_s=0.4) as site:
        site.write_sources(workspace)
        proc = cli("collect", "--home", str(workspace), "--provider", "offline", wait=False)
        for _ in range(200):  # wait until fetching has begun
            if any(k.startswith("/a/") for k in site.hits):
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 143, err[-2000:]
        assert "SIGTERM" in err
        rows = db_rows(workspace)
        assert rows["runs"][-1] == ("collect", "interrupted")
        assert "discovered" in rows["states"]  # work left for the next run
        site.page_delay_s = 0
        again = cli("collect", "--home", str(workspace), "--provider", "offline")
        assert again.returncode == 0
        assert_nothing_lost(workspace, 12)
        assert sum(site.hits.get(f"/a/{i}", 0) for i in range(12)) <= 12 + 2  # in-flight ones at most refetched


def test_run_deadline_leaves_items_waiting_and_the_next_run_finishes(workspace):
    with NewsSite(n_articles=10, page_delay_s=0.3) as site:
        site.write_sources(workspace)
        late = cli("collect", "--home", str(workspace), "--provider", "offline",
                   env_extra={"CURATOR_RUN__DEADLINE_S": "0.5"})
        assert late.returncode == 143 and "run deadline" in late.stderr
        site.page_delay_s = 0
        assert cli("collect", "--home", str(workspace), "--provider", "offline").returncode == 0
        assert_nothing_lost(workspace, 10)
