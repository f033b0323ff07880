"""Hostile servers (RELIABILITY.md rows 41, 43, 44): bodies that never end, redirects to other schemes and to
spellings of loopback, resolve entries that would open other ports, and any exception in one source.

The bad servers are raw sockets on 127.0.0.1 (tests/raw_socket.py); the good ones pytest-httpserver.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tomllib
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from curator import sources as sources_pkg
from curator.cli import app
from curator.errors import ConfigError, FetchError
from curator.http import Fetcher, Response
from curator.models import RunSummary
from curator.pipeline import Pipeline
from curator.settings import FetchSettings, SourceSettings, load_settings
from curator.sources import SourceContext, SourceResult
from curator.sources import registry as sources_registry
from curator.store import Store
from tests.raw_socket import Listener, RawServer, send_response, stream_zeros
from tests.sites import article_html

ENV = {"CURATOR_FETCH__ALLOWED_HOSTS": json.dumps(["127.0.0.1", "localhost"]), "CURATOR_LLM__PROVIDER": "offline",
       "CURATOR_FETCH__RESPECT_ROBOTS": "false", "CURATOR_EXTRACT__WORKERS": "0",
       "CURATOR_FETCH__MAX_BYTES": "1000000", "CURATOR_FETCH__RETRIES": "0"}


def rss(*links: str) -> str:
    items = "".join(f"<item><title>Story {i}</title><link>{u}</link></item>" for i, u in enumerate(links))
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'


ATOM = ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>B</title>'
        '<entry><title>P</title><link href="https://b.example/p"/><updated>2026-11-18T09:00:00Z</updated></entry></feed>')


@pytest.fixture
def good_site(httpserver):
    """A working source: a feed with one article, so a run has something that must still succeed."""
    httpserver.expect_request("/good.xml").respond_with_data(rss(httpserver.url_for("/a/1")),
                                                             content_type="application/rss+xml")
    httpserver.expect_request("/a/1").respond_with_data(article_html(1), content_type="text/html; charset=utf-8")
    return httpserver


def write_sources(workspace: Path, sources: list[dict[str, str]]) -> None:
    text = "".join("[[sources]]\n" + "".join(f'{k} = "{v}"\n' for k, v in s.items()) for s in sources)
    (workspace / "config" / "sources.toml").write_text(text, encoding="utf-8")


def collect(workspace: Path, **env: str) -> tuple[RunSummary, dict[str, Any], dict[str, str]]:
    settings = load_settings(workspace, env={**ENV, **env})
    with Store(settings.db_path) as store:
        run = Pipeline(settings, store).collect()
        health = {r.name: r.last_error for r in store.source_health()}
        states = {i.url: f"{i.state.value}:{i.reason}" for i in store.items()}
    return run, health, states


# -- bodies that never end -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rss", "arxiv", "youtube"])
def test_a_feed_that_never_ends_fails_its_source_at_the_cap_and_the_run_goes_on(workspace, good_site, kind,
                                                                                 monkeypatch):
    from curator.sources import arxiv

    monkeypatch.setattr(arxiv.THROTTLE, "interval_s", 0.0)
    with RawServer(lambda path, sock: stream_zeros(sock, "application/xml")) as zeros:
        write_sources(workspace, [{"name": "zeros", "kind": kind, "url": f"{zeros.origin}/feed"},
                                  {"name": "good", "url": good_site.url_for("/good.xml")}])
        run, health, states = collect(workspace)
    assert run.status == "ok"
    assert health == {"zeros": "too_large", "good": None}
    assert run.counters["source/too_large"] == 1 and run.counters["source/ok"] == 1
    assert list(states.values()) == ["enriched:None"]


def test_an_article_that_never_ends_is_skipped_too_large_and_the_others_go_on(workspace, good_site):
    with RawServer(lambda path, sock: stream_zeros(sock, "text/html; charset=utf-8")) as zeros:
        good_site.expect_request("/mixed.xml").respond_with_data(
            rss(f"{zeros.origin}/endless", good_site.url_for("/a/1")), content_type="application/rss+xml")
        write_sources(workspace, [{"name": "mixed", "url": good_site.url_for("/mixed.xml")}])
        run, _, states = collect(workspace)
    assert run.status == "ok"
    assert states[f"{zeros.origin}/endless"] == "skipped:too_large"
    assert states[good_site.url_for("/a/1")] == "enriched:None"


def sources_add(workspace: Path, url: str) -> Any:
    env = {**ENV, "CURATOR_HOME": ""}
    return CliRunner().invoke(app, ["sources", "add", url, "--home", str(workspace)], env=env)


def test_sources_add_refuses_a_page_that_never_ends(workspace):
    with RawServer(lambda path, sock: stream_zeros(sock, "text/html")) as zeros:
        result = sources_add(workspace, f"{zeros.origin}/")
    assert result.exit_code == 1
    assert "exceeds the 1000000-byte cap" in result.output and "Traceback" not in result.output
    assert not (workspace / "config" / "sources.toml").exists()


def test_discovery_passes_over_a_candidate_feed_that_never_ends(workspace):
    page = ('<html><head><link rel="alternate" type="application/rss+xml" href="/endless.xml">'
            '<link rel="alternate" type="application/atom+xml" href="/atom.xml"></head><body>hi</body></html>')

    def respond(path: str, sock: Any) -> None:
        if path == "/endless.xml":
            stream_zeros(sock, "application/rss+xml")
        elif path == "/atom.xml":
            send_response(sock, "200 OK", {"Content-Type": "application/atom+xml"}, ATOM.encode())
        else:
            send_response(sock, "200 OK", {"Content-Type": "text/html"}, page.encode())

    with RawServer(respond) as site:
        result = sources_add(workspace, f"{site.origin}/")
        assert result.exit_code == 0, result.output
        assert "/endless.xml" in site.paths  # it was tried, and refused at the cap
    added = tomllib.loads((workspace / "config" / "sources.toml").read_text(encoding="utf-8"))["sources"]
    assert [s["url"] for s in added] == [f"{site.origin}/atom.xml"]


# -- redirects to other schemes --------------------------------------------------------------------------


def redirect_to(location: str) -> RawServer:
    return RawServer(lambda path, sock: send_response(sock, "302 Found", {"Location": location}))


@pytest.mark.parametrize("location", ["mailto:editor@example.org", "javascript:alert(document.cookie)",
                                      "data:text/html;base64,PHNjcmlwdD4=", "file:///etc/passwd"])
def test_a_feed_redirecting_to_another_scheme_fails_that_source_only(workspace, good_site, location):
    with redirect_to(location) as bad:
        write_sources(workspace, [{"name": "bad", "url": f"{bad.origin}/feed"},
                                  {"name": "good", "url": good_site.url_for("/good.xml")}])
        run, health, states = collect(workspace)
    assert run.status == "ok"
    assert health == {"bad": "blocked_scheme", "good": None}
    assert list(states.values()) == ["enriched:None"]


def test_a_page_redirecting_to_javascript_is_failed_blocked_scheme_and_collect_exits_0(workspace, good_site):
    with redirect_to("javascript:alert(1)") as bad:
        good_site.expect_request("/mixed.xml").respond_with_data(
            rss(f"{bad.origin}/jump", good_site.url_for("/a/1")), content_type="application/rss+xml")
        write_sources(workspace, [{"name": "mixed", "url": good_site.url_for("/mixed.xml")}])
        result = CliRunner().invoke(app, ["collect", "--home", str(workspace)], env={**ENV, "CURATOR_HOME": ""})
    assert result.exit_code == 0, result.output
    assert "run ended early" not in result.output and "Traceback" not in result.output
    with Store(workspace / "data" / "curator.db") as store:
        states = {i.url: f"{i.state.value}:{i.reason}" for i in store.items()}
    assert states[f"{bad.origin}/jump"] == "failed:blocked_scheme"
    assert states[good_site.url_for("/a/1")] == "enriched:None"


# -- redirects to spellings of loopback, and resolve pins ------------------------------------------------

LOOPBACK_FORMS = ["0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "2130706433", "017700000001", "127.1", "0177.1",
                  "１２７.０.０.１", "１２７。０。０。１", "[::1]", "[::ffff:127.0.0.1]", "localhost", "0.0.0.0"]


def fetch(settings: FetchSettings, url: str) -> Response | FetchError:
    async def go() -> Response | FetchError:
        async with Fetcher(settings) as fetcher:
            try:
                return await fetcher.get(url)
            except FetchError as exc:
                return exc

    return asyncio.run(go())


@pytest.mark.parametrize("form", LOOPBACK_FORMS)
def test_redirects_to_loopback_spellings_are_blocked_before_connecting(form):
    with Listener() as internal:
        with redirect_to(f"http://{form}:{internal.port}/admin") as site:
            settings = FetchSettings(resolve={f"feeds.test:{site.port}": f"127.0.0.1:{site.port}"}, retries=0)
            outcome = fetch(settings, f"http://feeds.test:{site.port}/feed")
        assert isinstance(outcome, FetchError) and outcome.reason == "blocked_address", outcome
        assert internal.connections == 0


def test_a_resolve_entry_keeps_redirects_on_its_own_port():
    with Listener() as internal:
        def respond(path: str, sock: Any) -> None:
            if path == "/feed":
                send_response(sock, "302 Found", {"Location": f"http://feeds.test:{internal.port}/secret"})
            else:
                send_response(sock, "200 OK", {"Content-Type": "text/plain"}, b"served by the pinned port")

        with RawServer(respond) as site:
            settings = FetchSettings(resolve={"feeds.test": f"127.0.0.1:{site.port}"}, retries=0)
            outcome = fetch(settings, f"http://feeds.test:{site.port}/feed")
            assert site.paths == ["/feed", "/secret"]
        assert isinstance(outcome, Response) and outcome.body == b"served by the pinned port"
        assert internal.connections == 0


@pytest.mark.parametrize("target", ["127.0.0.1", "::1", "127.0.0.1:", "127.0.0.1:99999", "not-an-ip:80"])
def test_a_resolve_entry_without_a_port_is_a_config_error_before_any_request(workspace, target):
    hits: list[str] = []
    with RawServer(lambda path, sock: hits.append(path) or send_response(sock, "200 OK", {}, rss().encode())) as srv:
        write_sources(workspace, [{"name": "s", "url": f"http://feeds.test:{srv.port}/feed"}])
        env = {**ENV, "CURATOR_HOME": "", "CURATOR_FETCH__RESOLVE": json.dumps({"feeds.test": target})}
        result = CliRunner().invoke(app, ["collect", "--home", str(workspace)], env=env)
        with pytest.raises(ConfigError) as err:
            load_settings(workspace, env=env)
    assert result.exit_code == 78, result.output
    assert "fetch.resolve" in result.output and "port is required" in result.output
    assert "Traceback" not in result.output
    assert hits == [] and "fetch.resolve" in str(err.value)


# -- any exception in one source --------------------------------------------------------------------------

SECRET = "tok_hostile_fetch_7f3a9"


class ExplodingSource:
    kind: ClassVar[str] = "explodes"

    def __init__(self, config: SourceSettings) -> None:
        self.config = config

    async def discover(self, ctx: SourceContext) -> SourceResult:
        raise KeyError(f"https://user:{SECRET}@internal.example/?token={SECRET}")


@pytest.mark.parametrize("exc_type", ["KeyError", "MemoryError"])
def test_any_exception_in_one_source_is_its_outcome_and_never_logs_the_message(workspace, good_site, monkeypatch,
                                                                               caplog, exc_type):
    class Source(ExplodingSource):
        async def discover(self, ctx: SourceContext) -> SourceResult:
            if exc_type == "MemoryError":
                raise MemoryError(SECRET)
            return await super().discover(ctx)

    monkeypatch.setitem(sources_pkg.SOURCES, "explodes", Source)
    monkeypatch.setattr(sources_registry, "_load", lambda: None)
    from curator.sources import rss  # noqa: F401  (the good source's kind is registered on import)

    caplog.set_level(logging.DEBUG)
    write_sources(workspace, [{"name": "boom", "kind": "explodes", "url": "https://boom.example/"},
                              {"name": "good", "url": good_site.url_for("/good.xml")}])
    run, health, states = collect(workspace)
    assert run.status == "ok"
    assert health == {"boom": "internal_error", "good": None}
    assert run.counters["source/internal_error"] == 1
    assert any(exc_type in note for note in run.notes)
    assert list(states.values()) == ["enriched:None"]
    assert SECRET not in caplog.text


def test_any_exception_on_one_item_is_that_items_outcome(workspace, good_site, monkeypatch, caplog):
    from curator import charset, fetch

    real = charset.decode_html

    def decode(body: bytes, content_type: str | None = None) -> tuple[str, str]:
        if b"EXPLODE" in body:  # a page that trips a bug nobody foresaw
            raise LookupError(f"codec for {SECRET}")
        return real(body, content_type)

    monkeypatch.setattr(fetch.charset, "decode_html", decode)
    good_site.expect_request("/a/2").respond_with_data("<html><body>EXPLODE</body></html>", content_type="text/html")
    good_site.expect_request("/mixed.xml").respond_with_data(
        rss(good_site.url_for("/a/2"), good_site.url_for("/a/1")), content_type="application/rss+xml")
    write_sources(workspace, [{"name": "mixed", "url": good_site.url_for("/mixed.xml")}])
    run, _, states = collect(workspace)
    assert run.status == "ok"
    assert states == {good_site.url_for("/a/2"): "failed:internal_error", good_site.url_for("/a/1"): "enriched:None"}
    assert run.counters["fetch/internal_error"] == 1 and any("LookupError" in n for n in run.notes)
    assert SECRET not in caplog.text


# -- the LLM endpoint is a read path too -------------------------------------------------------------------


def _llm_backend(workspace: Path, base_url: str) -> Any:
    from curator.enrich.openai import OpenAIBackend
    from tests.canary import CANARY

    settings = load_settings(workspace, env={"OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": base_url},
                             overrides={"llm": {"provider": "openai", "max_retries": 0, "timeout_s": 30}})
    return OpenAIBackend(settings)


@pytest.mark.parametrize("shape", ["endless", "gzip"])
def test_an_llm_answer_that_never_ends_is_refused_at_the_cap(workspace, shape):
    import gzip

    from curator.errors import LLMError
    from curator.models import EnrichRequest

    def respond(path: str, sock: Any) -> None:
        if shape == "gzip":  # compressed although we asked for identity: refused, never decoded
            body = gzip.compress(b" " * 50_000_000)
            send_response(sock, "200 OK", {"Content-Type": "application/json", "Content-Encoding": "gzip"}, body)
        else:
            stream_zeros(sock, "application/json")

    with RawServer(respond) as llm:
        backend = _llm_backend(workspace, f"{llm.origin}/v1")
        with pytest.raises(LLMError) as err:
            backend.enrich(EnrichRequest(item_id=1, url="https://ex.com/a", title="t", text="正文。" * 100,
                                         lang="zh", source="feed", content_hash="h"))
    assert err.value.reason == "llm_too_large"
    assert [c.outcome for c in backend.drain_calls()] == ["llm_too_large"]


@pytest.mark.parametrize("phase", ["body", "headers"])
def test_an_llm_endpoint_dripping_bytes_is_cut_by_the_per_call_deadline(workspace, phase):
    """Each byte comes well inside the per-read timeout, so only an overall deadline ends the call (row 31)."""
    import threading

    from curator.enrich.openai import OpenAIBackend
    from curator.errors import LLMError
    from curator.models import EnrichRequest
    from tests.canary import CANARY

    hung_up = threading.Event()

    def respond(path: str, sock: Any) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        if phase == "body":
            sock.sendall(head)
        drip = head if phase == "headers" else b'{"choices": [' + b" " * 100000
        try:
            for i in range(len(drip)):  # bounded: ~0.2 s a byte, for far longer than the deadline
                sock.sendall(drip[i:i + 1])
                if hung_up.wait(0.2):
                    break
        except OSError:
            hung_up.set()  # the client shut the socket: the deadline did it

    with RawServer(respond) as llm:
        settings = load_settings(workspace, env={"OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": f"{llm.origin}/v1"},
                                 overrides={"llm": {"provider": "openai", "max_retries": 1, "timeout_s": 2}})
        backend = OpenAIBackend(settings)
        try:
            with pytest.raises(LLMError) as err:
                backend.enrich(EnrichRequest(item_id=1, url="https://ex.com/a", title="t", text="正文。" * 100,
                                             lang="zh", source="feed", content_hash="h"))
        finally:
            hung_up.set()
    assert err.value.reason == "llm_timeout" and err.value.retryable  # the item waits for the next run
    assert [c.outcome for c in backend.drain_calls()] == ["llm_timeout"]
    assert llm.connections == 1  # the SDK's retry came after the call's deadline: no second connection


HOSTILE_ANSWERS = {
    "tool call": {"content": None, "finish_reason": "tool_calls"},
    "prose": {"content": "好的！下面是摘要：这篇文章讲了很多。"},
    "deeply nested": {"content": "[" * 100_000 + "]" * 100_000},
    "huge": {"content": json.dumps({"title": "t", "summary": "长" * 1_000_000, "tags": [], "section": "ai",
                                    "score": 50, "reason": "r"}, ensure_ascii=False)},
    "html": {"content": json.dumps({"title": "<img src=x onerror=alert(1)>", "summary": "<script>x</script>",
                                    "tags": [], "section": "ai", "score": 50, "reason": "r"})},
}


@pytest.mark.parametrize("answer", HOSTILE_ANSWERS.values(), ids=HOSTILE_ANSWERS.keys())
def test_a_hostile_model_answer_is_llm_invalid_and_nothing_is_kept(workspace, fake_llm, answer):
    """Every answer that is not a valid enrichment ends as `llm_invalid` after one repair, never a crash."""
    from curator.errors import LLMError
    from curator.models import EnrichRequest
    from tests.fake_openai import Reply

    fake_llm.script = [Reply(**answer), Reply(**answer)]
    backend = _llm_backend(workspace, fake_llm.base_url)
    with pytest.raises(LLMError) as err:
        backend.enrich(EnrichRequest(item_id=1, url="https://ex.com/a", title="t", text="正文。" * 100,
                                     lang="zh", source="feed", content_hash="h"))
    assert err.value.reason == "llm_invalid", err.value
    assert len(fake_llm.requests) == 2  # the answer and one repair attempt
