"""The one Markdown reader: a draft or a published issue split into lines, code and comments masked, links found.

    text ─► scan() ─► Document(lines: Line(kind, raw, masked, visible, links, prose), comments)

Lint's rules and the archive parser read issues through `scan`, so both see the same links and the
same prose. Fenced code, inline code and HTML comments are masked first; the comments are kept
(the composer's provenance comments, `<!-- curator story="…" … -->`, carry data). Line numbers are
1-based.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "FOOTNOTE_DEF",
    "FOOTNOTE_REF",
    "Comment",
    "Document",
    "Line",
    "Link",
    "find_links",
    "heading",
    "is_blank",
    "plain",
    "provenance",
    "scan",
]


@dataclass(frozen=True)
class Link:
    label: str  # "" for bare URLs and autolinks
    url: str
    start: int  # span of the whole link syntax in the line
    end: int
    image: bool = False


@dataclass
class Line:
    no: int  # 1-based
    raw: str
    kind: Literal["text", "front", "fence", "code"]  # fence = a ``` line itself
    masked: str = ""  # raw with code spans and comments blanked (same length)
    visible: str = ""  # raw with comments blanked only: "" when the line is just a comment
    links: list[Link] = field(default_factory=list)
    prose: str = ""  # masked with link destinations, autolinks and bare URLs blanked
    link_problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Comment:
    line: int
    text: str
    closed: bool


@dataclass
class Document:
    lines: list[Line]
    comments: list[Comment]
    unclosed_fence: int | None = None  # line of a ``` never closed
    unclosed_front_matter: bool = False

    def text_lines(self) -> Iterator[Line]:
        return (ln for ln in self.lines if ln.kind == "text")


# --- scanning --------------------------------------------------------------------------------------

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto|javascript|vbscript|data):[^>\s]*)>", re.IGNORECASE)
_BARE_URL = re.compile(r"\bhttps?://[^\s<>\"'()\[\]（）【】「」，。；！？、]+", re.IGNORECASE)
_URL_TRAIL = ".,;:!?*_~"


def scan(text: str) -> Document:
    """Split `text` into lines, telling front matter, fenced code and prose apart, masking inline
    code and HTML comments, and finding the links of every prose line."""
    raw_lines = text.splitlines()
    doc = Document(lines=[], comments=[])
    masker = _Masker(doc)
    fence: tuple[str, int] | None = None
    for k in range(_front_matter(raw_lines, doc), len(raw_lines)):
        raw = raw_lines[k]
        if fence is None and masker.comment is None and (m := _FENCE.match(raw)):
            fence = (m.group(1)[0], len(m.group(1)))
            doc.unclosed_fence = k + 1
            doc.lines.append(Line(k + 1, raw, "fence"))
            continue
        if fence is not None:
            m = _FENCE.match(raw)
            closes = (
                m and m.group(1)[0] == fence[0] and len(m.group(1)) >= fence[1] and not raw[m.end() :].strip()
            )
            doc.lines.append(Line(k + 1, raw, "fence" if closes else "code"))
            if closes:
                fence, doc.unclosed_fence = None, None
            continue
        masked, visible = masker.mask(raw, k + 1)
        line = Line(k + 1, raw, "text", masked=masked, visible=visible)
        line.links, line.prose, line.link_problems = find_links(line.masked)
        doc.lines.append(line)
    if masker.comment is not None:
        doc.comments.append(Comment(masker.comment_line, "".join(masker.comment).strip(), False))
    return doc


def _front_matter(raw_lines: list[str], doc: Document) -> int:
    """Append the front matter's lines to `doc`; the index of the first line after it."""
    if not raw_lines or raw_lines[0].strip() != "---":
        return 0
    end = next((k for k in range(1, len(raw_lines)) if raw_lines[k].strip() in ("---", "...")), None)
    if end is None:
        doc.unclosed_front_matter = True
        end = 0
    for k in range(end + 1 if end else 0):
        doc.lines.append(Line(k + 1, raw_lines[k], "front", masked=raw_lines[k], visible=raw_lines[k]))
    return end + 1 if end else 0


class _Masker:
    """Blanks inline code and HTML comments line by line; a comment may span lines, so the open one
    is carried from one line to the next and recorded in the document when it closes."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.comment: list[str] | None = None  # text of an open comment
        self.comment_line = 0

    def mask(self, raw: str, no: int) -> tuple[str, str]:
        """(masked, visible) forms of one prose line: code spans and comments blanked / comments only."""
        masked, visible = list(raw), list(raw)
        pos = 0
        while pos < len(raw):
            if self.comment is not None:
                close = raw.find("-->", pos)
                stop = len(raw) if close < 0 else close + 3
                self.comment.append(raw[pos:stop] if close < 0 else raw[pos:close])
                for p in range(pos, stop):
                    masked[p] = visible[p] = " "
                if close < 0:
                    self.comment.append("\n")
                    break
                self.doc.comments.append(Comment(self.comment_line, "".join(self.comment).strip(), True))
                self.comment, pos = None, stop
                continue
            if raw.startswith("<!--", pos):
                self.comment, self.comment_line = [], no
                for p in range(pos, pos + 4):
                    masked[p] = visible[p] = " "
                pos += 4
                continue
            if raw[pos] == "\\":
                pos += 2
                continue
            if raw[pos] == "`":
                run = len(raw[pos:]) - len(raw[pos:].lstrip("`"))
                close_code = re.compile(rf"(?<!`)`{{{run}}}(?!`)").search(raw, pos + run)
                if close_code:
                    for p in range(pos, close_code.end()):
                        masked[p] = " "
                    pos = close_code.end()
                    continue
                pos += run
                continue
            pos += 1
        return "".join(masked), "".join(visible)


def _match(s: str, i: int, open_: str, close: str) -> int:
    """Index of the bracket closing the one at s[i], or -1."""
    depth = 0
    j = i
    while j < len(s):
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return -1


def find_links(s: str) -> tuple[list[Link], str, list[str]]:
    """Links in one masked line: inline `[label](url)` / `![alt](src)` (nested too), `<autolinks>`
    and bare URLs; the line with every URL blanked; problems with the link syntax."""
    links: list[Link] = []
    problems: list[str] = []
    blank = list(s)
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c != "[":
            i += 1
            continue
        j = _match(s, i, "[", "]")
        if j < 0:
            i += 1
            continue
        if j + 1 < len(s) and s[j + 1] == "(":
            k = _match(s, j + 1, "(", ")")
            if k < 0:
                problems.append(f"链接 [{s[i + 1 : j][:30]}]( 缺少右括号 )")
                i = j + 1
                continue
            dest = s[j + 2 : k].strip()
            if dest.startswith("<") and ">" in dest:
                url = dest[1 : dest.index(">")]
            else:
                url = dest.split()[0] if dest else ""
            image = i > 0 and s[i - 1] == "!"
            start = i - 1 if image else i
            inner, inner_blank, inner_problems = find_links(s[i + 1 : j])
            links.extend(Link(x.label, x.url, x.start + i + 1, x.end + i + 1, x.image) for x in inner)
            problems.extend(inner_problems)
            blank[i + 1 : j] = list(inner_blank)
            links.append(Link(s[i + 1 : j], url, start, k + 1, image))
            blank[j + 2 : k] = [" "] * (k - j - 2)  # keep "](" and ")" so labels stay findable
            i = k + 1
            continue
        i = j + 1 if s[i + 1 : i + 2] == "^" else i + 1
    rest = "".join(blank)
    for m in _AUTOLINK.finditer(rest):
        links.append(Link("", m.group(1), m.start(), m.end()))
        blank[m.start() : m.end()] = [" "] * (m.end() - m.start())
    rest = "".join(blank)
    for m in _BARE_URL.finditer(rest):
        url = m.group(0).rstrip(_URL_TRAIL)
        links.append(Link("", url, m.start(), m.start() + len(url)))
        blank[m.start() : m.start() + len(url)] = [" "] * len(url)
    links.sort(key=lambda x: x.start)
    return links, "".join(blank), problems


# --- line shapes -----------------------------------------------------------------------------------

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:\s+(.*?))?\s*$")
FOOTNOTE_DEF = re.compile(r"^ {0,3}\[\^([^\]\s]+)\]:")
FOOTNOTE_REF = re.compile(r"\[\^([^\]\s]+)\](?!:)")


def heading(line: Line) -> tuple[int, str] | None:
    """(level, text) of an ATX heading line, else None."""
    m = _HEADING.match(line.masked)
    return (len(m.group(1)), m.group(2) or "") if m else None


def is_blank(line: Line) -> bool:
    return line.kind == "text" and not line.visible.strip()


def plain(line: Line) -> str:
    """The words a reader reads on a line: link labels kept, markup and URLs dropped."""
    s = line.prose
    if line.kind == "front":
        s = re.sub(r"^\s*[\w-]+\s*:\s*", "", line.raw).strip().strip("\"'[]")
    s = re.sub(r"^(\s*\*\*(?!\s).+?\*\*)\s*[:：]", "\\1\n", s)  # "**title**：summary": two sentences
    s = re.sub(r"!?\[([^\]]*)\]\(\s*\)", r"\1", s)
    s = FOOTNOTE_REF.sub(" ", FOOTNOTE_DEF.sub(" ", s))
    s = re.sub(r"^\s*(?:#{1,6}\s+|>\s*|\d+、|[-*+]\s+|\d+[.)]\s+)", "", s)
    s = s.replace("**", "").replace("<", " ").replace(">", " ")
    return s.strip()


def provenance(comment: Comment) -> dict[str, str] | None:
    """The fields of a composer's provenance comment (`curator story="3" …`); None for other comments."""
    if not comment.text.startswith("curator "):
        return None
    return dict(re.findall(r'(\w+)="([^"]*)"', comment.text))
