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
        if not path.exists():  # checking must not create an empty store where the editor expected one
            raise StoreError(f"no store at {path}: run `curator collect` first (or check --home)")
    with workspace(home, check=True) as ws:  # StoreError (74) when quick_check finds damage
        items = ws.store.count_items()
    if as_json:
        typer.echo(json.dumps({"store": str(path), "integrity": "ok", "items": items}, indent=2))
        return
    typer.echo(f"store: {path}")
    typer.echo(f"integrity: ok (quick_check), {items} items")
