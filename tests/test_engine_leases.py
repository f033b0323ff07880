"""What a Celery worker holds is a short lease it renews while it works (celery.lease_s): an item's claim and
a host's request slot. A live holder keeps them as long as it works; a holder killed with -9 lets them lapse
one lease later, so its redelivered task runs at once instead of after the longest a task may take.
fetch.per_host_concurrency is one limit over every worker's requests to a host. Real Redis, real processes.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest
import redis

from curator.engine.shared import RunFlags
from curator.engine.shared_http import HostSlots
from tests.engine_help import DEADLINE_S, Workers, base_env, cli, kill_worker, snapshot, start_cli, wait_for
from tests.sites import NewsSite


class CountingSite(NewsSite):
    """NewsSite that records how many article requests it serves at once (the most it ever saw)."""

    def __init__(self, n_articles: int, page_delay_s: float) -> None:
        super().__init__(n_articles=n_articles, page_delay_s=page_delay_s)
        self.active = self.most = 0
        site, served = self, self.server.RequestHandlerClass

        class Counting(served):  # type: ignore[misc, valid-type]
            def do_GET(self) -> None:
                article = self.path.startswith("/a/")
                if article:
                    with site._lock:
                        site.active += 1
                        site.most = max(site.most, site.active)
                try:
                    super().do_GET()
                finally:
                    if article:
                        with site._lock:
                            site.active -= 1

        self.server.RequestHandlerClass = Counting


# ---- the leases, two holders on one Redis -----------------------------------------------------------


def test_a_claim_is_kept_while_its_holder_works_and_lapses_when_it_dies(redis_url):
    one, two = RunFlags(redis.Redis.from_url(redis_url), 21), RunFlags(redis.Redis.from_url(redis_url), 21)
    lease = 1.5
    token = one.claim("fetch:1", lease)
    assert token is not None
    with one.holding("fetch:1", token, lease) as beat:
        ended = time.monotonic() + 3 * lease  # outlives its lease twice over: the heartbeat keeps it
        while time.monotonic() < ended:
            assert two.claim("fetch:1", lease) is None
            time.sleep(0.2)
        assert beat.lost == 0
    assert two.claim("fetch:1", lease) is not None  # released at the end of the block
    # `two` dies holding it (no heartbeat, no release): the claim is free once its lease lapses.
    wait_for("the dead holder's claim to lapse", lambda: one.claim("fetch:1", lease) is not None, DEADLINE_S)


def test_a_hosts_slots_are_one_limit_for_every_worker_and_a_dead_holders_slot_lapses(redis_url):
    async def run() -> None:
        a = HostSlots(redis.Redis.from_url(redis_url), "slots.example", 1, lease_s=1.5)
        b = HostSlots(redis.Redis.from_url(redis_url), "slots.example", 1, lease_s=1.5)
        await a.acquire()  # worker A sends its request
        with pytest.raises(TimeoutError):  # worker B, in another process, waits for it ...
            await asyncio.wait_for(b.acquire(), timeout=4.5)  # ... even past A's lease: A renews it
        a.release()
        await asyncio.wait_for(b.acquire(), timeout=DEADLINE_S)  # B's turn
        assert b._beat is not None
        b._beat.cancel()  # B is killed mid-request: no renewal, no release
        b._tokens.clear()
        await asyncio.wait_for(a.acquire(), timeout=DEADLINE_S)  # its slot lapsed: A goes on
        a.release()

    asyncio.run(run())


# ---- with worker processes ----------------------------------------------------------------------------

TEAM = {"CURATOR_RUN__ENGINE": "celery", "CURATOR_LLM__PROVIDER": "offline", "CURATOR_CELERY__LEASE_S": "2"}


def test_per_host_concurrency_holds_over_two_worker_processes(workspace, redis_url, tmp_path):
    n = 8
    with CountingSite(n_articles=n, page_delay_s=0.5) as site:
        site.write_sources(workspace)
        env = base_env(workspace, redis_url, **TEAM, CURATOR_FETCH__PER_HOST_CONCURRENCY="1")
        with Workers(env, tmp_path / "logs", n=2, concurrency=2) as workers:  # four task processes
            done = cli(env, "collect", "--json")
            assert done.returncode == 0, done.stderr + workers.log_text()
        assert json.loads(done.stdout)["counters"]["fetch/ok"] == n
        assert site.most == 1, f"{site.most} requests to one host at once with per_host_concurrency = 1"


def test_a_task_redelivered_after_kill_9_mid_fetch_runs_without_waiting_out_a_long_claim(workspace, redis_url,
                                                                                        tmp_path):
    n = 6
    # The killed worker's message comes back after 5 s; a redelivered task that found the item still claimed
    # would give up after 0.8 × 60 s, well before the fetch's own worst case (60 s × 3 tries) ran out.
    faulty = {**TEAM, "CURATOR_CELERY__VISIBILITY_TIMEOUT_S": "5", "CURATOR_CELERY__TASK_TIME_LIMIT_S": "60",
              "CURATOR_CELERY__WAIT_TIMEOUT_S": "150", "CURATOR_FETCH__DEADLINE_S": "60",
              "CURATOR_FETCH__RETRIES": "2"}
    fetching = threading.Event()
    with CountingSite(n_articles=n, page_delay_s=3.0) as site:
        site.write_sources(workspace)
        env = base_env(workspace, redis_url, **faulty)
        with Workers(env, tmp_path / "logs", n=2) as workers:
            first = start_cli(env, tmp_path / "first.log", "collect", "--json")

            def one_in_flight() -> bool:
                if site.active > 0:
                    fetching.set()
                return fetching.is_set()

            wait_for("a page being fetched", one_in_flight)
            kill_worker(workers, workers.procs[0])  # whatever it held: an item's claim, the host's slot
            first.wait(timeout=DEADLINE_S * 2)
            log = (tmp_path / "first.log").read_text()
            # The same run finishes every page: the other worker took the dead one's items over.
            assert first.returncode == 0, log + workers.log_text()
            summary: dict[str, Any] = json.loads(log[log.index("\n{\n") + 1:] if not log.startswith("{") else log)
        assert summary["status"] == "ok", summary
        assert summary["counters"].get("engine/in_flight", 0) == 0, summary["counters"]
        items = snapshot(workspace)["items"]
        assert sorted(items) == sorted(f"{site.base}/a/{i}" for i in range(n))
        assert {state for state, *_ in items.values()} == {"enriched"}, items

