"""What bench/bench_scale.py runs, checked small: the Celery engine with offline enrichment and the default
parser pool (extract.workers one per core, not the tests' usual 0) does what the local engine does.

A task runs in a Celery pool child, a daemonic process that may not start processes of its own: the 5,000-page
bench found every story lead's offline enrichment failing there (internal_error) while the local engine
enriched them all."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.engine_help import Workers, base_env, cli, snapshot
from tests.sites import NewsSite

N_PAGES = 6


def _copy(workspace: Path, name: str) -> Path:
    ws = workspace.parent / f"{workspace.name}-{name}"
    shutil.copytree(workspace, ws)
    return ws


def test_offline_enrichment_on_the_workers_with_a_parser_pool(workspace, redis_url, tmp_path):
    pooled = {"CURATOR_LLM__PROVIDER": "offline", "CURATOR_EXTRACT__WORKERS": "2"}
    with NewsSite(n_articles=N_PAGES) as site:
        site.write_sources(workspace)
        local_ws, celery_ws = _copy(workspace, "local"), _copy(workspace, "celery")
        local = base_env(local_ws, redis_url, **pooled)
        done = cli(local, "collect", "--json")
        assert done.returncode == 0, done.stderr
        local_run = json.loads(done.stdout)

        team = base_env(celery_ws, redis_url, CURATOR_RUN__ENGINE="celery", **pooled)
        with Workers(team, tmp_path / "logs", n=1) as workers:
            done = cli(team, "collect", "--json")
            assert done.returncode == 0, done.stderr + workers.log_text()
        celery_run = json.loads(done.stdout)

    counters = celery_run["counters"]
    assert "enrich/internal_error" not in counters, workers.log_text()[-3000:]
    assert celery_run["status"] == local_run["status"] == "ok", (celery_run, workers.log_text()[-3000:])
    got, want = snapshot(celery_ws)["items"], snapshot(local_ws)["items"]
    assert len(want) == N_PAGES and all(state == "enriched" for state, *_ in want.values())
    assert got == want


def test_the_bench_fails_a_configuration_that_did_less_than_the_local_engine():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from bench_scale import disagreements, outcome

    local = {"engine": "local", "status": "ok",
             "outcome": outcome({"fetch/ok": 10, "enrich/ok": 4, "enrich/same_story": 6, "http/ok": 12})}
    same = {"engine": "celery", "workers": 2, "status": "ok",
            "outcome": outcome({"fetch/ok": 10, "enrich/ok": 4, "enrich/same_story": 6, "http/ok": 14})}
    failed = {"engine": "celery", "workers": 4, "status": "degraded",
              "outcome": outcome({"fetch/ok": 10, "enrich/internal_error": 4, "enrich/same_story": 6})}
    assert disagreements([local, same]) == []
    [line] = disagreements([local, same, failed])
    assert line.startswith("celery x4: status degraded (local ok)")
    assert "'enrich/internal_error': (0, 4)" in line and "'enrich/ok': (4, 0)" in line
