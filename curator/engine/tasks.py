"""The per-item tasks a `curator worker` runs: fetch → extract (a chain per item), then enrich per story lead.

Each task is handed a job (workspace folder, run id, provider) and an item id, and reads the item from the
store: one found past the task's stage (a redelivered message, a second run's copy) is left alone, so a
task can be delivered any number of times and changes the item once. The stage code is the local engine's
own (fetch.PageFetcher, pipeline.extract_item, the EnrichStage's save / fail / fall-back); the task only
adds the reading and the shared flags. A task returns the counters and notes it added, for the run's summary.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from curator import finds
from curator.context import StageContext
from curator.engine.app import app
from curator.engine.shared import RedisRateLimiter, RunFlags, redis_client
from curator.engine.shared_http import SharedFetcher, SharedRobots
from curator.enrich.backends import Backend
from curator.enrich.stage import FALLBACK_REASONS, EnrichStage
from curator.errors import BudgetExceeded, CuratorError, LLMError, LLMUnavailable
from curator.fetch import PageFetcher
from curator.models import Enrichment, EnrichRequest, Item, ItemState, RunSummary, WorkItem
from curator.pipeline import extract_item as extract_page
from curator.progress import Reporter
from curator.redaction import Redactor
from curator.settings import Settings, load_settings
from curator.sources import known_kinds
from curator.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")
CLAIM_POLL_S = 0.2
Job = dict[str, Any]  # {"home": str, "run_id": int, "provider": str}: JSON, as every task argument
Result = dict[str, Any]  # {"counters": {...}, "notes": [...], "cost_usd": float, "outcome": str}


@dataclass
class _Workspace:
    """What a worker process keeps per workspace: settings, its own store connection, the Redis client."""

    settings: Settings
    store: Store
    flags_client: Any
    backends: dict[int, Backend]


_OPEN: dict[tuple[int, str, str, int], _Workspace] = {}


def _workspace(job: Job) -> _Workspace:
    # Per process (a forked child must not share its parent's SQLite connection), per provider flag, and
    # per run: a long-lived worker reads the workspace's config afresh for each run, as `collect` does.
    key = (os.getpid(), str(job["home"]), str(job.get("provider") or ""), int(job["run_id"]))
    if key not in _OPEN:
        for old in [k for k in _OPEN if k[:3] == key[:3]]:
            _OPEN.pop(old).store.close()
        # A task runs in a Celery pool child, a daemonic process that may not start processes of its own:
        # parsing and offline enrichment run in it (extract.workers = 0); the worker's -c is the parallelism.
        overrides: dict[str, dict[str, Any]] = {"extract": {"workers": 0}}
        if job.get("provider"):
            overrides["llm"] = {"provider": job["provider"]}
        settings = load_settings(Path(job["home"]), env=os.environ, overrides=overrides, kinds=known_kinds())
        store = Store(settings.store_target, clock=settings.now)
        _OPEN[key] = _Workspace(settings, store, redis_client(settings), {})
    return _OPEN[key]


def _context(ws: _Workspace, job: Job) -> StageContext:
    run = RunSummary(run_id=int(job["run_id"]), command="collect", status="running")
    store = cast(Store, _StoreClock(ws.store))
    return StageContext(ws.settings, store, Reporter(quiet=True), threading.Event(), run,
                        Redactor.for_settings(ws.settings))


class _StoreClock:
    """The worker's store, timing its calls: what the task spent in the store (bench_scale.py reads it as
    engine/time_ms/task_store; with the task's own engine/time_ms/task, the share the store's writes take)."""

    def __init__(self, store: Store) -> None:
        self._store, self.spent_s = store, 0.0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self.spent_s += time.perf_counter() - t0

        return timed


class _Timed:
    """A task's working time and its store share, into its counters (merged into the run's summary)."""

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx

    def __enter__(self) -> None:
        self.t0 = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        counters = self.ctx.run.counters
        counters["engine/time_ms/task"] += int((time.perf_counter() - self.t0) * 1000)
        spent = getattr(self.ctx.store, "spent_s", 0.0)
        counters["engine/time_ms/task_store"] += int(spent * 1000)


def _result(ctx: StageContext, outcome: str, before: Result | None = None) -> Result:
    counters = dict((before or {}).get("counters", {}))
    for key, n in ctx.run.counters.items():
        counters[key] = counters.get(key, 0) + n
    return {"counters": counters, "notes": [*(before or {}).get("notes", []), *ctx.run.notes],
            "cost_usd": float((before or {}).get("cost_usd", 0.0)) + ctx.run.cost_usd,
            "outcome": outcome if before is None or outcome != "past_stage" else before.get("outcome", outcome)}


@app.task(name="curator.fetch_item")
def fetch_item(job: Job, item_id: int, retry: bool = False) -> Result:
    """Fetch the item's page while it is `discovered` (or, `retry`, while it is an editor's stand-in due)."""
    ws = _workspace(job)
    ctx = _context(ws, job)
    flags = RunFlags(ws.flags_client, ctx.run.run_id)
    if flags.stopped():
        return _result(ctx, "stopped")

    def waiting() -> WorkItem | None:
        if retry:
            return next((r for r in finds.due_for_retry(ws.store) if r.id == item_id), None)
        return ws.store.work_item_at(item_id, ItemState.DISCOVERED)

    taken = _take(flags, f"fetch:{item_id}", ws.settings, waiting)
    if isinstance(taken, str):
        return _result(ctx, taken)
    row, token = taken
    with flags.holding(f"fetch:{item_id}", token, ws.settings.celery.lease_s), _Timed(ctx):
        asyncio.run(_fetch(ctx, flags, row, retry))
    return _result(ctx, "done")


def _take(flags: RunFlags, what: str, settings: Settings, waiting: Callable[[], T | None]) -> tuple[T, str] | str:
    """The item and this delivery's claim token while the item waits at the task's stage; else why not
    ("past_stage", or "in_flight": another delivery of the same message still holds it). A second delivery
    waits for the first (a late acknowledgement redelivers a slow task), so its answer is only given once the
    item is done. The claim is a short lease its holder renews (RunFlags.holding): when the holder was killed,
    the redelivered task takes over within celery.lease_s, not after the longest a task may take."""
    give_up = time.monotonic() + settings.celery.task_time_limit_s * 0.8
    while True:
        if (row := waiting()) is None:
            return "past_stage"
        if (token := flags.claim(what, settings.celery.lease_s)) is not None:
            if (row := waiting()) is None:  # done by the holder just before it let go
                flags.release(what, token)
                return "past_stage"
            return row, token
        if time.monotonic() > give_up:
            return "in_flight"
        time.sleep(CLAIM_POLL_S)


async def _fetch(ctx: StageContext, flags: RunFlags, row: WorkItem, retry: bool) -> None:
    async with SharedFetcher(ctx.settings.fetch, flags.r, ctx.settings.celery.lease_s) as fetcher:
        robots = SharedRobots(fetcher, ctx.settings.fetch.user_agent, flags.r, flags.prefix) \
            if ctx.settings.fetch.respect_robots else None
        await PageFetcher(ctx, fetcher, robots, {row.id} if retry else set()).fetch_one(row)
        for key, value in fetcher.stats.items():
            ctx.run.counters[f"http/{key.split('/', 1)[-1]}"] += value
        if robots is not None and robots.unavailable:
            ctx.run.counters["fetch/robots_unavailable"] += robots.unavailable


@app.task(name="curator.extract_item")
def extract_item(fetched: Result | None, job: Job, item_id: int) -> Result:
    """Extract the item's stored page while it is `fetched` (the second link of its chain)."""
    from curator.workers import ParsePool

    ws = _workspace(job)
    ctx = _context(ws, job)
    flags = RunFlags(ws.flags_client, ctx.run.run_id)
    taken = _take(flags, f"extract:{item_id}", ws.settings, lambda: ws.store.work_item_at(item_id, ItemState.FETCHED))
    if isinstance(taken, str):
        return _result(ctx, taken, fetched)
    row, token = taken
    # In this process (extract.workers = 0, see _workspace): the task's time limit is the deadline, and
    # Celery replaces a child that dies.
    with flags.holding(f"extract:{item_id}", token, ws.settings.celery.lease_s), _Timed(ctx), \
            ParsePool(ws.settings.extract) as pool:
        asyncio.run(extract_page(ctx, pool, row, ctx.store.load_page(item_id)))
    return _result(ctx, "done", fetched)


def _backend(ws: _Workspace, stage: EnrichStage, flags: RunFlags) -> Backend:
    """This run's backend in this process, with the run's shared budgets and the shared rate limit."""
    backend = ws.backends.get(flags.run_id)
    if backend is None:
        backend, _ = stage.backend(flags.budgets())
        if hasattr(backend, "limiter"):  # a model's backend: its rpm/tpm window counts every worker's calls
            llm = ws.settings.llm
            backend.limiter = RedisRateLimiter(flags.r, llm.rpm, llm.tpm)
        ws.backends.clear()  # one run's backend at a time: an earlier run's budgets are spent
        ws.backends[flags.run_id] = backend
    return backend


@app.task(name="curator.enrich_item")
def enrich_item(job: Job, item_id: int) -> Result:
    """Enrich a story's lead while it is `extracted`: the cache first, then one model call at most."""
    ws = _workspace(job)
    ctx = _context(ws, job)
    flags = RunFlags(ws.flags_client, ctx.run.run_id)
    if flags.stopped() or flags.budget():
        return _result(ctx, "stopped")

    def waiting() -> Item | None:
        item = ws.store.item(item_id)
        return item if item is not None and item.state == ItemState.EXTRACTED and item.article else None

    # A message delivered twice while the first copy is still calling the model: the second waits for it.
    taken = _take(flags, f"enrich:{item_id}", ws.settings, waiting)
    if isinstance(taken, str):
        return _result(ctx, taken)
    item, token = taken
    with flags.holding(f"enrich:{item_id}", token, ws.settings.celery.lease_s), _Timed(ctx):
        stage = EnrichStage(ctx)
        backend = _backend(ws, stage, flags)
        try:
            outcome = _enrich(stage, backend, flags, stage.request_for(item))
        finally:
            stage._log_calls(ctx.run, backend)  # the llm_calls ledger, under the coordinator's run id
    return _result(ctx, outcome)


def _enrich(stage: EnrichStage, backend: Backend, flags: RunFlags, req: EnrichRequest) -> str:
    run, model_key = stage.ctx.run, backend.model or backend.name
    if not req.text.strip():
        stage.store.set_state(req.item_id, ItemState.SKIPPED, "not_article")
        run.counters["enrich/not_article"] += 1
        return "done"
    hit = stage.store.cache_get(req.content_hash, backend.prompt_sha, model_key) if backend.caches_answers else None
    if hit:  # another run (or this one's first delivery) paid for this content already
        stage.store.save_enrichment(req.item_id, stage.redacted(Enrichment.model_validate_json(hit)), req.content_hash)
        run.counters["enrich/cached"] += 1
        return "done"
    try:
        enr = backend.enrich(req)
    except BudgetExceeded as exc:
        flags.budget_hit(str(exc))  # the item stays `extracted`
        return "budget"
    except LLMUnavailable as exc:
        flags.set_fault(exc.reason, str(exc))  # the item stays `extracted`; the run ends after what is in flight
        return "fault"
    except LLMError as exc:
        if exc.reason in FALLBACK_REASONS:
            flags.answered()
            stage._fall_back(run, backend, req, exc, model_key)
            return "done"
        run.counters[f"enrich/{exc.reason}"] += 1
        if flags.failed_call() >= stage.settings.llm.breaker_failures:
            flags.open_breaker(str(exc))  # this item and the rest wait (extracted) for the next run
            return "breaker"
        stage._failed(run, backend, req, exc, model_key)
        return "done"
    except CuratorError as exc:
        stage.store.set_state(req.item_id, ItemState.FAILED, exc.reason)
        run.counters[f"enrich/{exc.reason}"] += 1
        return "done"
    except Exception as exc:  # noqa: BLE001  (an unexpected fault is this item's outcome, as in the local pass)
        run.counters["enrich/internal_error"] += 1
        log.error("unexpected %s enriching item %s; recorded as internal_error", type(exc).__name__, req.item_id)
        stage._failed(run, backend, req, LLMError("internal error", reason="internal_error", retryable=True), model_key)
        return "done"
    flags.answered()
    stage._save(run, backend, req, enr, model_key, cache=backend.caches_answers)
    run.counters["enrich/ok"] += 1
    return "done"
