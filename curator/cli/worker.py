"""`curator worker`: Celery's own worker, configured by curator, running the Celery engine's per-item tasks.

It reads the workspace's settings for the broker (celery.broker_url) and the delivery rules; each task
names its workspace, so one worker serves the runs of the workspaces that share its broker and queue.
"""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from curator.cli.workspace import HomeOpt, cli_errors, workspace_settings
from curator.errors import ConfigError

log = logging.getLogger(__name__)


def worker(
    home: HomeOpt = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=0, max=256,
                                             help="Task processes (0, the default: one per core).")] = 0,
    queues: Annotated[str | None, typer.Option("--queues", "-Q",
                                               help="Comma-separated queues to consume (default: celery.queue).")] = None,
) -> None:
    """Run a Celery worker for `run.engine = "celery"` (fetch, extract, enrich tasks) until stopped.

    SIGTERM lets the tasks in flight finish (Celery's warm shutdown); a task whose worker is killed goes
    back to the queue (late acknowledgement), and its item is left as the store says."""
    with cli_errors():
        settings = workspace_settings(home)
        try:
            from curator.engine.app import configure
            from curator.engine.shared import ping, redis_client
        except ImportError as exc:
            raise ConfigError(f"`curator worker` needs Celery and redis-py ({exc.name} is missing): "
                              "pip install 'curator-weekly[team]'") from None
        ping(redis_client(settings), settings)  # a clear error now, not Celery's retry loop
        app = configure(settings)
        level = logging.getLogger("curator").getEffectiveLevel()
        argv = ["worker", "--loglevel", logging.getLevelName(level), "--queues", queues or settings.celery.queue,
                "--hostname", f"curator-{os.getpid()}@%h", "--without-mingle", "--without-gossip"]
        if concurrency:
            argv += ["--concurrency", str(concurrency)]
        log.info("curator worker: consuming %s (Ctrl-C or SIGTERM stops it after the tasks in flight)",
                 queues or settings.celery.queue)
        app.worker_main(argv)
