"""The explicit context every collect stage (discover, fetch, extract, enrich) is given: nothing global.

    StageContext(settings, store, reporter, stopping, run)  ─►  discover / fetch / extract / enrich

A stage reads its input from the store, writes the next state, and counts outcomes on `run`; the clock is
`settings.now` (a pinned `run.now` fixes it), and `stopping` tells it to take no new work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from curator.errors import ConfigError, Interrupted, LockHeld, StoreError
from curator.models import RunSummary
from curator.progress import Reporter
from curator.redaction import Redactor
from curator.settings import Settings
from curator.store import Store

log = logging.getLogger(__name__)

# Faults of the whole run (DESIGN: config, store, lock, stop): never turned into one source's or item's outcome.
RUN_LEVEL = (ConfigError, StoreError, LockHeld, Interrupted)


@dataclass
class StageContext:
    settings: Settings
    store: Store
    reporter: Reporter
    stopping: threading.Event
    run: RunSummary
    # A page or feed can quote a configured secret (a token from a source URL): masked before it is stored.
    redactor: Redactor

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.settings.now

    def internal_error(self, stage: str, exc: Exception, what: str) -> None:
        """An exception nobody expected, in one source or item: counted and logged by its type only (the
        message of a foreign exception can carry a URL with its token)."""
        name = type(exc).__name__
        self.run.counters[f"{stage}/internal_error"] += 1
        self.run.notes.append(f"internal_error ({name}) in {what}; the run went on")
        log.error("unexpected %s in %s; recorded as internal_error, the run goes on", name, what)
