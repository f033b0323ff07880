"""Store: the queries of the draft → review → publish half (issues, decisions, archive, weights).

A mixin of `Store` (StoreBase: `self.db` and `transaction()`); every method returns models or
plain values, never rows. Methods that write do not open a transaction of their own unless they say so,
so `publish` can group its writes in one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from curator.models import (
    Action,
    ArchivedIssue,
    ArchiveLink,
    ArchiveMatch,
    Decision,
    IssueRecord,
    ItemState,
    Placement,
    PublishedDecision,
    Weights,
    WeightTally,
)
from curator.store.base import StoreBase, now_utc, parse_ts, ts


class IssueQueries(StoreBase):
    """Issues, their placements, the editor's decisions, the archive and learned weights."""

    # ---- issues --------------------------------------------------------------------------------
    def open_draft_issue(self) -> IssueRecord | None:
        """The newest issue still in draft (what `draft` regenerates and the board shows), if any."""
        row = self.db.execute("SELECT number FROM issues WHERE state='draft' ORDER BY number DESC LIMIT 1").fetchone()
        return self.issue(int(row["number"])) if row else None

    def next_issue_number(self, first: int) -> int:
        row = self.db.execute("SELECT MAX(number) FROM issues").fetchone()
        return max(first, (row[0] or 0) + 1)

    def issue(self, number: int) -> IssueRecord | None:
        row = self.db.execute("SELECT number, state, path, as_of, created_at FROM issues WHERE number=?",
                             (number,)).fetchone()
        if row is None:
            return None
        return IssueRecord(number=row["number"], state=row["state"], path=row["path"],
                           as_of=parse_ts(row["as_of"]), created_at=parse_ts(row["created_at"]) or now_utc())

    def published_issue_numbers(self) -> list[int]:
        return [int(r[0]) for r in self.db.execute("SELECT number FROM issues WHERE state='published'")]

    def save_draft_issue(self, number: int, path: str, placements: list[Placement],
                         as_of: datetime | None = None) -> int:
        """Record (or replace) the draft issue `number` and its items; mark them drafted."""
        now = ts(now_utc())
        with self.transaction():
            row = self.db.execute("SELECT id FROM issues WHERE number=?", (number,)).fetchone()
            if row:
                issue_id = row["id"]
                self.db.execute("UPDATE issues SET path=?, updated_at=?, as_of=COALESCE(?, as_of) WHERE id=?",
                                (path, now, ts(as_of), issue_id))
                # Items dropped from a regenerated draft go back to the pool.
                self.db.execute(
                    "UPDATE items SET state='enriched' WHERE state='drafted' AND id IN "
                    "(SELECT item_id FROM issue_items WHERE issue_id=?)",
                    (issue_id,),
                )
                self.db.execute("DELETE FROM issue_items WHERE issue_id=?", (issue_id,))
            else:
                issue_id = self._insert_id(
                    "INSERT INTO issues(number, state, path, created_at, updated_at, as_of) "
                    "VALUES (?, 'draft', ?, ?, ?, ?)",
                    (number, path, now, now, ts(as_of)),
                )
            for p in placements:
                self.db.execute(
                    "INSERT INTO issue_items(issue_id, item_id, section, position) VALUES (?, ?, ?, ?)",
                    (issue_id, p.item_id, p.section, p.position),
                )
                self.db.execute("UPDATE items SET state='drafted', updated_at=? WHERE id=?", (now, p.item_id))
        return int(issue_id)

    def issue_item_ids(self, number: int) -> set[int]:
        """Item ids placed in the stored draft `number`."""
        return {int(r[0]) for r in self.db.execute(
            "SELECT ii.item_id FROM issue_items ii JOIN issues s ON s.id = ii.issue_id WHERE s.number=?", (number,))}

    def mark_published(self, number: int, path: str, at: str) -> None:
        """The issue is out (`at`: ISO timestamp). Call inside a transaction."""
        self.db.execute("UPDATE issues SET state='published', published_at=?, path=? WHERE number=?",
                        (at, path, number))

    def set_items_state(self, ids: Sequence[int], state: ItemState, at: str) -> None:
        """Move items to `state` (no reason, no retry bookkeeping: a publish outcome). Call inside a transaction."""
        self.db.execute(f"UPDATE items SET state=?, updated_at=? WHERE id IN ({','.join('?' * len(ids))})",
                        (state.value, at, *ids))

    # ---- decisions -----------------------------------------------------------------------------
    def add_decision(self, issue_number: int, action: str, *, created_at: str, story_id: int | None = None,
                     item_id: int | None = None, section: str | None = None, position: int | None = None,
                     title: str | None = None, summary: str | None = None, url: str | None = None) -> int:
        """Append one decision row (an editor's `Action`, or `published:*` written by publish); its id."""
        return self._insert_id(
            "INSERT INTO decisions(issue_number, story_id, item_id, action, section, position, title, summary, url,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (issue_number, story_id, item_id, action, section, position, title, summary, url, created_at),
        )

    def decisions(self, issue_number: int) -> list[Decision]:
        """The editor's decisions on the issue, oldest first (the order they are replayed in)."""
        # The table also holds what `publish` recorded (`published:keep` …): those are history, not instructions.
        marks = ",".join("?" * len(Action))
        rows = self.db.execute(f"SELECT * FROM decisions WHERE issue_number=? AND action IN ({marks}) ORDER BY id",
                               (issue_number, *(a.value for a in Action))).fetchall()
        return [
            Decision(id=r["id"], issue_number=r["issue_number"], action=Action(r["action"]), story_id=r["story_id"],
                     item_id=r["item_id"], section=r["section"], position=r["position"], title=r["title"],
                     summary=r["summary"], url=r["url"], created_at=datetime.fromisoformat(r["created_at"]))
            for r in rows
        ]

    def published_decisions(self) -> list[PublishedDecision]:
        """Every kept / edited / dropped story `publish` recorded, with its lead item, in table order."""
        rows = self.db.execute(
            "SELECT d.action, d.item_id FROM decisions d WHERE d.action IN "
            "('published:keep', 'published:edit', 'published:drop') AND d.item_id IS NOT NULL"
        ).fetchall()
        return [PublishedDecision(r["action"], int(r["item_id"])) for r in rows]

    # ---- archive -------------------------------------------------------------------------------
    def add_archive_links(self, links: Iterable[ArchiveLink]) -> int:
        """Remember published links (one transaction); how many were new."""
        added = 0
        with self.transaction():
            for link in links:
                cur = self.db.execute(
                    "INSERT INTO archive(canonical_url, url, title, norm_title, issue_number, issue_date, "
                    "source_file) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    tuple(link),
                )
                added += cur.rowcount
        return added

    def archive_match(self, canonical_url: str, norm_titles: Iterable[str]) -> ArchiveMatch | None:
        """The archive row carrying this link, else the first of these normalised titles; None if none."""
        row = self.db.execute("SELECT issue_number FROM archive WHERE canonical_url=? LIMIT 1",
                              (canonical_url,)).fetchone()
        for norm in norm_titles:
            if row is not None:
                break
            row = self.db.execute("SELECT issue_number FROM archive WHERE norm_title=? LIMIT 1", (norm,)).fetchone()
        return ArchiveMatch(row["issue_number"]) if row is not None else None

    def archived_issues(self) -> list[ArchivedIssue]:
        """Numbered, dated issues in the archive, newest number first (first date and file of each)."""
        rows = self.db.execute(
            "SELECT issue_number, MIN(issue_date) AS d, MIN(source_file) AS f FROM archive "
            "WHERE issue_date IS NOT NULL AND issue_number IS NOT NULL GROUP BY issue_number ORDER BY issue_number DESC"
        ).fetchall()
        return [ArchivedIssue(number=r["issue_number"], date=r["d"], file=r["f"]) for r in rows]

    # ---- learned weights -----------------------------------------------------------------------
    def save_weights(self, tallies: Iterable[WeightTally], at: str) -> None:
        """Upsert learned weights (one transaction)."""
        with self.transaction():
            for t in tallies:
                self.db.execute(
                    "INSERT INTO weights(kind, key, weight, kept, dropped, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(kind, key) DO UPDATE SET weight=excluded.weight, kept=excluded.kept, "
                    "dropped=excluded.dropped, updated_at=excluded.updated_at",
                    (*t, at),
                )

    def weights(self) -> Weights:
        return {(r["kind"], r["key"]): r["weight"] for r in self.db.execute("SELECT kind, key, weight FROM weights")}
