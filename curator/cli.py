"""The `curator` command line: a thin veneer over the library (each command a few lines).

Exit codes: 0 ok · 1 unexpected error · 2 usage · 74 store unusable · 75 another run holds the lock ·
78 bad configuration (before any network I/O) · 3 done in part (`add`: the link was kept as a candidate
but its page could not be fetched) · 143 stopped by SIGTERM or the run deadline (resumable).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from curator.errors import ConfigError, CuratorError
from curator.models import Candidate
from curator.pipeline import Pipeline, RunResult, vet_find_url
from curator.progress import Reporter
from curator.runlock import RunLock
from curator.settings import Settings, defaults_dir, describe_origins, load_settings, require_llm_key
from curator.store import Store
from curator.urls import RedactingFilter

log = logging.getLogger("curator.cli")

app = typer.Typer(
    help="curator: collect a week of links, clean and summarise them, and draft a tech weekly for review.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals can hold secrets
    add_completion=False,
)

HomeOpt = Annotated[
    Path, typer.Option("--home", envvar="CURATOR_HOME", help="Workspace folder holding config/, prompts/, data/, drafts/.")
]
ProviderOpt = Annotated[
    str | None, typer.Option("--provider", help="Enrichment backend: auto, openai or offline (overrides llm.provider).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the run summary as JSON (for machines).")]


def _setup_logging(verbose: bool) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S"))
    handler.addFilter(RedactingFilter())  # no password or query token of any URL reaches the log
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("curator").setLevel(level)
    for noisy in ("httpx", "httpcore", "httpx2", "httpcore2", "openai", "trafilatura", "htmldate", "jieba", "charset_normalizer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


_state: dict[str, Any] = {"verbose": False}


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    _state["verbose"] = verbose
    _setup_logging(verbose)


def _settings(home: Path, **flags: Any) -> Settings:
    # A mistyped --home must not become a fresh, empty workspace whose run of no sources says `ok`.
    if home.exists() and not home.is_dir():
        raise ConfigError(f"--home {home}: is a file, not a folder; give the publication's folder")
    if not home.exists():
        raise ConfigError(f"--home {home}: no such folder; create it with `curator init --home {home}`")
    overrides: dict[str, dict[str, Any]] = {}
    if flags.get("provider"):
        overrides["llm"] = {"provider": flags["provider"]}
    return load_settings(home, env=os.environ, overrides=overrides)


def _fail(exc: CuratorError) -> None:
    typer.echo(f"curator: error: {exc}", err=True)
    raise typer.Exit(exc.exit_code)


def print_summary(run: RunResult, *, as_json: bool = False) -> None:
    if as_json:
        typer.echo(json.dumps({
            "run_id": run.run_id, "status": run.status, "counters": dict(sorted(run.counters.items())),
            "notes": run.notes, "draft": str(run.draft_path) if run.draft_path else None,
        }, ensure_ascii=False, indent=2))
        return
    typer.echo(f"run #{run.run_id}: {run.status}")
    stages: dict[str, list[str]] = {}
    for key, n in sorted(run.counters.items()):
        stage, _, outcome = key.partition("/")
        stages.setdefault(stage, []).append(f"{outcome}={n}")
    for stage, parts in stages.items():
        typer.echo(f"  {stage:<9} {'  '.join(parts)}")
    for note in run.notes:
        typer.echo(f"  note: {note}")


@app.command()
def init(home: HomeOpt = Path(".")) -> None:
    """Scaffold config/ and prompts/ for a publication (existing files are never overwritten)."""
    src = defaults_dir()
    created = []
    for sub in ("config", "prompts"):
        for f in sorted((src / sub).glob("*")):
            dest = home / sub / f.name
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, dest)
                created.append(str(dest))
    for sub in ("data", "drafts"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    gitignore = home / ".gitignore"  # the workspace is the editor's git repository: drafts/ tracked, data/ not
    if not gitignore.exists():
        shutil.copyfile(Path(__file__).parent / "_workspace" / "gitignore", gitignore)
        created.append(str(gitignore))
    for path in created:
        typer.echo(f"created {path}")
    typer.echo("edit config/curator.toml (publication, sections) and config/sources.toml, then run `curator collect`.")


@app.command()
def collect(home: HomeOpt = Path("."), provider: ProviderOpt = None, as_json: JsonOpt = False) -> None:
    """Discover new links from every source, fetch, extract and enrich them (idempotent, resumable).

    One run at a time (a second exits with 75). SIGTERM stops taking work, lets what is in flight
    finish, marks the run interrupted and exits 143; the next run resumes where it stopped.
    """
    try:
        settings = _settings(home, provider=provider)
        with RunLock(settings.lock_path, "collect"), Store(settings.db_path) as store:
            pipe = Pipeline(settings, store, Reporter(quiet=as_json))
            with _stop_on_sigterm(pipe):
                run = pipe.collect()
    except CuratorError as exc:
        _fail(exc)
    print_summary(run, as_json=as_json)


@contextmanager
def _stop_on_sigterm(pipe: Pipeline) -> Iterator[None]:
    def handler(signum: int, frame: object) -> None:
        log.warning("SIGTERM: finishing what is in flight, taking no new work")
        pipe.stop("SIGTERM")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@app.command()
def add(
    url: Annotated[str, typer.Argument(help="The page to add (the editor's find or a reader submission).")],
    home: HomeOpt = Path("."),
    title: Annotated[str, typer.Option(help="Title to use if the page has none or cannot be fetched.")] = "",
    note: Annotated[str, typer.Option(help="Your summary, used if the page cannot be fetched (403, WeChat …).")] = "",
    submitter: Annotated[str | None, typer.Option(help="Credit a reader submission to this login.")] = None,
    process: Annotated[bool, typer.Option(help="Fetch, extract and enrich it now.")] = True,
    provider: ProviderOpt = None,
) -> None:
    """Add one URL to the pool of candidates."""
    try:
        settings = _settings(home, provider=provider)
        vet_find_url(url)  # before the store is opened: a bad URL leaves no database file behind
        if process:
            require_llm_key(settings)  # before anything is stored or fetched
        with RunLock(settings.lock_path, "add"), Store(settings.db_path) as store:
            pipe = Pipeline(settings, store, Reporter())
            item_id, is_new = pipe.add_candidate(Candidate(url=url, title=title, snippet=note, source="manual",
                                                           submitter=submitter))
            typer.echo(f"{'added' if is_new else 'already known'}: item {item_id}")
            if not is_new and process and pipe.retry_stand_in(item_id):
                typer.echo(f"item {item_id}'s page could not be fetched last time: trying again")
                is_new = True
            run = pipe.collect(discover=False, command="add") if process and is_new else None
    except CuratorError as exc:
        _fail(exc)
    if run is not None:
        print_summary(run)
        if run.status != "ok":  # kept as a flagged candidate, but not what was asked: say so in the exit code
            raise typer.Exit(3)


@app.command()
def draft(
    home: HomeOpt = Path("."),
    date: Annotated[str | None, typer.Option(help="Issue date YYYY-MM-DD; the window ends here. Default: the open draft's date, else "
                                                  "today (or run.now / CURATOR_RUN__NOW when pinned).")] = None,
    number: Annotated[int | None, typer.Option(min=1, max=1_000_000, help="Issue number (default: the open draft or the next one).")] = None,
    as_json: JsonOpt = False,
    force: Annotated[bool, typer.Option("--force", help="Regenerate even when the editor's edits in the file cannot be "
                                        "read back; the edited file is kept as issue-N.edited-<n>.md.")] = False,
) -> None:
    """Select the week's best stories and write drafts/issue-N.md for review (the editor's edits are read back)."""
    try:
        settings = _settings(home)
        as_of = _parse_date(date)
        with RunLock(settings.lock_path, "draft"), Store(settings.db_path) as store:
            run = Pipeline(settings, store).draft(as_of=as_of, number=number, force=force)
    except CuratorError as exc:
        _fail(exc)
    print_summary(run, as_json=as_json)
    if not as_json and run.draft_path:
        typer.echo(f"draft written: {run.draft_path}")
        _lint_file(settings, run.draft_path)
    if run.status != "ok":  # written, but not all that was asked (section prose fell back): say so in the exit code
        raise typer.Exit(3)


archive_app = typer.Typer(help="The archive of past issues: links that already ran are never proposed again.",
                          no_args_is_help=True)
app.add_typer(archive_app, name="archive")


@archive_app.command("import")
def archive_import(
    directory: Annotated[Path, typer.Argument(help="Folder of past issues (Markdown, e.g. docs/issue-*.md).")],
    home: HomeOpt = Path("."),
) -> None:
    """Read past published issues (footnote or list style) and remember their links and titles."""
    from curator import archive

    try:
        settings = _settings(home)
        with RunLock(settings.lock_path, "archive"), Store(settings.db_path) as store:
            report = archive.import_archive(store, directory)
    except CuratorError as exc:
        _fail(exc)
    for path, number, links in report.read:
        typer.echo(f"  read     {path} ({f'#{number}, ' if number is not None else ''}{links} links)")
    for path, why in report.skipped:
        typer.echo(f"  skipped  {path}: {why}")
    typer.echo(f"archive: {len(report.read)} issues read, {report.links_added} new links remembered, "
               f"{len(report.skipped)} files skipped")


@app.command()
def publish(
    file: Annotated[Path, typer.Argument(help="The edited draft (drafts/issue-N.md) as you published it.")],
    home: HomeOpt = Path("."),
) -> None:
    """Record what was published: kept / dropped / edited / added stories, the archive, learned weights."""
    from curator import publish as publishing

    try:
        settings = _settings(home)
        with RunLock(settings.lock_path, "publish"), Store(settings.db_path) as store:
            result = publishing.publish(settings, store, file)
    except CuratorError as exc:
        _fail(exc)
    typer.echo(f"published #{result.number}: kept {len(result.kept)}, edited {len(result.edited)}, "
               f"dropped {len(result.dropped)}, added by hand {len(result.added)}; "
               f"{result.archived_links} links archived")


@app.command()
def lint(
    file: Annotated[Path, typer.Argument(help="A draft to check.")],
    home: HomeOpt = Path("."),
    window_days: Annotated[int | None, typer.Option(min=0, max=36_500, help="Flag items older than this many days.")] = None,
    check_links: Annotated[bool, typer.Option("--check-links", help="Also fetch every link (network).")] = False,
) -> None:
    """Report problems in a draft with line numbers; exits 1 when any error is found."""
    try:
        settings = _settings(home)
    except CuratorError as exc:
        _fail(exc)
    findings = _lint_file(settings, file, window_days, check_links=check_links)
    if findings is None:
        raise typer.Exit(1)
    raise typer.Exit(1 if any(f.severity == "error" for f in findings) else 0)


def _lint_file(settings: Settings, file: Path, window_days: int | None = None, *,
               check_links: bool = False) -> list[Any] | None:
    from curator.lint import format_findings, lint_markdown, review_links

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        typer.echo(f"curator: error: cannot read {file}: {exc.strerror}", err=True)
        return None
    days = window_days or settings.publication.window_days
    start = _front_matter_date(text)
    findings = lint_markdown(
        text, language=settings.publication.language,
        window_start=(start - timedelta(days=days)) if start else None,
        max_per_domain=settings.drafts.max_per_domain, allowed_links=review_links(file),
    )
    if check_links:
        from curator.linkcheck import check_links as check

        findings = sorted([*findings, *check(text, settings.fetch)], key=lambda f: f.line)
    if findings:
        typer.echo(format_findings(findings, str(file)))
    errors = sum(f.severity == "error" for f in findings)
    typer.echo(f"lint: {errors} errors, {len(findings) - errors} warnings")
    return findings


def _front_matter_date(text: str) -> date | None:
    import re

    m = re.search(r"^date:\s*(\d{4}-\d{2}-\d{2})", text, re.MULTILINE)
    return date.fromisoformat(m.group(1)) if m else None


def _parse_date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(hour=23, minute=59, tzinfo=UTC)
    except ValueError:
        raise typer.BadParameter(f"--date must look like 2026-11-23, got {value!r}") from None


@app.command()
def status(home: HomeOpt = Path("."), as_json: JsonOpt = False) -> None:
    """Recent runs, items per state, source health, LLM usage, and where each setting came from."""
    from curator.report import status_report

    try:
        settings = _settings(home)
        with Store(settings.db_path) as store:
            report = status_report(settings, store)
    except CuratorError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2, default=str))
        return
    from curator.report import print_status

    print_status(report)
    typer.echo("settings (where each came from):")
    for key, origin in describe_origins(settings):
        typer.echo(f"  {key:<28} {origin}")


@app.command()
def review(
    home: HomeOpt = Path("."),
    port: Annotated[int, typer.Option(min=0, max=65_535, help="Port on 127.0.0.1 (0 picks a free one).")] = 0,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open the board in your browser.")] = True,
) -> None:
    """Review the open draft on a local web page: keep, drop, move, swap in, edit, add, regenerate.

    Listens on 127.0.0.1 only; the printed URL carries a random token that every request needs.
    """
    from curator.review.app import serve

    try:
        serve(_settings(home), port=port, open_browser=open_browser, echo=typer.echo)
    except CuratorError as exc:
        _fail(exc)


@app.command()
def demo(
    workspace: Annotated[Path, typer.Option(help="Where the demo keeps its store and draft.")] = Path("demo-workspace"),
    fresh: Annotated[bool, typer.Option(help="Start from an empty workspace instead of reusing the last run.")] = False,
    provider: ProviderOpt = None,
) -> None:
    """Run the whole pipeline on the bundled offline corpus, served on a loopback port."""
    from curator.demo import run_demo

    try:
        run_demo(workspace, fresh=fresh, provider=provider, env=os.environ, echo=typer.echo,
                 print_summary=print_summary)
    except CuratorError as exc:
        _fail(exc)


from curator.sources.cli import app as sources_app

app.add_typer(sources_app, name="sources")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
