"""Read an edited draft against what curator wrote: the editor's edits, drops, moves, orders and own paragraphs.

The comparison half of read-back (curator/readback.py runs it before `draft` rewrites the file): each story
is found again by its provenance comment and compared with the review data (issue-N.json). Pure: text in,
a `ReadBack` out; nothing here touches the store or the file system.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from curator.mdsafe import unescape_text
from curator.models import EditorBlock, ReviewData, ReviewStory
from curator.settings import Settings

COMMENT = re.compile(r"<!--\s*curator\s+(.*?)-->", re.DOTALL)
STORY_ID = re.compile(r'\bstory="(\d+)"')
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# The footnotes house style: **title**：summary[^1][^2]
STORY_LINE = re.compile(r"^\*\*(?P<title>.+?)\*\*：(?P<summary>.*?)(?P<refs>(?:\[\^\d+\])*)\s*$", re.DOTALL)
FOOTNOTE_DEF = re.compile(r"^\[\^\d+\]:")
# The list house style: "N、[title](url)label" on the comment's paragraph, the summary the next paragraph
LIST_LINE = re.compile(r"^\d+、(?:\[(?P<linked>.+?)\]\([^)\s]*\)|(?P<plain>.+?))(?P<label>（[^（）]*）)?\s*$")
# what the list style writes after a summary: discussion links and submitters' credits
LIST_EXTRA = re.compile(r"(?:（\[(?:HN )?讨论\]\([^)]*\)[^（）]*）|（(?:\[@[^\]]*\]\([^)]*\)|@\S+) 投稿）)+\s*$")
MAX_QUOTE = 60

def paragraphs(text: str) -> list[str]:
    """The file's paragraphs (blocks between blank lines), stripped, none empty."""
    # Leading spaces stay: an indented paragraph (a code block) is the editor's text as written.
    return [p.strip("\n").rstrip() for p in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n")) if p.strip()]


def story_ids(par: str) -> list[int]:
    return [int(m.group(1)) for c in COMMENT.finditer(par) if (m := STORY_ID.search(c.group(1)))]


def _is_boundary(par: str) -> bool:
    """Where a story's region ends: another story comment, a heading, the footnotes."""
    return bool(story_ids(par)) or bool(HEADING.match(par.splitlines()[0])) or bool(FOOTNOTE_DEF.match(par))


def _quote(text: str) -> str:
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= MAX_QUOTE else text[:MAX_QUOTE] + "…"


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", unescape_text(text)).strip()


def _ws(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def front_matter(text: str) -> str | None:
    m = re.match(r"---\n.*?\n---\s*(\n|$)", text.replace("\r\n", "\n"), re.DOTALL)
    return m.group(0).strip() if m else None


@dataclass
class ReadBack:
    """What the edited file says: decisions to record, the editor's blocks, and what could not be mapped."""

    edits: list[tuple[int, str | None, str | None]] = field(default_factory=list)  # story, title, summary
    drops: list[int] = field(default_factory=list)
    moves: list[tuple[int, str]] = field(default_factory=list)  # story, section
    orders: dict[str, list[int]] = field(default_factory=dict)  # section → its stories in the file's order
    blocks: list[EditorBlock] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def story_region(pars: list[str], i: int) -> list[str]:
    """The paragraphs that follow the story comment at `i`, up to the next boundary."""
    out = []
    for par in pars[i + 1:]:
        if _is_boundary(par):
            break
        out.append(par)
    return out


def _story_fields(par: str, st: ReviewStory, settings: Settings, after: str | None) -> tuple[str, str, bool] | None:
    """(title, summary, whether the next paragraph `after` holds the summary) as the file now has them, in
    the footnotes or the list house style; None if neither shape."""
    body = COMMENT.sub("", par).strip()
    m = STORY_LINE.match(body)
    if m is not None:
        title, summary, consumed = _plain(m.group("title")), _plain(m.group("summary")), False
    elif (lm := LIST_LINE.match(body)) is not None and after is not None and not _is_boundary(after) \
            and not after.startswith("相关报道："):
        title = _plain(lm.group("linked") or lm.group("plain")) + (lm.group("label") or "")
        summary, consumed = _plain(LIST_EXTRA.sub("", after)), True
    else:
        return None
    label = settings.publication.label_english
    if label and title.endswith(label) and not st.title.endswith(label):
        title = title[: -len(label)].rstrip()
    return title, summary, consumed


def parse(edited: str, machine: str, data: ReviewData, settings: Settings) -> ReadBack:
    """Compare the edited file with what curator wrote (`machine`, the render without editor blocks)."""
    out = ReadBack()
    if front_matter(machine) != front_matter(edited):
        out.problems.append("the front matter changed (curator writes it from config/curator.toml: change "
                            "[publication] there)")
    e_pars, m_pars = _body_paragraphs(edited, machine)
    reader = _Reader(out, e_pars, paragraphs(machine), data, settings)
    reader.read()
    _taken_out(out, reader.drafted, reader.seen)
    _curator_text_removed(out, m_pars, e_pars, bool(reader.consumed), set(reader.titles))
    _moves_and_orders(out, data, reader.seen, reader.placed)
    return out


def _body_paragraphs(edited: str, machine: str) -> tuple[list[str], list[str]]:
    """The edited file's and curator's paragraphs, past the front matter when the edited file starts with it."""
    m_pars, e_pars = paragraphs(machine), paragraphs(edited)
    fm = front_matter(edited)
    if fm is not None and e_pars and e_pars[0].startswith("---"):
        # the front matter may span blank lines; skip the paragraphs it covers
        e_pars = e_pars[len(paragraphs(fm)):]
        m_pars = m_pars[len(paragraphs(front_matter(machine) or "")):]
    return e_pars, m_pars


class _Reader:
    """One pass over the edited file's paragraphs: where each story stands, its edits, the editor's blocks."""

    def __init__(self, out: ReadBack, e_pars: list[str], machine_pars: list[str], data: ReviewData,
                 settings: Settings) -> None:
        self.out = out
        self.pars = e_pars
        self.settings = settings
        self.machine_set = set(machine_pars)
        self.machine_notes = {ln for p in machine_pars if FOOTNOTE_DEF.match(p) for ln in p.splitlines()}
        self.titles = {sec.title: sec.id for sec in data.sections}
        self.drafted = {st.story: st for sec in data.sections for st in sec.stories}
        self.section: str | None = None
        self.anchor: tuple[str, str | None] = ("top", None)
        self.offset = 0  # curator's paragraphs passed since the anchor
        self.seen: dict[int, str] = {}
        self.placed: dict[str, list[int]] = {}
        self.consumed: set[int] = set()  # the list style's summary paragraphs, read with their story

    def read(self) -> None:
        for i, par in enumerate(self.pars):
            if i in self.consumed:
                continue
            ids = story_ids(par)
            if ids:
                self._story_comment(i, par, ids)
            elif not self._heading(par) and not self._footnotes(par):
                self._editor_block(par)

    def _story_comment(self, i: int, par: str, ids: list[int]) -> None:
        for sid in ids:
            self._story(i, par, ids, sid)
        self.anchor, self.offset = ("story", str(ids[-1])), 0

    def _story(self, i: int, par: str, ids: list[int], sid: int) -> None:
        if sid in self.seen:
            self.out.problems.append(f"story {sid}'s comment appears twice")
            return
        st = self.drafted.get(sid)
        if st is None:
            self.out.problems.append(f"a story comment names story {sid}, which this draft does not hold "
                                     "(a comment copied from another issue?)")
            return
        if self.section is None:
            self.out.problems.append(f"story {sid} stands above every section heading")
            return
        self.seen[sid] = self.section
        self.placed.setdefault(self.section, []).append(sid)
        if len(ids) == 1:
            self._story_paragraph(i, par, sid, st)
        elif par not in self.machine_set:
            self.out.problems.append(f"the paragraph holding stories {', '.join(map(str, ids))} was changed")

    def _story_paragraph(self, i: int, par: str, sid: int, st: ReviewStory) -> None:
        after = self.pars[i + 1] if i + 1 < len(self.pars) else None
        fields = _story_fields(par, st, self.settings, after)
        if fields is None:
            if par not in self.machine_set:
                self.out.problems.append(f"story {sid}'s paragraph is not in the form curator reads back "
                                         f"(**title**：summary): {_quote(COMMENT.sub('', par).strip())!r}")
            return
        title, summary, consumed = fields
        if consumed:
            self.consumed.add(i + 1)
        if (title, summary) == (_ws(st.title), _ws(st.summary)):
            return
        if not title or not summary:
            self.out.problems.append(f"story {sid}'s title or summary is empty")
        else:
            self.out.edits.append((sid, title if title != _ws(st.title) else None,
                                   summary if summary != _ws(st.summary) else None))

    def _heading(self, par: str) -> bool:
        """A section heading: the stories after it stand in that section."""
        heading = HEADING.match(par.splitlines()[0])
        if heading and heading.group(2) in self.titles and len(par.splitlines()) == 1:
            self.section = self.titles[heading.group(2)]
            self.anchor, self.offset = ("section", self.section), 0
            return True
        return False

    def _footnotes(self, par: str) -> bool:
        if not FOOTNOTE_DEF.match(par):
            return False
        added = [ln for ln in par.splitlines() if ln not in self.machine_notes]
        if added:
            self.out.problems.append(f"footnotes were edited ({_quote(added[0])!r}); curator numbers and writes "
                                     "them from the stories' sources")
        return True

    def _editor_block(self, par: str) -> None:
        """A paragraph curator wrote (passed, counted from the anchor) or the editor's (kept verbatim)."""
        if par in self.machine_set:
            self.offset += 1
            return
        self.out.blocks.append(EditorBlock(anchor_kind=self.anchor[0], anchor_ref=self.anchor[1],
                                           anchor_offset=self.offset, text=par))


def _taken_out(out: ReadBack, drafted: dict[int, ReviewStory], seen: dict[int, str]) -> None:
    """What the editor took out: a story whose comment is gone is dropped, unless its title stayed."""
    for sid, st in drafted.items():
        if sid in seen:
            continue
        if st.title and any(_plain(st.title) in _plain(b.text) for b in out.blocks):
            out.problems.append(f"story {sid}'s comment was edited away but its title is still there "
                                f"({_quote(st.title)!r}); put the comment back or delete the whole story")
        else:
            out.drops.append(sid)


def _curator_text_removed(out: ReadBack, m_pars: list[str], e_pars: list[str], read_with_story: bool,
                          titles: set[str]) -> None:
    """Text curator writes (outside a dropped story) that the edited file no longer has: it would come back."""
    m_summaries = {m_pars[j + 1] for j, p in enumerate(m_pars) if story_ids(p) and j + 1 < len(m_pars)
                   and LIST_LINE.match(COMMENT.sub("", p).strip())}
    for par in m_pars:
        heading = HEADING.match(par.splitlines()[0])
        if story_ids(par) or FOOTNOTE_DEF.match(par) or (heading and heading.group(2) in titles) or par in e_pars:
            continue
        if par in m_summaries and read_with_story:  # a list-style summary the editor rewrote: an edit
            continue
        if not _inside_story(par, m_pars, set(out.drops)):
            out.problems.append(f"text curator writes was removed or changed ({_quote(par)!r}); it would come back")


def _moves_and_orders(out: ReadBack, data: ReviewData, seen: dict[int, str], placed: dict[str, list[int]]) -> None:
    """Stories now under another section are moved; a section whose stories stand in a new order is reordered."""
    original_section = {st.story: sec.id for sec in data.sections for st in sec.stories}
    for sid, where in seen.items():
        if where != original_section[sid]:
            out.moves.append((sid, where))
    for sec in data.sections:
        expected = [s.story for s in sec.stories if s.story in seen and seen[s.story] == sec.id]
        expected += [sid for sid, _ in out.moves if seen[sid] == sec.id]
        if placed.get(sec.id, []) != expected:
            out.orders[sec.id] = placed.get(sec.id, [])


def _inside_story(par: str, m_pars: list[str], dropped: set[int]) -> bool:
    """Whether `par` belongs to the region of a story the editor deleted (it goes with the story)."""
    for j, p in enumerate(m_pars):
        if set(story_ids(p)) & dropped and par in story_region(m_pars, j):
            return True
    return False
