"""`sources check`'s rules section: each source's keep / block rules and what they did in its last run."""

from __future__ import annotations

from typing import Any

from curator.models import RuleTally
from curator.rules import KEEP_NONE
from curator.settings import Settings


def rules_report(settings: Settings, tallies: list[RuleTally]) -> list[dict[str, Any]]:
    """Per source with rules: each rule with how many of the last run's new candidates it blocked or kept,
    how many no keep rule let through, and how many passed or wait for their page."""
    by_source: dict[str, list[RuleTally]] = {}
    for t in tallies:
        by_source.setdefault(t.source, []).append(t)
    out = []
    for src in settings.sources:
        if not (src.keep or src.block):
            continue
        mine = by_source.get(src.name, [])

        def count(verdict: str, rule: str | None, mine: list[RuleTally] = mine) -> int:
            return sum(t.count for t in mine if t.verdict == verdict and t.rule == rule)

        rules = [{"list": "block", "rule": r.label, "blocked": count("blocked", r.label)} for r in src.block]
        rules += [{"list": "keep", "rule": r.label, "kept": count("kept", r.label)} for r in src.keep]
        out.append({
            "source": src.name,
            "run": mine[0].run_id if mine else None,
            "rules": rules,
            "blocked_by_keep": count("blocked", KEEP_NONE),
            "passed": sum(t.count for t in mine if t.verdict in ("passed", "pending")),
        })
    return out


def rules_lines(report: list[dict[str, Any]]) -> list[str]:
    lines = []
    for entry in report:
        run = f"run #{entry['run']}" if entry["run"] else "not run yet"
        lines.append(f"rules of {entry['source']} (last run that brought new candidates: {run}):")
        for r in entry["rules"]:
            done = f"blocked {r['blocked']}" if r["list"] == "block" else f"kept {r['kept']}"
            lines.append(f"  {r['list']:<5} {r['rule']:<40} {done}")
        if any(r["list"] == "keep" for r in entry["rules"]):
            lines.append(f"  keep  (no keep rule matched){'':<12} blocked {entry['blocked_by_keep']}")
    return lines
