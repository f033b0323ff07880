"""Request counters of the demo corpus server (what tests and the bench read back)."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    not_modified: int = 0
    ok: int = 0
    not_found: int = 0
    by_path: Counter[str] = field(default_factory=Counter)  # "host/path" (no query) -> hits
    by_status: Counter[int] = field(default_factory=Counter)
    by_scheme: Counter[str] = field(default_factory=Counter)


class DemoStats:
    """Thread-safe request counters. `hits("news.demo.test", "/feed.xml")` or `hits("news.demo.test/feed.xml")`."""

    def __init__(self) -> None:
        self._s = _Stats()

    def record(self, host: str, path: str, status: int, scheme: str) -> None:
        with self._s.lock:
            self._s.requests += 1
            self._s.by_status[status] += 1
            self._s.by_scheme[scheme] += 1
            self._s.by_path[f"{host}{path}"] += 1
            if status == 304:
                self._s.not_modified += 1
            elif status == 200:
                self._s.ok += 1
            elif status == 404:
                self._s.not_found += 1

    @property
    def requests(self) -> int:
        with self._s.lock:
            return self._s.requests

    @property
    def not_modified(self) -> int:
        with self._s.lock:
            return self._s.not_modified

    @property
    def ok(self) -> int:
        with self._s.lock:
            return self._s.ok

    @property
    def not_found(self) -> int:
        with self._s.lock:
            return self._s.not_found

    def hits(self, host_or_key: str, path: str | None = None) -> int:
        key = host_or_key if path is None else f"{host_or_key}{path}"
        with self._s.lock:
            return self._s.by_path[key]

    def snapshot(self) -> dict[str, Any]:
        """A copy: {"requests", "not_modified", "ok", "not_found", "by_path", "by_status", "by_scheme"}."""
        with self._s.lock:
            return {
                "requests": self._s.requests,
                "not_modified": self._s.not_modified,
                "ok": self._s.ok,
                "not_found": self._s.not_found,
                "by_path": dict(self._s.by_path),
                "by_status": dict(self._s.by_status),
                "by_scheme": dict(self._s.by_scheme),
            }

    def reset(self) -> None:
        with self._s.lock:
            lock = self._s.lock
            self._s = _Stats(lock=lock)
