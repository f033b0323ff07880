"""The bundled demo corpus and its loopback server (no internet: everything goes to 127.0.0.1)."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import httpx
import pytest

from curator.demo.server import CORPUS_DIR, SITES_DIR, DemoServer

MANIFEST = json.loads((CORPUS_DIR / "manifest.json").read_text(encoding="utf-8"))
SOURCES = tomllib.loads((CORPUS_DIR / "sources.toml").read_text(encoding="utf-8"))["sources"]


@pytest.fixture(scope="module")
def srv():
    with DemoServer() as s:
        yield s


def get(srv: DemoServer, url: str, headers: dict[str, str] | None = None, method: str = "GET"):
    """Fetch a demo URL the way a client with the resolve map would: connect to loopback, send Host."""
    parts = urlsplit(url)
    host = parts.hostname
    assert host is not None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    default = f"127.0.0.1:{srv.https_port if parts.scheme == 'https' else srv.http_port}"  # unknown hosts too
    ip, _, lport = srv.resolve_map().get(f"{host}:{port}", default).partition(":")
    if parts.scheme == "https":
        ctx = ssl.create_default_context(cafile=srv.ca_bundle)
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(ip, int(lport), timeout=5, context=ctx)
        # verify against the demo host name, not the IP we connect to
        conn.sock = ctx.wrap_socket(
            socket.create_connection((ip, int(lport)), timeout=5), server_hostname=host
        )
    else:
        conn = http.client.HTTPConnection(ip, int(lport), timeout=5)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    try:
        conn.request(method, target, headers={"Host": host, **(headers or {})})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


# -- corpus --------------------------------------------------------------------------------------------


def test_sources_toml_lists_every_feed():
    assert len(SOURCES) >= 4
    assert {s["kind"] for s in SOURCES} == {"rss"}
    assert any(s["url"].startswith("https://") for s in SOURCES)
    hosts = {urlsplit(s["url"]).hostname for s in SOURCES}
    assert all(h.endswith(".demo.test") for h in hosts)
    for s in SOURCES:
        assert s.get("section") in (None, "ai", "dev", "industry", "research")


def test_manifest_pages_cover_languages_and_sections():
    pages = MANIFEST["pages"]
    assert len(pages) >= 44
    zh = [p for p in pages if p["lang"] == "zh"]
    assert 0.5 <= len(zh) / len(pages) <= 0.7
    for section in ("ai", "dev", "industry", "research"):
        assert sum(p["section"] == section for p in pages) >= 5, section
    for p in pages:
        assert (SITES_DIR / p["file"]).is_file(), p["file"]
        lo, hi = (300, 1200) if p["lang"] == "zh" else (200, 600)
        assert lo <= p["length"] <= hi, p["file"]
        assert "2026-11-16" <= p["published"][:10] <= "2026-11-22"


def test_corpus_is_small():
    total = sum(f.stat().st_size for f in CORPUS_DIR.rglob("*") if f.is_file())
    assert total < 3_000_000


# -- server: feeds and pages ---------------------------------------------------------------------------


def test_feeds_parse_and_every_link_is_served(srv):
    formats = set()
    pages: dict[bytes, str] = {}
    for source in SOURCES:
        status, headers, body = get(srv, source["url"])
        assert status == 200, source["url"]
        assert headers["content-type"].startswith(
            ("application/rss+xml", "application/atom+xml", "application/rdf+xml")
        )
        feed = feedparser.parse(body)
        assert not feed.bozo, (source["url"], feed.get("bozo_exception"))
        formats.add(feed.version)
        assert 8 <= len(feed.entries) <= 15, source["url"]
        for entry in feed.entries:
            assert entry.title and entry.get("summary")
            when = entry.get("published_parsed") or entry.get("updated_parsed")
            assert when is not None and (2026, 11, 16) <= tuple(when[:3]) <= (2026, 11, 22)
            st, hdr, page = get(srv, entry.link)
            assert st == 200, entry.link
            assert hdr["content-type"].startswith("text/html")
            pages[page] = entry.link
    assert {"rss20", "atom10", "rss10"} <= formats
    assert len(pages) >= 44  # distinct article bodies reachable from the feeds


def test_paths_resolve_index_trailing_slash_and_404(srv):
    st, _, home = get(srv, "http://news.demo.test/")
    assert st == 200 and b"<ul" in home
    st, _, a = get(srv, "https://blog.demo.test/2026/11/postgres-major-upgrade")
    st2, _, b = get(srv, "https://blog.demo.test/2026/11/postgres-major-upgrade/")
    assert st == st2 == 200 and a == b
    st, _, c = get(srv, "http://weekly-cn.demo.test/p/riscv-open-chip")
    st2, _, d = get(srv, "http://weekly-cn.demo.test/p/riscv-open-chip/?from=home")
    assert st == st2 == 200 and c == d
    assert get(srv, "http://news.demo.test/nope.html")[0] == 404
    assert get(srv, "http://unknown.demo.test/")[0] == 404
    assert get(srv, "http://gbk-portal.demo.test/_headers.json")[0] == 404
    assert get(srv, "http://news.demo.test/../blog.demo.test/atom.xml")[0] == 404
    st, hdr, _body = get(srv, "http://news.demo.test/robots.txt")
    assert st == 200 and hdr["content-type"].startswith("text/plain")


def test_head_has_headers_but_no_body(srv):
    st, hdr, body = get(srv, "https://news.demo.test/feed.xml", method="HEAD")
    assert st == 200 and body == b"" and int(hdr["content-length"]) > 1000


# -- conditional GET -----------------------------------------------------------------------------------


def test_etag_and_last_modified_give_304():
    with DemoServer() as srv:
        url = "http://devnotes.demo.test/index.rdf"
        st, hdr, _body = get(srv, url)
        assert st == 200
        etag, lm = hdr["etag"], hdr["last-modified"]
        assert etag.startswith('"') and len(etag) == 66  # quoted sha256
        assert lm == "Sun, 22 Nov 2026 23:00:00 GMT"  # fixed, not the file's mtime

        st, hdr2, body2 = get(srv, url, {"If-None-Match": etag})
        assert st == 304 and body2 == b"" and hdr2["etag"] == etag
        st, _, body3 = get(srv, url, {"If-Modified-Since": lm})
        assert st == 304 and body3 == b""
        st, _, _ = get(srv, url, {"If-None-Match": '"something-else"', "If-Modified-Since": lm})
        assert st == 200  # If-None-Match wins
        st, _, _ = get(srv, url, {"If-Modified-Since": "Mon, 16 Nov 2026 00:00:00 GMT"})
        assert st == 200

        snap = srv.stats.snapshot()
        assert srv.stats.requests == 5 and srv.stats.not_modified == 2
        assert (
            srv.stats.hits("devnotes.demo.test/index.rdf")
            == 5
            == snap["by_path"]["devnotes.demo.test/index.rdf"]
        )


def test_second_run_gets_304s():
    """What a pipeline's second run should see: every feed answers 304 to its stored validators."""
    with DemoServer() as srv:
        validators = {}
        for s in SOURCES:
            _, hdr, _ = get(srv, s["url"])
            validators[s["url"]] = hdr["etag"]
        srv.stats.reset()
        for s in SOURCES:
            assert get(srv, s["url"], {"If-None-Match": validators[s["url"]]})[0] == 304
        assert srv.stats.not_modified == len(SOURCES) == srv.stats.requests


def test_no_conditional_hosts_ignore_validators():
    with DemoServer(no_conditional_hosts={"news.demo.test"}) as srv:
        _, hdr, _ = get(srv, "https://news.demo.test/feed.xml")
        st, _, body = get(srv, "https://news.demo.test/feed.xml", {"If-None-Match": hdr["etag"]})
        assert st == 200 and body
        _, hdr, _ = get(srv, "https://blog.demo.test/atom.xml")
        assert get(srv, "https://blog.demo.test/atom.xml", {"If-None-Match": hdr["etag"]})[0] == 304


def test_put_overrides_a_page_with_new_validators():
    with DemoServer() as srv:
        url = "http://devnotes.demo.test/index.rdf"
        _, hdr, _ = get(srv, url)
        srv.put("devnotes.demo.test", "/index.rdf", "<rdf:RDF/>", "application/rdf+xml")
        st, hdr2, body = get(srv, url, {"If-None-Match": hdr["etag"]})
        assert st == 200 and body == b"<rdf:RDF/>" and hdr2["etag"] != hdr["etag"]
        srv.clear_overrides()
        assert get(srv, url, {"If-None-Match": hdr["etag"]})[0] == 304


# -- encodings, duplicates, TLS ------------------------------------------------------------------------


def test_gbk_pages_have_no_charset_header_and_a_late_meta(srv):
    gbk = [p for p in MANIFEST["pages"] if p["encoding"] == "gbk"]
    assert gbk
    for p in gbk:
        st, hdr, body = get(srv, p["url"])
        assert st == 200
        assert hdr["content-type"] == "text/html"  # no charset on purpose
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
        text = body.decode("gb18030")
        assert p["title"] in text
        meta = body.find(b'charset=gbk"')
        assert meta > 2048 and body[:meta].isascii()  # long ASCII-only head before the charset


def test_duplicate_urls_serve_identical_bytes(srv):
    kinds = {d["kind"]: d for d in MANIFEST["duplicates"]}
    for kind in ("scheme", "utm+trailing-slash"):
        a, b = kinds[kind]["urls"]
        sa, ha, ba = get(srv, a)
        sb, hb, bb = get(srv, b)
        assert sa == sb == 200 and ba == bb and ha["etag"] == hb["etag"], kind
    scheme = kinds["scheme"]["urls"]
    assert {urlsplit(u).scheme for u in scheme} == {"http", "https"}
    utm = kinds["utm+trailing-slash"]["urls"][1]
    assert "utm_source=" in utm and "utm_medium=rss" in utm and urlsplit(utm).path.endswith("/")
    # each variant is listed by a different feed
    listed = {}
    for s in SOURCES:
        _, _, body = get(srv, s["url"])
        for e in feedparser.parse(body).entries:
            listed.setdefault(e.link, set()).add(s["name"])
    for kind in ("scheme", "utm+trailing-slash"):
        a, b = kinds[kind]["urls"]
        assert listed[a] and listed[b] and listed[a] != listed[b]


def test_chatter_and_traditional_pages(srv):
    chatter = [p for p in MANIFEST["pages"] if "chatter" in p["flags"]]
    assert chatter and all(p["lang"] == "zh" for p in chatter)
    for p in chatter:
        _, _, body = get(srv, p["url"])
        assert "為您整理" in body.decode("utf-8") or "幫您整理" in body.decode("utf-8")
    trad = [p for p in MANIFEST["pages"] if "traditional" in p["flags"]]
    assert trad
    _, _, body = get(srv, trad[0]["url"])
    text = body.decode("utf-8")
    assert "先進製程" in text and "維持緊俏" in text  # a Traditional quote inside a Simplified page


def test_https_verifies_with_demo_ca_and_host_name(srv):
    host = "weekly-cn.demo.test"
    ctx = ssl.create_default_context(cafile=srv.ca_bundle)
    addr = ("127.0.0.1", srv.https_port)
    with socket.create_connection(addr, timeout=5) as raw, ctx.wrap_socket(raw, server_hostname=host) as tls:
        names = tls.getpeercert()["subjectAltName"]
        assert ("DNS", host) in names and ("DNS", "*.demo.test") in names
    # the system store alone does not trust it
    with socket.create_connection(addr, timeout=5) as raw, pytest.raises(ssl.SSLCertVerificationError):
        ssl.create_default_context().wrap_socket(raw, server_hostname=host)
    # a wrong name is rejected even with the CA
    with socket.create_connection(addr, timeout=5) as raw, pytest.raises(ssl.SSLCertVerificationError):
        ctx.wrap_socket(raw, server_hostname="example.org")


def test_httpx_with_resolve_map_style_transport(srv):
    """The shape a fetcher uses: rewrite host:port via the resolve map, keep Host and SNI = the demo host."""
    resolve = srv.resolve_map()
    assert resolve["news.demo.test:443"] == f"127.0.0.1:{srv.https_port}"
    assert resolve["news.demo.test:80"] == f"127.0.0.1:{srv.http_port}"
    assert set(srv.hosts) == {k.rsplit(":", 1)[0] for k in resolve}
    assert srv.fetch_overrides()["allowed_hosts"] == srv.hosts
    ctx = ssl.create_default_context(cafile=srv.ca_bundle)
    with httpx.Client(verify=ctx, timeout=5) as client:
        ip, _, port = resolve["blog.demo.test:443"].partition(":")
        r = client.get(
            f"https://{ip}:{port}/atom.xml",
            headers={"Host": "blog.demo.test"},
            extensions={"sni_hostname": "blog.demo.test"},
        )
        assert r.status_code == 200 and r.headers["content-type"] == "application/atom+xml"


def test_quiet_and_close_is_bounded(capfd):
    srv = DemoServer().start()
    get(srv, "http://news.demo.test/feed.xml")
    get(srv, "http://news.demo.test/missing")
    # a client that connects and says nothing must not block close()
    idle = socket.create_connection(("127.0.0.1", srv.https_port))
    threads = list(srv._threads)
    assert len(threads) == 2 and all(t.is_alive() for t in threads)
    t0 = time.monotonic()
    srv.close()
    assert time.monotonic() - t0 < 30  # bounded (an idle client cannot hold it), generously for a loaded machine
    idle.close()
    assert not any(t.is_alive() for t in threads)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_custom_root(tmp_path: Path):
    (tmp_path / "a.demo.test").mkdir()
    (tmp_path / "a.demo.test" / "index.html").write_text("<p>hi</p>", encoding="utf-8")
    with DemoServer(root=tmp_path) as srv:
        assert srv.hosts == ["a.demo.test"]
        st, hdr, body = get(srv, "https://a.demo.test/")
        assert st == 200 and body == b"<p>hi</p>" and hdr["content-type"] == "text/html; charset=utf-8"
