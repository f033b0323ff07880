"""Status report: recent runs, items per state, source health, LLM usage (what `curator status` shows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from curator.errors import LockHeld, StoreError
from curator.models import (
    IssueWindow,
    LLMSpend,
    OpenDraft,
    SourceHealth,
    SourceStatus,
    StatusReport,
)
from curator.runlock import run_lock
from curator.settings import Settings
from curator.store import Store, now_utc

FLAG_AFTER_FAILURES = 3  # a source failing this many runs in a row is flagged


def next_issue_window(settings: Settings, store: Store) -> tuple[datetime, datetime]:
    """(start, end) of the next issue's window: the open draft's own week, else the week ending now
    (settings.now(), which a pinned run.now fixes, so the report never depends on today's date)."""
    draft = store.open_draft_issue()
    end = draft.as_of if draft and draft.as_of else settings.now()
    return end - timedelta(days=settings.publication.window_days), end


def status_report(settings: Settings, store: Store) -> StatusReport:
    _mark_crashed_runs(settings, store)
    runs = store.recent_runs(10)
    start, end = next_issue_window(settings, store)
    # Per source: items inside the next issue's window that can still be drafted (a back-catalogue
    # entry skipped as too_old, a failed fetch or an item already published is not a candidate).
    per_week = store.window_items_per_source(start, end)
    sources = [
        SourceStatus(
            name=row.name, kind=row.kind, last_ok_at=row.last_ok_at, last_error=row.last_error,
            consecutive_failures=row.consecutive_failures, items_total=row.items_total,
            items_week=per_week.get(row.name, 0), consecutive_empty=row.consecutive_empty,
            flagged=source_flag(row) is not None, flag=source_flag(row),
        )
        for row in store.source_health()
        if settings.source(row.name) is not None  # a source removed from the config leaves the report
    ]
    wall = now_utc()  # LLM calls are stamped with the wall clock: spend is counted on it, not run.now
    spend = LLMSpend(
        run=store.llm_totals(runs[0].started_at if runs else wall),
        week=store.llm_totals(wall - timedelta(days=7)),
        month=store.llm_totals(wall - timedelta(days=30)),
        cache_hits_recent_runs=sum(r.counters.get("enrich/cached", 0) for r in runs),
    )
    draft = store.open_draft_issue()
    return StatusReport(
        store=store.location,
        items=store.state_counts(),
        runs=runs,
        sources=sources,
        llm=spend,
        open_draft=OpenDraft(number=draft.number, path=draft.path) if draft else None,
        next_issue_window=IssueWindow(start=_iso(start), end=_iso(end)),
        next_issue_candidates=_candidates_per_section(settings, store, start, end),
        learned_weights=store.learned_weights(),
        learning=settings.learning.enabled,
    )


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def source_flag(row: SourceHealth) -> str | None:
    """Why a source needs the editor's eye: failing, or answering with nothing, N runs in a row."""
    if row.consecutive_failures >= FLAG_AFTER_FAILURES:
        return f"failed {row.consecutive_failures} runs in a row (last error: {row.last_error})"
    if row.consecutive_empty >= FLAG_AFTER_FAILURES:
        return f"yielded 0 items {row.consecutive_empty} runs in a row (moved, or its page changed shape?)"
    return None


def _mark_crashed_runs(settings: Settings, store: Store) -> None:
    """A run row still `running` while nobody holds the run lock was killed (kill -9): say so. The lock is held
    only for the update, so a run starting meanwhile is never marked."""
    try:
        with run_lock(settings, "status"):
            store.mark_crashed_runs()
    except (LockHeld, StoreError):
        pass  # a run is in progress (its row is truly running), or the workspace is read-only: report as is


def _candidates_per_section(settings: Settings, store: Store, start: datetime, end: datetime) -> dict[str, int]:
    """Enriched stories in the window that the next draft can choose from, per section."""
    counts = store.window_stories_per_section(start, end, settings.profile.min_score)
    return {s.id: counts.get(s.id, 0) for s in settings.sections}

