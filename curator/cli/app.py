"""The `curator` typer app: the commands registered in the order `curator --help` lists them.

Exit codes: 0 ok · 1 unexpected error · 2 usage · 3 done in part (`add`: the link was kept as a candidate
but its page could not be fetched) · 65 the edited draft cannot be read back · 66 `draft` found fewer
stories than drafts.min_stories (nothing written; --allow-empty) · 74 store unusable · 75 another run holds
the lock · 78 bad configuration or no workspace (before any network I/O) · 143 stopped by SIGTERM or the
run deadline (resumable).
"""

from __future__ import annotations

from typing import Annotated

import typer

from curator.cli.commands import add, archive_app, collect, demo, draft, init, lint, publish, review, status
from curator.cli.sources import app as sources_app
from curator.cli.workspace import setup_logging

app = typer.Typer(
    help="curator: collect a week of links, clean and summarise them, and draft a tech weekly for review.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals can hold secrets
    add_completion=False,
)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    setup_logging(verbose)


app.command()(init)
app.command()(collect)
app.command()(add)
app.command()(draft)
app.add_typer(archive_app, name="archive")
app.command()(publish)
app.command()(lint)
app.command()(status)
app.command()(review)
app.command()(demo)
app.add_typer(sources_app, name="sources")


def main() -> None:
    app()
