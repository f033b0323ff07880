"""The demo runner (`curator demo`): the whole pipeline on the bundled corpus, on loopback, no network, no key.

The demo keeps its workspace (store + draft) between runs: a second run reuses what the first
stored, so it adds nothing, gets 304s for the feeds, makes no LLM call and rewrites the same draft.
`--fresh` starts from an empty workspace. The corpus server's TLS certificate is made afresh at each start
(into `<workspace>/tls/`); none is shipped.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from curator.demo.server import CORPUS_DIR, DemoServer
from curator.models import RunSummary
from curator.pipeline import Pipeline
from curator.progress import Reporter
from curator.settings import Settings, defaults_dir, load_settings
from curator.store import Store

log = logging.getLogger(__name__)

CORPUS = CORPUS_DIR
# The corpus is a fixed week; the demo drafts the issue of that week whatever today's date is.
DEMO_AS_OF = datetime(2026, 11, 23, 23, 59, tzinfo=UTC)


def init_workspace(workspace: Path) -> None:
    """The demo workspace is a normal one (`curator status/draft --home demo-workspace` work on it)."""
    files = [
        (defaults_dir() / "config" / "curator.toml", workspace / "config" / "curator.toml"),
        (CORPUS / "sources.toml", workspace / "config" / "sources.toml"),
        *((p, workspace / "prompts" / p.name) for p in sorted((defaults_dir() / "prompts").glob("*.md"))),
    ]
    for src, dest in files:
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)


def demo_settings(workspace: Path, server: DemoServer, env: Mapping[str, str], provider: str | None = None) -> Settings:
    # The corpus hosts (*.demo.test) are routed to this process's loopback server for this run only.
    overrides: dict[str, dict[str, Any]] = {
        "fetch": {"resolve": server.resolve_map(), "ca_bundle": server.ca_bundle, "per_host_delay_s": 0.0},
        # The corpus is a fixed week, however long ago that is: the demo runs on its clock.
        "run": {"max_age_days": 0, "now": DEMO_AS_OF},
    }
    if provider:
        overrides["llm"] = {"provider": provider}
    return load_settings(workspace, env=env, overrides=overrides)


def run_demo(
    workspace: Path,
    *,
    fresh: bool = False,
    provider: str | None = None,
    env: Mapping[str, str],
    echo: Callable[[str], None] = log.info,
    print_summary: Callable[[RunSummary], None] | None = None,
    reporter: Reporter | None = None,
) -> Path:
    """Collect and draft the corpus week in `workspace`; says what it does through `echo` (the CLI prints)."""
    workspace = workspace.resolve()
    if fresh and workspace.exists():
        shutil.rmtree(workspace)
    reused = (workspace / "data" / "curator.db").exists()
    echo(f"demo workspace: {workspace} ({'reusing the previous run' if reused else 'new'})")
    init_workspace(workspace)
    with DemoServer(tls_dir=workspace / "tls") as server:
        echo(f"serving the bundled corpus ({len(server.hosts)} sites) on 127.0.0.1")
        settings = demo_settings(workspace, server, env, provider)
        with Store(settings.store_target) as store:
            pipe = Pipeline(settings, store, reporter or Reporter())
            collected = pipe.collect(command="demo")
            drafted = pipe.draft(as_of=DEMO_AS_OF)
    if print_summary:
        print_summary(collected)
        print_summary(drafted)
    assert drafted.draft_path is not None
    echo(f"draft written: {drafted.draft_path}")
    return drafted.draft_path
