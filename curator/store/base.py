"""Store internals shared by its parts: the connection and its transactions, timestamps, URL hygiene."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from curator.errors import StoreError
from curator.store.dialect import DB, SQLITE, Dialect

RETRY_CAP = 3  # a retryable failure is tried again on later runs, at most this many attempts


def now_utc() -> datetime:
    return datetime.now(UTC)


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


def ts(dt: datetime | None) -> str | None:
    """How the store writes a time: ISO 8601 in UTC, to the second (naive times are taken as UTC)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def parse_ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def marks(values: list[object]) -> str:
    """`?, ?, ?` for an IN list of these values (never empty: callers handle an empty filter)."""
    return ",".join("?" * len(values))


class StoreBase:
    """The connection every part of the store shares; the parts are mixins composed into `Store`."""

    db: DB  # sqlite3.Connection, or the Postgres adapter (curator/store/pg.py) that reads the same SQL
    dialect: Dialect = SQLITE  # what the two databases spell differently (curator/store/dialect.py)
    path: Path  # the SQLite file; for a Postgres store, empty (see `location`)
    location: str  # where the store is, as messages show it (a Postgres URL without its password)
    busy_timeout_s: float
    now: Callable[[], datetime]  # stamps discovered_at / seen_at, which the windows read (Settings.now)

    @contextmanager
    def transaction(self) -> Iterator[DB]:
        try:
            self.db.execute(self.dialect.begin)
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

    def _insert_id(self, sql: str, params: tuple[object, ...] | list[object]) -> int:
        """Run an INSERT into a table keyed by `id`; the new row's id."""
        return self.dialect.insert_id(self.db, sql, params)

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
