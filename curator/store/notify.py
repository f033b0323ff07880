"""Store: what the webhooks were told (a source's failing streak is told once) and how each delivery went."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from curator.store.base import StoreBase, ts


class WebhookDelivery(BaseModel):
    """One delivery to one hook: the hook's label and host (never its URL), the event, what came of it."""

    hook: str
    host: str
    event: str
    ok: bool
    detail: str
    run_id: int | None = None
    at: str


class NotifyQueries(StoreBase):
    def was_told(self, event: str, subject: str, hook: str) -> bool:
        row = self.db.execute("SELECT 1 FROM notify_sent WHERE event=? AND subject=? AND hook=?",
                              (event, subject, hook)).fetchone()
        return row is not None

    def mark_told(self, event: str, subject: str, hook: str, at: datetime) -> None:
        with self.transaction():
            self.db.execute("INSERT INTO notify_sent(event, subject, hook, sent_at) VALUES (?, ?, ?, ?) "
                            "ON CONFLICT(event, subject, hook) DO NOTHING", (event, subject, hook, ts(at)))

    def forget_told(self, event: str, subject: str) -> None:
        """The condition is over (the source answered again): the next streak is told anew."""
        with self.transaction():
            self.db.execute("DELETE FROM notify_sent WHERE event=? AND subject=?", (event, subject))

    def record_delivery(self, d: WebhookDelivery) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO webhook_deliveries(hook, host, event, ok, detail, run_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (d.hook, d.host, d.event, 1 if d.ok else 0, d.detail, d.run_id, d.at))

    def latest_deliveries(self) -> list[WebhookDelivery]:
        """Each hook's most recent delivery, by hook label."""
        rows = self.db.execute(
            "SELECT hook, host, event, ok, detail, run_id, at FROM webhook_deliveries d "
            "WHERE id = (SELECT MAX(id) FROM webhook_deliveries e WHERE e.hook = d.hook) ORDER BY hook").fetchall()
        return [WebhookDelivery.model_validate({**dict(r), "ok": bool(r["ok"])}) for r in rows]

    def run_cost_usd(self, run_id: int) -> float:
        """What the LLM calls logged for this run cost."""
        row = self.db.execute("SELECT COALESCE(SUM(cost_usd), 0) FROM llm_calls WHERE run_id=?", (run_id,)).fetchone()
        return float(row[0])
