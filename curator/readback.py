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
import shutil
from pathlib import Path

from pydantic import ValidationError

from curator import decisions
from curator.draftdiff import (
    COMMENT,
    HEADING,
    ReadBack,
    front_matter,
    paragraphs,
    parse,
    story_ids,
    story_region,
)
from curator.errors import CuratorError
from curator.models import Action, EditorBlock, ReviewData, WrittenDraft
from curator.settings import Settings
from curator.store import Store

__all__ = ["DraftEditedError", "ReadBack", "before_draft", "parse", "sha256", "with_blocks", "written"]

log = logging.getLogger(__name__)



class DraftEditedError(CuratorError):
    """The draft file was edited in a way curator cannot read back; nothing was written."""

    reason = "draft_edited"
    exit_code = 65  # EX_DATAERR: the input file (the edited draft) is not what curator can read


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()



def with_blocks(text: str, blocks: list[EditorBlock], settings: Settings) -> str:
    """`text` (a fresh render) with the editor's blocks put back where they stood; never drops one."""
    if not blocks:
        return text
    fm = front_matter(text)
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
                if int(block.anchor_ref) in story_ids(p):
                    return i + min(block.anchor_offset, len(story_region(pars, i)))
        if block.anchor_kind == "section":
            for i, p in enumerate(pars):
                if section_ref(p) == block.anchor_ref:
                    return i + min(block.anchor_offset, len(story_region(pars, i)))
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
