"""`curator notify test`: send a sample of each event to every configured webhook; non-zero if any failed."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from curator.cli.workspace import HomeOpt, JsonOpt, workspace
from curator.errors import UsageError

if TYPE_CHECKING:
    from curator.models import RunSummary
    from curator.settings import Settings
    from curator.store import Store

app = typer.Typer(help="Webhooks that tell you when a draft is ready or a run needs you ([[notify.webhooks]]).",
                  no_args_is_help=True)


@app.command("test")
def notify_test(
    home: HomeOpt = None,
    event: Annotated[list[str] | None, typer.Option("--event", "-e", metavar="EVENT",
                                                    help="Event to send a sample of (repeat; default: every event): "
                                                         "draft_ready, run_degraded, run_failed, source_failing, "
                                                         "budget_nearly_spent.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Send a sample message to each configured webhook, and exit 1 if any of them failed."""
    from curator.notify.config import EVENT_NAMES
    from curator.notify.notifier import Notifier

    with workspace(home) as ws:
        chosen = [n.strip() for e in event or [] for n in e.split(",") if n.strip()] or list(EVENT_NAMES)
        if unknown := sorted(set(chosen) - set(EVENT_NAMES)):
            raise UsageError(f"unknown event {', '.join(unknown)}; known events: {', '.join(EVENT_NAMES)}")
        if not ws.settings.notify.webhooks:
            raise UsageError("no webhook is configured: add a [[notify.webhooks]] entry to config/curator.toml "
                             "(kind, url_env) and export the URL in that environment variable")
        outcomes = Notifier(ws.settings, ws.store).test([n for n in EVENT_NAMES if n in chosen])
    failed = [o for o in outcomes if not o.ok]
    if as_json:
        typer.echo(json.dumps([{"hook": o.hook, "host": o.host, "event": o.event, "ok": o.ok, "detail": o.detail}
                               for o in outcomes], ensure_ascii=False, indent=2))
    else:
        for o in outcomes:
            typer.echo(f"  {'ok    ' if o.ok else 'FAILED'} {o.hook} ({o.host}) {o.event}: {o.detail}")
        typer.echo(f"notify test: {len(outcomes) - len(failed)} delivered, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


def notify_draft(settings: Settings, store: Store, run: RunSummary) -> None:
    """After `draft` wrote its file: draft_ready, with the draft's lint counts and top findings."""
    if not settings.notify.webhooks or run.draft_path is None:
        return
    from curator.cli.lintcmd import lint_findings, read_draft
    from curator.notify.notifier import Notifier

    text = read_draft(run.draft_path)
    findings = lint_findings(settings, run.draft_path, text) if text is not None else []
    Notifier(settings, store).after_draft(run, findings)


def webhook_status(store: Store) -> list[str]:
    """`status` lines for hooks whose latest delivery failed: "webhook slack (hooks.slack.com) failed: …"
    (read from the store only: `status` imports no HTTP client)."""
    return [f"webhook {d.hook} ({d.host}) failed: {d.detail} at {d.at} (event {d.event}"
            + (f", run #{d.run_id})" if d.run_id is not None else ")")
            for d in store.latest_deliveries() if not d.ok]
