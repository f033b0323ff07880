"""`curator store …`: the workspace's store itself; `migrate-to` copies a SQLite store into Postgres."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from curator.cli.workspace import HomeOpt, JsonOpt, cli_errors, workspace_settings
from curator.errors import ConfigError, StoreError

app = typer.Typer(help="The workspace's store: copy it into a team's Postgres database.", no_args_is_help=True,
                  add_completion=False, rich_markup_mode=None)

UrlArg = Annotated[str | None, typer.Argument(
    metavar="[POSTGRESQL_URL]", show_default=False,
    help="postgresql://user:password@host:port/database of an empty database. Default: store.url (e.g. from "
         "CURATOR_STORE__URL, which keeps the password off the command line).")]


@app.command("migrate-to")
def migrate_to(url: UrlArg = None, home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Copy this workspace's SQLite store (store.path) into an empty Postgres database, ids and all; verify
    the row count of every table and print them. Exits non-zero if any count differs."""
    from curator.runlock import RunLock
    from curator.store import Store
    from curator.store.copy import copy_store
    from curator.store.dialect import is_postgres_url

    with cli_errors():
        settings = workspace_settings(home)
        target_url = url or settings.store.url
        if not target_url or not is_postgres_url(target_url):
            raise ConfigError("curator store migrate-to: give the target as postgresql://user:password@host/db "
                              "(or set store.url / CURATOR_STORE__URL)")
        if not settings.db_path.exists():
            raise StoreError(f"there is no SQLite store at {settings.db_path} to copy (store.path); run "
                             "`curator collect` first, or point --home at the workspace")
        # The file's run lock: no run writes to the file while it is copied.
        with RunLock(settings.lock_path, "store migrate-to"), Store(settings.db_path) as source, \
                Store(target_url) as target:
            report = copy_store(source, target)
            shown = target.location
    rows: list[dict[str, Any]] = [{"table": t.table, "sqlite": t.source, "postgres": t.target, "ok": t.ok} for t in report.tables]
    if as_json:
        typer.echo(json.dumps({"target": shown, "ok": report.ok, "tables": rows, "skipped": report.skipped},
                              ensure_ascii=False, indent=2))
    else:
        width = max(len(r["table"]) for r in rows)
        typer.echo(f"copied {settings.db_path} -> {shown}")
        for r in rows:
            mark = "ok" if r["ok"] else "MISMATCH"
            typer.echo(f"  {r['table']:<{width}}  {r['sqlite']:>7} -> {r['postgres']:>7}  {mark}")
        for name in report.skipped:
            typer.echo(f"  {name}: skipped (a SQLite virtual table or its shadow: derived, not data)")
        if report.ok:
            typer.echo("every table's count matches; to use it, set store.url (or CURATOR_STORE__URL) to this URL")
    if not report.ok:
        bad = ", ".join(r["table"] for r in rows if not r["ok"])
        typer.echo(f"curator: error: row counts differ after the copy ({bad}); the Postgres copy is incomplete — "
                   "drop that database and run migrate-to again into an empty one", err=True)
        raise typer.Exit(StoreError.exit_code)
