"""Compose: select the week's best stories per section, render the house-style template, write atomically."""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jinja2

from curator.errors import ComposeError, ConfigError
from curator.finds import EDITOR_SOURCE, is_editor_find
from curator.frontmatter import merge_extra
from curator.mdsafe import Markdown, TrustedView, escape_text, finalize, one_line, safe_url, yaml_str
from curator.models import Issue, IssueSection, Item, ItemState, Story
from curator.outlet import outlet
from curator.prose import ProseView, SectionText, view
from curator.redaction import Redactor
from curator.settings import Settings
from curator.text import to_simplified
from curator.titles import headline
from curator.urls import clean_link, domain

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"
RUNNERS_UP = 10


@dataclass
class Footnote:
    n: int
    label: str
    url: str
    extra: str = ""


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


def adjusted_score(story: Story, weights: dict[tuple[str, str], float]) -> float:
    """The enrichment score scaled by what the editor's past decisions taught (1.0 without evidence)."""
    enr = story.lead.enrichment
    assert enr is not None
    src = [weights.get(("source", r.source), 1.0) for i in story.items for r in i.sources] or [1.0]
    tags = [weights.get(("tag", t), 1.0) for t in enr.tags] or [1.0]
    return enr.score * max(src) * (sum(tags) / len(tags))


def select(items: list[Item], settings: Settings, *, number: int, as_of: datetime, draft_ids: set[int],
           already: dict[int, int | None] | None = None,
           weights: dict[tuple[str, str], float] | None = None) -> Issue:
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
    pool.sort(key=lambda s: (-adjusted_score(s, weights), s.id))
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
    # The lead story's own headline (never a section name, never a keyword-pipe title).
    headline = issue_headline(chosen)
    title = settings.publication.title_format.format(name=settings.publication.name, number=number, headline=headline)
    return Issue(number=number, title=title, date=as_of, sections=sections, runners_up=runners_up[:RUNNERS_UP])


_REPRINT = re.compile(
    r"转载自|转自[^。\n]{0,20}(?:公众号|网站|微博)|原文链接|原文地址|本文(?:首发|原载)于|"
    r"originally (?:appeared|published)|first (?:appeared|published) (?:in|on|at)|reprinted (?:from|with)",
    re.IGNORECASE,
)


def citation_order(items: list[Item]) -> list[Item]:
    """A story's sources as its footnotes list them: the original publisher before reprints (a
    page saying 转载自 / "originally appeared" is a reprint; otherwise the earlier one), and
    https before plain http; the lead's position breaks ties."""
    def key(pair: tuple[int, Item]) -> tuple[bool, bool, datetime, int]:
        pos, item = pair
        text = item.article.text[:3000] if item.article else ""
        when = item.published_at or item.discovered_at
        return (bool(_REPRINT.search(text)), not item.url.startswith("https://"), when, pos)

    return [item for _, item in sorted(enumerate(items), key=key)]


def issue_headline(chosen: list[Story]) -> str:
    """The issue's headline: the title of its lead (highest-scoring, then first placed) story."""
    if not chosen:
        return "本周无入选内容"
    lead = max(chosen, key=lambda s: s.score).lead
    assert lead.enrichment is not None
    return headline(lead.enrichment.title).text or lead.enrichment.title


def _is_english(item: Item) -> bool:
    lang = item.article.lang if item.article else None
    return bool(lang) and lang.startswith("en")  # type: ignore[union-attr]


def cover_image(issue: Issue) -> str | None:
    """The cover candidate: the main image of the best-scoring story that has a usable one."""
    for story in sorted(issue.stories, key=lambda s: -s.score):
        for item in story.items:
            image = item.article.image if item.article else None
            if image and image.startswith("https://") and not image.lower().endswith((".svg", ".gif")):
                return image
    return None


def _comment_safe(value: object) -> str:
    text = re.sub(r"-{2,}", "-", one_line(value)).replace(">", "›").replace("<", "‹").replace('"', "'")
    # Inert inside the comment, but a handler or script scheme is never written out as such (a grep, a
    # converter that drops comments badly): `onerror＝`, `javascript：`.
    text = re.sub(r"(?i)\b(on[a-z]+)\s*=", "\\1＝", text)
    return re.sub(r"(?i)\b(javascript|vbscript|data(?=:[\w.+-]+/))\s*:", "\\1：", text)


class Renderer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.redactor = Redactor.for_settings(settings)
        self.links: set[str] = set()  # every link destination the last render wrote (review data, lint)
        self.prose_review: dict[str, dict[str, object]] = {}  # section id → what its prose cites (issue-N.json)
        name = settings.publication.template
        path = Path(name)
        if name.endswith(".j2") and not path.is_absolute():
            path = settings.home / path
        # Custom templates can include the built-in partials ({% include "_frontmatter.j2" %}).
        search = [str(path.parent), str(TEMPLATES_DIR)] if name.endswith(".j2") else [str(TEMPLATES_DIR)]
        self.template_name = path.name if name.endswith(".j2") else f"{name}.md.j2"
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(search),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            # Autoescape for Markdown: every printed string is escaped unless the composer marked it
            # `Markdown` (custom templates get this too; see curator/mdsafe.py).
            finalize=finalize,
        )
        self.env.filters["yaml_str"] = yaml_str
        self.env.filters["link_url"] = self._link
        self.env.filters["md"] = escape_text

    def _link(self, url: object) -> Markdown:
        """A vetted http(s) link destination, remembered for the review data; "" for anything else."""
        href = safe_url(url)
        if href is None:
            return Markdown("")
        self.links.add(href)
        return href

    def source_label(self, name: str) -> str:
        """A source as the reader sees it: the editor's finds under publication.editor_label."""
        return self.settings.publication.editor_label if name == EDITOR_SOURCE else name

    def story_title(self, story: Story) -> str:
        enr = story.lead.enrichment
        assert enr is not None
        pub = self.settings.publication
        label = pub.label_english if pub.language.startswith("zh") and _is_english(story.lead) else ""
        return f"{enr.title}{label}"

    def render(self, issue: Issue, prose: dict[str, SectionText] | None = None, **context: object) -> str:
        self.links = set()
        footnotes: list[Footnote] = []
        by_story: dict[int, list[Footnote]] = {}
        label = self.source_label
        simplified = self.settings.publication.language == "zh-Hans"
        for story in issue.stories:
            # The editor's own find is cited first in its story, under the editor's label; then originals
            # before reprints, https before http (citation_order; the sort is stable).
            for item in sorted(citation_order(story.items), key=lambda i: not is_editor_find(i)):
                names = "、".join(dict.fromkeys(label(r.source) for r in item.sources)) or label(EDITOR_SOURCE)
                title = (item.article.title if item.article and item.article.title else item.title) or domain(item.url)
                title = headline(title).text  # the source's headline, not its keyword pipes
                if simplified:
                    title = to_simplified(title)  # cited in the issue's script; the wording stays the source's
                extra = " ".join(
                    f"（[HN 讨论]({href}) {int(r.points)} points）" if r.points is not None else f"（[讨论]({href})）"
                    for r in item.sources
                    if r.discussion_url and (href := self._link(r.discussion_url))
                )
                credit = " ".join(
                    f"（[@{escape_text(r.submitter)}]({href}) 投稿）" if (href := self._link(r.submitter_url))
                    else f"（@{escape_text(r.submitter)} 投稿）"
                    for r in item.sources
                    if r.submitter
                )
                url = self._link(clean_link(item.url, keep_fragment="#" in item.canonical_url))
                note = Footnote(len(footnotes) + 1, f"{names}：{title}", url, Markdown(" ".join(filter(None, [extra, credit]))))
                footnotes.append(note)
                by_story.setdefault(story.id, []).append(note)

        def provenance(story: Story) -> str:
            enr = story.lead.enrichment
            assert enr is not None
            fields = {
                "story": story.id,
                "items": ",".join(str(i.id) for i in story.items),
                "section": enr.section,
                "score": enr.score,
                "backend": enr.backend,
                "model": enr.model or "-",
                "prompt": enr.prompt_sha[:12] or "-",
                "tokens": enr.input_tokens + enr.output_tokens,
                "cost_usd": f"{enr.cost_usd:.4f}",
                "sources": "、".join(dict.fromkeys(label(r.source) for i in story.items for r in i.sources)),
                "flags": ",".join(enr.flags) or "-",
                "published": (story.lead.published_at or story.lead.discovered_at).strftime("%Y-%m-%d"),
                "reason": enr.reason,
            }
            return Markdown("curator " + " ".join(f'{k}="{_comment_safe(v)}"' for k, v in fields.items()))

        # publication.prose = "section": a section's prose (curator/prose.py), None for story paragraphs.
        views: dict[str, ProseView] = {
            sec.id: view(sec, prose[sec.id], lambda sid: [n.n for n in by_story.get(sid, [])], self.settings.publication.language)
            for sec in issue.sections if prose and sec.id in prose
        }
        self.prose_review = {sid: v.review for sid, v in views.items()}

        tags = list(dict.fromkeys([*self.settings.publication.tags, *(t for s in issue.stories for t in (s.lead.enrichment.tags if s.lead.enrichment else []))]))[:8]
        try:
            template = self.env.get_template(self.template_name)
            text = template.render(
                issue=issue,
                publication=TrustedView(self.settings.publication),
                tags=tags,
                footnotes=footnotes,
                footnotes_of=lambda story: by_story.get(story.id, []),
                story_title=self.story_title,
                provenance=provenance,
                prose_of=lambda section: views.get(section.id),
                **{"front_matter": self.settings.publication.front_matter, "cover_image": cover_image(issue),
                   **context},
            )
        except jinja2.TemplateNotFound as exc:
            raise ConfigError(f"publication.template: no template named '{exc.name}'") from exc
        except jinja2.TemplateError as exc:
            raise ComposeError(f"template {self.template_name} failed: {exc}") from exc
        text = merge_extra(text, self.settings.publication.front_matter_extra)
        # Last line of defence: enrichment masks secrets before storing, but a draft is also made of
        # titles, source names and editor edits.
        return self.redactor.text(re.sub(r"\n{3,}", "\n\n", text).strip() + "\n")


def write_atomic(path: Path, text: str) -> None:
    """Write the whole file or nothing: temp file in the same folder, fsync, rename."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ComposeError(f"could not write the draft to {path}: {exc.strerror or exc}. Free some space or pick another drafts.dir; nothing was written.") from exc
