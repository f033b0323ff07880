"""Issue 12 §1: LLM failures are loud and never lose an item, through the CLI, the real SDK on loopback, real SQLite.

A fault no item is to blame for (key, model, quota, address, breaker) ends `collect` with 69 and one
message naming the endpoint and model; the items wait at `extracted`. An answer still unusable after the
re-ask is enriched offline, flagged `llm_fallback`. The summary says `ok` only when all was done.
"""

from __future__ import annotations

import json
import re
import socket
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curator.cli import app
from curator.store import Store
from curator.store.migrations import MIGRATIONS
from tests.canary import CANARY
from tests.fake_openai import Reply
from tests.sites import NewsSite

N = 4


def env_for(fake_base: str, **extra: str) -> dict[str, str]:
    return {"OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": fake_base, "CURATOR_LLM__PROVIDER": "openai",
            "CURATOR_LLM__MAX_RETRIES": "0", "CURATOR_LLM__TRIAGE": "false", "CURATOR_LLM__CONCURRENCY": "1",
            "CURATOR_LLM__BREAKER_FAILURES": "3", **extra}


def collect(workspace: Path, env: dict[str, str], *args: str):
    return CliRunner().invoke(app, ["collect", "--home", str(workspace), *args], env=env)


def states(workspace: Path) -> dict[str, int]:
    with Store(workspace / "data" / "curator.db") as store:
        return store.state_counts()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def error(status: int, code: str, type_: str = "invalid_request_error") -> Reply:
    return Reply(status=status, body={"error": {"message": "scripted", "type": type_, "code": code}})


FAULTS = {
    "401": ([error(401, "invalid_api_key")], "rejected the API key", "OPENAI_API_KEY"),
    "403": ([error(403, "forbidden")], "HTTP 403", "llm.model"),
    "404": ([error(404, "model_not_found")], "no such model", "llm.model"),
    "quota": ([error(429, "insufficient_quota", "insufficient_quota")], "quota", "quota"),
    "unreachable": (None, "cannot be reached", "llm.base_url"),
    "breaker": ([Reply(status=500)] * 10, "failed 3 calls in a row", "llm.base_url"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_run_level_llm_fault_exits_69_with_one_message_and_items_wait(workspace, fake_llm, fault):
    script, what, todo = FAULTS[fault]
    with NewsSite(n_articles=N) as site:
        site.write_sources(workspace)
        base = fake_llm.base_url if script is not None else f"http://127.0.0.1:{closed_port()}/v1"
        fake_llm.script = list(script or [])
        result = collect(workspace, env_for(base))
        host = base.split("//", 1)[1].split("/", 1)[0]
        assert result.exit_code == 69, result.output
        err = result.stderr
        [line] = [ln for ln in err.splitlines() if ln.startswith("curator: error:")]  # one message
        assert host in line and "gpt-4o-mini" in line and what in line and todo in line, line
        assert "--provider offline" in line and f"{N} items wait" in line
        assert CANARY not in result.output and CANARY not in err
        assert re.search(r"run #\d+: failed", result.stdout) and ": ok" not in result.stdout
        assert states(workspace) == {"extracted": N}  # waiting, none failed
        # After the fix (the endpoint answers), the next run enriches them.
        fake_llm.script = []
        fixed = collect(workspace, env_for(fake_llm.base_url))
        assert fixed.exit_code == 0, fixed.output
        assert states(workspace) == {"enriched": N} and re.search(r"run #\d+: ok", fixed.stdout)


def test_provider_offline_enriches_what_the_refused_run_left_waiting(workspace, fake_llm):
    fake_llm.script = [error(401, "invalid_api_key")]
    with NewsSite(n_articles=N) as site:
        site.write_sources(workspace)
        assert collect(workspace, env_for(fake_llm.base_url)).exit_code == 69
        offline = collect(workspace, env_for(fake_llm.base_url), "--provider", "offline", "--json")
        assert offline.exit_code == 0, offline.output
        assert json.loads(offline.stdout)["status"] == "ok"
        assert states(workspace) == {"enriched": N}


def test_collect_json_carries_the_failure_and_the_message(workspace, fake_llm):
    fake_llm.script = [error(401, "invalid_api_key")]
    with NewsSite(n_articles=N) as site:
        site.write_sources(workspace)
        result = collect(workspace, env_for(fake_llm.base_url), "--json")
    assert result.exit_code == 69
    summary = json.loads(result.stdout)
    assert summary["status"] == "failed" and "rejected the API key" in summary["error"]
    assert summary["counters"]["enrich/waiting_llm_unavailable"] == N


def test_items_an_older_curator_failed_for_the_endpoint_are_requeued(workspace, fake_llm):
    with NewsSite(n_articles=N) as site:
        site.write_sources(workspace)
        assert collect(workspace, env_for(fake_llm.base_url), "--provider", "offline").exit_code == 0
        db = workspace / "data" / "curator.db"
        # What a curator before issue 12 left: failed for good, and the requeue step not yet applied.
        con = sqlite3.connect(db)
        with con:
            con.execute("UPDATE items SET state='failed', reason='llm_auth', retryable=0, attempts=3 WHERE id <= 2")
            con.execute("UPDATE items SET state='failed', reason='llm_invalid', retryable=1, attempts=3 WHERE id > 2")
            con.execute("DELETE FROM enrichments")
            con.execute("DELETE FROM schema_migrations WHERE name='requeue_llm_failures'")
            con.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")
        con.close()
        assert states(workspace) == {"extracted": N}  # opening the store applied the step
        assert collect(workspace, env_for(fake_llm.base_url)).exit_code == 0
        assert states(workspace) == {"enriched": N}


def test_unusable_answers_are_enriched_offline_flagged_and_the_draft_is_not_empty(workspace, fake_llm):
    fake_llm.script = [Reply(content="这不是 JSON")] * (2 * N)  # every answer, and every re-ask, unusable
    with NewsSite(n_articles=N) as site:
        site.write_sources(workspace)
        result = collect(workspace, env_for(fake_llm.base_url, CURATOR_LLM__BREAKER_FAILURES="2"))
        assert result.exit_code == 0, result.output
        assert re.search(rf"run #\d+: degraded: .*enrich/llm_fallback={N}", result.stdout), result.stdout
        assert states(workspace) == {"enriched": N}
        again = collect(workspace, env_for(fake_llm.base_url), "--json")  # nothing left to do: ok
        assert json.loads(again.stdout)["status"] == "ok"
    with Store(workspace / "data" / "curator.db") as store:
        assert all("llm_fallback" in i.enrichment.flags and i.enrichment.backend == "offline"
                   for i in store.items())
        last = store.recent_runs(2)[1]
        assert last.status == "degraded" and last.counters["enrich/llm_fallback"] == N
    drafted = CliRunner().invoke(app, ["draft", "--home", str(workspace), "--date", "2026-11-14"], env=env_for(fake_llm.base_url))
    assert drafted.exit_code in (0, 3), drafted.output
    md = next((workspace / "drafts").glob("issue-*.md"))
    assert re.search(r'flags="[^"]*llm_fallback', md.read_text(encoding="utf-8"))
    review = json.loads(md.with_suffix(".json").read_text(encoding="utf-8"))
    stories = [s for sec in review["sections"] for s in sec["stories"]]
    assert stories and all("llm_fallback" in s["flags"] for s in stories)
    # The board's card shows the flag.
    from starlette.testclient import TestClient

    from curator.review.board import make_app
    from curator.settings import load_settings

    board = TestClient(make_app(load_settings(workspace, env={}), "t0ken"), base_url="http://127.0.0.1")
    page = board.get("/?token=t0ken")
    assert page.status_code == 200
    assert len(re.findall(r"<span class=\"badge flag\">llm_fallback</span>", page.text)) >= len(stories)  # + runners-up


def test_collect_json_says_degraded_with_the_reasons(workspace, fake_llm):
    fake_llm.script = [Reply(content="{}")] * 2  # the first item's answer and re-ask are invalid
    with NewsSite(n_articles=N) as site:
        site.write_sources(workspace)
        result = collect(workspace, env_for(fake_llm.base_url), "--json")
    summary = json.loads(result.stdout)
    assert result.exit_code == 0 and summary["status"] == "degraded"
    assert summary["reasons"] == {"enrich/llm_fallback": 1}
    assert summary["counters"]["enrich/fallback_llm_invalid"] == 1 and summary["counters"]["enrich/ok"] == N - 1


def test_an_isolated_failure_between_answers_is_the_items_own(workspace, fake_llm):
    fake_llm.script = [Reply(status=500)]  # one 5xx, then valid answers: the endpoint works
    with NewsSite(n_articles=N) as site:
        site.write_sources(workspace)
        result = collect(workspace, env_for(fake_llm.base_url), "--json")
    summary = json.loads(result.stdout)
    assert result.exit_code == 0 and summary["status"] == "degraded"
    assert summary["reasons"] == {"enrich/llm_http_500": 1}
    assert states(workspace) == {"enriched": N - 1, "failed:llm_http_500": 1}  # retryable: requeued next run


def test_a_refused_key_at_triage_ends_the_run_the_same_way(workspace, fake_llm):
    fake_llm.script = [error(401, "invalid_api_key")]  # the first call of the run is the triage batch
    with NewsSite(n_articles=N) as site:
        site.write_sources(workspace)
        result = collect(workspace, env_for(fake_llm.base_url, CURATOR_LLM__TRIAGE="true"))
    assert result.exit_code == 69 and len(fake_llm.requests) == 1
    assert "rejected the API key" in result.stderr and f"{N} items wait" in result.stderr
    assert states(workspace) == {"extracted": N}
    with Store(workspace / "data" / "curator.db") as store:
        [run] = store.recent_runs(1)
    assert run.status == "failed" and "rejected the API key" in run.notes[-1]  # `curator status` shows why


def test_an_items_last_attempt_is_enriched_offline_rather_than_lost(workspace, fake_llm):
    with NewsSite(n_articles=N) as site:
        site.write_sources(workspace)
        fake_llm.script = [Reply(status=500)]
        assert collect(workspace, env_for(fake_llm.base_url)).exit_code == 0
        assert states(workspace) == {"enriched": N - 1, "failed:llm_http_500": 1}
        con = sqlite3.connect(workspace / "data" / "curator.db")
        with con:
            con.execute("UPDATE items SET attempts=2 WHERE state='failed'")  # two runs failed it already
        con.close()
        fake_llm.script = [Reply(status=500)]  # requeued, and it fails once more: its last attempt
        result = collect(workspace, env_for(fake_llm.base_url), "--json")
    summary = json.loads(result.stdout)
    assert summary["reasons"] == {"enrich/llm_fallback": 1, "enrich/llm_http_500": 1}
    assert states(workspace) == {"enriched": N}
    with Store(workspace / "data" / "curator.db") as store:
        assert sum("llm_fallback" in i.enrichment.flags for i in store.items()) == 1
