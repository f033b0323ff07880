"""Fetch stage transport: bounded, deadline-guarded, SSRF-safe HTTP GETs (the only module that knows httpx).

Every request: URL shape check → resolve once and vet (netguard) → connect to the pinned IP with the
original Host header and SNI → stream the raw body through a bounded gzip/deflate decoder → hand-followed
redirects, each hop vetted again. The whole thing runs under one overall deadline, because httpx's
timeouts bound each read, not the request (RELIABILITY: a 1 byte / 0.5 s drip outlived a 2 s timeout).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self
from urllib.parse import urldefrag, urljoin

import httpx

from curator import netguard
from curator.errors import FetchError, shown_url
from curator.httpwire import BoundedDecoder, is_tls_failure, parse_retry_after, ssl_context
from curator.models import Validators
from curator.netguard import Pin, Resolver, Target
from curator.settings import FetchSettings

log = logging.getLogger(__name__)

ACCEPT_ENCODING = "gzip, deflate"
_REDIRECTS = {301, 302, 303, 307, 308}
_LOCATION = "x-curator-location"  # where the Location header waits for our own redirect handling
_TEXTUAL = ("text/", "application/xml", "application/rss", "application/atom", "application/json", "+xml")


@dataclass(frozen=True)
class Response:
    url: str  # asked for
    final_url: str  # after redirects
    status: int  # 200 or 304 (other statuses raise)
    headers: dict[str, str]  # lower-cased names
    body: bytes  # decoded from gzip/deflate, capped; b"" on 304
    validators: Validators  # from ETag / Last-Modified of the final response
    not_modified: bool


@dataclass
class _Redirect:
    location: str


@dataclass
class _HostState:
    sem: asyncio.Semaphore
    next_start: float = 0.0  # loop time before which the next request must not start (per_host_delay_s)
    paused_until: float = 0.0  # loop time set by Retry-After on 429/503
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    host: str = ""


class HostGate(Protocol):
    """Per-host politeness shared beyond this process (the Celery engine's, engine/shared_http.py): the
    state above still paces this process; a gate adds the other processes' Retry-After pauses and delays."""

    async def wait(self, host: str, delay_s: float, budget_s: float) -> None: ...

    def pause(self, host: str, seconds: float) -> None: ...


def _translate(exc: httpx.HTTPError, url: str) -> FetchError:
    """httpx exception → FetchError with a stable reason (the caller raises it `from exc`)."""
    if is_tls_failure(exc):
        return FetchError(f"TLS verification/handshake failed: {exc}", reason="tls", url=url)
    if isinstance(exc, httpx.TimeoutException):
        kind = type(exc).__name__
        return FetchError(
            f"{kind}: the server did not answer in time", reason="timeout", url=url, retryable=True
        )
    if isinstance(exc, httpx.ConnectError):
        return FetchError(f"could not connect: {exc}", reason="connect", url=url, retryable=True)
    if isinstance(exc, httpx.RemoteProtocolError):
        return FetchError(f"protocol error: {exc}", reason="protocol", url=url, retryable=True)
    if isinstance(exc, httpx.NetworkError):
        return FetchError(f"connection failed: {exc}", reason="connect", url=url, retryable=True)
    return FetchError(f"HTTP client error: {type(exc).__name__}", reason="http_client", url=url)


async def _set_location_aside(response: httpx.Response) -> None:
    """httpx parses a redirect's Location inside send() even with follow_redirects off, and raises
    InvalidURL / RemoteProtocolError for `mailto:`, `javascript:`, `0177.0.0.1` … before curator can vet it.
    Redirects are followed by hand (`Fetcher._follow`), so the header is moved where httpx does not look."""
    if "location" in response.headers:
        response.headers[_LOCATION] = response.headers["location"]
        del response.headers["location"]


class Fetcher:
    """One shared httpx.AsyncClient with global/per-host limits; use as `async with Fetcher(s) as f`."""

    def __init__(
        self,
        settings: FetchSettings,
        *,
        resolver: Resolver | None = None,
        ca_bundle: str | None = None,
        retry_after_cap_s: float = 30.0,
        retry_backoff_s: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.retry_after_cap_s = retry_after_cap_s
        self.retry_backoff_s = retry_backoff_s
        self._ca_bundle = ca_bundle if ca_bundle is not None else getattr(settings, "ca_bundle", None)
        self._transport = transport  # tests inject a spy; production uses the pinned-IP transports below
        self._guard = netguard.Guard(
            resolver=resolver,
            allowed_hosts=settings.allowed_hosts,
            resolve=settings.resolve,
            dns_timeout_s=settings.connect_timeout_s,
        )
        self._timeout = httpx.Timeout(
            connect=settings.connect_timeout_s,
            read=settings.read_timeout_s,
            write=settings.read_timeout_s,
            pool=settings.deadline_s,
        )
        self._global = asyncio.Semaphore(settings.max_concurrency)
        self._hosts: dict[str, _HostState] = {}
        self._counters: dict[str, int] = {}
        self._client: httpx.AsyncClient | None = None
        self.gate: HostGate | None = None  # None: this process's own pacing only (the local engine)
        # httpx logs full URLs at INFO and httpcore's DEBUG trace prints raw response headers (Location with
        # credentials, Set-Cookie): neither may reach our logs.
        for noisy in ("httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(logging.WARNING)

    # -- lifecycle ------------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._client is None:
            self._client = self._build_client()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def _build_client(self) -> httpx.AsyncClient:
        common = {"timeout": self._timeout, "follow_redirects": False, "trust_env": False,
                  "event_hooks": {"response": [_set_location_aside]}}
        if self._transport is not None:
            return httpx.AsyncClient(transport=self._transport, **common)  # type: ignore[arg-type]
        ctx = ssl_context(self._ca_bundle)
        limits = httpx.Limits(max_connections=self.settings.max_concurrency * 2)
        # URLs are rewritten to the pinned IP, so the pool keys TLS connections by IP, not by name: keep no
        # idle TLS connections, or a request for one name could ride a connection verified for another.
        tls_limits = httpx.Limits(
            max_connections=self.settings.max_concurrency * 2, max_keepalive_connections=0
        )
        mounts = {
            "http://": httpx.AsyncHTTPTransport(verify=ctx, limits=limits, trust_env=False),
            "https://": httpx.AsyncHTTPTransport(verify=ctx, limits=tls_limits, trust_env=False),
        }
        return httpx.AsyncClient(mounts=mounts, **common)  # type: ignore[arg-type]

    # -- public ---------------------------------------------------------------------------------------

    @property
    def stats(self) -> dict[str, int]:
        return dict(self._counters)

    async def get(self, url: str, *, validators: Validators | None = None, accept: str = "*/*") -> Response:
        """GET `url` within the deadline; 200 or 304, else FetchError with a stable `reason`."""
        if self._client is None:
            raise RuntimeError("Fetcher is not open; use `async with Fetcher(settings) as fetcher:`")
        safe = shown_url(url)
        try:
            target = netguard.parse_url(url)
            safe = target.redacted()
            async with self._global:
                loop = asyncio.get_running_loop()
                deadline_at = loop.time() + self.settings.deadline_s
                try:
                    async with asyncio.timeout_at(deadline_at):
                        response = await self._with_retries(url, target, validators, accept, deadline_at)
                except TimeoutError as exc:
                    raise FetchError(
                        f"no complete response within the {self.settings.deadline_s:g}s deadline",
                        reason="timeout",
                        url=safe,
                        retryable=True,
                    ) from exc
        except FetchError as err:
            self._count(err.reason)
            log.info("fetch failed: %s (%s)", safe, err.reason)
            raise
        self._count("not_modified" if response.not_modified else "ok")
        log.debug("fetched %s -> %s (%d bytes)", safe, response.status, len(response.body))
        return response

    # -- internals ------------------------------------------------------------------------------------

    def _count(self, key: str) -> None:
        self._counters[f"fetch/{key}"] = self._counters.get(f"fetch/{key}", 0) + 1

    def _host(self, host: str) -> _HostState:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _HostState(asyncio.Semaphore(self.settings.per_host_concurrency), host=host)
        return state

    async def _with_retries(
        self, url: str, target: Target, validators: Validators | None, accept: str, deadline_at: float
    ) -> Response:
        attempt = 0
        while True:
            try:
                return await self._follow(url, target, validators, accept, deadline_at)
            except FetchError as err:
                wait = self._retry_wait(err, attempt, deadline_at)
                if wait is None:
                    raise
                attempt += 1
                self._count("retry")
                log.debug("retrying %s in %.2fs after %s", target.redacted(), wait, err.reason)
                await asyncio.sleep(wait)

    def _retry_wait(self, err: FetchError, attempt: int, deadline_at: float) -> float | None:
        """Seconds to wait before retrying, or None when this failure must not be retried now."""
        if not err.retryable or attempt >= self.settings.retries:
            return None
        retry_after: float | None = getattr(err, "retry_after_s", None)
        if retry_after is not None:
            if retry_after > self.retry_after_cap_s:
                return None  # the host asked for longer than we wait in-run; the item waits for the next run
            wait = retry_after
        elif err.reason == "rate_limited":
            return None  # rate-limited without a stated wait: don't guess, don't storm
        else:
            wait = self.retry_backoff_s * random.uniform(0.5, 1.5)
        remaining = deadline_at - asyncio.get_running_loop().time()
        return wait if wait < remaining - 0.05 else None

    async def _follow(
        self, url: str, target: Target, validators: Validators | None, accept: str, deadline_at: float
    ) -> Response:
        current_url, current = urldefrag(url.strip())[0], target
        seen = {current.key}
        redirects = 0
        while True:
            result = await self._exchange(current, validators, accept, deadline_at)
            if isinstance(result, Response):
                return Response(
                    url=url,
                    final_url=url if redirects == 0 else current_url,
                    status=result.status,
                    headers=result.headers,
                    body=result.body,
                    validators=result.validators,
                    not_modified=result.not_modified,
                )
            next_url = urldefrag(urljoin(current_url, result.location.strip()))[0]
            nxt = netguard.parse_url(next_url)  # blocked_scheme / credentials_in_url on a redirect too
            if nxt.key in seen:
                raise FetchError(
                    f"redirect loop: {current.redacted()} -> {nxt.redacted()}",
                    reason="redirect_loop",
                    url=target.redacted(),
                )
            redirects += 1
            if redirects > self.settings.max_redirects:
                raise FetchError(
                    f"more than {self.settings.max_redirects} redirects",
                    reason="too_many_redirects",
                    url=target.redacted(),
                )
            self._count("redirect")
            seen.add(nxt.key)
            current_url, current = next_url, nxt

    async def _exchange(
        self, target: Target, validators: Validators | None, accept: str, deadline_at: float
    ) -> Response | _Redirect:
        """One hop: pin, wait for the host, send, classify. Returns a Response or a redirect."""
        safe = target.redacted()
        pin = await self._guard.pin(target)
        state = self._host(target.host)
        loop = asyncio.get_running_loop()
        if state.paused_until > loop.time():
            pause = state.paused_until - loop.time()
            if state.paused_until >= deadline_at:
                err = FetchError(
                    f"host paused for {pause:.1f}s by Retry-After",
                    reason="rate_limited",
                    url=safe,
                    retryable=True,
                )
                err.retry_after_s = pause  # type: ignore[attr-defined]
                raise err
            await asyncio.sleep(pause)
        if self.gate is not None:
            await self.gate.wait(target.host, self.settings.per_host_delay_s, deadline_at - loop.time())
        async with state.sem:
            if self.settings.per_host_delay_s:
                async with state.lock:
                    delay = state.next_start - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    state.next_start = loop.time() + self.settings.per_host_delay_s
            response = await self._send(target, pin, validators, accept)
            try:
                return await self._handle(response, target, state, validators)
            except httpx.HTTPError as exc:
                raise _translate(exc, safe) from exc
            finally:
                await response.aclose()

    async def _send(
        self, target: Target, pin: Pin, validators: Validators | None, accept: str
    ) -> httpx.Response:
        """Send to the pinned address; on a refused/unreachable address try the lookup's other (vetted)
        answers, so a host with a dead IPv6 answer still works. TLS failures never fall through."""
        assert self._client is not None
        candidates = [pin, *pin.others()]
        for i, candidate in enumerate(candidates):
            request = self._build_request(target, candidate, validators, accept)
            try:
                return await self._client.send(request, stream=True)
            except httpx.ConnectError as exc:
                if i + 1 < len(candidates) and not is_tls_failure(exc):
                    log.debug("connect to %s failed; trying the next address", candidate.ip)
                    continue
                raise _translate(exc, target.redacted()) from exc
            except httpx.HTTPError as exc:
                raise _translate(exc, target.redacted()) from exc
        raise AssertionError("unreachable")

    def _build_request(
        self, target: Target, pin: Pin, validators: Validators | None, accept: str
    ) -> httpx.Request:
        headers = {
            "Host": target.host_header,
            "User-Agent": self.settings.user_agent,
            "Accept": accept,
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        if validators is not None:
            if validators.etag:
                headers["If-None-Match"] = validators.etag
            if validators.last_modified:
                headers["If-Modified-Since"] = validators.last_modified
        extensions: dict[str, object] = {"timeout": self._timeout.as_dict()}
        if target.scheme == "https" and netguard.literal_ip(target.host) is None:
            extensions["sni_hostname"] = target.host  # verify the certificate against the name, not the IP
        return httpx.Request(
            "GET",
            f"{target.scheme}://{pin.netloc}{target.path_query}",
            headers=headers,
            extensions=extensions,
        )

    async def _handle(
        self, response: httpx.Response, target: Target, state: _HostState, sent: Validators | None
    ) -> Response | _Redirect:
        safe = target.redacted()
        status = response.status_code
        headers = {k.lower(): v for k, v in response.headers.items()}
        if status in _REDIRECTS:
            location = headers.get(_LOCATION) or headers.get("location")
            if not location:
                raise FetchError(
                    f"HTTP {status} without a Location header", reason=f"http_{status}", url=safe
                )
            return _Redirect(location)
        if status == 304:
            validators = Validators(
                etag=headers.get("etag") or (sent.etag if sent else None),
                last_modified=headers.get("last-modified") or (sent.last_modified if sent else None),
            )
            return Response(safe, safe, 304, headers, b"", validators, True)
        if status == 200:
            body = await self._read_body(response, headers, safe)
            validators = Validators(etag=headers.get("etag"), last_modified=headers.get("last-modified"))
            return Response(safe, safe, 200, headers, body, validators, False)
        raise self._status_error(status, headers, state, safe)

    def _status_error(self, status: int, headers: dict[str, str], state: _HostState, safe: str) -> FetchError:
        retry_after = parse_retry_after(headers.get("retry-after"))
        exhausted = headers.get("x-ratelimit-remaining", "").strip() == "0"
        if exhausted and retry_after is None and headers.get("x-ratelimit-reset", "").strip().isdigit():
            retry_after = max(0.0, int(headers["x-ratelimit-reset"]) - time.time())
        if status == 429 or (status == 403 and exhausted):
            err = FetchError(
                f"HTTP {status}: rate limited by the server", reason="rate_limited", url=safe, retryable=True
            )
        elif status == 403:
            err = FetchError(
                "HTTP 403: the server refused us (anti-bot or forbidden)", reason="blocked", url=safe
            )
        elif status >= 500:
            err = FetchError(
                f"HTTP {status} from the server", reason=f"http_{status}", url=safe, retryable=True
            )
        else:
            err = FetchError(f"HTTP {status}", reason=f"http_{status}", url=safe)
        if err.retryable and retry_after is not None and status in (403, 429, 503):
            err.retry_after_s = retry_after  # type: ignore[attr-defined]
            pause = min(retry_after, self.retry_after_cap_s)
            state.paused_until = max(state.paused_until, asyncio.get_running_loop().time() + pause)
            if self.gate is not None:
                self.gate.pause(state.host, pause)
        return err

    async def _read_body(self, response: httpx.Response, headers: dict[str, str], safe: str) -> bytes:
        cap = self.settings.max_bytes
        codings = [c.strip().lower() for c in headers.get("content-encoding", "").split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise FetchError(
                f"unsupported Content-Encoding {headers['content-encoding']!r} (we ask for gzip, deflate only)",
                reason="bad_encoding",
                url=safe,
            )
        encoding = {"x-gzip": "gzip"}.get(codings[0], codings[0]) if codings else "identity"
        length = headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > cap:
            raise FetchError(
                f"Content-Length {int(length)} exceeds the {cap}-byte cap", reason="too_large", url=safe
            )
        decoder = BoundedDecoder(encoding, cap, safe)
        async for chunk in response.aiter_raw():
            decoder.feed(chunk)
        body = decoder.finish()
        content_type = headers.get("content-type", "").lower()
        if encoding == "identity" and body[:2] == b"\x1f\x8b" and any(t in content_type for t in _TEXTUAL):
            raise FetchError(
                f"gzip bytes served as {content_type or 'text'} without Content-Encoding",
                reason="binary_body",
                url=safe,
            )
        return body
