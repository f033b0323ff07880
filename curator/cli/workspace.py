"""The CLI's one way into a workspace: settings -> run lock -> store, with errors turned into exit codes.

The workspace is the folder given by `--home` or `CURATOR_HOME`, else the current folder or its nearest
parent holding `config/curator.toml` (as git finds its repository); with none of these the command refuses
(78) instead of running on built-in defaults in whatever folder it was started from (`init` and `demo`
need no workspace).

Every command runs its body inside `workspace()`; a `CuratorError` anywhere in it (a bad --home or config:
78, another run holding the lock: 75, the store unusable: 74, SIGTERM or the run deadline: 143 …) prints
`curator: error: …` on stderr and exits with the error's own code.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from curator.errors import ConfigError, CuratorError

if TYPE_CHECKING:  # settings, store and the pipeline load when a command opens its workspace: not for --help
    from curator.pipeline import Pipeline
    from curator.settings import Settings
    from curator.store import Store

log = logging.getLogger(__name__)

HomeOpt = Annotated[
    Path | None,
    typer.Option("--home", envvar="CURATOR_HOME", show_default=False,
                 help="Workspace folder holding config/, prompts/, data/, drafts/. Default: this folder or the "
                      "nearest parent holding config/curator.toml."),
]
MARKER = Path("config") / "curator.toml"  # what makes a folder a workspace (`curator init` writes it)
ProviderOpt = Annotated[
    str | None, typer.Option("--provider", help="Enrichment backend: auto, openai or offline (overrides llm.provider).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON (for machines).")]

_NOISY = ("httpx", "httpcore", "httpx2", "httpcore2", "openai", "trafilatura", "htmldate", "jieba", "charset_normalizer")


def setup_logging(verbose: bool, *, quiet: bool = False) -> None:
    from curator.urls import RedactingFilter

    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S"))
    handler.addFilter(RedactingFilter())  # no password or query token of any URL reaches the log
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("curator").setLevel(level)
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def find_home(home: Path | None, *, cwd: Path | None = None) -> Path:
    """The workspace folder: `home` (--home / CURATOR_HOME) when given, else `cwd` or its nearest parent
    holding config/curator.toml. Raises ConfigError (78) when there is none, before anything is made."""
    if home is not None:
        return home
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_file():
            if folder != here:
                log.debug("workspace: %s", folder)
            return folder
    raise ConfigError(
        f"not in a curator workspace: neither {here} nor any folder above it holds {MARKER.as_posix()}. "
        "Run `curator init` to make this folder one (or `curator init --home PATH`), or point at your "
        "workspace with `--home PATH` or `CURATOR_HOME=PATH`.")


def workspace_settings(home: Path | None, *, provider: str | None = None, must_exist: bool = True) -> Settings:
    """The workspace's settings (its folder as `find_home` finds it), with the command's flags on top."""
    home = find_home(home)
    # A mistyped --home must not become a fresh, empty workspace whose run of no sources says `ok`.
    if must_exist and home.exists() and not home.is_dir():
        raise ConfigError(f"--home / CURATOR_HOME {home}: is a file, not a folder; give the publication's folder")
    if must_exist and not home.exists():
        raise ConfigError(f"--home / CURATOR_HOME {home}: no such folder; create it with `curator init --home {home}`"
                          " (nothing was created)")
    from curator.settings import load_settings
    from curator.sources import known_kinds

    overrides: dict[str, dict[str, Any]] = {}
    if provider:
        overrides["llm"] = {"provider": provider}
    # Every source kind is checked against the registry here, before any network I/O (exit 78).
    return load_settings(home, env=os.environ, overrides=overrides, kinds=known_kinds())


def fail(exc: CuratorError) -> NoReturn:
    typer.echo(f"curator: error: {exc}", err=True)
    raise typer.Exit(exc.exit_code)


@contextmanager
def cli_errors() -> Iterator[None]:
    """A CuratorError raised inside becomes its message on stderr and its exit code."""
    try:
        yield
    except CuratorError as exc:
        fail(exc)


@dataclass
class Workspace:
    """What a command works on: the settings, and the store when it asked for one."""

    settings: Settings
    _store: Store | None = None

    @property
    def store(self) -> Store:
        assert self._store is not None, "workspace() was opened without a store"
        return self._store


@contextmanager
def workspace(
    home: Path | None,
    lock: str | None = None,
    *,
    provider: str | None = None,
    store: bool = True,
    must_exist: bool = True,
    before: Callable[[Settings], None] | None = None,
    check: bool = False,
) -> Iterator[Workspace]:
    """settings -> `before(settings)` (checks that must pass before anything is locked or stored) -> the
    run lock named `lock` (none when None) -> the store (integrity-checked first with `check`: `collect`
    and `doctor`); CuratorErrors become exit codes."""
    from curator.runlock import run_lock
    from curator.store import Store

    with cli_errors(), ExitStack() as stack:
        settings = workspace_settings(home, provider=provider, must_exist=must_exist)
        if before is not None:
            before(settings)
        if lock is not None:
            stack.enter_context(run_lock(settings, lock))
        opened = stack.enter_context(Store(settings.store_target, check=check)) if store else None
        yield Workspace(settings, opened)


@contextmanager
def stop_on_sigterm(pipe: Pipeline) -> Iterator[None]:
    """SIGTERM stops taking work; the run ends `interrupted` and the command exits 143. Ctrl-C (SIGINT)
    does the same and exits 130; a second Ctrl-C stops at once (the run is still recorded interrupted)."""
    interrupted: list[int] = []

    def handler(signum: int, frame: object) -> None:
        if signum == signal.SIGINT and interrupted:
            raise KeyboardInterrupt
        interrupted.append(signum)
        name = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
        log.warning("%s: interrupted; finishing what is in flight, taking no new work", name)
        pipe.stop("interrupted (Ctrl-C)" if signum == signal.SIGINT else "SIGTERM")

    previous = signal.signal(signal.SIGTERM, handler)
    previous_int = signal.signal(signal.SIGINT, handler)
    try:
        yield
    except CuratorError as exc:
        if signal.SIGINT in interrupted:
            exc.exit_code = 130  # 128 + SIGINT, as shells expect of a Ctrl-C
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
