"""Store: what the per-source rules decided about each candidate (curator/rules.py), and their tallies."""

from __future__ import annotations

import json

from curator.models import RuleOutcome, RuleTally
from curator.store.base import StoreBase, ts


class RuleQueries(StoreBase):
    def record_rule_outcome(self, outcome: RuleOutcome) -> None:
        """Record (or replace) the rules' verdict on one item for one source."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO rule_outcomes(item_id, source, run_id, verdict, rule, author, tags, decided_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(item_id, source) DO UPDATE SET "
                "run_id=excluded.run_id, verdict=excluded.verdict, rule=excluded.rule, author=excluded.author, "
                "tags=excluded.tags, decided_at=excluded.decided_at",
                (outcome.item_id, outcome.source, outcome.run_id, outcome.verdict, outcome.rule, outcome.author,
                 json.dumps(outcome.tags, ensure_ascii=False), ts(self.now())),
            )

    def pending_rule_outcomes(self, item_id: int) -> list[RuleOutcome]:
        """The item's verdicts still waiting for its article (a rule on a field the feed did not carry)."""
        rows = self.db.execute(
            "SELECT item_id, source, run_id, verdict, rule, author, tags FROM rule_outcomes "
            "WHERE item_id=? AND verdict='pending' ORDER BY source", (item_id,)).fetchall()
        return [RuleOutcome(item_id=r["item_id"], source=r["source"], run_id=r["run_id"], verdict=r["verdict"],
                            rule=r["rule"], author=r["author"], tags=json.loads(r["tags"] or "[]")) for r in rows]

    def rule_tallies(self) -> list[RuleTally]:
        """Per source, the verdicts of the last run that brought it new candidates, counted per rule."""
        rows = self.db.execute(
            "SELECT o.source, o.run_id, o.verdict, o.rule, COUNT(*) AS n FROM rule_outcomes o "
            "JOIN (SELECT source, MAX(run_id) AS last_run FROM rule_outcomes GROUP BY source) l "
            "ON l.source = o.source AND l.last_run = o.run_id "
            "GROUP BY o.source, o.run_id, o.verdict, o.rule ORDER BY o.source, o.verdict, o.rule").fetchall()
        return [RuleTally(source=r["source"], run_id=r["run_id"], verdict=r["verdict"], rule=r["rule"],
                          count=r["n"]) for r in rows]
