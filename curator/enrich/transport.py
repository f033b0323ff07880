"""The LLM client's HTTP transport: answers are read with a size cap, like every other read curator makes.

The openai SDK reads a whole response into memory, and its timeouts bound each read, not the answer: an
endpoint that streams without end (a broken proxy, a hostile `OPENAI_BASE_URL`) would grow the process
until it dies. Answers are a few kilobytes, so the raw body is capped, and only an uncompressed body is
asked for and accepted (a small gzip body can decode to one huge chunk).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import openai

MAX_ANSWER_BYTES = 4_000_000


class AnswerTooLarge(httpx2.RemoteProtocolError):
    """The endpoint sent more than MAX_ANSWER_BYTES, or a compressed body nobody asked for."""


class _CappedStream(httpx2.SyncByteStream):
    def __init__(self, inner: Any, cap: int, request: httpx2.Request) -> None:
        self._inner, self._cap, self._request = inner, cap, request

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for chunk in self._inner:
            seen += len(chunk)
            if seen > self._cap:
                raise AnswerTooLarge(f"the LLM answer exceeds {self._cap} bytes", request=self._request)
            yield chunk

    def close(self) -> None:
        self._inner.close()


class CappedTransport(httpx2.HTTPTransport):
    def __init__(self, max_bytes: int = MAX_ANSWER_BYTES, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_bytes = max_bytes

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        request.headers["Accept-Encoding"] = "identity"
        response = super().handle_request(request)
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            response.close()
            raise AnswerTooLarge(f"the LLM endpoint sent a {encoding!r} body we did not ask for", request=request)
        response.stream = _CappedStream(response.stream, self.max_bytes, request)
        return response


def capped_http_client(max_bytes: int = MAX_ANSWER_BYTES) -> Any:
    """The SDK's own default client (its timeouts, limits, redirects) over the capped transport."""
    return openai.DefaultHttpxClient(transport=CappedTransport(max_bytes))


def too_large(exc: BaseException) -> bool:
    """True when an SDK connection error was our cap (the SDK raises APIConnectionError from it)."""
    return isinstance(exc.__cause__, AnswerTooLarge)
