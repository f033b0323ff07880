"""What the review board shows: the open draft as the next regeneration would write it, and safe HTML.

The board shows select + the stored decisions, replayed; the Markdown file changes only when the editor
presses "regenerate". Beside each runner-up it says why select passed it over (`why_not`). Text from
sources reaches the page only escaped or sanitised (no markup of theirs, http(s) links only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nh3
from markdown_it import MarkdownIt

from curator import decisions, finds, select
from curator.decisions import Review
from curator.learning import load_weights
from curator.mdsafe import safe_url
from curator.models import Issue, IssueRecord, Item, Story, Weights
from curator.outlet import outlet
from curator.settings import Settings
from curator.store import Store

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_ALLOWED_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "strong", "em", "code", "pre",
                 "blockquote", "a", "hr", "br", "table", "thead", "tbody", "tr", "th", "td", "sup"}


def issue_as_of(settings: Settings, row: IssueRecord) -> datetime:
    """The date the draft was made for: its front matter `date:` (the window's end), else when it was made.

    Drafts made since schema 3 record it in the issues table; older ones fall back to the file.
    """
    if row.as_of:
        return row.as_of
    path = settings.drafts_dir / f"issue-{row.number}.md"
    if not path.exists() and row.path:
        path = Path(row.path)
    if path.exists():
        head = path.read_text(encoding="utf-8", errors="replace")[:4000]
        m = re.search(r"^date:\s*[\"']?(\d{4})-(\d{2})-(\d{2})", head, re.MULTILINE)
        if m:
            return datetime(int(m[1]), int(m[2]), int(m[3]), 23, 59, tzinfo=UTC)
    made = row.created_at
    return made.replace(hour=23, minute=59, second=0, tzinfo=made.tzinfo or UTC)


@dataclass(frozen=True)
class Loss:
    """Why select passed a runner-up over, in the editor's words, and the numbers behind it."""

    why: str  # "quota" (its section was full when its turn came) | "outlet" (per-outlet cap) | "other"
    text: str
    score: int
    lowest_kept: int | None  # the lowest score kept in its section on the board now (None: nothing kept)


def why_not(issue: Issue, machine: Issue, settings: Settings, weights: Weights) -> dict[int, Loss]:
    """For each runner-up of `issue`: why `machine` (select's own pick, before any decision) left it out.

    select walks the stories best first and takes one unless its section is full or its outlet already
    has `drafts.max_per_domain`; so the stories picked before a runner-up, counted per section and per
    outlet, say which of the two stopped it. The comparison is with the board as it is now.
    """
    quotas = {s.id: s.quota for s in settings.sections}
    titles = {s.id: s.title for s in settings.sections}
    order = {st.id: select.rank_key(st, weights)
             for st in [*machine.stories, *machine.runners_up] if st.lead.enrichment}
    home = {st.id: sec.id for sec in machine.sections for st in sec.stories}
    cap = settings.drafts.max_per_domain
    out: dict[int, Loss] = {}
    for story in issue.runners_up:
        enr = story.lead.enrichment
        if enr is None:
            continue
        section = enr.section if enr.section in quotas else settings.sections[0].id
        kept = [st.score for sec in issue.sections if sec.id == section for st in sec.stories]
        lowest = min(kept) if kept else None
        mine = order.get(story.id, (-float(story.score), story.id))
        ahead = [st for st in machine.stories if order.get(st.id, mine) < mine]
        same_section = sum(1 for st in ahead if home.get(st.id) == section)
        dom = outlet(story.lead)
        same_outlet = sum(1 for st in ahead if outlet(st.lead) == dom)
        versus = f"它 {story.score} 分；「{titles[section]}」" + (f"现在最低入选 {lowest} 分" if lowest is not None
                                                                 else "现在没有入选")
        adjusted = -mine[0]
        if round(adjusted) != story.score:
            versus += f"；按学到的偏好折算为 {adjusted:.0f} 分"
        if same_section >= quotas[section]:
            out[story.id] = Loss("quota", f"「{titles[section]}」栏目已满（{quotas[section]} 条，都排在它前面）。{versus}",
                                 story.score, lowest)
        elif same_outlet >= cap:
            out[story.id] = Loss("outlet", f"同一来源 {dom} 已有 {same_outlet} 条入选（每期最多 {cap} 条）。{versus}",
                                 story.score, lowest)
        else:
            out[story.id] = Loss("other", f"{enr.reason or '（curator 没有记录理由）'}。{versus}", story.score, lowest)
    return out


@dataclass
class BoardView:
    number: int
    path: Path
    as_of: datetime
    review: Review
    runners_up: list[Story]
    stale: bool  # decisions newer than the Markdown file
    decision_count: int
    already_ran: list[tuple[Item, int | None]] = field(default_factory=list)  # never selected again
    lost: dict[int, Loss] = field(default_factory=dict)  # runner-up story id -> why select passed it over

    @property
    def issue(self) -> Issue:
        return self.review.issue


def load_view(settings: Settings, store: Store) -> BoardView | None:
    """The open draft as the next regeneration would write it; None when there is no open draft."""
    row = store.open_draft_issue()
    if row is None:
        return None
    number, as_of = row.number, issue_as_of(settings, row)
    items = select.window(store, settings, number, as_of)  # not the whole pool: a page stays fast
    issue, _ = select.select_for(store, settings, items, number=number, as_of=as_of)
    found = decisions.load(store, number)
    review = decisions.replay(issue, found, select.pool(items, settings))
    weights = load_weights(store) if settings.learning.enabled else {}
    decisions.retitle(review.issue, settings)
    ran = select.already_ran(store, items)
    already = [(i, ran[i.id]) for i in items if i.id in ran and i.enrichment is not None]
    path = Path(row.path) if row.path else settings.drafts_dir / f"issue-{number}.md"  # publication.draft_path
    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC) if path.exists() else None
    stale = bool(found) and (mtime is None or max(d.created_at for d in found) > mtime)
    return BoardView(number=number, path=path, as_of=as_of, review=review, runners_up=review.issue.runners_up,
                     stale=stale, decision_count=len(found), already_ran=already,
                     lost=why_not(review.issue, issue, settings, weights))


def load_item(store: Store, item_id: int) -> Item | None:
    found = store.items(ids=[item_id])
    return found[0] if found else None


def safe_href(url: object) -> str:
    """Only http(s) links reach an href, with spaces and quotes encoded; anything else (javascript:,
    data:) becomes a dead link."""
    return safe_url(url) or "#"


def markdown_to_html(text: str) -> tuple[str, str]:
    """(front matter, sanitised HTML body) of a draft. Raw HTML from the text is shown as text, never run."""
    front = ""
    m = re.match(r"---\n(.*?)\n---\n", text, re.DOTALL)
    if m:
        front, text = m[1], text[m.end():]
    text = re.sub(r"<!--.*?-->\n?", "", text, flags=re.DOTALL)  # provenance comments: the board shows them per story
    # CommonMark has no footnotes: show the definitions as a numbered list and the marks as [n].
    text = re.sub(r"^\[\^(\d+)\]:\s*", r"\1. ", text, flags=re.MULTILINE)
    text = re.sub(r"\[\^(\d+)\]", r"[\1]", text)
    html = _MD.render(text)
    # Links keep only an http(s) href (no title: it would carry source text into an attribute).
    allowed = {"a": {"href"}, "th": {"align"}, "td": {"align"}}
    clean: str = nh3.clean(html, tags=_ALLOWED_TAGS, attributes=allowed, url_schemes={"http", "https"},
                           attribute_filter=lambda tag, attr, value: value if attr in allowed.get(tag, ()) else None,
                           link_rel="noopener noreferrer nofollow")
    return front, clean


def story_date(story: Story) -> datetime:
    """The date a card shows: when the lead was published, else when curator first saw it (select's window)."""
    return story.lead.published_at or story.lead.discovered_at


def story_sources(story: Story, editor_label: str = finds.EDITOR_SOURCE) -> list[dict[str, Any]]:
    """A story's source lines as the draft cites them (the editor's own find first)."""
    out = []
    for item in sorted(story.items, key=lambda i: not finds.is_editor_find(i)):
        for ref in item.sources:
            name = editor_label if ref.source == finds.EDITOR_SOURCE else ref.source
            out.append({"name": name, "url": item.url, "discussion_url": ref.discussion_url,
                        "points": ref.points, "submitter": ref.submitter})
    return out
