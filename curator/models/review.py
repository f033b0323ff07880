"""The draft → review → publish half: the editor's decisions, issue records, the review data and what publish recorded."""

from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from curator.models.core import Issue, Story, _Model


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

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

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
    published_path: str | None = None  # the published copy (publication.published_path)
    feed_path: str | None = None  # the feeds rewritten (feed_path and json_feed_path), None when both are off


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
