"""The parser pool: workers are recycled without deadlock, a stuck job is cut off, waiting is not timed."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import pytest

from curator import workers
from curator.errors import ExtractionError
from curator.settings import ExtractSettings


def _square(x: int) -> int:
    return x * x


def _slow(seconds: float) -> str:
    time.sleep(seconds)
    return "done"


def test_workers_are_recycled_without_deadlock(monkeypatch):
    monkeypatch.setattr(workers, "JOBS_PER_WORKER", 3)
    pool = workers.ParsePool(ExtractSettings(workers=2, timeout_s=30))

    async def main() -> list[int]:
        return await asyncio.gather(*(pool.run(_square, i) for i in range(40)))

    with pool:
        assert asyncio.run(main()) == [i * i for i in range(40)]


def test_a_stuck_job_is_cut_off_and_the_others_still_finish():
    # Generous on purpose: the deadline includes a fresh worker's start-up, which on a loaded machine
    # takes seconds; the stuck job sleeps far longer than any plausible load could stretch the rest.
    # 20 s: a 0.2 s job plus a fresh worker's start-up stays far below it even at a load of 12 on 2 cores.
    pool = workers.ParsePool(ExtractSettings(workers=2, timeout_s=20.0))

    async def main() -> list[object]:
        return await asyncio.gather(pool.run(_slow, 600.0), *(pool.run(_slow, 0.2) for _ in range(6)),
                                    return_exceptions=True)

    with pool:
        started = time.monotonic()
        results = asyncio.run(main())
    # Closing the pool did not wait the stuck job out: its worker was killed (it would sleep 600 s).
    assert time.monotonic() - started < 300
    errors = [r for r in results if isinstance(r, ExtractionError)]
    assert len(errors) == 1 and errors[0].reason == "parse_timeout" and errors[0].retryable
    assert results[0] is errors[0]
    assert results.count("done") == 6  # a slow neighbour never times out the jobs queued behind it


def test_a_jobs_deadline_starts_when_its_turn_comes_not_when_it_was_handed_out():
    # One worker, two jobs handed out at once (IN_FLIGHT): the second waits in the pool's queue while the
    # first runs. Each takes 4 s, under the 6 s deadline; timed from when it was handed out, the second
    # would have run over (8 s). The pool is warmed first, so no worker's start-up counts.
    assert workers.IN_FLIGHT >= 2
    pool = workers.ParsePool(ExtractSettings(workers=1, timeout_s=6.0))

    async def main() -> list[object]:
        await pool.run(_square, 2)  # the worker is up
        return await asyncio.gather(pool.run(_slow, 4.0), pool.run(_slow, 4.0), return_exceptions=True)

    with pool:
        assert asyncio.run(main()) == ["done", "done"]


def test_inline_mode_runs_in_process():
    pool = workers.ParsePool(ExtractSettings(workers=0))
    assert asyncio.run(pool.run(_square, 7)) == 49


@pytest.mark.parametrize("workers_setting", [-1])
def test_default_is_one_worker_per_core(workers_setting):
    import os

    assert workers.ParsePool(ExtractSettings(workers=workers_setting)).workers == (os.cpu_count() or 1)


def _doubled_or_die(batch: list[tuple[int, int]]) -> list[int]:
    """Doubles the batch; a batch marked with the parent's pid ends any worker process it runs in."""
    import os

    if any(v < 0 for v, _ in batch) and os.getpid() != batch[0][1]:
        os._exit(3)  # a worker's death (out of memory, killed), not an exception
    return [abs(v) * 2 for v, _ in batch]


def test_map_batches_keeps_order_and_a_dead_worker_loses_no_batch(caplog):
    import os

    me = os.getpid()
    batches = [[(b * 10 + i, me) for i in range(5)] for b in range(12)]
    assert list(workers.map_batches(_doubled_or_die, batches, workers=2, max_bytes=0)) == [
        [v * 2 for v, _ in b] for b in batches]
    batches[4] = [(-v, me) for v, _ in batches[4]]  # this batch kills the worker that takes it
    with caplog.at_level("WARNING", logger="curator.workers"):
        got = list(workers.map_batches(_doubled_or_die, batches, workers=2, max_bytes=0))
    assert got == [[abs(v) * 2 for v, _ in b] for b in batches]  # every batch, in order, the same results
    assert "a worker process died" in caplog.text


def _preloaded() -> tuple[bool, bool, int]:
    """In a worker: were trafilatura's all-language stop list and the extraction modules there before any job?"""
    import sys

    from trafilatura import external

    return external.JT_STOPLIST is not None, "curator.extract" in sys.modules, os.getpid()


def test_workers_start_with_the_parsers_loaded_once_in_the_fork_server():
    # The fork server imports curator.preload before it forks: each worker shares those pages instead of
    # importing (and holding) its own copy, and a recycled worker starts without importing anything again.
    pool = workers.ParsePool(ExtractSettings(workers=2, timeout_s=60))

    async def main() -> list[tuple[bool, bool, int]]:
        return list(await asyncio.gather(*(pool.run(_preloaded) for _ in range(4))))

    with pool:
        found = asyncio.run(main())
    assert all(stoplist and extract for stoplist, extract, _ in found)
    assert os.getpid() not in {pid for *_, pid in found}


def test_jobs_run_through_the_trimming_wrapper_keep_their_results_and_errors(monkeypatch):
    trims: list[int] = []
    monkeypatch.setattr(workers, "trim", lambda: trims.append(1))
    monkeypatch.setattr(workers, "_done", 0)
    assert [workers._job(_square, n) for n in range(workers.TRIM_EVERY * 2)] == [n * n for n in range(workers.TRIM_EVERY * 2)]
    with pytest.raises(ZeroDivisionError):
        workers._job(divmod, 1, 0)
    assert len(trims) == 2
    workers.trim()  # the real call: glibc gives pages back, elsewhere a no-op, never an error


def test_the_process_handing_out_jobs_trims_its_heap_on_schedule(monkeypatch):
    trims: list[int] = []
    monkeypatch.setattr(workers, "trim", lambda: trims.append(1))  # this process's; the workers keep theirs
    monkeypatch.setattr(workers, "TRIM_PARENT_EVERY", 2)
    pool = workers.ParsePool(ExtractSettings(workers=1, timeout_s=60))

    async def main() -> list[int]:
        return [await pool.run(_square, n) for n in range(5)]

    with pool:
        assert asyncio.run(main()) == [0, 1, 4, 9, 16]
    assert len(trims) == 2


def _words_loaded(batch: list[int]) -> list[tuple[bool, int]]:
    """In a worker: is jieba's dictionary loaded (before any job asked for it)? And the fork server's pid."""
    from curator import segment

    return [(segment.jieba.cache_info().currsize == 1, os.getppid())]


SWITCH_PROBE = """
import asyncio, json
from curator import workers
from curator.settings import ExtractSettings
from tests.test_workers import _words_loaded as words_loaded

async def parse(pool):
    return await pool.run(words_loaded, [0])

def parsers():
    with workers.ParsePool(ExtractSettings(workers=2, timeout_s=60)) as pool:
        return asyncio.run(parse(pool))[0]

first = parsers()
cutters = next(workers.map_batches(words_loaded, [[0]], workers=2, max_bytes=0, words=True))[0]
again = parsers()
print(json.dumps([first, cutters, again]))
"""


def test_the_parsers_fork_server_holds_no_word_dictionary_and_the_word_cutters_one_does():
    # In a fresh interpreter, so no other test's live worker keeps the fork server from being switched.
    done = subprocess.run([sys.executable, "-c", SWITCH_PROBE], capture_output=True, text=True, timeout=300,
                          check=False, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    (parse_words, parse_server), (cut_words, cut_server), (again_words, again_server) = json.loads(
        done.stdout.strip().splitlines()[-1])
    assert not parse_words and not again_words  # a collect's parsers: no 60 MB of jieba in their server
    assert cut_words  # the search index's and offline enrichment's workers start with it loaded
    assert len({parse_server, cut_server, again_server}) == 3  # a fork server each time the preload changed


MALLOC_PROBE = """
from curator.workers import tune_malloc
tune_malloc()

def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096

big = b"z" * (20 << 20)  # freed, it would raise glibc's own threshold to 20 MB
del big
blocks, pins = [], []
for i in range(64):  # page-sized buffers, each followed by a small block that stays
    blocks.append(b"x" * (1 << 20))
    pins.append(b"y" * 2000 + bytes([i]))
before = rss()
del blocks
print((before - rss()) >> 20)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc" or not Path("/proc/self/statm").exists(),
                    reason="glibc's allocator and /proc only")
def test_page_sized_buffers_go_back_to_the_system_when_freed():
    # After one large block, glibc would serve 1 MB buffers from its heap and keep their pages when they are
    # freed among blocks still in use (39 of 64 MB came back here); with tune_malloc they are their own
    # mappings: a collect's decoded pages stop holding memory once the parsers have them.
    done = subprocess.run([sys.executable, "-c", MALLOC_PROBE], capture_output=True, text=True, timeout=120,
                          check=False, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) >= 60
