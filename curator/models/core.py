"""The stage models: what sources, fetch, extract, enrich, select and compose take and return."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from curator.states import ItemState


class _Model(BaseModel):
    # Validators are built on first use, not at import: `curator status` builds the few it reads.
    model_config = ConfigDict(extra="forbid", frozen=False, defer_build=True)


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
    # What per-source rules can look at besides title and URL (curator/rules.py); never stored on the item.
    author: str = ""
    tags: list[str] = Field(default_factory=list)


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


# Counters that mean a stage did not do what was asked (the run is `degraded`, never `ok`): an item the
# model answered unusably (enriched offline instead), items left waiting (budget, breaker, endpoint),
# an LLM call or a stage that failed, section prose that fell back to story paragraphs.
DEGRADING_PREFIXES = ("enrich/llm_", "enrich/waiting_", "enrich/internal_error", "triage/llm_",
                      "triage/internal_error", "add/not_fetched", "prose/fallback_prose_llm",
                      "prose/fallback_prose_invalid", "engine/waiting")


class RunSummary(_Model):
    """One run: counters by `stage/outcome` (e.g. `fetch/ok`, `fetch/http_404`, `llm/invalid_output`) and
    notes. The pipeline fills it as the run goes; `Store.recent_runs` reads it back."""

    run_id: int
    command: str
    status: str  # running | ok | degraded | failed | interrupted | crashed
    started_at: datetime | None = None  # set when read back from the store
    ended_at: datetime | None = None
    counters: Counter[str] = Field(default_factory=Counter)
    notes: list[str] = Field(default_factory=list)  # e.g. "enrichment ran offline (no OPENAI_API_KEY)"
    # What this process's run produced, for its caller: never stored with the run, so never dumped.
    draft_path: Path | None = Field(default=None, exclude=True)
    issue: Issue | None = Field(default=None, exclude=True)
    cost_usd: float = Field(default=0.0, exclude=True)
    error: str | None = Field(default=None, exclude=True)  # the run-level fault that ended it (stored as its last note; the CLI prints it once)

    def reasons(self) -> dict[str, int]:
        """What made the run less than asked, by counter (`enrich/llm_fallback`: 4, …); empty when all was done."""
        return {k: n for k, n in sorted(self.counters.items()) if n and k.startswith(DEGRADING_PREFIXES)}

    def outcome(self) -> str:
        """`ok`, or `degraded` when any stage did less than asked."""
        return "degraded" if self.reasons() else "ok"
