"""Copying a SQLite store into an empty Postgres one (`curator store migrate-to`), ids and all.

Every table of the file goes across with its rows as they are (ids preserved, so issue numbers, decisions
and story ids keep pointing at the same rows), parents before the tables that reference them, in one
Postgres transaction; then each identity sequence is moved past the highest id, and the per-table
counts of both sides are compared. A target that already holds data is refused, never merged into.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from curator.errors import StoreError
from curator.store import Store
from curator.store.migrations import TABLE as MIGRATIONS_TABLE

BATCH = 500
_BOOKKEEPING = {MIGRATIONS_TABLE, "store_meta"}  # written by any open of the target: not data


@dataclass
class TableCopy:
    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


@dataclass
class CopyReport:
    tables: list[TableCopy] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # SQLite virtual tables (derived indexes) and their shadows

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables)


# Rebuilt on the target rather than copied: the search queue (its triggers queue every copied item there).
DERIVED = frozenset({"search_dirty"})


def _sqlite_tables(source: Store) -> tuple[list[str], list[str]]:
    """(tables to copy, parents first; virtual tables and their shadow tables, which are not data)."""
    rows = source.db.execute("SELECT name, sql FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
                             "ORDER BY name").fetchall()
    virtual = [r["name"] for r in rows if (r["sql"] or "").upper().startswith("CREATE VIRTUAL TABLE")]
    skipped = [r["name"] for r in rows if any(r["name"] == v or r["name"].startswith(v + "_") for v in virtual)
               or r["name"] in DERIVED]
    names = [r["name"] for r in rows if r["name"] not in skipped and r["name"] != MIGRATIONS_TABLE]
    parents = {n: {r["table"] for r in source.db.execute(f'PRAGMA foreign_key_list("{n}")')} & set(names) - {n}
               for n in names}
    ordered: list[str] = []
    while len(ordered) < len(names):  # a foreign key cycle would stop this: the schema has none
        ready = [n for n in names if n not in ordered and parents[n] <= set(ordered)]
        if not ready:
            raise StoreError(f"the tables {sorted(set(names) - set(ordered))} reference each other; cannot order the copy")
        ordered.extend(ready)
    return ordered, skipped


def _columns(store: Store, table: str) -> list[str]:
    if store.dialect.name == "sqlite":
        return [r["name"] for r in store.db.execute(f'PRAGMA table_info("{table}")')]
    return [r[0] for r in store.db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? "
        "ORDER BY ordinal_position", (table,))]


def count(store: Store, table: str) -> int:
    return int(store.db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])


def refuse_non_empty(target: Store, tables: list[str]) -> None:
    held = {t: n for t in tables if t not in _BOOKKEEPING and _columns(target, t) and (n := count(target, t))}
    if held:
        shown = ", ".join(f"{t}: {n}" for t, n in held.items())
        raise StoreError(f"the Postgres store at {target.location} is not empty ({shown} rows); migrate-to copies into "
                         "an empty database only. Create a new database (createdb …) and give its URL.",
                         reason="target_not_empty")


def copy_store(source: Store, target: Store) -> CopyReport:
    """Copy every table of the SQLite `source` into the empty Postgres `target`; the counts of both."""
    tables, skipped = _sqlite_tables(source)
    refuse_non_empty(target, tables)
    plan = []
    for table in tables:
        cols, have = _columns(source, table), set(_columns(target, table))
        if missing := [c for c in cols if c not in have]:
            raise StoreError(f"the Postgres store at {target.location} has no column {missing} in table {table!r}: "
                             "its schema is not this curator's. Use an empty database.", reason="schema_mismatch")
        plan.append((table, cols))
    with target.transaction():
        target.db.execute("DELETE FROM store_meta")  # the source's own facts (its key version) go across instead
        for table, cols in plan:
            _copy_table(source, target, table, cols)
        for table, cols in plan:
            if "id" in cols:  # identity columns took explicit ids: the next new row gets the next one
                target.db.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM \"{table}\"), 1), (SELECT MAX(id) FROM \"{table}\") IS NOT NULL)")
    return CopyReport(tables=[TableCopy(t, count(source, t), count(target, t)) for t, _ in plan], skipped=skipped)


def _copy_table(source: Store, target: Store, table: str, cols: list[str]) -> None:
    names = ", ".join(f'"{c}"' for c in cols)
    insert = f'INSERT INTO "{table}"({names}) VALUES ({", ".join("?" * len(cols))})'
    cursor = source.db.execute(f'SELECT {names} FROM "{table}" ORDER BY rowid')
    while batch := cursor.fetchmany(BATCH):
        target.db.executemany(insert, [tuple(r) for r in batch])
