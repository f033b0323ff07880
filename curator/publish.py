"""Publish: the edited draft → per-story kept / dropped / edited / added, archive rows, learned weights.

    drafts/issue-N.md (as published) + issue-N.json (ReviewData) ─► publish ─► PublishResult

Each drafted story is found again by its provenance comment: gone → dropped; title and summary still
there → kept; changed → edited. Links the composer did not write are the editor's additions. A story
the archive now holds is never selected again.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from curator import archive, decisions, learning, site, site_feed
from curator.errors import ComposeError
from curator.mdsafe import unescape_text
from curator.models import ItemState, PublishResult, ReviewData, ReviewStory, WovenStory
from curator.settings import Settings
from curator.store import Store, now_utc
from curator.urls import canonical_url

log = logging.getLogger(__name__)

PROVENANCE = re.compile(r"<!--\s*curator\s+(.*?)-->", re.DOTALL)
FIELD = re.compile(r'(\w+)="([^"]*)"')

__all__ = ["PublishResult", "publish"]


def _blocks(text: str) -> dict[int, str]:
    """story id → the text that follows its provenance comment, up to the next comment or heading."""
    out: dict[int, str] = {}
    matches = list(PROVENANCE.finditer(text))
    for i, m in enumerate(matches):
        fields = dict(FIELD.findall(m.group(1)))
        if "story" not in fields:
            continue
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        block = text[m.end() : end]
        block = re.split(r"\n#{1,6} |\n\[\^", block)[0]
        out[int(fields["story"])] = block.strip()
    return out


def _prose_blocks(text: str) -> dict[str, str]:
    """section id → the prose under its section comment (`prose="section"`), up to the next heading."""
    out: dict[str, str] = {}
    for m in PROVENANCE.finditer(text):
        fields = dict(FIELD.findall(m.group(1)))
        if fields.get("prose") == "section" and "story" not in fields and "section" in fields:
            rest = re.split(r"\n#{1,6} |\n\[\^\d+\]:", text[m.end():])[0]
            out[fields["section"]] = PROVENANCE.sub("", rest).strip()
    return out


def _woven_action(woven: WovenStory, block: str) -> str:
    """A story woven into section prose: dropped when no sentence cites it any more, edited when a
    sentence citing it changed."""
    if not any(f"[^{n}]" in block for n in woven.notes):
        return "drop"
    return "keep" if all(_plain(s) in _plain(block) for s in woven.sentences) else "edit"


def _plain(text: str) -> str:
    # The draft escapes Markdown in titles and summaries (curator/mdsafe.py): compare what a reader reads.
    return re.sub(r"[\s*_`>\[\]()（）:：]|\[\^\d+\]", "", archive.normalise_title(unescape_text(text)))


def _read_review(settings: Settings, path: Path) -> ReviewData:
    """The review data `draft` wrote beside the file (else in drafts_dir, by the issue number in its name)."""
    review_path = path.with_suffix(".json")
    number_m = re.search(r"issue-(\d+)", path.name)
    if not review_path.exists() and number_m:
        review_path = settings.drafts_dir / f"issue-{number_m.group(1)}.json"
    if not review_path.exists():
        raise ComposeError(f"no review data beside {path} (issue-N.json written by `curator draft`); "
                           "publish the file curator drafted, edited in place")
    try:
        return ReviewData.model_validate_json(review_path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise ComposeError(f"{review_path} is not review data written by `curator draft`: {exc}") from exc


def _story_action(st: ReviewStory, data: ReviewData, blocks: dict[int, str], prose_blocks: dict[str, str]) -> str:
    """keep / edit / drop for one drafted story, from what the published file still says of it."""
    block = blocks.get(st.story)
    woven = None
    if data.prose and st.section in data.prose:
        woven = data.prose[st.section].stories.get(str(st.story))
    if block is not None and woven:
        return _woven_action(woven, prose_blocks.get(st.section or "", block))
    if block is None:
        return "drop"
    if _plain(st.summary) not in _plain(block) or _plain(st.title) not in _plain(block):
        return "edit"
    return "keep"


def _record_stories(store: Store, data: ReviewData, text: str, result: PublishResult, now: str) -> set[str]:
    """One `published:*` decision per drafted story, its items' new state; the drafted canonical URLs."""
    blocks, prose_blocks = _blocks(text), _prose_blocks(text)
    known_urls: set[str] = set()
    edited = decisions.edited_stories(store, data.number)  # the regenerated file already carries these edits
    for st in (s for sec in data.sections for s in sec.stories):
        known_urls.update(canonical_url(u) for u in st.urls)
        action = _story_action(st, data, blocks, prose_blocks)
        action = "edit" if action == "keep" and st.story in edited else action
        {"drop": result.dropped, "edit": result.edited, "keep": result.kept}[action].append(st.story)
        store.add_decision(data.number, f"published:{action}", story_id=st.story, item_id=st.items[0],
                           section=st.section, created_at=now)
        store.set_items_state(st.items, ItemState.PUBLISHED if action != "drop" else ItemState.ENRICHED, now)
    # Stories dropped before the last regeneration are in neither the file nor the review data; learning
    # reads them from the decisions (decisions.dropped_items), so they are counted here, not recorded again.
    drafted = {s.story for sec in data.sections for s in sec.stories}
    result.dropped.extend(sid for sid in decisions.dropped_items(store, data.number) if sid not in drafted)
    return known_urls


def publish(settings: Settings, store: Store, path: Path) -> PublishResult:
    """Record what was published from `path` (the draft as the editor edited it); raises ComposeError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ComposeError(f"cannot read {path}: {exc.strerror}") from exc
    data = _read_review(settings, path)
    number = data.number
    issue = store.issue(number)
    if issue is None:
        raise ComposeError(f"issue #{number} is not in this store; publish it from the workspace that drafted it")
    if issue.state == "published":
        raise ComposeError(f"issue #{number} is already published")
    result = PublishResult(number=number)
    # The site's files first (a failure leaves the issue unpublished, to publish again): the published
    # copy (front matter flipped, provenance dropped) and the feeds (Atom, JSON Feed) of published issues.
    result.published_path = str(site.write_published(settings, path, text, data))
    feeds = site_feed.write_feeds(settings, store, (number, path, text))
    result.feed_path = " and ".join(str(p) for p in feeds) or None
    now = now_utc().isoformat(timespec="seconds")
    with store.transaction():
        known_urls = _record_stories(store, data, text, result, now)
        parsed = archive.parse_issue(text, str(path))
        for entry in parsed.entries:
            try:
                key = canonical_url(entry.url)
            except ValueError:
                continue
            if key not in known_urls and key not in {canonical_url(e) for e in result.added}:
                result.added.append(entry.url)
                store.add_decision(number, "published:add", url=entry.url, title=entry.title, created_at=now)
        store.mark_published(number, str(path), now)
    parsed.number = parsed.number or number
    parsed.date = parsed.date or date.fromisoformat(data.date[:10])
    result.archived_links = archive.record_issue(store, parsed, str(path))
    if settings.learning.enabled:
        learning.learn_weights(store)
    return result
