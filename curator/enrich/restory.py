"""After triage, the second clustering pass: story leads whose translated titles say they are one story.

    triaged leads (+ triage's title_en) ─► cluster.merge_translated ─► stories merged in the store
                                        ─► one lead per merged story; the others cited under it

Clustering ran before triage without translations, so a Chinese and an English report of one event that
share no Latin name, figure or link are two stories there. Triage translates the Chinese headlines; this
pass merges such stories before anything is paid for twice. The offline backend does not triage: its
stories are the first pass's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from curator.enrich import cleanup
from curator.enrich.backends import TriageVerdict
from curator.models import EnrichRequest, Item, ItemState, RunSummary
from curator.settings import Settings
from curator.store import Store

if TYPE_CHECKING:  # clustering's numpy: only a run that clusters pays for importing it (`draft` does not)
    from curator import cluster

log = logging.getLogger(__name__)


def cluster_input(item: Item, title_en: str | None = None) -> cluster.ClusterInput:
    """An item as the pair test reads it, as the first pass built it (pipeline._cluster)."""
    assert item.article is not None
    from curator import cluster

    return cluster.ClusterInput(
        item_id=item.id,
        title=item.article.title or item.title,
        text=cleanup.clean_for_summary(item.article.text).text,  # page chrome never makes two videos one story
        lang=item.article.lang,
        published_at=item.published_at or item.article.date or item.discovered_at,
        links=tuple(item.article.links),
        title_en=title_en or None,
    )


def lead_rank(settings: Settings, item: Item) -> tuple[bool, float, int, int]:
    """Which report leads a story (the smallest first): the publication's language, the heaviest
    source, the longest text; as EnrichStage._story_leads ranks a story's members."""
    pub_lang = settings.publication.language.split("-")[0].lower()
    lang = (item.article.lang or "").split("-")[0].lower() if item.article else ""
    return (lang != pub_lang, -settings.source_weight(r.source for r in item.sources),
            -len(item.article.text if item.article else ""), item.id)


def merge_translated_stories(
    store: Store, settings: Settings, run: RunSummary, todo: list[EnrichRequest],
    leads: dict[int, Item], members: dict[int, list[int]], verdicts: dict[int, TriageVerdict],
) -> list[EnrichRequest]:
    """`todo` less the leads that joined another lead's story (cited under it from now on).

    `members`: story id -> this run's items of it (all move with their lead); `verdicts` is updated so the
    merged story keeps the best score its reports got."""
    if not any(v.title_en for v in verdicts.values()):
        return todo
    triaged = [leads[r.item_id] for r in todo if r.item_id in leads and leads[r.item_id].article is not None]
    story_of = {item.id: item.story_id or item.id for item in triaged}
    from curator import cluster

    joined = cluster.merge_translated(
        (cluster_input(item, verdicts[item.id].title_en if item.id in verdicts else None) for item in triaged),
        story_of,
    )
    if not joined:
        return todo
    stories: dict[int, list[Item]] = {}
    for item in triaged:
        stories.setdefault(joined.get(item.id, story_of[item.id]), []).append(item)
    moves = {member: target for lead_id, target in joined.items() for member in members.get(story_of[lead_id], [lead_id])}
    store.set_story_ids(moves)
    followers: set[int] = set()
    for group in stories.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda item: lead_rank(settings, item))
        _keep_best_score(verdicts, group[0].id, (i.id for i in group))
        for follower in group[1:]:
            store.set_state(follower.id, ItemState.ENRICHED, "same_story")
            verdicts.pop(follower.id, None)  # no longer a candidate of its own (triage's top k)
            followers.add(follower.id)
    run.counters["cluster/translated_joined"] += len(followers)
    run.counters["enrich/same_story"] += len(followers)
    log.info("second clustering pass: %d report(s) joined another story by a translated title", len(followers))
    return [r for r in todo if r.item_id not in followers]


def _keep_best_score(verdicts: dict[int, TriageVerdict], lead: int, ids: Iterable[int]) -> None:
    scored = [verdicts[i] for i in ids if i in verdicts]
    if lead in verdicts and scored:
        best = max(scored, key=lambda v: v.score)
        verdicts[lead] = verdicts[lead].model_copy(update={"score": best.score})
