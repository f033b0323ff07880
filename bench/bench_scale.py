"""`make bench SCALE=1` (an optional extra step of `make bench`): the bench's loopback corpus collected by the
local engine and by the Celery engine with 1, 2 and 4 `curator worker` processes on this machine.

    .venv/bin/python bench/bench_scale.py [--pages 5000] [--workers 1,2,4] [--latency-ms 50] [--quick]
                                          [--store postgres|sqlite] [--out-dir bench] [--workdir DIR] [--keep]

Each configuration collects the same corpus (bench/corpus.py, served by bench_collect's server process)
into a fresh workspace, offline enrichment, as a `curator collect --json` subprocess; the local engine on
its default SQLite file, the Celery ones against a private redis-server on a free loopback port and (with
--store postgres, the default when Postgres is installed) a fresh database of a private Postgres cluster,
each worker with one task process. Reported: wall seconds, pages fetched, pages/s, the ratio to the local
engine, the load average around each run, and the serial share: the run's wall split into the `collect`
process's own single-step phases (discover, enqueue, cluster, triage, start-up and finish) and its waits
on the workers; the CPU of `collect`, of the workers, of Redis and of Postgres per page; Redis commands
and Postgres transactions per page (the round trips every item costs). Writes scale.json / scale.md.

Exit status: 0 (also when ../shared/data or redis-server is missing: nothing to measure), 1 when a
configuration's run did not end as the local engine's did (its status, or its fetch/extract/enrich/cluster
counters: a Celery run that failed its enrichments is not a faster run).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
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

from bench_collect import EXCLUDE_PIDS, DescendantSampler, ServerProcess, fetch_overrides, make_workspace
from corpus import DEFAULT_DATA, DatasetMissing, build_corpus

READY_S = 180.0


def _toml_value(v: Any) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v)


def workspace(root: Path, corpus: Any, server: ServerProcess, store_url: str | None = None) -> Path:
    """A workspace whose config files say what bench_collect passes as overrides (workers read files)."""
    ws = make_workspace(root, corpus.sources_toml())
    fetch = fetch_overrides(server)
    lines = ["[fetch]", *(f"{k} = {_toml_value(v)}" for k, v in fetch.items()),
             "", "[llm]", 'provider = "offline"', "", "[run]", "max_age_days = 0", ""]
    if store_url:
        lines += ["[store]", f"url = {json.dumps(store_url)}", ""]
    (ws / "config" / "zz-bench.toml").write_text("\n".join(lines), encoding="utf-8")
    return ws


def _env(ws: Path, broker: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CURATOR_", "OPENAI_"))}
    env.update({"CURATOR_HOME": str(ws), "PYTHONPATH": str(REPO)})
    if broker:
        env.update({"CURATOR_RUN__ENGINE": "celery", "CURATOR_CELERY__BROKER_URL": broker})
    return env


def children_cpu() -> float:
    """CPU seconds of this process's children that have ended and been waited for (with their own children)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def proc_cpu(pid: int | None) -> float:
    """CPU seconds of a live process and of its children it has waited for (a postmaster's ended backends)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def redis_commands(port: int) -> int:
    """Commands Redis has processed since it started (INFO stats total_commands_processed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10.0) as sock:
        sock.sendall(b"*2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n")
        data = b""
        while b"total_commands_processed:" not in data or not data.endswith(b"\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    for line in data.decode("latin-1").splitlines():
        if line.startswith("total_commands_processed:"):
            return int(line.split(":", 1)[1])
    raise RuntimeError("redis INFO stats did not report total_commands_processed")


def pg_transactions(url: str) -> int:
    """Transactions committed and rolled back in the database of `url` (pg_stat_database)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                           "WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0


class Servers:
    """The Celery runs' Redis and (optionally) Postgres, with what they spent during a run."""

    def __init__(self, redis: Any, pg: Any | None) -> None:
        self.redis, self.pg, self.n = redis, pg, 0

    def database(self) -> str | None:
        if self.pg is None:
            return None
        self.n += 1
        return str(self.pg.createdb(f"scale{self.n}"))

    def postmaster(self) -> int | None:
        if self.pg is None:
            return None
        return int((self.pg.data / "postmaster.pid").read_text().split()[0])

    def sample(self, db: str | None) -> dict[str, float]:
        return {"redis_cpu": proc_cpu(self.redis.proc.pid), "pg_cpu": proc_cpu(self.postmaster()),
                "redis_cmds": float(redis_commands(self.redis.port)),
                "pg_xacts": float(pg_transactions(db)) if db else 0.0}


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def collect(env: dict[str, str], others: set[int] | None = None) -> dict[str, Any]:
    """One `curator collect --json`; its CPU is the larger of the reaped children's and the /proc sampler's
    (only the sampler sees a forkserver pool's parser processes); `others`: pids that are not collect's
    (the workers, Redis), besides the corpus server."""
    load0, cpu0 = loadavg(), children_cpu()
    t0 = time.perf_counter()
    with DescendantSampler(EXCLUDE_PIDS | (others or set())) as sampler:
        done = subprocess.run([sys.executable, "-m", "curator.cli", "-q", "collect", "--json"], env=env,
                              capture_output=True, text=True, cwd=REPO, check=False)
    wall = time.perf_counter() - t0
    cpu = max(children_cpu() - cpu0, sampler.cpu_s)
    if done.returncode != 0:
        raise RuntimeError(f"collect exited {done.returncode}: {done.stderr[-2000:]}")
    summary = json.loads(done.stdout)
    counters = summary["counters"]
    fetched = int(counters.get("fetch/ok", 0))
    timing = {k.rsplit("/", 1)[-1]: int(n) / 1000 for k, n in counters.items() if k.startswith("engine/time_ms/")}
    return {"wall_s": round(wall, 2), "pages_fetched": fetched, "pages_per_s": round(fetched / wall, 2),
            "collect_cpu_s": round(cpu, 2), "load_before": load0, "load_after": loadavg(),
            "status": summary["status"], "outcome": outcome(counters),
            **({"time_s": timing} if timing else {})}


def outcome(counters: dict[str, int]) -> dict[str, int]:
    """What the run did to the items, which every engine must agree on (the http/ tallies differ: each
    worker process reads robots.txt once per run)."""
    return {k: int(n) for k, n in sorted(counters.items())
            if k == "fetch/ok" or k.startswith(("extract/", "enrich/", "cluster/"))}


def disagreements(runs: list[dict[str, Any]]) -> list[str]:
    """Each configuration whose status or outcome is not the local engine's, and how."""
    want = runs[0]
    out = []
    for r in runs[1:]:
        if "outcome" not in want or "outcome" not in r:
            continue  # not recorded (a scale.json from before the check): shown as "not checked"
        got = r["outcome"]
        diff = {k: (want["outcome"].get(k, 0), got.get(k, 0)) for k in {*want["outcome"], *got}
                if want["outcome"].get(k, 0) != got.get(k, 0)}
        if diff or r.get("status") != want.get("status"):
            out.append(f"celery x{r['workers']}: status {r.get('status')} (local {want.get('status')}); "
                       f"counters (local, this): {dict(sorted(diff.items()))}")
    return out


def serial_share(r: dict[str, Any]) -> dict[str, float]:
    """What a Celery run's counters say about its serial part (no number of workers shortens it):
    serial_s = the run's wall time less the coordinator's waits on the workers (discover, enqueue, cluster,
    triage, the start and end of the run, the process's start-up); busy = the workers' task time over
    workers × waited time (the rest is dispatch and idling); store = the tasks' share of time in store calls."""
    t, n = r["time_s"], r["workers"]
    waited = t.get("wait_fetch", 0.0) + t.get("wait_enrich", 0.0)
    serial = r["wall_s"] - waited
    return {"serial_s": round(serial, 2), "serial_share": round(serial / r["wall_s"], 3),
            "waited_s": round(waited, 2), "per_page_ms": round(waited / max(1, r["pages_fetched"]) * 1000, 1),
            "busy": round(t.get("task", 0.0) / max(1e-9, n * waited), 3),
            "store_share": round(t.get("task_store", 0.0) / max(1e-9, t.get("task", 0.0)), 3),
            **{k: round(t.get(k, 0.0), 2) for k in ("discover", "enqueue", "cluster", "enrich", "wait_enrich")}}


def per_page(r: dict[str, Any]) -> dict[str, float]:
    """CPU milliseconds and round trips per page fetched (what each item costs the shared parts)."""
    pages = max(1, r["pages_fetched"])
    s = r.get("servers", {})
    return {"collect_ms": round(r["collect_cpu_s"] / pages * 1000, 1),
            "workers_ms": round(r.get("workers_cpu_s", 0.0) / pages * 1000, 1),
            "redis_ms": round(s.get("redis_cpu", 0.0) / pages * 1000, 2),
            "pg_ms": round(s.get("pg_cpu", 0.0) / pages * 1000, 2),
            "redis_cmds": round(s.get("redis_cmds", 0.0) / pages, 1),
            "pg_xacts": round(s.get("pg_xacts", 0.0) / pages, 1)}


def with_workers(ws: Path, servers: Servers, db: str | None, n: int, logs: Path) -> dict[str, Any]:
    from curator.engine.app import app

    broker = servers.redis.url
    env = _env(ws, broker)
    procs = [subprocess.Popen([sys.executable, "-m", "curator.cli", "-q", "worker", "-c", "1"], env=env, cwd=REPO,
                              stdout=(logs / f"w{n}-{i}.log").open("w"), stderr=subprocess.STDOUT) for i in range(n)]
    try:
        app.conf.broker_url = broker
        deadline = time.monotonic() + READY_S
        while len(app.control.ping(timeout=1.0) or []) < n:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError(f"{n} workers did not come up (logs in {logs})")
        before = servers.sample(db)
        out = collect(env, {p.pid for p in procs} | {servers.redis.proc.pid})
        after = servers.sample(db)
        out["servers"] = {k: round(after[k] - before[k], 2) for k in after}
    finally:
        cpu0 = children_cpu()  # the workers' CPU (start-up included) once they have ended
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=120)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    out["workers_cpu_s"] = round(children_cpu() - cpu0, 2)
    return out


def markdown(res: dict[str, Any]) -> str:
    rows = [("| engine | store | workers | wall s | pages | pages/s | × local | status | as local | "
             "load avg before → after (1 min) |"), "|---|---|---|---|---|---|---|---|---|---|"]
    local = res["runs"][0]["pages_per_s"]
    differ = {line.split(":", 1)[0] for line in disagreements(res["runs"])}
    for r in res["runs"]:
        same = "" if r["engine"] == "local" else "not checked" if "outcome" not in r else \
            "NO" if f"celery x{r.get('workers')}" in differ else "yes"
        rows.append(f"| {r['engine']} | {r.get('store', 'sqlite')} | {r.get('workers', '')} | {r['wall_s']} | "
                    f"{r['pages_fetched']} | {r['pages_per_s']} | {r['pages_per_s'] / local:.2f} | "
                    f"{r.get('status', '')} | {same} | {r['load_before'][0]} → {r['load_after'][0]} |")
    cel = [r for r in res["runs"] if "time_s" in r]
    share = [("| workers | serial s | serial share | 1 ÷ share | discover s | enqueue s | cluster s | "
              "enrich (coord.) s | waited s | waited ms/page | workers busy | store share of task time |"),
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in cel:
        s = serial_share(r)
        share.append(f"| {r['workers']} | {s['serial_s']} | {s['serial_share']:.1%} | "
                     f"{1 / max(1e-9, s['serial_share']):.1f} | {s['discover']} | {s['enqueue']} | "
                     f"{s['cluster']} | {round(s['enrich'] - s['wait_enrich'], 2)} | {s['waited_s']} | "
                     f"{s['per_page_ms']} | {s['busy']:.0%} | {s['store_share']:.0%} |")
    cost = [("| engine | workers | CPU ms/page: collect | workers | Redis | Postgres | Redis commands/page | "
             "Postgres transactions/page |"), "|---|---|---|---|---|---|---|---|"]
    for r in res["runs"]:
        c = per_page(r)
        shared = (f"{c['redis_ms']} | {c['pg_ms'] if r.get('store') == 'postgres' else ''} | {c['redis_cmds']} | "
                  f"{c['pg_xacts'] if r.get('store') == 'postgres' else ''}") if "servers" in r else " |  |  | "
        cost.append(f"| {r['engine']} | {r.get('workers', '')} | {c['collect_ms']} | "
                    f"{c['workers_ms'] if 'workers_cpu_s' in r else ''} | {shared} |")
    return (f"# Scale: {res['pages']} pages, {res['cores']} cores, latency {res['latency_ms']} ms, "
            f"load average {' / '.join(map(str, res['loadavg']))} at the end"
            f"{' (partial: the run goes on)' if res.get('partial') else ''}\n\n"
            + "\n".join(rows) + "\n"
            + ("\n## Serial share (measured)\n\n" + "\n".join(share) + "\n" if cel else "")
            + "\n## Cost per page fetched (CPU and round trips)\n\n" + "\n".join(cost) + "\n")


def start_postgres() -> Any:
    """A throwaway cluster in its own temporary folder (as root, initdb runs as `postgres`, which must be
    able to reach it: not under the bench's private workdir)."""
    from tests.servers import PostgresServer, _pg_bindir

    bindir = _pg_bindir()
    if bindir is None:
        return None
    root = Path(tempfile.mkdtemp(prefix="curator-scale-pg-"))
    try:
        pg = PostgresServer(bindir, root)
        pg.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return pg


def write(args: argparse.Namespace, corpus: Any, runs: list[dict[str, Any]], *, final: bool) -> str:
    """scale.json and scale.md in --out-dir, after each configuration (`"partial": true` until the last)."""
    res = {"pages": corpus.pages, "cores": os.cpu_count(), "latency_ms": args.latency_ms,
           "loadavg": loadavg(), "partial": not final, "runs": runs}
    out = Path(args.out_dir)
    (out / "scale.json").write_text(json.dumps(res, indent=2) + "\n")
    (out / "scale.md").write_text(text := markdown(res))
    return text


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
        pg = None
        runs: list[dict[str, Any]] = []
        try:  # whatever fails, the servers started here stop
            pg = start_postgres() if args.store == "postgres" else None
            if args.store == "postgres" and pg is None:
                print("Postgres (initdb) is not installed: the Celery runs use the SQLite store", file=sys.stderr)
            servers = Servers(broker, pg)
            store = "postgres" if pg is not None else "sqlite"
            logs = workdir / "logs"
            logs.mkdir()
            server.reset()
            local_ws = workspace(workdir / "ws-local", corpus, server)
            runs.append({"engine": "local", **collect(_env(local_ws, None), {servers.redis.proc.pid})})
            print(f"[scale] local: {runs[-1]}", file=sys.stderr)
            write(args, corpus, runs, final=False)
            for n in args.workers:
                server.reset()
                db = servers.database()
                ws = workspace(workdir / f"ws-celery-{n}", corpus, server, db)
                runs.append({"engine": "celery", "store": store, "workers": n,
                             **with_workers(ws, servers, db, n, logs)})
                print(f"[scale] celery x{n}: {runs[-1]}", file=sys.stderr)
                write(args, corpus, runs, final=False)  # a run stopped later keeps what was measured
        finally:
            broker.stop()
            if pg is not None:
                pg.stop()
                shutil.rmtree(pg.root, ignore_errors=True)
            server.close()
        print(write(args, corpus, runs, final=True))
        wrong = disagreements(runs)
        for line in wrong:
            print(f"bench_scale: not what the local engine did: {line}", file=sys.stderr)
        return 1 if wrong else 0
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/bench_scale.py", description=__doc__.split("\n", 1)[0])
    ap.add_argument("--pages", type=int, default=None, help="article pages (default 5000; --quick 300)")
    ap.add_argument("--workers", default="1,2,4", help="worker process counts (default 1,2,4)")
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--store", choices=("postgres", "sqlite"), default="postgres",
                    help="the Celery runs' store (default postgres; SQLite when Postgres is not installed)")
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
