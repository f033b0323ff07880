"""Read back: an edited draft file → the editor's decisions and verbatim blocks, before `draft` rewrites it.

    drafts/issue-N.md (edited) + issue-N.json (ReviewData) + what draft last wrote (store)
        ─► read_back ─► decisions (edit / drop / move / reorder) + EditorBlock rows ─► draft re-renders

`draft` (and the board's regenerate, which calls it) records the sha256 of every file it writes. When the
file on disk no longer has that hash, the editor changed it: each story is found again by its provenance
comment (`<!-- curator story="N" … -->`) and compared with the review data. A story whose comment is gone
is dropped; a changed title or summary is an edit; a story under another section heading is moved; a new
order within a section is a reorder; a paragraph curator did not write is kept verbatim at the same place
(after the story, or under the section heading, it followed). What cannot be mapped (a comment edited
away while its text stays, changed front matter, edited footnotes, removed text curator would write
back, a file that is not curator's any more) refuses with `DraftEditedError` naming the file and each
problem; `--force` regenerates and keeps the editor's file as issue-N.edited-<n>.md.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from curator import decisions
from curator.errors import CuratorError
from curator.mdsafe import unescape_text
from curator.models import Action, EditorBlock, ReviewData, ReviewStory, WrittenDraft
from curator.settings import Settings
from curator.store import Store

__all__ = ["DraftEditedError", "ReadBack", "before_draft", "parse", "sha256", "with_blocks", "written"]

log = logging.getLogger(__name__)

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


class DraftEditedError(CuratorError):
    """The draft file was edited in a way curator cannot read back; nothing was written."""

    reason = "draft_edited"
    exit_code = 65  # EX_DATAERR: the input file (the edited draft) is not what curator can read


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def paragraphs(text: str) -> list[str]:
    """The file's paragraphs (blocks between blank lines), stripped, none empty."""
    # Leading spaces stay: an indented paragraph (a code block) is the editor's text as written.
    return [p.strip("\n").rstrip() for p in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n")) if p.strip()]


def _story_of(par: str) -> list[int]:
    return [int(m.group(1)) for c in COMMENT.finditer(par) if (m := STORY_ID.search(c.group(1)))]


def _is_boundary(par: str) -> bool:
    """Where a story's region ends: another story comment, a heading, the footnotes."""
    return bool(_story_of(par)) or bool(HEADING.match(par.splitlines()[0])) or bool(FOOTNOTE_DEF.match(par))


def _quote(text: str) -> str:
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= MAX_QUOTE else text[:MAX_QUOTE] + "…"


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", unescape_text(text)).strip()


def _ws(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _front_matter(text: str) -> str | None:
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


def _region(pars: list[str], i: int) -> list[str]:
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
    if _front_matter(machine) != _front_matter(edited):
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
    fm = _front_matter(edited)
    if fm is not None and e_pars and e_pars[0].startswith("---"):
        # the front matter may span blank lines; skip the paragraphs it covers
        e_pars = e_pars[len(paragraphs(fm)):]
        m_pars = m_pars[len(paragraphs(_front_matter(machine) or "")):]
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
            ids = _story_of(par)
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
    m_summaries = {m_pars[j + 1] for j, p in enumerate(m_pars) if _story_of(p) and j + 1 < len(m_pars)
                   and LIST_LINE.match(COMMENT.sub("", p).strip())}
    for par in m_pars:
        heading = HEADING.match(par.splitlines()[0])
        if _story_of(par) or FOOTNOTE_DEF.match(par) or (heading and heading.group(2) in titles) or par in e_pars:
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
        if set(_story_of(p)) & dropped and par in _region(m_pars, j):
            return True
    return False


def with_blocks(text: str, blocks: list[EditorBlock], settings: Settings) -> str:
    """`text` (a fresh render) with the editor's blocks put back where they stood; never drops one."""
    if not blocks:
        return text
    fm = _front_matter(text)
    body = text.replace("\r\n", "\n")
    head = ""
    if fm is not None:
        idx = body.index(fm) + len(fm)
        head, body = body[:idx], body[idx:]
    pars = paragraphs(body)
    section_of = {s.title: s.id for s in settings.sections}

    def section_ref(par: str) -> str | None:
        h = HEADING.match(par.splitlines()[0])
        return section_of.get(h.group(2)) if h else None

    after: dict[int, list[str]] = {}  # insert after paragraph index (-1: before the first)

    def spot(block: EditorBlock) -> int:
        if block.anchor_kind == "story" and block.anchor_ref:
            for i, p in enumerate(pars):
                if int(block.anchor_ref) in _story_of(p):
                    return i + min(block.anchor_offset, len(_region(pars, i)))
        if block.anchor_kind == "section":
            for i, p in enumerate(pars):
                if section_ref(p) == block.anchor_ref:
                    return i + min(block.anchor_offset, len(_region(pars, i)))
        # top (or an anchor that is gone): past as many of curator's paragraphs, above the first section
        first = next((i for i, p in enumerate(pars) if section_ref(p) is not None), len(pars))
        offset = block.anchor_offset if block.anchor_kind == "top" else first
        return min(offset, first) - 1

    for block in blocks:
        after.setdefault(spot(block), []).append(block.text)
    out: list[str] = list(after.get(-1, []))
    for i, p in enumerate(pars):
        out.append(p)
        out.extend(after.get(i, []))
    return (head + "\n\n" if head else "") + "\n\n".join(out) + "\n"


def _aside(path: Path) -> Path:
    n = 1
    while (target := path.with_name(f"{path.stem}.edited-{n}{path.suffix}")).exists():
        n += 1
    return target


def before_draft(settings: Settings, store: Store, number: int, path: Path, *, force: bool = False) -> tuple[
        list[EditorBlock], list[str]]:
    """Read the editor's changes in `path` back into decisions before `draft` rewrites it.

    Returns the editor blocks to write back and notes for the run. Raises DraftEditedError when the file
    holds edits it cannot map (unless `force`: then the file is saved aside and the draft regenerated).
    """
    last = store.written_draft(number)
    if not path.exists():
        return store.editor_blocks(number), []
    if last is None:
        note = _keep_unrecorded(path)
        return store.editor_blocks(number), [note]
    edited, problems = _read_edited(path)
    if not problems and sha256(edited) == last.sha:
        return store.editor_blocks(number), []
    result = _compare(path, edited, last.render, settings, problems)
    if problems:
        note = _refuse_or_keep(path, edited, problems, force)
        return store.editor_blocks(number), [note]
    _record(store, number, result)
    return result.blocks, _summary(path, result)


def _keep_unrecorded(path: Path) -> str:
    """Written by a curator that kept no hash (or by hand): whether it was edited cannot be told, so it is
    kept aside once, never overwritten unseen."""
    target = _aside(path)
    shutil.copyfile(path, target)
    note = f"{path.name} was written before curator recorded what it wrote: kept as {target} before redrafting"
    log.warning("%s", note)
    return note


def _read_edited(path: Path) -> tuple[str, list[str]]:
    """The file's text, or "" and the problem reading it."""
    try:
        return path.read_text(encoding="utf-8"), []
    except (OSError, UnicodeDecodeError) as exc:
        return "", [f"cannot read it ({exc})"]


def _compare(path: Path, edited: str, render: str, settings: Settings, problems: list[str]) -> ReadBack:
    """What the edited file says against what curator wrote; what cannot be mapped is added to `problems`."""
    data: ReviewData | None = None
    if not problems:
        try:
            data = ReviewData.model_validate_json(path.with_suffix(".json").read_text(encoding="utf-8"))
        except (OSError, ValidationError, ValueError) as exc:
            problems.append(f"its review data {path.with_suffix('.json').name} is missing or unreadable ({exc})")
    result = ReadBack()
    if data is not None:
        if data.prose:
            problems.append("section prose (publication.prose = \"section\") is not read back yet")
        else:
            result = parse(edited, render, data, settings)
            if data.sections and any(sec.stories for sec in data.sections) and not COMMENT.search(edited):
                result.problems.append("no curator story comment is left (is this still curator's draft?)")
            problems += result.problems
    return result


def _refuse_or_keep(path: Path, edited: str, problems: list[str], force: bool) -> str:
    """Raise DraftEditedError naming the problems; with `force`, keep the file aside and return the note."""
    if not force:
        raise DraftEditedError(
            f"{path} was edited since curator wrote it, and curator cannot map: " + "; ".join(problems)
            + f". Fix those in the file, or run `curator draft --force` to regenerate it (your file is kept "
            f"as {_aside(path).name}).")
    target = _aside(path)
    target.write_text(edited, encoding="utf-8")
    note = f"{path.name} had edits curator could not map ({'; '.join(problems)}): kept as {target}"
    log.warning("%s", note)
    return note


def _record(store: Store, number: int, result: ReadBack) -> None:
    """Record the read-back decisions and replace the issue's editor blocks."""
    for sid in result.drops:
        decisions.record(store, number, Action.DROP, story_id=sid)
    for sid, title, summary in result.edits:
        decisions.record(store, number, Action.EDIT, story_id=sid, title=title, summary=summary)
    for sid, sec in result.moves:
        decisions.record(store, number, Action.MOVE, story_id=sid, section=sec)
    for order in result.orders.values():
        for pos, sid in enumerate(order):
            decisions.record(store, number, Action.REORDER, story_id=sid, position=pos)
    store.replace_editor_blocks(number, result.blocks)


def _summary(path: Path, result: ReadBack) -> list[str]:
    n = len(result.drops) + len(result.edits) + len(result.moves) + len(result.orders)
    return [(f"{path.name}: read back the editor's changes ({len(result.edits)} edited, {len(result.drops)} "
             f"dropped, {len(result.moves)} moved, {len(result.orders)} sections reordered, "
             f"{len(result.blocks)} paragraphs kept)")] if n or result.blocks else []


def written(store: Store, number: int, render: str, text: str) -> None:
    """Remember what `draft` just wrote: the file's hash and the render before the editor's blocks."""
    store.save_written_draft(number, WrittenDraft(sha=sha256(text), render=render))
