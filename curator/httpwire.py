"""Fetch stage transport, the parts below the HTTP client: a bounded gzip/deflate decoder, Retry-After values
and the TLS context (no httpx here: `curator.http` is the one module that knows it)."""

from __future__ import annotations

import math
import ssl
import time
import zlib
from email.utils import parsedate_to_datetime

from curator.errors import ConfigError, FetchError


class BoundedDecoder:
    """Decode gzip/deflate in bounded steps; raise FetchError(too_large) once output passes `cap`."""

    def __init__(self, encoding: str, cap: int, url: str) -> None:
        self.encoding, self.cap, self.url = encoding, cap, url
        self.out = bytearray()
        self.raw_bytes = 0
        self._z: zlib._Decompress | None = None
        if encoding == "gzip":
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _too_large(self) -> FetchError:
        return FetchError(f"response body exceeds the {self.cap}-byte cap", reason="too_large", url=self.url)

    def feed(self, chunk: bytes) -> None:
        self.raw_bytes += len(chunk)
        if self.raw_bytes > self.cap:
            raise self._too_large()
        if self.encoding == "identity":
            self.out += chunk
            return
        if self._z is None:  # deflate: zlib-wrapped per RFC, but raw deflate is common in the wild
            cmf_flg = chunk[:2]
            zlib_wrapped = len(cmf_flg) == 2 and cmf_flg[0] & 0x0F == 8 and int.from_bytes(cmf_flg) % 31 == 0
            self._z = zlib.decompressobj(zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS)
        data = chunk
        try:
            while data and not self._z.eof:
                room = self.cap - len(self.out)
                piece = self._z.decompress(data, room + 1)  # never more than one byte past the cap
                self.out += piece
                if len(self.out) > self.cap:
                    raise self._too_large()
                if not piece and self._z.unconsumed_tail == data:
                    break
                data = self._z.unconsumed_tail
        except zlib.error as exc:
            raise FetchError(
                f"corrupt {self.encoding} body: {exc}", reason="decode_error", url=self.url
            ) from exc

    def finish(self) -> bytes:
        if self._z is not None:
            if self.raw_bytes and not self._z.eof:
                raise FetchError(f"truncated {self.encoding} body", reason="decode_error", url=self.url)
            self.out += self._z.flush()
            if len(self.out) > self.cap:
                raise self._too_large()
        return bytes(self.out)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or HTTP date); None when absent or garbage.
    Negative values and dates in the past mean 0."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None or when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        import certifi  # the bundle httpx itself would use; the system store stays loaded too

        ctx.load_verify_locations(cafile=certifi.where())
    except (ImportError, OSError):
        pass
    if ca_bundle:
        try:
            ctx.load_verify_locations(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"fetch.ca_bundle {ca_bundle!r} could not be loaded: {exc}") from exc
    return ctx


def is_tls_failure(exc: BaseException) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, ssl.SSLError | ssl.CertificateError):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False
