"""The CLI's progress display: rich bars per stage (count, rate, ETA) when stderr is a terminal, else log lines."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from curator.progress import Advance, Reporter


def columns() -> list[Any]:
    """Stage name, bar, done/total, items per second, elapsed and time remaining."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:.1f}/s" if speed else "-/s", style="progress.data.speed")

    return [TextColumn("[bold]{task.description:<9}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn()]


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
        from rich.progress import Progress

        with Progress(*columns(), transient=False) as bar:
            task = bar.add_task(name, total=total)
            yield lambda n=1: bar.advance(task, n)
