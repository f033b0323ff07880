"""Store: one SQLite file (WAL), append-only migrations, items keyed by canonical URL.

Every stage reads the items waiting at its input state and writes the next state in one
transaction, so a run killed anywhere resumes where it stopped and never does work twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Self
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from curator.errors import StoreError
from curator.issue_store import IssueQueries
from curator.models import (
    Article,
    Candidate,
    Enrichment,
    Item,
    ItemState,
    Page,
    RunSummary,
    SourceRef,
    Validators,
)
from curator.urls import KEY_VERSION, canonical_url, rekey_plan

log = logging.getLogger(__name__)

# Append-only: never edit a migration that has shipped; add a new one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE sources (
        name TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        url TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        last_ok_at TEXT,
        last_error TEXT,
        last_error_at TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        items_total INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        canonical_url TEXT NOT NULL UNIQUE,
        url TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        snippet TEXT NOT NULL DEFAULT '',
        published_at TEXT,
        discovered_at TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        retryable INTEGER NOT NULL DEFAULT 0,
        final_url TEXT,
        etag TEXT,
        last_modified TEXT,
        encoding TEXT,
        html BLOB,
        content_hash TEXT,
        article TEXT,
        lang TEXT,
        story_id INTEGER,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX items_state ON items(state);
    CREATE TABLE item_sources (
        item_id INTEGER NOT NULL REFERENCES items(id),
        source TEXT NOT NULL,
        url TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        discussion_url TEXT,
        points INTEGER,
        submitter TEXT,
        submitter_url TEXT,
        PRIMARY KEY (item_id, source)
    );
    CREATE TABLE enrichments (
        item_id INTEGER PRIMARY KEY REFERENCES items(id),
        content_hash TEXT NOT NULL,
        backend TEXT NOT NULL,
        model TEXT NOT NULL DEFAULT '',
        prompt_sha TEXT NOT NULL DEFAULT '',
        fields TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE llm_cache (
        content_hash TEXT NOT NULL,
        prompt_sha TEXT NOT NULL,
        model TEXT NOT NULL,
        fields TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (content_hash, prompt_sha, model)
    );
    CREATE TABLE llm_calls (
        id INTEGER PRIMARY KEY,
        run_id INTEGER,
        item_id INTEGER,
        prompt_sha TEXT,
        schema_hash TEXT,
        model TEXT,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        latency_ms INTEGER,
        outcome TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE issues (
        id INTEGER PRIMARY KEY,
        number INTEGER NOT NULL UNIQUE,
        state TEXT NOT NULL,
        path TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        published_at TEXT
    );
    CREATE TABLE issue_items (
        issue_id INTEGER NOT NULL REFERENCES issues(id),
        item_id INTEGER NOT NULL REFERENCES items(id),
        section TEXT NOT NULL,
        position INTEGER NOT NULL,
        decision TEXT,
        PRIMARY KEY (issue_id, item_id)
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        command TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        counters TEXT NOT NULL DEFAULT '{}',
        notes TEXT NOT NULL DEFAULT '[]'
    );
    """,
    # 2: the archive of published issues, the editor's decisions on drafts, learned weights.
    """
    CREATE TABLE archive (
        id INTEGER PRIMARY KEY,
        canonical_url TEXT NOT NULL,
        url TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        norm_title TEXT NOT NULL DEFAULT '',
        issue_number INTEGER,
        issue_date TEXT,
        source_file TEXT,
        UNIQUE (canonical_url, issue_number)
    );
    CREATE INDEX archive_url ON archive(canonical_url);
    CREATE INDEX archive_title ON archive(norm_title);
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        issue_number INTEGER NOT NULL,
        story_id INTEGER,
        item_id INTEGER,
        action TEXT NOT NULL,
        section TEXT,
        position INTEGER,
        title TEXT,
        summary TEXT,
        url TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX decisions_issue ON decisions(issue_number);
    CREATE TABLE weights (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        weight REAL NOT NULL,
        kept INTEGER NOT NULL DEFAULT 0,
        dropped INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (kind, key)
    );
    ALTER TABLE items ADD COLUMN flags TEXT NOT NULL DEFAULT '[]';
    """,
    # 3: the date a draft was made for (the end of its window), so regenerations use the same window.
    """
    ALTER TABLE issues ADD COLUMN as_of TEXT;
    """,
    # 4: runs in a row a source answered but yielded no entry (a page that changed shape, a dead feed).
    """
    ALTER TABLE sources ADD COLUMN consecutive_empty INTEGER NOT NULL DEFAULT 0;
    """,
    # 5: facts about the store itself; `url_key_version` = the canonical-URL rules its keys were made with.
    """
    CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
]

RETRY_CAP = 3  # a retryable failure is tried again on later runs, at most this many attempts


def strip_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    return urlunsplit((parts.scheme, f"{host}:{parts.port}" if parts.port else host, parts.path, parts.query, ""))


def stored_source_url(url: str) -> str:
    """What the sources table keeps of a configured URL: scheme://host/path with the query's keys but not its
    values (a feed URL's `?token=…` is a secret), plus a fingerprint of the whole URL, so that a changed URL
    still resets the saved validators."""
    parts = urlsplit(strip_credentials(url))
    query = "&".join(f"{k}=…" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    fingerprint = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, f"sha256:{fingerprint}"))


def now_utc() -> datetime:
    return datetime.now(UTC)


def _new_key(url: str, keep_fragment: bool) -> str | None:
    try:
        return canonical_url(url, keep_fragment=keep_fragment)
    except ValueError:  # stored before the scheme check: left under its old key
        return None


@dataclass
class Rekeyed:
    """What re-keying a store with new canonical-URL rules changed."""

    version: int
    changed: int = 0  # items whose key changed
    split: int = 0  # links merged into another item by an old key, back as candidates of their own
    kept_apart: list[int] = field(default_factory=list)  # items left as they were: another holds the new key
    archive: int = 0  # published links re-keyed

    @property
    def message(self) -> str:
        return (f"store re-keyed with URL rules v{self.version}: {self.changed} item keys changed, {self.split} "
                f"merged-away links back as new candidates, {len(self.kept_apart)} items left under their old "
                f"key (another item has the new one), {self.archive} archive links re-keyed")


def _ts(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Store(IssueQueries):
    """A curator workspace's database. Use as a context manager or call close()."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 10.0,
                 clock: Callable[[], datetime] = now_utc) -> None:
        self.path = Path(path)
        self.now = clock  # stamps discovered_at / seen_at, which the windows read (Settings.now)
        self.busy_timeout_s = busy_timeout_s
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the database at {self.path}: {exc}. Check the path and permissions.") from exc
        self.db.row_factory = sqlite3.Row
        try:
            self._check_integrity()
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
            self.rekeyed = self._rekey()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise StoreError(
                f"the database at {self.path} is not usable ({exc}). It was left untouched: restore it from a "
                "backup, or move it aside to start a fresh store."
            ) from exc

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def _check_integrity(self) -> None:
        row = self.db.execute("PRAGMA quick_check").fetchone()
        if row is None or row[0] != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {row[0] if row else 'no answer'}")

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise sqlite3.DatabaseError(
                f"schema version {version} is newer than this curator knows ({len(MIGRATIONS)}); upgrade curator"
            )
        for number, sql in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for stmt in filter(str.strip, sql.split(";")):
                    self.db.execute(stmt)
                self.db.execute(f"PRAGMA user_version = {number}")
            log.info("store migrated to schema version %d", number)

    def _rekey(self) -> Rekeyed | None:
        """Re-make keys not made with today's canonical_url: the whole store once after its rules changed
        (urls.KEY_VERSION), and rows written since the last check (by an older curator, or by hand)."""
        if not self._rekey_due():
            return None
        with self.transaction():
            full = self._meta("url_key_version", 1) < KEY_VERSION
            report = Rekeyed(version=KEY_VERSION)
            top_item = self._rekey_items(report, 0 if full else self._meta("url_keys_item", 0))
            top_archive = self._rekey_archive(report, 0 if full else self._meta("url_keys_archive", 0))
            self.db.executemany(
                "INSERT INTO store_meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                [("url_key_version", str(KEY_VERSION)), ("url_keys_item", str(top_item)),
                 ("url_keys_archive", str(top_archive))])
        if report.changed or report.split or report.archive:
            log.warning("%s", report.message)
        return report

    def _meta(self, key: str, default: int) -> int:
        row = self.db.execute("SELECT value FROM store_meta WHERE key=?", (key,)).fetchone()
        return int(row[0]) if row else default  # no url_key_version: a store made with courlan's strict keys

    def _rekey_due(self) -> bool:
        top_item = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM items").fetchone()[0]
        top_archive = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM archive").fetchone()[0]
        return (self._meta("url_key_version", 1) < KEY_VERSION or top_item > self._meta("url_keys_item", 0)
                or top_archive > self._meta("url_keys_archive", 0))

    def _holders(self, key: str) -> list[sqlite3.Row]:
        return self.db.execute("SELECT id, canonical_url FROM items WHERE canonical_url=?", (key,)).fetchall()

    def _rekey_items(self, report: Rekeyed, after_id: int) -> int:
        """Re-key items with id > after_id; returns the highest id seen."""
        rows = self.db.execute("SELECT id, canonical_url, url FROM items WHERE id > ? ORDER BY id", (after_id,)).fetchall()
        current = {r["id"]: r["canonical_url"] for r in rows}
        anchored = {r["id"]: bool(urlsplit(r["canonical_url"]).fragment) for r in rows}  # watch entries
        desired = {r["id"]: _new_key(r["url"], anchored[r["id"]]) or r["canonical_url"] for r in rows}
        for key in {d for i, d in desired.items() if d != current[i]}:  # rows already holding a wanted key
            for holder in self._holders(key):
                current.setdefault(holder["id"], key)
                desired.setdefault(holder["id"], key)
        moves, report.kept_apart = rekey_plan(current, desired)
        for item_id, key in moves:  # in plan order: each key is free when it is taken
            self.db.execute("UPDATE items SET canonical_url=? WHERE id=?", (key, item_id))
        report.changed = len(moves)
        # A source's link that now names another document was merged by the old key: it becomes (or joins)
        # the item of its own key, so the merged-away article comes back as a candidate.
        for src in self.db.execute("SELECT s.item_id, s.source, s.url, s.seen_at, i.canonical_url FROM item_sources s "
                                   "JOIN items i ON i.id=s.item_id WHERE s.item_id > ?", (after_id,)).fetchall():
            key = _new_key(src["url"], anchored.get(src["item_id"], False))
            if key is None or key in (desired.get(src["item_id"]), src["canonical_url"]):
                continue
            if holders := self._holders(key):
                target = holders[0]["id"]
            else:
                cur = self.db.execute(
                    "INSERT INTO items(canonical_url, url, discovered_at, state, updated_at) "
                    "VALUES (?, ?, ?, 'discovered', ?)", (key, src["url"], src["seen_at"], _ts(now_utc())))
                target = int(cur.lastrowid or 0)
                report.split += 1
            self.db.execute("UPDATE OR IGNORE item_sources SET item_id=? WHERE item_id=? AND source=?",
                            (target, src["item_id"], src["source"]))
            self.db.execute("DELETE FROM item_sources WHERE item_id=? AND source=?", (src["item_id"], src["source"]))
        return int(self.db.execute("SELECT COALESCE(MAX(id), 0) FROM items").fetchone()[0])

    def _rekey_archive(self, report: Rekeyed, after_id: int) -> int:
        """Published links are re-keyed too, so "already published" keeps matching (and only the same document)."""
        rows = self.db.execute("SELECT id, canonical_url, url, issue_number FROM archive WHERE id > ? ORDER BY id",
                               (after_id,)).fetchall()
        seen: set[tuple[str, int | None]] = set()
        changes = []
        for r in rows:
            key = _new_key(r["url"], False) or r["canonical_url"]
            earlier = self.db.execute("SELECT 1 FROM archive WHERE id <= ? AND canonical_url=? AND issue_number IS ?",
                                      (after_id, key, r["issue_number"])).fetchone()
            if earlier or (key, r["issue_number"]) in seen:  # two spellings of one link in one issue: keep one
                self.db.execute("DELETE FROM archive WHERE id=?", (r["id"],))
                continue
            seen.add((key, r["issue_number"]))
            if key != r["canonical_url"]:
                changes.append((key, r["id"]))
        # Two steps, so no row ever collides with a key another row is about to give up.
        self.db.executemany("UPDATE archive SET canonical_url='rekey:' || id WHERE id=?", [(i,) for _, i in changes])
        self.db.executemany("UPDATE archive SET canonical_url=? WHERE id=?", changes)
        report.archive = len(changes)
        return int(self.db.execute("SELECT COALESCE(MAX(id), 0) FROM archive").fetchone()[0])

    def take_rekey_report(self) -> Rekeyed | None:
        """What re-keying changed when this store was opened (None if nothing): reported once, by one run."""
        report, self.rekeyed = self.rekeyed, None
        return report if report and (report.changed or report.split or report.archive) else None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(self._write_error(exc)) from exc
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException as exc:
            if self.db.in_transaction:  # SQLite has already rolled back after some errors (SQLITE_FULL)
                self.db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):
                raise StoreError(self._write_error(exc)) from exc
            raise

    def _write_error(self, exc: sqlite3.OperationalError) -> str:
        """What went wrong with a write, and what to do; nothing of the failed transaction was kept."""
        code = getattr(exc, "sqlite_errorname", "")
        if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(exc):
            return (f"the database at {self.path} is busy: another program held its write lock for more than "
                    f"{self.busy_timeout_s:g} s ({exc}). Wait for it to finish, or stop it, and run the command again.")
        if code.startswith("SQLITE_FULL") or "full" in str(exc):
            return (f"could not write to the database at {self.path}: the disk is full ({exc}). Nothing of this "
                    "step was saved; free some disk space and run the command again.")
        return (f"could not write to the database at {self.path} ({exc}). Nothing of this step was saved; check "
                "the disk and the file's permissions, then run the command again.")

    # ---- runs ------------------------------------------------------------------------------
    def start_run(self, command: str) -> int:
        """Record a new run. The caller holds the run lock, so a row still `running` belongs to a process that
        died without finishing (kill -9, power loss): it is marked `crashed` first."""
        with self.transaction():
            self._mark_crashed()
            cur = self.db.execute(
                "INSERT INTO runs(command, status, started_at) VALUES (?, 'running', ?)", (command, _ts(now_utc()))
            )
        return int(cur.lastrowid or 0)

    def mark_crashed_runs(self) -> int:
        """Mark every run still `running` as `crashed`; only for a caller that holds (or found free) the run lock."""
        with self.transaction():
            return self._mark_crashed()

    def _mark_crashed(self) -> int:
        note = "the process ended without finishing the run (killed or crashed); the next run resumed its work"
        cur = self.db.execute(
            "UPDATE runs SET status='crashed', ended_at=COALESCE(ended_at, ?), notes=? WHERE status='running'",
            (_ts(now_utc()), json.dumps([note])),
        )
        return cur.rowcount

    def finish_run(self, run_id: int, status: str, counters: dict[str, int], notes: list[str]) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE runs SET status=?, ended_at=?, counters=?, notes=? WHERE id=?",
                (status, _ts(now_utc()), json.dumps(counters, sort_keys=True), json.dumps(notes, ensure_ascii=False), run_id),
            )

    def recent_runs(self, limit: int = 10) -> list[RunSummary]:
        rows = self.db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [
            RunSummary(
                run_id=r["id"],
                command=r["command"],
                status=r["status"],
                started_at=_dt(r["started_at"]) or now_utc(),
                ended_at=_dt(r["ended_at"]),
                counters=json.loads(r["counters"]),
                notes=json.loads(r["notes"]),
            )
            for r in rows
        ]

    # ---- sources ---------------------------------------------------------------------------
    def sync_source(self, name: str, kind: str, url: str) -> None:
        url = stored_source_url(url)  # no user:pass@, no query values (API tokens) in the database
        with self.transaction():
            self.db.execute(
                "INSERT INTO sources(name, kind, url) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET kind=excluded.kind, "
                "etag=CASE WHEN sources.url=excluded.url THEN sources.etag END, "
                "last_modified=CASE WHEN sources.url=excluded.url THEN sources.last_modified END, "
                "url=excluded.url",
                (name, kind, url),
            )

    def source_validators(self, name: str) -> Validators:
        row = self.db.execute("SELECT etag, last_modified FROM sources WHERE name=?", (name,)).fetchone()
        return Validators(etag=row["etag"], last_modified=row["last_modified"]) if row else Validators()

    def record_source_ok(self, name: str, validators: Validators | None, new_items: int,
                         yielded: int | None = None) -> None:
        """Called after the source's items are committed, so validators never run ahead of the items.

        `yielded` is how many entries the answer held (None: not modified); 0 counts an empty run."""
        with self.transaction():
            self.db.execute(
                "UPDATE sources SET last_ok_at=?, consecutive_failures=0, items_total=items_total+?, "
                "consecutive_empty=CASE WHEN ? IS NULL THEN consecutive_empty WHEN ? = 0 "
                "THEN consecutive_empty+1 ELSE 0 END, "
                "etag=COALESCE(?, etag), last_modified=COALESCE(?, last_modified) WHERE name=?",
                (
                    _ts(now_utc()),
                    new_items,
                    yielded,
                    yielded,
                    validators.etag if validators else None,
                    validators.last_modified if validators else None,
                    name,
                ),
            )

    def record_source_error(self, name: str, reason: str) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE sources SET last_error=?, last_error_at=?, consecutive_failures=consecutive_failures+1 "
                "WHERE name=?",
                (reason, _ts(now_utc()), name),
            )

    def source_health(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM sources ORDER BY name").fetchall()

    # ---- items -----------------------------------------------------------------------------
    def add_candidate(self, cand: Candidate, canonical: str) -> tuple[int, bool]:
        """Insert a candidate (or attach its source to the existing item). Returns (item id, is new)."""
        now = _ts(self.now())
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO items(canonical_url, url, title, snippet, published_at, discovered_at, state, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'discovered', ?) ON CONFLICT(canonical_url) DO NOTHING",
                (canonical, cand.url, cand.title, cand.snippet[:2000], _ts(cand.published_at), now, now),
            )
            is_new = cur.rowcount == 1
            item_id = self.db.execute("SELECT id FROM items WHERE canonical_url=?", (canonical,)).fetchone()[0]
            self.db.execute(
                "INSERT INTO item_sources(item_id, source, url, seen_at, discussion_url, points, submitter, "
                "submitter_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(item_id, source) DO UPDATE SET "
                "points=COALESCE(excluded.points, item_sources.points)",
                (item_id, cand.source, cand.url, now, cand.discussion_url, cand.points, cand.submitter, cand.submitter_url),
            )
        return int(item_id), is_new

    def waiting(self, state: ItemState) -> list[sqlite3.Row]:
        """Items at `state` (retryable failures come back here through `requeue_retryable`)."""
        return self.db.execute("SELECT * FROM items WHERE state=? ORDER BY id", (state.value,)).fetchall()

    def requeue_retryable(self) -> int:
        """Failed items whose reason is retryable go back to the state before the stage that failed."""
        with self.transaction():
            cur = self.db.execute(
                "UPDATE items SET state=CASE WHEN reason LIKE 'llm%' THEN 'extracted' ELSE 'discovered' END, "
                "retryable=0, reason=NULL, updated_at=? WHERE state='failed' AND retryable=1 AND attempts < ?",
                (_ts(now_utc()), RETRY_CAP),
            )
        return cur.rowcount

    def set_state(self, item_id: int, state: ItemState, reason: str | None = None, *, retryable: bool = False) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE items SET state=?, reason=?, retryable=?, attempts=attempts+?, updated_at=? WHERE id=?",
                (state.value, reason, int(retryable), 1 if state == ItemState.FAILED else 0, _ts(now_utc()), item_id),
            )

    def page_validators(self, item_id: int) -> Validators:
        row = self.db.execute("SELECT etag, last_modified FROM items WHERE id=?", (item_id,)).fetchone()
        return Validators(etag=row["etag"], last_modified=row["last_modified"])

    def save_page(self, item_id: int, page: Page) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE items SET state='fetched', reason=NULL, final_url=?, etag=?, last_modified=?, encoding=?, "
                "html=?, updated_at=? WHERE id=?",
                (
                    page.final_url,
                    page.validators.etag,
                    page.validators.last_modified,
                    page.encoding,
                    zlib.compress(page.text.encode("utf-8"), 1),
                    _ts(now_utc()),
                    item_id,
                ),
            )

    def load_page(self, row: sqlite3.Row) -> Page:
        text = zlib.decompress(row["html"]).decode("utf-8") if row["html"] else ""
        return Page(
            url=row["url"],
            final_url=row["final_url"] or row["url"],
            status=200,
            text=text,
            encoding=row["encoding"],
            validators=Validators(etag=row["etag"], last_modified=row["last_modified"]),
        )

    def save_article(self, item_id: int, article: Article, content_hash: str) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE items SET state='extracted', reason=NULL, article=?, lang=?, content_hash=?, html=NULL, "
                "updated_at=? WHERE id=?",
                (article.model_dump_json(), article.lang, content_hash, _ts(now_utc()), item_id),
            )

    def save_enrichment(self, item_id: int, enrichment: Enrichment, content_hash: str) -> None:
        now = _ts(now_utc())
        with self.transaction():
            self.db.execute(
                "INSERT INTO enrichments(item_id, content_hash, backend, model, prompt_sha, fields, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(item_id) DO UPDATE SET content_hash=excluded.content_hash, "
                "backend=excluded.backend, model=excluded.model, prompt_sha=excluded.prompt_sha, "
                "fields=excluded.fields, created_at=excluded.created_at",
                (item_id, content_hash, enrichment.backend, enrichment.model, enrichment.prompt_sha,
                 enrichment.model_dump_json(), now),
            )
            self.db.execute(
                "UPDATE items SET state='enriched', reason=NULL, story_id=COALESCE(story_id, id), updated_at=? "
                "WHERE id=?",
                (now, item_id),
            )

    def refetch(self, item_id: int) -> None:
        """Send an item back to be fetched as new: its story is forgotten (a stand-in for an editor's
        find whose page could not be read, retried when the editor adds it again). The stand-in's
        enrichment stays until the real one replaces it, so the editor's words can be kept then."""
        with self.transaction():
            self.db.execute("UPDATE items SET state='discovered', reason=NULL, retryable=0, story_id=NULL, "
                            "updated_at=? WHERE id=?", (_ts(now_utc()), item_id))

    def stand_ins(self, max_attempts: int = RETRY_CAP) -> list[sqlite3.Row]:
        """Editor's finds standing in for a page not read yet (enriched by "editor"), in the pool or in a
        draft not yet published, tried fewer than `max_attempts` times; each row also carries the
        stand-in's `enrichment` JSON."""
        return self.db.execute(
            "SELECT i.*, e.fields AS enrichment FROM items i JOIN enrichments e ON e.item_id=i.id "
            "WHERE e.backend='editor' AND i.attempts < ? AND (i.state='enriched' OR (i.state='drafted' AND "
            "i.id IN (SELECT ii.item_id FROM issue_items ii JOIN issues s ON s.id=ii.issue_id WHERE s.state='draft'))) "
            "ORDER BY i.id",
            (max_attempts,),
        ).fetchall()

    def replacing_stand_ins(self) -> list[sqlite3.Row]:
        """Editor's finds whose page was read at last (extracted) while their stand-in is still stored:
        id, the editor's `title` and `snippet` (their note)."""
        return self.db.execute(
            "SELECT i.id, i.title, i.snippet FROM items i JOIN enrichments e ON e.item_id=i.id "
            "WHERE i.state='extracted' AND e.backend='editor' ORDER BY i.id"
        ).fetchall()

    def release_story(self, item_id: int) -> None:
        """The item is clustered anew on this run (a stand-in whose real page was just fetched)."""
        with self.transaction():
            self.db.execute("UPDATE items SET story_id=NULL, updated_at=? WHERE id=?", (_ts(now_utc()), item_id))

    def update_enrichment(self, item_id: int, enrichment: Enrichment) -> None:
        """Rewrite an item's stored enrichment fields in place (state and cache key unchanged)."""
        with self.transaction():
            self.db.execute("UPDATE enrichments SET fields=? WHERE item_id=?", (enrichment.model_dump_json(), item_id))

    def set_story_ids(self, assignments: dict[int, int]) -> int:
        """Write the stories clustering found (item id -> story id); returns how many items moved."""
        now = _ts(now_utc())
        moved = 0
        with self.transaction():
            for item_id, story_id in assignments.items():
                cur = self.db.execute(
                    "UPDATE items SET story_id=?, updated_at=? WHERE id=? AND story_id IS NOT ?",
                    (story_id, now, item_id, story_id),
                )
                moved += cur.rowcount
        return moved

    # ---- LLM cache and call log ------------------------------------------------------------
    def cache_get(self, content_hash: str, prompt_sha: str, model: str) -> str | None:
        row = self.db.execute(
            "SELECT fields FROM llm_cache WHERE content_hash=? AND prompt_sha=? AND model=?",
            (content_hash, prompt_sha, model),
        ).fetchone()
        return row["fields"] if row else None

    def cache_put(self, content_hash: str, prompt_sha: str, model: str, fields_json: str) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO llm_cache VALUES (?, ?, ?, ?, ?)",
                (content_hash, prompt_sha, model, fields_json, _ts(now_utc())),
            )

    def log_llm_call(
        self,
        *,
        run_id: int | None,
        item_id: int | None,
        prompt_sha: str,
        schema_hash: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cost_usd: float,
        latency_ms: int,
        outcome: str,
    ) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO llm_calls(run_id, item_id, prompt_sha, schema_hash, model, input_tokens, output_tokens,"
                " cost_usd, latency_ms, outcome, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, item_id, prompt_sha, schema_hash, model, input_tokens, output_tokens, cost_usd,
                 latency_ms, outcome, _ts(now_utc())),
            )

    def llm_totals(self, since: datetime | None = None) -> sqlite3.Row:
        return self.db.execute(
            "SELECT COUNT(*) AS calls, COALESCE(SUM(input_tokens),0) AS input_tokens, "
            "COALESCE(SUM(output_tokens),0) AS output_tokens, COALESCE(SUM(cost_usd),0) AS cost_usd "
            "FROM llm_calls WHERE created_at >= ?",
            (_ts(since) or "",),
        ).fetchone()

    # ---- reading items back as models ------------------------------------------------------
    def items(self, *, ids: Iterable[int] | None = None,
              states: Iterable[ItemState] | None = None) -> list[Item]:
        """Items as models, filtered by id and/or state (both optional), in id order."""
        where, params = [], []
        if ids is not None:
            id_list = list(ids)
            where.append(f"i.id IN ({','.join('?' * len(id_list))})" if id_list else "0")
            params.extend(id_list)
        if states is not None:
            st = [s.value for s in states]
            where.append(f"i.state IN ({','.join('?' * len(st))})" if st else "0")
            params.extend(st)
        return self.load_items(" AND ".join(where) or "1=1", tuple(params))

    def item(self, item_id: int) -> Item | None:
        found = self.items(ids=[item_id])
        return found[0] if found else None

    def cluster_pool(self, since: datetime) -> list[Item]:
        """Items with an article that are not skipped or failed, and are either not in a story yet or
        dated (published, else discovered) on or after `since`: the pool clustering works on."""
        return self.load_items(
            "i.article IS NOT NULL AND i.state NOT IN ('skipped', 'failed') "
            "AND (i.story_id IS NULL OR COALESCE(i.published_at, i.discovered_at) >= ?)",
            (since.isoformat(timespec="seconds"),),
        )

    def load_items(self, where: str = "1=1", params: tuple[object, ...] = ()) -> list[Item]:
        rows = self.db.execute(
            f"SELECT i.*, e.fields AS enrichment FROM items i LEFT JOIN enrichments e ON e.item_id=i.id "
            f"WHERE {where} ORDER BY i.id",
            params,
        ).fetchall()
        ids = [r["id"] for r in rows]
        refs: dict[int, list[SourceRef]] = {i: [] for i in ids}
        if ids:
            marks = ",".join("?" * len(ids))
            for s in self.db.execute(
                f"SELECT * FROM item_sources WHERE item_id IN ({marks}) ORDER BY seen_at, source", ids
            ):
                refs[s["item_id"]].append(
                    SourceRef(
                        source=s["source"],
                        url=s["url"],
                        seen_at=_dt(s["seen_at"]) or now_utc(),
                        discussion_url=s["discussion_url"],
                        points=s["points"],
                        submitter=s["submitter"],
                        submitter_url=s["submitter_url"],
                    )
                )
        items = []
        for r in rows:
            state_raw = r["state"]
            items.append(
                Item(
                    id=r["id"],
                    canonical_url=r["canonical_url"],
                    url=r["url"],
                    title=r["title"],
                    state=ItemState(state_raw),
                    reason=r["reason"],
                    published_at=_dt(r["published_at"]),
                    discovered_at=_dt(r["discovered_at"]) or now_utc(),
                    sources=refs[r["id"]],
                    article=Article.model_validate_json(r["article"]) if r["article"] else None,
                    enrichment=Enrichment.model_validate_json(r["enrichment"]) if r["enrichment"] else None,
                    story_id=r["story_id"],
                )
            )
        return items

    def state_counts(self) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT state || COALESCE(':' || reason, '') AS k, COUNT(*) AS n FROM items GROUP BY k ORDER BY k"
        ).fetchall()
        return {r["k"]: r["n"] for r in rows}

    def count_items(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM items").fetchone()[0])
