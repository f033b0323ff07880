"""Progress: rich bars per stage on a terminal, one plain log line per event elsewhere (CI, cron)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

log = logging.getLogger("curator")


class Advance(Protocol):
    def __call__(self, n: int = 1) -> None: ...


class Reporter:
    """Stage progress. `interactive=None` picks rich bars when stderr is a TTY."""

    def __init__(self, *, interactive: bool | None = None, quiet: bool = False) -> None:
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self.quiet = quiet

    def info(self, message: str) -> None:
        if not self.quiet:
            log.info(message)

    @contextmanager
    def stage(self, name: str, total: int) -> Iterator[Advance]:
        if self.quiet or total == 0:
            yield lambda n=1: None
            return
        if self.interactive:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            with Progress(
                TextColumn("[bold]{task.description:<9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                transient=False,
            ) as bar:
                task = bar.add_task(name, total=total)
                yield lambda n=1: bar.advance(task, n)
            return
        done = 0
        step = max(1, total // 10)
        log.info("%s: %d to do", name, total)

        def advance(n: int = 1) -> None:
            nonlocal done
            done += n
            if done % step == 0 or done == total:
                log.info("%s: %d/%d", name, done, total)

        yield advance
