"""Feed parsing for every feed kind (rss/atom, arXiv, YouTube, discovery): the one place feedparser is called.

feedparser is dangerous in two ways this module closes:
- given a `str`, or `bytes` that name a file, it opens that URL or file (a feed body reading
  "/home/me/.ssh/config" would be parsed from disk), so it only ever gets a byte *stream*;
- it decodes UTF-7, UTF-16/32 and declared legacy charsets itself, so an `<!ENTITY` check on the raw
  bytes is blind to a bomb spelled in those encodings. The body is decoded here first (or refused),
  the check runs on the text, and feedparser gets that text as UTF-8 with the declaration rewritten,
  so it cannot decode the bytes any other way than the check saw them.
"""

from __future__ import annotations

import codecs
import io
import re
from typing import Any

import feedparser

from curator import charset
from curator.errors import SourceError

# An internal DTD subset or entity declaration is how "billion laughs" and huge-entity feeds work.
_ENTITY_DECL = re.compile(r"<!ENTITY|<!DOCTYPE[^>\[]*\[", re.IGNORECASE)
_XML_DECL_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([^"'>]*)(["'])""")
_XML_DECL_ENCODING_BYTES = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:\-]+)["']""")
# XML 1.0 forbids these characters; a NUL in a title is never text anybody meant.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")

# A BOM-less document starting "<?" (or "<") in a wide encoding or EBCDIC (XML 1.0, appendix F).
_SNIFF: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),
)


def strip_controls(text: str) -> str:
    """Remove NUL and the other characters XML forbids (kept: tab, newline, carriage return)."""
    return _CONTROL.sub("", text)


def _codec(label: str | None) -> str | None:
    """Python codec name for a declared label (UTF-16/32 and UTF-7 included), widened like pages."""
    if not label:
        return None
    name = charset.normalize_label(label)
    if name is not None:
        return name
    try:
        name = codecs.lookup(label.strip().strip("\"'").lower()).name
    except LookupError:
        return None
    if name in ("utf-16", "utf-32"):  # no BOM (it would have been seen): XML's default byte order
        return name + "-be"
    return name


def _wide(body: bytes) -> tuple[str, int] | None:
    for bom, name in charset.BOMS:
        if body.startswith(bom):
            return name, len(bom)
    for head, name in _SNIFF:
        if body.startswith(head):
            return name, 0
    return None


def decode_feed(body: bytes, content_type: str = "", url: str | None = None) -> str:
    """The feed as text, decoded the one way feedparser will later see it; SourceError(xml_entities) when
    the decoded text declares entities or a DTD subset."""
    wide = _wide(body)
    if wide is not None:
        name, skip = wide
        text = body[skip:].decode(name, "replace")
    else:
        m = _XML_DECL_ENCODING_BYTES.match(body)
        declared = _codec(_header_label(content_type)) or _codec(m.group(1).decode("ascii") if m else None)
        declared = declared or "utf-8"
        try:
            text = body.decode(declared)
        except (UnicodeDecodeError, LookupError):
            # GBK labelled UTF-8, a body cut inside a character, a few stray bytes: decoded the way pages
            # are (strict alternatives, then the detector, then replacement characters).
            text, _ = charset.decode_html(body, f"charset={declared}")
    text = strip_controls(text.lstrip("\ufeff"))
    if _ENTITY_DECL.search(text):
        raise SourceError("feed declares XML entities (refused to expand them)", reason="xml_entities", url=url)
    return text


def _header_label(content_type: str) -> str | None:
    m = re.search(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", content_type or "", re.IGNORECASE)
    return m.group(1) if m else None


def parse(body: bytes, url: str, content_type: str = "", **options: Any) -> Any:
    """feedparser's result for a feed body (bytes only), after decode_feed's checks. `options` go to
    feedparser.parse (sanitize_html, resolve_relative_uris)."""
    if not isinstance(body, bytes | bytearray):
        raise TypeError("feeds.parse takes the body as bytes")  # a str would be opened as a path or URL
    text = decode_feed(bytes(body), content_type, url)
    data = _XML_DECL_ENCODING.sub(r"\g<1>utf-8\g<3>", text, count=1).encode("utf-8")
    mime = (content_type or "").split(";", 1)[0].strip() or "application/xml"
    return feedparser.parse(
        io.BytesIO(data),  # a stream: feedparser never opens a path or URL it was handed
        response_headers={"content-location": url, "content-type": f"{mime}; charset=utf-8"},
        **options,
    )
