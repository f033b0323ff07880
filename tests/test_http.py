"""curator.http against real servers on 127.0.0.1 (pytest-httpserver and tiny bounded socket servers).

Addresses other than loopback appear only as stub-resolver answers or URL strings; those tests use a
spy transport / resolver to prove nothing was sent.
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import logging
import shutil
import socket
import ssl
import subprocess
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Self

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request
from werkzeug import Response as WResponse

from curator.errors import BlockedAddress, FetchError
from curator.http import Fetcher, Response, parse_retry_after
from curator.models import Validators
from curator.settings import FetchSettings

MB = 1 << 20


# -- helpers -------------------------------------------------------------------------------------------


def settings(**kw) -> FetchSettings:
    base = {
        "allowed_hosts": ["127.0.0.1"],
        "connect_timeout_s": 2.0,
        "read_timeout_s": 2.0,
        "deadline_s": 10.0,
        "retries": 1,
        "max_bytes": MB,
    }
    base.update(kw)
    return FetchSettings(**base)


def run(coro, limit: float = 40.0):
    async def bounded():
        async with asyncio.timeout(limit):
            return await coro

    return asyncio.run(bounded())


def fetch(s: FetchSettings, url: str, **kw) -> tuple[Response | FetchError, dict[str, int]]:
    """One GET; returns (Response or the FetchError raised, stats)."""
    get_kw = {k: kw.pop(k) for k in ("validators", "accept") if k in kw}

    async def go():
        async with Fetcher(s, **kw) as f:
            try:
                return await f.get(url, **get_kw), f.stats
            except FetchError as err:
                return err, f.stats

    return run(go())


def fails(result: Response | FetchError, reason: str) -> FetchError:
    assert isinstance(result, FetchError), f"expected failure {reason}, got {result!r}"
    assert result.reason == reason, f"expected {reason}, got {result.reason}: {result}"
    return result


class SpyResolver:
    def __init__(self, *answers: list[str] | BaseException, delay: float = 0.0) -> None:
        self.answers, self.delay = list(answers), delay
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if self.delay:
            await asyncio.sleep(self.delay)
        answer = self.answers[min(len(self.calls), len(self.answers)) - 1]
        if isinstance(answer, BaseException):
            raise answer
        return answer


class SpyTransport(httpx.AsyncBaseTransport):
    """Records every request that would go on the wire; forwards to loopback only, else answers itself."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answer is not None:
            return self.answer(request)
        assert request.url.host in ("127.0.0.1", "::1"), f"spy refused to forward to {request.url.host}"
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class RawServer:
    """Threaded TCP server on 127.0.0.1: `handler(conn, server)` per connection; bounded in count and time."""

    def __init__(
        self, handler: Callable[[socket.socket, RawServer], None], max_conns: int = 8, lifetime_s: float = 20
    ):
        self.handler, self.max_conns, self.lifetime_s = handler, max_conns, lifetime_s
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.accepted = 0
        self.active = 0
        self.max_active = 0
        self.sent = 0
        self.lock = threading.Lock()
        self.conns: list[socket.socket] = []
        self.threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> Self:
        t = threading.Thread(target=self._serve, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for c in list(self.conns):
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        for t in self.threads:
            t.join(timeout=5)
        self.sock.close()

    def _serve(self) -> None:
        end = time.monotonic() + self.lifetime_s
        while not self.stop.is_set() and time.monotonic() < end and self.accepted < self.max_conns:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(self.lifetime_s)
            self.accepted += 1
            self.conns.append(conn)
            t = threading.Thread(target=self._run, args=(conn,), daemon=True)
            t.start()
            self.threads.append(t)

    def _run(self, conn: socket.socket) -> None:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            self.handler(conn, self)
        except OSError:
            pass
        finally:
            with self.lock:
                self.active -= 1
            conn.close()

    def read_request(self, conn: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        return data

    def send_until_error(self, conn: socket.socket, total: int, chunk: bytes) -> None:
        while self.sent < total and not self.stop.is_set():
            conn.sendall(chunk)
            self.sent += len(chunk)


@pytest.fixture
def srv(httpserver_ipv4: HTTPServer) -> HTTPServer:
    return httpserver_ipv4


def at(server: HTTPServer, path: str) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


# -- basics ------------------------------------------------------------------------------------------------


def test_ok_response_and_request_headers(srv: HTTPServer) -> None:
    seen: dict[str, str] = {}

    def handler(request: Request) -> WResponse:
        seen.update({k.lower(): v for k, v in request.headers.items()})
        return WResponse("hello", headers={"ETag": '"v1"', "Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT"})

    srv.expect_request("/ok").respond_with_handler(handler)
    res, stats = fetch(settings(user_agent="curator-test/1"), at(srv, "/ok?token=abc"), accept="text/html")
    assert isinstance(res, Response)
    assert (res.status, res.body, res.not_modified) == (200, b"hello", False)
    assert res.url == res.final_url == at(srv, "/ok?token=abc")
    assert res.validators == Validators(etag='"v1"', last_modified="Wed, 01 Jan 2025 00:00:00 GMT")
    assert res.headers["etag"] == '"v1"' and all(k == k.lower() for k in res.headers)
    assert seen["accept-encoding"] == "gzip, deflate"  # row 3: never ask for br / zstd
    assert seen["user-agent"] == "curator-test/1" and seen["accept"] == "text/html"
    assert stats == {"fetch/ok": 1}


def test_gzip_and_deflate_bodies_are_decoded(srv: HTTPServer) -> None:
    text = b"<p>" + "你好，世界".encode() * 500 + b"</p>"
    srv.expect_request("/gz").respond_with_data(gzip.compress(text), headers={"Content-Encoding": "gzip"})
    srv.expect_request("/zl").respond_with_data(zlib.compress(text), headers={"Content-Encoding": "deflate"})
    raw = zlib.compressobj(6, zlib.DEFLATED, -15)
    srv.expect_request("/raw").respond_with_data(
        raw.compress(text) + raw.flush(), headers={"Content-Encoding": "deflate"}
    )
    for path in ("/gz", "/zl", "/raw"):
        res, _ = fetch(settings(), at(srv, path))
        assert isinstance(res, Response) and res.body == text, path


def test_fetcher_must_be_opened() -> None:
    with pytest.raises(RuntimeError):
        run(Fetcher(settings()).get("http://127.0.0.1:1/"))


# -- row 1: size cap ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("with_length", [True, False])
def test_50mb_body_refused_at_cap_with_bounded_memory(with_length: bool) -> None:
    total = 50 * MB

    def handler(conn: socket.socket, server: RawServer) -> None:
        server.read_request(conn)
        head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
        head += f"Content-Length: {total}\r\n" if with_length else "Connection: close\r\n"
        conn.sendall((head + "\r\n").encode())
        if with_length and server.stop.wait(60):  # a declared oversize body is refused before reading it
            return
        server.send_until_error(conn, total, b"x" * 65536)

    with RawServer(handler, max_conns=2) as server:
        tracemalloc.start()
        try:
            res, stats = fetch(settings(max_bytes=MB), server.url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # too_large, not timeout: the cap cut it, well before the 10 s deadline (no stopwatch needed).
    fails(res, "too_large")
    assert stats.get("fetch/retry", 0) == 0 and server.accepted == 1
    if with_length:  # refused on the header: the server had not sent one byte of the body (it waits 60 s)
        assert server.sent == 0
    assert server.sent < total  # the client hung up; the server never got all 50 MB out
    assert peak < 8 * MB, f"peak traced memory {peak / MB:.1f} MB"


def test_body_exactly_at_cap_is_accepted(srv: HTTPServer) -> None:
    srv.expect_request("/cap").respond_with_data(b"a" * 4096)
    res, _ = fetch(settings(max_bytes=4096), at(srv, "/cap"))
    assert isinstance(res, Response) and len(res.body) == 4096
    srv.expect_request("/over").respond_with_data(b"a" * 4097)
    fails(fetch(settings(max_bytes=4096), at(srv, "/over"))[0], "too_large")


# -- row 2: gzip bomb --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MB)
    return b"".join([c.compress(zeros) for _ in range(512)] + [c.flush()])  # 512 MB of zeros


def test_gzip_bomb_stops_at_cap(gzip_bomb: bytes) -> None:
    assert len(gzip_bomb) < MB  # ~0.5 MB on the wire, 512 MB decoded
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n"
        f"Content-Length: {len(gzip_bomb)}\r\n\r\n"
    ).encode()

    def handler(
        conn: socket.socket, server: RawServer
    ) -> None:  # sends from one buffer: no server-side copies
        server.read_request(conn)
        conn.sendall(head)
        view = memoryview(gzip_bomb)
        for i in range(0, len(view), 65536):
            conn.sendall(view[i : i + 65536])

    with RawServer(handler, max_conns=2) as server:
        tracemalloc.start()
        try:
            started = time.monotonic()
            res, _ = fetch(settings(max_bytes=2 * MB, deadline_s=20), server.url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    fails(res, "too_large")
    assert time.monotonic() - started < 10
    assert peak < 16 * MB, f"peak traced memory {peak / MB:.1f} MB"  # unbounded decoding peaks near 150 MB


def test_deflate_bomb_stops_at_cap(srv: HTTPServer) -> None:
    c = zlib.compressobj(9, zlib.DEFLATED, 15)
    bomb = b"".join([c.compress(bytes(MB)) for _ in range(64)] + [c.flush()])
    srv.expect_request("/dbomb").respond_with_data(bomb, headers={"Content-Encoding": "deflate"})
    fails(fetch(settings(max_bytes=MB), at(srv, "/dbomb"))[0], "too_large")


def test_corrupt_gzip_is_a_decode_error(srv: HTTPServer) -> None:
    srv.expect_request("/bad").respond_with_data(
        b"\x1f\x8b\x08\x00garbage-garbage", headers={"Content-Encoding": "gzip"}
    )
    fails(fetch(settings(), at(srv, "/bad"))[0], "decode_error")


# -- rows 3 & 4: encodings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("coding", ["br", "zstd", "gzip, br", "gzip, gzip", "compress"])
def test_unrequested_content_encoding_refused(srv: HTTPServer, coding: str) -> None:
    srv.expect_request("/enc").respond_with_data(b"\x00\x01\x02", headers={"Content-Encoding": coding})
    fails(fetch(settings(), at(srv, "/enc"))[0], "bad_encoding")


def test_gzip_served_as_html_without_encoding_is_binary(srv: HTTPServer) -> None:
    srv.expect_request("/gzhtml").respond_with_data(
        gzip.compress(b"<html>hi</html>"), content_type="text/html"
    )
    fails(fetch(settings(), at(srv, "/gzhtml"))[0], "binary_body")


# -- rows 5 & 6: deadlines and timeouts ---------------------------------------------------------------------


def test_slow_drip_hits_the_deadline_while_other_hosts_flow(srv: HTTPServer) -> None:
    def drip(conn: socket.socket, server: RawServer) -> None:
        server.read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(60):  # at most 60 bytes / 12 s
            if server.stop.wait(0.2):
                return
            conn.sendall(b"x")

    srv.expect_request("/fast").respond_with_data(b"fast")
    # Both test servers live on 127.0.0.1: allow two requests to that host, as two real hosts would get.
    s = settings(read_timeout_s=1.0, deadline_s=1.5, max_concurrency=4, per_host_concurrency=2)

    async def go():
        async with Fetcher(s) as f:
            t0 = time.monotonic()

            async def timed(url: str):
                try:
                    return await f.get(url), time.monotonic() - t0
                except FetchError as err:
                    return err, time.monotonic() - t0

            slow, fast = await asyncio.gather(timed(drip_server.url), timed(at(srv, "/fast")))
            return slow, fast, f.stats

    with RawServer(drip, max_conns=3) as drip_server:
        (slow, slow_s), (fast, fast_s), stats = run(go())
    fails(slow, "timeout")
    # each byte arrived within the read timeout; only the overall deadline (1.5 s) stopped it, far
    # sooner than the drip would have ended (12 s): slack x5 for a loaded machine
    assert 1.4 <= slow_s < 1.5 * 5, slow_s
    assert isinstance(fast, Response) and fast_s < slow_s  # the other host flowed while this one dripped
    assert drip_server.accepted == 1 and stats.get("fetch/retry", 0) == 0  # no time left to retry


@pytest.mark.parametrize("retries", [0, 1])
def test_headers_never_arrive_times_out_with_at_most_one_retry(retries: int) -> None:
    def silent(conn: socket.socket, server: RawServer) -> None:
        server.read_request(conn)
        server.stop.wait(60)

    with RawServer(silent, max_conns=5) as server:
        started = time.monotonic()
        res, stats = fetch(
            settings(read_timeout_s=0.5, deadline_s=40, retries=retries), server.url, retry_backoff_s=0.05
        )
        elapsed = time.monotonic() - started
    err = fails(res, "timeout")
    assert err.retryable
    assert server.accepted == 1 + retries
    assert stats.get("fetch/retry", 0) == retries
    # The read timeout cut each attempt, not the deadline (40 s) nor the server (60 s): slack x5.
    assert elapsed < (0.5 * (1 + retries) + 1.5) * 5


def test_connect_stall_times_out_with_one_retry() -> None:
    def stall(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("connect stalled", request=request)

    spy = SpyTransport(answer=stall)
    res, stats = fetch(settings(retries=1), "http://127.0.0.1:9/", transport=spy, retry_backoff_s=0.01)
    assert fails(res, "timeout").retryable
    assert len(spy.requests) == 2 and stats == {"fetch/retry": 1, "fetch/timeout": 1}


def test_connection_refused_is_connect(srv: HTTPServer) -> None:
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    res, stats = fetch(settings(retries=1), f"http://127.0.0.1:{port}/", retry_backoff_s=0.05)
    assert fails(res, "connect").retryable
    assert stats["fetch/retry"] == 1


# -- row 7: DNS ---------------------------------------------------------------------------------------------


def test_dns_failure() -> None:
    resolver = SpyResolver(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    spy = SpyTransport()
    res, stats = fetch(settings(), "http://no-such-host.test/", resolver=resolver, transport=spy)
    fails(res, "dns")
    assert resolver.calls == [("no-such-host.test", 80)] and spy.requests == []
    assert stats == {"fetch/dns": 1}


def test_slow_dns_is_bounded() -> None:
    resolver = SpyResolver(["93.184.216.34"], delay=30)
    spy = SpyTransport()
    started = time.monotonic()
    res, _ = fetch(settings(connect_timeout_s=0.5), "http://slow-dns.test/", resolver=resolver, transport=spy)
    fails(res, "dns")
    assert time.monotonic() - started < 10 and spy.requests == []  # bounded by the 0.5 s timeout, not the 30 s answer


# -- row 8: redirects ---------------------------------------------------------------------------------------


def test_redirect_loop(srv: HTTPServer) -> None:
    srv.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    srv.expect_request("/b").respond_with_data("", status=301, headers={"Location": at(srv, "/a")})
    srv.expect_request("/self").respond_with_data("", status=307, headers={"Location": "/self"})
    fails(fetch(settings(), at(srv, "/a"))[0], "redirect_loop")
    fails(fetch(settings(), at(srv, "/self"))[0], "redirect_loop")
    assert len(srv.log) == 3


def test_redirect_chain_limit_and_relative_location(srv: HTTPServer) -> None:
    for i in range(7):
        srv.expect_request(f"/hop/{i}/x").respond_with_data(
            "", status=302, headers={"Location": f"../{i + 1}/x"}
        )
    srv.expect_request("/hop/7/x").respond_with_data("done")
    res, stats = fetch(settings(max_redirects=5), at(srv, "/hop/2/x"))  # 5 hops: 2→3→4→5→6→7
    assert isinstance(res, Response) and res.body == b"done"
    assert res.url == at(srv, "/hop/2/x") and res.final_url == at(srv, "/hop/7/x")
    assert stats["fetch/redirect"] == 5
    srv.clear_log()
    fails(fetch(settings(max_redirects=5), at(srv, "/hop/1/x"))[0], "too_many_redirects")  # 6 hops
    assert len(srv.log) == 6  # never fetched the 7th URL


def test_redirect_without_location(srv: HTTPServer) -> None:
    srv.expect_request("/noloc").respond_with_data("", status=302)
    fails(fetch(settings(), at(srv, "/noloc"))[0], "http_302")


# -- row 9: blocked addresses, before any connection ----------------------------------------------------------


BLOCKED_URLS = [
    "http://127.0.0.1/",
    "http://localhost/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/",
    "http://2130706433/",
    "http://0x7f.0.0.1/",
    "http://0177.0.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://100.64.0.1/",
    "http://[fc00::1]/",
    "http://[fd00::5]:8080/",
    "https://192.168.0.1/",
]


@pytest.mark.parametrize("url", BLOCKED_URLS)
def test_blocked_url_literals_never_connect(url: str) -> None:
    resolver, spy = SpyResolver(["93.184.216.34"]), SpyTransport()
    res, stats = fetch(settings(allowed_hosts=[]), url, resolver=resolver, transport=spy)
    err = fails(res, "blocked_address")
    assert isinstance(err, BlockedAddress)
    assert spy.requests == [] and resolver.calls == []
    assert stats == {"fetch/blocked_address": 1}


@pytest.mark.parametrize(
    "answer",
    [
        ["127.0.0.1"],
        ["::1"],
        ["::ffff:127.0.0.1"],
        ["0.0.0.0"],
        ["169.254.169.254"],
        ["10.9.8.7"],
        ["100.64.1.1"],
        ["fc00::1"],
        ["172.16.0.1"],
        ["93.184.216.34", "10.0.0.1"],
    ],
)
def test_blocked_resolver_answers_never_connect(answer: list[str]) -> None:
    resolver, spy = SpyResolver(answer), SpyTransport()
    res, _ = fetch(
        settings(allowed_hosts=[]), "https://innocent.example/page", resolver=resolver, transport=spy
    )
    fails(res, "blocked_address")
    assert spy.requests == [] and len(resolver.calls) == 1


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433:{port}/secret",
        "http://internal.test/",
        "/local",
    ],
)
def test_redirect_to_blocked_address_is_vetted(srv: HTTPServer, location: str) -> None:
    location = location.format(port=srv.port)
    srv.expect_request("/go").respond_with_data("", status=302, headers={"Location": location})
    srv.expect_request("/local").respond_with_data("should not be reached")
    resolver, spy = SpyResolver(["10.0.0.5"]), SpyTransport()
    # The fixture is reached by an allowed *name* pinned to loopback; the redirect target is not allowed.
    s = settings(allowed_hosts=["fixture.test"], resolve={"fixture.test": f"127.0.0.1:{srv.port}"})
    url = "http://fixture.test/go"
    if location == "/local":  # a same-host redirect stays allowed: the check is per hop, not blanket
        res, _ = fetch(s, url, resolver=resolver, transport=spy)
        assert isinstance(res, Response) and res.body == b"should not be reached"
        return
    res, _ = fetch(s, url, resolver=resolver, transport=spy)
    fails(res, "blocked_address")
    assert [str(r.url) for r in spy.requests] == [f"http://127.0.0.1:{srv.port}/go"]


# -- row 10: DNS rebinding ------------------------------------------------------------------------------------


def test_rebinding_connects_only_to_the_vetted_ip() -> None:
    resolver = SpyResolver(["93.184.216.34"], ["127.0.0.1"])  # public at check time, private afterwards
    spy = SpyTransport(answer=lambda req: httpx.Response(200, stream=httpx.ByteStream(b"public page")))
    res, _ = fetch(
        settings(allowed_hosts=[]), "https://rebind.example/article?id=1", resolver=resolver, transport=spy
    )
    assert isinstance(res, Response) and res.body == b"public page"
    assert len(resolver.calls) == 1
    [req] = spy.requests
    assert req.url.host == "93.184.216.34" and req.url.port is None and req.url.raw_path == b"/article?id=1"
    assert req.headers["host"] == "rebind.example"
    assert req.extensions["sni_hostname"] == "rebind.example"


def test_rebinding_on_a_later_hop_is_caught() -> None:
    resolver = SpyResolver(["93.184.216.34"], ["127.0.0.1"])
    spy = SpyTransport(answer=lambda req: httpx.Response(302, headers={"Location": "/next"}))
    res, _ = fetch(
        settings(allowed_hosts=[]), "http://rebind.example/start", resolver=resolver, transport=spy
    )
    fails(res, "blocked_address")
    assert len(spy.requests) == 1 and len(resolver.calls) == 2


def test_allowed_name_is_pinned_to_the_resolved_ip(srv: HTTPServer) -> None:
    seen: list[str] = []

    def handler(request: Request) -> WResponse:
        seen.append(request.headers["Host"])
        return WResponse("pinned")

    srv.expect_request("/p").respond_with_handler(handler)
    resolver = SpyResolver(["127.0.0.1"])
    res, _ = fetch(
        settings(allowed_hosts=["pinned.test"]), f"http://pinned.test:{srv.port}/p", resolver=resolver
    )
    assert isinstance(res, Response) and res.body == b"pinned"
    assert seen == [f"pinned.test:{srv.port}"] and resolver.calls == [("pinned.test", srv.port)]
    # the same name, not allow-listed, is refused before connecting
    res, _ = fetch(
        settings(allowed_hosts=[]), f"http://pinned.test:{srv.port}/p", resolver=SpyResolver(["127.0.0.1"])
    )
    fails(res, "blocked_address")
    assert len(seen) == 1


def test_unreachable_first_answer_falls_back_to_the_next(srv: HTTPServer) -> None:
    srv.expect_request("/dual").respond_with_data("second address")
    resolver = SpyResolver(["127.0.0.2", "127.0.0.1"])  # nothing listens on 127.0.0.2 → refused
    res, stats = fetch(
        settings(allowed_hosts=["dual.test"], retries=0),
        f"http://dual.test:{srv.port}/dual",
        resolver=resolver,
    )
    assert isinstance(res, Response) and res.body == b"second address"
    assert len(resolver.calls) == 1 and stats == {"fetch/ok": 1}


@pytest.mark.parametrize("key", ["news.demo.test:80", "news.demo.test"])
def test_resolve_override_routes_demo_hosts(srv: HTTPServer, key: str) -> None:
    seen: list[str] = []
    srv.expect_request("/feed").respond_with_handler(
        lambda r: seen.append(r.headers["Host"]) or WResponse("feed")
    )
    resolver = SpyResolver(["10.0.0.1"])
    res, _ = fetch(
        settings(allowed_hosts=[], resolve={key: f"127.0.0.1:{srv.port}"}),
        "http://news.demo.test/feed",
        resolver=resolver,
    )
    assert isinstance(res, Response) and res.body == b"feed"
    assert seen == ["news.demo.test"] and resolver.calls == []


# -- row 11: schemes and credentials ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "file:///etc/passwd",
        "data:text/html;base64,PHNjcmlwdD4=",
        "ftp://x/",
    ],
)
def test_non_http_schemes_not_fetched(url: str) -> None:
    spy = SpyTransport()
    res, _ = fetch(settings(), url, transport=spy)
    fails(res, "blocked_scheme")
    assert spy.requests == []


def client_log(caplog: pytest.LogCaptureFixture) -> str:
    """Everything logged on the client side (the fixture server's own access log is not ours)."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))


def test_credentials_in_url_not_fetched_and_never_shown(
    srv: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    srv.expect_request("/c").respond_with_data("x")
    srv.expect_request("/r").respond_with_data(
        "", status=302, headers={"Location": f"http://eve:T0pS3cret@127.0.0.1:{srv.port}/c"}
    )
    res, _ = fetch(settings(), f"http://alice:T0pS3cret@127.0.0.1:{srv.port}/c")
    err = fails(res, "credentials_in_url")
    res2, _ = fetch(settings(), at(srv, "/r"))
    err2 = fails(res2, "credentials_in_url")
    for e in (err, err2):
        assert "T0pS3cret" not in str(e) and "T0pS3cret" not in repr(e) and "T0pS3cret" not in (e.url or "")
    assert "T0pS3cret" not in client_log(caplog)
    assert [r.path for r, _ in srv.log] == ["/r"]


def test_logs_carry_no_query_string(srv: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    srv.expect_request("/q").respond_with_data("", status=404)
    srv.expect_request("/ok").respond_with_data("fine")
    err = fails(fetch(settings(), at(srv, "/q?api_key=SEKRIT"))[0], "http_404")
    fetch(settings(), at(srv, "/ok?api_key=SEKRIT"))
    assert "SEKRIT" not in client_log(caplog) and "SEKRIT" not in str(err)
    assert "/q" in client_log(caplog)
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING


# -- rows 12, 13, 15: status handling and retries --------------------------------------------------------------


def sequence(*responses: WResponse) -> Callable[[Request], WResponse]:
    calls = iter(responses)
    return lambda request: next(calls)


@pytest.mark.parametrize(
    ("retry_after", "min_s", "max_s"),
    # Lower bounds prove the wait was honoured; upper bounds (slack x5 for a loaded machine) that it was
    # not stretched to the retry cap or the deadline (10 s).
    [("1", 0.9, 5.0), ("0", 0.0, 5.0), ("-5", 0.0, 5.0), ("date+2", 0.5, 8.0), ("date-60", 0.0, 5.0)],
)
def test_429_retry_after_honoured(srv: HTTPServer, retry_after: str, min_s: float, max_s: float) -> None:
    if retry_after.startswith("date"):
        retry_after = email.utils.formatdate(time.time() + int(retry_after[4:]), usegmt=True)
    srv.expect_request("/rl").respond_with_handler(
        sequence(WResponse("slow down", status=429, headers={"Retry-After": retry_after}), WResponse("ok"))
    )
    started = time.monotonic()
    res, stats = fetch(settings(), at(srv, "/rl"))
    elapsed = time.monotonic() - started
    assert isinstance(res, Response) and res.body == b"ok"
    assert min_s <= elapsed < max_s, elapsed
    assert stats == {"fetch/retry": 1, "fetch/ok": 1}
    assert len(srv.log) == 2


@pytest.mark.parametrize("retry_after", ["soon", "", "1e309", "86400", "5"])
def test_429_without_usable_or_affordable_wait_fails_fast(srv: HTTPServer, retry_after: str) -> None:
    srv.expect_request("/rl").respond_with_data("no", status=429, headers={"Retry-After": retry_after})
    started = time.monotonic()
    res, stats = fetch(settings(deadline_s=2.0), at(srv, "/rl"))  # "5" fits the cap but not the deadline
    err = fails(res, "rate_limited")  # rate_limited, not timeout: it did not sleep into the deadline
    assert err.retryable and time.monotonic() - started < 5
    assert len(srv.log) == 1 and "fetch/retry" not in stats


def test_retry_after_pauses_the_host(srv: HTTPServer) -> None:
    srv.expect_request("/a").respond_with_data("no", status=429, headers={"Retry-After": "86400"})
    srv.expect_request("/b").respond_with_data("b")

    async def go():
        async with Fetcher(settings(deadline_s=3.0), retry_after_cap_s=30) as f:
            results = []
            for path in ("/a", "/b"):
                try:
                    results.append(await f.get(at(srv, path)))
                except FetchError as err:
                    results.append(err)
            return results

    started = time.monotonic()
    first, second = run(go())
    assert fails(first, "rate_limited").retry_after_s == 86400  # type: ignore[attr-defined]
    assert 0 < fails(second, "rate_limited").retry_after_s <= 30  # type: ignore[attr-defined]
    assert time.monotonic() - started < 15  # no wait for the 30 s cap (slack for a loaded machine)
    assert [r.path for r, _ in srv.log] == ["/a"]  # the paused host saw nothing more


def test_503_retry_after_then_success(srv: HTTPServer) -> None:
    srv.expect_request("/m").respond_with_handler(
        sequence(WResponse("maint", status=503, headers={"Retry-After": "1"}), WResponse("back"))
    )
    started = time.monotonic()
    res, _ = fetch(settings(), at(srv, "/m"))
    assert isinstance(res, Response) and res.body == b"back" and time.monotonic() - started >= 0.9


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("-3", 0.0),
        ("1.5", 1.5),
        ("garbage", None),
        ("", None),
        (None, None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("nan", None),
        ("inf", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected
    assert parse_retry_after("Thu, 01 Jan 2099 00:00:00 GMT") > 10**9


def test_5xx_flap_retried_once(srv: HTTPServer) -> None:
    srv.expect_request("/flap").respond_with_handler(
        sequence(WResponse("oops", status=500), WResponse("fine"))
    )
    res, stats = fetch(settings(), at(srv, "/flap"), retry_backoff_s=0.05)
    assert isinstance(res, Response) and res.body == b"fine"
    assert stats == {"fetch/retry": 1, "fetch/ok": 1}


@pytest.mark.parametrize(("retries", "requests"), [(1, 2), (0, 1)])
def test_5xx_persistent_gives_up_after_one_retry(srv: HTTPServer, retries: int, requests: int) -> None:
    srv.expect_request("/down").respond_with_data("down", status=502)
    res, stats = fetch(settings(retries=retries), at(srv, "/down"), retry_backoff_s=0.05)
    assert fails(res, "http_502").retryable
    assert len(srv.log) == requests and stats["fetch/http_502"] == 1


def test_404_not_retried(srv: HTTPServer) -> None:
    srv.expect_request("/gone").respond_with_data("nope", status=404)
    res, stats = fetch(settings(), at(srv, "/gone"))
    assert not fails(res, "http_404").retryable
    assert len(srv.log) == 1 and stats == {"fetch/http_404": 1}


def test_403_is_blocked_without_retry(srv: HTTPServer) -> None:
    srv.expect_request("/bot").respond_with_data("Access denied", status=403)
    res, _ = fetch(settings(retries=3), at(srv, "/bot"))
    assert not fails(res, "blocked").retryable
    assert len(srv.log) == 1


def test_github_rate_limit_headers(srv: HTTPServer) -> None:
    reset = str(int(time.time()) + 3600)
    srv.expect_request("/gh").respond_with_data(
        "API rate limit exceeded",
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
    )
    res, stats = fetch(settings(retries=3), at(srv, "/gh"))
    err = fails(res, "rate_limited")
    assert err.retryable and 3500 < err.retry_after_s <= 3600  # type: ignore[attr-defined]
    assert len(srv.log) == 1 and "fetch/retry" not in stats


# -- row 14: conditional GET ---------------------------------------------------------------------------------


def test_conditional_get_304(srv: HTTPServer) -> None:
    seen: list[tuple[str | None, str | None]] = []

    def handler(request: Request) -> WResponse:
        inm, ims = request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since")
        seen.append((inm, ims))
        if inm == '"v1"':
            return WResponse(status=304, headers={"ETag": '"v1"'})
        return WResponse("<rss/>", headers={"ETag": '"v1"', "Last-Modified": "Mon, 06 Jan 2025 10:00:00 GMT"})

    srv.expect_request("/feed").respond_with_handler(handler)
    first, _ = fetch(settings(), at(srv, "/feed"))
    assert isinstance(first, Response) and first.body == b"<rss/>"
    second, stats = fetch(settings(), at(srv, "/feed"), validators=first.validators)
    assert isinstance(second, Response)
    assert (second.status, second.not_modified, second.body) == (304, True, b"")
    assert second.validators == first.validators  # Last-Modified carried over when the 304 omits it
    assert seen == [(None, None), ('"v1"', "Mon, 06 Jan 2025 10:00:00 GMT")]
    assert stats == {"fetch/not_modified": 1}


def test_server_ignoring_conditional_get_returns_body(srv: HTTPServer) -> None:
    srv.expect_request("/ign").respond_with_data("same body", headers={"ETag": '"v2"'})
    res, _ = fetch(settings(), at(srv, "/ign"), validators=Validators(etag='"v1"'))
    assert isinstance(res, Response) and not res.not_modified and res.validators.etag == '"v2"'


# -- row 16: TLS --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not available to make a self-signed certificate")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=secure.test",
         "-addext", "subjectAltName=DNS:secure.test"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_server(tls_cert: tuple[Path, Path]):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(tls_cert[0]), str(tls_cert[1]))
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=ctx)
    server.start()
    server.expect_request("/s").respond_with_data("secret-free page")
    try:
        yield server
    finally:
        server.clear()
        server.stop()


def test_self_signed_tls_fails_closed(tls_server: HTTPServer) -> None:
    s = settings(allowed_hosts=[], resolve={"secure.test": f"127.0.0.1:{tls_server.port}"}, retries=3)
    res, stats = fetch(s, "https://secure.test/s")
    err = fails(res, "tls")
    assert not err.retryable and "fetch/retry" not in stats
    assert tls_server.log == []  # no request ever went over an unverified connection


def test_tls_with_ca_bundle_verifies_the_real_name(
    tls_server: HTTPServer, tls_cert: tuple[Path, Path]
) -> None:
    routes = {"secure.test": f"127.0.0.1:{tls_server.port}", "other.test": f"127.0.0.1:{tls_server.port}"}
    s = settings(allowed_hosts=[], resolve=routes, ca_bundle=str(tls_cert[0]))
    res, _ = fetch(s, "https://secure.test/s")
    assert isinstance(res, Response) and res.body == b"secret-free page"
    # Same IP and CA, but the certificate is not for other.test: SNI/hostname checks use the name, not the IP.
    fails(fetch(s, "https://other.test/s")[0], "tls")
    # ca_bundle as a constructor kwarg works too
    s2 = settings(allowed_hosts=[], resolve=routes)
    res, _ = fetch(s2, "https://secure.test/s", ca_bundle=str(tls_cert[0]))
    assert isinstance(res, Response)


# -- concurrency and politeness -----------------------------------------------------------------------------


def test_per_host_concurrency_and_delay() -> None:
    def slow_ok(conn: socket.socket, server: RawServer) -> None:
        server.read_request(conn)
        server.stop.wait(0.3)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    with RawServer(slow_ok, max_conns=6) as server:

        async def go(s: FetchSettings):
            async with Fetcher(s) as f:
                return await asyncio.gather(*(f.get(server.url + f"x{i}") for i in range(4)))

        results = run(go(settings(per_host_concurrency=2, max_concurrency=8)))
        assert all(r.body == b"ok" for r in results)
        assert server.max_active == 2

    with RawServer(slow_ok, max_conns=4) as server:
        started = time.monotonic()
        run(go(settings(per_host_concurrency=4, per_host_delay_s=0.25)))
        assert time.monotonic() - started >= 0.75  # three gaps between four starts


def test_by_default_one_request_is_in_flight_per_host() -> None:
    def slow_ok(conn: socket.socket, server: RawServer) -> None:
        server.read_request(conn)
        server.stop.wait(0.2)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    assert FetchSettings().per_host_concurrency == 1
    with RawServer(slow_ok, max_conns=4) as server:

        async def go(s: FetchSettings):
            async with Fetcher(s) as f:
                return await asyncio.gather(*(f.get(server.url + f"x{i}") for i in range(3)))

        base = settings(max_concurrency=8)
        assert all(r.body == b"ok" for r in run(go(base)))
        assert server.max_active == 1
