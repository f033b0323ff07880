"""One run at a time: an advisory lock file beside the store (freed by the kernel even after kill -9); for a
Postgres store, the database's advisory lock (curator/store/advisory.py), seen by every machine using it."""

from __future__ import annotations

import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from curator.errors import LockHeld, StoreError

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from curator.settings import Settings


def run_lock(settings: Settings, command: str) -> AbstractContextManager[object]:
    """The run lock of the workspace's store: the file lock beside a SQLite store, the advisory lock of a
    Postgres one. Either raises LockHeld (exit 75) when another run holds it."""
    if settings.store.url:
        from curator.store.advisory import AdvisoryLock

        return AdvisoryLock(settings.store.url, command)
    return RunLock(settings.lock_path, command)


class RunLock:
    def __init__(self, path: Path, command: str) -> None:
        self.path = path
        self.command = command
        self._fd: int | None = None

    def __enter__(self) -> Self:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot create the run lock {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise LockHeld(
                f"another curator run holds the lock {self.path} ({holder}); wait for it to finish, "
                "or stop it — the lock frees itself when that process ends"
            ) from None
        info = {"pid": os.getpid(), "command": self.command, "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
        try:
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(info).encode())
            os.fsync(fd)
        except OSError as exc:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            raise StoreError(f"cannot write the run lock {self.path}: {exc.strerror or exc} (is the disk full?)") from exc
        self._fd = fd
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _read_holder(fd: int) -> str:
    try:
        raw = os.pread(fd, 4096, 0)
        info = json.loads(raw or b"{}")
        return f"pid {info.get('pid', '?')}, `curator {info.get('command', '?')}` since {info.get('started_at', '?')}"
    except (OSError, ValueError):
        return "holder unknown"
