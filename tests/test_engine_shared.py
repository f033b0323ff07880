"""What the Celery engine's processes share in Redis, each implementation used by two "workers" at once
(two clients, two fetchers): a budget, the LLM rate limit, a host's Retry-After pause, robots.txt answers,
and the run's breaker streak. Real Redis and real HTTP on loopback."""

from __future__ import annotations

import asyncio
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
import redis

from curator.engine.shared import RedisBudget, RedisRateLimiter, RunFlags
from curator.engine.shared_http import RedisHostGate, SharedRobots
from curator.errors import BudgetExceeded, FetchError
from curator.http import Fetcher
from curator.settings import FetchSettings
from tests.loopback import LoopbackServer


class Limited(LoopbackServer):
    """/page answers 429 with Retry-After: 120; /robots.txt disallows /private; hits are counted."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_GET(self) -> None:
                site.hits[self.path] = site.hits.get(self.path, 0) + 1
                if self.path == "/robots.txt":
                    body = b"User-agent: *\nDisallow: /private\n"
                    self.send_response(200)
                    self.send_header("content-type", "text/plain")
                else:
                    body = b"slow down"
                    self.send_response(429)
                    self.send_header("retry-after", "120")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)


def _clients(url: str) -> tuple[redis.Redis, redis.Redis]:
    return redis.Redis.from_url(url), redis.Redis.from_url(url)


def test_two_workers_share_one_budget(redis_url):
    one, two = (RunFlags(c, 7) for c in _clients(redis_url))
    a, b = RedisBudget(one, 1.0, "run"), RedisBudget(two, 1.0, "run")
    a.reserve(0.6)
    with pytest.raises(BudgetExceeded, match=r"run budget of \$1.00"):
        b.reserve(0.6)  # the other worker's reservation counts
    a.settle(0.6, 0.5)
    b.reserve(0.4)
    with pytest.raises(BudgetExceeded):
        a.reserve(0.2)  # 0.5 spent + 0.4 reserved by b
    assert RedisBudget(RunFlags(redis.Redis.from_url(redis_url), 8), 1.0, "run").reserve(0.9) is None  # per run


def test_the_rate_limit_counts_every_workers_calls(redis_url):
    class Waited(Exception):
        pass

    def must_wait(seconds: float) -> None:
        raise Waited(seconds)

    c1, c2 = _clients(redis_url)
    a = RedisRateLimiter(c1, rpm=2, tpm=0, key="t:window", sleep=must_wait)
    b = RedisRateLimiter(c2, rpm=2, tpm=0, key="t:window", sleep=must_wait)
    a.acquire(10)
    b.acquire(10)
    with pytest.raises(Waited) as waited:
        a.acquire(10)  # the third call of the minute, whichever worker makes it
    assert 0 < waited.value.args[0] <= 60


def test_a_retry_after_pause_holds_for_every_worker(redis_url):
    async def run() -> tuple[FetchError, FetchError]:
        settings = FetchSettings(allowed_hosts=["127.0.0.1"], retries=0, deadline_s=5)  # the pause outlasts it
        errors = []
        for client in _clients(redis_url):  # two workers, each with its own fetcher
            async with Fetcher(settings) as fetcher:
                fetcher.gate = RedisHostGate(client)
                with pytest.raises(FetchError) as caught:
                    await fetcher.get(site.origin + "/page")
                errors.append(caught.value)
        return errors[0], errors[1]

    with Limited() as site:
        first, second = asyncio.run(run())
    assert first.reason in ("http_429", "rate_limited")  # (a Retry-After over the cap is reported as such)
    assert second.reason == "rate_limited"  # paused by what the first worker was told: never sent
    assert site.hits == {"/page": 1}


def test_robots_txt_is_read_once_for_every_worker(redis_url):
    async def run() -> list[bool]:
        answers = []
        for client in _clients(redis_url):
            async with Fetcher(FetchSettings(allowed_hosts=["127.0.0.1"])) as fetcher:
                robots = SharedRobots(fetcher, "curator/0.1", client, "curator:run:3:")
                answers += [await robots.allowed(site.origin + "/private/x"), await robots.allowed(site.origin + "/a")]
        return answers

    with Limited() as site:
        assert asyncio.run(run()) == [False, True, False, True]
    assert site.hits == {"/robots.txt": 1}


def test_the_breaker_streak_and_stop_flag_are_the_runs(redis_url):
    one, two = (RunFlags(c, 11) for c in _clients(redis_url))
    assert one.failed_call() == 1 and two.failed_call() == 2  # failures in a row, across workers
    two.answered()
    assert one.failed_call() == 1
    assert not two.stopped()
    one.stop()
    assert two.stopped() and not RunFlags(redis.Redis.from_url(redis_url), 12).stopped()
    token = one.claim("enrich:5", 30)
    assert token is not None and two.claim("enrich:5", 30) is None
    one.release("enrich:5", "not-the-holders-token")  # only the holder lets go
    assert two.claim("enrich:5", 30) is None
    one.release("enrich:5", token)
    assert two.claim("enrich:5", 30) is not None
