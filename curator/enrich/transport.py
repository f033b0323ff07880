"""The LLM client's HTTP transport: answers are read with a size cap, like every other read curator makes.

The openai SDK reads a whole response into memory, and its timeouts bound each read, not the answer: an
endpoint that streams without end (a broken proxy, a hostile `OPENAI_BASE_URL`) would grow the process
until it dies. Answers are a few kilobytes, so the raw body is capped, and only an uncompressed body is
asked for and accepted (a small gzip body can decode to one huge chunk).

The SDK's timeout bounds each read, so an endpoint dripping a byte every few seconds keeps a call alive
for ever. `call_deadline()` gives one call (the SDK's retries included) an overall deadline: a watchdog
shuts the socket when it passes, and the call ends as a timeout (`llm_timeout`, retryable).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import openai

MAX_ANSWER_BYTES = 4_000_000


class AnswerTooLarge(httpx2.RemoteProtocolError):
    """The endpoint sent more than MAX_ANSWER_BYTES, or a compressed body nobody asked for."""


class DeadlinePassed(httpx2.ReadTimeout):
    """The call's overall deadline passed (the SDK reports it as APITimeoutError)."""


_local = threading.local()


@contextmanager
def call_deadline(seconds: float) -> Iterator[None]:
    """Every request made by this thread inside the block ends by `seconds` from now."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = time.monotonic() + seconds
    try:
        yield
    finally:
        _local.deadline = previous


class _Watchdog:
    """Shuts the request's socket down when the deadline passes, so a blocked read returns at once."""

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline
        self.expired = threading.Event()
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        if deadline is not None:
            self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
            self._timer.daemon = True
            self._timer.start()

    def watch(self, stream: Any) -> None:
        sock = stream.get_extra_info("socket") if stream is not None else None
        with self._lock:
            self._sock = sock if isinstance(sock, socket.socket) else self._sock
            if self.expired.is_set():
                self._shut()

    def _fire(self) -> None:
        self.expired.set()
        with self._lock:
            self._shut()

    def _shut(self) -> None:
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed

    def trace(self, name: str, info: dict[str, Any]) -> None:
        if name.endswith(("connect_tcp.complete", "start_tls.complete")):
            self.watch(info.get("return_value"))

    def check(self, request: httpx2.Request) -> None:
        if self.expired.is_set():
            raise DeadlinePassed("the LLM call ran past its deadline", request=request)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


class _CappedStream(httpx2.SyncByteStream):
    def __init__(self, inner: Any, cap: int, request: httpx2.Request, watchdog: _Watchdog) -> None:
        self._inner, self._cap, self._request, self._watchdog = inner, cap, request, watchdog

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        try:
            for chunk in self._inner:
                self._watchdog.check(self._request)
                seen += len(chunk)
                if seen > self._cap:
                    raise AnswerTooLarge(f"the LLM answer exceeds {self._cap} bytes", request=self._request)
                yield chunk
        except httpx2.TransportError:
            self._watchdog.check(self._request)  # a read cut by the watchdog is the deadline, not a reset
            raise
        self._watchdog.check(self._request)

    def close(self) -> None:
        self._watchdog.cancel()
        self._inner.close()


class CappedTransport(httpx2.HTTPTransport):
    def __init__(self, max_bytes: int = MAX_ANSWER_BYTES, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_bytes = max_bytes

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        request.headers["Accept-Encoding"] = "identity"
        deadline = getattr(_local, "deadline", None)
        if deadline is not None and time.monotonic() >= deadline:  # an SDK retry after the deadline
            raise DeadlinePassed("the LLM call ran past its deadline", request=request)
        watchdog = _Watchdog(deadline)
        request.extensions = {**request.extensions, "trace": watchdog.trace}
        try:
            response = super().handle_request(request)
        except httpx2.TransportError:
            watchdog.cancel()
            watchdog.check(request)
            raise
        watchdog.watch(response.extensions.get("network_stream"))  # a reused connection: its socket now
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            watchdog.cancel()
            response.close()
            raise AnswerTooLarge(f"the LLM endpoint sent a {encoding!r} body we did not ask for", request=request)
        response.stream = _CappedStream(response.stream, self.max_bytes, request, watchdog)
        return response


def capped_http_client(max_bytes: int = MAX_ANSWER_BYTES) -> Any:
    """The SDK's own default client (its timeouts, limits, redirects) over the capped transport."""
    return openai.DefaultHttpxClient(transport=CappedTransport(max_bytes))


def too_large(exc: BaseException) -> bool:
    """True when an SDK connection error was our cap (the SDK raises APIConnectionError from it)."""
    return isinstance(exc.__cause__, AnswerTooLarge)
