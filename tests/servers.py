"""Real Postgres and Redis servers on loopback for the tests that need them.

Each is started once per test session as the current user (initdb in a temporary directory, a free
port, loopback only; under root Postgres runs as the `postgres` system user because it refuses root).
Without the Debian packages the tests that use them skip with a reason; with `CI=true` a missing
server fails them instead (`tools/ensure_servers.sh`, which `.ci/run` and `make test` call, installs
them when it can).

Fixtures: `pg_server` / `redis_server` (session handles with `.url`, `.stop()`, `.start()` for
restart faults), `pg_url` (a fresh, empty database per test) and `redis_url` (the server flushed).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

STARTUP_DEADLINE_S = 120.0  # generous: a loaded 2-core machine can take a while to initdb


def _missing(what: str, how: str) -> None:
    reason = f"{what} is not installed ({how}); install it or run tools/ensure_servers.sh"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, deadline_s: float = STARTUP_DEADLINE_S) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on 127.0.0.1:{port} did not come up within {deadline_s:.0f} s")


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


class PostgresServer:
    """One throwaway cluster: superuser `curator`, trust auth on 127.0.0.1."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            user = "postgres"
            try:
                pwd.getpwnam(user)
            except KeyError:
                user = "nobody"
            self.as_user = ["runuser", "-u", user, "--"]
            shutil.chown(root, user=user)
        self._run("initdb", "-D", str(self.data), "-U", "curator", "-A", "trust", "-E", "UTF8", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql://curator@127.0.0.1:{self.port}/postgres"

    def url_for(self, dbname: str) -> str:
        return f"postgresql://curator@127.0.0.1:{self.port}/{dbname}"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / tool), *args],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.root,
        )

    def start(self) -> None:
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", opts, "-w",
                  "-t", str(int(STARTUP_DEADLINE_S)), "start")
        _wait_port(self.port)

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def createdb(self, name: str) -> str:
        subprocess.run(
            [str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "curator", name],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        return self.url_for(name)


class RedisServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.root), "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=STARTUP_DEADLINE_S)
            self.proc = None

    def flushall(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=10.0) as sock:
            sock.sendall(b"*1\r\n$8\r\nFLUSHALL\r\n")
            if not sock.recv(64).startswith(b"+OK"):
                raise RuntimeError("redis FLUSHALL failed")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    bindir = _pg_bindir()
    if bindir is None:
        _missing("PostgreSQL", "no initdb found")
    assert bindir is not None
    root = Path(tempfile.mkdtemp(prefix="curator-pg-"))
    server = PostgresServer(bindir, root)
    server.start()
    try:
        yield server
    finally:
        try:
            server.stop("immediate")
        except (subprocess.CalledProcessError, OSError):
            pass
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    """A fresh, empty database on the session's server."""
    return pg_server.createdb("t_" + uuid.uuid4().hex[:12])


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        _missing("Redis", "no redis-server on PATH")
    root = Path(tempfile.mkdtemp(prefix="curator-redis-"))
    server = RedisServer(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    if redis_server.proc is None:  # a fault test stopped it and did not restart
        redis_server.start()
    redis_server.flushall()
    return redis_server.url
