"""The `curator` typer app: the commands registered in the order `curator --help` lists them.

Exit codes: 0 ok · 1 unexpected error · 2 usage · 3 done in part (`add`: the link was kept as a candidate
but its page could not be fetched) · 65 the edited draft cannot be read back · 66 `draft` found fewer
stories than drafts.min_stories (nothing written; --allow-empty) · 69 the LLM endpoint refused or is
unreachable (items wait) · 74 store unusable · 75 another run holds the lock · 78 bad configuration or no
workspace (before any network I/O) · 130 stopped by Ctrl-C · 143 stopped by SIGTERM or the run deadline
(both resumable: the run is recorded `interrupted`, what was done is kept).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from curator import __version__
from curator.cli.commands import (
    add,
    archive_app,
    collect,
    config_app,
    demo,
    draft,
    init,
    lint,
    publish,
    review,
    status,
)
from curator.cli.doctor import doctor
from curator.cli.notify import app as notify_app
from curator.cli.search import search
from curator.cli.sources import app as sources_app
from curator.cli.store_cmd import app as store_app
from curator.cli.worker import worker
from curator.cli.workspace import setup_logging

# Flags the root callback owns, accepted anywhere on the line (`curator collect -v` as `curator -v collect`).
_GLOBAL_FLAGS = {"-v", "--verbose", "-q", "--quiet"}
CONTEXT = {"help_option_names": ["-h", "--help"]}


class CuratorGroup(TyperGroup):
    """The root group: global flags hoisted from anywhere in the arguments; Ctrl-C is an exit code."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # Any: typer vendors its own click
        end = args.index("--") if "--" in args else len(args)
        hoisted = [a for a in args[:end] if a in _GLOBAL_FLAGS]
        rest = [a for a in args[:end] if a not in _GLOBAL_FLAGS] + args[end:]
        return super().parse_args(ctx, hoisted + rest)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # a run in progress was recorded `interrupted` on the way out
            typer.echo("curator: interrupted", err=True)
            raise typer.Exit(130) from None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"curator {__version__}")
        raise typer.Exit()


def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging (anywhere on the line).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Warnings and errors only (anywhere on the line).")] = False,
    version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                          help="Print curator's version and exit.")] = False,
) -> None:
    setup_logging(verbose, quiet=quiet)


# The commands, in the order `curator --help` lists them: a function, or a sub-app of its own commands.
COMMANDS: tuple[tuple[str, Callable[..., None] | typer.Typer], ...] = (
    ("init", init), ("collect", collect), ("add", add), ("draft", draft), ("archive", archive_app),
    ("publish", publish), ("lint", lint), ("status", status), ("search", search), ("doctor", doctor),
    ("review", review), ("demo", demo), ("worker", worker), ("sources", sources_app), ("config", config_app),
    ("notify", notify_app), ("store", store_app),
)


def make_app(only: str | None = None) -> typer.Typer:
    """The `curator` app with every command, or with the one named `only` (see `main`)."""
    made = typer.Typer(
        cls=CuratorGroup,
        help="curator: collect a week of links, clean and summarise them, and draft a tech weekly for review.",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,  # locals can hold secrets
        add_completion=False,
        rich_markup_mode=None,  # plain help, as ruff and uv print it: `--open / --no-open`, no `<bool>` columns
        context_settings=CONTEXT,
    )
    made.callback()(_main)
    for name, target in COMMANDS:
        if only is None or name == only:
            if isinstance(target, typer.Typer):
                made.add_typer(target, name=name)
            else:
                made.command(name)(target)
    return made


app = make_app()


def command_named(args: list[str]) -> str | None:
    """The command a command line runs, when its first argument other than a global flag names one;
    None for anything else (no command, `--help`, `--version`, a typo), which the whole app answers."""
    for arg in args:
        if arg in _GLOBAL_FLAGS:
            continue
        return arg if any(arg == name for name, _ in COMMANDS) else None
    return None


def main() -> None:
    # Typer builds the options of every command before it parses a line (~12 ms of each start-up): a line
    # that names a command is run by an app holding that command alone, which parses and runs it alike.
    make_app(command_named(sys.argv[1:]))()
