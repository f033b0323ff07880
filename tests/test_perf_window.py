"""`draft`, the board and `status` read one issue's window, in a number of queries that does not grow with
the pool; the window gives the same issue as the whole pool did; the integrity check runs in `collect` and
`curator doctor`, not on every open. Counts queries and compares outputs: never times anything."""

from __future__ import annotations

import contextlib
import io
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curator import archive, decisions, select
from curator.cli.app import app
from curator.cli.commands import init
from curator.models import ArchiveLink, Article, Candidate, Enrichment, ItemState
from curator.report import status_report
from curator.review.views import load_view
from curator.settings import Settings, load_settings
from curator.store import Store

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _settings(home: Path) -> Settings:
    with contextlib.redirect_stdout(io.StringIO()):
        init(home)
    return load_settings(home, env={"CURATOR_RUN__NOW": NOW.isoformat()})


def _fill(settings: Settings, weeks: int, per_week: int = 12) -> list[int]:
    """`weeks` weeks of enriched items ending at NOW (some undated, some clustered, some archived);
    returns their ids, oldest first."""
    sections = [s.id for s in settings.sections]
    clock = [NOW]
    ids: list[int] = []
    links = []
    with Store(settings.db_path, clock=lambda: clock[0]) as store:
        total = weeks * per_week
        for n in range(total):
            when = NOW - timedelta(days=7 * weeks) * (1 - n / total)
            clock[0] = when
            url = f"https://site{n % 9}.example/post-{n}"
            title = f"第 {n} 篇：数据库与编译器的新进展 number {n}"
            cand = Candidate(url=url, title=title, source=f"src{n % 5}", snippet="摘要",
                             published_at=None if n % 5 == 0 else when - timedelta(hours=n % 30))
            item_id, _ = store.add_candidate(cand, url)
            store.save_article(item_id, Article(url=url, title=title, text="正文 " * 50, lang="zh"), f"h{n}")
            store.save_enrichment(item_id, Enrichment(title=title, summary=f"摘要 {n}。", section=sections[n % len(sections)],
                                                      score=40 + (n * 37) % 60, backend="offline"), f"h{n}")
            ids.append(item_id)
            if n % 11 == 3:  # its link already ran
                links.append(ArchiveLink(url, url, title, archive.normalise_title(title), 1 + n % 4, None, "p.md"))
            if n % 13 == 5:  # a near-identical title already ran (another URL)
                links.append(ArchiveLink(f"https://old.example/{n}", f"https://old.example/{n}", title,
                                         archive.normalise_title(title), 9, None, "p.md"))
        store.set_story_ids({ids[i]: ids[i - 1] for i in range(1, total, 6)})
        store.add_archive_links(links)
    return ids


@contextlib.contextmanager
def counting(store: Store) -> Iterator[list[str]]:
    seen: list[str] = []
    store.db.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        store.db.set_trace_callback(None)


@pytest.fixture
def filled(tmp_path: Path) -> tuple[Settings, list[int]]:
    settings = _settings(tmp_path / "ws")
    return settings, _fill(settings, weeks=10)


def _as_json(issue: object) -> str:
    return issue.model_dump_json()  # type: ignore[attr-defined]


def test_the_window_selects_the_same_issue_as_the_whole_pool(filled: tuple[Settings, list[int]]) -> None:
    settings, ids = filled
    with Store(settings.db_path) as store:
        # The editor swapped in a story that has since left the window, and added an old item by id.
        old_story, old_item = ids[3], ids[20]
        with store.transaction():
            store.add_decision(1, "swap_in", story_id=old_story, created_at=NOW.isoformat())
            store.add_decision(1, "add", item_id=old_item, url="https://x.example/", created_at=NOW.isoformat())
        everything = store.items(states=[ItemState.ENRICHED, ItemState.DRAFTED])
        window = select.window(store, settings, 1, NOW)
        assert len(window) < len(everything) / 3  # a read of the window, not of the pool
        whole, ran_whole = select.select_for(store, settings, everything, number=1, as_of=NOW)
        part, ran_part = select.select_for(store, settings, window, number=1, as_of=NOW)
        assert _as_json(part) == _as_json(whole)
        assert part.stories and ran_part  # the comparison is about something: stories, archive matches
        assert {k: v for k, v in ran_whole.items() if k in {i.id for i in window}} == ran_part
        found = decisions.load(store, 1)
        applied_whole = decisions.apply(whole, found, select.pool(everything, settings), settings=settings)
        applied_part = decisions.apply(part, found, select.pool(window, settings), settings=settings)
        assert _as_json(applied_part) == _as_json(applied_whole)
        assert old_story in {s.id for s in applied_part.stories}  # the swap-in out of the window survived
        assert any(i.id == old_item for s in applied_part.stories for i in s.items)


def test_archive_matches_are_the_same_as_one_lookup_per_item(filled: tuple[Settings, list[int]]) -> None:
    settings, _ = filled
    with Store(settings.db_path) as store:
        items = store.items(states=[ItemState.ENRICHED])
        one_by_one = {}
        for item in items:
            norms = [n for n in dict.fromkeys(archive.normalise_title(t) for t in (item.article.title if item.article
                     else "", item.enrichment.title if item.enrichment else "", item.title) if t)
                     if len(n) >= select.MIN_TITLE_MATCH]
            if (match := store.archive_match(item.canonical_url, norms)) is not None:
                one_by_one[item.id] = match.issue_number
        assert len(one_by_one) > 10
        assert select.already_ran(store, items) == one_by_one
        assert 9 in one_by_one.values()  # title matches are among them, not only link matches


def test_status_counts_read_through_the_window_match_the_pool_wide_ones(
        filled: tuple[Settings, list[int]]) -> None:
    settings, ids = filled
    with Store(settings.db_path) as store:
        store.set_state(ids[-1], ItemState.FAILED, "http_404")  # not draftable: counted by neither
        for days in (7, 21, 200):
            start, end = NOW - timedelta(days=days), NOW
            per_source = store.window_items_per_source(start, end)
            assert per_source == store.items_per_source(start, end) and sum(per_source.values()) > 0
            for floor in (0, 60, 90):
                assert store.window_stories_per_section(start, end, floor) == store.stories_per_section(
                    start, end, floor)
            assert store.window_stories_per_section(start, end, 60)


def test_state_counts_are_per_state_and_reason_in_key_order(filled: tuple[Settings, list[int]]) -> None:
    """`status`'s items-by-state, grouped on the indexed columns: the same keys and order as joining
    state and reason in SQL gave."""
    settings, ids = filled
    with Store(settings.db_path) as store:
        store.set_state(ids[0], ItemState.FAILED, "http_404")
        store.set_state(ids[1], ItemState.FAILED, "http_404")
        store.set_state(ids[2], ItemState.SKIPPED, "robots")
        store.set_state(ids[3], ItemState.FAILED, None)
        joined = {r[0]: r[1] for r in store.db.execute(
            "SELECT state || COALESCE(':' || reason, '') AS k, COUNT(*) FROM items GROUP BY k ORDER BY k")}
        counts = store.state_counts()
    assert list(counts.items()) == list(joined.items())
    assert counts["failed:http_404"] == 2 and counts["failed"] == 1 and counts["skipped:robots"] == 1
    assert sum(counts.values()) == len(ids)


def _queries(settings: Settings, action: str) -> int:
    with Store(settings.db_path) as store, counting(store) as seen:
        if action == "draft":
            items = select.window(store, settings, 1, NOW)
            issue, _ = select.select_for(store, settings, items, number=1, as_of=NOW)
            select.apply_stored(store, issue, items, settings)
        elif action == "board":
            assert load_view(settings, store) is not None
        else:
            status_report(settings, store)
    return len(seen)


@pytest.mark.parametrize("action", ["draft", "board", "status"])
def test_queries_do_not_grow_with_the_pool(tmp_path: Path, action: str) -> None:
    """A pool ten times older costs the same number of queries (no query per item)."""
    counts = []
    for weeks in (2, 20):
        settings = _settings(tmp_path / f"ws{weeks}")
        _fill(settings, weeks=weeks)
        runner = CliRunner()
        env = {"CURATOR_RUN__NOW": NOW.isoformat()}
        result = runner.invoke(app, ["draft", "--home", str(settings.home), "--date", "2026-11-30"], env=env)
        assert result.exit_code in (0, 3), result.output  # an open draft, for the board
        counts.append(_queries(settings, action))
    assert counts[0] == counts[1] and counts[0] < 60, counts


# ---- the integrity check: once per collect and in `curator doctor`, not on every open ----------------


def _damage_an_index(settings: Settings) -> None:
    """Overwrite one page of an index: the store opens and reads, but quick_check finds the damage."""
    path = settings.db_path
    with Store(path) as store:
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = store.db.execute("PRAGMA page_size").fetchone()[0]
        root = store.db.execute("SELECT rootpage FROM sqlite_master WHERE name='items_dated'").fetchone()[0]
    data = bytearray(path.read_bytes())
    data[(root - 1) * page: root * page] = b"\xff" * page
    path.write_bytes(bytes(data))


def test_opening_a_store_does_not_check_it_doctor_and_collect_do(filled: tuple[Settings, list[int]]) -> None:
    settings, ids = filled
    runner = CliRunner()
    ok = runner.invoke(app, ["doctor", "--home", str(settings.home)])
    assert ok.exit_code == 0 and "integrity: ok" in ok.output and f"{len(ids)} items" in ok.output
    _damage_an_index(settings)
    before = settings.db_path.read_bytes()
    with Store(settings.db_path) as store:  # a plain open (status, the board) reads without the check
        assert store.count_items() == len(ids)
    for args in (["doctor"], ["collect", "--provider", "offline"]):
        result = runner.invoke(app, [*args, "--home", str(settings.home)])
        assert result.exit_code == 74, (args, result.output)
        assert "not usable" in result.output and "integrity check failed" in result.output
        assert "restore it from a backup" in result.output and "Traceback" not in result.output
    assert settings.db_path.read_bytes() == before  # left untouched


def test_doctor_without_a_store_says_so_and_creates_none(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "ws")
    result = CliRunner().invoke(app, ["doctor", "--home", str(settings.home)])
    assert result.exit_code == 74 and "no store at" in result.output
    assert not settings.db_path.exists()


def test_a_damaged_file_header_is_still_refused_at_open(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path) as store:
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[:16] = b"garbage garbage!"
    path.write_bytes(bytes(data))
    with pytest.raises(Exception, match="not usable") as info:
        Store(path)
    assert not isinstance(info.value, sqlite3.Error)  # a StoreError with what to do, not sqlite's own
