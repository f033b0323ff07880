"""Applying the per-source keep / block rules (curator/rules.py) in a run: in discover, before anything is
fetched, and after extraction for the candidates whose rule needed the page (an author the feed lacked).

A blocked candidate is stored as known (`skipped:blocked`), so the next night does not look at it again;
its verdict, the rule that decided it and the run go to the store for `sources check`. Counters:
`rules/blocked`, `rules/kept` (a keep rule let it through), `rules/pending` (judged after extraction).
"""

from __future__ import annotations

import logging

from curator.context import StageContext
from curator.models import Article, Candidate, ItemState, RuleOutcome
from curator.rules import Outcome, Subject, Verdict, judge
from curator.settings import SourceSettings
from curator.urls import redact

log = logging.getLogger(__name__)

BLOCKED_REASON = "blocked"  # the item's skipped reason; the rule is in the store's rule_outcomes


def _ruled_source(ctx: StageContext, name: str) -> SourceSettings | None:
    return next((s for s in ctx.settings.sources if s.name == name and (s.keep or s.block)), None)


def _apply(ctx: StageContext, item_id: int, src: SourceSettings, outcome: Outcome, author: str,
           tags: list[str], url: str) -> None:
    ctx.store.record_rule_outcome(RuleOutcome(
        item_id=item_id, source=src.name, run_id=ctx.run.run_id or None, verdict=outcome.verdict.value,
        rule=outcome.rule, author=ctx.redactor.text(author), tags=tags))
    if outcome.verdict == Verdict.BLOCKED:
        ctx.store.set_state(item_id, ItemState.SKIPPED, BLOCKED_REASON)
        log.info("source %s: %s blocked by rule %s", src.name, redact(url), outcome.rule)
    if outcome.verdict != Verdict.PASSED:
        ctx.run.counters[f"rules/{outcome.verdict.value}"] += 1


def on_discover(ctx: StageContext, item_id: int, cand: Candidate) -> Verdict | None:
    """Judge a new candidate by its source's rules, on what the feed said; None when the source has none."""
    src = _ruled_source(ctx, cand.source)
    if src is None:
        return None
    author = cand.author or cand.submitter or ""  # on HN-like sources the submitter is the byline shown
    subject = Subject(title=cand.title, url=cand.url, author=author or None, tags=tuple(cand.tags) or None)
    outcome = judge(src.keep, src.block, subject)
    _apply(ctx, item_id, src, outcome, author, list(cand.tags), cand.url)
    return outcome.verdict


def after_extract(ctx: StageContext, item_id: int, article: Article) -> Verdict | None:
    """Judge, now that its page is read, a candidate whose rules waited for it; None when none waited."""
    verdict = None
    for pending in ctx.store.pending_rule_outcomes(item_id):
        src = _ruled_source(ctx, pending.source)
        if src is None:  # the rules were removed from the config since: nothing holds it back
            continue
        author = pending.author or article.author or ""
        subject = Subject(title=article.title, url=article.url, author=author, tags=tuple(pending.tags))
        outcome = judge(src.keep, src.block, subject, final=True)
        _apply(ctx, item_id, src, outcome, author, pending.tags, article.url)
        verdict = outcome.verdict
        if verdict == Verdict.BLOCKED:
            return verdict
    return verdict
