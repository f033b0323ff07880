"""What the processes of one Celery run share, in Redis (the broker's server): small classes with the
in-process implementation's interface, so the stages keep calling what they called before.

    RunFlags        stop / fault / breaker / budget flags of one run, a liveness mark, per-item claims
                    (a short lease a Heartbeat renews while the holder works: a dead holder's lapses soon)
    RedisBudget     Budget (enrich/limits.py) whose reservations and spend every worker sees
    RedisRateLimiter RateLimiter whose minute window counts every worker's calls
    (shared_http.py: per-host politeness and Retry-After pauses, the robots answers)

Keys live under `curator:run:<id>:` and expire a day after the run's last write: nothing to clean up.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Self

from curator.enrich.limits import WINDOW_S, Budget, RateLimiter
from curator.errors import BudgetExceeded, ConfigError, CuratorError
from curator.settings import Settings
from curator.urls import redact

if TYPE_CHECKING:
    import redis

TTL_S = 86_400
log = logging.getLogger(__name__)


class BrokerUnavailable(CuratorError):
    """The Celery engine's broker (Redis) cannot be reached: nothing was enqueued, items wait."""

    reason = "broker_unreachable"
    exit_code = 69  # EX_UNAVAILABLE, as an unreachable LLM endpoint


def redis_client(settings: Settings) -> redis.Redis:
    """A client of the broker's Redis (the shared state lives beside the queue); ConfigError for another broker."""
    import redis as redis_lib

    url = settings.celery.broker_url
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"celery.broker_url {redact(url)}: run.engine = \"celery\" needs a Redis broker "
                          "(redis://host:port/db): the workers share their politeness and LLM limits there")
    return redis_lib.Redis.from_url(url, socket_timeout=10.0, socket_connect_timeout=5.0,
                                    health_check_interval=30)


def ping(client: redis.Redis, settings: Settings) -> None:
    """Raises BrokerUnavailable (naming the broker without its password) when Redis does not answer."""
    import redis as redis_lib

    try:
        client.ping()
    except (redis_lib.ConnectionError, redis_lib.TimeoutError, OSError) as exc:
        raise BrokerUnavailable(
            f"the Celery broker {redact(settings.celery.broker_url)} cannot be reached ({type(exc).__name__}); "
            "start Redis there or fix celery.broker_url (CURATOR_CELERY__BROKER_URL); nothing was enqueued") from None


class NoWorkers(BrokerUnavailable):
    """The broker answers but no `curator worker` does: nothing was enqueued, items wait."""

    reason = "no_workers"


def require_workers(settings: Settings, patience_s: float = 20.0) -> None:
    """Raises NoWorkers unless a worker on the broker answers a ping within `patience_s` (a worker busy with
    tasks still answers: its main process does; one reconnecting after a broker restart gets that long).
    Without one, a run would wait celery.wait_timeout_s for nothing; an editor's `curator add` would hang."""
    from curator.engine.app import app

    give_up = time.monotonic() + patience_s
    while True:
        with app.connection_for_write() as conn:
            if app.control.ping(timeout=2.0, limit=1, connection=conn):
                return
        if time.monotonic() >= give_up:
            break
    raise NoWorkers(
        f"no `curator worker` answers on the broker {redact(settings.celery.broker_url)} "
        f"(queue {settings.celery.queue}); start one (`curator worker`, README \"For a team\") or set "
        "run.engine = \"local\"; nothing was enqueued, the items wait for the next run")


class RunFlags:
    """One run's flags in Redis, set by the coordinator or any worker and read by all."""

    def __init__(self, client: redis.Redis, run_id: int) -> None:
        self.r, self.run_id = client, run_id
        self.prefix = f"curator:run:{run_id}:"

    def _set(self, name: str, value: str | float) -> None:
        self.r.set(self.prefix + name, value, ex=TTL_S)

    def _get(self, name: str) -> str | None:
        raw = self.r.get(self.prefix + name)
        return None if raw is None else raw.decode() if isinstance(raw, bytes) else str(raw)

    # ---- liveness: a Redis that restarted without its data lost the run's queue too ---------
    def mark_alive(self) -> None:
        self._set("alive", 1)

    def alive(self) -> bool:
        return self._get("alive") is not None

    # ---- stop: tasks not started yet do nothing (their items wait for the next run) ---------
    def stop(self) -> None:
        self._set("stop", 1)

    def stopped(self) -> bool:
        return self._get("stop") is not None or self._get("fault") is not None or self._get("breaker") is not None

    # ---- run-level LLM faults: the endpoint cannot serve the run, the breaker, the budget --------
    def set_fault(self, reason: str, message: str) -> None:
        self.r.set(self.prefix + "fault", f"{reason}\n{message}", ex=TTL_S, nx=True)

    def fault(self) -> tuple[str, str] | None:
        raw = self._get("fault")
        return None if raw is None else (raw.split("\n", 1) + [""])[:2]  # type: ignore[return-value]

    def failed_call(self) -> int:
        """One more endpoint failure in a row (any worker's); returns the streak."""
        key = self.prefix + "streak"
        streak = int(self.r.incr(key))
        self.r.expire(key, TTL_S)
        return streak

    def answered(self) -> None:
        self._set("streak", 0)

    def open_breaker(self, message: str) -> None:
        self.r.set(self.prefix + "breaker", message, ex=TTL_S, nx=True)

    def breaker(self) -> str | None:
        return self._get("breaker")

    def budget_hit(self, message: str) -> None:
        self.r.set(self.prefix + "budget", message, ex=TTL_S, nx=True)

    def budget(self) -> str | None:
        return self._get("budget")

    # ---- claims: one task at a time works on an item, even when its message is delivered twice ------
    def claim(self, what: str, lease_s: float) -> str | None:
        """This holder's token when `what` was free (it is held for `lease_s` unless renewed), else None."""
        token = uuid.uuid4().hex
        return token if self.r.set(self.prefix + "claim:" + what, token, nx=True, px=_ms(lease_s)) else None

    def renew(self, what: str, token: str, lease_s: float) -> bool:
        """Another `lease_s` for the holder of `token`; False when the claim lapsed or is someone else's."""
        return bool(self.r.eval(_RENEW, 1, self.prefix + "claim:" + what, token, _ms(lease_s)))

    def release(self, what: str, token: str) -> None:
        self.r.eval(_RELEASE, 1, self.prefix + "claim:" + what, token)

    def holding(self, what: str, token: str, lease_s: float) -> Heartbeat:
        """`with flags.holding(...)`: the claim renewed every third of its lease while the block runs, then
        released. A holder killed mid-block stops renewing: its claim lapses `lease_s` later, not hours later."""
        return Heartbeat(lambda: self.renew(what, token, lease_s), lambda: self.release(what, token), lease_s,
                         what)

    # ---- budgets the coordinator computed (the issue budget counts earlier runs' spend) ------------
    def publish_budgets(self, budgets: list[Budget]) -> None:
        for b in budgets:
            if b.limit is not None:
                self.r.set(self.prefix + f"budget:{b.label}:limit", b.limit, ex=TTL_S)
                self.r.set(self.prefix + f"budget:{b.label}:spent", b.spent, ex=TTL_S, nx=True)

    def budgets(self) -> list[Budget]:
        out: list[Budget] = []
        for label in ("run", "issue"):
            limit = self._get(f"budget:{label}:limit")
            if limit is not None:
                out.append(RedisBudget(self, float(limit), label))
        return out


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Heartbeat:
    """A thread renewing one lease every third of it until the block ends (then `release`). A renewal the
    holder lost (the lease lapsed, Redis restarted empty) is logged and counted in `lost`; Redis not answering
    for a moment is retried at the next beat."""

    def __init__(self, renew: Callable[[], bool], release: Callable[[], None], lease_s: float, what: str) -> None:
        self._renew, self._release, self.what = renew, release, what
        self.every_s = lease_s / 3
        self.lost = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease {what}", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def _beat(self) -> None:
        import redis as redis_lib

        while not self._done.wait(self.every_s):
            try:
                if not self._renew():
                    self.lost += 1
                    log.warning("the claim on %s lapsed while held (Redis restarted or stalled)", self.what)
            except (redis_lib.ConnectionError, redis_lib.TimeoutError, OSError) as exc:
                log.warning("could not renew the claim on %s (%s); trying again", self.what, type(exc).__name__)

    def __exit__(self, *exc: object) -> None:
        import redis as redis_lib

        self._done.set()
        self._thread.join()
        try:
            self._release()
        except (redis_lib.ConnectionError, redis_lib.TimeoutError, OSError) as err:  # it lapses on its own
            log.warning("could not release the claim on %s (%s)", self.what, type(err).__name__)


_RESERVE = """
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
local reserved = tonumber(redis.call('GET', KEYS[2]) or '0')
if spent + reserved + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return tostring(spent) end
redis.call('INCRBYFLOAT', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return ''
"""
_SETTLE = """
local reserved = tonumber(redis.call('INCRBYFLOAT', KEYS[2], '-' .. ARGV[1]))
if reserved < 0 then redis.call('SET', KEYS[2], '0') end
redis.call('INCRBYFLOAT', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return ''
"""


class RedisBudget(Budget):
    """The run's (or issue's) spending cap across every worker: reserve and settle are one Redis script each."""

    def __init__(self, flags: RunFlags, limit_usd: float, label: str) -> None:
        super().__init__(limit_usd, 0.0, label)
        self.flags = flags
        self._keys = [flags.prefix + f"budget:{label}:spent", flags.prefix + f"budget:{label}:reserved"]

    def reserve(self, estimate_usd: float) -> None:
        if self.limit is None:
            return
        refused = self.flags.r.eval(_RESERVE, 2, *self._keys, repr(estimate_usd), repr(self.limit), TTL_S)
        if refused not in ("", b"", None):
            self.spent = float(refused)
            raise BudgetExceeded(
                f"the {self.label} budget of ${self.limit:.2f} is reached (spent ${self.spent:.4f}); "
                "the remaining items wait for the next run")

    def settle(self, estimate_usd: float, actual_usd: float) -> None:
        est = repr(estimate_usd if self.limit is not None else 0.0)
        self.flags.r.eval(_SETTLE, 2, *self._keys, est, repr(actual_usd), TTL_S)
        self.spent += actual_usd


_ACQUIRE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t - tonumber(ARGV[4]))
local events = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local count, used = 0, 0
for i = 1, #events, 2 do
  count = count + 1
  used = used + tonumber(string.match(events[i], '^(%d+):'))
end
local rpm, tpm, tokens = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if (rpm == 0 or count < rpm) and (tpm == 0 or used + tokens <= tpm) then
  redis.call('ZADD', KEYS[1], t, ARGV[3] .. ':' .. ARGV[5])
  redis.call('EXPIRE', KEYS[1], 120)
  return '0'
end
if #events == 0 then return '0.05' end
return tostring(tonumber(ARGV[4]) - (t - tonumber(events[2])))
"""


class RedisRateLimiter(RateLimiter):
    """llm.rpm / llm.tpm over every worker's calls of the last minute (Redis' clock, one script per try)."""

    def __init__(self, client: redis.Redis, rpm: int, tpm: int, key: str = "curator:llm:window",
                 *, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(rpm, tpm, sleep=sleep)
        self.r, self.key = client, key

    def acquire(self, tokens: int) -> None:
        if not self.rpm and not self.tpm:
            return
        tokens = min(tokens, self.tpm) if self.tpm else tokens
        while True:
            wait = float(self.r.eval(_ACQUIRE, 1, self.key, self.rpm, self.tpm, tokens, WINDOW_S, uuid.uuid4().hex))
            if wait <= 0:
                return
            self._sleep(max(0.05, wait))
