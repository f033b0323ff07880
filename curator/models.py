"""The typed contract between stages: every stage takes and returns these models, never dicts.

    sources ─► Candidate ─► fetch ─► Page ─► extract ─► Article ─► enrich ─► Enrichment
                                                      └── Item (stored row, one per canonical URL)
    select ─► Story (items about one event) ─► Issue (sections of stories) ─► compose ─► Markdown

The LLM's own output schema (`curator.enrich.schema.LLMEnrichment`) is separate from `Enrichment`, so a
prompt change never ripples into storage.
"""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class ItemState(enum.StrEnum):
    """Where an item is in the pipeline; `skipped` and `failed` carry a reason beside them."""

    DISCOVERED = "discovered"
    FETCHED = "fetched"
    EXTRACTED = "extracted"
    ENRICHED = "enriched"
    DRAFTED = "drafted"
    PUBLISHED = "published"
    SKIPPED = "skipped"
    FAILED = "failed"


class Candidate(_Model):
    """A link a source proposes. `url` as the source gave it; canonicalised before storing."""

    url: str
    title: str = ""
    source: str  # source name from config ("manual" for `curator add`)
    published_at: datetime | None = None
    snippet: str = ""
    # Signals some sources carry, shown in the draft ("HN 讨论 (312 points)", submission credit).
    discussion_url: str | None = None
    points: int | None = None
    submitter: str | None = None
    submitter_url: str | None = None


class Validators(_Model):
    """HTTP cache validators kept per source and per page for conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


class Page(_Model):
    """A fetched page, decoded to text (extraction always receives `str`)."""

    url: str  # what was asked for
    final_url: str  # after redirects
    status: int
    text: str = ""  # decoded body; empty on 304
    encoding: str | None = None  # the charset actually used to decode
    content_type: str = ""
    validators: Validators = Field(default_factory=Validators)
    not_modified: bool = False
    fetched_at: datetime | None = None


class Article(_Model):
    """Clean main text and metadata extracted from a Page."""

    url: str
    title: str = ""
    text: str
    author: str | None = None
    date: datetime | None = None
    lang: str | None = None  # BCP-47-ish: "zh", "en"
    image: str | None = None
    sitename: str | None = None
    description: str | None = None
    links: list[str] = Field(default_factory=list)  # outbound links of the text (canonical URLs)


class Enrichment(_Model):
    """What enrichment stored for an item (from any backend)."""

    title: str  # in the publication's language
    summary: str  # one to three sentences, publication language
    tags: list[str] = Field(default_factory=list)  # subset of the taxonomy
    section: str  # a configured section id
    score: int = Field(ge=0, le=100)
    reason: str = ""  # one line: why this score
    backend: str  # "offline" | "openai"
    model: str = ""
    prompt_sha: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    flags: list[str] = Field(default_factory=list)  # for the reviewer: "injection_suspected", "unverified_number"


class EnrichRequest(_Model):
    """What an enrichment backend is given for one item."""

    item_id: int
    url: str
    title: str  # the article's title (or the feed's, when extraction found none)
    text: str  # extracted main text (already capped by the caller)
    lang: str | None = None
    source: str
    source_weight: float = 1.0
    section_hint: str | None = None
    published_at: datetime | None = None
    content_hash: str = ""


class SourceRef(_Model):
    """One place an item was seen (an item can be proposed by several sources)."""

    source: str
    url: str
    seen_at: datetime
    discussion_url: str | None = None
    points: int | None = None
    submitter: str | None = None
    submitter_url: str | None = None


class Item(_Model):
    """A stored candidate, one per canonical URL, with whatever later stages added."""

    id: int
    canonical_url: str
    url: str
    title: str = ""
    state: ItemState
    reason: str | None = None  # for skipped / failed
    published_at: datetime | None = None
    discovered_at: datetime
    sources: list[SourceRef] = Field(default_factory=list)
    article: Article | None = None
    enrichment: Enrichment | None = None
    story_id: int | None = None


class Story(_Model):
    """Items about one event; the lead item's enrichment speaks for the story."""

    id: int
    lead: Item
    others: list[Item] = Field(default_factory=list)

    @property
    def items(self) -> list[Item]:
        return [self.lead, *self.others]

    @property
    def score(self) -> int:
        return self.lead.enrichment.score if self.lead.enrichment else 0


class IssueSection(_Model):
    id: str
    title: str
    stories: list[Story] = Field(default_factory=list)


class Issue(_Model):
    """A draft issue: what the composer renders."""

    number: int
    title: str
    date: datetime
    sections: list[IssueSection]
    runners_up: list[Story] = Field(default_factory=list)

    @property
    def stories(self) -> list[Story]:
        return [s for sec in self.sections for s in sec.stories]


class RunSummary(_Model):
    """Counters of one run by `stage/outcome` (e.g. `fetch/ok`, `fetch/http_404`, `llm/invalid_output`)."""

    run_id: int
    command: str
    status: str  # running | ok | degraded | failed | interrupted | crashed
    started_at: datetime
    ended_at: datetime | None = None
    counters: dict[str, int] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)  # e.g. "enrichment ran offline (no OPENAI_API_KEY)"


# ---- what the store returns besides items (typed records: no database row leaves curator/store/) -------
class WorkItem(_Model):
    """An item waiting at a stage's input: what fetch and extract need of it (no page, no article)."""

    id: int
    url: str
    canonical_url: str
    title: str = ""
    snippet: str = ""  # the feed's snippet, or the editor's `--note` for a find
    # An editor's find being fetched again (Store.stand_ins): the stand-in enrichment it keeps meanwhile.
    stand_in: Enrichment | None = None


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


class DraftIssue(_Model):
    """A draft issue as the store records it (the open one is what `draft` regenerates and the board shows)."""

    id: int
    number: int
    state: str
    path: str | None = None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None
    as_of: datetime | None = None  # the end of its window (schema 3 on; older drafts: None)


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
