"""`make bench-scale` (an optional extra step of `make bench`): the bench's loopback corpus collected by the
local engine and by the Celery engine with 1, 2 and 4 `curator worker` processes on this machine.

    .venv/bin/python bench/bench_scale.py [--pages 5000] [--workers 1,2,4] [--latency-ms 50] [--quick]
                                          [--out-dir bench] [--workdir DIR] [--keep]

Each configuration collects the same corpus (bench/corpus.py, served by bench_collect's server process)
into a fresh workspace, offline enrichment, as a `curator collect --json` subprocess; the Celery ones
against a private redis-server on a free loopback port, each worker with one task process. Reported:
wall seconds, pages fetched, pages/s, and the ratio to the local engine. Writes scale.json / scale.md.

Exit status: 0 (also when ../shared/data or redis-server is missing: nothing to measure), 1 when a
configuration did not fetch what the local engine fetched.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))

from bench_collect import ServerProcess, fetch_overrides, make_workspace
from corpus import DEFAULT_DATA, DatasetMissing, build_corpus

READY_S = 180.0


def _toml_value(v: Any) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v)


def workspace(root: Path, corpus: Any, server: ServerProcess) -> Path:
    """A workspace whose config files say what bench_collect passes as overrides (workers read files)."""
    ws = make_workspace(root, corpus.sources_toml())
    fetch = fetch_overrides(server)
    lines = ["[fetch]", *(f"{k} = {_toml_value(v)}" for k, v in fetch.items()),
             "", "[llm]", 'provider = "offline"', "", "[run]", "max_age_days = 0", ""]
    (ws / "config" / "zz-bench.toml").write_text("\n".join(lines), encoding="utf-8")
    return ws


def _env(ws: Path, broker: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CURATOR_", "OPENAI_"))}
    env.update({"CURATOR_HOME": str(ws), "PYTHONPATH": str(REPO)})
    if broker:
        env.update({"CURATOR_RUN__ENGINE": "celery", "CURATOR_CELERY__BROKER_URL": broker})
    return env


def collect(env: dict[str, str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "curator.cli", "-q", "collect", "--json"], env=env,
                          capture_output=True, text=True, cwd=REPO, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"collect exited {done.returncode}: {done.stderr[-2000:]}")
    counters = json.loads(done.stdout)["counters"]
    fetched = int(counters.get("fetch/ok", 0))
    timing = {k.rsplit("/", 1)[-1]: int(n) / 1000 for k, n in counters.items() if k.startswith("engine/time_ms/")}
    return {"wall_s": round(wall, 2), "pages_fetched": fetched, "pages_per_s": round(fetched / wall, 2),
            **({"time_s": timing} if timing else {})}


def serial_share(r: dict[str, Any]) -> dict[str, float]:
    """What a Celery run's counters say about its serial part (no number of workers shortens it):
    serial_s = the run's wall time less the coordinator's waits on the workers (discover, enqueue, cluster,
    triage, the start and end of the run, the process's start-up); busy = the workers' task time over
    workers × waited time (the rest is dispatch and idling); store = the tasks' share of time in store calls."""
    t, n = r["time_s"], r["workers"]
    waited = t.get("wait_fetch", 0.0) + t.get("wait_enrich", 0.0)
    serial = r["wall_s"] - waited
    return {"serial_s": round(serial, 2), "serial_share": round(serial / r["wall_s"], 3),
            "per_page_ms": round(waited / max(1, r["pages_fetched"]) * 1000, 1),
            "busy": round(t.get("task", 0.0) / max(1e-9, n * waited), 3),
            "store_share": round(t.get("task_store", 0.0) / max(1e-9, t.get("task", 0.0)), 3),
            **{k: round(t.get(k, 0.0), 2) for k in ("discover", "enqueue", "cluster", "enrich", "wait_enrich")}}


def with_workers(ws: Path, broker: str, n: int, logs: Path) -> dict[str, Any]:
    from curator.engine.app import app

    env = _env(ws, broker)
    procs = [subprocess.Popen([sys.executable, "-m", "curator.cli", "-q", "worker", "-c", "1"], env=env, cwd=REPO,
                              stdout=(logs / f"w{n}-{i}.log").open("w"), stderr=subprocess.STDOUT) for i in range(n)]
    try:
        app.conf.broker_url = broker
        deadline = time.monotonic() + READY_S
        while len(app.control.ping(timeout=1.0) or []) < n:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError(f"{n} workers did not come up (logs in {logs})")
        return collect(env)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=120)
            except subprocess.TimeoutExpired:
                p.kill()


def markdown(res: dict[str, Any]) -> str:
    rows = ["| engine | workers | wall s | pages | pages/s | × local |", "|---|---|---|---|---|---|"]
    local = res["runs"][0]["pages_per_s"]
    for r in res["runs"]:
        rows.append(f"| {r['engine']} | {r.get('workers', '')} | {r['wall_s']} | {r['pages_fetched']} | "
                    f"{r['pages_per_s']} | {r['pages_per_s'] / local:.2f} |")
    cel = [r for r in res["runs"] if "time_s" in r]
    share = [("| workers | serial s | serial share | discover s | enqueue s | cluster s | enrich (coord.) s | "
             "waited ms/page | workers busy | store share of task time |"), "|---|---|---|---|---|---|---|---|---|---|"]
    for r in cel:
        s = serial_share(r)
        share.append(f"| {r['workers']} | {s['serial_s']} | {s['serial_share']:.1%} | {s['discover']} | {s['enqueue']} | "
                     f"{s['cluster']} | {round(s['enrich'] - s['wait_enrich'], 2)} | {s['per_page_ms']} | "
                     f"{s['busy']:.0%} | {s['store_share']:.0%} |")
    return (f"# Scale: {res['pages']} pages, {res['cores']} cores, latency {res['latency_ms']} ms\n\n"
            + "\n".join(rows) + "\n" + ("\n## Serial share (measured)\n\n" + "\n".join(share) + "\n" if cel else ""))


def run(args: argparse.Namespace) -> int:
    if shutil.which("redis-server") is None:
        print("redis-server is not installed: bench_scale skipped")
        return 0
    from tests.servers import RedisServer

    workdir = Path(args.workdir).resolve() if args.workdir else Path(tempfile.mkdtemp(prefix="curator-scale-"))
    try:
        try:
            corpus = build_corpus(workdir / "corpus", pages=args.pages, feeds=max(1, args.pages // 10), data=args.data)
        except DatasetMissing as exc:
            print(f"{exc}: bench_scale skipped")
            return 0
        server = ServerProcess(corpus, args.latency_ms)
        redis_root = workdir / "redis"
        redis_root.mkdir()
        broker = RedisServer(redis_root)
        broker.start()
        logs = workdir / "logs"
        logs.mkdir()
        runs: list[dict[str, Any]] = []
        try:
            server.reset()
            runs.append({"engine": "local", **collect(_env(workspace(workdir / "ws-local", corpus, server), None))})
            print(f"[scale] local: {runs[-1]}", file=sys.stderr)
            for n in args.workers:
                server.reset()
                ws = workspace(workdir / f"ws-celery-{n}", corpus, server)
                runs.append({"engine": "celery", "workers": n, **with_workers(ws, broker.url, n, logs)})
                print(f"[scale] celery x{n}: {runs[-1]}", file=sys.stderr)
        finally:
            broker.stop()
            server.close()
        res = {"pages": corpus.pages, "cores": os.cpu_count(), "latency_ms": args.latency_ms,
               "loadavg": [round(x, 2) for x in os.getloadavg()], "runs": runs}
        out = Path(args.out_dir)
        (out / "scale.json").write_text(json.dumps(res, indent=2) + "\n")
        (out / "scale.md").write_text(markdown(res))
        print(markdown(res))
        short = [r for r in runs if r["pages_fetched"] < runs[0]["pages_fetched"]]
        return 1 if short else 0
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/bench_scale.py", description=__doc__.split("\n", 1)[0])
    ap.add_argument("--pages", type=int, default=None, help="article pages (default 5000; --quick 300)")
    ap.add_argument("--workers", default="1,2,4", help="worker process counts (default 1,2,4)")
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out-dir", default=str(BENCH))
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    args.pages = args.pages or (300 if args.quick else 5000)
    args.workers = [int(x) for x in args.workers.split(",")]
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
