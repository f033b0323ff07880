"""What a finished run is worth telling the editor, sent to every hook that listens, never failing the run.

    after_collect(run)          run_degraded / run_failed · source_failing (once per streak) · budget_nearly_spent
    after_draft(run, findings)  draft_ready with the lint summary
    test(events)                a sample of each event to each hook (`curator notify test`)

Called after the run's result is stored. A hook that fails (HTTP 500, timeout, a refused signature, an env
var not set) is a warning in the log and a row in the store that `curator status` shows; the run's status
and exit code stay what they were. Logs and rows name a hook by its label and host only.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from curator.errors import CuratorError
from curator.models import RunSummary
from curator.notify.config import EventName, WebhookSettings
from curator.notify.deliver import Outcome, Sender, host_of
from curator.notify.events import (
    TOP_FINDINGS,
    BudgetNearlySpent,
    DraftReady,
    Event,
    LintLine,
    RunProblem,
    SourceFailing,
    message,
    sample,
)
from curator.notify.payloads import build
from curator.redaction import Redactor
from curator.settings import Settings
from curator.store import Store
from curator.store.base import ts
from curator.store.notify import WebhookDelivery

if TYPE_CHECKING:
    import httpx

    from curator.findings import Finding

log = logging.getLogger(__name__)
T = TypeVar("T")


def _run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, also from a thread that already runs a loop (the review board): then in a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: list[T] = []
    worker = threading.Thread(target=lambda: box.append(asyncio.run(coro)))
    worker.start()
    worker.join()
    return box[0]


class Notifier:
    def __init__(self, settings: Settings, store: Store, *, clock: Callable[[], float] = time.time,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock  # the signatures' timestamps: the receivers check them against their own wall clock
        self._transport = transport  # tests only

    @property
    def hooks(self) -> list[WebhookSettings]:
        return self.settings.notify.webhooks

    # ---- what is worth telling ---------------------------------------------------------------
    def after_collect(self, run: RunSummary) -> list[Outcome]:
        """Tell the hooks how this collect went, in one concurrent round (a dead hook costs its timeout once,
        not once per event). Never raises: a notification never changes a run's outcome."""
        if not self.hooks:
            return []
        try:
            events = [e for e in (self._run_problem(run), self._budget(run)) if e is not None]
            pairs = [(h, e) for e in events for h in self._listening(e)] + self._failing_sources()
            outcomes = self._deliver(pairs, run.run_id)
            for outcome, (hook, event) in zip(outcomes, pairs, strict=True):
                if outcome.ok and isinstance(event, SourceFailing):
                    self.store.mark_told("source_failing", event.source, hook.label, self.settings.now())
            return outcomes
        except Exception as exc:  # noqa: BLE001  (called from the run's `finally`: it must not replace its outcome)
            log.warning("notifications after run #%d were not sent: %s", run.run_id, type(exc).__name__
                        if not isinstance(exc, CuratorError) else exc)
            return []

    def after_draft(self, run: RunSummary, findings: Sequence[Finding]) -> list[Outcome]:
        if not self.hooks or run.draft_path is None or run.issue is None:
            return []
        errors = sum(f.severity == "error" for f in findings)
        top = sorted(findings, key=lambda f: (f.severity != "error", f.line))[:TOP_FINDINGS]
        event = DraftReady(
            publication=self.settings.publication.name, at=self.settings.now(), issue=run.issue.number,
            path=str(run.draft_path), stories=len(run.issue.stories), errors=errors, warnings=len(findings) - errors,
            findings=[LintLine(line=f.line, rule=f.rule, severity=f.severity, message=f.message) for f in top])
        try:
            return self.send([event], run_id=run.run_id)
        except Exception as exc:  # noqa: BLE001  (the draft is written: a notification cannot undo that)
            log.warning("the draft_ready notification was not sent: %s", type(exc).__name__
                        if not isinstance(exc, CuratorError) else exc)
            return []

    def test(self, names: Sequence[EventName]) -> list[Outcome]:
        """A sample of each event in `names` to every hook listening for it (all hooks when they listen to none)."""
        at = self.settings.now()
        events = [sample(n, self.settings.publication.name, at) for n in names]
        return self.send(events, run_id=None, only_listening=False)

    def _run_problem(self, run: RunSummary) -> RunProblem | None:
        if run.status not in ("degraded", "failed", "interrupted"):
            return None
        return RunProblem(
            event="run_degraded" if run.status == "degraded" else "run_failed",
            publication=self.settings.publication.name, at=self.settings.now(), run_id=run.run_id,
            command=run.command, status=run.status, reasons=run.reasons(), counters=dict(sorted(run.counters.items())),
            notes=run.notes[-3:], error=run.error)

    def _budget(self, run: RunSummary) -> BudgetNearlySpent | None:
        budget = self.settings.llm.budget_run_usd
        if not budget:
            return None
        spent = self.store.run_cost_usd(run.run_id)
        ratio = self.settings.notify.budget_warn_ratio
        if spent < ratio * budget:
            return None
        return BudgetNearlySpent(publication=self.settings.publication.name, at=self.settings.now(),
                                 run_id=run.run_id, spent_usd=round(spent, 6), budget_usd=budget, warn_ratio=ratio)

    def _failing_sources(self) -> list[tuple[WebhookSettings, Event]]:
        """A source failing `notify.source_failures` runs in a row is told once per hook (a hook that failed
        to take it is told again next run); once it answers again, its next streak is told anew."""
        threshold = self.settings.notify.source_failures
        pairs: list[tuple[WebhookSettings, Event]] = []
        for row in self.store.source_health():
            if self.settings.source(row.name) is None:
                continue
            if row.consecutive_failures < threshold:
                self.store.forget_told("source_failing", row.name)
                continue
            event = SourceFailing(publication=self.settings.publication.name, at=self.settings.now(),
                                  source=row.name, kind=row.kind, failures=row.consecutive_failures,
                                  threshold=threshold, last_error=row.last_error, last_error_at=row.last_error_at)
            pairs += [(h, event) for h in self._listening(event)
                      if not self.store.was_told("source_failing", row.name, h.label)]
        return pairs

    # ---- delivery ----------------------------------------------------------------------------
    def _listening(self, event: Event) -> list[WebhookSettings]:
        return [h for h in self.hooks if event.event in h.events]

    def send(self, events: Sequence[Event], *, run_id: int | None, only_listening: bool = True) -> list[Outcome]:
        pairs = [(h, e) for e in events for h in (self._listening(e) if only_listening else self.hooks)]
        return self._deliver(pairs, run_id)

    def _deliver(self, pairs: list[tuple[WebhookSettings, Event]], run_id: int | None) -> list[Outcome]:
        if not pairs:
            return []
        outcomes = _run_sync(self._post_all(pairs))
        for outcome, (hook, _) in zip(outcomes, pairs, strict=True):
            # A receiver's answer may quote what it was sent: the hook's own secrets are masked in it.
            detail = Redactor(hook.secrets()).text(outcome.detail)
            self.store.record_delivery(WebhookDelivery(hook=outcome.hook, host=outcome.host, event=outcome.event,
                                                       ok=outcome.ok, detail=detail, run_id=run_id,
                                                       at=ts(self.settings.now()) or ""))
            if outcome.ok:
                log.info("webhook %s (%s): %s delivered", outcome.hook, outcome.host, outcome.event)
            else:
                log.warning("webhook %s (%s) failed for %s: %s", outcome.hook, outcome.host, outcome.event, detail)
        return outcomes

    async def _post_all(self, pairs: list[tuple[WebhookSettings, Event]]) -> list[Outcome]:
        language = self.settings.publication.language
        async with Sender(self.settings.notify, transport=self._transport) as sender:

            async def one(hook: WebhookSettings, event: Event) -> Outcome:
                url = hook.target_url()
                if url is None or hook.missing:
                    unset = ", ".join(hook.missing) or "the URL"
                    return Outcome(hook.label, host_of(url), event.event, False,
                                   f"environment variable {unset} is not set", attempts=0)
                out = build(hook, url, event, message(event, language), language=language, now_s=self.clock())
                return await sender.post(hook.label, hook.kind, event.event, out)

            return list(await asyncio.gather(*(one(h, e) for h, e in pairs)))
