"""Store: what `draft` last wrote for an issue (file hash, machine render) and the editor's verbatim blocks.

A mixin of `Store`; read by curator/readback.py, which reads an edited draft back into decisions.
"""

from __future__ import annotations

from collections.abc import Sequence

from curator.models import EditorBlock, WrittenDraft
from curator.store.base import StoreBase


class DraftQueries(StoreBase):
    """The last written draft of an issue and the editor's own paragraphs in it."""

    def written_draft(self, number: int) -> WrittenDraft | None:
        """What `draft` last wrote for issue `number`; None before any (or from a store older than the hash)."""
        row = self.db.execute("SELECT draft_sha, draft_render FROM issues WHERE number=?", (number,)).fetchone()
        if row is None or row["draft_sha"] is None or row["draft_render"] is None:
            return None
        return WrittenDraft(sha=row["draft_sha"], render=row["draft_render"])

    def save_written_draft(self, number: int, written: WrittenDraft) -> None:
        """Remember the file just written for issue `number` (its row exists: save_draft_issue first)."""
        with self.transaction():
            self.db.execute("UPDATE issues SET draft_sha=?, draft_render=? WHERE number=?",
                            (written.sha, written.render, number))

    def editor_blocks(self, number: int) -> list[EditorBlock]:
        """The editor's verbatim paragraphs in issue `number`, in file order."""
        rows = self.db.execute("SELECT anchor_kind, anchor_ref, anchor_offset, text FROM draft_blocks "
                               "WHERE issue_number=? ORDER BY seq", (number,)).fetchall()
        return [EditorBlock(anchor_kind=r["anchor_kind"], anchor_ref=r["anchor_ref"],
                            anchor_offset=r["anchor_offset"], text=r["text"]) for r in rows]

    def replace_editor_blocks(self, number: int, blocks: Sequence[EditorBlock]) -> None:
        """The editor's paragraphs as the file now holds them (the whole set; one transaction)."""
        with self.transaction():
            self.db.execute("DELETE FROM draft_blocks WHERE issue_number=?", (number,))
            self.db.executemany(
                "INSERT INTO draft_blocks(issue_number, seq, anchor_kind, anchor_ref, anchor_offset, text) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(number, i, b.anchor_kind, b.anchor_ref, b.anchor_offset, b.text) for i, b in enumerate(blocks)])
