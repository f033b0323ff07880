"""What the store returns besides items, and what `curator status` shows (no database row leaves curator/store/)."""

from __future__ import annotations

from pydantic import Field

from curator.models.core import Enrichment, RunSummary, _Model


class WorkItem(_Model):
    """An item waiting at a stage's input: what fetch and extract need of it (no page, no article)."""

    id: int
    url: str
    canonical_url: str
    title: str = ""
    snippet: str = ""  # the feed's snippet, or the editor's `--note` for a find
    # An editor's find being fetched again (Store.stand_ins): the stand-in enrichment it keeps meanwhile.
    stand_in: Enrichment | None = None


class RuleOutcome(_Model):
    """What a source's keep / block rules decided about one of its candidates (curator/rules.py)."""

    item_id: int
    source: str
    run_id: int | None = None
    verdict: str  # rules.Verdict: passed | kept | blocked | pending
    rule: str | None = None  # the deciding rule's label ("title:re:(?i)sponsored")
    author: str = ""  # what the feed said, kept for the judgement after extraction
    tags: list[str] = Field(default_factory=list)


class RuleTally(_Model):
    """How many of a source's candidates in its last run one rule decided (`sources check`)."""

    source: str
    run_id: int | None = None
    verdict: str
    rule: str | None = None
    count: int


class SourceHealth(_Model):
    """A source's row in the store: validators and its health counters (fields in the table's order)."""

    name: str
    kind: str
    url: str  # as stored: no credentials, no query values (store.stored_source_url)
    etag: str | None = None
    last_modified: str | None = None
    last_ok_at: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    consecutive_failures: int = 0
    items_total: int = 0
    consecutive_empty: int = 0


class LLMTotals(_Model):
    """LLM calls logged since a time, and what they cost."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    # SQLite's SUM over no rows is the integer 0: kept as given, so `status --json` prints what it always did.
    cost_usd: int | float = 0


# ---- `curator status` (field names and order are the `--json` output's) --------------------------------
class SourceStatus(_Model):
    name: str
    kind: str
    last_ok_at: str | None
    last_error: str | None
    consecutive_failures: int
    items_total: int
    items_week: int  # draftable items inside the next issue's window
    consecutive_empty: int
    flagged: bool
    flag: str | None


class LLMSpend(_Model):
    run: LLMTotals
    week: LLMTotals
    month: LLMTotals
    cache_hits_recent_runs: int


class OpenDraft(_Model):
    number: int
    path: str | None


class IssueWindow(_Model):
    start: str  # ISO 8601, UTC, seconds
    end: str


class LearnedWeight(_Model):
    """A learned weight as `status` shows it (the same fields as WeightTally, which `publish` writes)."""

    kind: str
    key: str
    weight: float
    kept: int
    dropped: int


class StatusReport(_Model):
    """What `curator status` shows; `model_dump(mode="json")` is the `--json` output."""

    store: str
    items: dict[str, int]
    runs: list[RunSummary]
    sources: list[SourceStatus]
    llm: LLMSpend
    open_draft: OpenDraft | None
    next_issue_window: IssueWindow
    next_issue_candidates: dict[str, int]
    learned_weights: list[LearnedWeight]
    learning: bool
