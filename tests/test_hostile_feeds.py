"""Hostile feeds (RELIABILITY.md rows 39, 40, 42): local paths handed to the parser, entity bombs in every
encoding feedparser accepts, NULs and broken UTF-8, and every feed kind parsed in the parser pool.

Feeds are served by loopback servers or handed straight to the parse functions each kind uses.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from curator.cli.sources import app as sources_app
from curator.errors import SourceError
from curator.http import Fetcher
from curator.models import Validators
from curator.settings import SourceSettings
from curator.sources import SourceContext, SourceResult, arxiv, build_source
from curator.sources.arxiv import parse_arxiv
from curator.sources.discovery import looks_like_feed
from curator.sources.rss import parse_feed
from curator.sources.youtube import parse_channel
from tests.test_sources_support import LOOPBACK

NOW = datetime(2026, 11, 24, tzinfo=UTC)
URL = "https://feeds.example.com/feed.xml"
RSS = SourceSettings(name="blog", url=URL)
ARXIV = SourceSettings(name="arXiv", kind="arxiv", url=URL)
YOUTUBE = SourceSettings(name="channel", kind="youtube", url=URL)

# -- files opened while a test watches them (an audit hook sees every open() in this process) -----------
_WATCHED: set[str] = set()
_OPENED: list[str] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and _WATCHED and isinstance(args[0], str | bytes):
        path = os.fsdecode(args[0])
        if path in _WATCHED:
            _OPENED.append(path)


sys.addaudithook(_audit)


def rss_feed(title: str = "Canary entry", link: str = "https://canary.example/secret-entry") -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>c</title>'
            f"<item><title>{title}</title><link>{link}</link><description>d</description></item>"
            "</channel></rss>")


def atom_feed(title: str = "Canary paper", author: str = "Li Wei") -> str:
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
            'xmlns:yt="http://www.youtube.com/xml/schemas/2015"><title>c</title>'
            f"<entry><id>http://arxiv.org/abs/2611.00001v1</id><yt:videoId>AAAAAAAAAAA</yt:videoId>"
            f'<title>{title}</title><link rel="alternate" href="https://arxiv.org/abs/2611.00001v1"/>'
            f"<author><name>{author}</name></author><summary>We study canaries.</summary>"
            "<updated>2026-11-18T09:00:00Z</updated></entry></feed>")


def _rss(body: bytes, ctype: str = "application/xml") -> list[str]:
    return [c.title for c in parse_feed(body, URL, ctype, RSS, NOW).candidates]


def _arxiv(body: bytes, ctype: str = "") -> list[str]:
    return [c.title for c in parse_arxiv(body, URL, ARXIV, NOW).candidates]


def _youtube(body: bytes, ctype: str = "") -> list[str]:
    return [c.title for _, c in parse_channel(body, URL, YOUTUBE, NOW)[0]]


PARSERS: dict[str, Callable[[bytes, str], list[str]]] = {"rss": _rss, "arxiv": _arxiv, "youtube": _youtube}


# -- local files through the feed parser ---------------------------------------------------------------


@pytest.fixture
def canary_files(tmp_path: Path) -> dict[str, Path]:
    """A valid feed on disk for each shape: what a body naming its path would leak if it were opened."""
    files = {"rss": tmp_path / "canary-rss.xml", "atom": tmp_path / "canary-atom.xml"}
    files["rss"].write_text(rss_feed(), encoding="utf-8")
    files["atom"].write_text(atom_feed(), encoding="utf-8")
    _WATCHED.update(str(p) for p in files.values())
    _OPENED.clear()
    yield files
    _WATCHED.clear()


@pytest.mark.parametrize("kind", ["rss", "arxiv", "youtube"])
@pytest.mark.parametrize("form", ["path", "file_url", "path_newline"])
def test_a_body_naming_a_local_file_never_opens_it(canary_files, kind, form):
    path = canary_files["rss" if kind == "rss" else "atom"]
    body = {"path": str(path), "file_url": path.as_uri(), "path_newline": f"{path}\n"}[form].encode()
    try:
        titles = PARSERS[kind](body, "application/xml")
    except SourceError as exc:
        titles = []
        assert exc.reason == "not_a_feed"
    assert titles == [] and _OPENED == []
    assert looks_like_feed(body, "application/xml") is False
    assert _OPENED == []


def test_sources_add_refuses_a_page_that_is_a_local_path(canary_files, workspace, httpserver):
    path = str(canary_files["rss"])
    httpserver.expect_request("/").respond_with_data(path, content_type="application/rss+xml")
    httpserver.expect_request("/feed").respond_with_data(path.encode(), content_type="text/xml")
    env = {"CURATOR_FETCH__ALLOWED_HOSTS": json.dumps(["127.0.0.1", "localhost"]), "CURATOR_EXTRACT__WORKERS": "0",
           "CURATOR_HOME": ""}
    result = CliRunner().invoke(sources_app, ["add", httpserver.url_for("/"), "--home", str(workspace)], env=env)
    assert result.exit_code != 0
    assert "no feed found" in result.output
    assert not (workspace / "config" / "sources.toml").exists()
    assert _OPENED == []


# -- entity bombs in every encoding --------------------------------------------------------------------

BOMB_ENTITY = "x" * 200_000
BOMB_REFS = "&big;" * 40  # 8 M characters if expanded


def bomb(shape: str, decl_encoding: str) -> str:
    prolog = f'<?xml version="1.0" encoding="{decl_encoding}"?><!DOCTYPE r [<!ENTITY big "{BOMB_ENTITY}">]>'
    return prolog + (rss_feed(BOMB_REFS) if shape == "rss" else atom_feed(BOMB_REFS)).split("?>", 1)[1]


def _encode(text: str, encoding: str) -> tuple[bytes, str]:
    """(body, content type) for the encoding forms feedparser accepts."""
    if encoding.startswith("utf-7"):
        # Python's encoder writes "<" directly; an attacker spells the declaration's "<!" as "+ADw-!", which a
        # byte-level search for "<!ENTITY" never sees.
        body = text.encode("utf-7").replace(b"<!", b"+ADw-!")
        return body, "application/xml; charset=utf-7" if encoding == "utf-7-header" else "application/xml"
    if encoding == "gb18030-declared":
        return text.encode("gb18030"), "application/xml"
    if encoding.endswith("-bom"):
        codec = encoding[: -len("-bom")]
        bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE,
               "utf-32-le": codecs.BOM_UTF32_LE, "utf-32-be": codecs.BOM_UTF32_BE, "utf-8": codecs.BOM_UTF8}[codec]
        return bom + text.encode(codec), "application/xml"
    return text.encode(encoding), "application/xml"


ENCODINGS = {  # the form → what the XML declaration says
    "utf-7": "utf-7", "utf-7-header": "utf-7", "utf-16-le": "utf-16", "utf-16-be": "utf-16",
    "utf-16-le-bom": "utf-16", "utf-16-be-bom": "utf-16", "utf-32-le": "utf-32", "utf-32-be": "utf-32",
    "utf-32-le-bom": "utf-32", "utf-32-be-bom": "utf-32", "utf-8-bom": "utf-8", "gb18030-declared": "gb18030",
}


@pytest.mark.parametrize("kind", ["rss", "arxiv", "youtube"])
@pytest.mark.parametrize("form", sorted(ENCODINGS))
def test_entity_bombs_are_refused_in_every_encoding(kind, form):
    body, ctype = _encode(bomb("rss" if kind == "rss" else "atom", ENCODINGS[form]), form)
    with pytest.raises(SourceError) as err:
        PARSERS[kind](body, ctype)
    assert err.value.reason == "xml_entities"
    assert looks_like_feed(body, ctype) is False


@pytest.mark.parametrize("kind", ["rss", "arxiv", "youtube"])
@pytest.mark.parametrize("form", sorted(ENCODINGS))
def test_the_same_encodings_without_a_bomb_parse_with_the_right_text(kind, form):
    title = "大模型周报 Weekly"
    text = rss_feed(title) if kind == "rss" else atom_feed(title)
    text = text.replace('encoding="utf-8"', f'encoding="{ENCODINGS[form]}"')
    body, ctype = _encode(text, form)
    assert PARSERS[kind](body, ctype) == [title]


# -- NULs and invalid UTF-8 ----------------------------------------------------------------------------


def test_nul_bytes_and_invalid_utf8_are_sanitised_at_ingest():
    body = rss_feed("Hello\x00 World \x07bell").encode().replace(b"Hello", b"Hel\xfflo")
    (title,) = _rss(body, "application/rss+xml; charset=utf-8")
    assert "\x00" not in title and "\x07" not in title
    assert title == "Hel\ufffdlo World bell"


def test_a_chinese_utf8_feed_with_one_stray_byte_keeps_its_chinese():
    body = rss_feed("开源数据库发布新版本").encode().replace("发布".encode(), "发布".encode() + b"\x80")
    (title,) = _rss(body, "application/rss+xml; charset=utf-8")
    assert title.replace("\ufffd", "") == "开源数据库发布新版本"


@pytest.mark.parametrize("kind", ["arxiv", "youtube"])
def test_nul_in_atom_titles_and_authors_is_removed(kind):
    body = atom_feed("Cana\x00ry paper", author="Li\x00 Wei\x1b").encode()
    (title,) = PARSERS[kind](body, "")
    assert title == "Canary paper"
    if kind == "arxiv":
        (cand,) = parse_arxiv(body, URL, ARXIV, NOW).candidates
        assert cand.snippet.startswith("Li Wei: ")


# -- every feed kind parses in the parser pool ---------------------------------------------------------


@pytest.mark.parametrize("kind, shape", [("rss", "rss"), ("arxiv", "atom"), ("youtube", "atom")])
def test_every_feed_kind_parses_through_the_parser_pool(httpserver, monkeypatch, kind, shape):
    monkeypatch.setattr(arxiv.THROTTLE, "interval_s", 0.0)
    httpserver.expect_request("/feed").respond_with_data(
        rss_feed() if shape == "rss" else atom_feed(), content_type="application/xml")
    jobs: list[str] = []

    async def pool(fn: Callable[..., Any], *args: Any) -> Any:
        jobs.append(fn.__name__)
        return fn(*args)

    async def go() -> SourceResult:
        source = build_source(SourceSettings(name="s", kind=kind, url=httpserver.url_for("/feed")))
        async with Fetcher(LOOPBACK) as fetcher:
            return await source.discover(SourceContext(fetcher=fetcher, validators=Validators(), now=NOW, cpu=pool))

    result = asyncio.run(go())
    assert len(result.candidates) == 1
    assert jobs == [{"rss": "parse_feed", "arxiv": "parse_arxiv", "youtube": "parse_channel"}[kind]]


def test_a_bomb_served_to_collect_fails_its_source_and_the_run_goes_on(workspace, httpserver):
    from curator.pipeline import Pipeline
    from curator.settings import load_settings
    from curator.store import Store

    body, ctype = _encode(bomb("atom", "utf-16"), "utf-16-le")
    httpserver.expect_request("/bomb").respond_with_data(body, content_type=ctype)
    httpserver.expect_request("/good").respond_with_data(rss_feed(link=httpserver.url_for("/a")),
                                                          content_type="application/rss+xml")
    httpserver.expect_request("/a").respond_with_data("<html><body>short</body></html>", content_type="text/html")
    (workspace / "config" / "sources.toml").write_text(
        f'[[sources]]\nname = "bomb"\nkind = "youtube"\nurl = "{httpserver.url_for("/bomb")}"\n'
        f'[[sources]]\nname = "good"\nurl = "{httpserver.url_for("/good")}"\n', encoding="utf-8")
    env = {"CURATOR_FETCH__ALLOWED_HOSTS": json.dumps(["127.0.0.1", "localhost"]), "CURATOR_LLM__PROVIDER": "offline",
           "CURATOR_FETCH__RESPECT_ROBOTS": "false", "CURATOR_EXTRACT__WORKERS": "1"}
    settings = load_settings(workspace, env=env)
    with Store(settings.db_path) as store:
        run = Pipeline(settings, store).collect()
        health = {r.name: r.last_error for r in store.source_health()}
    assert run.counters["source/xml_entities"] == 1 and run.counters["source/ok"] == 1
    assert health == {"bomb": "xml_entities", "good": None}


# -- hostile entry fields -----------------------------------------------------------------------------------


def test_hostile_entry_fields_are_tamed_at_ingest_and_never_reach_the_draft_as_markup(workspace, httpserver):
    """Titles with line breaks, bidi overrides, a 1 MB title, `javascript:` / `file:` / `data:` item links and
    enclosures: stored as one short line of text, dangerous links never stored or drafted."""
    from curator.store import Store

    page = "<html><body><article>" + "<p>正文段落，讲述一次真实的版本发布和它的改动。</p>" * 20 + "</article></body></html>"
    httpserver.expect_request("/a/1").respond_with_data(page, content_type="text/html; charset=utf-8")
    good = httpserver.url_for("/a/1")
    items = [("第一行\n## 假标题\n---\n[^1]: https://evil.example/", good, "file:///etc/passwd"),
             ("\u202egnp.exe 翻转\u2066 标题", "javascript:alert(document.cookie)", ""),
             ("巨" * 1_000_000, "file:///etc/passwd", ""),
             ("数据", "data:text/html,<script>alert(1)</script>", ""),
             ("壳", "vbscript:msgbox(1)", "")]
    entries = "".join(
        f"<item><title><![CDATA[{t}]]></title><link>{link}</link><pubDate>Thu, 12 Nov 2026 09:00:00 GMT</pubDate>"
        + (f'<enclosure url="{enc}" type="audio/mpeg" length="1"/>' if enc else "") + "</item>"
        for t, link, enc in items)
    httpserver.expect_request("/feed.xml").respond_with_data(
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{entries}</channel></rss>',
        content_type="application/rss+xml")
    (workspace / "config" / "sources.toml").write_text(
        f'[[sources]]\nname = "站"\nurl = "{httpserver.url_for("/feed.xml")}"\n', encoding="utf-8")
    env = {"CURATOR_FETCH__ALLOWED_HOSTS": json.dumps(["127.0.0.1", "localhost"]), "CURATOR_EXTRACT__WORKERS": "0",
           "CURATOR_FETCH__RESPECT_ROBOTS": "false", "CURATOR_LLM__PROVIDER": "offline", "OPENAI_API_KEY": ""}
    from curator.cli import app

    collect = CliRunner().invoke(app, ["collect", "--home", str(workspace)], env=env)
    assert collect.exit_code == 0, collect.output
    with Store(workspace / "data" / "curator.db") as store:
        stored = store.items()
    assert [i.url for i in stored] == [good]  # no javascript:, file:, data:, vbscript: item
    title = stored[0].title
    assert "\n" not in title and len(title) <= 300
    assert not any(ch in title for ch in "\u202e\u2066")
    CliRunner().invoke(app, ["draft", "--home", str(workspace), "--date", "2026-11-15"], env=env)
    text = (workspace / "drafts" / "issue-1.md").read_text(encoding="utf-8")
    assert good in text  # the story was drafted …
    for bad in ("javascript:", "file:", "data:", "vbscript:", "\n## 假标题", "\n[^1]: https://evil", "\u202e"):
        assert bad not in text, bad  # … and nothing the feed planted


JSON_SOURCES = {
    "hn": ("parse_hits", {"hits": [{"objectID": "1", "title": "Show HN: x", "url": "https://x.example/",
                                    "points": 500, "created_at": "2026-11-12T09:00:00Z"}]}),
    "github_releases": ("parse_releases", [{"html_url": "https://github.com/o/r/releases/tag/v1", "name": "v1",
                                            "tag_name": "v1", "body": "notes", "published_at": "2026-11-12T09:00:00Z"}]),
    "github_submissions": ("parse_submissions", [{"html_url": "https://github.com/o/r/issues/1", "title": "投稿",
                                                  "body": "https://x.example/post", "user": {"login": "u"},
                                                  "created_at": "2026-11-12T09:00:00Z"}]),
}


@pytest.mark.parametrize("kind", JSON_SOURCES)
def test_json_sources_parse_through_the_parser_pool(httpserver, kind):
    """HN and GitHub answers are parsed where a huge or deeply nested body costs a capped worker, not the run."""
    name, body = JSON_SOURCES[kind]
    httpserver.expect_request("/api").respond_with_data(json.dumps(body), content_type="application/json")
    jobs: list[str] = []

    async def pool(fn: Callable[..., Any], *args: Any) -> Any:
        jobs.append(fn.__name__)
        return fn(*args)

    async def go() -> SourceResult:
        source = build_source(SourceSettings(name="s", kind=kind, url=httpserver.url_for("/api")))
        async with Fetcher(LOOPBACK) as fetcher:
            return await source.discover(SourceContext(fetcher=fetcher, validators=Validators(), now=NOW, cpu=pool))

    asyncio.run(go())
    assert jobs == [name]


@pytest.mark.parametrize("kind", JSON_SOURCES)
def test_deeply_nested_json_is_a_source_outcome_in_a_real_worker(kind):
    """Through a real worker process: nesting past the parser's depth is `bad_shape`, never a RecursionError."""
    from curator.settings import ExtractSettings
    from curator.workers import ParsePool

    body = (b'{"hits": ' if kind == "hn" else b"") + b"[" * 200_000 + b"]" * 200_000 + (b"}" if kind == "hn" else b"")
    fn = {"hn": "curator.sources.hn:parse_hits", "github_releases": "curator.sources.github:parse_releases",
          "github_submissions": "curator.sources.github:parse_submissions"}[kind]
    module, _, attr = fn.partition(":")
    parser = getattr(__import__(module, fromlist=[attr]), attr)

    async def go() -> Any:
        with ParsePool(ExtractSettings(workers=1, timeout_s=60)) as pool:
            return await pool.run(parser, body, "https://api.example/x", SourceSettings(name="s", kind=kind,
                                  url="https://api.example/x"), NOW)

    with pytest.raises(SourceError) as err:
        asyncio.run(go())
    assert err.value.reason == "bad_shape"
