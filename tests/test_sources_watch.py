"""Watching a page without a feed, on loopback: dated blocks become entries, ETag 304, layout changes."""

from datetime import UTC, datetime

import pytest

from curator.errors import SourceError
from curator.models import Validators
from curator.settings import SourceSettings
from curator.sources import build_source
from curator.sources.watch import date_in_text, find_entries
from tests.test_sources_support import NOW, discover

NOTES = """<!doctype html><html><head><meta charset="utf-8"><title>笔记</title></head><body>
<nav><ul><li><a href="/">首页</a></li><li><a href="/about">关于</a></li></ul></nav>
<main><article class="notes">
  <h1>Notes</h1>
  <h2 id="rust-2026">Rust 2026 roadmap</h2>
  <p><time datetime="2026-11-18T09:30:00+08:00">11 月 18 日</time> Thoughts on <a href="https://blog.rust-lang.org/x">the roadmap</a>.</p>
  <h2 id="llm-evals">2026年11月20日 · LLM 评测笔记</h2>
  <p>关于评测的一些想法。</p>
  <h3>Details (undated)</h3><p>more</p>
  <h2>An undated intro</h2><p>nothing to see</p>
  <h3><a href="/notes/gpu">GPU prices</a></h3><p>Written 2026/11/21.</p>
  <h2>Dated but no anchor</h2><p>2026-11-22 something</p>
  <h2 id="old">Old note</h2><p>2025-01-05 from last year</p>
</article></main>
<footer>© 2020-2026 某某</footer></body></html>"""

LIST = """<html><body><div class="posts">
<article><h2><a href="/p/deepseek-v4">DeepSeek V4 上手</a></h2><time datetime="2026-11-19">11-19</time><p>摘要</p></article>
<article id="weekly-47"><header><h2>周记 47</h2></header><p>Posted 17 Nov 2026</p></article>
</div><ul class="archive">
<li><span>2026-11-16</span> <a href="/p/older">Older post</a> <a href="/tag/x">#x</a></li>
<li>November 23, 2026 — <a href="https://ext.example.org/a">External thing</a></li>
</ul></body></html>"""


def watch(httpserver, path="/notes/", **kw):
    return build_source(SourceSettings(name="某某的笔记", kind="watch", url=httpserver.url_for(path), **kw))


def test_dated_blocks_on_a_notes_page_become_entries_with_anchors(httpserver):
    httpserver.expect_request("/notes/").respond_with_data(
        NOTES.encode(), content_type="text/html; charset=utf-8", headers={"ETag": '"v1"'}
    )
    result = discover(watch(httpserver))
    page = httpserver.url_for("/notes/")
    got = [(c.url, c.title, c.published_at.date().isoformat()) for c in result.candidates]
    assert got == [
        (httpserver.url_for("/notes/gpu"), "GPU prices", "2026-11-21"),
        (f"{page}#llm-evals", "LLM 评测笔记", "2026-11-20"),
        (f"{page}#rust-2026", "Rust 2026 roadmap", "2026-11-18"),
        (f"{page}#old", "Old note", "2025-01-05"),  # kept: the issue window decides by published_at
    ]
    assert result.dropped == {"no_link": 1}  # "Dated but no anchor"
    rust = result.candidates[2]
    assert rust.published_at == datetime(2026, 11, 18, 1, 30, tzinfo=UTC)
    assert "Thoughts on the roadmap" in rust.snippet
    assert result.validators.etag == '"v1"'


def test_unchanged_page_answers_304_and_proposes_nothing(httpserver):
    httpserver.expect_request("/notes/", headers={"If-None-Match": '"v1"'}).respond_with_data("", status=304)
    result = discover(watch(httpserver), validators=Validators(etag='"v1"'))
    assert result.not_modified and result.candidates == []


def test_list_page_entries_link_to_their_own_pages_newest_first(httpserver):
    httpserver.expect_request("/blog/").respond_with_data(LIST, content_type="text/html")
    result = discover(watch(httpserver, "/blog/", max_entries=4))
    base = httpserver.url_for("/").rstrip("/")
    assert [(c.url, c.title) for c in result.candidates] == [
        ("https://ext.example.org/a", "External thing"),
        (f"{base}/p/deepseek-v4", "DeepSeek V4 上手"),
        (f"{base}/blog/#weekly-47", "周记 47"),
        (f"{base}/p/older", "Older post"),
    ]
    capped = discover(watch(httpserver, "/blog/", max_entries=1))
    assert len(capped.candidates) == 1 and capped.dropped == {"entry_cap": 3}


def test_gbk_page_is_decoded_and_future_dates_clamped(httpserver):
    html = '<html><head><meta charset="gbk"></head><body><ul><li>2099年1月1日 <a href="/f">未来的文章</a></li></ul></body></html>'
    httpserver.expect_request("/cn/").respond_with_data(html.encode("gbk"), content_type="text/html")
    result = discover(watch(httpserver, "/cn/"))
    assert [(c.title, c.published_at) for c in result.candidates] == [("未来的文章", NOW)]


def test_base_href_and_nested_lists():
    html = """<html><head><base href="https://cdn.example.com/site/"></head><body><section><h2>Archive</h2>
    <ul><li>2026-11-01 <a href="a.html">A</a><ul><li>2026-10-01 <a href="b.html">B</a></li></ul></li></ul></section></body></html>"""
    entries, _ = find_entries(html, "https://example.com/", NOW)
    # The outer li holds one dated li with a different date: both are entries, each with its own first link.
    assert [(e.url, e.title) for e in entries] == [
        ("https://cdn.example.com/site/a.html", "A"),
        ("https://cdn.example.com/site/b.html", "B"),
    ]


def test_a_page_without_dated_entries_is_a_source_error(httpserver):
    httpserver.expect_request("/notes/").respond_with_data(
        "<html><body><p>Redesigned!</p></body></html>", content_type="text/html"
    )
    with pytest.raises(SourceError) as info:
        discover(watch(httpserver))
    assert info.value.reason == "no_entries"


def test_a_non_html_answer_is_a_source_error(httpserver):
    httpserver.expect_request("/notes/").respond_with_json({"a": 1})
    with pytest.raises(SourceError) as info:
        discover(watch(httpserver))
    assert info.value.reason == "not_html"


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("发表于 2026 年 11 月 8 日", "2026-11-08"),
        ("Updated 2026.11.18 by ed", "2026-11-18"),
        ("Sept. 3rd, 2026", "2026-09-03"),
        ("3 September 2026", "2026-09-03"),
        ("version 1.2026.11.18", None),
        ("2026-13-45 is not a date", None),
        ("nothing", None),
    ],
)
def test_date_text(text, date):
    found = date_in_text(text)
    assert (found.date().isoformat() if found else None) == date


def test_an_anchor_item_is_narrowed_to_its_own_entry_for_extraction():
    from curator.sources.watch import narrow_to_entry

    llm = narrow_to_entry(NOTES, "llm-evals")
    assert "LLM 评测笔记" in llm and "关于评测的一些想法" in llm
    assert "Rust 2026 roadmap" not in llm and "Details (undated)" not in llm
    weekly = narrow_to_entry(LIST, "weekly-47")
    assert "周记 47" in weekly and "DeepSeek" not in weekly and "Posted 17 Nov 2026" in weekly
    assert narrow_to_entry(NOTES, "nope") is None
