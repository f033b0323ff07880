"""`curator doctor`: is the workspace's store sound? The full integrity check that opening a store skips.

Opening a store runs no integrity check (it reads every page: ~0.5 s per GB, on every `status` and board
request); `collect` runs one before it writes, and this command runs it on demand. A damaged store is
reported (exit 74) and left untouched, with what to do.
"""

from __future__ import annotations

import json

import typer

from curator.cli.workspace import HomeOpt, JsonOpt, workspace
from curator.errors import StoreError


def doctor(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Check the store's integrity (SQLite quick_check) and say what it holds; exit 74 when it is damaged."""
    with workspace(home, store=False) as ws:
        path = ws.settings.db_path
        postgres = bool(ws.settings.store.url)
        if not postgres and not path.exists():  # checking must not create an empty store where one was expected
            raise StoreError(f"no store at {path}: run `curator collect` first (or check --home)")
    with workspace(home, check=True) as ws:  # StoreError (74) when quick_check finds damage
        items = ws.store.count_items()
        where = ws.store.location  # a Postgres URL with its password masked
    # Postgres keeps its own pages' checksums and WAL: opening and counting is the check curator can make.
    integrity = "ok (connected and read; Postgres checks its own pages)" if postgres else "ok (quick_check)"
    if as_json:
        typer.echo(json.dumps({"store": where, "integrity": "ok", "items": items}, indent=2))
        return
    typer.echo(f"store: {where}")
    typer.echo(f"integrity: {integrity}, {items} items")
