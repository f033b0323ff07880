"""Select: choose the week's stories per section (window, score floor, quotas, archive, learned weights).

    items ─► citable/eligible ─► build_stories ─► adjusted_score ─► select ─► Issue (+ runners-up)
    select_for = select with the store's archive, weights and draft placements; apply_stored adds
    the editor's decisions (curator/decisions.py) on top.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from curator import archive, decisions
from curator.compose import issue_headline
from curator.errors import ConfigError
from curator.learning import load_weights
from curator.models import Issue, IssueSection, Item, ItemState, Story, Weights
from curator.outlet import outlet
from curator.settings import Settings
from curator.store import Store

log = logging.getLogger(__name__)

RUNNERS_UP = 10
MIN_TITLE_MATCH = 8  # short titles ("周刊"、"Release notes") are too common to match the archive on


def citable(item: Item, settings: Settings, as_of: datetime, draft_ids: set[int]) -> bool:
    """May appear in this draft at all: in the window, and not already placed in another issue."""
    if item.state is ItemState.DRAFTED and item.id not in draft_ids:
        return False
    if item.state not in (ItemState.ENRICHED, ItemState.DRAFTED):
        return False
    when = item.published_at or item.discovered_at
    start = as_of - timedelta(days=settings.publication.window_days)
    return start <= when <= as_of + timedelta(days=1)


def eligible(item: Item, settings: Settings, as_of: datetime, draft_ids: set[int]) -> bool:
    """May lead a story: citable, with a usable enrichment scoring at least profile.min_score."""
    enr = item.enrichment
    if enr is None or not enr.summary.strip() or not enr.title.strip():
        return False
    return enr.score >= settings.profile.min_score and citable(item, settings, as_of, draft_ids)


def build_stories(items: list[Item], settings: Settings | None = None) -> list[Story]:
    """Group items by story id; the best item leads (enriched, highest score, then heaviest source)."""
    def weight(i: Item) -> float:
        return settings.source_weight(r.source for r in i.sources) if settings else 1.0

    groups: dict[int, list[Item]] = {}
    for item in items:
        groups.setdefault(item.story_id or item.id, []).append(item)
    stories = []
    for sid, members in groups.items():
        members.sort(key=lambda i: (i.enrichment is None, -(i.enrichment.score if i.enrichment else 0), -weight(i), i.id))
        if members[0].enrichment is None:
            continue
        stories.append(Story(id=sid, lead=members[0], others=members[1:]))
    stories.sort(key=lambda s: (-s.score, s.id))
    return stories


def adjusted_score(story: Story, weights: Weights) -> float:
    """The enrichment score scaled by what the editor's past decisions taught (1.0 without evidence)."""
    enr = story.lead.enrichment
    assert enr is not None
    src = [weights.get(("source", r.source), 1.0) for i in story.items for r in i.sources] or [1.0]
    tags = [weights.get(("tag", t), 1.0) for t in enr.tags] or [1.0]
    return enr.score * max(src) * (sum(tags) / len(tags))


def rank_key(story: Story, weights: Weights) -> tuple[float, int]:
    """The order selection takes stories in (the board's why-it-lost replays it): best adjusted score first."""
    return (-adjusted_score(story, weights), story.id)


def select(items: list[Item], settings: Settings, *, number: int, as_of: datetime, draft_ids: set[int],
           already: dict[int, int | None] | None = None, weights: Weights | None = None) -> Issue:
    """What the machine would pick: the best stories per section within quotas and the per-outlet cap."""
    if not settings.sections:
        raise ConfigError("no [[sections]] configured: add at least one section to config/curator.toml")
    already = already or {}
    weights = weights or {}
    # Group first, then judge the lead: a story's weaker reports are still cited under it.
    stories = [
        s
        for s in build_stories([i for i in items if citable(i, settings, as_of, draft_ids)], settings)
        if eligible(s.lead, settings, as_of, draft_ids)
    ]
    # A story any of whose items the archive already carried is never selected again.
    pool = [s for s in stories if not any(i.id in already for i in s.items)]
    pool.sort(key=lambda s: rank_key(s, weights))
    by_section: dict[str, list[Story]] = {s.id: [] for s in settings.sections}
    per_domain: dict[str, int] = {}
    runners_up: list[Story] = []
    for story in pool:
        enr = story.lead.enrichment
        assert enr is not None
        section = enr.section if enr.section in by_section else settings.sections[0].id
        quota = next(s.quota for s in settings.sections if s.id == section)
        dom = outlet(story.lead)  # a platform's channels/accounts count separately
        if len(by_section[section]) >= quota or per_domain.get(dom, 0) >= settings.drafts.max_per_domain:
            runners_up.append(story)
            continue
        by_section[section].append(story)
        per_domain[dom] = per_domain.get(dom, 0) + 1
    sections = [IssueSection(id=s.id, title=s.title, stories=by_section[s.id]) for s in settings.sections]
    chosen = [st for sec in sections for st in sec.stories]
    title = settings.publication.title_format.format(name=settings.publication.name, number=number,
                                                     headline=issue_headline(chosen))
    return Issue(number=number, title=title, date=as_of, sections=sections, runners_up=runners_up[:RUNNERS_UP])


# ---- what the store adds: the archive, learned weights, the stored draft, the editor's decisions ---
def already_ran(store: Store, items: list[Item]) -> dict[int, int | None]:
    """item id → the issue number that already carried its link or a near-identical title (the link first,
    then the titles in order: article, enrichment, item), asked of the archive in one batch."""
    norms_of: dict[int, list[str]] = {}
    for item in items:
        titles = (item.article.title if item.article else "", item.enrichment.title if item.enrichment else "",
                  item.title)
        # A title written alike in two places (the feed's and the page's, mostly) is normalised once.
        norms_of[item.id] = [n for n in dict.fromkeys(archive.normalise_title(t) for t in dict.fromkeys(titles) if t)
                             if len(n) >= MIN_TITLE_MATCH]
    by_url, by_title = store.archive_issue_numbers([i.canonical_url for i in items],
                                                   [n for norms in norms_of.values() for n in norms])
    out: dict[int, int | None] = {}
    for item in items:
        if item.canonical_url in by_url:
            out[item.id] = by_url[item.canonical_url]
        elif found := next((n for n in norms_of[item.id] if n in by_title), None):
            out[item.id] = by_title[found]
    return out


def window(store: Store, settings: Settings, number: int, as_of: datetime) -> list[Item]:
    """The items a draft of issue `number` dated `as_of` can use: those in its window (a superset of what
    `citable` admits) and the stories its decisions name; a read of the window, not of the whole pool."""
    start = as_of - timedelta(days=settings.publication.window_days)
    return store.window_items(start, as_of + timedelta(days=1), issue_number=number)


def looking_back(store: Store, as_of: datetime, limit: int = 5) -> list[dict[str, Any]]:
    """Issues published in the same ISO week of earlier years (for the "往年回顾" block)."""
    week = as_of.isocalendar().week
    out = []
    for past in store.archived_issues():
        d = date.fromisoformat(past.date)
        if d.year < as_of.year and d.isocalendar().week == week:
            out.append({"number": past.number, "year": d.year, "date": past.date, "file": past.file})
    return out[:limit]


def pool(items: list[Item], settings: Settings | None = None) -> list[Story]:
    """Every story a decision may bring in: whatever is enriched (or drafted) with a title and a summary.

    Wider than select's runners-up on purpose: an editor's add or swap-in must survive a regeneration
    even when the story fell out of the top runners-up or out of the window since.
    """
    return build_stories([i for i in items if i.enrichment and i.enrichment.title.strip()
                          and i.enrichment.summary.strip()], settings)


def select_for(store: Store, settings: Settings, items: list[Item], *, number: int, as_of: datetime) -> tuple[
        Issue, dict[int, int | None]]:
    """select with everything a draft selects by: the archive (no repeats), learned weights, and the
    items already placed in draft `number` (still eligible although `drafted`). The one selection path
    for `Pipeline.draft` and the review board."""
    already = already_ran(store, items)
    weights = load_weights(store) if settings.learning.enabled else {}
    issue = select(items, settings, number=number, as_of=as_of, draft_ids=store.issue_item_ids(number),
                   already=already, weights=weights)
    return issue, already


def apply_stored(store: Store, issue: Issue, items: list[Item], settings: Settings) -> Issue:
    """What `Pipeline.draft` calls after `select_for`: the stored decisions of this issue number, applied."""
    found = decisions.load(store, issue.number)
    if not found:
        return issue
    return decisions.apply(issue, found, pool(items, settings), settings=settings)
