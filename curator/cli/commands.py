"""The `curator` commands: each opens its workspace, calls the library, and prints what came of it."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from curator.cli.config import app as config_app
from curator.cli.lintcmd import lint, lint_file, lint_findings, lint_json, read_draft
from curator.cli.notify import notify_draft, webhook_status
from curator.cli.output import origins_json, print_origins, print_status, print_summary
from curator.cli.progress import TerminalReporter
from curator.cli.workspace import (
    HomeOpt,
    JsonOpt,
    ProviderOpt,
    cli_errors,
    stop_on_sigterm,
    workspace,
)
from curator.errors import ConfigError, LLMUnavailable

if TYPE_CHECKING:  # settings and models load when a command runs (pydantic): `curator --help` needs neither
    from curator.pipeline import Pipeline
    from curator.settings import Settings

__all__ = ["add", "archive_app", "collect", "config_app", "demo", "draft", "init", "lint", "publish", "review",
           "status"]


def init(home: HomeOpt = None) -> None:
    """Scaffold config/ and prompts/ for a publication (existing files are never overwritten)."""
    from curator.settings import defaults_dir

    home = home or Path(".")  # `init` makes a workspace, so it needs none
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
        shutil.copyfile(Path(__file__).parents[1] / "_workspace" / "gitignore", gitignore)
        created.append(str(gitignore))
    for path in created:
        typer.echo(f"created {path}")
    typer.echo("edit config/curator.toml (publication, sections) and config/sources.toml, then run `curator collect`.")


def collect(home: HomeOpt = None, provider: ProviderOpt = None, as_json: JsonOpt = False) -> None:
    """Discover new links from every source, fetch, extract and enrich them (idempotent, resumable).

    One run at a time (a second exits with 75). SIGTERM stops taking work, lets what is in flight
    finish, marks the run interrupted and exits 143; the next run resumes where it stopped. An LLM
    endpoint that refuses or cannot be reached ends the run with 69; its items wait for the next run.
    """
    from curator.models import RunSummary

    with workspace(home, "collect", provider=provider, check=True) as ws:  # the one integrity check of a run
        pipe = _engine(ws.settings)(ws.settings, ws.store, TerminalReporter(quiet=as_json))
        with stop_on_sigterm(pipe):
            try:
                run = pipe.collect()
            except LLMUnavailable as exc:
                if isinstance(exc.run, RunSummary):
                    print_summary(exc.run, as_json=as_json)  # what the run did get done, then the one error
                raise
    print_summary(run, as_json=as_json)


def _engine(settings: Settings) -> type[Pipeline]:
    """run.engine: the local pipeline, or the Celery one (only then are Celery and Redis imported)."""
    # The pipeline imports clustering and extraction (numpy, trafilatura): only the commands that run it do.
    from curator.pipeline import Pipeline

    if settings.run.engine == "celery":
        try:
            from curator.engine.coordinator import CeleryPipeline
        except ImportError as exc:
            raise ConfigError(f"run.engine = \"celery\" needs Celery and redis-py ({exc.name} is missing): "
                              "pip install 'curator-weekly[team]', or set run.engine = \"local\"") from None
        return CeleryPipeline
    return Pipeline


def add(
    url: Annotated[str, typer.Argument(metavar="URL", help="The page to add (the editor's find or a reader submission).")],
    home: HomeOpt = None,
    title: Annotated[str, typer.Option(help="Title to use if the page has none or cannot be fetched.")] = "",
    note: Annotated[str, typer.Option(help="Your summary, used if the page cannot be fetched (403, WeChat …).")] = "",
    submitter: Annotated[str | None, typer.Option(help="Credit a reader submission to this login.")] = None,
    process: Annotated[bool, typer.Option(help="Fetch, extract and enrich it now.")] = True,
    provider: ProviderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add one URL to the pool of candidates."""
    from curator.models import Candidate
    from curator.pipeline import vet_find_url
    from curator.settings import require_llm_key

    def before(settings: Settings) -> None:
        vet_find_url(url)  # before the store is opened: a bad URL leaves no database file behind
        if process:
            require_llm_key(settings)  # before anything is stored or fetched

    with workspace(home, "add", provider=provider, before=before) as ws:
        # run.engine = "celery": the find is fetched, extracted and enriched by the workers, as `collect` does
        # (the shared politeness, claims and LLM limits); the local engine needs none of it.
        pipe = _engine(ws.settings)(ws.settings, ws.store, TerminalReporter(quiet=as_json))
        item_id, is_new = pipe.add_candidate(Candidate(url=url, title=title, snippet=note, source="manual",
                                                       submitter=submitter))
        def say(message: str) -> None:
            if not as_json:  # --json: one document on stdout, nothing else
                typer.echo(message)

        say(f"{'added' if is_new else 'already known'}: item {item_id}")
        retried = not is_new and process and pipe.retry_stand_in(item_id)
        if retried:
            say(f"item {item_id}'s page could not be fetched last time: trying again")
        run = pipe.collect(discover=False, command="add") if process and (is_new or retried) else None
    if as_json and run is None:
        typer.echo(json.dumps({"item_id": item_id, "new": is_new, "run_id": None, "status": "ok"}, indent=2))
    elif as_json and run is not None:
        print_summary(run, as_json=True, extra={"item_id": item_id, "new": is_new})
    elif run is not None:
        print_summary(run)
    if run is not None and run.status != "ok":  # kept as a flagged candidate, but not what was asked: say so in the exit code
        raise typer.Exit(3)


def draft(
    home: HomeOpt = None,
    date: Annotated[str | None, typer.Option(help="Issue date YYYY-MM-DD; the window ends here. Default: the open draft's date, else "
                                                  "today (or run.now / CURATOR_RUN__NOW when pinned).")] = None,
    number: Annotated[int | None, typer.Option(min=1, max=1_000_000, help="Issue number (default: the open draft or the next one).")] = None,
    as_json: JsonOpt = False,
    force: Annotated[bool, typer.Option("--force", help="Regenerate even when the editor's edits in the file cannot be "
                                        "read back; the edited file is kept as issue-N.edited-<n>.md.")] = False,
    allow_empty: Annotated[bool, typer.Option("--allow-empty", help="Write the draft even when the window holds fewer "
                                              "stories than drafts.min_stories (otherwise: exit 66, nothing written).")] = False,
) -> None:
    """Select the week's best stories and write drafts/issue-N.md for review (the editor's edits are read back)."""

    def before(settings: Settings) -> None:
        parse_date(date)  # a malformed --date is refused before the lock is taken or the store opened

    from curator.pipeline import Pipeline

    with workspace(home, "draft", before=before) as ws:
        run = Pipeline(ws.settings, ws.store).draft(as_of=parse_date(date), number=number, force=force,
                                                     allow_empty=allow_empty)
        notify_draft(ws.settings, ws.store, run)  # draft_ready with the lint summary, to the webhooks
    if as_json:  # the lint result rides along: one JSON document for the machine that asked
        text = read_draft(run.draft_path) if run.draft_path else None
        found = lint_json(run.draft_path, lint_findings(ws.settings, run.draft_path, text)) \
            if run.draft_path and text is not None else None
        print_summary(run, as_json=True, extra={"lint": found})
    else:
        print_summary(run)
    if not as_json and run.draft_path:
        typer.echo(f"draft written: {run.draft_path}")
        lint_file(ws.settings, run.draft_path)
    if run.status != "ok":  # written, but not all that was asked (section prose fell back): say so in the exit code
        raise typer.Exit(3)


archive_app = typer.Typer(help="The archive of past issues: links that already ran are never proposed again.",
                          no_args_is_help=True)


@archive_app.command("import")
def archive_import(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Folder of past issues (Markdown, e.g. docs/issue-*.md).")],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Read past published issues (footnote or list style) and remember their links and titles."""
    from curator import archive

    with workspace(home, "archive") as ws:
        report = archive.import_archive(ws.store, directory)
    if as_json:
        typer.echo(json.dumps({
            "read": [{"file": str(p), "number": n, "links": k} for p, n, k in report.read],
            "skipped": [{"file": str(p), "why": why} for p, why in report.skipped],
            "links_added": report.links_added,
        }, ensure_ascii=False, indent=2))
        return
    for path, number, links in report.read:
        typer.echo(f"  read     {path} ({f'#{number}, ' if number is not None else ''}{links} links)")
    for path, why in report.skipped:
        typer.echo(f"  skipped  {path}: {why}")
    typer.echo(f"archive: {len(report.read)} issues read, {report.links_added} new links remembered, "
               f"{len(report.skipped)} files skipped")


def publish(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The edited draft (drafts/issue-N.md) as you published it.")],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record what was published (kept / dropped / edited / added stories, the archive, learned weights);
    write the published copy (publication.published_path) and the Atom feed."""
    from curator import publish as publishing

    with workspace(home, "publish") as ws:
        result = publishing.publish(ws.settings, ws.store, file)
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    typer.echo(f"published #{result.number}: kept {len(result.kept)}, edited {len(result.edited)}, "
               f"dropped {len(result.dropped)}, added by hand {len(result.added)}; "
               f"{result.archived_links} links archived")
    typer.echo(f"  wrote {result.published_path}" + (f" and the feed {result.feed_path}" if result.feed_path else ""))


def parse_date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(hour=23, minute=59, tzinfo=UTC)
    except ValueError:
        raise typer.BadParameter(f"--date must look like 2026-11-23, got {value!r}") from None


def status(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Recent runs, items per state, source health, LLM usage, and where each setting came from."""
    from curator.report import status_report

    with workspace(home) as ws:  # no run lock: status reads while a run is going
        report = status_report(ws.settings, ws.store)
        hooks = webhook_status(ws.store)  # "webhook slack (hooks.slack.com) failed: HTTP 500 at …"
    if as_json:
        data = {**report.model_dump(mode="json"), "webhooks": hooks, "settings": origins_json(ws.settings)}
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return
    print_status(report)
    for line in hooks:
        typer.echo(f"⚠ {line}")
    print_origins(ws.settings)


def review(
    home: HomeOpt = None,
    port: Annotated[int, typer.Option(min=0, max=65_535, help="Port on 127.0.0.1 (0 picks a free one).")] = 0,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open the board in your browser.")] = True,
    host: Annotated[str, typer.Option(help="Listen on this address instead of 127.0.0.1 (a LAN, a reverse proxy); "
                                           "needs CURATOR_REVIEW_TOKEN.")] = "127.0.0.1",
    allow_host: Annotated[list[str] | None, typer.Option(help="A host name clients use to reach the board (repeat; "
                                                                "required with --host 0.0.0.0).")] = None,
) -> None:
    """Review the open draft on a local web page: keep, drop, move, swap in, edit, add, regenerate.

    Listens on 127.0.0.1 unless --host says otherwise; the printed URL carries a token that every request
    needs (random, or CURATOR_REVIEW_TOKEN so the bookmarklet and a phone's share shortcut keep working).
    """
    import os

    from curator.review.board import serve
    from curator.review.exposed import TOKEN_ENV, listening

    token = os.environ.get(TOKEN_ENV) or None
    with cli_errors():
        listening(host, token, tuple(allow_host or ()))  # a refusal before the workspace is opened
    with workspace(home, store=False) as ws:  # the board opens its own store, for its lifetime
        serve(ws.settings, port=port, open_browser=open_browser, echo=typer.echo, host=host, token=token,
              allow_hosts=tuple(allow_host or ()))


def demo(
    workspace: Annotated[Path, typer.Option(help="Where the demo keeps its store and draft.")] = Path("demo-workspace"),
    fresh: Annotated[bool, typer.Option(help="Start from an empty workspace instead of reusing the last run.")] = False,
    provider: ProviderOpt = None,
) -> None:
    """Run the whole pipeline on the bundled offline corpus, served on a loopback port."""
    from curator.demo.runner import run_demo

    with cli_errors():  # the demo builds its own workspace (settings pointing at the corpus server)
        run_demo(workspace, fresh=fresh, provider=provider, env=os.environ, echo=typer.echo,
                 print_summary=print_summary, reporter=TerminalReporter())
