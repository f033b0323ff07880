"""Compose: render the selected issue in the house-style template (citations, headline, cover) and write it atomically."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import pickle
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
import jinja2.bccache

from curator import sitepaths
from curator.errors import ComposeError, ConfigError
from curator.finds import EDITOR_SOURCE, is_editor_find
from curator.frontmatter import merge_extra
from curator.mdsafe import Markdown, TrustedView, escape_text, finalize, one_line, safe_url, yaml_str
from curator.models import Issue, Item, ProseReview, Story
from curator.redaction import Redactor
from curator.settings import Settings
from curator.text import to_simplified
from curator.titles import headline
from curator.urls import clean_link, domain

if TYPE_CHECKING:  # section prose (curator/prose.py, the enrichment backends) loads only for publication.prose = "section"
    from curator.prose import ProseView, SectionText

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"


class TemplateCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept beside the store (in data/, which git ignores): Jinja compiling the
    template and its partials is ~15 ms of every draft. Jinja checks each entry against its template's
    source; a cache that cannot be read or written is a miss, never an error."""

    def __init__(self, folder: Path, env: jinja2.Environment) -> None:
        # Jinja keys an entry by the template's name and source only: the options that shape the
        # compiled code, and Jinja's version, go into the file names.
        shape = (jinja2.__version__, env.block_start_string, env.block_end_string, env.variable_start_string,
                 env.variable_end_string, env.comment_start_string, env.comment_end_string,
                 env.line_statement_prefix, env.line_comment_prefix, env.trim_blocks, env.lstrip_blocks,
                 env.newline_sequence, env.keep_trailing_newline, env.autoescape, env.finalize is not None,
                 env.optimized, sorted(env.extensions))
        key = hashlib.sha256(repr(shape).encode()).hexdigest()[:16]
        super().__init__(str(folder), f"{key}-%s.cache")

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):  # a damaged entry: compile
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            Path(self.directory).mkdir(parents=True, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError as exc:  # a read-only workspace still drafts, compiling each time
            log.debug("template cache not written (%s)", exc)


@dataclass
class Footnote:
    n: int
    label: str
    url: str
    extra: str = ""


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
        self.prose_review: dict[str, ProseReview] = {}  # section id → what its prose cites (issue-N.json)
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
            # Autoescape for Markdown: every printed string is escaped unless the composer marked it
            # `Markdown` (custom templates get this too; see curator/mdsafe.py).
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            finalize=finalize,
        )
        store_dir = settings.db_path.parent
        if store_dir.is_dir():  # a workspace's data/ (git ignores it); no folder is made for the cache alone
            self.env.bytecode_cache = TemplateCache(store_dir / "cache" / "templates", self.env)
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

    def footnote(self, n: int, item: Item) -> Footnote:
        """The footnote citing `item`: its sources' names, its headline, its link, discussions and credits."""
        label = self.source_label
        names = "、".join(dict.fromkeys(label(r.source) for r in item.sources)) or label(EDITOR_SOURCE)
        title = (item.article.title if item.article and item.article.title else item.title) or domain(item.url)
        title = headline(title).text  # the source's headline, not its keyword pipes
        if self.settings.publication.language == "zh-Hans":
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
        return Footnote(n, f"{names}：{title}", url, Markdown(" ".join(filter(None, [extra, credit]))))

    def footnotes(self, issue: Issue) -> tuple[list[Footnote], dict[int, list[Footnote]]]:
        """Every footnote in issue order, and each story's own."""
        footnotes: list[Footnote] = []
        by_story: dict[int, list[Footnote]] = {}
        for story in issue.stories:
            # The editor's own find is cited first in its story, under the editor's label; then originals
            # before reprints, https before http (citation_order; the sort is stable).
            for item in sorted(citation_order(story.items), key=lambda i: not is_editor_find(i)):
                note = self.footnote(len(footnotes) + 1, item)
                footnotes.append(note)
                by_story.setdefault(story.id, []).append(note)
        return footnotes, by_story

    def provenance(self, story: Story) -> Markdown:
        """The story's provenance comment body (`publish` and `lint` read it back)."""
        enr = story.lead.enrichment
        assert enr is not None
        label = self.source_label
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

    def render(self, issue: Issue, prose: dict[str, SectionText] | None = None, **context: object) -> str:
        self.links = set()
        footnotes, by_story = self.footnotes(issue)
        # publication.prose = "section": a section's prose (curator/prose.py), None for story paragraphs.
        if prose:
            from curator.prose import view
        views: dict[str, ProseView] = {
            sec.id: view(sec, prose[sec.id], lambda sid: [n.n for n in by_story.get(sid, [])], self.settings.publication.language)
            for sec in issue.sections if prose and sec.id in prose
        }
        self.prose_review = {sid: ProseReview.model_validate(v.review) for sid, v in views.items()}

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
                provenance=self.provenance,
                prose_of=lambda section: views.get(section.id),
                headline=issue_headline(issue.stories),
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


def draft_path(settings: Settings, number: int, day: date, title: str) -> Path:
    """Where the draft of issue `number` goes: publication.draft_path (curator/sitepaths.py), else
    drafts.dir/issue-{n}.md."""
    pattern = settings.publication.draft_path
    if not pattern:
        return settings.drafts_dir / f"issue-{number}.md"
    return sitepaths.fill(settings.home, pattern, "publication.draft_path", number=number, day=day, title=title)


def _create_temp(folder: Path, name: str) -> tuple[int, Path]:
    """A new temp file beside `name`, created with mode 0o666 so the kernel applies the process umask
    (and the folder's default ACL) as it does for any file the editor creates: 0644 under umask 022,
    0664 under 002. mkstemp would give 0600; reading the umask with os.umask() would briefly change it
    for every thread."""
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(folder))


def write_atomic(path: Path, text: str) -> None:
    """Write the whole file or nothing: temp file in the same folder, fsync, rename. The file gets the
    workspace's normal permissions (0o666 less the umask), like a file the editor saved."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temp(path.parent, path.name)
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
        raise ComposeError(f"could not write {path}: {exc.strerror or exc}. Free some space or pick another "
                           "folder (drafts.dir, publication.draft_path / published_path); nothing was written.") from exc
