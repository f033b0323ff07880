"""Decisions: the editor's choices on a draft (keep, drop, move, reorder, swap in, edit, add), replayed on every draft.

    record() ─► decisions table (one row per action, append-only) ─► load() ─► replay()/apply(Issue) ─► Issue

A draft is always `compose.select` (what the machine would pick) followed by the editor's decisions
for that issue number, replayed in the order they were made. Replaying, rather than storing a final
layout, keeps a regenerated draft right when the week's pool changed underneath it: a dropped story
stays dropped, a swapped-in runner-up stays in, an edited summary wins over the enrichment's. Where
several decisions touch the same story the latest wins (a `keep` after a `drop` restores it).
Models are copied, never mutated: the stored items and enrichments stay what the machine produced.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from curator import compose, history
from curator.errors import CuratorError
from curator.models import Issue, IssueSection, Item, Story
from curator.settings import Settings
from curator.store import Store, now_utc

log = logging.getLogger(__name__)


class Action(enum.StrEnum):
    KEEP = "keep"
    DROP = "drop"
    MOVE = "move"  # to `section` (at `position` if given, else at the end)
    REORDER = "reorder"  # to `position` within the story's current section
    SWAP_IN = "swap_in"  # a runner-up joins `section` (at `position` if given)
    EDIT = "edit"  # new `title` and/or `summary`
    ADD = "add"  # a URL the editor added (`item_id` is the manual candidate)


class Decision(BaseModel):
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
        cur = store.db.execute(
            "INSERT INTO decisions(issue_number, story_id, item_id, action, section, position, title, summary, url,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (issue_number, story_id, item_id, act.value, section, position, title, summary, url,
             now.isoformat(timespec="seconds")),
        )
    log.info("decision %s on issue %d (story %s)", act.value, issue_number, story_id)
    return Decision(id=int(cur.lastrowid or 0), issue_number=issue_number, action=act, story_id=story_id,
                    item_id=item_id, section=section, position=position, title=title, summary=summary, url=url,
                    created_at=now)


def load(store: Store, issue_number: int) -> list[Decision]:
    """Every decision on the issue, oldest first (the order they are replayed in)."""
    # The table also holds what `publish` recorded (`published:keep` …): those are history, not instructions.
    marks = ",".join("?" * len(Action))
    rows = store.db.execute(f"SELECT * FROM decisions WHERE issue_number=? AND action IN ({marks}) ORDER BY id",
                            (issue_number, *(a.value for a in Action))).fetchall()
    return [
        Decision(id=r["id"], issue_number=r["issue_number"], action=Action(r["action"]), story_id=r["story_id"],
                 item_id=r["item_id"], section=r["section"], position=r["position"], title=r["title"],
                 summary=r["summary"], url=r["url"], created_at=datetime.fromisoformat(r["created_at"]))
        for r in rows
    ]


@dataclass
class Review:
    """The outcome of replaying decisions: the issue as the editor shaped it, and what the board shows beside it."""

    issue: Issue
    dropped: list[Story] = field(default_factory=list)  # were in the issue, the editor took them out
    pending: list[Decision] = field(default_factory=list)  # adds not enriched yet, swap-ins no longer in the pool
    status: dict[int, Action] = field(default_factory=dict)  # story id -> latest keep/drop/swap_in/add/move
    edited: dict[int, dict[str, str]] = field(default_factory=dict)  # story id -> {"title"|"summary": text}


def replay(issue: Issue, decisions: Iterable[Decision], runners_up: list[Story]) -> Review:
    """Replay `decisions` on a copy of `issue`. `runners_up` is every story that may be swapped or added in."""
    out = issue.model_copy(deep=True)
    sections: dict[str, IssueSection] = {s.id: s for s in out.sections}
    known: dict[int, Story] = {st.id: st for st in runners_up}
    known.update({st.id: st for st in out.stories})
    by_item = {it.id: st.id for st in known.values() for it in st.items}
    last_place: dict[int, tuple[str, int]] = {st.id: (sec.id, i) for sec in out.sections
                                              for i, st in enumerate(sec.stories)}
    review = Review(issue=out)
    dropped: dict[int, None] = {}  # ordered set

    def where(sid: int) -> tuple[IssueSection, int] | None:
        for sec in out.sections:
            for i, st in enumerate(sec.stories):
                if st.id == sid:
                    return sec, i
        return None

    def remove(sid: int) -> Story | None:
        loc = where(sid)
        if loc is None:
            return None
        sec, i = loc
        last_place[sid] = (sec.id, i)
        return sec.stories.pop(i)

    def insert(story: Story, section_id: str, position: int | None) -> None:
        stories = sections[section_id].stories
        stories.insert(len(stories) if position is None else min(max(position, 0), len(stories)), story)
        last_place[story.id] = (section_id, stories.index(story))
        dropped.pop(story.id, None)

    def home(story: Story, wanted: str | None) -> str:
        if wanted in sections:
            return wanted  # type: ignore[return-value]
        enr = story.lead.enrichment
        return enr.section if enr and enr.section in sections else out.sections[0].id

    for d in decisions:
        sid = by_item.get(d.item_id) if d.action is Action.ADD and d.item_id is not None else d.story_id
        if sid is None:
            review.pending.append(d)
            continue
        if d.action is Action.DROP:
            if remove(sid) is not None:
                dropped[sid] = None
            review.status[sid] = d.action
        elif d.action is Action.KEEP:
            if where(sid) is None and sid in dropped:
                sec_id, pos = last_place[sid]
                insert(known[sid].model_copy(deep=True), home(known[sid], sec_id), pos)
            review.status[sid] = d.action
        elif d.action in (Action.SWAP_IN, Action.ADD):
            if sid not in known:
                review.pending.append(d)
                continue
            if where(sid) is None:
                insert(known[sid].model_copy(deep=True), home(known[sid], d.section), d.position)
            review.status[sid] = d.action
        elif d.action is Action.MOVE:
            if d.section in sections and (story := remove(sid)) is not None:
                insert(story, d.section, d.position)  # type: ignore[arg-type]
                review.status.setdefault(sid, d.action)
        elif d.action is Action.REORDER:
            loc = where(sid)
            if loc is not None:
                sec, _ = loc
                story = remove(sid)
                assert story is not None
                insert(story, sec.id, d.position)
        elif d.action is Action.EDIT:
            fields = review.edited.setdefault(sid, {})
            if d.title:
                fields["title"] = d.title
            if d.summary:
                fields["summary"] = d.summary

    for sec in out.sections:
        sec.stories = [_edited(st, review.edited.get(st.id)) for st in sec.stories]
    present = _present(out)
    review.dropped = [known[sid] for sid in dropped if sid not in present]
    out.runners_up = [st for st in out.runners_up if st.id not in present]
    return review


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
    """Same rule as compose.select: the highest-scoring chosen story is the headline."""
    chosen = issue.stories
    headline = max(chosen, key=lambda s: s.score).lead.enrichment.title if chosen else "本周无入选内容"  # type: ignore[union-attr]
    issue.title = settings.publication.title_format.format(
        name=settings.publication.name, number=issue.number, headline=headline)


def pool(items: list[Item], settings: Settings | None = None) -> list[Story]:
    """Every story a decision may bring in: whatever is enriched (or drafted) with a title and a summary.

    Wider than select's runners-up on purpose: an editor's add or swap-in must survive a regeneration
    even when the story fell out of the top runners-up or out of the window since.
    """
    return compose.build_stories([i for i in items if i.enrichment and i.enrichment.title.strip()
                                  and i.enrichment.summary.strip()], settings)


def apply_stored(store: Store, issue: Issue, items: list[Item], settings: Settings) -> Issue:
    """What `Pipeline.draft` calls after `compose.select`: the stored decisions of this issue number, applied."""
    found = load(store, issue.number)
    if not found:
        return issue
    return apply(issue, found, pool(items, settings), settings=settings)


def issue_items(store: Store, number: int) -> set[int]:
    """Item ids placed in the stored draft `number` (select keeps them eligible although `drafted`)."""
    return {r[0] for r in store.db.execute(
        "SELECT ii.item_id FROM issue_items ii JOIN issues s ON s.id = ii.issue_id WHERE s.number=?", (number,))}


def select_for(store: Store, settings: Settings, items: list[Item], *, number: int, as_of: datetime) -> tuple[
        Issue, dict[int, int | None]]:
    """compose.select with everything a draft selects by: the archive (no repeats), learned weights,
    and the items already placed in draft `number` (still eligible although `drafted`). The one
    selection path for `Pipeline.draft` and the review board."""
    already = history.already_ran(store, items)
    weights = history.load_weights(store) if settings.learning.enabled else {}
    issue = compose.select(items, settings, number=number, as_of=as_of, draft_ids=issue_items(store, number),
                           already=already, weights=weights)
    return issue, already


def dropped_items(store: Store, issue_number: int) -> list[int]:
    """Lead item ids of the stories the editor dropped on the board and never brought back (for learning).

    `publish` sees only the regenerated file, where a board-dropped story no longer appears at all.
    """
    latest: dict[int, Action] = {}
    for d in load(store, issue_number):
        if d.story_id is not None and d.action in (Action.KEEP, Action.DROP, Action.SWAP_IN):
            latest[d.story_id] = d.action
    return sorted(sid for sid, act in latest.items() if act is Action.DROP)
