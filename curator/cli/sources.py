"""`curator sources …`: add a source by its homepage, OPML import/export, and a health table.

New sources are appended to `config/sources.toml` as `[[sources]]` tables; the rest of the file (comments,
order, formatting) is never rewritten. The new file is validated with the full configuration before it
replaces the old one, so a failed add leaves the config as it was.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from curator.cli.output import table_lines
from curator.cli.workspace import HomeOpt, JsonOpt, cli_errors, find_home, workspace
from curator.errors import CuratorError, UsageError

if TYPE_CHECKING:  # settings, store and the source kinds load when a subcommand runs, not for --help
    from curator.settings import Settings, SourceSettings

app = typer.Typer(
    rich_markup_mode=None,
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
    return replace_validated(home, target, old + sep + toml_tables(tables))


def replace_validated(home: Path, target: Path, text: str) -> Path:
    """Write `text` as the config file `target` once the whole config with it validates (else unchanged)."""
    from curator.settings import load_settings
    from curator.sources import known_kinds

    cfg_dir = target.parent
    tmp = target.with_name(target.name + ".tmp")  # not *.toml, so never read as config meanwhile
    tmp.write_text(text, encoding="utf-8")
    files = sorted(set(cfg_dir.glob("*.toml")) | {target})
    try:
        load_settings(home, env=os.environ, config_files=[tmp if f == target else f for f in files], kinds=known_kinds())
    except CuratorError:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)
    return target


_HEADER = re.compile(r"^\s*\[")


def source_block(text: str, name: str) -> tuple[int, int] | None:
    """The lines [start, end) of the `[[sources]]` table named `name` in a TOML file's text."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.strip().startswith("[[sources]]")]
    for start in starts:
        end = next((j for j in range(start + 1, len(lines)) if _HEADER.match(lines[j])), len(lines))
        try:
            table = tomllib.loads("".join(lines[start:end]))["sources"][0]
        except (tomllib.TOMLDecodeError, KeyError, IndexError):
            continue
        if table.get("name") == name:
            while end > start + 1 and not lines[end - 1].strip():  # the blank lines belong to the next table
                end -= 1
            return start, end
    return None


def _find_source(home: Path, name: str) -> tuple[Path, str, tuple[int, int]]:
    cfg_dir = home / "config"
    for path in sorted(cfg_dir.glob("*.toml")) if cfg_dir.is_dir() else []:
        text = path.read_text(encoding="utf-8")
        if (block := source_block(text, name)) is not None:
            return path, text, block
    raise UsageError(f"no source named '{name}' in {cfg_dir}/*.toml; `curator sources list` shows the names",
                     reason="unknown_source")


def edit_source(home: Path, name: str, *, remove: bool = False, enabled: bool | None = None) -> Path:
    """Remove the source `name`, or set its `enabled`, in the file that defines it (the rest untouched)."""
    path, text, (start, end) = _find_source(home, name)
    lines = text.splitlines(keepends=True)
    if remove:
        while end < len(lines) and not lines[end].strip():
            end += 1
        del lines[start:end]
    elif enabled is not None:
        block = [ln for ln in lines[start:end] if not re.match(r"^\s*enabled\s*=", ln)]
        if not block[-1].endswith("\n"):
            block[-1] += "\n"
        lines[start:end] = [*block, f"enabled = {toml_value(enabled)}\n"]
    return replace_validated(home, path, "".join(lines))


def _same_url(a: str, b: str) -> bool:
    from curator.urls import canonical_url

    try:
        return canonical_url(a) == canonical_url(b)
    except ValueError:
        return a == b


def _duplicate(settings: Settings, name: str | None, url: str) -> SourceSettings | None:
    return next((s for s in settings.sources if s.name == name or _same_url(s.url, url)), None)


def _refuse_duplicate(settings: Settings, name: str | None, url: str) -> None:
    from curator.urls import redact

    if (dup := _duplicate(settings, name, url)) is not None:
        typer.echo(f"already configured as '{dup.name}' ({redact(dup.url)}); nothing added.", err=True)
        raise typer.Exit(1)


async def _discover(settings: Settings, url: str) -> str:
    # Candidate feeds are parsed in the bounded parser pool (memory cap, deadline), as in `collect`.
    from curator.http import Fetcher  # network and parsing stacks: imported by the commands that use them
    from curator.sources.discovery import discover_feed
    from curator.workers import ParsePool

    with ParsePool(settings.extract) as pool:
        async with Fetcher(settings.fetch) as fetcher:
            return await discover_feed(fetcher, url, pool.run)


async def _probe_watch(settings: Settings, src: SourceSettings) -> str:
    """Read a watched page again, now, and say what it yields (or why it yields nothing)."""
    from curator.http import Fetcher
    from curator.models import Validators
    from curator.sources import SourceContext, build_source
    from curator.urls import redact

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
        str, typer.Argument(metavar="URL", help="A site's homepage or its feed URL (for other kinds: the API URL).")
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
    as_json: JsonOpt = False,
) -> None:
    """Find the site's feed and append it to config/sources.toml (refuses a name or URL already there)."""
    from curator.settings import SourceSettings
    from curator.sources import build_source
    from curator.sources.discovery import source_table
    from curator.urls import check_user_url, domain, redact

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
        import asyncio  # not at start-up: `curator --help` stays light

        feed_url = asyncio.run(_discover(settings, url)) if kind in FEED_KINDS else url
        extra: dict[str, Any] = {"weight": weight} if weight is not None else {}
        source = SourceSettings(
            name=name or domain(feed_url), kind=kind, url=feed_url, section=section, **extra
        )
        _refuse_duplicate(settings, source.name, feed_url)
        path = append_sources(ws.settings.home, [source_table(source)])
    if as_json:
        typer.echo(json.dumps({"added": {**source_table(source), "url": redact(source.url)}, "file": str(path)},
                              ensure_ascii=False, indent=2))
        return
    typer.echo(f"added '{source.name}' ({source.kind}) {redact(source.url)} to {path}")


@app.command("import-opml")
def import_opml(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="An OPML file exported by a feed reader (or by export-opml).")],
    home: HomeOpt = None,
) -> None:
    """Append the OPML file's feeds to config/sources.toml, skipping URLs already configured."""
    from curator.sources.discovery import parse_opml

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
        Path | None, typer.Option("--out", metavar="FILE", help="Write to this file instead of standard output.")
    ] = None,
) -> None:
    """Write the configured sources as OPML 2.0 (curator fields kept as curator* attributes)."""
    from curator.sources.discovery import to_opml

    with workspace(home, store=False, must_exist=False) as ws:
        settings = ws.settings
    text = to_opml(settings.sources, title=f"{settings.publication.name} sources")
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {len(settings.sources)} source(s) to {out}")


@app.command()
def check(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Source health from the store: last success, failures in a row, last error, items found."""
    from curator.cli.rules_view import rules_lines, rules_report
    from curator.models import SourceHealth
    from curator.report import FLAG_AFTER_FAILURES, source_flag
    from curator.store import Store

    # long because: one report in two shapes (text and --json): health, rules, and what each rule did
    with workspace(home, store=False, must_exist=False) as ws:
        settings = ws.settings
        rows, tallies = [], []
        # A workspace that never ran has no store file, and gets none from `check` (a Postgres store is shared).
        if settings.store.url or settings.db_path.exists():
            with Store(settings.store_target) as store:
                rows = [r.model_dump() for r in store.source_health()]
                tallies = store.rule_tallies()
    ruled = rules_report(settings, tallies)
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
    if as_json:
        keys = ["name", "kind", "last_ok", "failures", "last_error", "items", "note"]
        out: list[dict[str, Any]] = [dict(zip(keys, row, strict=True)) for row in table[1:]]
        for entry in out:
            entry["rules"] = next((r for r in ruled if r["source"] == entry["name"]), None)
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    for line in [*table_lines(table), *rules_lines(ruled)]:
        typer.echo(line)
    import asyncio

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


NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The source's name (as `sources list` shows it).")]


@app.command("list")
def list_sources(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """The configured sources: name, kind, URL (secrets redacted), weight, section, enabled."""
    from curator.sources.discovery import source_table
    from curator.urls import redact

    with workspace(home, store=False, must_exist=False) as ws:
        sources = ws.settings.sources
    rows = [{**source_table(s), "url": redact(s.url), "weight": s.weight, "enabled": s.enabled} for s in sources]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = [["name", "kind", "url", "weight", "section", ""]] + [
        [s.name, s.kind, redact(s.url), f"{s.weight:g}", s.section or "-", "" if s.enabled else "(disabled)"]
        for s in sources
    ]
    for line in table_lines(table):
        typer.echo(line)
    typer.echo(f"{len(sources)} source(s)")


@app.command()
def remove(name: NameArg, home: HomeOpt = None) -> None:
    """Delete the source's [[sources]] table from its config file (the rest of the file untouched)."""
    with cli_errors():
        path = edit_source(find_home(home), name, remove=True)
    typer.echo(f"removed '{name}' from {path}; its items stay in the store, it leaves `status` and `sources check`")


@app.command()
def disable(name: NameArg, home: HomeOpt = None,
            enable: Annotated[bool, typer.Option("--enable", help="Turn it back on instead.")] = False) -> None:
    """Stop collecting from a source but keep it configured (`enabled = false`); --enable turns it back on."""
    with cli_errors():
        path = edit_source(find_home(home), name, enabled=enable)
    typer.echo(f"{'enabled' if enable else 'disabled'} '{name}' in {path}")
