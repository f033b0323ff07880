"""Helpers for the Celery engine's tests: `curator` as a subprocess, `curator worker` processes on a real
Redis (tests/servers.py), and what a workspace's store holds, read through the store's own methods."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Self

from tests.canary import CANARY

REPO = Path(__file__).resolve().parents[1]
DEADLINE_S = 180.0  # generous: the machine is shared; nothing asserts how fast


def base_env(ws: Path, redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CURATOR_", "OPENAI_"))}
    env.update({"PYTHONPATH": str(REPO), "CURATOR_HOME": str(ws), "CURATOR_CELERY__BROKER_URL": redis_url,
                "CURATOR_EXTRACT__WORKERS": "0"})
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str, timeout: float = DEADLINE_S * 2) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "curator.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, check=False)
    assert CANARY not in done.stdout + done.stderr
    return done


def start_cli(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[str]:
    out = log.open("w")
    return subprocess.Popen([sys.executable, "-m", "curator.cli", *args], env=env, stdout=out,
                            stderr=subprocess.STDOUT, text=True, cwd=REPO)


class Workers:
    """`curator worker` subprocesses (each with `concurrency` task processes), ready when they answer a ping."""

    def __init__(self, env: dict[str, str], logs: Path, n: int = 2, concurrency: int = 1) -> None:
        self.env, self.logs, self.n, self.concurrency = env, logs, n, concurrency
        self.procs: list[subprocess.Popen[str]] = []
        self.killed: set[int] = set()  # pids the test killed on purpose

    def start_one(self) -> subprocess.Popen[str]:
        i = len(self.procs)
        proc = start_cli(self.env, self.logs / f"worker-{i}.log", "worker", "-c", str(self.concurrency))
        self.procs.append(proc)
        return proc

    def __enter__(self) -> Self:
        self.logs.mkdir(parents=True, exist_ok=True)
        for _ in range(self.n):
            self.start_one()
        self.wait_ready(self.n)
        return self

    def wait_ready(self, n: int) -> None:
        from curator.engine.app import app

        app.conf.broker_url = self.env["CURATOR_CELERY__BROKER_URL"]
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            for proc in self.procs:
                assert proc.pid in self.killed or proc.poll() is None, f"a worker exited ({proc.returncode}): {self.log_text()}"
            try:  # a fresh connection each time: a pooled one may point at a Redis that restarted since
                with app.connection_for_write() as conn:
                    if len(app.control.ping(timeout=1.0, connection=conn) or []) >= n:
                        return
            except Exception:  # noqa: BLE001, S110  (the broker is not answering yet: ask again)
                pass
            time.sleep(0.3)
        raise AssertionError(f"{n} workers did not answer within {DEADLINE_S} s: {self.log_text()}")

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.logs.glob("worker-*.log")))

    def task_pids(self) -> list[int]:
        """The task (pool child) processes of the running workers."""
        out = subprocess.run(["ps", "-o", "pid=,ppid=", "-e"], capture_output=True, text=True, check=True).stdout
        parents = {p.pid for p in self.procs if p.poll() is None}
        return [int(pid) for pid, ppid in (line.split() for line in out.splitlines()) if int(ppid) in parents]

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        for pid in self.task_pids():  # a child orphaned by a kill -9 of its worker
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def snapshot(ws: Path, store_url: str | None = None) -> dict[str, Any]:
    """Items by URL (state, title, enrichment), stories as sets of URLs, read through the store's methods
    (the workspace's SQLite file, or the Postgres database at `store_url`)."""
    from curator.settings import load_settings
    from curator.store import Store

    settings = load_settings(ws, env={"CURATOR_STORE__URL": store_url} if store_url else {})
    with Store(settings.store_target) as store:
        items = store.items()
        by_id = {i.id: i.url for i in items}
        stories: dict[int, set[str]] = {}
        for i in items:
            if i.story_id is not None:
                stories.setdefault(i.story_id, set()).add(i.url)
        return {
            "items": {i.url: (i.state.value, i.reason, i.title,
                              (i.enrichment.title, i.enrichment.summary, i.enrichment.section)
                              if i.enrichment else None) for i in items},
            "stories": sorted(sorted(s) for s in stories.values()),
            "ids": by_id,
        }


def kill_worker(workers: Workers, proc: subprocess.Popen[str]) -> None:
    """kill -9 a worker and its task processes at once (its machine went down)."""
    out = subprocess.run(["ps", "-o", "pid=,ppid=", "-e"], capture_output=True, text=True, check=True).stdout
    workers.killed.add(proc.pid)
    children = [int(pid) for pid, ppid in (line.split() for line in out.splitlines()) if int(ppid) == proc.pid]
    for pid in [proc.pid, *children]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=30)


def wait_for(what: str, check: Any, deadline_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + deadline_s
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)
