"""Disk full and a busy database (RELIABILITY.md rows 35, 36), on real SQLite files and real drafts.

"Disk full" for the database is SQLite's own SQLITE_FULL, raised by capping the connection with
`PRAGMA max_page_count`; for drafts, the write or the fsync fails with ENOSPC. Corruption is in
tests/test_store.py.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Self

import pytest
from typer.testing import CliRunner

from curator import cli, compose
from curator.errors import ComposeError, StoreError
from curator.models import Candidate, ItemState, Placement
from curator.store import Store

runner = CliRunner()


def cand(n: int, title: str = "t", source: str = "feed-a") -> Candidate:
    return Candidate(url=f"https://ex.com/{n}", title=title, source=source, snippet="s")


def add(store: Store, n: int, title: str = "t") -> int:
    return store.add_candidate(cand(n, title), f"https://ex.com/{n}")[0]


def fill_to_the_brim(store: Store) -> None:
    """No page may be added from now on: the next write that needs one fails with SQLITE_FULL."""
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    assert store.db.execute(f"PRAGMA max_page_count = {pages}").fetchone()[0] == pages


def table_counts(store: Store) -> dict[str, int]:
    return {t: store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("items", "item_sources", "issues", "issue_items", "runs")}


def assert_clear_disk_full(err: BaseException, db: Path) -> None:
    msg = str(err)
    assert isinstance(err, StoreError), repr(err)
    assert str(db) in msg
    assert "full" in msg and "free" in msg.lower()  # what happened, and what to do
    assert "Traceback" not in msg


# ---- row 35 (a): the database's disk is full -----------------------------------------------------------

def test_a_full_database_raises_store_error_and_rolls_the_write_back(tmp_path):
    db = tmp_path / "c.db"
    with Store(db) as store:
        ids = [add(store, n) for n in range(400)]
        fill_to_the_brim(store)
        before = table_counts(store)
        with pytest.raises(StoreError) as info:
            add(store, 999, title="x" * 50_000)  # needs overflow pages
        assert_clear_disk_full(info.value, db)
        assert table_counts(store) == before  # neither the item nor its source row
        assert not store.db.in_transaction
        # A transaction of many statements that fails part-way leaves nothing behind either.
        with pytest.raises(StoreError) as info:
            store.save_draft_issue(1, "/drafts/issue-1.md", [Placement(item_id=i, section="ai", position=pos) for pos, i in enumerate(ids)])
        assert_clear_disk_full(info.value, db)
        assert table_counts(store) == before
        assert store.state_counts() == {"discovered": 400}  # no item was marked drafted
        # Space again: the same store goes on working.
        store.db.execute("PRAGMA max_page_count = 1073741823")
        add(store, 999, title="x" * 50_000)
        store.save_draft_issue(1, "/drafts/issue-1.md", [Placement(item_id=i, section="ai", position=pos) for pos, i in enumerate(ids)])
        assert store.state_counts() == {"discovered": 1, "drafted": 400}


def test_collect_on_a_full_disk_exits_non_zero_with_the_path_and_no_traceback(workspace, httpserver, monkeypatch):
    base = httpserver.url_for("").rstrip("/")
    entries = "".join(f"<item><title>{'长标题' * 90} {i}</title><link>{base}/a/{i}</link>"
                      f"<description>{'摘要' * 280}</description></item>" for i in range(60))
    httpserver.expect_request("/feed.xml").respond_with_data(
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{entries}</channel></rss>',
        content_type="application/rss+xml")
    (workspace / "config" / "sources.toml").write_text(
        f'[[sources]]\nname = "源"\nurl = "{base}/feed.xml"\n\n'
        '[fetch]\nallowed_hosts = ["127.0.0.1", "localhost"]\n\n[extract]\nworkers = 1\n', encoding="utf-8")

    class FullDiskStore(Store):
        def __init__(self, *a, **kw):  # type: ignore[no-untyped-def]
            super().__init__(*a, **kw)
            fill_to_the_brim(self)

    monkeypatch.setattr("curator.store.Store", FullDiskStore)  # the CLI imports the store when it opens one
    result = runner.invoke(cli.app, ["collect", "--home", str(workspace), "--provider", "offline"])
    db = workspace / "data" / "curator.db"
    assert result.exit_code == StoreError.exit_code, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "curator: error:" in result.output and str(db.resolve()) in result.output
    assert "full" in result.output
    with Store(db) as store:  # nothing half-written: every item that made it in is whole
        for row in store.db.execute("SELECT i.id, COUNT(s.item_id) AS refs FROM items i "
                                    "LEFT JOIN item_sources s ON s.item_id = i.id GROUP BY i.id"):
            assert row["refs"] == 1


# ---- row 35 (b): the drafts' disk is full ---------------------------------------------------------------

def enospc(*_a, **_kw):  # type: ignore[no-untyped-def]
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class HalfWriter:
    """A file whose disk fills up half-way through the write."""

    def __init__(self, fh) -> None:  # type: ignore[no-untyped-def]
        self.fh = fh

    def write(self, text: str) -> int:
        self.fh.write(text[: len(text) // 2])
        self.fh.flush()
        enospc()
        return 0

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.fh, name)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.fh.close()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp") or p.name.startswith("."))


@pytest.mark.parametrize("fault", ["fsync", "write"])
def test_a_draft_on_a_full_disk_is_all_or_nothing(tmp_path, monkeypatch, fault):
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    path = drafts / "issue-7.md"
    path.write_text("# the older draft, edited by hand\n", encoding="utf-8")
    if fault == "fsync":
        monkeypatch.setattr(os, "fsync", enospc)
    else:
        real_fdopen = os.fdopen
        monkeypatch.setattr(os, "fdopen", lambda fd, *a, **kw: HalfWriter(real_fdopen(fd, *a, **kw)))
    with pytest.raises(ComposeError) as info:
        compose.write_atomic(path, "# a new draft\n" + "正文\n" * 10_000)
    msg = str(info.value)
    assert str(path) in msg and "No space left on device" in msg and "space" in msg
    assert path.read_text(encoding="utf-8") == "# the older draft, edited by hand\n"
    assert leftovers(drafts) == []
    new = drafts / "issue-8.md"
    with pytest.raises(ComposeError):
        compose.write_atomic(new, "# never written\n")
    assert not new.exists() and leftovers(drafts) == []


def test_draft_on_a_full_disk_exits_non_zero_and_keeps_the_older_draft(workspace, monkeypatch):
    drafts = workspace / "drafts"
    drafts.mkdir()
    older = drafts / "issue-1.md"
    older.write_text("---\ntitle: the editor's copy\n---\n", encoding="utf-8")
    real_fsync = os.fsync

    def fsync(fd: int) -> None:  # only files in drafts/ hit the full disk (the run lock is elsewhere)
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(drafts.resolve())):
            enospc()
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    result = runner.invoke(cli.app, ["draft", "--home", str(workspace), "--date", "2026-11-23",
                                         "--allow-empty"])  # an empty store: the write is what fails
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert "curator: error:" in result.output and str(drafts.resolve()) in result.output
    assert "No space left on device" in result.output
    assert older.read_text(encoding="utf-8") == "---\ntitle: the editor's copy\n---\n"
    # The file curator has no record of writing is the editor's: read-back keeps a copy aside before any
    # write is tried (issue 12 §2), and nothing else is left behind.
    assert leftovers(drafts) == [] and sorted(p.name for p in drafts.iterdir()) == ["issue-1.edited-1.md", "issue-1.md"]
    assert (drafts / "issue-1.edited-1.md").read_text(encoding="utf-8") == "---\ntitle: the editor's copy\n---\n"
    with Store(workspace / "data" / "curator.db") as store:
        assert store.open_draft_issue() is None  # no issue recorded for a draft that was not written
        assert store.recent_runs(1)[0].status == "failed"


# ---- row 36: a busy database ----------------------------------------------------------------------------

class Writer(threading.Thread):
    """Another program holding the write lock (BEGIN IMMEDIATE) until released or hold_s passes."""

    def __init__(self, db: Path, hold_s: float) -> None:
        super().__init__(daemon=True)
        self.db, self.hold_s = db, hold_s
        self.locked, self.release = threading.Event(), threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            conn = sqlite3.connect(self.db, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE runs SET notes = notes")
            self.locked.set()
            self.release.wait(self.hold_s)
            conn.execute("COMMIT")
            conn.close()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            self.error = exc
            self.locked.set()

    def __enter__(self) -> Self:
        self.start()
        assert self.locked.wait(5) and self.error is None, self.error
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.join(timeout=5)
        assert not self.is_alive()


def test_a_write_waits_out_a_short_lock_and_succeeds(tmp_path):
    db = tmp_path / "c.db"
    with Store(db) as store:
        with Writer(db, hold_s=1.0) as other:
            started = time.monotonic()
            item_id = add(store, 1)
            waited = time.monotonic() - started
            assert other.error is None
        assert 0.7 < waited, waited  # it waited for the holder, then succeeded (no upper stopwatch)
        assert store.state_counts() == {"discovered": 1}
        store.set_state(item_id, ItemState.SKIPPED, "robots")
        assert store.state_counts() == {"skipped:robots": 1}


def test_a_lock_held_past_the_busy_timeout_is_a_clear_store_error(tmp_path):
    db = tmp_path / "c.db"
    with Store(db, busy_timeout_s=0.2) as store:
        add(store, 1)
        before = table_counts(store)
        with Writer(db, hold_s=120.0):  # released on exit; far longer than any loaded machine's delay
            started = time.monotonic()
            with pytest.raises(StoreError) as info:
                add(store, 2)
            assert time.monotonic() - started < 60  # gave up at its busy timeout, not when the holder let go
            msg = str(info.value)
            assert str(db) in msg and "busy" in msg
            assert table_counts(store) == before
        add(store, 2)  # the lock is gone: the same store writes again
        assert store.count_items() == 2
