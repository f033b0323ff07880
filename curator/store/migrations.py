"""Store schema: named migration steps, each applied once, their names recorded in `schema_migrations`.

Append-only: never edit a step that has shipped; add a new one with a new name. The first five steps
were numbered (PRAGMA user_version 1-5) before they had names: a store made then is recognised by its
user_version, its steps recorded by name, and it continues from there without losing data.

One schema for both databases: a step's `sql` is SQLite's; on Postgres it runs as `postgres` when the step
gives it, else as `postgres_ddl(sql)` (the same statements in Postgres' types). Postgres applies each step
in a transaction holding an advisory lock, so two processes opening a new store never both apply it.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import NamedTuple

from curator.errors import StoreError
from curator.store.base import StoreBase, now_utc, ts
from curator.store.dialect import DB
from curator.store.pg import postgres_ddl

log = logging.getLogger(__name__)

TABLE = "schema_migrations"


class Migration(NamedTuple):
    name: str
    sql: str  # statements separated by `;`
    postgres: str | None = None  # the step on Postgres when it differs in more than types (postgres_ddl)

    def statements(self, dialect: str) -> list[str]:
        if dialect == "postgres":  # a step's own Postgres SQL is sent whole (a function body holds `;`)
            return [self.postgres] if self.postgres else [s for s in postgres_ddl(self.sql).split(";") if s.strip()]
        return statements(self.sql)


MIGRATIONS: list[Migration] = [
    Migration("initial", """
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
    """),
    # The archive of published issues, the editor's decisions on drafts, learned weights.
    Migration("archive_decisions_weights", """
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
    """),
    # The date a draft was made for (the end of its window), so regenerations use the same window.
    Migration("issue_as_of", """
    ALTER TABLE issues ADD COLUMN as_of TEXT;
    """),
    # Runs in a row a source answered but yielded no entry (a page that changed shape, a dead feed).
    Migration("source_consecutive_empty", """
    ALTER TABLE sources ADD COLUMN consecutive_empty INTEGER NOT NULL DEFAULT 0;
    """),
    # Facts about the store itself; `url_key_version` = the canonical-URL rules its keys were made with.
    Migration("store_meta", """
    CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """),
    # What `draft` last wrote (the file's sha256, and the render before the editor's own paragraphs went
    # in), so the next draft sees the editor's edits and reads them back (curator/readback.py); the
    # editor's own paragraphs, kept verbatim and written back at the same place.
    Migration("draft_written", """
    ALTER TABLE issues ADD COLUMN draft_sha TEXT;
    ALTER TABLE issues ADD COLUMN draft_render TEXT;
    CREATE TABLE draft_blocks (
        issue_number INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        anchor_kind TEXT NOT NULL,
        anchor_ref TEXT,
        anchor_offset INTEGER NOT NULL DEFAULT 0,
        text TEXT NOT NULL,
        PRIMARY KEY (issue_number, seq)
    );
    """),
    # Curators before issue 12 marked items `failed:llm_*` when the endpoint refused (a bad key, a wrong
    # model, no quota) or could not be reached, for good; no item was to blame. They wait again at
    # `extracted`, so the next run (or `--provider offline`) enriches them.
    Migration("requeue_llm_failures", """
    UPDATE items SET state='extracted', reason=NULL, retryable=0
    WHERE state='failed' AND substr(reason, 1, 4)='llm_' AND article IS NOT NULL
    """),
    # Webhooks (curator/notify/): a source's failing streak is told once per hook, and each delivery's
    # outcome (hook label and host, never the URL) is kept for `curator status`.
    Migration("notify_webhooks", """
    CREATE TABLE notify_sent (
        event TEXT NOT NULL,
        subject TEXT NOT NULL,
        hook TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        PRIMARY KEY (event, subject, hook)
    );
    CREATE TABLE webhook_deliveries (
        id INTEGER PRIMARY KEY,
        hook TEXT NOT NULL,
        host TEXT NOT NULL,
        event TEXT NOT NULL,
        ok INTEGER NOT NULL,
        detail TEXT NOT NULL,
        run_id INTEGER,
        at TEXT NOT NULL
    );
    CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(hook, id)
    """),
    # Per-source keep / block rules (curator/rules.py): one verdict per item and source, so a blocked
    # link is never examined again and `sources check` can count what each rule did in the last run.
    Migration("rule_outcomes", """
    CREATE TABLE rule_outcomes (
        item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        source TEXT NOT NULL,
        run_id INTEGER,
        verdict TEXT NOT NULL,
        rule TEXT,
        author TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '[]',
        decided_at TEXT NOT NULL,
        PRIMARY KEY (item_id, source)
    );
    CREATE INDEX rule_outcomes_by_run ON rule_outcomes(source, run_id)
    """),
    # Work handed out to a worker (store.claim_items): by whom, and until when the claim holds (a lease,
    # so the work of a worker that died goes to another once it runs out).
    Migration("item_claims", """
    ALTER TABLE items ADD COLUMN claimed_by TEXT;
    ALTER TABLE items ADD COLUMN claimed_until TEXT
    """),
    # Full-text search (curator/store/search.py): jieba-cut text in FTS5, rowid = item id (an archive
    # link of a past issue: minus its archive id). Triggers queue every item whose title, feed snippet,
    # article, enrichment or sources change, and every archive link, whoever writes them; search works
    # the queue off. Everything of an existing store is queued here, so its first search (or the end of
    # its next run) builds the index.
    Migration("search_index", """
    CREATE VIRTUAL TABLE search_fts USING fts5(title, summary, body, meta, tokenize='unicode61 remove_diacritics 2');
    CREATE TABLE search_dirty (seq INTEGER PRIMARY KEY AUTOINCREMENT, item_id INTEGER NOT NULL);
    CREATE TRIGGER search_items_ins AFTER INSERT ON items BEGIN
        INSERT INTO search_dirty(item_id) VALUES (new.id); END;
    CREATE TRIGGER search_items_upd AFTER UPDATE OF title, snippet, article, canonical_url, url ON items BEGIN
        INSERT INTO search_dirty(item_id) VALUES (new.id); END;
    CREATE TRIGGER search_items_del AFTER DELETE ON items BEGIN
        INSERT INTO search_dirty(item_id) VALUES (old.id); END;
    CREATE TRIGGER search_enr_ins AFTER INSERT ON enrichments BEGIN
        INSERT INTO search_dirty(item_id) VALUES (new.item_id); END;
    CREATE TRIGGER search_enr_upd AFTER UPDATE ON enrichments BEGIN
        INSERT INTO search_dirty(item_id) VALUES (old.item_id), (new.item_id); END;
    CREATE TRIGGER search_enr_del AFTER DELETE ON enrichments BEGIN
        INSERT INTO search_dirty(item_id) VALUES (old.item_id); END;
    CREATE TRIGGER search_src_ins AFTER INSERT ON item_sources BEGIN
        INSERT INTO search_dirty(item_id) VALUES (new.item_id); END;
    CREATE TRIGGER search_src_upd AFTER UPDATE ON item_sources BEGIN
        INSERT INTO search_dirty(item_id) VALUES (old.item_id), (new.item_id); END;
    CREATE TRIGGER search_src_del AFTER DELETE ON item_sources BEGIN
        INSERT INTO search_dirty(item_id) VALUES (old.item_id); END;
    CREATE TRIGGER search_archive_ins AFTER INSERT ON archive BEGIN
        INSERT INTO search_dirty(item_id) VALUES (-new.id); END;
    CREATE TRIGGER search_archive_upd AFTER UPDATE OF title, canonical_url, url ON archive BEGIN
        INSERT INTO search_dirty(item_id) VALUES (-old.id), (-new.id); END;
    CREATE TRIGGER search_archive_del AFTER DELETE ON archive BEGIN
        INSERT INTO search_dirty(item_id) VALUES (-old.id); END;
    INSERT INTO search_dirty(item_id) SELECT id FROM items ORDER BY id;
    INSERT INTO search_dirty(item_id) SELECT -id FROM archive ORDER BY id
    """, postgres=r"""
    CREATE TABLE search_dirty (seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, item_id BIGINT NOT NULL);
    CREATE TABLE search_docs (item_id BIGINT PRIMARY KEY, doc TSVECTOR NOT NULL);
    CREATE INDEX search_docs_doc ON search_docs USING GIN (doc);
    CREATE FUNCTION search_queue() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
        IF TG_TABLE_NAME = 'items' THEN
            IF TG_OP <> 'INSERT' THEN INSERT INTO search_dirty(item_id) VALUES (OLD.id); END IF;
            IF TG_OP <> 'DELETE' THEN INSERT INTO search_dirty(item_id) VALUES (NEW.id); END IF;
        ELSE
            IF TG_OP <> 'INSERT' THEN INSERT INTO search_dirty(item_id) VALUES (OLD.item_id); END IF;
            IF TG_OP <> 'DELETE' THEN INSERT INTO search_dirty(item_id) VALUES (NEW.item_id); END IF;
        END IF;
        RETURN NULL;
    END $fn$;
    CREATE TRIGGER search_items AFTER INSERT OR DELETE OR UPDATE OF title, snippet, article, canonical_url, url
        ON items FOR EACH ROW EXECUTE FUNCTION search_queue();
    CREATE TRIGGER search_enr AFTER INSERT OR DELETE OR UPDATE ON enrichments FOR EACH ROW EXECUTE FUNCTION search_queue();
    CREATE TRIGGER search_src AFTER INSERT OR DELETE OR UPDATE ON item_sources FOR EACH ROW EXECUTE FUNCTION search_queue();
    INSERT INTO search_dirty(item_id) SELECT id FROM items ORDER BY id
    """),
    # An issue's window is read by date (store/window.py): published, else discovered, as two ranges.
    Migration("window_indexes", """
    CREATE INDEX IF NOT EXISTS items_dated ON items(published_at, discovered_at);
    CREATE INDEX IF NOT EXISTS items_story ON items(story_id);
    CREATE INDEX IF NOT EXISTS items_state_reason ON items(state, reason)
    """),
    # A feed read again touches each entry's source row (`points`, which the index does not hold): only a
    # change of what is indexed (the source's name) queues the item, so an unchanged run re-indexes nothing.
    Migration("search_source_trigger", """
    DROP TRIGGER search_src_upd;
    CREATE TRIGGER search_src_upd AFTER UPDATE OF item_id, source ON item_sources BEGIN
        INSERT INTO search_dirty(item_id) VALUES (old.item_id), (new.item_id); END
    """, postgres="""
    DROP TRIGGER search_src ON item_sources;
    CREATE TRIGGER search_src AFTER INSERT OR DELETE OR UPDATE OF item_id, source ON item_sources
        FOR EACH ROW EXECUTE FUNCTION search_queue()
    """),
]


def statements(sql: str) -> list[str]:
    """A step's SQL cut into whole statements (a trigger's `BEGIN …; END` stays one), by SQLite's own rule."""
    out: list[str] = []
    pending = ""
    for piece in sql.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                out.append(pending)
            pending = ""
    if pending.strip(" \n;"):
        out.append(pending)
    return out


def applied_steps(db: DB) -> list[str] | None:
    """Names recorded as applied, in order; None for a store from before names (only a user_version)."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (TABLE,)).fetchone() is None:
        return None
    return [r[0] for r in db.execute(f"SELECT name FROM {TABLE} ORDER BY rowid")]


def migrate_postgres(store: StoreBase) -> list[str]:
    """Postgres: the steps not applied yet, each in a transaction of its own under the schema lock."""
    db, done = store.db, list[str]()
    with store.transaction():
        db.execute(str(store.dialect.serialise()))
        db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL, "
                   "seq BIGINT GENERATED ALWAYS AS IDENTITY)")
        applied = {r[0] for r in db.execute(f"SELECT name FROM {TABLE}")}
    if applied == {m.name for m in MIGRATIONS}:
        return done  # the usual open: nothing to do, no lock held any longer
    for step in MIGRATIONS:
        with store.transaction():
            db.execute(str(store.dialect.serialise()))  # another process may have applied it meanwhile
            applied = {r[0] for r in db.execute(f"SELECT name FROM {TABLE}")}
            if newer := sorted(applied - {m.name for m in MIGRATIONS}):
                raise StoreError(f"the store at {store.location} has steps newer than this curator knows "
                                 f"({newer}); upgrade curator", reason="store_newer")
            if step.name in applied:
                continue
            for stmt in step.statements("postgres"):
                db.execute(stmt)
            db.execute(f"INSERT INTO {TABLE}(name, applied_at) VALUES (?, ?)", (step.name, ts(now_utc())))
        done.append(step.name)
        log.info("store migrated: %s", step.name)
    return done


def migrate(store: StoreBase) -> list[str]:
    """Apply the steps not applied yet, each in its own transaction; returns their names."""
    if store.dialect.name == "postgres":
        return migrate_postgres(store)
    db = store.db
    known = [m.name for m in MIGRATIONS]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    applied = applied_steps(db)
    if version > len(known) or (applied is not None and set(applied) - set(known)):
        newer = sorted(set(applied or []) - set(known)) or f"schema version {version}"
        raise sqlite3.DatabaseError(f"this store has steps newer than this curator knows ({newer}); upgrade curator")
    if applied is None:
        # Made by a curator that numbered its schema: its first `version` steps are the named ones here.
        applied = known[:version]
        with store.transaction():
            db.execute(f"CREATE TABLE {TABLE} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            db.executemany(f"INSERT INTO {TABLE}(name, applied_at) VALUES (?, ?)",
                           [(name, ts(now_utc())) for name in applied])
        if applied:
            log.debug("store schema version %d recorded as named steps: %s", version, ", ".join(applied))
    done: list[str] = []
    for step in MIGRATIONS:
        if step.name in applied:
            continue
        with store.transaction():
            for stmt in step.statements("sqlite"):
                db.execute(stmt)
            db.execute(f"INSERT INTO {TABLE}(name, applied_at) VALUES (?, ?)", (step.name, ts(now_utc())))
            # Kept counting, so a curator from before named steps refuses a store newer than it knows.
            db.execute(f"PRAGMA user_version = {len(applied) + len(done) + 1}")
        done.append(step.name)
        log.info("store migrated: %s", step.name)
    return done
