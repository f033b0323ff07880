"""Decisions: the editor's choices on a draft (keep, drop, move, reorder, swap in, edit, add), replayed on every draft.

    record() ─► decisions table (one row per action, append-only) ─► load() ─► replay()/apply(Issue) ─► Issue

A draft is always `select.select` (what the machine would pick) followed by the editor's decisions
for that issue number, replayed in the order they were made. Replaying, rather than storing a final
layout, keeps a regenerated draft right when the week's pool changed underneath it: a dropped story
stays dropped, a swapped-in runner-up stays in, an edited summary wins over the enrichment's. Where
several decisions touch the same story the latest wins (a `keep` after a `drop` restores it).
Models are copied, never mutated: the stored items and enrichments stay what the machine produced.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from curator.compose import issue_headline
from curator.errors import CuratorError
from curator.models import Action, Decision, Issue, IssueSection, Story
from curator.settings import Settings
from curator.store import Store, now_utc

__all__ = ["Action", "Decision", "Review", "apply", "dropped_items", "edited_stories", "load", "record", "replay", "retitle"]

log = logging.getLogger(__name__)


_NEEDS_STORY = {Action.KEEP, Action.DROP, Action.MOVE, Action.REORDER, Action.SWAP_IN, Action.EDIT}


def _one_line(value: str | None) -> str | None:
    """Titles and summaries are one Markdown line: a newline would break the item out of its list."""
    if value is None:
        return None
    value = re.sub(r"\s+", " ", value).strip()
    return value or None


def record(
    store: Store,
    issue_number: int,
    action: Action | str,
    story_id: int | None = None,
    item_id: int | None = None,
    section: str | None = None,
    position: int | None = None,
    title: str | None = None,
    summary: str | None = None,
    url: str | None = None,
) -> Decision:
    """Store one decision (append-only; later ones win). Raises CuratorError(reason="bad_decision")."""
    try:
        act = Action(action)
    except ValueError:
        raise CuratorError(f"unknown decision {action!r}; use one of: {', '.join(a.value for a in Action)}",
                           reason="bad_decision") from None
    title, summary = _one_line(title), _one_line(summary)
    problem = None
    if act in _NEEDS_STORY and story_id is None:
        problem = f"{act.value} needs a story id"
    elif act is Action.MOVE and not section:
        problem = "move needs a section"
    elif act is Action.REORDER and position is None:
        problem = "reorder needs a position"
    elif act is Action.EDIT and title is None and summary is None:
        problem = "edit needs a title or a summary"
    elif act is Action.ADD and not url:
        problem = "add needs a url"
    elif position is not None and position < 0:
        problem = "position counts from 0"
    if problem:
        raise CuratorError(problem, reason="bad_decision")
    now = now_utc()
    with store.transaction():
        decision_id = store.add_decision(issue_number, act.value, story_id=story_id, item_id=item_id, section=section,
                                         position=position, title=title, summary=summary, url=url,
                                         created_at=now.isoformat(timespec="seconds"))
    log.info("decision %s on issue %d (story %s)", act.value, issue_number, story_id)
    return Decision(id=decision_id, issue_number=issue_number, action=act, story_id=story_id,
                    item_id=item_id, section=section, position=position, title=title, summary=summary, url=url,
                    created_at=now)


def load(store: Store, issue_number: int) -> list[Decision]:
    """Every decision on the issue, oldest first (the order they are replayed in)."""
    return store.decisions(issue_number)


@dataclass
class Review:
    """The outcome of replaying decisions: the issue as the editor shaped it, and what the board shows beside it."""

    issue: Issue
    dropped: list[Story] = field(default_factory=list)  # were in the issue, the editor took them out
    pending: list[Decision] = field(default_factory=list)  # adds not enriched yet, swap-ins no longer in the pool
    status: dict[int, Action] = field(default_factory=dict)  # story id -> latest keep/drop/swap_in/add/move
    edited: dict[int, dict[str, str]] = field(default_factory=dict)  # story id -> {"title"|"summary": text}


class _Replay:
    """The working state of one replay: the copied issue, where each story was last placed, what is dropped."""

    def __init__(self, issue: Issue, runners_up: list[Story]) -> None:
        self.out = issue.model_copy(deep=True)
        self.sections: dict[str, IssueSection] = {s.id: s for s in self.out.sections}
        self.known: dict[int, Story] = {st.id: st for st in runners_up}
        self.known.update({st.id: st for st in self.out.stories})
        self.by_item = {it.id: st.id for st in self.known.values() for it in st.items}
        self.last_place: dict[int, tuple[str, int]] = {st.id: (sec.id, i) for sec in self.out.sections
                                                       for i, st in enumerate(sec.stories)}
        self.review = Review(issue=self.out)
        self.dropped: dict[int, None] = {}  # ordered set

    def where(self, sid: int) -> tuple[IssueSection, int] | None:
        for sec in self.out.sections:
            for i, st in enumerate(sec.stories):
                if st.id == sid:
                    return sec, i
        return None

    def remove(self, sid: int) -> Story | None:
        loc = self.where(sid)
        if loc is None:
            return None
        sec, i = loc
        self.last_place[sid] = (sec.id, i)
        return sec.stories.pop(i)

    def insert(self, story: Story, section_id: str, position: int | None) -> None:
        stories = self.sections[section_id].stories
        stories.insert(len(stories) if position is None else min(max(position, 0), len(stories)), story)
        self.last_place[story.id] = (section_id, stories.index(story))
        self.dropped.pop(story.id, None)

    def home(self, story: Story, wanted: str | None) -> str:
        if wanted is not None and wanted in self.sections:
            return wanted
        enr = story.lead.enrichment
        return enr.section if enr and enr.section in self.sections else self.out.sections[0].id

    def bring_back(self, sid: int, wanted: str | None, position: int | None) -> None:
        self.insert(self.known[sid].model_copy(deep=True), self.home(self.known[sid], wanted), position)

    def step(self, d: Decision) -> None:
        """Apply one decision (the latest wins where several touch the same story)."""
        review = self.review
        sid = self.by_item.get(d.item_id) if d.action is Action.ADD and d.item_id is not None else d.story_id
        if sid is None:
            review.pending.append(d)
        elif d.action is Action.DROP:
            if self.remove(sid) is not None:
                self.dropped[sid] = None
            review.status[sid] = d.action
        elif d.action is Action.KEEP:
            if self.where(sid) is None and sid in self.dropped:
                self.bring_back(sid, *self.last_place[sid])
            review.status[sid] = d.action
        elif d.action in (Action.SWAP_IN, Action.ADD):
            if sid not in self.known:
                review.pending.append(d)
                return
            if self.where(sid) is None:
                self.bring_back(sid, d.section, d.position)
            review.status[sid] = d.action
        elif d.action is Action.MOVE:
            if d.section is not None and d.section in self.sections and (story := self.remove(sid)) is not None:
                self.insert(story, d.section, d.position)
                review.status.setdefault(sid, d.action)
        elif d.action is Action.REORDER:
            if (loc := self.where(sid)) is not None and (story := self.remove(sid)) is not None:
                self.insert(story, loc[0].id, d.position)
        elif d.action is Action.EDIT:
            fields = review.edited.setdefault(sid, {})
            if d.title:
                fields["title"] = d.title
            if d.summary:
                fields["summary"] = d.summary

    def finish(self) -> Review:
        out, review = self.out, self.review
        for sec in out.sections:
            sec.stories = [_edited(st, review.edited.get(st.id)) for st in sec.stories]
        present = _present(out)
        review.dropped = [self.known[sid] for sid in self.dropped if sid not in present]
        out.runners_up = [st for st in out.runners_up if st.id not in present]
        return review


def replay(issue: Issue, decisions: Iterable[Decision], runners_up: list[Story]) -> Review:
    """Replay `decisions` on a copy of `issue`. `runners_up` is every story that may be swapped or added in."""
    state = _Replay(issue, runners_up)
    for d in decisions:
        state.step(d)
    return state.finish()


def _present(issue: Issue) -> set[int]:
    return {st.id for st in issue.stories}


def _edited(story: Story, fields: dict[str, str] | None) -> Story:
    enr = story.lead.enrichment
    if not fields or enr is None:
        return story
    lead = story.lead.model_copy(update={"enrichment": enr.model_copy(update=fields)})
    return story.model_copy(update={"lead": lead})


def apply(issue: Issue, decisions: Iterable[Decision], runners_up: list[Story], *,
          settings: Settings | None = None) -> Issue:
    """A new Issue with the decisions applied. With `settings`, the title follows the (new) headline story."""
    out = replay(issue, decisions, runners_up).issue
    if settings is not None:
        retitle(out, settings)
    return out


def retitle(issue: Issue, settings: Settings) -> None:
    """Same rule as select.select: the issue's title follows its headline story (compose.issue_headline)."""
    issue.title = settings.publication.title_format.format(
        name=settings.publication.name, number=issue.number, headline=issue_headline(issue.stories))


def dropped_items(store: Store, issue_number: int) -> list[int]:
    """Lead item ids of the stories the editor dropped on the board and never brought back (for learning).

    `publish` sees only the regenerated file, where a board-dropped story no longer appears at all.
    """
    latest: dict[int, Action] = {}
    for d in load(store, issue_number):
        if d.story_id is not None and d.action in (Action.KEEP, Action.DROP, Action.SWAP_IN):
            latest[d.story_id] = d.action
    return sorted(sid for sid, act in latest.items() if act is Action.DROP)


def edited_stories(store: Store, issue_number: int) -> set[int]:
    """Story ids whose title or summary the editor rewrote (on the board, or in the file read back by draft).

    The regenerated file already carries the edit, so `publish` would see the story unchanged: it asks here.
    """
    return {d.story_id for d in load(store, issue_number) if d.action is Action.EDIT and d.story_id is not None}
