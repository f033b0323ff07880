"""CPU-heavy parsing (feeds, extraction) and offline enrichment in small process pools.

One pathological document can neither stall the run (a per-job deadline; a stuck pool is killed
and replaced) nor bloat it (each worker has an address-space cap and is recycled after a number of
jobs). The event loop keeps fetching while the workers parse.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import resource
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Self, TypeVar

from curator.errors import ExtractionError
from curator.models import Article, Page
from curator.packing import PackedPage, unpacked
from curator.settings import ExtractSettings

log = logging.getLogger(__name__)
T = TypeVar("T")
A = TypeVar("A")
JOBS_PER_WORKER = 500
# Jobs handed to the pool per worker: one running, the next one waiting in the pool's queue, so a worker
# that finishes a page starts the next at once instead of waiting for this process to hand it over (which
# waits its turn with the fetching on this process's one thread). Measured on the bench's 2,000 pages:
# cores busy while fetching 1.89 -> 1.99, the fetch stage 40.4 -> 38.6-39.2 s. A job's deadline starts when its
# turn comes (`ParsePool._next_turns`), not when it is handed out.
IN_FLIGHT = 2
TRIM_EVERY = 8  # jobs between two `malloc_trim` calls in a worker (~0.5 ms each; gives back ~10 MB)
# Jobs between two trims of the process handing them out: the pages it sent and the results it got back
# are freed, but glibc keeps their pages (~1 ms a call; ~20 MB given back in a 5,000-page collect).
TRIM_PARENT_EVERY = 128
# Imported once in the fork server, shared by every worker (see the modules). The parsers' server holds no
# word dictionary; the word-cutting workers' (`words=True`: search index, offline enrichment) adds jieba's.
PRELOAD = ["curator.preload"]
PRELOAD_WORDS = [*PRELOAD, "curator.preload_words"]
_server_lock = threading.Lock()
_server_preload: list[str] | None = None  # what the running fork server was started with


def _context(*, words: bool = False) -> multiprocessing.context.ForkServerContext:
    """The `forkserver` context with the preload the pool's jobs need.

    The fork server stays loaded for the next pool; when a pool wants the other preload and no worker of
    this process is alive (a fork server's workers report their exit through it), the server is restarted
    with it: a collect's parsers share no 60 MB of jieba they never read, and the word-cutting workers that
    follow them still start with it. Were a worker still alive, the running server stays: workers import
    what they lack themselves, only slower."""
    global _server_preload
    ctx = multiprocessing.get_context("forkserver")
    wanted = PRELOAD_WORDS if words else PRELOAD
    with _server_lock:
        if _server_preload is not None and _server_preload != wanted:
            if multiprocessing.active_children():
                return ctx
            _stop_fork_server()
        ctx.set_forkserver_preload(wanted)
        _server_preload = wanted
    return ctx


def _stop_fork_server() -> None:
    """Stop this process's fork server, if one runs (the next pool starts a new one with its preload)."""
    from multiprocessing import forkserver

    stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)  # CPython's, 3.8 to 3.14
    if stop is not None:
        stop()


_done = 0  # jobs this worker has run


def trim() -> None:
    """Give the heap's free pages back to the system (glibc keeps them after a large page is freed)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):  # not glibc (musl, macOS): nothing to give back this way
        pass


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_THRESHOLD = 256 * 1024


def tune_malloc() -> None:
    """Blocks of MMAP_THRESHOLD bytes and more get a mapping of their own, unmapped when freed.

    glibc's threshold otherwise rises to the largest block freed (up to 32 MB): after one large page, every
    page-sized buffer (a decoded page, its pickle for a parser) comes from the heap, whose freed pages stay
    with the process until a trim. Set in the collect process (`ParsePool`) and the fork server (inherited by
    every worker). Measured on the bench's 2,000 pages: the collect process 104–152 -> 83–109 MB PSS while
    fetching, the peak of all processes 385 -> 349 MB, CPU unchanged within noise."""
    try:
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    except (AttributeError, OSError):  # not glibc: its allocator has its own policy
        pass


def _job(fn: Callable[..., T], *args: Any) -> T:
    """Runs `fn(*args)` in a worker, trimming the heap every TRIM_EVERY jobs."""
    global _done
    try:
        return fn(*args)
    finally:
        _done += 1
        if _done % TRIM_EVERY == 0:
            trim()


def _address_space() -> int:
    """This process's virtual memory size in bytes (what RLIMIT_AS caps); 0 where /proc is missing."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def _init_worker(max_bytes: int, owner_pid: int) -> None:
    """Cap the worker's memory, and end it when the run that owns it is gone (even after kill -9)."""
    if max_bytes > 0:
        if _address_space() > max_bytes:
            # Forked with the parsers already loaded (curator.preload), it is over the cap before any job:
            # end now, as a worker that cannot load its code would (the pool reports it broken), not hang.
            os._exit(70)
        resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(owner_pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:
                pass

    threading.Thread(target=watch, name="owner-watch", daemon=True).start()


class ParsePool:
    """`await pool.run(fn, *args)` runs `fn` in a worker process (or inline when workers == 0)."""

    def __init__(self, settings: ExtractSettings) -> None:
        tune_malloc()  # this process holds the pages on their way to the parsers
        self.workers = pool_size(settings.workers)
        self.timeout_s = settings.timeout_s
        self.max_bytes = settings.worker_max_mb * 1024 * 1024
        self._pool: ProcessPoolExecutor | None = None
        self._jobs = 0  # jobs given to the current pool
        self._handed = 0  # jobs given to any pool (this process trims its heap every TRIM_PARENT_EVERY)
        self._slots: asyncio.Semaphore | None = None  # IN_FLIGHT jobs per worker handed out at most
        self._line: list[asyncio.Event] = []  # the jobs handed out, in order; set: the job may be running
        self.restarts = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _executor(self) -> Executor:
        # Recycle by replacing the pool every JOBS_PER_WORKER jobs per worker, not with max_tasks_per_child:
        # on CPython < 3.13 that deadlocks once a worker hits its limit with work queued (gh-115634).
        if self._pool is not None and self._jobs >= JOBS_PER_WORKER * self.workers:
            old, self._pool = self._pool, None
            old.shutdown(wait=False)  # its jobs handed out finish (at most IN_FLIGHT per worker, see _slots)
        if self._pool is None:
            self._jobs = 0
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=_context(),
                initializer=_init_worker,
                initargs=(self.max_bytes, os.getpid()),
            )
        self._jobs += 1
        return self._pool

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self.workers == 0:
            try:
                return fn(*args)
            except RecursionError:
                raise _too_deep() from None
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers * IN_FLIGHT)
        async with self._slots:
            try:
                return await self._run(fn, *args)
            finally:
                self._handed += 1
                if self._handed % TRIM_PARENT_EVERY == 0:
                    trim()

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        for attempt in (1, 2):
            executor = self._executor()
            future = asyncio.get_running_loop().run_in_executor(executor, _job, fn, *args)
            turn = asyncio.Event()
            self._line.append(turn)
            self._next_turns()
            try:
                await _first(future, turn)  # the deadline times the job, not its wait behind another
                return await asyncio.wait_for(future, self.timeout_s)
            except TimeoutError:
                log.warning("a parse job ran over %g s; replacing the worker pool", self.timeout_s)
                self._kill(executor)
                raise ExtractionError(f"parsing took longer than {self.timeout_s:g} s", reason="parse_timeout",
                                      retryable=True) from None
            except (BrokenProcessPool, asyncio.CancelledError) as exc:
                if executor is not self._pool and attempt == 1:
                    continue  # another job's deadline replaced the pool under this one: run it again once
                if isinstance(exc, asyncio.CancelledError):
                    raise
                self._kill(executor)
                raise ExtractionError("the parser process died (out of memory?)", reason="parser_crashed",
                                      retryable=True) from None
            except RecursionError:  # deeply nested JSON or markup: this document's outcome, not a crash
                raise _too_deep() from None
            except MemoryError:
                raise ExtractionError("the document needs more memory than a parser may use",
                                      reason="too_complex") from None
            finally:
                self._line.remove(turn)
                self._next_turns()
        raise AssertionError("unreachable")

    def _next_turns(self) -> None:
        """The pool runs the jobs in the order they were handed out, one per worker: a job may be running
        once fewer than `workers` jobs handed out before it are unfinished."""
        for turn in self._line[: self.workers]:
            turn.set()

    def _kill(self, pool: Executor) -> None:
        if pool is not self._pool:
            return  # already replaced
        self._pool = None
        self.restarts += 1
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


async def _first(future: asyncio.Future[Any], turn: asyncio.Event) -> None:
    """Until the job's turn has come (`ParsePool._next_turns`), or it ended before (a pool that broke)."""
    if turn.is_set():
        return
    waiter = asyncio.ensure_future(turn.wait())
    try:
        await asyncio.wait({future, waiter}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        future.cancel()  # as `wait_for` does: a job given up on is not run if it has not started
        raise
    finally:
        waiter.cancel()


def pool_size(workers: int) -> int:
    """Parser processes for an `extract.workers` setting (-1: one per core, 0: none, in-process)."""
    return workers if workers >= 0 else (os.cpu_count() or 1)


def map_batches(fn: Callable[[list[A]], T], batches: Iterable[list[A]], *, workers: int, max_bytes: int,
                words: bool = False) -> Iterator[T]:
    """`fn` of each batch in `workers` processes, the results in the batches' order, with at most two batches
    per worker in flight (the batches are read as the results are taken, never all at once). `words`: `fn`
    cuts Chinese words (the workers start with jieba's dictionary loaded).

    `fn` must give the same result wherever it runs: a worker that dies leaves its batch, and the rest, to
    this process, so the results are the same, only slower (and a warning says so)."""
    pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
        max_workers=workers, mp_context=_context(words=words), initializer=_init_worker,
        initargs=(max_bytes, os.getpid()))
    pending: deque[tuple[list[A], Future[T] | None]] = deque()  # None: to run here, in its turn

    def broken() -> None:
        nonlocal pool
        if pool is not None:
            log.warning("a worker process died; the rest of this work runs in this process")
            pool.shutdown(wait=False, cancel_futures=True)
            pool = None

    def submit(batch: list[A]) -> Future[T] | None:
        if pool is None:
            return None
        try:
            return pool.submit(_job, fn, batch)
        except BrokenProcessPool:  # a worker died since the last result was taken: this batch runs here too
            broken()
            return None

    def take() -> T:
        batch, future = pending.popleft()
        if future is not None:
            try:
                return future.result()
            except BrokenProcessPool:
                broken()
        return fn(batch)

    try:
        for batch in batches:
            pending.append((batch, submit(batch)))
            if len(pending) >= 2 * workers or pool is None:
                yield take()
        while pending:
            yield take()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _too_deep() -> ExtractionError:
    return ExtractionError("the document is nested too deeply to be parsed", reason="too_complex")


_HELD: Any = None  # the object a CallPool worker holds (built once per worker process by its factory)


def _init_call_worker(max_bytes: int, owner_pid: int, factory: Callable[..., Any], args: tuple[Any, ...]) -> None:
    global _HELD
    _init_worker(max_bytes, owner_pid)
    _HELD = factory(*args)


def _call_held(method: str, *args: Any) -> Any:
    return getattr(_HELD, method)(*args)


class CallPool:
    """Worker processes each holding one object, `factory(*args)`, built once per worker (its dictionaries
    and keyword tables loaded once, not per job); `call(method, *args)` runs `obj.method(*args)` in one of
    them and blocks the calling thread (many threads may call at once, one job per worker runs). Workers
    have the parser pool's address-space cap and are recycled after JOBS_PER_WORKER jobs each. `words`: the
    object cuts Chinese words (as in `map_batches`)."""

    def __init__(self, factory: Callable[..., Any], args: tuple[Any, ...], *, workers: int, max_bytes: int,
                 words: bool = False) -> None:
        self.factory, self.args, self.workers, self.max_bytes = factory, args, max(1, workers), max_bytes
        self.words = words
        self._pool: ProcessPoolExecutor | None = None
        self._jobs = 0
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is not None and self._jobs >= JOBS_PER_WORKER * self.workers:
                old, self._pool = self._pool, None
                old.shutdown(wait=False)  # recycled: its in-flight jobs finish first
            if self._pool is None:
                self._jobs = 0
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=_context(words=self.words),
                    initializer=_init_call_worker,
                    initargs=(self.max_bytes, os.getpid(), self.factory, self.args))
            self._jobs += 1
            return self._pool

    def call(self, method: str, *args: Any) -> Any:
        executor = self._executor()
        try:
            return executor.submit(_job, _call_held, method, *args).result()
        except BrokenProcessPool:
            with self._lock:
                if self._pool is executor:
                    self._pool = None  # the next call starts a fresh pool
            executor.shutdown(wait=False, cancel_futures=True)
            raise

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def extract_job(page: Page | PackedPage, anchor: str, settings: ExtractSettings) -> Article:
    """Runs in a worker: a `watch` entry on the page itself is its own article; else extract the page
    (a packed page is unpacked here, in the worker, not in the process that fetched it)."""
    from curator import extract
    from curator.sources import anchored_article

    page = unpacked(page)
    if anchor:
        article = anchored_article(page, anchor, settings.max_chars)
        if article is None:  # never the whole page's text under one entry's title
            raise ExtractionError(
                f"the entry #{anchor} is no longer on the watched page", reason="entry_missing",
                url=page.final_url, stage="extract",
            )
        return article
    return extract.extract_article(page, settings)


__all__ = ["CallPool", "ParsePool", "extract_job"]
