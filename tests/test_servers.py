"""The loopback servers the Postgres and Celery tests stand on come up and answer."""

from __future__ import annotations

import socket
import subprocess


def test_postgres_answers_a_query(pg_server, pg_url):
    out = subprocess.run(
        [str(pg_server.bindir / "psql"), pg_url, "-Atc", "select 40 + 2"],
        check=True, capture_output=True, text=True,
    )
    assert out.stdout.strip() == "42"


def test_redis_answers_ping(redis_url, redis_server):
    with socket.create_connection(("127.0.0.1", redis_server.port), timeout=10) as sock:
        sock.sendall(b"*1\r\n$4\r\nPING\r\n")
        assert sock.recv(16).startswith(b"+PONG")
