"""The CLI's progress display: rich bars per stage when stderr is a terminal, else the plain log lines."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from curator.progress import Advance, Reporter


class TerminalReporter(Reporter):
    """`interactive=None` picks rich bars when stderr is a TTY (the log lines otherwise, as in CI or cron)."""

    def __init__(self, *, interactive: bool | None = None, quiet: bool = False) -> None:
        super().__init__(quiet=quiet)
        self.interactive = sys.stderr.isatty() if interactive is None else interactive

    @contextmanager
    def stage(self, name: str, total: int) -> Iterator[Advance]:
        if not self.interactive or self.quiet or total == 0:
            with super().stage(name, total) as advance:
                yield advance
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("[bold]{task.description:<9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            transient=False,
        ) as bar:
            task = bar.add_task(name, total=total)
            yield lambda n=1: bar.advance(task, n)
