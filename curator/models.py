"""The typed contract between stages: every stage takes and returns these models, never dicts.

    sources ─► Candidate ─► fetch ─► Page ─► extract ─► Article ─► enrich ─► Enrichment
                                                      └── Item (stored row, one per canonical URL)
    select ─► Story (items about one event) ─► Issue (sections of stories) ─► compose ─► Markdown
    draft ─► ReviewData (drafts/issue-N.json) ─► publish ─► PublishResult; the editor's Decisions replay on drafts

The LLM's own output schema (`curator.enrich.schema.LLMEnrichment`) is separate from `Enrichment`, so a
prompt change never ripples into storage.
"""

from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import NamedTuple

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


# ---- the draft → review → publish half --------------------------------------------------------
class Action(enum.StrEnum):
    """What the editor did to a story on the review board."""

    KEEP = "keep"
    DROP = "drop"
    MOVE = "move"  # to `section` (at `position` if given, else at the end)
    REORDER = "reorder"  # to `position` within the story's current section
    SWAP_IN = "swap_in"  # a runner-up joins `section` (at `position` if given)
    EDIT = "edit"  # new `title` and/or `summary`
    ADD = "add"  # a URL the editor added (`item_id` is the manual candidate)


class Decision(BaseModel):
    """One stored decision of the editor on a draft (append-only; replayed in id order)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    issue_number: int
    action: Action
    story_id: int | None = None
    item_id: int | None = None
    section: str | None = None
    position: int | None = None
    title: str | None = None
    summary: str | None = None
    url: str | None = None
    created_at: datetime


class Placement(_Model):
    """Where a draft placed an item: its story's section and position (the issue_items rows)."""

    item_id: int
    section: str
    position: int


class IssueRecord(_Model):
    """An issue as the store keeps it (the `issues` row)."""

    number: int
    state: str  # draft | published
    path: str | None = None
    as_of: datetime | None = None  # the end of the draft's window
    created_at: datetime  # when it was first drafted (older drafts without `as_of` date from it)


class ArchivedIssue(_Model):
    """A published issue the archive knows, by number (for "往年回顾")."""

    number: int
    date: str  # ISO date as the archive recorded it
    file: str | None = None


class ArchiveLink(NamedTuple):
    """One link of a published issue, as the archive keeps it."""

    canonical_url: str
    url: str
    title: str
    norm_title: str
    issue_number: int | None
    issue_date: str | None  # ISO date
    source_file: str


class ArchiveMatch(NamedTuple):
    """An archive row that already carried a link or title (the number may be unknown)."""

    issue_number: int | None


class PublishedDecision(NamedTuple):
    action: str  # published:keep | published:edit | published:drop
    item_id: int


class WeightTally(NamedTuple):
    kind: str  # source | tag
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


# (kind, key) → weight, kind "source" or "tag": what `publish` learned from the editor (1.0 = no evidence).
Weights = dict[tuple[str, str], float]


class ReviewStory(_Model):
    """A story as the review data records it (the keys of drafts/issue-N.json, in order)."""

    story: int
    section: str | None  # None for a runner-up
    items: list[int]
    title: str
    summary: str
    score: int
    reason: str
    tags: list[str]
    flags: list[str]
    urls: list[str]
    sources: list[str]

    @classmethod
    def of(cls, story: Story, section: str | None) -> ReviewStory:
        enr = story.lead.enrichment
        assert enr is not None  # a selected story is led by an enriched item
        return cls(story=story.id, section=section, items=[i.id for i in story.items], title=enr.title,
                   summary=enr.summary, score=enr.score, reason=enr.reason, tags=enr.tags, flags=enr.flags,
                   urls=[i.url for i in story.items], sources=sorted({r.source for i in story.items for r in i.sources}))


class ReviewSection(_Model):
    id: str
    title: str
    stories: list[ReviewStory]


class WovenStory(_Model):
    """A story woven into a section's prose: its footnote numbers and the sentences that cite it."""

    notes: list[int]
    sentences: list[str]


class ProseReview(_Model):
    """What a section's prose cites (publication.prose = "section"), so `publish` can map edits back."""

    mode: str  # section | story (fallback)
    fallback: str
    flags: list[str]
    stories: dict[str, WovenStory]


class ReviewData(_Model):
    """The draft → publish contract, written beside each draft as drafts/issue-N.json.

    `dump()` gives the file's exact bytes (key order, indent 1, non-ASCII kept); `publish` reads it back
    with `ReviewData.model_validate_json`."""

    model_config = ConfigDict(extra="ignore")  # a file from a later version may carry more keys

    number: int
    title: str
    date: str  # the issue's datetime, isoformat
    sections: list[ReviewSection]
    runners_up: list[ReviewStory]
    already_ran: dict[str, int | None] = Field(default_factory=dict)  # item id → the issue that carried it
    links: list[str] = Field(default_factory=list)  # every link the draft wrote (`curator lint`)
    prose: dict[str, ProseReview] | None = None  # absent unless publication.prose = "section"

    @classmethod
    def of_issue(cls, issue: Issue, already: dict[int, int | None] | None = None, *, links: list[str] | None = None,
                 prose: dict[str, ProseReview] | None = None) -> ReviewData:
        """The review data of a drafted issue (`already`: item id → the issue that already carried it)."""
        return cls(
            number=issue.number, title=issue.title, date=issue.date.isoformat(),
            sections=[ReviewSection(id=sec.id, title=sec.title, stories=[ReviewStory.of(s, sec.id) for s in sec.stories])
                      for sec in issue.sections],
            runners_up=[ReviewStory.of(s, None) for s in issue.runners_up],
            already_ran={str(k): v for k, v in (already or {}).items()},
            links=links or [], prose=prose,
        )

    def dump(self) -> str:
        # json.dumps, not model_dump_json: the file's bytes (float and escape formatting) stay what they were.
        data = self.model_dump(mode="json", exclude={"prose"} if self.prose is None else None)
        return json.dumps(data, ensure_ascii=False, indent=1)


class PublishResult(_Model):
    """What `publish` recorded, story by story."""

    number: int
    kept: list[int] = Field(default_factory=list)
    edited: list[int] = Field(default_factory=list)
    dropped: list[int] = Field(default_factory=list)
    added: list[str] = Field(default_factory=list)  # URLs the editor added by hand
    archived_links: int = 0


class EditorBlock(_Model):
    """Text the editor wrote into a draft between curator's stories, kept verbatim (curator/readback.py).

    `anchor_kind`: "top" (before the first section), "section" (right under the heading of section
    `anchor_ref`) or "story" (after the story `anchor_ref`, past `anchor_offset` of curator's paragraphs
    that follow its comment)."""

    anchor_kind: str
    anchor_ref: str | None = None
    anchor_offset: int = 0
    text: str


class WrittenDraft(_Model):
    """What `draft` last wrote for an issue: the file's sha256 and the render without the editor's blocks."""

    sha: str
    render: str
