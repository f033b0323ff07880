"""Markdown safety for drafts: untrusted text escaped when rendered, links limited to http(s).

    template {{ value }} ─► finalize(value) ─► Markdown (trusted: as is) | str ─► escape_text | other: as is

Every expression a draft template prints goes through `finalize`, so titles, summaries, source
names and any field a custom template reaches are escaped by default; only what the composer built
itself (provenance comments, link destinations it vetted, config prose) is marked `Markdown`.

The escaping changes only what would change the meaning of the text: link and image brackets,
raw HTML and entities, emphasis and code marks, bare-URL autolinks, and line-start constructs
(headings, lists, quotes, `---`, footnote definitions). Chinese punctuation, `.`, `-` inside words
and the like are left alone, so ordinary titles render byte for byte as before.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

__all__ = ["Markdown", "TrustedView", "escape_text", "finalize", "one_line", "safe_url", "unescape_text", "yaml_str"]


class Markdown(str):
    """Text the composer built or vetted: printed by templates as is."""

    __slots__ = ()


# C0 controls, and the bidi overrides/isolates that can make text read other than it is written.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_LINEBREAKS = re.compile(r"\s*[\r\n]+\s*")
_ENTITY = re.compile(r"&(?=#\d{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
_ALWAYS = re.compile(r"([\\`*\[\]])")
# `_` makes emphasis only at a word edge (CommonMark ignores it inside words: snake_case stays).
_EDGE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_AUTOLINK = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]{1,31}):(?=//)|\b(www)\.(?=\S)", re.IGNORECASE)
_URL_UNSAFE = re.compile(r"[\s()<>\[\]\"'`\\\x00-\x1f\x7f]")
# What opens a block when the value starts a line: heading, quote, list item, `---` / `===` rule or
# setext underline, ordered-list number. "#30" or "-5%" are not blocks and stay as written.
_LINE_START = re.compile(r"^(?:#{1,6}(?=\s|$)|>|[-+](?=[\s-]|$)|=|(\d{1,9})([.)])(?=\s|$))")


def one_line(value: object) -> str:
    """`value` on one line: line breaks become spaces, control and bidi-override characters go."""
    return _CONTROL.sub("", _LINEBREAKS.sub(" ", str(value).replace("\t", " "))).strip()


def escape_text(value: object) -> Markdown:
    """`value` as one line of inline Markdown that reads the same and does nothing but read.

    Line breaks become spaces (a field is one inline run: no `---`, heading or footnote definition can
    start inside it), control characters go, and the value is trimmed (leading spaces would indent).
    """
    text = _ALWAYS.sub(r"\\\1", one_line(value))
    text = _EDGE_UNDERSCORE.sub(r"\\_", text)
    if text.count("~") >= 2:  # a pair of tildes can strike through (GFM); a lone "~50%" cannot
        text = text.replace("~", "\\~")
    text = _ENTITY.sub("&amp;", text)
    text = text.replace("<", "&lt;")
    text = text.replace("-->", "--&gt;")
    text = _AUTOLINK.sub(lambda m: f"{m[1]}\\:" if m[1] else f"{m[2]}\\.", text)
    text = _LINE_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[0]}", text, count=1)
    return Markdown(text)


_BACKSLASHED = re.compile(r"\\([!-/:-@\[-`{-~])")


def unescape_text(text: str) -> str:
    """What `escape_text` wrote, read back as the reader sees it (for comparing a draft with the store)."""
    text = _BACKSLASHED.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def safe_url(url: object) -> Markdown | None:
    """An http(s) URL fit for a Markdown link destination, or None for any other scheme or shape.

    Characters that would end the destination or start markup (spaces, `()<>[]`, quotes, control
    characters) are percent-encoded; everything else, Chinese paths included, is kept as written.
    """
    text = str(url or "").strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return Markdown(_URL_UNSAFE.sub(lambda m: quote(m[0], safe=""), text))


def yaml_str(value: object) -> Markdown:
    """The inside of a double-quoted YAML scalar: quotes and backslashes escaped, one line."""
    text = one_line(value)
    return Markdown(text.replace("\\", "\\\\").replace('"', '\\"'))


def finalize(value: Any) -> Any:
    """Jinja `finalize` for draft templates: every printed string is escaped unless it is `Markdown`."""
    if isinstance(value, Markdown) or not isinstance(value, str):
        return value
    return escape_text(value)


class TrustedView:
    """A read-only view of a config object whose strings are the editor's own Markdown (intro, outro,
    name …): they print as written, not escaped, since the editor may mean links or emphasis there."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if isinstance(value, str) and not isinstance(value, Markdown):
            return Markdown(value)
        if isinstance(value, list):
            return [Markdown(v) if isinstance(v, str) else v for v in value]
        return value
