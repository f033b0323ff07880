"""run.engine = "celery" under faults: kill -9 of a worker mid-fetch and mid-LLM call, a Redis and a Postgres
restart during a run. After one normal re-run nothing is lost or duplicated, and no content was charged twice."""

from __future__ import annotations

import json
import re
import signal
import threading
import uuid
from pathlib import Path

import pytest

from tests.canary import CANARY
from tests.engine_help import DEADLINE_S, Workers, base_env, cli, kill_worker, snapshot, start_cli, wait_for
from tests.fake_openai import FakeOpenAI, Reply, is_triage
from tests.sites import NewsSite, article_title

N_PAGES = 8
# A dead worker's task comes back after 5 s; a run gives up waiting after 2 minutes (its items then wait).
FAULTY = {"CURATOR_RUN__ENGINE": "celery", "CURATOR_CELERY__VISIBILITY_TIMEOUT_S": "5",
          "CURATOR_CELERY__WAIT_TIMEOUT_S": "120", "CURATOR_CELERY__TASK_TIME_LIMIT_S": "60",
          "CURATOR_LLM__TIMEOUT_S": "10", "CURATOR_LLM__MAX_RETRIES": "0"}


def _rerun_is_whole(env: dict[str, str], workers: Workers, ws: Path, site: NewsSite) -> dict[str, object]:
    """One normal re-run: ok, and every page of the feed is one enriched item, none failed."""
    done = cli(env, "collect", "--json")
    assert done.returncode == 0, done.stderr + workers.log_text()
    rerun = json.loads(done.stdout)
    assert rerun["status"] == "ok", rerun
    items = snapshot(ws)["items"]
    assert sorted(items) == sorted(f"{site.base}/a/{i}" for i in range(N_PAGES))  # none lost, none twice
    assert {state for state, *_ in items.values()} == {"enriched"}, items
    return rerun


def _restart_dead(workers: Workers) -> None:
    alive = [p for p in workers.procs if p.poll() is None]
    if len(alive) < 2:  # (workers that lived through a Redis restart reconnect on their own)
        for _ in range(2 - len(alive)):
            workers.start_one()
        workers.wait_ready(2)


def test_kill_9_of_a_worker_mid_fetch_loses_nothing(workspace, redis_url, tmp_path):
    with NewsSite(n_articles=N_PAGES, page_delay_s=2.0) as site:
        site.write_sources(workspace)
        env = base_env(workspace, redis_url, CURATOR_LLM__PROVIDER="offline", **FAULTY)
        with Workers(env, tmp_path / "logs", n=2) as workers:
            first = start_cli(env, tmp_path / "first.log", "collect")
            wait_for("a page being fetched", lambda: any(k.startswith("/a/") for k in site.hits))
            kill_worker(workers, workers.procs[0])
            first.wait(timeout=DEADLINE_S * 2)
            # Either the other worker took the dead one's task over (ok), or the run gave up waiting (143).
            assert first.returncode in (0, 143), (tmp_path / "first.log").read_text()
            _restart_dead(workers)
            _rerun_is_whole(env, workers, workspace, site)
        pages = {k: n for k, n in site.hits.items() if k.startswith("/a/")}
        assert len(pages) == N_PAGES
        assert sum(pages.values()) <= N_PAGES + 2  # at most the page(s) in flight at the kill, read again


def _title(request: dict[str, object]) -> str:
    prompt = request["messages"][0]["content"]  # type: ignore[index]
    found = re.search(r"原标题：(.*)", prompt)
    return found.group(1).strip() if found else ""


def test_kill_9_mid_llm_call_charges_no_content_twice(workspace, redis_url, tmp_path):
    release = threading.Event()
    held_titles: list[str] = []

    def hold_until_killed(request):  # every enrichment call is held until the workers are dead
        if is_triage(request) or release.is_set():
            return
        held_titles.append(_title(request))
        release.wait(DEADLINE_S)

    with NewsSite(n_articles=N_PAGES) as site, FakeOpenAI() as fake:
        fake.script = [hold_until_killed] * 500
        site.write_sources(workspace)
        env = base_env(workspace, redis_url, OPENAI_API_KEY=CANARY, OPENAI_BASE_URL=fake.base_url, **FAULTY)
        with Workers(env, tmp_path / "logs", n=2) as workers:
            first = start_cli(env, tmp_path / "first.log", "collect")
            try:
                wait_for("both workers in an LLM call", lambda: len(held_titles) >= 2)
                for proc in list(workers.procs):
                    kill_worker(workers, proc)
            finally:
                release.set()
            _restart_dead(workers)
            first.wait(timeout=DEADLINE_S * 2)
            assert first.returncode in (0, 143), (tmp_path / "first.log").read_text()
            _rerun_is_whole(env, workers, workspace, site)
    asked: dict[str, int] = {}
    for request in fake.requests:
        if not is_triage(request):
            asked[_title(request)] = asked.get(_title(request), 0) + 1
    assert set(asked) == {article_title(i) for i in range(N_PAGES)}
    # Only the calls cut off by the kill (never answered) were asked again; every answered content once.
    assert {t: n for t, n in asked.items() if n > 1}.keys() <= set(held_titles), asked
    assert all(n <= 2 for n in asked.values()), asked


@pytest.mark.usefixtures("redis_url")
def test_a_redis_restart_mid_run_loses_nothing(workspace, redis_server, tmp_path):
    with NewsSite(n_articles=N_PAGES, page_delay_s=2.0) as site:
        site.write_sources(workspace)
        env = base_env(workspace, redis_server.url, CURATOR_LLM__PROVIDER="offline", **FAULTY)
        with Workers(env, tmp_path / "logs", n=2) as workers:
            first = start_cli(env, tmp_path / "first.log", "collect")
            wait_for("a page being fetched", lambda: any(k.startswith("/a/") for k in site.hits))
            redis_server.stop()
            redis_server.start()  # empty: the queue and the run's flags are gone
            first.wait(timeout=DEADLINE_S * 2)
            log = (tmp_path / "first.log").read_text()
            assert first.returncode == 143, log
            assert "restarted" in log and "wait for the next run" in log
            _restart_dead(workers)
            _rerun_is_whole(env, workers, workspace, site)
        assert sum(n for k, n in site.hits.items() if k.startswith("/a/")) <= N_PAGES + 2


def test_sigterm_stops_the_run_143_and_the_next_run_finishes(workspace, redis_url, tmp_path):
    with NewsSite(n_articles=N_PAGES, page_delay_s=2.0) as site:
        site.write_sources(workspace)
        env = base_env(workspace, redis_url, CURATOR_LLM__PROVIDER="offline", **FAULTY)
        with Workers(env, tmp_path / "logs", n=2) as workers:
            first = start_cli(env, tmp_path / "first.log", "collect")
            wait_for("a page being fetched", lambda: any(k.startswith("/a/") for k in site.hits))
            first.send_signal(signal.SIGTERM)
            first.wait(timeout=DEADLINE_S * 2)
            log = (tmp_path / "first.log").read_text()
            assert first.returncode == 143, log
            assert "SIGTERM" in log and "wait for the next run" in log
            # Tasks not started when the stop came did nothing: fewer pages than the feed's were asked for.
            assert sum(n for k, n in site.hits.items() if k.startswith("/a/")) < N_PAGES
            _rerun_is_whole(env, workers, workspace, site)


def test_the_breaker_opens_across_workers_and_the_run_exits_69(workspace, redis_url, tmp_path):
    with NewsSite(n_articles=N_PAGES) as site, FakeOpenAI() as fake:
        fake.script = [lambda req: None if is_triage(req) else Reply(status=500)] * 500
        site.write_sources(workspace)
        env = base_env(workspace, redis_url, OPENAI_API_KEY=CANARY, OPENAI_BASE_URL=fake.base_url,
                       CURATOR_LLM__BREAKER_FAILURES="3", **FAULTY)
        with Workers(env, tmp_path / "logs", n=2):
            done = cli(env, "collect")
    assert done.returncode == 69, done.stderr
    assert "failed 3 calls in a row" in done.stderr and "Traceback" not in done.stderr
    calls = [r for r in fake.requests if not is_triage(r)]
    assert 3 <= len(calls) <= 3 + 2  # the streak, plus at most one call in flight per worker
    items = snapshot(workspace)["items"]
    assert not any(state == "enriched" for state, *_ in items.values())  # none enriched, none lost
    assert sum(1 for state, *_ in items.values() if state == "extracted") >= N_PAGES - 5


def test_a_postgres_restart_mid_run_loses_nothing_and_charges_no_content_twice(workspace, redis_url, pg_server,
                                                                               tmp_path):
    stopped = threading.Event()
    held_titles: list[str] = []

    def hold_until_stopped(request):  # the enrichment calls in flight when Postgres goes down are answered after
        if is_triage(request) or stopped.is_set():
            return
        held_titles.append(_title(request))
        stopped.wait(DEADLINE_S)

    store_url = pg_server.createdb("f_" + uuid.uuid4().hex[:12]).replace(
        "postgresql://curator@", f"postgresql://curator:{CANARY}@")  # carried, never checked: must never show
    with NewsSite(n_articles=N_PAGES) as site, FakeOpenAI() as fake:
        fake.script = [hold_until_stopped] * 500
        site.write_sources(workspace)
        env = base_env(workspace, redis_url, OPENAI_API_KEY=CANARY, OPENAI_BASE_URL=fake.base_url,
                       CURATOR_STORE__URL=store_url, **FAULTY)
        with Workers(env, tmp_path / "logs", n=2) as workers:
            first = start_cli(env, tmp_path / "first.log", "collect")
            try:
                wait_for("an enrichment call in flight", lambda: len(held_titles) >= 1)
                pg_server.stop()
                stopped.set()  # the held calls are answered while the store is down
            finally:
                stopped.set()
                pg_server.start()  # other tests share the server
            first.wait(timeout=DEADLINE_S * 2)
            log = (tmp_path / "first.log").read_text()
            assert "Traceback" not in log and CANARY not in log
            if first.returncode != 0:  # a run that lost its store ends loudly ...
                assert "Postgres store" in log or "wait for the next run" in log, log
            _restart_dead(workers)
            done = cli(env, "collect", "--json")  # ... and one normal re-run finishes it
            assert done.returncode == 0, done.stderr + workers.log_text()
            assert json.loads(done.stdout)["status"] == "ok", done.stdout
            for log_file in (tmp_path / "logs").glob("worker-*.log"):  # the whole logs, not their tails
                assert CANARY not in log_file.read_text(errors="replace")
    items = snapshot(workspace, store_url)["items"]
    assert sorted(items) == sorted(f"{site.base}/a/{i}" for i in range(N_PAGES))  # none lost, none twice
    assert {state for state, *_ in items.values()} == {"enriched"}, items
    asked: dict[str, int] = {}
    for request in fake.requests:
        if not is_triage(request):
            asked[_title(request)] = asked.get(_title(request), 0) + 1
    assert set(asked) == {article_title(i) for i in range(N_PAGES)}
    # Only the calls whose answers came while the store was down may be asked again; the others once.
    assert {t: n for t, n in asked.items() if n > 1}.keys() <= set(held_titles), asked
    assert all(n <= 2 for n in asked.values()), asked
