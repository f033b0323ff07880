"""Store: runs (started, finished, crashed, recent) and the read-only queries `curator status` reports."""

from __future__ import annotations

import json
from datetime import datetime

from curator.models import LearnedWeight, RunSummary
from curator.store.base import StoreBase, now_utc, parse_ts, ts


class RunQueries(StoreBase):
    def start_run(self, command: str) -> int:
        """Record a new run. The caller holds the run lock, so a row still `running` belongs to a process that
        died without finishing (kill -9, power loss): it is marked `crashed` first."""
        with self.transaction():
            self._mark_crashed()
            run_id = self._insert_id("INSERT INTO runs(command, status, started_at) VALUES (?, 'running', ?)",
                                     (command, ts(now_utc())))
        return run_id

    def mark_crashed_runs(self) -> int:
        """Mark every run still `running` as `crashed`; only for a caller that holds (or found free) the run lock."""
        with self.transaction():
            return self._mark_crashed()

    def _mark_crashed(self) -> int:
        note = "the process ended without finishing the run (killed or crashed); the next run resumed its work"
        cur = self.db.execute(
            "UPDATE runs SET status='crashed', ended_at=COALESCE(ended_at, ?), notes=? WHERE status='running'",
            (ts(now_utc()), json.dumps([note])),
        )
        return int(cur.rowcount)

    def finish_run(self, run_id: int, status: str, counters: dict[str, int], notes: list[str]) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE runs SET status=?, ended_at=?, counters=?, notes=? WHERE id=?",
                (status, ts(now_utc()), json.dumps(counters, sort_keys=True), json.dumps(notes, ensure_ascii=False), run_id),
            )

    def recent_runs(self, limit: int = 10) -> list[RunSummary]:
        rows = self.db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [
            RunSummary(
                run_id=r["id"],
                command=r["command"],
                status=r["status"],
                started_at=parse_ts(r["started_at"]) or now_utc(),
                ended_at=parse_ts(r["ended_at"]),
                counters=json.loads(r["counters"]),
                notes=json.loads(r["notes"]),
            )
            for r in rows
        ]

    # ---- what `curator status` reports ----------------------------------------------------------
    def items_per_source(self, start: datetime, end: datetime) -> dict[str, int]:
        """Per source: items dated (published, else discovered) inside [start, end] that can still be drafted
        (a back-catalogue entry skipped as too_old, a failed fetch or an item already published is not)."""
        return dict(self.db.execute(
            "SELECT s.source, COUNT(DISTINCT i.id) FROM item_sources s JOIN items i ON i.id = s.item_id "
            "WHERE COALESCE(i.published_at, i.discovered_at) BETWEEN ? AND ? "
            "AND i.state NOT IN ('skipped', 'failed', 'published') GROUP BY s.source",
            (ts(start), ts(end))).fetchall())

    def stories_per_section(self, start: datetime, end: datetime, min_score: int) -> dict[str, int]:
        """Enriched stories dated inside [start, end] scoring at least `min_score`, per section."""
        section, score = self.dialect.json_text("e.fields", "section"), self.dialect.json_number("e.fields", "score")
        rows = self.db.execute(
            f"SELECT {section} AS section, COUNT(DISTINCT COALESCE(i.story_id, i.id)) AS n "
            "FROM items i JOIN enrichments e ON e.item_id = i.id "
            "WHERE i.state IN ('enriched', 'drafted') AND COALESCE(i.published_at, i.discovered_at) BETWEEN ? AND ? "
            f"AND {score} >= ? GROUP BY {section}",
            (ts(start), ts(end), min_score),
        ).fetchall()
        return {r["section"]: r["n"] for r in rows}

    def learned_weights(self) -> list[LearnedWeight]:
        rows = self.db.execute("SELECT kind, key, weight, kept, dropped FROM weights ORDER BY kind, weight")
        return [LearnedWeight.model_validate(dict(r)) for r in rows]
