"""The run lock on a Postgres store: a session advisory lock, held on a connection of its own for the run.

Advisory locks belong to the database, so every machine running curator against it sees the same lock;
the server frees it when the holding session ends (the process exits, is killed, or loses its
connection), as the kernel frees the file lock of a SQLite workspace.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Self

from curator.errors import LockHeld, StoreError
from curator.store.pg import PgConnection

log = logging.getLogger(__name__)

RUN_LOCK_KEY = 0x63757230  # "cur0": one run at a time per database (pg_locks shows it as objid)


class AdvisoryLock:
    def __init__(self, url: str, command: str, key: int = RUN_LOCK_KEY) -> None:
        self.url = url
        self.command = command
        self.key = key
        self._conn: PgConnection | None = None

    def __enter__(self) -> Self:
        conn = PgConnection(self.url, purpose=f"run lock: {self.command}")
        try:
            got = conn.execute("SELECT pg_try_advisory_lock(?)", (self.key,)).fetchone()[0]
            holder = None if got else self._holder(conn)
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            raise LockHeld(
                f"another curator run holds the run lock of the Postgres store at {conn.shown} ({holder}); wait "
                "for it to finish, or stop it — the lock frees itself when that process ends or its connection drops"
            )
        self._conn = conn
        return self

    def _holder(self, conn: PgConnection) -> str:
        """Who holds the lock, as the server knows it: its `curator …` name, host and since when."""
        row = conn.execute(
            "SELECT a.application_name, a.client_addr, a.backend_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.classid = ? AND l.objid = ? AND l.objsubid = 1 AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            (self.key >> 32, self.key & 0xFFFFFFFF),
        ).fetchone()
        if row is None:
            return "holder unknown"
        command, _, pid = str(row[0] or "?").removeprefix("curator run lock: ").rpartition(" pid ")
        host = f" on {row[1]}" if row[1] else ""
        since = row[2].isoformat(timespec="seconds") if row[2] else "?"
        return f"pid {pid or '?'}{host}, `curator {command or '?'}` since {since}"

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute("SELECT pg_advisory_unlock(?)", (self.key,))
        except StoreError:
            log.debug("run lock: the connection was lost, and the server freed the lock with it")
        finally:
            conn.close()
