"""Status report: recent runs, items per state, source health, LLM usage (what `curator status` shows)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import typer

from curator.errors import LockHeld, StoreError
from curator.runlock import RunLock
from curator.settings import Settings
from curator.store import Store, now_utc

FLAG_AFTER_FAILURES = 3  # a source failing this many runs in a row is flagged


def status_report(settings: Settings, store: Store) -> dict[str, Any]:
    now = now_utc()
    _mark_crashed_runs(settings, store)
    runs = store.recent_runs(10)
    week_ago = (now - timedelta(days=7)).isoformat(timespec="seconds")
    per_week = dict(store.db.execute(
        "SELECT source, COUNT(*) FROM item_sources WHERE seen_at >= ? GROUP BY source", (week_ago,)).fetchall())
    sources = []
    for row in store.source_health():
        sources.append({
            "name": row["name"], "kind": row["kind"], "last_ok_at": row["last_ok_at"],
            "last_error": row["last_error"], "consecutive_failures": row["consecutive_failures"],
            "items_total": row["items_total"], "items_week": per_week.get(row["name"], 0),
            "flagged": row["consecutive_failures"] >= FLAG_AFTER_FAILURES,
        })
    spend = {}
    for label, since in (("run", runs[0].started_at if runs else now), ("week", now - timedelta(days=7)),
                         ("month", now - timedelta(days=30))):
        row = store.llm_totals(since)
        spend[label] = {k: row[k] for k in ("calls", "input_tokens", "output_tokens", "cost_usd")}
    cache_hits = sum(r.counters.get("enrich/cached", 0) for r in runs)
    draft = store.open_draft_issue()
    return {
        "store": str(settings.db_path),
        "items": store.state_counts(),
        "runs": [r.model_dump(mode="json") for r in runs],
        "sources": sources,
        "llm": {**spend, "cache_hits_recent_runs": cache_hits},
        "open_draft": {"number": draft["number"], "path": draft["path"]} if draft else None,
        "next_issue_candidates": _candidates_per_section(settings, store, now),
        "learned_weights": [dict(r) for r in store.db.execute(
            "SELECT kind, key, weight, kept, dropped FROM weights ORDER BY kind, weight")],
        "learning": settings.learning.enabled,
    }


def _mark_crashed_runs(settings: Settings, store: Store) -> None:
    """A run row still `running` while nobody holds the run lock was killed (kill -9): say so. The lock is held
    only for the update, so a run starting meanwhile is never marked."""
    try:
        with RunLock(settings.lock_path, "status"):
            store.mark_crashed_runs()
    except (LockHeld, StoreError):
        pass  # a run is in progress (its row is truly running), or the workspace is read-only: report as is


def _candidates_per_section(settings: Settings, store: Store, now: Any) -> dict[str, int]:
    """Enriched stories in the window that the next draft can choose from, per section."""
    since = (now - timedelta(days=settings.publication.window_days)).isoformat(timespec="seconds")
    rows = store.db.execute(
        "SELECT json_extract(e.fields, '$.section') AS section, COUNT(DISTINCT COALESCE(i.story_id, i.id)) AS n "
        "FROM items i JOIN enrichments e ON e.item_id = i.id "
        "WHERE i.state IN ('enriched', 'drafted') AND COALESCE(i.published_at, i.discovered_at) >= ? "
        "AND json_extract(e.fields, '$.score') >= ? GROUP BY section",
        (since, settings.profile.min_score),
    ).fetchall()
    counts = {r["section"]: r["n"] for r in rows}
    return {s.id: counts.get(s.id, 0) for s in settings.sections}


def print_status(report: dict[str, Any]) -> None:
    echo = typer.echo
    echo(f"store: {report['store']}")
    echo("items by state:")
    for key, n in report["items"].items() or [("(none)", 0)]:
        echo(f"  {key:<32} {n}")
    echo("recent runs:")
    for r in report["runs"]:
        took = ""
        if r["ended_at"]:
            took = f" {(datetime.fromisoformat(r['ended_at']) - datetime.fromisoformat(r['started_at'])).total_seconds():.1f}s"
        top = ", ".join(f"{k}={v}" for k, v in sorted(r["counters"].items())[:8])
        echo(f"  #{r['run_id']:<4} {r['command']:<8} {r['status']:<11} {r['started_at'][:19]}{took}  {top}")
    echo("sources:")
    for s in report["sources"]:
        flag = "  ⚠ failing" if s["flagged"] else ""
        echo(f"  {s['name']:<28} ok={s['last_ok_at'] or '-':<26} failures={s['consecutive_failures']} "
             f"last_error={s['last_error'] or '-'} items={s['items_total']} this_week={s['items_week']}{flag}")
    llm = report["llm"]
    for label in ("run", "week", "month"):
        x = llm[label]
        echo(f"llm {label:<5}: calls={x['calls']} tokens={x['input_tokens']}+{x['output_tokens']} cost=${x['cost_usd']:.4f}")
    echo(f"llm cache hits (recent runs): {llm['cache_hits_recent_runs']}")
    cands = report["next_issue_candidates"]
    echo("next issue candidates: " + ("  ".join(f"{k}={v}" for k, v in cands.items()) or "(no sections)"))
    if report["learned_weights"]:
        state = "on" if report["learning"] else "off (learning.enabled = false)"
        echo(f"learned weights ({state}):")
        for w in report["learned_weights"]:
            echo(f"  {w['kind']:<6} {w['key']:<28} {w['weight']:.2f}  kept={w['kept']} dropped={w['dropped']}")
    if report["open_draft"]:
        echo(f"open draft: #{report['open_draft']['number']} at {report['open_draft']['path']}")
