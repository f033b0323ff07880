"""`curator collect` on the Celery engine: discover here, hand each item's fetch → extract to the workers,
wait for them with the local engine's progress, counters, deadline and stop; cluster here; triage here;
hand each story lead's enrichment to the workers; wait again.

    CeleryPipeline(Pipeline)        _collect_network: discover, enqueue the chains, wait
    CeleryEnrichStage(EnrichStage)  _full_pass: enqueue enrich_item per lead, wait, raise the run's LLM fault

Waiting ends when every task has answered, or the run is stopped (SIGTERM, Ctrl-C, run.deadline_s: tasks
not yet started do nothing), or celery.wait_timeout_s passes, or Redis lost the run's queue (restarted
without its data): the run is then `interrupted` and whatever did not get done waits, in the store, for the
next run. A result is only a tally for the summary; the store's state is the truth.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from celery import chain, states
from celery.result import AsyncResult

from curator import finds
from curator.context import StageContext
from curator.discover import discover
from curator.engine.app import configure
from curator.engine.shared import RunFlags, ping, redis_client, require_workers
from curator.engine.tasks import Job, enrich_item, extract_item, fetch_item
from curator.enrich.backends import Backend, endpoint
from curator.enrich.limits import Budget
from curator.enrich.stage import EnrichStage
from curator.errors import BudgetExceeded, LLMUnavailable
from curator.http import Fetcher
from curator.models import EnrichRequest, ItemState, RunSummary, WorkItem
from curator.pipeline import Pipeline
from curator.workers import ParsePool

log = logging.getLogger(__name__)
POLL_S = 0.2
MGET_BATCH = 1000


@dataclass
class EngineContext(StageContext):
    """The stage context with the pipeline's `stop(reason)`: a wait that gives up names why."""

    stop: Callable[[str], None] = lambda reason: None


def job_of(ctx: StageContext) -> Job:
    return {"home": str(ctx.settings.home.resolve()), "run_id": ctx.run.run_id, "provider": ctx.settings.llm.provider}


@contextmanager
def timed(run: RunSummary, phase: str) -> Iterator[None]:
    """The coordinator's own time in `phase`, as the counter engine/time_ms/<phase> (bench_scale.py reads
    these to measure the run's serial share: what no number of workers makes shorter)."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        run.counters[f"engine/time_ms/{phase}"] += int((time.perf_counter() - t0) * 1000)


def flags_of(ctx: StageContext) -> RunFlags:
    client = redis_client(ctx.settings)
    ping(client, ctx.settings)
    return RunFlags(client, ctx.run.run_id)


def answered(pending: list[AsyncResult[Any]]) -> list[AsyncResult[Any]]:
    """The results among `pending` that have answered. On a key-value result backend (Redis) one MGET per
    thousand results, not one GET each: at 5,000 pending, asking each took ~0.25 s of the coordinator's CPU
    per poll (bench_scale.py), a serial cost that grew with the run."""
    backend = pending[0].backend if pending else None
    mget, key_for = getattr(backend, "mget", None), getattr(backend, "get_key_for_task", None)
    if backend is None or mget is None or key_for is None:
        return [r for r in pending if r.ready()]
    ready: list[AsyncResult[Any]] = []
    for start in range(0, len(pending), MGET_BATCH):
        batch = pending[start:start + MGET_BATCH]
        for res, value in zip(batch, mget([key_for(r.id) for r in batch]), strict=True):
            if value is not None and backend.decode_result(value).get("status") in states.READY_STATES:
                ready.append(res)
    return ready


class Waiter:
    """Waits for a stage's tasks, merging each answer's counters into the run as it arrives."""

    def __init__(self, ctx: StageContext, flags: RunFlags) -> None:
        self.ctx, self.flags = ctx, flags
        self.cel = ctx.settings.celery

    def wait(self, stage: str, results: list[AsyncResult[Any]], stop: Callable[[str], None]) -> None:
        """`stop(reason)` is the pipeline's; results answered are merged, the rest are left to the store."""
        with timed(self.ctx.run, f"wait_{stage}"):
            self._wait(stage, results, stop)

    def _wait(self, stage: str, results: list[AsyncResult[Any]], stop: Callable[[str], None]) -> None:
        import redis as redis_lib

        pending = list(results)
        give_up = time.monotonic() + self.cel.wait_timeout_s
        stopped, last_answer = False, time.monotonic()
        # After a stop, a task in flight answers within one request's or model call's time; queued ones at
        # once (they do nothing). Silence that long means no worker is left to answer: stop waiting.
        settings = self.ctx.settings
        quiet_s = min(self.cel.task_time_limit_s, max(settings.fetch.deadline_s, settings.llm.timeout_s) + 10)
        with self.ctx.reporter.stage(stage, len(pending)) as advance:
            while pending:
                now = time.monotonic()
                try:
                    if self.ctx.stopping.is_set() and not stopped:
                        self.flags.stop()  # what has not started does nothing; what is in flight finishes
                        stopped, last_answer = True, now
                    if not self.flags.alive():
                        stop("the broker (Redis) restarted and lost the run's queued tasks")
                        break
                    for res in answered(pending):
                        pending.remove(res)
                        self._merge(res)
                        advance()
                        last_answer = now
                except (redis_lib.ConnectionError, redis_lib.TimeoutError, OSError) as exc:
                    log.warning("the broker does not answer (%s); still waiting", type(exc).__name__)
                if now > give_up:
                    stop(f"the workers did not finish within celery.wait_timeout_s = {self.cel.wait_timeout_s:g} s")
                    break
                if stopped and now > last_answer + quiet_s:
                    break
                time.sleep(POLL_S)
        if pending:
            self.ctx.run.counters["engine/unanswered_tasks"] += len(pending)

    def _merge(self, res: AsyncResult[Any]) -> None:
        run = self.ctx.run
        if res.failed():  # killed by its time limit, or a worker lost: its item waits in the store
            run.counters["engine/task_failed"] += 1
            log.warning("a task failed (%s); its item waits for the next run", type(res.result).__name__)
            return
        answer = res.result if isinstance(res.result, dict) else {}
        for key, n in answer.get("counters", {}).items():
            run.counters[key] += int(n)
        run.notes.extend(answer.get("notes", []))
        run.cost_usd += float(answer.get("cost_usd", 0.0))
        if (outcome := answer.get("outcome", "done")) != "done":  # a no-op: past its stage, stopped, in flight
            run.counters[f"engine/{outcome}"] += 1


class CeleryEnrichStage(EnrichStage):
    """The enrichment stage whose full pass (one model call per story lead) runs on the workers."""

    def _budgets(self) -> list[Budget]:
        budgets = super()._budgets()
        flags_of(self.ctx).publish_budgets(budgets)  # the workers reserve against these, together
        return budgets

    def _full_pass(self, run: RunSummary, backend: Backend, todo: list[EnrichRequest], model_key: str) -> None:
        if not todo:
            return
        flags = flags_of(self.ctx)
        flags.mark_alive()
        job, queue = job_of(self.ctx), self.settings.celery.queue
        results = [enrich_item.si(job, req.item_id).apply_async(queue=queue) for req in todo]
        assert isinstance(self.ctx, EngineContext)
        Waiter(self.ctx, flags).wait("enrich", results, self.ctx.stop)
        self._run_level(run, flags, backend)
        left = sum(1 for i in self.store.items(ids=[r.item_id for r in todo]) if i.state == ItemState.EXTRACTED)
        if left and not self.stopping.is_set():
            run.counters["enrich/waiting_engine"] += left  # degrading: the run did less than asked
            run.notes.append(f"{left} items were not enriched by the workers (a task failed or was lost); "
                             "they wait for the next run")

    def _run_level(self, run: RunSummary, flags: RunFlags, backend: Backend) -> None:
        """What a worker found about the whole run: the endpoint cannot serve it, the breaker, the budget."""
        if (fault := flags.fault()) is not None:
            raise LLMUnavailable(fault[1], reason=fault[0])
        if (last := flags.breaker()) is not None:
            run.counters["enrich/waiting_breaker_open"] += len(self.store.waiting(ItemState.EXTRACTED))
            raise LLMUnavailable(
                f"the LLM endpoint {endpoint(self.settings.llm.base_url)} (model {backend.model}) failed "
                f"{self.settings.llm.breaker_failures} calls in a row (last: {last}), so the LLM stage stopped: check "
                "the provider's status and llm.base_url, raise llm.timeout_s if it is slow, or run with "
                "`--provider offline`", reason="llm_breaker_open")
        if (message := flags.budget()) is not None:
            raise BudgetExceeded(message)


class CeleryPipeline(Pipeline):
    """The local pipeline with fetch, extract and enrich sent to `curator worker` processes."""

    enrich_stage = CeleryEnrichStage

    def context(self, run: RunSummary) -> StageContext:
        return EngineContext(self.settings, self.store, self.reporter, self.stopping, run, self.redactor, self.stop)

    def collect(self, *, discover: bool = True, command: str = "collect") -> RunSummary:
        configure(self.settings)
        return super().collect(discover=discover, command=command)

    async def _collect_network(self, run: RunSummary, discover_sources: bool) -> None:
        ctx = self.context(run)
        flags = flags_of(ctx)  # BrokerUnavailable (69) before anything is fetched
        require_workers(self.settings)  # NoWorkers (69): not an hour's wait for no one
        flags.mark_alive()
        if discover_sources:
            with timed(run, "discover"), ParsePool(self.settings.extract) as pool:
                async with Fetcher(self.settings.fetch) as fetcher:
                    await discover(ctx, fetcher, pool.run)
        job = job_of(ctx)
        queue = self.settings.celery.queue
        due = finds.due_for_retry(self.store)
        if due:
            run.counters["retry/editor_finds"] += len(due)
        results: list[AsyncResult[Any]] = []
        enqueued: list[int] = []
        with timed(run, "enqueue"):
            self._enqueue(results, enqueued, due, job, queue)
        Waiter(ctx, flags).wait("fetch", results, self.stop)
        waiting = {ItemState.DISCOVERED, ItemState.FETCHED}
        left = sum(1 for i in self.store.items(ids=enqueued) if i.state in waiting)
        if left and not self.stopping.is_set():  # a task failed or was lost: the store keeps the item waiting
            run.counters["engine/waiting"] += left
            run.notes.append(f"{left} items were not fetched or extracted by the workers (a task failed or was "
                             "lost); they wait for the next run")

    def _enqueue(self, results: list[AsyncResult[Any]], enqueued: list[int], due: list[WorkItem], job: Job,
                 queue: str) -> None:
        if not self.stopping.is_set():
            for row in self.store.waiting(ItemState.FETCHED):  # pages fetched by an earlier, interrupted run
                results.append(extract_item.si(None, job, row.id).apply_async(queue=queue))
                enqueued.append(row.id)
            for row, retry in [*((r, False) for r in self.store.waiting(ItemState.DISCOVERED)), *((r, True) for r in due)]:
                results.append(chain(fetch_item.si(job, row.id, retry), extract_item.s(job, row.id)).apply_async(queue=queue))
                enqueued.append(row.id)

    def _cluster(self, run: RunSummary) -> None:
        with timed(run, "cluster"):
            super()._cluster(run)

    def _enrich(self, run: RunSummary) -> None:
        with timed(run, "enrich"):  # triage and the coordinator's part of enrichment, and its wait_enrich
            super()._enrich(run)
