"""A raw-socket HTTP server on 127.0.0.1 for misbehaving peers (bodies that never end, odd Location headers).

Each connection reads one request head and hands it to `respond(path, sock)`, which writes whatever bytes it
likes. Every loop is bounded: a streaming responder stops after `max_bytes` or when the client hangs up, and
the server stops with its context.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Self

Responder = Callable[[str, socket.socket], None]


def send_response(sock: socket.socket, status: str, headers: dict[str, str], body: bytes = b"") -> None:
    head = "".join(f"{k}: {v}\r\n" for k, v in {**headers, "Content-Length": str(len(body)),
                                                    "Connection": "close"}.items())
    sock.sendall(f"HTTP/1.1 {status}\r\n{head}\r\n".encode() + body)


def stream_zeros(sock: socket.socket, content_type: str, max_bytes: int = 256 * 1024 * 1024) -> None:
    """A 200 whose body is NUL bytes without end (no Content-Length), as /dev/zero behind a server."""
    sock.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n".encode())
    chunk = b"\0" * 65536
    sent = 0
    try:
        while sent < max_bytes:
            sock.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass  # the client stopped reading at its cap and closed


class RawServer:
    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.paths: list[str] = []
        self.connections = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        with conn:
            head = b""
            try:
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    data = conn.recv(4096)
                    if not data:
                        return
                    head += data
            except OSError:
                return
            parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            path = parts[1] if len(parts) > 1 else "/"
            with self._lock:
                self.paths.append(path)
            try:
                self.respond(path, conn)
            except OSError:
                pass


class Listener:
    """A plain TCP listener that only counts who connects (an internal service that must stay untouched)."""

    def __init__(self) -> None:
        self.server = RawServer(lambda path, sock: None)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def connections(self) -> int:
        return self.server.connections

    def __enter__(self) -> Self:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)
