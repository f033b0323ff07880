"""A loopback web server for the bundled demo corpus (a small fake web under the `.test` TLD).

    with DemoServer() as srv:
        settings.fetch.resolve = srv.resolve_map()     # {"news.demo.test:443": "127.0.0.1:54321", ...}
        settings.fetch.ca_bundle = srv.ca_bundle       # the demo CA, trusted in addition to the system's
        settings.fetch.allowed_hosts = srv.hosts       # they resolve to loopback on purpose

Files live under `<root>/<host>/<path>` and are served as-is, chosen by the `Host` header (port
stripped). The same handler answers on a plain-HTTP and an HTTPS listener (certificate for
`*.demo.test`, signed by a demo CA made at start: see `curator.demo.tls`), both on 127.0.0.1 with OS-chosen
ports.

Lookup: the query string is ignored; `/a/b`, `/a/b/` try `a/b`, `a/b.html`, `a/b/index.html` in that
order (`/` -> `index.html`). Names starting with `_` or `.` are never served.

Headers: a strong `ETag` (quoted sha256 of the bytes) and a fixed `Last-Modified` (CORPUS_DATE, not
the file's mtime, so it is the same in every clone); `If-None-Match` / `If-Modified-Since` give 304
with no body, except on hosts listed in `no_conditional_hosts`. Content types come from the
extension (`.html` -> utf-8 HTML, `*.gbk.html` -> `text/html` with no charset), and a per-host
`_headers.json` ({"glob on the URL path": {"Content-Type": "..."}}) overrides them.

`python tools/serve_demo_corpus.py` serves the corpus by hand and prints the resolve map.
"""

from __future__ import annotations

import email.utils
import fnmatch
import hashlib
import json
import posixpath
import ssl
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from curator.demo.stats import DemoStats
from curator.demo.tls import DemoTLS, make_demo_tls

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
SITES_DIR = CORPUS_DIR / "sites"
# Every file's Last-Modified: the end of the corpus week. Stable across clones (mtime is not).
CORPUS_DATE = datetime(2026, 11, 22, 23, 0, 0, tzinfo=UTC)

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
    ".json": "application/feed+json",
    ".txt": "text/plain; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}


def _content_type(path: Path, body: bytes) -> str:
    name = path.name.lower()
    if name.endswith((".gbk.html", ".gbk.htm")):
        return "text/html"  # no charset on purpose: the page says so itself, late in its <head>
    suffix = path.suffix.lower()
    if suffix == ".xml":
        head = body[:2048]
        if b"<feed" in head and b"http://www.w3.org/2005/Atom" in head:
            return "application/atom+xml"
        if b"<rdf:RDF" in head:
            return "application/rdf+xml"
        return "application/rss+xml"
    return _TYPES.get(suffix, "application/octet-stream")


@dataclass(frozen=True)
class _Resource:
    body: bytes
    content_type: str
    etag: str
    last_modified: datetime


class _Handler(BaseHTTPRequestHandler):
    server_version = "curator-demo/1.0"
    sys_version = ""
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers at close()
    timeout = 10  # a silent client cannot hold a thread for long

    server: _Listener

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, *, head: bool) -> None:
        demo = self.server.demo
        host = (self.headers.get("Host") or "").strip().lower()
        if host.startswith("["):
            host = host.split("]", 1)[0] + "]"
        else:
            host = host.rsplit(":", 1)[0] if ":" in host else host
        path = urlsplit(self.path).path or "/"
        if path.startswith(("http://", "https://")):  # absolute-form request target
            path = urlsplit(path).path or "/"
        res = demo._lookup(host, path)
        if res is None:
            demo.stats.record(host, path, 404, self.server.scheme)
            self._send_simple(404, b"not found\n", head)
            return
        not_modified = host not in demo.no_conditional_hosts and _is_not_modified(
            res, self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
        )
        status = 304 if not_modified else 200
        demo.stats.record(host, path, status, self.server.scheme)  # before the client can see the answer
        self.send_response(status)
        self.send_header("ETag", res.etag)
        self.send_header("Last-Modified", email.utils.format_datetime(res.last_modified, usegmt=True))
        self.send_header("Cache-Control", "no-cache")
        if status == 200:
            self.send_header("Content-Type", res.content_type)
            self.send_header("Content-Length", str(len(res.body)))
        self.end_headers()
        if status == 200 and not head:
            self.wfile.write(res.body)

    def _send_simple(self, status: int, body: bytes, head: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)


def _is_not_modified(res: _Resource, if_none_match: str | None, if_modified_since: str | None) -> bool:
    if if_none_match is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
        tags = [t.strip() for t in if_none_match.split(",")]
        return any(t == "*" or t.removeprefix("W/") == res.etag for t in tags)
    if if_modified_since:
        try:
            since = email.utils.parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return res.last_modified <= since
    return False


class _Listener(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = False

    def __init__(self, demo: DemoServer, scheme: str, ssl_context: ssl.SSLContext | None) -> None:
        self.demo = demo
        self.scheme = scheme
        self.ssl_context = ssl_context
        super().__init__(("127.0.0.1", 0), _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        # The TLS handshake runs here, in the per-connection thread, never in the accept loop.
        request.settimeout(_Handler.timeout)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-response is not worth a traceback on stderr


class DemoServer:
    """Serve `root/<host>/...` on 127.0.0.1 over HTTP and HTTPS, in background threads.

    `no_conditional_hosts`: hosts that send validators but ignore If-None-Match / If-Modified-Since
    (always 200), like many real servers. `tls_dir`: where the CA and server certificate made at start
    are written (default: a temporary folder, removed at close).
    """

    def __init__(
        self,
        root: Path | str | None = None,
        *,
        no_conditional_hosts: Iterable[str] = (),
        tls_dir: Path | str | None = None,
    ) -> None:
        self.root = Path(root).resolve() if root is not None else SITES_DIR
        if not self.root.is_dir():
            raise FileNotFoundError(f"demo corpus root not found: {self.root}")
        self._tls_dir = Path(tls_dir) if tls_dir is not None else None
        self._tls: DemoTLS | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.no_conditional_hosts = {h.lower() for h in no_conditional_hosts}
        self.stats = DemoStats()
        self._cache: dict[Path, _Resource] = {}
        self._overrides: dict[tuple[str, str], _Resource] = {}
        self._headers_rules: dict[str, list[tuple[str, dict[str, str]]]] = {}
        self._lock = threading.Lock()
        self._listeners: list[_Listener] = []
        self._threads: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._listeners:
            return self
        tls = self._certificates()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(tls.cert, tls.key)
        try:
            self._listeners = [_Listener(self, "http", None), _Listener(self, "https", ctx)]
            for lst in self._listeners:
                t = threading.Thread(
                    target=lst.serve_forever,
                    kwargs={"poll_interval": 0.1},
                    name=f"demo-server-{lst.scheme}",
                    daemon=True,
                )
                t.start()
                self._threads.append(t)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop both listeners and join their threads (bounded: about a second)."""
        for lst in self._listeners:
            lst.shutdown()  # returns once serve_forever has left its loop
            lst.server_close()
        for t in self._threads:
            t.join(timeout=2.0)
        self._listeners = []
        self._threads = []
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp, self._tls = None, None

    def _certificates(self) -> DemoTLS:
        """The TLS material of this server, made on first use (never read from the corpus)."""
        if self._tls is None:
            folder = self._tls_dir
            if folder is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="curator-demo-tls-")
                folder = Path(self._tmp.name)
            self._tls = make_demo_tls(folder, self.hosts)
        return self._tls

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what clients need -------------------------------------------------------------------------

    @property
    def http_port(self) -> int:
        return self._port("http")

    @property
    def https_port(self) -> int:
        return self._port("https")

    def _port(self, scheme: str) -> int:
        for lst in self._listeners:
            if lst.scheme == scheme:
                return int(lst.server_address[1])
        raise RuntimeError("DemoServer is not started")

    @property
    def hosts(self) -> list[str]:
        """Every host directory under root, sorted."""
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))

    @property
    def ca_bundle(self) -> str:
        """Path of the demo CA certificate (PEM), to trust in addition to the system store."""
        return str(self._certificates().ca)

    def resolve_map(self) -> dict[str, str]:
        """{"<host>:80": "127.0.0.1:<http_port>", "<host>:443": "127.0.0.1:<https_port>"} for every host."""
        http, https = self.http_port, self.https_port
        out: dict[str, str] = {}
        for h in self.hosts:
            out[f"{h}:80"] = f"127.0.0.1:{http}"
            out[f"{h}:443"] = f"127.0.0.1:{https}"
        return out

    def fetch_overrides(self) -> dict[str, Any]:
        """Ready-made `fetch` settings: {"resolve": ..., "ca_bundle": ..., "allowed_hosts": [...]}."""
        return {"resolve": self.resolve_map(), "ca_bundle": self.ca_bundle, "allowed_hosts": self.hosts}

    def origin(self, url: str) -> tuple[str, int]:
        """Where to connect for a demo URL: ("127.0.0.1", port) by its scheme."""
        return "127.0.0.1", self.https_port if urlsplit(url).scheme == "https" else self.http_port

    # -- test hooks --------------------------------------------------------------------------------

    def put(self, host: str, path: str, body: bytes | str, content_type: str | None = None) -> None:
        """Serve `body` at host+path instead of (or in addition to) the file; e.g. to "change" a page."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        ctype = content_type or _content_type(
            Path(path if not path.endswith("/") else path + "index.html"), data
        )
        res = _Resource(data, ctype, _etag(data), datetime.now(UTC).replace(microsecond=0))
        with self._lock:
            self._overrides[(host.lower(), _norm_path(path))] = res

    def clear_overrides(self) -> None:
        with self._lock:
            self._overrides.clear()

    # -- lookup ------------------------------------------------------------------------------------

    def _lookup(self, host: str, url_path: str) -> _Resource | None:
        norm = _norm_path(url_path)
        with self._lock:
            over = self._overrides.get((host, norm))
        if over is not None:
            return over
        if not host or host.startswith((".", "_")) or "/" in host or "\\" in host:
            return None
        site = self.root / host
        if not site.is_dir():
            return None
        file = _find_file(site, norm)
        if file is None:
            return None
        with self._lock:
            res = self._cache.get(file)
        if res is None:
            body = file.read_bytes()
            ctype = self._header_override(host, site, norm) or _content_type(file, body)
            res = _Resource(body, ctype, _etag(body), CORPUS_DATE)
            with self._lock:
                self._cache[file] = res
        return res

    def _header_override(self, host: str, site: Path, norm: str) -> str | None:
        with self._lock:
            rules = self._headers_rules.get(host)
        if rules is None:
            rules = []
            hfile = site / "_headers.json"
            if hfile.is_file():
                raw = json.loads(hfile.read_text(encoding="utf-8"))
                rules = [
                    (str(pat), {k.lower(): str(v) for k, v in hdrs.items()}) for pat, hdrs in raw.items()
                ]
            with self._lock:
                self._headers_rules[host] = rules
        for pat, hdrs in rules:
            if fnmatch.fnmatchcase(norm, pat) and "content-type" in hdrs:
                return hdrs["content-type"]
        return None


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest() + '"'


def _norm_path(url_path: str) -> str:
    """URL path -> "/a/b" (decoded, no dot segments, no trailing slash; "/" stays "/")."""
    p = posixpath.normpath("/" + unquote(url_path).lstrip("/"))
    return "/" if p in ("/", "//", ".") else p.rstrip("/")


def _find_file(site: Path, norm: str) -> Path | None:
    parts = [p for p in norm.split("/") if p]
    if any(p.startswith((".", "_")) or "\\" in p or "\x00" in p for p in parts):
        return None
    base = site.joinpath(*parts) if parts else site
    candidates = (
        [base / "index.html"]
        if not parts
        else [base, base.with_name(base.name + ".html"), base / "index.html"]
    )
    site_resolved = site.resolve()
    for cand in candidates:
        if cand.is_file():
            resolved = cand.resolve()
            if site_resolved in resolved.parents:
                return resolved
    return None

