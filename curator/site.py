"""The published copy: the edited draft as the site should build it (front matter flipped, provenance dropped).

    drafts/issue-N.md (the record, provenance kept) ─► published_text ─► publication.published_path

`draft: true` becomes `draft: false` (Hugo) and `published: false` becomes `published: true` (Hexo,
Jekyll), so the generator builds the page; the `<!-- curator … -->` comments (scores, model, cost)
stay out of the page source unless `publication.keep_provenance` is true. The draft itself is never
rewritten: `publish` and `lint` read its comments back.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from curator import sitepaths
from curator.compose import write_atomic
from curator.errors import ConfigError
from curator.markdown import scan
from curator.models import ReviewData
from curator.settings import Settings

__all__ = ["PROVENANCE_LINE", "flip_front_matter", "front_matter", "published_text", "strip_provenance",
           "write_published"]

FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)?---[ \t]*(?:\n|\Z)", re.DOTALL)
# A provenance comment, with the indentation before it and the line end after it (one line of its own).
PROVENANCE_LINE = re.compile(r"[ \t]*<!--\s*curator\s.*?-->[ \t]*(?:\n|\Z)", re.DOTALL)
_FLIPS = (
    (re.compile(r"^draft:[ \t]*(?:true|yes|on)[ \t]*(#.*)?$", re.IGNORECASE | re.MULTILINE), "draft: false"),
    (re.compile(r"^published:[ \t]*(?:false|no|off)[ \t]*(#.*)?$", re.IGNORECASE | re.MULTILINE), "published: true"),
)


def front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(the leading YAML front matter as a mapping, the body after it); ({}, text) when there is none or
    it is not a YAML mapping."""
    m = FRONT.match(text)
    if not m:
        return {}, text
    try:
        data = yaml.safe_load(m.group(1) or "")
    except yaml.YAMLError:
        data = None
    return (data if isinstance(data, dict) else {}), text[m.end():]


def flip_front_matter(text: str) -> str:
    """`text` with its front matter saying "publish": only top-level `draft` / `published` lines of the
    leading `---` block change; a file without front matter is returned as it is."""
    m = FRONT.match(text)
    if not m or not m.group(1):
        return text
    head = m.group(1)
    for pattern, line in _FLIPS:
        head = pattern.sub(lambda mm, line=line: line + (f" {mm.group(1)}" if mm.group(1) else ""), head)
    return text[: m.start(1)] + head + text[m.end(1):]


def strip_provenance(text: str) -> str:
    """`text` without the `<!-- curator … -->` comments (the lines they stood on go too); one shown
    inside fenced code (a post about curator) stays."""
    code = {ln.no for ln in scan(text).lines if ln.kind in ("fence", "code")}

    def drop(m: re.Match[str]) -> str:
        return m.group(0) if text.count("\n", 0, m.start()) + 1 in code else ""

    out = PROVENANCE_LINE.sub(drop, text)
    return re.sub(r"\n{3,}", "\n\n", out) if out != text else text


def published_text(text: str, *, keep_provenance: bool = False) -> str:
    """The published copy of an edited draft."""
    text = flip_front_matter(text)
    return text if keep_provenance else strip_provenance(text)


def write_published(settings: Settings, source: Path, text: str, data: ReviewData) -> Path:
    """Write the published copy of `text` (the edited draft at `source`) to publication.published_path;
    its {slug} comes from the title the editor left in the front matter. Raises ConfigError, ComposeError."""
    meta, _ = front_matter(text)
    title = str(meta.get("title") or data.title)
    dest = sitepaths.fill(settings.home, settings.publication.published_path, "publication.published_path",
                          number=data.number, day=date.fromisoformat(data.date[:10]), title=title)
    if dest == source.resolve():
        raise ConfigError(
            f"publication.published_path: {settings.publication.published_path!r} is the draft itself ({source}); "
            "the draft stays curator's record (its comments are read back), so publish to another file, "
            "e.g. \"published/issue-{n}.md\" or \"content/posts/{n}.md\"")
    write_atomic(dest, published_text(text, keep_provenance=settings.publication.keep_provenance))
    return dest
