"""run.engine = "celery" end to end: a loopback corpus collected by two `curator worker` processes on a real
Redis gives the same items, stories and draft as the local engine on the same corpus; two collects at once.

The store is a parameter (`store_env`): each workspace's SQLite file, or a Postgres database of its own on
loopback (CURATOR_STORE__URL)."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.canary import CANARY
from tests.engine_help import DEADLINE_S, Workers, base_env, cli, snapshot, start_cli
from tests.fake_openai import FakeOpenAI
from tests.sites import NewsSite

N_PAGES = 10


@pytest.fixture(params=["sqlite", "postgres"])
def store_env(request: pytest.FixtureRequest) -> Callable[[], dict[str, str]]:
    """Each call: a fresh store for one workspace, as environment ({} is the workspace's SQLite file)."""
    if request.param == "sqlite":
        return dict
    server = request.getfixturevalue("pg_server")
    return lambda: {"CURATOR_STORE__URL": server.createdb("e_" + uuid.uuid4().hex[:12])}


def _copy(workspace: Path, name: str) -> Path:
    ws = workspace.parent / f"{workspace.name}-{name}"  # one pair per test (and per store parameter)
    shutil.copytree(workspace, ws)
    return ws


def _stages(run: dict[str, object]) -> dict[str, int]:
    counters = run["counters"]
    assert isinstance(counters, dict)
    return {k: n for k, n in counters.items() if not k.startswith(("http/", "engine/"))}


def _draft(env: dict[str, str]) -> str:
    done = cli(env, "draft")
    assert done.returncode == 0, done.stderr
    return next((Path(env["CURATOR_HOME"]) / "drafts").glob("issue-*.md")).read_text()


def test_two_workers_give_what_the_local_engine_gives(workspace, redis_url, store_env, tmp_path):
    with NewsSite(n_articles=N_PAGES) as site, FakeOpenAI() as fake:
        site.write_sources(workspace)
        local_ws, celery_ws = _copy(workspace, "local"), _copy(workspace, "celery")
        llm = {"OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": fake.base_url}
        local_store, team_store = store_env(), store_env()
        local = base_env(local_ws, redis_url, **llm, **local_store)
        done = cli(local, "collect", "--json")
        assert done.returncode == 0, done.stderr
        local_run = json.loads(done.stdout)
        local_draft = _draft(local)
        local_calls = len(fake.requests)

        team = base_env(celery_ws, redis_url, CURATOR_RUN__ENGINE="celery", **llm, **team_store)
        with Workers(team, tmp_path / "logs", n=2) as workers:
            done = cli(team, "collect", "--json")
            assert done.returncode == 0, done.stderr + workers.log_text()
        # The summary is the local engine's: the same counters for every stage (the http/ tallies differ:
        # each worker process reads robots.txt once per run).
        celery_run = json.loads(done.stdout)
        assert celery_run["status"] == local_run["status"] == "ok", (celery_run, workers.log_text()[-3000:])
        assert _stages(celery_run) == _stages(local_run)
        assert _stages(local_run)["fetch/ok"] == N_PAGES and _stages(local_run)["llm/calls"] > N_PAGES
        celery_draft = _draft(team)

    got = snapshot(celery_ws, team_store.get("CURATOR_STORE__URL"))
    want = snapshot(local_ws, local_store.get("CURATOR_STORE__URL"))
    assert got["items"] == want["items"]
    assert got["stories"] == want["stories"]
    assert len(want["items"]) == N_PAGES and all(s in ("enriched", "drafted") for s, *_ in want["items"].values())
    assert celery_draft == local_draft
    # Each content was charged once per workspace: the workers asked the model as often as the local run.
    assert len(fake.requests) == 2 * local_calls


def test_collect_without_a_broker_fails_loudly(workspace, tmp_path):
    from tests.servers import free_port

    url = f"redis://:hunter2secret@127.0.0.1:{free_port()}/0"
    env = base_env(workspace, url, CURATOR_RUN__ENGINE="celery")
    done = cli(env, "collect")
    assert done.returncode == 69, done.stderr
    assert "cannot be reached" in done.stderr and "hunter2secret" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    worker = cli(env, "worker")
    assert worker.returncode == 69 and "cannot be reached" in worker.stderr
    assert "hunter2secret" not in worker.stderr + worker.stdout


def test_a_second_collect_waits_or_exits_75(workspace, redis_url, tmp_path):
    with NewsSite(n_articles=4, page_delay_s=1.0) as site:
        site.write_sources(workspace)
        env = base_env(workspace, redis_url, CURATOR_RUN__ENGINE="celery", CURATOR_LLM__PROVIDER="offline")
        with Workers(env, tmp_path / "logs", n=2) as workers:
            first = start_cli(env, tmp_path / "first.log", "collect")
            try:
                deadline = time.monotonic() + DEADLINE_S
                while not any(v for k, v in site.hits.items() if k.startswith("/a/")):  # the workers are fetching
                    assert time.monotonic() < deadline and first.poll() is None, (tmp_path / "first.log").read_text()
                    time.sleep(0.1)
                second = cli(env, "collect")
                assert second.returncode == 75, second.stderr
                assert "another curator run holds the lock" in second.stderr
            finally:
                first.wait(timeout=DEADLINE_S)
            assert first.returncode == 0, (tmp_path / "first.log").read_text() + workers.log_text()


def test_an_editors_add_goes_through_the_workers_and_the_configured_store(workspace, redis_url, store_env, tmp_path):
    """`curator add` on run.engine = "celery": the find lands in the configured store (Postgres, when set),
    a worker fetches it under the shared politeness (a host paused in Redis is not sent to), and with no
    worker answering it says so at once (69) instead of waiting; the find is kept either way."""
    import redis

    from curator.engine.shared_http import RedisHostGate

    with NewsSite(n_articles=3) as site:
        site.write_sources(workspace)
        store = store_env()
        env = base_env(workspace, redis_url, CURATOR_RUN__ENGINE="celery", CURATOR_LLM__PROVIDER="offline", **store)
        with Workers(env, tmp_path / "logs", n=1) as workers:
            done = cli(env, "add", f"{site.base}/a/0", "--json")
            assert done.returncode == 0, done.stderr + workers.log_text()
            assert json.loads(done.stdout)["status"] == "ok"
            assert site.hits.get("/a/0") == 1
            RedisHostGate(redis.Redis.from_url(redis_url)).pause("127.0.0.1", 600)  # another worker was told 429
            paused = cli(env, "add", f"{site.base}/a/1", "--note", "编辑的摘要", "--json")
            assert "/a/1" not in site.hits, "the find was fetched from a host every worker must leave alone"
            assert paused.returncode == 3, paused.stderr
        items = snapshot(workspace, store.get("CURATOR_STORE__URL"))["items"]
        assert items[f"{site.base}/a/0"][0] == "enriched"
        assert f"{site.base}/a/1" in items  # kept, its page waiting for the host to accept requests again
        no_worker = cli(env, "add", f"{site.base}/a/2")  # the workers have stopped
        assert no_worker.returncode == 69, no_worker.stderr
        assert "no `curator worker` answers" in no_worker.stderr and "Traceback" not in no_worker.stderr
        assert f"{site.base}/a/2" in snapshot(workspace, store.get("CURATOR_STORE__URL"))["items"]
        if store:  # a Postgres store: nothing was written to the workspace's SQLite file
            assert not (workspace / "data" / "curator.db").exists()
