"""A big synthetic store for the bench: `draft`, a board page and `status` on a year's pool of items.

    .venv/bin/python bench/bigstore.py [--items 30000] [--workdir DIR]

`build()` makes a workspace (`curator init`) and fills its store through the store's own methods (the
schema stays the store's business): `items` enriched items spread over `weeks` weeks ending at `now`,
from 50 sources, in every configured section, a few clustered into stories, and some of their links in
the archive. `time_commands()` times, on that workspace: `curator draft`, one board page (the app
in-process, as a browser would GET it), `curator status`, and `curator --help`, each the median of
`repeat` runs. The draft / status / --help times include the interpreter starting, as the editor sees them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # the bench pins run.now: its timings do not age
WORDS = ["模型", "推理", "数据库", "编译器", "浏览器", "开源", "芯片", "安全", "漏洞", "发布", "性能", "内存", "网络", "协议", "框架", "工具", "语言", "model", "inference", "database", "compiler", "browser", "release", "kernel", "latency", "memory", "network"]


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def build(home: Path, items: int = 30_000, *, weeks: int = 60, now: datetime = NOW, seed: int = 15) -> dict[str, Any]:
    """Make the workspace and its store; returns {"items", "seconds", "db_bytes"}."""
    from curator.cli.commands import init
    from curator.models import ArchiveLink, Article, Candidate, Enrichment
    from curator.settings import load_settings
    from curator.store import Store

    with contextlib.redirect_stdout(io.StringIO()):
        init(home)
    settings = load_settings(home, env={"CURATOR_RUN__NOW": now.isoformat()})
    sections = [s.id for s in settings.sections]
    tags = settings.tag_ids()
    rng = random.Random(seed)
    span = timedelta(weeks=weeks).total_seconds()
    clock_at = [now]
    started = time.perf_counter()
    links: list[ArchiveLink] = []
    with Store(settings.db_path, clock=lambda: clock_at[0]) as store:
        for n in range(items):
            # Oldest first, as a year of weekly runs adds them; a few items carry no published date.
            when = now - timedelta(seconds=span * (1 - n / items))
            clock_at[0] = when
            host = f"site{n % 50}.example"
            url = f"https://{host}/{when:%Y/%m}/post-{n}"
            title = f"{_text(rng, 6)} #{n}"
            cand = Candidate(url=url, title=title, source=f"source-{n % 50}",
                             published_at=None if n % 7 == 0 else when - timedelta(hours=rng.randint(0, 30)),
                             snippet=_text(rng, 30))
            item_id, _ = store.add_candidate(cand, url)
            article = Article(url=url, title=title, text=_text(rng, 400), lang="zh" if n % 3 else "en",
                              sitename=host, description=_text(rng, 20))
            store.save_article(item_id, article, f"hash-{n}")
            store.save_enrichment(item_id, Enrichment(
                title=title, summary=_text(rng, 40), tags=rng.sample(tags, min(2, len(tags))) if tags else [],
                section=sections[n % len(sections)] if sections else "", score=rng.randint(30, 95),
                reason=_text(rng, 8), backend="offline"), f"hash-{n}")
            if n % 40 == 0:
                links.append(ArchiveLink(url, url, title, title, 1 + n // 5000, None, "past/issue.md"))
        # Every tenth item joins the story of the item before it (reports of one event, in one week).
        store.set_story_ids({i: i - 1 for i in range(2, items + 1, 10)})
        store.add_archive_links(links)
    return {"items": items, "seconds": time.perf_counter() - started, "db_bytes": settings.db_path.stat().st_size}


def _median(fn: Callable[[], tuple[float, float]], repeat: int) -> tuple[float, float]:
    runs = [fn() for _ in range(repeat)]
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cli(home: Path | None, *args: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one command in a fresh interpreter; CPU is what other load leaves unchanged."""
    env = {**os.environ, "CURATOR_RUN__NOW": NOW.isoformat()}
    # An installed curator has its bytecode (pip compiles it); a shell that forbids writing it would time
    # the compiler on every start-up instead. The first, untimed run of each command writes it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmd = [sys.executable, "-m", "curator.cli", *args] + (["--home", str(home)] if home else [])
    started, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    took = time.perf_counter() - started
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()[-400:]}")
    return took, _children_cpu() - cpu


def _board_page(home: Path) -> Callable[[], float]:
    from starlette.testclient import TestClient

    from curator.review.board import make_app
    from curator.settings import load_settings

    settings = load_settings(home, env={"CURATOR_RUN__NOW": NOW.isoformat()})
    client = TestClient(make_app(settings, "bench-token"), base_url="http://127.0.0.1")
    client.__enter__()  # the app's lifespan: its one store stays open across pages, as `curator review` does
    assert client.get("/?token=bench-token").status_code == 200

    def page() -> tuple[float, float]:
        started, cpu = time.perf_counter(), time.process_time()  # the app's threads are this process's
        answer = client.get("/")
        took = time.perf_counter() - started
        if answer.status_code != 200 or 'class="story' not in answer.text:
            raise RuntimeError(f"board page: {answer.status_code}, no stories")
        return took, time.process_time() - cpu

    return page


def time_commands(home: Path, *, repeat: int = 3) -> dict[str, float]:
    """Seconds (median of `repeat`) for draft, a board page, status and --help on the workspace at `home`:
    `<name>_s` the wall time, `<name>_cpu_s` the CPU time (on a shared machine the wall time also counts
    waiting for a core; the CPU time is the command's own, and what it would take on an idle one). Each
    command runs once untimed first, as a warm machine has it (bytecode written, files in the page cache)."""
    for args in (("draft", "--date", f"{NOW:%Y-%m-%d}"), ("status",)):
        _cli(home, *args)
    _cli(None, "--help")
    timed = {"draft": _median(lambda: _cli(home, "draft", "--date", f"{NOW:%Y-%m-%d}"), repeat),
             "board_page": _median(_board_page(home), repeat),
             "status": _median(lambda: _cli(home, "status"), repeat),
             "help": _median(lambda: _cli(None, "--help"), repeat)}
    out: dict[str, float] = {}
    for name, (wall, cpu) in timed.items():
        out[f"{name}_s"], out[f"{name}_cpu_s"] = round(wall, 3), round(cpu, 3)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/bigstore.py", description=__doc__.split("\n", 1)[0])
    ap.add_argument("--items", type=int, default=30_000)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="curator-bigstore-") as tmp:
        home = (args.workdir or Path(tmp)) / "big"
        built = build(home, args.items)
        print(json.dumps({**built, **time_commands(home, repeat=args.repeat)}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
