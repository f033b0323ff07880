"""The typed contract between stages: every stage takes and returns these models, never dicts.

    sources ─► Candidate ─► fetch ─► Page ─► extract ─► Article ─► enrich ─► Enrichment
                                                      └── Item (stored row, one per canonical URL)
    select ─► Story (items about one event) ─► Issue (sections of stories) ─► compose ─► Markdown
    draft ─► ReviewData (drafts/issue-N.json) ─► publish ─► PublishResult; the editor's Decisions replay on drafts

The LLM's own output schema (`curator.enrich.schema.LLMEnrichment`) is separate from `Enrichment`, so a
prompt change never ripples into storage.
"""

from curator.models.core import (
    Article,
    Candidate,
    Enrichment,
    EnrichRequest,
    Issue,
    IssueSection,
    Item,
    Page,
    RunSummary,
    SourceRef,
    Story,
    Validators,
)
from curator.models.records import (
    IssueWindow,
    LearnedWeight,
    LLMSpend,
    LLMTotals,
    OpenDraft,
    RuleOutcome,
    RuleTally,
    SourceHealth,
    SourceStatus,
    StatusReport,
    WorkItem,
)
from curator.models.review import (
    Action,
    ArchivedIssue,
    ArchiveLink,
    ArchiveMatch,
    Decision,
    EditorBlock,
    IssueRecord,
    Placement,
    ProseReview,
    PublishedDecision,
    PublishResult,
    ReviewData,
    ReviewSection,
    ReviewStory,
    Weights,
    WeightTally,
    WovenStory,
    WrittenDraft,
)
from curator.states import ItemState  # the one enum the CLI options name, without pydantic

__all__ = [
    "Action",
    "ArchiveLink",
    "ArchiveMatch",
    "ArchivedIssue",
    "Article",
    "Candidate",
    "Decision",
    "EditorBlock",
    "EnrichRequest",
    "Enrichment",
    "Issue",
    "IssueRecord",
    "IssueSection",
    "IssueWindow",
    "Item",
    "ItemState",
    "LLMSpend",
    "LLMTotals",
    "LearnedWeight",
    "OpenDraft",
    "Page",
    "Placement",
    "ProseReview",
    "PublishResult",
    "PublishedDecision",
    "ReviewData",
    "ReviewSection",
    "ReviewStory",
    "RuleOutcome",
    "RuleTally",
    "RunSummary",
    "SourceHealth",
    "SourceRef",
    "SourceStatus",
    "StatusReport",
    "Story",
    "Validators",
    "WeightTally",
    "Weights",
    "WorkItem",
    "WovenStory",
    "WrittenDraft",
]
