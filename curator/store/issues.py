"""Store: issues (drafts and their items). Placeholder for the ISSUES part's `IssueQueries` (curator/issue_store.py)."""

from __future__ import annotations

from datetime import datetime

from curator.models import DraftIssue
from curator.store.base import StoreBase, now_utc, parse_ts, ts


class IssueQueries(StoreBase):
    def open_draft_issue(self) -> DraftIssue | None:
        row = self.db.execute("SELECT * FROM issues WHERE state='draft' ORDER BY number DESC LIMIT 1").fetchone()
        if row is None:
            return None
        return DraftIssue(id=row["id"], number=row["number"], state=row["state"], path=row["path"],
                          created_at=parse_ts(row["created_at"]) or now_utc(),
                          updated_at=parse_ts(row["updated_at"]) or now_utc(),
                          published_at=parse_ts(row["published_at"]), as_of=parse_ts(row["as_of"]))

    def next_issue_number(self, first: int) -> int:
        row = self.db.execute("SELECT MAX(number) FROM issues").fetchone()
        return max(first, (row[0] or 0) + 1)

    def save_draft_issue(self, number: int, path: str, placements: list[tuple[int, str, int]],
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
                cur = self.db.execute(
                    "INSERT INTO issues(number, state, path, created_at, updated_at, as_of) "
                    "VALUES (?, 'draft', ?, ?, ?, ?)",
                    (number, path, now, now, ts(as_of)),
                )
                issue_id = int(cur.lastrowid or 0)
            for item_id, section, position in placements:
                self.db.execute(
                    "INSERT INTO issue_items(issue_id, item_id, section, position) VALUES (?, ?, ?, ?)",
                    (issue_id, item_id, section, position),
                )
                self.db.execute("UPDATE items SET state='drafted', updated_at=? WHERE id=?", (now, item_id))
        return int(issue_id)
