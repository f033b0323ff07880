"""Where drafts and published issues go: file-name patterns ({n}, {date}, {slug}) kept inside the workspace.

    publication.draft_path     = "drafts/issue-{n}.md"      (default: drafts.dir/issue-{n}.md)
    publication.published_path = "published/issue-{n}.md"   Jekyll "_posts/{date}-{slug}.md", Hugo "content/posts/{n}.md"

Patterns are checked when config is loaded (`SitePublishing`, the `[publication]` keys of publishing
to a site, which PublicationSettings takes on; this module never imports settings) and again once
filled in (`fill`), so a slug or a symlink can never lead outside the workspace.
"""

from __future__ import annotations

import re
import string
import unicodedata
from datetime import date
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from curator.errors import ConfigError

__all__ = ["PLACEHOLDERS", "SitePublishing", "check_pattern", "check_placeholders", "fill", "inside", "slugify"]

PLACEHOLDERS = ("n", "date", "slug")


def check_placeholders(pattern: str) -> str:
    """`pattern` if its only placeholders are {n}, {date} and {slug}; ValueError otherwise."""
    try:
        fields = [f for _, f, _spec, _conv in string.Formatter().parse(pattern) if f is not None]
    except ValueError as exc:
        raise ValueError(f"{pattern!r} is not a valid pattern ({exc}); write a literal brace as {{{{ or }}}}") from None
    unknown = [f for f in fields if f not in PLACEHOLDERS]
    if unknown:
        raise ValueError(f"{pattern!r} uses {{{unknown[0]}}}; the placeholders are {{n}}, {{date}} and {{slug}}")
    try:
        pattern.format(n=1, date="2026-01-01", slug="s")  # a format spec that does not fit its value ({n:x>})
    except ValueError as exc:
        raise ValueError(f"{pattern!r} is not a valid pattern ({exc})") from None
    return pattern


def _site_url(url: str) -> str:
    if url and not url.startswith(("https://", "http://")):
        raise ValueError(f"{url!r} is not an http(s) URL; give the site's root, e.g. \"https://weekly.example.org/\"")
    return url


def check_pattern(pattern: str) -> str:
    """`pattern` if it is a relative file pattern inside the workspace using only {n} {date} {slug};
    ValueError (pydantic reports it with the key and the file) otherwise."""
    if not pattern.strip():
        raise ValueError("must be a file path such as \"published/issue-{n}.md\", not empty")
    if PurePosixPath(pattern).is_absolute() or PureWindowsPath(pattern).is_absolute() or pattern.startswith("~"):
        raise ValueError(f"{pattern!r} is an absolute path; give a path relative to the workspace, "
                         "e.g. \"content/posts/{n}.md\"")
    if ".." in re.split(r"[/\\]", pattern):
        raise ValueError(f"{pattern!r} leaves the workspace through '..'; give a path inside it, "
                         "e.g. \"_posts/{date}-{slug}.md\"")
    check_placeholders(pattern)
    if pattern.endswith(("/", "\\")):
        raise ValueError(f"{pattern!r} names a folder; end it with a file name, e.g. \"issue-{{n}}.md\"")
    return pattern


def slugify(title: str, *, limit: int = 60) -> str:
    """The ASCII slug of a title ("Rust 2026 路线图 发布" → "rust-2026"); "" when nothing ASCII is left
    (no pinyin: the caller falls back to issue-{n})."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0] or slug[:limit]
    return slug


def _pattern_or_off(pattern: str | None) -> str | None:
    return check_pattern(pattern) if pattern else pattern


Pattern = Annotated[str, AfterValidator(check_pattern)]
OptionalPattern = Annotated[str | None, AfterValidator(_pattern_or_off)]
UrlPattern = Annotated[str, AfterValidator(check_placeholders)]
SiteUrl = Annotated[str, AfterValidator(_site_url)]


class SitePublishing(BaseModel):
    """The `[publication]` keys of publishing to a site (PublicationSettings inherits them)."""

    draft_path: OptionalPattern = None  # None: "<drafts.dir>/issue-{n}.md" (= "drafts/issue-{n}.md")
    published_path: Pattern = "published/issue-{n}.md"  # the copy `publish` writes; the draft stays the record
    keep_provenance: bool = False  # keep the <!-- curator … --> comments in the published copy (drafts always do)
    feed_path: OptionalPattern = "published/feed.xml"  # Atom feed of published issues; None or "" turns it off
    json_feed_path: OptionalPattern = "published/feed.json"  # JSON Feed 1.1 of the same issues; "" turns it off
    feed_entries: int = Field(default=20, ge=1, le=1000)  # the newest issues both feeds keep
    base_url: SiteUrl = ""  # the site's root URL, e.g. "https://example.com/"; links in the feed
    issue_url: UrlPattern = "{n}/"  # an issue's page under base_url (Hugo "posts/{n}/", Jekyll "{slug}/")


def inside(home: Path, rel: str, key: str) -> Path:
    """`home / rel` resolved, or ConfigError naming `key` when it lands outside `home` (a symlink)."""
    root = home.resolve()
    path = (root / rel).resolve()
    if not path.is_relative_to(root):
        raise ConfigError(f"{key}: {rel!r} resolves to {path}, outside the workspace {root} (a symlink?); "
                          "point it at a folder inside the workspace")
    return path


def fill(home: Path, pattern: str, key: str, *, number: int, day: date, title: str) -> Path:
    """The absolute path `pattern` names for an issue; ConfigError naming `key` if it lands outside `home`."""
    try:
        check_pattern(pattern)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    return inside(home, pattern.format(n=number, date=day.isoformat(), slug=slugify(title) or f"issue-{number}"), key)

