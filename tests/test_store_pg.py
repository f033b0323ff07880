"""The store on Postgres: claims under concurrency, the run lock across processes, a server restart,
and `curator collect` + `draft` giving the same draft as on SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curator.cli import app
from curator.errors import StoreError
from curator.models import Candidate, ItemState, Page
from curator.store import Store
from tests.sites import NewsSite

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECRET = "pw-never-shown-7Q"


def with_password(url: str) -> str:
    """The test server trusts loopback, so a password in the URL is never checked, only carried: any place
    that echoes it would show it."""
    return url.replace("postgresql://curator@", f"postgresql://curator:{SECRET}@")


def fill(target: Path | str, n: int) -> None:
    with Store(target, clock=lambda: T0) as s:
        for i in range(n):
            url = f"https://ex.com/{i}"
            s.add_candidate(Candidate(url=url, title=f"t{i}", source="feed"), url)


CLAIMER = textwrap.dedent("""
    import json, sys
    from datetime import UTC, datetime
    from curator.models import ItemState
    from curator.store import Store
    target, worker, out = sys.argv[1], sys.argv[2], sys.argv[3]
    got = []
    with Store(target, clock=lambda: datetime(2026, 11, 23, 12, 0, tzinfo=UTC)) as s:
        while batch := s.claim_items(ItemState.DISCOVERED, 3, worker):
            got.extend(w.id for w in batch)
    open(out, "w").write(json.dumps(got))
""")


def test_two_processes_claiming_at_once_never_get_the_same_item(store_target, tmp_path):
    fill(store_target, 120)
    script = tmp_path / "claimer.py"
    script.write_text(CLAIMER)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, str(script), str(store_target), f"w{k}", str(tmp_path / f"w{k}.json")],
                              env=env) for k in range(3)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0]
    got = [json.loads((tmp_path / f"w{k}.json").read_text()) for k in range(3)]
    everything = [i for ids in got for i in ids]
    assert len(everything) == len(set(everything)) == 120  # each item handed out once, none left behind
    with Store(store_target, clock=lambda: T0) as s:
        held = s.claims()
    assert {i: f"w{k}" for k, ids in enumerate(got) for i in ids} == held


def test_a_claim_lasts_its_lease_then_goes_to_another_worker(store_target):
    fill(store_target, 4)
    now = [T0]
    with Store(store_target, clock=lambda: now[0]) as s:
        first = s.claim_items(ItemState.DISCOVERED, 2, "a", lease_s=60)
        assert [w.id for w in first] == [1, 2]
        assert [w.id for w in s.claim_items(ItemState.DISCOVERED, 10, "b", lease_s=60)] == [3, 4]
        assert s.claim_items(ItemState.DISCOVERED, 10, "c") == []  # all held
        assert s.claim_item(1, ItemState.DISCOVERED, "c") is None  # another worker's: a task does nothing
        assert s.claim_item(1, ItemState.DISCOVERED, "a", lease_s=60) is not None  # redelivered to its holder
        now[0] = T0 + timedelta(seconds=61)  # worker a died: its lease ran out
        assert [w.id for w in s.claim_items(ItemState.DISCOVERED, 10, "c")] == [1, 2, 3, 4]


def test_an_item_that_moves_on_or_is_released_is_no_longer_claimed(store_target):
    fill(store_target, 3)
    with Store(store_target, clock=lambda: T0) as s:
        s.claim_items(ItemState.DISCOVERED, 3, "a")
        s.save_page(1, Page(url="https://ex.com/0", final_url="https://ex.com/0", status=200, text="<p>x</p>"))
        assert set(s.claims()) == {2, 3}
        assert s.claim_item(1, ItemState.DISCOVERED, "b") is None  # done: not at that state any more
        assert s.claim_item(1, ItemState.FETCHED, "b") is not None  # the next stage's worker takes it
        assert s.release_claims("a", [2]) == 1
        assert s.claims() == {1: "b", 3: "a"}
        assert s.release_claims("a") == 1 and s.claims() == {1: "b"}


def test_spend_totals_and_section_counts_read_the_same_on_postgres(pg_url):
    from curator.models import Enrichment

    with Store(pg_url, clock=lambda: T0) as s:
        for i, cost in enumerate([0.1, 0.2]):
            s.log_llm_call(run_id=1, item_id=i, prompt_sha="p", schema_hash="h", model="m", input_tokens=10,
                           output_tokens=5, cost_usd=cost, latency_ms=3, outcome="ok")
        totals = s.llm_totals()
        assert (totals.calls, totals.input_tokens, totals.output_tokens) == (2, 20, 10)
        assert isinstance(totals.input_tokens, int) and totals.cost_usd == pytest.approx(0.3)
        item_id, _ = s.add_candidate(Candidate(url="https://ex.com/a", title="a", source="f",
                                               published_at=T0), "https://ex.com/a")
        enrichment = Enrichment(title="标题", summary="摘要。", section="ai", score=4, backend="offline")
        s.save_enrichment(item_id, enrichment, "h")
        assert s.stories_per_section(T0 - timedelta(days=1), T0 + timedelta(days=1), 3) == {"ai": 1}
        assert s.stories_per_section(T0 - timedelta(days=1), T0 + timedelta(days=1), 5) == {}


LOCK_HOLDER = textwrap.dedent("""
    import sys
    from curator.settings import load_settings
    from curator.runlock import run_lock
    settings = load_settings(sys.argv[1], env={"CURATOR_STORE__URL": sys.argv[2]})
    with run_lock(settings, "collect"):
        print("held", flush=True)
        sys.stdin.readline()
""")


def test_a_second_collect_on_another_process_exits_75_while_the_advisory_lock_is_held(workspace, pg_url, tmp_path):
    url = with_password(pg_url)
    script = tmp_path / "holder.py"
    script.write_text(LOCK_HOLDER)
    holder = subprocess.Popen([sys.executable, str(script), str(workspace), url], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = CliRunner().invoke(app, ["collect", "--home", str(workspace)], env={"CURATOR_STORE__URL": url})
        assert result.exit_code == 75, result.output
        assert "another curator run holds the run lock" in result.output
        assert "`curator collect`" in result.output  # who holds it, as the server knows it
        assert SECRET not in result.output and "Traceback" not in result.output
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0
    # freed when its holder ended: the next run goes ahead
    result = CliRunner().invoke(app, ["status", "--home", str(workspace)], env={"CURATOR_STORE__URL": url})
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output and "curator:***@" in result.output


def test_a_postgres_restart_is_a_clear_store_error_and_the_next_call_works(pg_server, pg_url, workspace):
    url = with_password(pg_url)
    with Store(url, clock=lambda: T0) as s:
        s.add_candidate(Candidate(url="https://ex.com/a", title="a", source="f"), "https://ex.com/a")
        pg_server.stop()
        try:
            with pytest.raises(StoreError) as err:
                s.count_items()
            assert "lost the connection to the Postgres store" in str(err.value)
            assert "run the command again" in str(err.value) and SECRET not in str(err.value)
            down = CliRunner().invoke(app, ["status", "--home", str(workspace)], env={"CURATOR_STORE__URL": url})
            assert down.exit_code == 74, down.output
            assert "cannot connect to the Postgres store at postgresql://curator:***@127.0.0.1" in down.output
            assert SECRET not in down.output and "Traceback" not in down.output
        finally:
            pg_server.start()
        assert s.count_items() == 1  # the same Store connects again: nothing was lost
    up = CliRunner().invoke(app, ["status", "--home", str(workspace), "--json"], env={"CURATOR_STORE__URL": url})
    assert up.exit_code == 0, up.output
    assert json.loads(up.output)["items"] == {"discovered": 1}


def test_config_show_and_errors_never_echo_the_store_password(workspace, pg_url):
    url = with_password(pg_url)
    shown = CliRunner().invoke(app, ["config", "show", "--home", str(workspace)], env={"CURATOR_STORE__URL": url})
    assert shown.exit_code == 0 and SECRET not in shown.output
    assert "store.url" in shown.output
    bad = CliRunner().invoke(app, ["status", "--home", str(workspace)],
                             env={"CURATOR_STORE__URL": f"mysql://u:{SECRET}@h/db"})
    assert bad.exit_code != 0 and "store.url" in bad.output and "postgresql://" in bad.output
    assert SECRET not in bad.output


# ---- end to end: the same draft from SQLite and from Postgres ------------------------------------------
def run(args: list[str], env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(app, args, env=env or {})
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    return result.stdout


def offline_workspace(workspace: Path, site: NewsSite, name: str) -> Path:
    ws = workspace / name  # inside this test's own folder: never shared with another test
    ws.mkdir()
    (ws / "config").mkdir()
    for f in (workspace / "config").iterdir():
        (ws / "config" / f.name).write_bytes(f.read_bytes())
    (ws / "prompts").symlink_to(workspace / "prompts")
    site.write_sources(ws)
    (ws / "config" / "zz-offline.toml").write_text('[llm]\nprovider = "offline"\ntriage = false\n')
    return ws


def draft_text(ws: Path, env: dict[str, str] | None = None) -> str:
    run(["draft", "--home", str(ws), "--date", "2026-11-23"], env)
    [path] = sorted((ws / "drafts").glob("*.md"))
    return path.read_text(encoding="utf-8")


def test_collect_and_draft_on_postgres_give_the_same_draft_as_on_sqlite(workspace, pg_url):
    env = {"CURATOR_STORE__URL": with_password(pg_url)}
    with NewsSite(n_articles=8) as site:
        lite, pg = offline_workspace(workspace, site, "lite"), offline_workspace(workspace, site, "pg")
        run(["collect", "--home", str(lite)])
        out = run(["collect", "--home", str(pg)], env)
    assert SECRET not in out
    assert not (pg / "data" / "curator.db").exists()  # everything went to Postgres
    expected = draft_text(lite)
    assert expected.count("/a/") >= 1
    assert draft_text(pg, env) == expected


def test_migrate_to_copies_a_sqlite_workspace_and_postgres_drafts_the_same(workspace, pg_url, pg_server):
    env = {"CURATOR_STORE__URL": with_password(pg_url)}
    with NewsSite(n_articles=9) as site:  # dated Nov 10-18: the last three inside the draft window
        ws = offline_workspace(workspace, site, "ws")
        run(["collect", "--home", str(ws)])
    lite_status = json.loads(run(["status", "--home", str(ws), "--json"]))
    moved = json.loads(run(["store", "migrate-to", "--home", str(ws), "--json"], env))
    assert moved["ok"] and SECRET not in json.dumps(moved) and moved["target"].startswith("postgresql://curator:***@")
    counts = {t["table"]: (t["sqlite"], t["postgres"]) for t in moved["tables"]}
    assert counts["items"] == (9, 9) and counts["runs"] == (1, 1) and counts["item_sources"] == (9, 9)
    assert all(a == b for a, b in counts.values())
    pg_status = json.loads(run(["status", "--home", str(ws), "--json"], env))
    for status in (lite_status, pg_status):
        status.pop("store"), status.pop("settings")  # where the store is, and that store.url came from env
    assert pg_status == lite_status
    pg_draft = draft_text(ws, env)
    (ws / "drafts").rename(ws / "drafts-pg")
    assert "/a/" in pg_draft and draft_text(ws) == pg_draft  # the file's own store drafts the same
    with Store(env["CURATOR_STORE__URL"]) as s:  # ids preserved; the next new row takes the next id
        assert [i.id for i in s.items()] == list(range(1, 10))
        runs = [r.run_id for r in s.recent_runs()]
        assert s.add_candidate(Candidate(url="https://ex.com/new", source="f"), "https://ex.com/new") == (10, True)
        assert s.start_run("collect") == max(runs) + 1
    # the target holds data now: a second copy is refused, and says why
    again = CliRunner().invoke(app, ["store", "migrate-to", "--home", str(ws)], env=env)
    assert again.exit_code == 74, again.output
    assert "is not empty (" in again.output and "items: 10" in again.output and SECRET not in again.output


def test_a_postgres_restart_during_collect_ends_it_loudly_and_the_next_collect_finishes(workspace, pg_url,
                                                                                        pg_server):
    env = {**os.environ, "PYTHONPATH": str(REPO), "CURATOR_STORE__URL": with_password(pg_url)}
    with NewsSite(n_articles=9, page_delay_s=0.4) as site:
        ws = offline_workspace(workspace, site, "ws")
        proc = subprocess.Popen([sys.executable, "-m", "curator.cli", "collect", "--home", str(ws)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120  # a generous wait, never a timing assertion
            while sum(n for p, n in site.hits.items() if p.startswith("/a/")) < 2 and proc.poll() is None:
                assert time.monotonic() < deadline, "collect never reached the article pages"
                time.sleep(0.05)
            pg_server.stop()
        finally:
            pg_server.start()
        out, err = proc.communicate(timeout=300)
        assert proc.returncode not in (0, None), out + err  # a run that lost its store never says ok
        assert "Postgres store at postgresql://curator:***@" in err and "Traceback" not in err
        assert SECRET not in out + err
        again = subprocess.run([sys.executable, "-m", "curator.cli", "collect", "--home", str(ws)], env=env,
                               capture_output=True, text=True, timeout=300, check=False)
        assert again.returncode == 0, again.stdout + again.stderr
    with Store(env["CURATOR_STORE__URL"]) as s:
        items = s.items()
        assert len(items) == 9 and {i.state for i in items} == {ItemState.ENRICHED}  # nothing lost, none twice
        assert len({i.canonical_url for i in items}) == 9


def test_migrate_to_exits_non_zero_when_a_count_differs(workspace, pg_url, monkeypatch):
    from curator.store import copy

    with Store(workspace / "data" / "curator.db") as s:
        s.add_candidate(Candidate(url="https://ex.com/a", source="f"), "https://ex.com/a")
    real = copy.count
    def lost_one(store: Store, table: str) -> int:  # a row lost on the way (after the emptiness check)
        n = real(store, table)
        return n - 1 if n and table == "items" and store.dialect.name == "postgres" else n

    monkeypatch.setattr(copy, "count", lost_one)
    result = CliRunner().invoke(app, ["store", "migrate-to", with_password(pg_url), "--home", str(workspace)])
    assert result.exit_code == 74, result.output
    assert "MISMATCH" in result.stdout and "row counts differ after the copy (items)" in result.output
    assert SECRET not in result.output
    refused = CliRunner().invoke(app, ["store", "migrate-to", "mysql://x/y", "--home", str(workspace)])
    assert refused.exit_code == 78 and "postgresql://" in refused.output
