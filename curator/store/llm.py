"""Store: the LLM cache (content hash + prompt sha + model) and the log of every call, with spend totals."""

from __future__ import annotations

from datetime import datetime

from curator.models import LLMTotals
from curator.store.base import StoreBase, now_utc, ts


class LLMQueries(StoreBase):
    def cache_get(self, content_hash: str, prompt_sha: str, model: str) -> str | None:
        row = self.db.execute(
            "SELECT fields FROM llm_cache WHERE content_hash=? AND prompt_sha=? AND model=?",
            (content_hash, prompt_sha, model),
        ).fetchone()
        return row["fields"] if row else None

    def cache_put(self, content_hash: str, prompt_sha: str, model: str, fields_json: str) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO llm_cache(content_hash, prompt_sha, model, fields, created_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(content_hash, prompt_sha, model) DO UPDATE SET fields=excluded.fields, "
                "created_at=excluded.created_at",
                (content_hash, prompt_sha, model, fields_json, ts(now_utc())),
            )

    def log_llm_call(
        self,
        *,
        run_id: int | None,
        item_id: int | None,
        prompt_sha: str,
        schema_hash: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cost_usd: float,
        latency_ms: int,
        outcome: str,
    ) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO llm_calls(run_id, item_id, prompt_sha, schema_hash, model, input_tokens, output_tokens,"
                " cost_usd, latency_ms, outcome, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, item_id, prompt_sha, schema_hash, model, input_tokens, output_tokens, cost_usd,
                 latency_ms, outcome, ts(now_utc())),
            )

    def llm_totals(self, since: datetime | None = None) -> LLMTotals:
        """Calls logged since `since` (every call when None), with their tokens and cost."""
        row = self.db.execute(
            # CAST: Postgres sums integers as numeric (Decimal); the totals are whole numbers of tokens.
            "SELECT COUNT(*) AS calls, CAST(COALESCE(SUM(input_tokens),0) AS BIGINT) AS input_tokens, "
            "CAST(COALESCE(SUM(output_tokens),0) AS BIGINT) AS output_tokens, COALESCE(SUM(cost_usd),0) AS cost_usd "
            "FROM llm_calls WHERE created_at >= ?",
            (ts(since) or "",),
        ).fetchone()
        return LLMTotals.model_validate(dict(row))
