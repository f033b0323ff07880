"""`make bench`: how fast `collect` is on a loopback web of real pages, and what an unchanged re-run costs.

    .venv/bin/python bench/bench_collect.py [--pages 5000] [--feeds 500] [--hosts N] [--latency-ms 50]
                                            [--quick] [--llm-items 300] [--llm-latency-ms 50]
                                            [--profile] [--out-dir bench] [--workdir DIR] [--keep]

One run, in order (see bench/README.md for what each number means):

1. builds the corpus in a temp dir (bench/corpus.py: real pages of ../shared/data/extraction under many
   hosts and paths, ~10 per RSS feed) and serves it from a child process (`DemoServer` + a fixed
   per-response latency; every other host ignores validators);
2. first collect: `Pipeline(settings, store).collect()` in this process, offline enrichment; wall,
   CPU (this process + reaped children), peak RSS, time per stage;
3. unchanged re-run on the same store: its time, requests answered 304, re-extractions, LLM calls
   (must be 0: the run fails loudly otherwise);
4. the CPU floor: `trafilatura.extract` CPU time on the same pages, single process, / cores;
5. trafilatura's own CLI (`trafilatura --parallel <cores> --input-dir … --output-dir …`) on the same files;
6. enrichment through the OpenAI-compatible fake (fixed latency, `llm.concurrency` 8) on a subset,
   then its unchanged re-run (0 LLM calls); triage / clustering rows when those features exist;
7. writes bench/results.json and bench/results.md (or --out-dir) and prints the table.

Exit status: 0 (also when ../shared/data is missing: nothing to measure), 1 when a check fails.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import platform
import pstats
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))  # corpus.py
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # tests.fake_openai; appended, so PYTHONPATH can point at another curator tree

import bigstore
import targets
from corpus import DEFAULT_DATA, Corpus, DatasetMissing, build_corpus

from curator.demo.server import DemoServer

log = logging.getLogger("bench")

# ---- the loopback server (runs in a child process so its CPU and GIL stay out of the measurement) ----


class LatencyDemoServer(DemoServer):
    """DemoServer that waits `latency_s` before answering each request (in the per-connection thread)."""

    def __init__(self, root: Path | str, *, latency_s: float = 0.0, **kwargs: Any) -> None:
        super().__init__(root, **kwargs)
        self.latency_s = latency_s

    def _lookup(self, host: str, url_path: str) -> Any:
        if self.latency_s > 0:
            time.sleep(self.latency_s)
        return super()._lookup(host, url_path)


def serve_main(root: str, latency_ms: float, no_conditional: str) -> int:
    """Child-process mode: serve, print the fetch overrides as one JSON line, then obey stdin commands
    (`stats`, `reset`, `quit`; EOF quits)."""
    hosts = [h for h in no_conditional.split(",") if h]
    with LatencyDemoServer(root, latency_s=latency_ms / 1000, no_conditional_hosts=hosts) as srv:
        print(json.dumps({"resolve": srv.resolve_map(), "ca_bundle": srv.ca_bundle}), flush=True)
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "stats":
                snap = srv.stats.snapshot()
                snap.pop("by_path", None)
                snap["by_status"] = {str(k): v for k, v in snap["by_status"].items()}
                print(json.dumps(snap), flush=True)
            elif cmd == "reset":
                srv.stats.reset()
                print("{}", flush=True)
            elif cmd == "quit":
                break
    return 0


class ServerProcess:
    def __init__(self, corpus: Corpus, latency_ms: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", str(corpus.sites),
             "--latency-ms", str(latency_ms), "--no-conditional", ",".join(corpus.no_conditional_hosts)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        EXCLUDE_PIDS.add(self.proc.pid)
        first = self.proc.stdout.readline()
        if not first:
            raise RuntimeError("the bench server did not start")
        info = json.loads(first)
        self.resolve: dict[str, str] = info["resolve"]
        self.ca_bundle: str = info["ca_bundle"]
        self._lock = threading.Lock()

    def _ask(self, cmd: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with self._lock:
            self.proc.stdin.write(cmd + "\n")
            self.proc.stdin.flush()
            return json.loads(self.proc.stdout.readline())

    def stats(self) -> dict[str, Any]:
        return self._ask("stats")

    def reset(self) -> None:
        self._ask("reset")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---- measuring -------------------------------------------------------------------------------------


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _proc_table() -> dict[int, tuple[int, float, int]]:
    """pid -> (ppid, own CPU seconds, RSS bytes) for every process in /proc (Linux)."""
    table: dict[int, tuple[int, float, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2:].split()  # after "pid (comm) "
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK,
                                  int(fields[21]) * _PAGE)
    return table


def _pss(pid: int) -> int:
    """Proportional set size in bytes (Linux smaps_rollup): a page shared by n processes counts 1/n in each,
    so the PSS of a process tree sums to the memory it holds, where summed RSS counts a shared page n times."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class DescendantSampler:
    """CPU time and RSS of this process's descendants, sampled from /proc every `interval` seconds.

    getrusage(RUSAGE_CHILDREN) only sees children this process has reaped; a `forkserver` pool's workers
    are children of the fork server, so their CPU never shows up there. A worker that exits between two
    samples loses at most `interval` seconds of CPU. `exclude`: pids whose subtrees are not curator's
    (the bench's own server)."""

    def __init__(self, exclude: set[int], interval: float = 0.2) -> None:
        self.exclude, self.interval = exclude, interval
        self.last: dict[int, float] = {}
        self.base: dict[int, float] = {}
        self.peak_rss = 0
        self.peak_pss = 0
        self.own_cpu_s = 0.0  # this sampler's own CPU (reading /proc): the bench's, taken out of curator's
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _snap(self) -> dict[int, tuple[float, int]]:
        if not Path("/proc/self/stat").exists():
            return {}
        table = _proc_table()
        kids: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in table.items():
            kids.setdefault(ppid, []).append(pid)
        out: dict[int, tuple[float, int]] = {}
        stack = [p for p in kids.get(os.getpid(), []) if p not in self.exclude]
        while stack:
            pid = stack.pop()
            out[pid] = table[pid][1:]
            stack += [p for p in kids.get(pid, []) if p not in self.exclude]
        me = table.get(os.getpid())
        self.peak_rss = max(self.peak_rss, sum(r for _, r in out.values()) + (me[2] if me else 0))
        self.peak_pss = max(self.peak_pss, sum(map(_pss, [*out, os.getpid()])))
        return out

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            started = time.thread_time()
            for pid, (cpu, _) in self._snap().items():
                self.last[pid] = cpu
            self.own_cpu_s += time.thread_time() - started

    def __enter__(self) -> DescendantSampler:  # noqa: PYI034
        self.base = {pid: cpu for pid, (cpu, _) in self._snap().items()}
        self.last = dict(self.base)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for pid, (cpu, _) in self._snap().items():
            self.last[pid] = cpu

    @property
    def cpu_s(self) -> float:
        return sum(cpu - self.base.get(pid, 0.0) for pid, cpu in self.last.items())

    @property
    def processes(self) -> int:
        return len(set(self.last) - set(self.base))


def _cpu() -> tuple[float, float]:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


EXCLUDE_PIDS: set[int] = set()  # the bench server's process


@contextmanager
def measured() -> Iterator[dict[str, float]]:
    """Fills the yielded dict with wall_s, cpu_self_s, cpu_children_s, cpu_s (= self + children) and
    peak_rss_sampled_mb (this process + descendants). Children CPU is the larger of getrusage's reaped
    children and the /proc sampler's descendants: they see the same workers under fork/spawn (so adding
    them would count twice), and only the sampler sees forkserver workers."""
    out: dict[str, float] = {}
    s0, c0 = _cpu()
    t0 = time.perf_counter()
    sampler = DescendantSampler(EXCLUDE_PIDS)
    try:
        with sampler:
            yield out
    finally:
        wall = time.perf_counter() - t0
        s1, c1 = _cpu()
        s1 -= sampler.own_cpu_s  # the sampler thread runs in this process: its CPU is not curator's
        kids = max(c1 - c0, sampler.cpu_s)
        out.update(wall_s=round(wall, 3), cpu_self_s=round(s1 - s0, 3), cpu_children_s=round(kids, 3),
                   sampler_cpu_s=round(sampler.own_cpu_s, 3),
                   cpu_children_reaped_s=round(c1 - c0, 3), cpu_children_sampled_s=round(sampler.cpu_s, 3),
                   child_processes=sampler.processes, cpu_s=round(s1 - s0 + kids, 3),
                   peak_rss_sampled_mb=round(sampler.peak_rss / 2**20, 1),
                   peak_pss_sampled_mb=round(sampler.peak_pss / 2**20, 1))


def _reporter_cls() -> type:
    from curator.progress import Reporter

    class TimingReporter(Reporter):
        """Quiet reporter that records each stage's wall/CPU time and prints coarse progress to stderr."""

        def __init__(self, label: str, progress: bool = True) -> None:
            super().__init__(quiet=True)
            self.label = label
            self.progress = progress
            self.stages: dict[str, dict[str, float]] = {}

        @contextmanager
        def stage(self, name: str, total: int) -> Iterator[Callable[..., None]]:
            done = 0
            step = max(1, total // 10)
            t0 = time.perf_counter()
            c0 = sum(_cpu())

            def advance(n: int = 1) -> None:
                nonlocal done
                done += n
                if self.progress and total >= 50 and (done % step == 0 or done == total):
                    print(f"[bench] {self.label}: {name} {done}/{total} ({time.perf_counter() - t0:.0f}s)",
                          file=sys.stderr, flush=True)

            try:
                yield advance
            finally:
                self.stages[name] = {"items": total, "wall_s": round(time.perf_counter() - t0, 3),
                                     "cpu_s": round(sum(_cpu()) - c0, 3)}

    return TimingReporter


def make_workspace(path: Path, sources_toml: str) -> Path:
    from curator.settings import defaults_dir

    (path / "config").mkdir(parents=True)
    shutil.copyfile(defaults_dir() / "config" / "curator.toml", path / "config" / "curator.toml")
    (path / "config" / "sources.toml").write_text(sources_toml, encoding="utf-8")
    shutil.copytree(defaults_dir() / "prompts", path / "prompts")
    return path


def fetch_overrides(server: ServerProcess) -> dict[str, Any]:
    return {"resolve": server.resolve, "ca_bundle": server.ca_bundle, "max_concurrency": 32,
            "per_host_concurrency": 2, "per_host_delay_s": 0.0}


def run_collect(settings: Any, label: str, *, profile: cProfile.Profile | None = None,
                progress: bool = True) -> tuple[Any, Any, dict[str, float]]:
    from curator.pipeline import Pipeline
    from curator.store import Store

    reporter = _reporter_cls()(label, progress)
    with Store(settings.db_path) as store, measured() as m:
        pipe = Pipeline(settings, store, reporter)
        if profile is not None:
            profile.enable()
        try:
            result = pipe.collect()
        finally:
            if profile is not None:
                profile.disable()
    return result, reporter, m


def _count(counters: Counter[str], prefix: str, exclude: tuple[str, ...] = ()) -> int:
    return sum(v for k, v in counters.items() if k.startswith(prefix) and k not in exclude)


def cpu_floor(corpus: Corpus) -> dict[str, Any]:
    """trafilatura.extract CPU time (single process) over the corpus pages, decoded as curator decodes.

    Each distinct real page is timed once and counted as many times as the corpus uses it."""
    import trafilatura

    from curator import charset

    total = meta = 0.0
    measured_pages = 0
    empty = 0
    for name, copies in corpus.copies().items():
        body = (Path(corpus.root) / "pool" / name).read_bytes()
        text, _ = charset.decode_html(body, "text/html")
        t0 = time.process_time()
        out = trafilatura.extract(text)
        dt = time.process_time() - t0
        total += dt * copies
        t0 = time.process_time()  # what curator asks of it: the text and the metadata (title, date, author…)
        trafilatura.extract(text, with_metadata=True)
        meta += (time.process_time() - t0) * copies
        measured_pages += 1
        empty += 0 if out else copies
    cores = len(os.sched_getaffinity(0))
    return {
        "trafilatura_cpu_s": round(total, 3),
        "trafilatura_meta_cpu_s": round(meta, 3),  # with_metadata=True: the floor curator's ratios use
        "cores": cores,
        "floor_s": round(total / cores, 3),
        "per_page_ms": round(1000 * total / corpus.pages, 2),
        "distinct_pages_timed": measured_pages,
        "pages_without_text": empty,
        "method": "trafilatura.extract(decoded text) and again with_metadata=True, time.process_time, each "
                  "distinct page timed once and weighted by its copies in the corpus",
    }


def trafilatura_cli(corpus: Corpus, workdir: Path, parallel: int) -> dict[str, Any]:
    exe = Path(sys.executable).parent / "trafilatura"
    if not exe.exists():
        found = shutil.which("trafilatura")
        if not found:
            return {"error": "trafilatura CLI not found"}
        exe = Path(found)
    out = workdir / "cli_output"
    out.mkdir()
    cmd = [str(exe), "--parallel", str(parallel), "--input-dir", str(corpus.cli_input), "--output-dir", str(out)]
    with measured() as m:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir, check=False)
    outputs = sum(1 for p in out.rglob("*") if p.is_file())
    return {**m, "parallel": parallel, "files": corpus.pages, "outputs": outputs, "returncode": proc.returncode,
            "command": f"trafilatura --parallel {parallel} --input-dir DIR --output-dir OUT",
            **({"stderr_tail": proc.stderr[-500:]} if proc.returncode else {})}


def _feature_status() -> dict[str, Any]:
    """Which of the parallel features (triage, clustering) exist, and whether the pipeline uses them."""
    from curator.pipeline import Pipeline
    from curator.settings import LLMSettings

    try:
        from curator import cluster
    except ImportError:
        cluster = None  # type: ignore[assignment]
    names = dir(Pipeline)
    return {
        "cluster_module": cluster is not None and hasattr(cluster, "assign_stories"),
        "pipeline_clusters": any("cluster" in n for n in names),
        "pipeline_triage": "triage" in LLMSettings.model_fields,
    }


class _Always(list):  # type: ignore[type-arg]
    """A FakeOpenAI script that never runs out: every request gets `fn(request)`."""

    def __init__(self, fn: Callable[[dict[str, Any]], Any]) -> None:
        super().__init__([fn])

    def pop(self, index: int = -1) -> Any:
        return self[0]


_CANDIDATE = re.compile(r"^\[(\d+)\] (.*?) —— (.*)$", re.MULTILINE)


def _fake_llm_answer(settings: Any, delay_s: float) -> Callable[[dict[str, Any]], Any]:
    """Summaries: the fake's own valid answer. Triage batches: each candidate scored by curator's offline
    scorer on exactly what the model is shown (title + 200-character snippet), so the share triage keeps
    follows the publication profile rather than a number picked here."""
    from curator.enrich.offline import OfflineBackend
    from curator.models import EnrichRequest
    from tests.fake_openai import Reply, valid_answer

    offline = OfflineBackend(settings)
    sections = settings.section_ids()

    def triage_answer(prompt: str) -> str:
        items = []
        for m in _CANDIDATE.finditer(prompt):
            item_id, title, snippet = int(m.group(1)), m.group(2), m.group(3)
            try:
                enr = offline.enrich(EnrichRequest(item_id=item_id, url="http://bench.invalid/", title=title,
                                                   text=snippet or title, source="bench"))
                score, section = enr.score, enr.section
            except Exception:  # noqa: BLE001 - an unscorable candidate scores 0
                score, section = 0, ""
            items.append({"id": item_id, "score": int(score),
                          "section": section if section in sections else (sections[0] if sections else "")})
        return json.dumps({"items": items}, ensure_ascii=False)

    def answer(request: dict[str, Any]) -> Any:
        prompt = request["messages"][0]["content"]
        if "初筛" in prompt and _CANDIDATE.search(prompt):
            return Reply(content=triage_answer(prompt), delay_s=delay_s)
        return Reply(content=valid_answer(request), delay_s=delay_s)

    return answer


def _llm_counters(c: Counter[str]) -> dict[str, int]:
    return {"llm_calls": c.get("llm/calls", 0), "input_tokens": c.get("llm/input_tokens", 0),
            "output_tokens": c.get("llm/output_tokens", 0), "items_enriched": c.get("enrich/ok", 0),
            "triage_kept": c.get("triage/kept", 0), "triage_dropped": c.get("triage/dropped", 0)}


def _prepare_extracted(settings: Any) -> None:
    """discover + fetch + extract only (the pipeline's own stages), so both enrichment variants start from
    the same extracted items without extracting twice."""
    import asyncio

    from curator.models import RunSummary
    from curator.pipeline import Pipeline
    from curator.store import Store

    with Store(settings.db_path) as store:
        pipe = Pipeline(settings, store, _reporter_cls()("enrich prep", False))
        run = RunSummary(run_id=store.start_run("bench-prepare"), command="bench-prepare", status="running")
        asyncio.run(pipe._collect_network(run, True))
        pipe._extract(run)
        store.finish_run(run.run_id, "ok", dict(run.counters), [])


def enrichment(corpus: Corpus, server: ServerProcess, workdir: Path, items: int, latency_ms: float,
               concurrency: int, extract_timeout_s: float | None = None) -> dict[str, Any]:
    from curator.models import ItemState
    from curator.pipeline import Pipeline
    from curator.settings import LLMSettings, load_settings
    from curator.store import Store
    from tests.fake_openai import FakeOpenAI

    feats = _feature_status()
    feeds = corpus.feeds_for_items(items)
    base = make_workspace(workdir / "ws-llm-base", corpus.sources_toml(feeds))
    out: dict[str, Any] = {"feeds": len(feeds), "latency_ms": latency_ms, "concurrency": concurrency,
                           "features": feats}
    has_triage_setting = "triage" in LLMSettings.model_fields

    def settings_for(ws: Path, fake: FakeOpenAI | None, triage: bool) -> Any:
        llm: dict[str, Any] = {"provider": "offline"}
        if fake is not None:
            llm = {"provider": "openai", "base_url": fake.base_url, "api_key": "bench-fake-key",
                   "concurrency": concurrency, "max_retries": 1, "timeout_s": 30}
            if has_triage_setting:
                llm["triage"] = triage
        extra = {"extract": {"timeout_s": extract_timeout_s}} if extract_timeout_s is not None else {}
        return load_settings(ws, env={}, overrides={"fetch": fetch_overrides(server), "llm": llm,
                                                    "run": {"max_age_days": 0}, **extra})

    base_settings = settings_for(base, None, False)
    can_prepare = hasattr(Pipeline, "_collect_network") and hasattr(Pipeline, "_extract")
    if can_prepare:
        _prepare_extracted(base_settings)
    variants = [("every_item", False)] + ([("triage", True)] if feats["pipeline_triage"] else [])
    with FakeOpenAI() as fake:
        fake.script = _Always(_fake_llm_answer(base_settings, latency_ms / 1000))
        for name, triage in variants:
            ws = workdir / f"ws-llm-{name}"
            shutil.copytree(base, ws)
            settings = settings_for(ws, fake, triage)
            before = len(fake.requests)
            result, rep, m = run_collect(settings, f"enrich {name}", progress=False)
            c = result.counters
            stage = rep.stages.get("enrich", {})
            triage_stage = rep.stages.get("triage", {})
            row = {
                **_llm_counters(c), "items_extracted": c.get("extract/ok", 0),
                "fake_requests": len(fake.requests) - before, "collect_wall_s": m["wall_s"],
                "enrich_wall_s": stage.get("wall_s"), "triage_wall_s": triage_stage.get("wall_s"),
                "failures": {k: v for k, v in c.items()
                             if k.startswith(("enrich/", "triage/")) and k not in
                             ("enrich/ok", "triage/kept", "triage/dropped", "enrich/cached", "triage/cached")},
            }
            busy = (stage.get("wall_s") or 0) + (triage_stage.get("wall_s") or 0)
            row["calls_per_s"] = round(row["llm_calls"] / busy, 1) if busy else None
            if name == "every_item":
                before = len(fake.requests)
                result2, _, m2 = run_collect(settings, "enrich re-run", progress=False)
                row["rerun"] = {"wall_s": m2["wall_s"], "llm_calls": result2.counters.get("llm/calls", 0),
                                "fake_requests": len(fake.requests) - before,
                                "enrichments": _count(result2.counters, "enrich/")}
            with Store(settings.db_path) as store:
                row["_items"] = store.items(states=[ItemState.ENRICHED])
                row["_per_item"] = {r[0]: (r[1], r[2] or 0, r[3] or 0) for r in store.db.execute(
                    "SELECT item_id, COUNT(*), SUM(input_tokens), SUM(output_tokens) FROM llm_calls "
                    "WHERE item_id IS NOT NULL GROUP BY item_id")}
            out[name] = row

    every = out["every_item"]
    out.update({k: every[k] for k in ("llm_calls", "input_tokens", "output_tokens", "items_enriched",
                                        "enrich_wall_s", "calls_per_s", "rerun")})
    if feats["cluster_module"]:
        from curator import cluster

        def project(row: dict[str, Any], extra_calls: tuple[int, int, int]) -> dict[str, Any]:
            items_rows = row["_items"]
            inputs = [cluster.ClusterInput(
                item_id=i.id, title=(i.article.title if i.article else "") or i.title,
                text=i.article.text if i.article else "", lang=i.article.lang if i.article else None,
                published_at=i.published_at) for i in items_rows]
            t0 = time.perf_counter()
            stories = cluster.assign_stories(inputs)
            dt = time.perf_counter() - t0
            leads = set(stories.values())  # a story is named after its smallest item id: its lead
            per = row["_per_item"]
            return {
                "items": len(inputs), "stories": len(leads), "cluster_wall_s": round(dt, 3),
                "llm_calls": extra_calls[0] + sum(per.get(i, (0, 0, 0))[0] for i in leads),
                "input_tokens": extra_calls[1] + sum(per.get(i, (0, 0, 0))[1] for i in leads),
                "output_tokens": extra_calls[2] + sum(per.get(i, (0, 0, 0))[2] for i in leads),
                # enrichment stores story_id = the item's own id until something clusters
                "wired_into_pipeline": feats["pipeline_clusters"] or any(
                    i.story_id not in (None, i.id) for i in items_rows),
            }

        out["clustering"] = {**project(every, (0, 0, 0)),
                             "method": "curator.cluster.assign_stories on the enriched items; one summary per "
                                       "story = the calls/tokens this run spent on the story leads"}
        if "triage" in out:
            tr = out["triage"]
            per_item_total = [sum(v[k] for v in tr["_per_item"].values()) for k in range(3)]
            # calls not attributed to an item are the triage batches
            extra = (tr["llm_calls"] - per_item_total[0], tr["input_tokens"] - per_item_total[1],
                     tr["output_tokens"] - per_item_total[2])
            out["triage_clustering"] = {**project(tr, extra),
                                        "method": "triage calls as measured + one summary per story among the "
                                                  "items triage kept"}
    for name, _ in variants:
        out[name].pop("_items", None)
        out[name].pop("_per_item", None)
    return out


def profile_top(prof: cProfile.Profile, n: int = 25) -> dict[str, Any]:
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]

    def rows(key: str) -> list[dict[str, Any]]:
        buf: list[dict[str, Any]] = []
        entries = stats.stats  # type: ignore[attr-defined]
        idx = 3 if key == "cumulative" else 2
        for func, st in sorted(entries.items(), key=lambda kv: kv[1][idx], reverse=True)[:n]:
            file, line, name = func
            where = f"{Path(file).name}:{line}({name})" if file != "~" else name
            if "site-packages/" in file:
                where = file.split("site-packages/", 1)[1] + f":{line}({name})"
            elif str(REPO) in file:
                where = file.replace(str(REPO) + "/", "") + f":{line}({name})"
            buf.append({"function": where, "calls": st[1], "tottime_s": round(st[2], 3),
                        "cumtime_s": round(st[3], 3)})
        return buf

    return {"total_s": round(total, 3), "by_cumulative": rows("cumulative"), "by_tottime": rows("tottime")}


# ---- reporting ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for pkg in ("curator", "trafilatura", "lxml", "httpx", "openai", "feedparser", "datasketch", "pydantic"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return {"nproc": os.cpu_count(), "loadavg_at_end": [round(x, 2) for x in os.getloadavg()], "usable_cores": len(os.sched_getaffinity(0)), "cpu_model": model,
            "python": platform.python_version(), "platform": platform.platform(), "versions": versions}


def _f(x: float | None, nd: int = 1) -> str:
    return "–" if x is None else f"{x:,.{nd}f}"


def markdown(res: dict[str, Any]) -> str:
    p, fc, fl, cli, rr, en = (res[k] for k in ("params", "first_collect", "cpu_floor", "trafilatura_cli",
                                                "rerun", "enrichment"))
    st = fc["stages"]
    every = en.get("every_item", {})
    wired = bool(en.get("features", {}).get("pipeline_clusters"))
    rows: list[tuple[str, str, str]] = [
        ("corpus", f"{p['pages']:,} pages, {p['feeds']} feeds, {p['hosts']} hosts",
         (f"{p['unique_pages']} distinct real pages reused; {p['https_hosts']} hosts HTTPS, "
         f"{p['no_conditional_hosts']} ignore validators; {p['latency_ms']:g} ms per response")),
        ("first collect: wall", f"{_f(fc['wall_s'])} s",
         f"{_f(fc['pages_per_s'], 2)} pages/s ({fc['pages_fetched']:,} fetched, {fc['pages_extracted']:,} extracted)"),
        ("first collect: CPU (self + children)", f"{_f(fc['cpu_s'])} s",
         (f"{_f(fc['cpu_s'] / fc['wall_s'] if fc['wall_s'] else None, 2)} cores busy on average "
         f"(children {_f(fc['cpu_children_s'])} s)")),
        ("first collect: peak RSS", f"{_f(fc['peak_rss_mb'], 0)} MB",
         (f"ru_maxrss of the bench process; with its worker processes (sampled): "
         f"{_f(fc.get('peak_rss_sampled_mb'), 0)} MB summed RSS, {_f(fc.get('peak_pss_sampled_mb'), 0)} MB PSS "
         "(shared pages counted once)")),
    ]
    for name in ("discover", "fetch", "extract", "enrich"):
        if name in st:
            s = st[name]
            rows.append((f"  stage {name}", f"{_f(s['wall_s'])} s",
                         f"{s['items']:,} items, main-process CPU {_f(s['cpu_s'])} s"
                         + (f", {_f(s['items'] / s['wall_s'], 1)} items/s" if s["wall_s"] else "")))
    rows += [
        ("CPU floor: trafilatura.extract CPU / cores", f"{_f(fl['floor_s'])} s",
         (f"curator wall / floor = **{_f(fl['ratio'], 2)}×** ({_f(fl['trafilatura_cpu_s'])} s CPU over "
         f"{fl['cores']} cores, {_f(fl['per_page_ms'], 0)} ms/page); curator CPU / trafilatura CPU = "
         f"{_f(fl['cpu_ratio'], 2)}× (robust to other load on the machine)")),
    ]
    if "wall_s" in cli:
        rows.append((f"trafilatura CLI --parallel {cli['parallel']}", f"{_f(cli['wall_s'])} s",
                     (f"curator wall / CLI wall = **{_f(cli.get('ratio'), 2)}×** (CLI CPU {_f(cli['cpu_s'])} s, "
                     f"{cli['outputs']:,} output files: it names them by content hash, so copies collapse)")))
    else:
        rows.append(("trafilatura CLI", "n/a", cli.get("error", "")))
    rows += [
        ("unchanged re-run: wall", f"{_f(rr['wall_s'], 2)} s", f"{_f(100 * rr['share_of_first'], 1)}% of the first"),
        ("unchanged re-run: requests answered 304", f"{rr['not_modified']} of {rr['requests']}",
         (f"{rr['feeds_not_modified']} feeds unchanged by 304; the {rr['feeds_ignoring_validators']} feeds on hosts "
          "that ignore validators got 200 and added nothing")),
        ("unchanged re-run: page fetches / re-extractions / enrichments / LLM calls",
         f"{rr['page_fetches']} / {rr['re_extractions']} / {rr['enrichments']} / {rr['llm_calls']}",
         "must all be 0"),
        (f"enrichment, fake LLM ({en['latency_ms']:g} ms, concurrency {en['concurrency']}): "
         + ("current pipeline, triage off (clustering on)" if wired else "summarise every item"),
         f"{en['llm_calls']} calls, {en['input_tokens']:,} in + {en['output_tokens']:,} out tokens",
         (f"{every.get('items_extracted', 0)} items extracted, {en['items_enriched']} summarised in "
          f"{_f(en['enrich_wall_s'], 2)} s = {_f(en['calls_per_s'])} calls/s; tokens as the fake counts them "
          "(request JSON / 4)")),
        ("enrichment re-run: LLM calls", str(en["rerun"]["llm_calls"]), "must be 0"),
    ]

    def reduction(row: dict[str, Any]) -> str:
        if not en["llm_calls"] or not en["input_tokens"]:
            return ""
        return (f"{_f(100 * (1 - row['llm_calls'] / en['llm_calls']), 0)}% fewer calls, "
                f"{_f(100 * (1 - row['input_tokens'] / en['input_tokens']), 0)}% fewer input tokens than the row above")

    tr = en.get("triage")
    if tr:
        rows.append(("triage, then summarise the kept items" + (" (clustering on)" if wired else ""),
                     f"{tr['llm_calls']} calls, {tr['input_tokens']:,} in + {tr['output_tokens']:,} out tokens",
                     (f"measured; kept {tr['triage_kept']}, dropped {tr['triage_dropped']}; {reduction(tr)}; "
                      "fake triage scores = curator's offline scorer on title + snippet")))
    else:
        rows.append(("triage, then summarise the kept items", "n/a (not implemented yet)", ""))
    cl = en.get("clustering")
    if wired:
        same = every.get("failures", {}).get("enrich/same_story", 0)
        rows.append(("clustering (in the pipeline)", (f"{same} of {every.get('items_extracted', 0)} items joined "
                     "another story"), ("their summaries were skipped; a switch to turn clustering off would give the "
                     "every-item baseline (none exists, so it is not measured)")))
    elif cl:
        rows.append(("clustering: one summary per story",
                     f"{cl['llm_calls']} calls, {cl['input_tokens']:,} in + {cl['output_tokens']:,} out tokens",
                     (f"{cl['stories']} stories from {cl['items']} items; {reduction(cl)}; "
                      "projection: curator.cluster exists, the pipeline does not use it yet")))
        tc = en.get("triage_clustering")
        if tc:
            rows.append(("triage + clustering",
                         f"{tc['llm_calls']} calls, {tc['input_tokens']:,} in + {tc['output_tokens']:,} out tokens",
                         (f"{tc['stories']} stories among the {tc['items']} kept items; {reduction(tc)}; "
                          "triage measured, clustering projected")))
    else:
        rows.append(("clustering: one summary per story", "n/a (not implemented yet)", ""))
    if res.get("profile"):
        top = res["profile"]["by_cumulative"]
        rows.append(("profile (quick run)", "see results.json", ", ".join(r["function"] for r in top[:3])))
    m = res["machine"]
    out = ["| metric | value | ratio / notes |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    vers = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    la = fc.get("loadavg_before"), fc.get("loadavg_after")
    out += ["", (f"Machine: {m['nproc']} CPUs (`nproc`), {m['cpu_model'] or 'unknown CPU'}, Python {m['python']}; "
            f"{vers}. Load average (1/5/15 min) before / after the first collect: {la[0]} / {la[1]} "
            "(anything above 0 is other work sharing the cores)."), f"Run: `{res['command']}`, {res['finished_at']}; checks: "
            + ("all passed" if res["ok"] else "FAILED: " + "; ".join(res["problems"])) + "."]
    return "\n".join(out) + "\n"


# ---- main --------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    from curator.settings import load_settings

    if args.no_worker_recycling:
        import curator.workers as workers_mod

        if hasattr(workers_mod, "JOBS_PER_WORKER"):
            workers_mod.JOBS_PER_WORKER = None  # type: ignore[assignment]
    workdir = Path(args.workdir).resolve() if args.workdir else Path(tempfile.mkdtemp(prefix="curator-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    out_dir = Path(args.out_dir).resolve()
    problems: list[str] = []
    try:
        t0 = time.perf_counter()
        try:
            corpus = build_corpus(workdir / "corpus", pages=args.pages, feeds=args.feeds, hosts=args.hosts,
                                  data=args.data)
        except DatasetMissing as exc:
            print(f"{exc}: bench skipped (put the data at {args.data} to run it)")
            return 0
        print(f"[bench] corpus: {corpus.pages} pages ({corpus.unique_pages} distinct), {corpus.feeds} feeds, "
              f"{len(corpus.hosts)} hosts in {time.perf_counter() - t0:.1f}s -> {workdir}", file=sys.stderr)
        server = ServerProcess(corpus, args.latency_ms)
        try:
            ws = make_workspace(workdir / "ws", corpus.sources_toml())
            # The real pages carry their own (old) dates: fetch them all, as a fresh nightly run would.
            overrides: dict[str, Any] = {"fetch": fetch_overrides(server), "llm": {"provider": "offline"},
                                         "run": {"max_age_days": 0}}
            if args.extract_timeout_s is not None:
                overrides["extract"] = {"timeout_s": args.extract_timeout_s}
            settings = load_settings(ws, env={}, overrides=overrides)
            # 1. first collect
            prof = cProfile.Profile() if args.profile else None
            server.reset()
            load_before = [round(x, 2) for x in os.getloadavg()]
            result, rep, m = run_collect(settings, "first collect", profile=prof)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            c = result.counters
            first = {
                **m, "peak_rss_mb": round(rss, 1),
                "children_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
                "pages_fetched": c.get("fetch/ok", 0), "pages_extracted": c.get("extract/ok", 0),
                "pages_per_s": round(c.get("fetch/ok", 0) / m["wall_s"], 2) if m["wall_s"] else None,
                "stages": rep.stages, "counters": dict(sorted(c.items())), "server": server.stats(),
                "profiled": bool(prof), "loadavg_before": load_before,
                "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            }
            print(f"[bench] first collect: {m['wall_s']:.1f}s wall, {m['cpu_s']:.1f}s CPU", file=sys.stderr)
            if first["pages_fetched"] < 0.95 * corpus.pages:
                problems.append(f"first collect fetched only {first['pages_fetched']} of {corpus.pages} pages")

            # 2. unchanged re-run
            server.reset()
            result2, _, m2 = run_collect(settings, "re-run")
            srv2 = server.stats()
            c2 = result2.counters
            ignoring = sum(1 for j in range(corpus.feeds)
                           if corpus.feed_urls[j].split("/")[2] in corpus.no_conditional_hosts)
            rerun = {
                **m2, "share_of_first": round(m2["wall_s"] / m["wall_s"], 4) if m["wall_s"] else None,
                "requests": srv2["requests"], "not_modified": srv2["not_modified"],
                "client_not_modified": c2.get("http/not_modified", 0),
                "feeds_not_modified": c2.get("source/not_modified", 0), "feeds_ignoring_validators": ignoring,
                "page_fetches": c2.get("fetch/ok", 0), "re_extractions": _count(c2, "extract/"),
                "enrichments": _count(c2, "enrich/"), "llm_calls": c2.get("llm/calls", 0),
                "new_items": c2.get("discover/new", 0), "counters": dict(sorted(c2.items())),
            }
            for key in ("page_fetches", "re_extractions", "enrichments", "llm_calls", "new_items"):
                if rerun[key]:
                    problems.append(f"unchanged re-run: {key} = {rerun[key]} (must be 0)")
            if corpus.feeds > ignoring and rerun["not_modified"] == 0:
                problems.append("unchanged re-run: no request was answered 304")
            print(f"[bench] re-run: {m2['wall_s']:.2f}s, {srv2['not_modified']} x 304", file=sys.stderr)

            # 3. CPU floor, 4. trafilatura CLI
            floor = cpu_floor(corpus)
            floor["ratio"] = round(m["wall_s"] / floor["floor_s"], 3) if floor["floor_s"] else None
            floor["cpu_ratio"] = (round(m["cpu_s"] / floor["trafilatura_cpu_s"], 3)
                                  if floor["trafilatura_cpu_s"] else None)
            print(f"[bench] CPU floor: {floor['floor_s']:.1f}s", file=sys.stderr)
            cli = trafilatura_cli(corpus, workdir, floor["cores"])
            if "wall_s" in cli:
                cli["ratio"] = round(m["wall_s"] / cli["wall_s"], 3) if cli["wall_s"] else None
                if cli["returncode"]:
                    problems.append(f"trafilatura CLI exited {cli['returncode']}")
                print(f"[bench] trafilatura CLI: {cli['wall_s']:.1f}s", file=sys.stderr)

            # 5. enrichment with the fake LLM
            llm_items = min(args.llm_items, corpus.pages)
            enr = enrichment(corpus, server, workdir, llm_items, args.llm_latency_ms, args.llm_concurrency,
                             args.extract_timeout_s)
            if enr["llm_calls"] == 0:
                problems.append("enrichment made no LLM call")
            if enr["rerun"]["llm_calls"] or enr["rerun"]["fake_requests"] or enr["rerun"]["enrichments"]:
                problems.append(f"enrichment re-run made {enr['rerun']['llm_calls']} LLM calls (must be 0)")
            print(f"[bench] enrichment: {enr['llm_calls']} calls", file=sys.stderr)
        finally:
            server.close()
        commands = big_store_commands(workdir, args.store_items) if args.store_items else None

        res: dict[str, Any] = {
            "command": " ".join(["bench/bench_collect.py", *args.argv]),
            "finished_at": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "machine": machine(),
            "params": {"pages": corpus.pages, "feeds": corpus.feeds, "hosts": len(corpus.hosts),
                       "https_hosts": len(corpus.https_hosts), "no_conditional_hosts": len(corpus.no_conditional_hosts),
                       "unique_pages": corpus.unique_pages, "latency_ms": args.latency_ms, "quick": args.quick,
                       "max_concurrency": 32, "per_host_concurrency": 2, "llm_items": llm_items,
                       "llm_latency_ms": args.llm_latency_ms, "llm_concurrency": args.llm_concurrency,
                       "extract_timeout_s": args.extract_timeout_s,
                       "no_worker_recycling": args.no_worker_recycling},
            "first_collect": first, "rerun": rerun, "cpu_floor": floor, "trafilatura_cli": cli,
            "enrichment": enr, "commands": commands, "loadavg": [round(x, 2) for x in os.getloadavg()],
            "profile": profile_top(prof) if prof else None,
            "problems": problems, "ok": not problems,
        }
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "results.json").write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        table = targets.table(res) + "\n" + markdown(res)
        (out_dir / "results.md").write_text(table, encoding="utf-8")
        print(table)
        if prof is not None:
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(40)
            (out_dir / "profile.txt").write_text(buf.getvalue(), encoding="utf-8")
            print(f"profile of the first collect: {out_dir / 'profile.txt'}")
        if problems:
            print("BENCH CHECKS FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
            return 1
        if args.check_targets and (misses := targets.missed(res)):
            print("BENCH TARGETS MISSED (by more than 10%):\n  " + "\n  ".join(misses), file=sys.stderr)
            return 1
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"[bench] kept {workdir}", file=sys.stderr)


def big_store_commands(workdir: Path, items: int) -> dict[str, Any]:
    """draft / a board page / status / --help timed on a synthetic store of `items` items (bench/bigstore.py)."""
    t0 = time.perf_counter()
    built = bigstore.build(workdir / "big", items)
    print(f"[bench] big store: {items} items in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return {**built, **bigstore.time_commands(workdir / "big")}


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="bench/bench_collect.py", description=__doc__.split("\n", 1)[0])
    ap.add_argument("--pages", type=int, default=None, help="article pages (default 5000; --quick 300)")
    ap.add_argument("--feeds", type=int, default=None, help="RSS feeds, ~10 pages each (default 500; --quick 30)")
    ap.add_argument("--hosts", type=int, default=None, help="hosts (default min(feeds, 50))")
    ap.add_argument("--latency-ms", type=float, default=50.0, help="added to every response (default 50)")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 300 pages, 30 feeds, 100 LLM items")
    ap.add_argument("--llm-items", type=int, default=None, help="items enriched by the fake LLM (default 300)")
    ap.add_argument("--llm-latency-ms", type=float, default=50.0)
    ap.add_argument("--llm-concurrency", type=int, default=8)
    ap.add_argument("--extract-timeout-s", type=float, default=None,
                    help="override extract.timeout_s for the collects (the per-job parse deadline)")
    ap.add_argument("--no-worker-recycling", action="store_true",
                    help="run the parser pool without max_tasks_per_child (works around CPython gh-115634: "
                         "on Python < 3.13.x a pool whose workers hit the limit with work queued hangs)")
    ap.add_argument("--store-items", type=int, default=30_000,
                    help="items in the synthetic store draft / board / status are timed on (0: skip)")
    ap.add_argument("--no-check-targets", dest="check_targets", action="store_false",
                    help="print the targets table but exit 0 when a figure misses its target")
    ap.add_argument("--profile", action="store_true", help="cProfile the first collect (inflates its times)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder (../shared/data)")
    ap.add_argument("--out-dir", default=str(BENCH), help="where results.json / results.md go (default bench/)")
    ap.add_argument("--workdir", default=None, help="build the corpus and workspaces here (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("--render", default=None, metavar="RESULTS_JSON",
                    help="only rewrite results.md (next to the JSON) from a results.json")
    ap.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--no-conditional", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.argv = argv
    if args.pages is None:
        args.pages = 300 if args.quick else 5000
    if args.feeds is None:
        args.feeds = max(1, args.pages // 10)
    if args.llm_items is None:
        args.llm_items = 100 if args.quick else 300
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.serve:
        return serve_main(args.serve, args.latency_ms, args.no_conditional)
    if args.render:
        src = Path(args.render)
        table = markdown(json.loads(src.read_text(encoding="utf-8")))
        (src.parent / "results.md").write_text(table, encoding="utf-8")
        print(table)
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
