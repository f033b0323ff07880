"""Where drafts and published issues go: file-name patterns ({n}, {date}, {slug}) kept inside the workspace.

    publication.draft_path     = "drafts/issue-{n}.md"      (default: drafts.dir/issue-{n}.md)
    publication.published_path = "published/issue-{n}.md"   Jekyll "_posts/{date}-{slug}.md", Hugo "content/posts/{n}.md"

Patterns are checked when config is loaded (`check_pattern`, no imports of settings here: settings.py
calls it) and again once filled in (`fill`), so a slug or a symlink can never lead outside the workspace.
"""

from __future__ import annotations

import re
import string
import unicodedata
from datetime import date
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING

from curator.errors import ConfigError

if TYPE_CHECKING:
    from curator.settings import Settings

__all__ = ["PLACEHOLDERS", "check_pattern", "draft_path", "feed_path", "fill", "published_path", "slugify"]

PLACEHOLDERS = ("n", "date", "slug")


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
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(pattern) if f is not None]
    except ValueError as exc:
        raise ValueError(f"{pattern!r} is not a valid pattern ({exc}); write a literal brace as {{{{ or }}}}") from None
    unknown = [f for f in fields if f not in PLACEHOLDERS]
    if unknown:
        raise ValueError(f"{pattern!r} uses {{{unknown[0]}}}; the placeholders are {{n}}, {{date}} and {{slug}}")
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


def fill(home: Path, pattern: str, key: str, *, number: int, day: date, title: str) -> Path:
    """The absolute path `pattern` names for an issue; ConfigError naming `key` if it lands outside `home`."""
    try:
        check_pattern(pattern)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    rel = pattern.format(n=number, date=day.isoformat(), slug=slugify(title) or f"issue-{number}")
    root = home.resolve()
    path = (root / rel).resolve()
    if not path.is_relative_to(root):
        raise ConfigError(f"{key}: {pattern!r} resolves to {path}, outside the workspace {root} (a symlink?); "
                          "point it at a folder inside the workspace")
    return path


def draft_path(settings: Settings, number: int, day: date, title: str) -> Path:
    """Where `draft` writes issue `number` (publication.draft_path, else drafts.dir/issue-{n}.md)."""
    pattern = settings.publication.draft_path
    if not pattern:
        return settings.drafts_dir / f"issue-{number}.md"
    return fill(settings.home, pattern, "publication.draft_path", number=number, day=day, title=title)


def published_path(settings: Settings, number: int, day: date, title: str) -> Path:
    """Where `publish` writes the published copy of issue `number` (publication.published_path)."""
    return fill(settings.home, settings.publication.published_path, "publication.published_path",
                number=number, day=day, title=title)


def feed_path(settings: Settings) -> Path | None:
    """The Atom feed `publish` keeps (publication.feed_path), None when turned off."""
    pattern = settings.publication.feed_path
    if not pattern:
        return None
    root = settings.home.resolve()
    path = (root / pattern).resolve()
    if not path.is_relative_to(root):
        raise ConfigError(f"publication.feed_path: {pattern!r} resolves to {path}, outside the workspace {root}")
    return path
