"""The two databases a store can live in, and what differs between them, behind small named helpers.

The mixins write one SQL text for both (the common subset: `?` placeholders, `ON CONFLICT`, `IS DISTINCT
FROM`, `COALESCE`, `||`); what each database spells its own way is a method here (`json_text`,
`insert_id`, `claim_lock` …), never an `if` in a query. `DB` is the connection as the mixins see it:
sqlite3's, or the Postgres adapter in curator/store/pg.py (placeholders `?` → `%s`, rows by name).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...
    @property
    def lastrowid(self) -> int | None: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class DB(Protocol):
    """A connection: sqlite3.Connection, or pg.PgConnection which behaves the same for the store's needs."""

    @property
    def in_transaction(self) -> bool: ...
    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...
    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Any: ...
    def close(self) -> None: ...


class Dialect:
    """SQLite: one file, one writer at a time (BEGIN IMMEDIATE serialises every write)."""

    name = "sqlite"
    begin = "BEGIN IMMEDIATE"

    def json_text(self, column: str, key: str) -> str:
        """A top-level string field of a JSON text column."""
        return f"json_extract({column}, '$.{key}')"

    def json_number(self, column: str, key: str) -> str:
        """A top-level numeric field of a JSON text column, comparable as a number."""
        return f"json_extract({column}, '$.{key}')"

    def claim_lock(self) -> str:
        """What a SELECT that hands out work appends so two workers never take the same rows: nothing here,
        the transaction's write lock (BEGIN IMMEDIATE) already lets one claimer in at a time."""
        return ""

    def serialise(self) -> str | None:
        """A statement that makes this transaction the only one of its kind (schema steps, re-keying)."""
        return None

    def insert_id(self, db: DB, sql: str, params: Sequence[Any]) -> int:
        """Run an INSERT into a table with an `id` key and return the new row's id."""
        return int(db.execute(sql, params).lastrowid or 0)


class PostgresDialect(Dialect):
    """Postgres: many writers at once (READ COMMITTED); row locks decide who takes which work."""

    name = "postgres"
    begin = "BEGIN"
    SERIALISE_KEY = 0x6375726174  # "curat": the advisory key that orders schema steps and re-keying

    def json_text(self, column: str, key: str) -> str:
        return f"(({column})::jsonb ->> '{key}')"

    def json_number(self, column: str, key: str) -> str:
        return f"(({column})::jsonb ->> '{key}')::double precision"

    def claim_lock(self) -> str:
        return " FOR UPDATE SKIP LOCKED"  # a row another claimer holds is passed over, never waited for

    def serialise(self) -> str:
        return f"SELECT pg_advisory_xact_lock({self.SERIALISE_KEY})"

    def insert_id(self, db: DB, sql: str, params: Sequence[Any]) -> int:
        return int(db.execute(sql + " RETURNING id", params).fetchone()[0])


SQLITE = Dialect()
POSTGRES = PostgresDialect()


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))
