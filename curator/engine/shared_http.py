"""The fetch side of the shared state: per-host Retry-After pauses and request spacing, and robots.txt
answers, kept in Redis so that every worker (on any machine) honours what one of them was told.

    SharedFetcher(Fetcher)        a worker's fetcher: the gate below, and fetch.per_host_concurrency as
                                  HostSlots, a limit over every worker's requests to the host
    Fetcher.gate = RedisHostGate  (http.HostGate: wait before a request, pause on Retry-After)
    SharedRobots(RobotsCache)     robots.txt fetched once per origin per run, its text shared

A host's slot is a lease in a Redis sorted set (member: the holder's token, score: when it lapses) that its
holder renews while the request lasts: a worker killed mid-request frees its slot within celery.lease_s.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, Literal

from protego import Protego

from curator.errors import FetchError
from curator.http import Fetcher, _HostState
from curator.robots import RobotsCache
from curator.settings import FetchSettings

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)
HOST_KEY = "curator:host:"
ROBOTS_TTL_S = 86_400
_NONE = "\x00none"  # "no rules": robots.txt missing or unreachable, everything allowed

# The wait before this process may send to the host: the shared pause, then a slot `delay` after the last.
_SLOT = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
if paused - t > tonumber(ARGV[2]) then return 'paused:' .. tostring(paused - t) end
local start = math.max(t, paused, tonumber(redis.call('GET', KEYS[2]) or '0'))
if tonumber(ARGV[1]) > 0 then
  redis.call('SET', KEYS[2], tostring(start + tonumber(ARGV[1])), 'EX', 3600)
end
return tostring(start - t)
"""
_PAUSE = """
local now = redis.call('TIME')
local until_t = tonumber(now[1]) + tonumber(now[2]) / 1e6 + tonumber(ARGV[1])
if until_t > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], tostring(until_t), 'EX', math.ceil(tonumber(ARGV[1])) + 60)
end
return ''
"""


# A slot of KEYS[1] for ARGV[1] when fewer than ARGV[2] live leases are held; lapsed ones are dropped first.
_TAKE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], t + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return 1
"""
_RENEW = """
local now = redis.call('TIME')
local t = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', t + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
"""


class HostSlots(asyncio.Semaphore):
    """fetch.per_host_concurrency over every worker: this process's own semaphore (so its requests queue here
    first), then a lease in Redis. Each held lease is renewed every third of `lease_s` until released."""

    def __init__(self, client: redis.Redis, host: str, limit: int, lease_s: float, *, poll_s: float = 0.05) -> None:
        super().__init__(limit)
        self.r, self.key, self.limit = client, HOST_KEY + host + ":slots", limit
        self.lease_ms, self.poll_s = max(1, int(lease_s * 1000)), poll_s
        self._tokens: list[str] = []
        self._beat: asyncio.Task[None] | None = None

    async def acquire(self) -> Literal[True]:
        await super().acquire()
        token = uuid.uuid4().hex
        try:
            while not self.r.eval(_TAKE, 1, self.key, token, self.limit, self.lease_ms):
                await asyncio.sleep(self.poll_s)  # another worker holds the host's slots
        except BaseException:
            super().release()
            raise
        self._tokens.append(token)
        if self._beat is None or self._beat.done():
            self._beat = asyncio.get_running_loop().create_task(self._renew())
        return True

    def release(self) -> None:
        if self._tokens:
            token = self._tokens.pop()
            if not self._tokens and self._beat is not None:
                self._beat.cancel()
            self.r.zrem(self.key, token)
        super().release()

    async def _renew(self) -> None:
        import redis as redis_lib

        while self._tokens:
            await asyncio.sleep(self.lease_ms / 3000)
            try:
                for token in list(self._tokens):
                    self.r.eval(_RENEW, 1, self.key, token, self.lease_ms)
            except (redis_lib.ConnectionError, redis_lib.TimeoutError, OSError) as exc:  # next beat tries again
                log.warning("could not renew a request slot of %s (%s)", self.key, type(exc).__name__)


class SharedFetcher(Fetcher):
    """The Fetcher of a worker: Retry-After pauses and spacing through RedisHostGate, and each host's
    per_host_concurrency counted over every worker (HostSlots) instead of in this process alone."""

    def __init__(self, settings: FetchSettings, client: redis.Redis, lease_s: float) -> None:
        super().__init__(settings)
        self.r, self.lease_s = client, lease_s
        self.gate = RedisHostGate(client)

    def _host(self, host: str) -> _HostState:
        state = self._hosts.get(host)
        if state is None:
            slots = HostSlots(self.r, host, self.settings.per_host_concurrency, self.lease_s)
            state = self._hosts[host] = _HostState(slots, host=host)
        return state


class RedisHostGate:
    """http.HostGate over Redis: one host's pause (Retry-After on 429/503) and request spacing for all workers."""

    def __init__(self, client: redis.Redis) -> None:
        self.r = client

    def _keys(self, host: str) -> tuple[str, str]:
        return HOST_KEY + host + ":paused", HOST_KEY + host + ":next"

    async def wait(self, host: str, delay_s: float, budget_s: float) -> None:
        raw = self.r.eval(_SLOT, 2, *self._keys(host), repr(delay_s), repr(max(0.0, budget_s)))
        answer = raw.decode() if isinstance(raw, bytes) else str(raw)
        if answer.startswith("paused:"):
            pause = float(answer.split(":", 1)[1])
            err = FetchError(f"host paused for {pause:.1f}s by Retry-After", reason="rate_limited", retryable=True)
            err.retry_after_s = pause  # type: ignore[attr-defined]
            raise err
        if (wait := float(answer)) > 0:
            await asyncio.sleep(wait)

    def pause(self, host: str, seconds: float) -> None:
        self.r.eval(_PAUSE, 1, self._keys(host)[0], repr(seconds))


class SharedRobots(RobotsCache):
    """RobotsCache whose answers (the robots.txt text, or "none") every worker reads from Redis first."""

    def __init__(self, fetcher: Fetcher, user_agent: str, client: redis.Redis, prefix: str) -> None:
        super().__init__(fetcher, user_agent)
        self.r, self.prefix = client, prefix  # the run's keys: each run reads robots.txt afresh

    async def _load(self, origin: str) -> Protego | None:
        key = self.prefix + "robots:" + origin
        raw = self.r.get(key)
        if raw is not None:
            cached = raw.decode() if isinstance(raw, bytes) else str(raw)
            return None if cached == _NONE else Protego.parse(cached)
        text = await self._text(origin)
        self.r.set(key, _NONE if text is None else text, ex=ROBOTS_TTL_S)
        return None if text is None else Protego.parse(text)
