"""What the CLI prints: run summaries and the `curator status` report (nothing below cli/ prints)."""

from __future__ import annotations

import json
import unicodedata
from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from curator.models import RunSummary, StatusReport
    from curator.settings import Settings


def display_width(text: str) -> int:
    """Terminal columns: CJK (wide and full-width) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: object, width: int) -> str:
    """`text` left-aligned in `width` terminal columns (f"{x:<28}" counts a CJK character as one)."""
    s = str(text)
    return s + " " * max(0, width - display_width(s))


def table_lines(rows: list[list[str]]) -> list[str]:
    """Rows as aligned columns, in terminal columns (CJK-aware)."""
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def print_summary(run: RunSummary, *, as_json: bool = False, extra: dict[str, Any] | None = None) -> None:
    if as_json:  # `extra`: what the command adds to the same document (draft: the lint result)
        typer.echo(json.dumps({
            "run_id": run.run_id, "status": run.status, "reasons": run.reasons(),
            "counters": dict(sorted(run.counters.items())),
            "notes": run.notes, "draft": str(run.draft_path) if run.draft_path else None,
            "error": run.error, **(extra or {}),
        }, ensure_ascii=False, indent=2))
        return
    reasons = run.reasons() if run.status != "ok" else {}
    why = ", ".join(f"{k}={n}" for k, n in reasons.items())
    typer.echo(f"run #{run.run_id}: {run.status}" + (f": {why}" if why else ""))
    stages: dict[str, list[str]] = {}
    for key, n in sorted(run.counters.items()):
        stage, _, outcome = key.partition("/")
        stages.setdefault(stage, []).append(f"{outcome}={n}")
    for stage, parts in stages.items():
        typer.echo(f"  {stage:<9} {'  '.join(parts)}")
    for note in run.notes:
        typer.echo(f"  note: {note}")


def origins_json(settings: Settings) -> dict[str, str]:
    """`status --json`'s "settings": each setting set by a layer, and the layer (secrets as set/unset)."""
    return dict(describe_origins(settings))


def print_origins(settings: Settings) -> None:
    typer.echo("settings (where each came from):")
    for key, origin in describe_origins(settings):
        typer.echo(f"  {key:<28} {origin}")


def print_status(status: StatusReport) -> None:
    report: dict[str, Any] = status.model_dump(mode="json")  # the view `--json` prints: the same strings
    echo = typer.echo
    echo(f"store: {report['store']}")
    echo("items by state:")
    for key, n in report["items"].items() or [("(none)", 0)]:
        echo(f"  {pad(key, 32)} {n}")
    echo("recent runs:")
    for r in report["runs"]:
        took = ""
        if r["ended_at"]:
            took = f" {(datetime.fromisoformat(r['ended_at']) - datetime.fromisoformat(r['started_at'])).total_seconds():.1f}s"
        top = ", ".join([f"{k}={v}" for k, v in sorted(r["counters"].items()) if not k.startswith("rules/")][:8])
        top += "".join(f", {k}={v}" for k, v in sorted(r["counters"].items()) if k.startswith("rules/"))
        echo(f"  #{r['run_id']:<4} {r['command']:<8} {r['status']:<11} {r['started_at'][:19]}{took}  {top}")
    echo("sources:")
    for s in report["sources"]:
        flag = f"  ⚠ {s['flag']}" if s["flag"] else ""
        echo(f"  {pad(s['name'], 28)} ok={s['last_ok_at'] or '-':<26} failures={s['consecutive_failures']} "
             f"last_error={s['last_error'] or '-'} items={s['items_total']} this_week={s['items_week']}{flag}")
    llm = report["llm"]
    for label in ("run", "week", "month"):
        x = llm[label]
        echo(f"llm {label:<5}: calls={x['calls']} tokens={x['input_tokens']}+{x['output_tokens']} cost=${x['cost_usd']:.4f}")
    echo(f"llm cache hits (recent runs): {llm['cache_hits_recent_runs']}")
    cands = report["next_issue_candidates"]
    window = report["next_issue_window"]
    echo(f"next issue window: {window['start'][:10]} → {window['end'][:10]}")
    echo("next issue candidates: " + ("  ".join(f"{k}={v}" for k, v in cands.items()) or "(no sections)"))
    if report["learned_weights"]:
        state = "on" if report["learning"] else "off (learning.enabled = false)"
        echo(f"learned weights ({state}):")
        for w in report["learned_weights"]:
            echo(f"  {pad(w['kind'], 6)} {pad(w['key'], 28)} {w['weight']:.2f}  kept={w['kept']} dropped={w['dropped']}")
    if report["open_draft"]:
        echo(f"open draft: #{report['open_draft']['number']} at {report['open_draft']['path']}")


def describe_origins(settings: Settings) -> list[tuple[str, str]]:
    """(setting, origin) pairs for `curator status`, secrets shown only as set/unset."""
    rows = sorted(settings.origins.items())
    if settings.llm.api_key is not None:
        rows.append(("llm.api_key", "set (value hidden)"))
    return rows
