"""The fetch side of the shared state: per-host Retry-After pauses and request spacing, and robots.txt
answers, kept in Redis so that every worker (on any machine) honours what one of them was told.

    Fetcher.gate = RedisHostGate  (http.HostGate: wait before a request, pause on Retry-After)
    SharedRobots(RobotsCache)     robots.txt fetched once per origin per run, its text shared
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from protego import Protego

from curator.errors import FetchError
from curator.http import Fetcher
from curator.robots import RobotsCache

if TYPE_CHECKING:
    import redis

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


def share_politeness(fetcher: Fetcher, client: redis.Redis) -> None:
    fetcher.gate = RedisHostGate(client)


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
