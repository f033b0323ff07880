"""Progress: one plain log line per stage step (CI, cron); the CLI swaps in rich bars on a terminal (cli/progress.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

log = logging.getLogger("curator")


class Advance(Protocol):
    def __call__(self, n: int = 1) -> None: ...


class Reporter:
    """Stage progress as log lines (nothing below the CLI draws on the terminal); `quiet` says nothing."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet

    def info(self, message: str) -> None:
        if not self.quiet:
            log.info(message)

    @contextmanager
    def stage(self, name: str, total: int) -> Iterator[Advance]:
        if self.quiet or total == 0:
            yield lambda n=1: None
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
