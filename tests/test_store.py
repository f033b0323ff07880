import sqlite3

import pytest

from curator.errors import StoreError
from curator.models import Candidate, ItemState, Page, Validators
from curator.store import MIGRATIONS, Store
from curator.urls import canonical_url


def cand(url, source="feed-a", title="t"):
    return Candidate(url=url, title=title, source=source)


def test_migrations_apply_once_and_record_the_version(tmp_path):
    path = tmp_path / "c.db"
    with Store(path) as s:
        assert s.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Store(path) as s:  # reopening migrates nothing and keeps data
        assert s.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_migrations_are_recorded_by_name_and_apply_once_on_either_backend(store_target):
    with Store(store_target) as s:
        names = {r["name"] for r in s.db.execute("SELECT name FROM schema_migrations")}
        assert names == {m.name for m in MIGRATIONS}
        s.add_candidate(cand("https://ex.com/kept"), "https://ex.com/kept")
    with Store(store_target) as s:  # reopening migrates nothing and keeps data
        assert s.migrate() == []
        assert [i.url for i in s.items()] == ["https://ex.com/kept"]


def test_one_row_per_canonical_url_with_every_source_kept(store_target):
    with Store(store_target) as s:
        a = "https://ex.com/story?utm_source=rss"
        b = "http://ex.com/story/"
        id1, new1 = s.add_candidate(cand(a, "feed-a"), canonical_url(a))
        id2, new2 = s.add_candidate(cand(b, "feed-b"), canonical_url(b))
        id3, new3 = s.add_candidate(cand(b, "feed-b"), canonical_url(b))
        assert (new1, new2, new3) == (True, False, False) and id1 == id2 == id3
        assert s.count_items() == 1
        [item] = s.items()
        assert [r.source for r in item.sources] == ["feed-a", "feed-b"]


def test_states_move_forward_and_failures_keep_their_reason(store_target):
    with Store(store_target) as s:
        item_id, _ = s.add_candidate(cand("https://ex.com/x"), "https://ex.com/x")
        s.set_state(item_id, ItemState.FAILED, "timeout", retryable=True)
        assert s.state_counts() == {"failed:timeout": 1}
        assert s.requeue_retryable() == 1
        assert s.state_counts() == {"discovered": 1}
        s.save_page(item_id, Page(url="https://ex.com/x", final_url="https://ex.com/x", status=200, text="<p>页面</p>",
                                  validators=Validators(etag='"v1"')))
        [row] = s.waiting(ItemState.FETCHED)
        assert s.load_page(row.id).text == "<p>页面</p>"
        assert s.page_validators(item_id).etag == '"v1"'


def test_retry_is_capped(store_target):
    with Store(store_target) as s:
        item_id, _ = s.add_candidate(cand("https://ex.com/x"), "https://ex.com/x")
        for _ in range(5):
            s.set_state(item_id, ItemState.FAILED, "http_503", retryable=True)
            s.requeue_retryable()
        assert s.state_counts() == {"failed:http_503": 1}


def test_a_corrupt_database_is_reported_not_repaired(tmp_path):
    path = tmp_path / "c.db"
    with Store(path) as s:
        s.add_candidate(cand("https://ex.com/x"), "https://ex.com/x")
        s.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[0:16] = b"garbage garbage!"
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not usable"):
        Store(path)
    assert path.read_bytes() == before  # left untouched for the editor to restore


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "c.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    db.close()
    with pytest.raises(StoreError, match="upgrade curator"):
        Store(path)


def _numbered_store(path, version: int) -> None:
    """A store as a curator from before named steps left it: the first `version` steps, PRAGMA user_version."""
    db = sqlite3.connect(path)
    for step in MIGRATIONS[:version]:
        for stmt in filter(str.strip, step.sql.split(";")):
            db.execute(stmt)
    db.execute("INSERT INTO items(canonical_url, url, title, discovered_at, state, updated_at) VALUES "
               "('https://ex.com/old', 'https://ex.com/old', '旧条目', '2026-11-20T08:00:00+00:00', 'discovered', "
               "'2026-11-20T08:00:00+00:00')")
    db.execute("INSERT INTO sources(name, kind, url, consecutive_failures) VALUES ('源', 'rss', 'https://f.example/', 2)")
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()


def test_a_store_made_with_the_numbered_migrations_upgrades_without_data_loss(tmp_path):
    path = tmp_path / "c.db"
    _numbered_store(path, 3)
    with Store(path) as s:
        names = [r[0] for r in s.db.execute("SELECT name FROM schema_migrations ORDER BY rowid")]
        assert names == [m.name for m in MIGRATIONS]
        assert s.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        [item] = s.items()
        assert (item.title, item.state) == ("旧条目", ItemState.DISCOVERED)
        [src] = s.source_health()
        assert (src.name, src.consecutive_failures, src.consecutive_empty) == ("源", 2, 0)  # step 4 added the column
        s.record_source_ok("源", None, 0, yielded=0)
        assert s.source_health()[0].consecutive_empty == 1
    with Store(path) as s:  # reopening applies nothing again
        assert s.migrate() == []


def test_a_store_with_a_step_this_curator_does_not_know_is_refused(store_target):
    path = store_target
    with Store(path) as s:
        s.db.execute("INSERT INTO schema_migrations(name, applied_at) VALUES ('from_the_future', '2030-01-01')")
    with pytest.raises(StoreError, match="upgrade curator"):
        Store(path)


def test_pages_are_stored_with_zstd_and_pages_stored_with_zlib_before_still_load(tmp_path):
    import zlib

    text = "<html><body><p>页面正文，第一段。</p>" + "<p>Open model release notes.</p>" * 200 + "</body></html>"
    with Store(tmp_path / "c.db") as s:
        new_id, _ = s.add_candidate(cand("https://ex.com/new"), "https://ex.com/new")
        old_id, _ = s.add_candidate(cand("https://ex.com/old"), "https://ex.com/old")
        for item_id in (new_id, old_id):
            s.save_page(item_id, Page(url="https://ex.com/p", final_url="https://ex.com/p", status=200, text=text))
        # what a curator before this change stored: the page's UTF-8 bytes, zlib at level 1
        with s.transaction():
            s.db.execute("UPDATE items SET html=? WHERE id=?", (zlib.compress(text.encode("utf-8"), 1), old_id))
        stored = s.db.execute("SELECT html FROM items WHERE id=?", (new_id,)).fetchone()["html"]
        assert bytes(stored).startswith(b"\x28\xb5\x2f\xfd") and len(stored) < len(text.encode("utf-8")) / 5
        assert s.load_page(new_id).text == text
        assert s.load_page(old_id).text == text
