"""What the review board shows: the open draft as the next regeneration would write it, and safe HTML.

The board shows select + the stored decisions, replayed; the Markdown file changes only when the editor
presses "regenerate". Text from sources reaches the page only escaped or sanitised (no script, http(s)
links only).
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
from curator.mdsafe import safe_url
from curator.models import Issue, IssueRecord, Item, ItemState, Story
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

    @property
    def issue(self) -> Issue:
        return self.review.issue


def load_view(settings: Settings, store: Store) -> BoardView | None:
    """The open draft as the next regeneration would write it; None when there is no open draft."""
    row = store.open_draft_issue()
    if row is None:
        return None
    number, as_of = row.number, issue_as_of(settings, row)
    items = store.items(states=[ItemState.ENRICHED, ItemState.DRAFTED])
    issue, _ = select.select_for(store, settings, items, number=number, as_of=as_of)
    found = decisions.load(store, number)
    review = decisions.replay(issue, found, select.pool(items, settings))
    decisions.retitle(review.issue, settings)
    ran = select.already_ran(store, items)
    already = [(i, ran[i.id]) for i in items if i.id in ran and i.enrichment is not None]
    path = Path(row.path) if row.path else settings.drafts_dir / f"issue-{number}.md"  # publication.draft_path
    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC) if path.exists() else None
    stale = bool(found) and (mtime is None or max(d.created_at for d in found) > mtime)
    return BoardView(number=number, path=path, as_of=as_of, review=review, runners_up=review.issue.runners_up,
                     stale=stale, decision_count=len(found), already_ran=already)


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


def story_sources(story: Story, editor_label: str = finds.EDITOR_SOURCE) -> list[dict[str, Any]]:
    """A story's source lines as the draft cites them (the editor's own find first)."""
    out = []
    for item in sorted(story.items, key=lambda i: not finds.is_editor_find(i)):
        for ref in item.sources:
            name = editor_label if ref.source == finds.EDITOR_SOURCE else ref.source
            out.append({"name": name, "url": item.url, "discussion_url": ref.discussion_url,
                        "points": ref.points, "submitter": ref.submitter})
    return out
