"""`curator sources …`: add a source by its homepage, OPML import/export, and a health table.

New sources are appended to `config/sources.toml` as `[[sources]]` tables; the rest of the file (comments,
order, formatting) is never rewritten. The new file is validated with the full configuration before it
replaces the old one, so a failed add leaves the config as it was.
"""

from __future__ import annotations

import asyncio
import os
import unicodedata
from pathlib import Path
from typing import Annotated, Any

import typer

from curator.cli.workspace import HomeOpt, cli_errors, workspace
from curator.errors import CuratorError, UsageError
from curator.http import Fetcher
from curator.models import SourceHealth, Validators
from curator.report import FLAG_AFTER_FAILURES, source_flag
from curator.settings import Settings, SourceSettings, load_settings
from curator.sources import SourceContext, build_source, known_kinds
from curator.sources.discovery import discover_feed, parse_opml, source_table, to_opml
from curator.store import Store
from curator.urls import canonical_url, check_user_url, domain, redact
from curator.workers import ParsePool

app = typer.Typer(
    help="Manage sources: add one by its homepage (finds the feed), import/export OPML, check their health.",
    no_args_is_help=True,
    add_completion=False,
)

FEED_KINDS = {"rss", "atom", "feed", "jsonfeed", "json_feed"}  # kinds whose URL is found by feed discovery
SOURCES_FILE = "sources.toml"


# -- TOML appending --------------------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    out = []
    for ch in str(value):
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_tables(tables: list[dict[str, Any]]) -> str:
    chunks = []
    for table in tables:
        lines = ["[[sources]]"] + [
            f"{key} = {toml_value(value)}" for key, value in table.items() if value is not None
        ]
        chunks.append("\n".join(lines) + "\n")
    return "\n".join(chunks)


def append_sources(home: Path, tables: list[dict[str, Any]]) -> Path:
    """Append `[[sources]]` tables to config/sources.toml; validate the whole config before replacing it."""
    cfg_dir = home / "config"
    cfg_dir.mkdir(parents=True, exist_ok=True)
    target = cfg_dir / SOURCES_FILE
    old = target.read_text(encoding="utf-8") if target.exists() else ""
    sep = "" if not old else ("\n" if old.endswith("\n") else "\n\n")
    tmp = target.with_name(SOURCES_FILE + ".tmp")  # not *.toml, so never read as config meanwhile
    tmp.write_text(old + sep + toml_tables(tables), encoding="utf-8")
    files = sorted(set(cfg_dir.glob("*.toml")) | {target})
    try:
        load_settings(home, env=os.environ, config_files=[tmp if f == target else f for f in files], kinds=known_kinds())
    except CuratorError:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)
    return target


def _same_url(a: str, b: str) -> bool:
    try:
        return canonical_url(a) == canonical_url(b)
    except ValueError:
        return a == b


def _duplicate(settings: Settings, name: str | None, url: str) -> SourceSettings | None:
    return next((s for s in settings.sources if s.name == name or _same_url(s.url, url)), None)


def _refuse_duplicate(settings: Settings, name: str | None, url: str) -> None:
    if (dup := _duplicate(settings, name, url)) is not None:
        typer.echo(f"already configured as '{dup.name}' ({redact(dup.url)}); nothing added.", err=True)
        raise typer.Exit(1)


async def _discover(settings: Settings, url: str) -> str:
    # Candidate feeds are parsed in the bounded parser pool (memory cap, deadline), as in `collect`.
    with ParsePool(settings.extract) as pool:
        async with Fetcher(settings.fetch) as fetcher:
            return await discover_feed(fetcher, url, pool.run)


async def _probe_watch(settings: Settings, src: SourceSettings) -> str:
    """Read a watched page again, now, and say what it yields (or why it yields nothing)."""
    async with Fetcher(settings.fetch) as fetcher:
        try:
            result = await build_source(src).discover(
                SourceContext(fetcher=fetcher, validators=Validators(), now=settings.now())
            )
        except CuratorError as exc:
            exc.url = redact(exc.url) if exc.url else None  # a watched URL's query may carry a token
            return str(exc)
    return f"the page now yields {len(result.candidates)} dated entries; the next run will collect them"


# -- commands ---------------------------------------------------------------------------------------------


@app.command()
def add(
    url: Annotated[
        str, typer.Argument(help="A site's homepage or its feed URL (for other kinds: the API URL).")
    ],
    home: HomeOpt = None,
    name: Annotated[str | None, typer.Option(help="Source name (default: the site's domain).")] = None,
    section: Annotated[str | None, typer.Option(help="Section id its items lean towards.")] = None,
    weight: Annotated[
        float | None, typer.Option(min=0.0, max=10.0, help="Scoring weight 0-10 (default 1).")
    ] = None,
    kind: Annotated[
        str, typer.Option(help="Source kind: rss (feed discovery), hn, github_releases, arxiv, watch …")
    ] = "rss",
) -> None:
    """Find the site's feed and append it to config/sources.toml (refuses a name or URL already there)."""
    with cli_errors():  # a URL that is not a web page is refused before the config is read
        try:
            url = check_user_url(url)
        except ValueError as exc:
            raise UsageError(f"cannot add this source: {exc}", reason="bad_url") from None
    with workspace(home, store=False, must_exist=False) as ws:
        settings = ws.settings
        _refuse_duplicate(settings, name, url)
        build_source(
            SourceSettings(name="-", kind=kind, url=url)
        )  # unknown kind: ConfigError listing the known
        feed_url = asyncio.run(_discover(settings, url)) if kind in FEED_KINDS else url
        extra: dict[str, Any] = {"weight": weight} if weight is not None else {}
        source = SourceSettings(
            name=name or domain(feed_url), kind=kind, url=feed_url, section=section, **extra
        )
        _refuse_duplicate(settings, source.name, feed_url)
        path = append_sources(ws.settings.home, [source_table(source)])
    typer.echo(f"added '{source.name}' ({source.kind}) {redact(source.url)} to {path}")


@app.command("import-opml")
def import_opml(
    file: Annotated[Path, typer.Argument(help="An OPML file exported by a feed reader (or by export-opml).")],
    home: HomeOpt = None,
) -> None:
    """Append the OPML file's feeds to config/sources.toml, skipping URLs already configured."""
    with workspace(home, store=False, must_exist=False) as ws:
        settings = ws.settings
        try:
            data = file.read_bytes()
        except OSError as exc:
            typer.echo(f"curator: error: cannot read {file}: {exc.strerror}", err=True)
            raise typer.Exit(66) from None  # EX_NOINPUT
        names = {s.name for s in settings.sources}
        new: list[dict[str, Any]] = []
        skipped = 0
        for table in parse_opml(data):
            if any(_same_url(s.url, table["url"]) for s in settings.sources) or any(
                _same_url(t["url"], table["url"]) for t in new
            ):
                skipped += 1
                continue
            base, n = table["name"], 2
            while table["name"] in names:
                table["name"], n = f"{base} ({n})", n + 1
            names.add(table["name"])
            new.append(table)
        if new:
            append_sources(ws.settings.home, new)
    typer.echo(f"imported {len(new)} source(s); skipped {skipped} already configured.")


@app.command("export-opml")
def export_opml(
    home: HomeOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of standard output.")
    ] = None,
) -> None:
    """Write the configured sources as OPML 2.0 (curator fields kept as curator* attributes)."""
    with workspace(home, store=False, must_exist=False) as ws:
        settings = ws.settings
    text = to_opml(settings.sources, title=f"{settings.publication.name} sources")
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {len(settings.sources)} source(s) to {out}")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


@app.command()
def check(home: HomeOpt = None) -> None:
    """Source health from the store: last success, failures in a row, last error, items found."""
    with workspace(home, store=False, must_exist=False) as ws:
        settings = ws.settings
        rows = []
        if settings.db_path.exists():  # a workspace that never ran has no store, and gets none from `check`
            with Store(settings.db_path) as store:
                rows = [r.model_dump() for r in store.source_health()]
    configured = {s.name: s for s in settings.sources}
    seen = {r["name"] for r in rows}
    table = [["name", "kind", "last ok", "failures", "last error", "items", ""]]
    flagged = empty = 0
    for r in rows:
        flag = source_flag(SourceHealth.model_validate(r))
        failing = r["consecutive_failures"] >= FLAG_AFTER_FAILURES
        flagged += failing
        empty += flag is not None and not failing
        short = "⚠ failing" if failing else f"⚠ {flag}"
        note = short if flag else ("" if r["name"] in configured else "(no longer configured)")
        table.append(
            [
                r["name"],
                r["kind"],
                (r["last_ok_at"] or "never")[:19],
                str(r["consecutive_failures"]),
                r["last_error"] or "-",
                str(r["items_total"]),
                note,
            ]
        )
    for name, src in configured.items():
        if name not in seen:
            table.append(
                [name, src.kind, "never", "0", "-", "0", "(not run yet)" if src.enabled else "(disabled)"]
            )
    for line in _table(table):
        typer.echo(line)
    for r in rows:  # a source (a watched page) that showed no entries: say what was looked for and what is there now
        watched = configured.get(r["name"])
        if watched is not None and watched.enabled and r["last_error"] == "no_entries":
            typer.echo(f"{watched.name}: {asyncio.run(_probe_watch(settings, watched))}")
    if flagged:
        typer.echo(
            f"{flagged} source(s) failed {FLAG_AFTER_FAILURES}+ runs in a row: "
            "check their URLs or remove them."
        )
    if empty:
        typer.echo(f"{empty} source(s) answered with 0 items {FLAG_AFTER_FAILURES}+ runs in a row: "
                   "check that their URL still lists entries (a moved feed, a page that changed shape).")
