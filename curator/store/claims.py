"""Store: work handed out to workers, safe when several take from one store at once.

A claim marks items waiting at a stage's input state as taken by one worker until a lease runs out
(`claimed_by`, `claimed_until`, read through `store.now`). On Postgres the claiming SELECT locks the rows
it takes and skips rows another claimer holds (`FOR UPDATE SKIP LOCKED`), so two workers never get the
same item and never wait on each other; on SQLite the transaction's write lock (BEGIN IMMEDIATE) lets one
claimer in at a time, to the same effect. A claim ends when the item moves on (any state change clears
it), when its worker releases it, or when its lease runs out: the work of a worker that died (kill -9)
goes to the next claimer then, and nothing is lost.
"""

from __future__ import annotations

from datetime import timedelta

from curator.models import ItemState, WorkItem
from curator.store.base import StoreBase, ts

DEFAULT_LEASE_S = 600.0  # longer than any one item's fetch, extract or LLM call takes (their own timeouts)

_WORK_COLUMNS = "id, url, canonical_url, title, snippet"
_FREE = "(claimed_until IS NULL OR claimed_until < ?)"  # never claimed, released, or its lease ran out


class ClaimQueries(StoreBase):
    def claim_items(self, state: ItemState, limit: int, worker: str, *,
                    lease_s: float = DEFAULT_LEASE_S) -> list[WorkItem]:
        """Up to `limit` items waiting at `state` that no other worker holds, oldest first, now held by
        `worker` for `lease_s` seconds. Items another worker holds under a live lease are passed over."""
        if limit <= 0:
            return []
        now = self.now()
        with self.transaction():
            rows = self.db.execute(
                f"SELECT {_WORK_COLUMNS} FROM items WHERE state=? AND {_FREE} ORDER BY id LIMIT ?"
                + self.dialect.claim_lock(),
                (state.value, ts(now), limit),
            ).fetchall()
            ids = [r["id"] for r in rows]
            if ids:
                self.db.execute(
                    f"UPDATE items SET claimed_by=?, claimed_until=? WHERE id IN ({','.join('?' * len(ids))})",
                    (worker, ts(now + timedelta(seconds=lease_s)), *ids),
                )
        return [WorkItem(id=r["id"], url=r["url"], canonical_url=r["canonical_url"], title=r["title"],
                         snippet=r["snippet"]) for r in rows]

    def claim_item(self, item_id: int, state: ItemState, worker: str, *,
                   lease_s: float = DEFAULT_LEASE_S) -> WorkItem | None:
        """Claim one given item if it still waits at `state` and no other worker holds it (a per-item task's
        first step: None means the work is done already, or another worker is on it — do nothing). A task
        redelivered to the worker that holds the claim gets it again, with a fresh lease."""
        now = self.now()
        with self.transaction():
            row = self.db.execute(
                f"SELECT {_WORK_COLUMNS} FROM items WHERE id=? AND state=? AND ({_FREE} OR claimed_by=?)"
                + self.dialect.claim_lock(),
                (item_id, state.value, ts(now), worker),
            ).fetchone()
            if row is None:
                return None
            self.db.execute("UPDATE items SET claimed_by=?, claimed_until=? WHERE id=?",
                            (worker, ts(now + timedelta(seconds=lease_s)), item_id))
        return WorkItem(id=row["id"], url=row["url"], canonical_url=row["canonical_url"], title=row["title"],
                        snippet=row["snippet"])

    def release_claims(self, worker: str, ids: list[int] | None = None) -> int:
        """Give back `worker`'s claims (those on `ids`, or all of them); how many were released."""
        where, params = "claimed_by=?", [worker, *(ids or [])]
        if ids is not None:
            if not ids:
                return 0
            where += f" AND id IN ({','.join('?' * len(ids))})"
        with self.transaction():
            cur = self.db.execute(f"UPDATE items SET claimed_by=NULL, claimed_until=NULL WHERE {where}", params)
        return int(cur.rowcount)

    def claims(self) -> dict[int, str]:
        """Items held under a live lease, and by which worker (what `status` or a test can look at)."""
        rows = self.db.execute("SELECT id, claimed_by FROM items WHERE claimed_by IS NOT NULL AND claimed_until >= ? "
                               "ORDER BY id", (ts(self.now()),)).fetchall()
        return {int(r["id"]): str(r["claimed_by"]) for r in rows}
