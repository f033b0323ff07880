"""Store: one SQLite file (WAL) or a Postgres database, named migrations, items keyed by canonical URL; the
only code that speaks SQL.

Every stage reads the items waiting at its input state and writes the next state in one transaction, so
a run killed anywhere resumes where it stopped and never does work twice. Each part of the schema has its
mixin sharing the one connection (items, sources, runs, llm, issues, rekey); every method takes typed
arguments and returns models (curator.models), never rows, cursors or SQL.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Self

from curator.errors import StoreError
from curator.store.base import RETRY_CAP, now_utc, stored_source_url, strip_credentials
from curator.store.claims import ClaimQueries
from curator.store.dialect import POSTGRES, is_postgres_url
from curator.store.drafts import DraftQueries
from curator.store.engine import EngineQueries
from curator.store.issues import IssueQueries
from curator.store.items import ItemQueries
from curator.store.llm import LLMQueries
from curator.store.migrations import MIGRATIONS, Migration, migrate
from curator.store.notify import NotifyQueries
from curator.store.rekey import Rekeyed, RekeyQueries
from curator.store.rules import RuleQueries
from curator.store.runs import RunQueries
from curator.store.search import SearchQueries
from curator.store.sources import SourceQueries
from curator.store.window import WindowQueries

__all__ = [
    "MIGRATIONS",
    "RETRY_CAP",
    "Migration",
    "Rekeyed",
    "Store",
    "now_utc",
    "stored_source_url",
    "strip_credentials",
]

log = logging.getLogger(__name__)


class Store(ItemQueries, ClaimQueries, SourceQueries, RunQueries, LLMQueries, IssueQueries, DraftQueries,
            RekeyQueries, NotifyQueries, RuleQueries, SearchQueries, WindowQueries, EngineQueries):
    """A curator workspace's database. Use as a context manager or call close().

    `target` is the SQLite file's path, or a `postgresql://` URL (psycopg 3, imported only then). `db` (the
    connection; `db.execute(sql, params)` returns rows on both) is public for tests that inspect the
    database; code outside this package calls the methods instead."""

    def __init__(self, target: Path | str, *, busy_timeout_s: float = 10.0,
                 clock: Callable[[], datetime] = now_utc, check: bool = False) -> None:
        self.now = clock  # stamps discovered_at / seen_at, which the windows read (Settings.now)
        self.busy_timeout_s = busy_timeout_s
        if is_postgres_url(target):
            self._open_postgres(str(target))
            return
        self.path = Path(target)
        self.location = str(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the database at {self.path}: {exc}. Check the path and permissions.") from exc
        self.db.row_factory = sqlite3.Row
        try:
            if check:  # reads every page (~0.5 s per GB): `collect` and `curator doctor` ask, not every open
                self._check_integrity()
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.migrate()
            self.rekeyed = self._rekey()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise StoreError(
                f"the database at {self.path} is not usable ({exc}). It was left untouched: restore it from a "
                "backup, or move it aside to start a fresh store."
            ) from exc

    def _open_postgres(self, url: str) -> None:
        from curator.store.pg import PgConnection, masked_url

        self.path = Path()
        self.location = masked_url(url)
        self.dialect = POSTGRES
        self.db = PgConnection(url)
        try:
            self.migrate()
            self.rekeyed = self._rekey()
        except BaseException:
            self.db.close()
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def migrate(self) -> list[str]:
        """Apply the schema steps this store lacks (migrations.MIGRATIONS); returns their names."""
        return migrate(self)

    def check_integrity(self) -> None:
        """PRAGMA quick_check on an open store; StoreError (74) naming what is damaged and what to do."""
        try:
            self._check_integrity()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"the database at {self.path} is not usable ({exc}). It was left untouched: restore it from a "
                "backup, or move it aside to start a fresh store."
            ) from exc

    def _check_integrity(self) -> None:
        row = self.db.execute("PRAGMA quick_check").fetchone()
        if row is None or row[0] != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {row[0] if row else 'no answer'}")
