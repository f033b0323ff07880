"""Watching a page without a feed, on loopback: every dated entry of a notes page, a README of <details>
notes or a blog index comes out as its own item (own date, link, text); ETag 304; the night after; layout
changes are source errors that say what was looked for."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curator.cli.sources import app as sources_app
from curator.errors import SourceError
from curator.models import Page, Validators
from curator.pipeline import Pipeline
from curator.settings import SourceSettings, load_settings
from curator.sources import build_source
from curator.sources.watch import date_in_text, entry_article, find_entries, narrow_to_entry
from curator.store import Store
from tests.sites import article_html
from tests.test_sources_support import NOW, discover

WATCH_FIXTURES = Path(__file__).parent / "fixtures" / "watch"

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
  <h2>A section</h2><p>2026-11-22 something</p>
  <h2 id="old">Old note</h2><p>Posted 2025-01-05, from last year</p>
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


def serve(httpserver, path, html, **headers):
    body = html.encode() if isinstance(html, str) else html
    httpserver.expect_request(path).respond_with_data(
        body, content_type="text/html; charset=utf-8", headers=headers
    )


def fixture_html(name: str) -> str:
    return (WATCH_FIXTURES / name).read_text(encoding="utf-8")


def rows(result):
    return [(c.url, c.title, c.published_at.date().isoformat()) for c in result.candidates]


def by_title(result):
    return {c.title: c for c in result.candidates}


def test_dated_blocks_on_a_notes_page_become_entries_with_anchors(httpserver):
    serve(httpserver, "/notes/", NOTES, ETag='"v1"')
    result = discover(watch(httpserver))
    page = httpserver.url_for("/notes/")
    got = rows(result)
    # "A section" holds a dated paragraph: the paragraph is the entry (its own anchor), not the heading.
    something = next(url for url, title, _ in got if title == "something")
    assert got == [
        (something, "something", "2026-11-22"),
        (httpserver.url_for("/notes/gpu"), "GPU prices", "2026-11-21"),
        (f"{page}#llm-evals", "LLM 评测笔记", "2026-11-20"),
        # A paragraph led by a <time> is an entry too; its link is its first outbound link.
        ("https://blog.rust-lang.org/x", "Thoughts on the roadmap", "2026-11-18"),
        (f"{page}#old", "Old note", "2025-01-05"),  # kept: the issue window decides by published_at
    ]
    assert something.startswith(f"{page}#2026-11-22-")
    assert result.dropped == {}  # every dated entry has a link or an anchor of its own
    rust = result.candidates[3]
    assert rust.published_at == datetime(2026, 11, 18, 1, 30, tzinfo=UTC)
    assert result.candidates[1].snippet == "Written 2026/11/21."  # the heading entry's own text
    assert result.validators.etag == '"v1"'


def test_unchanged_page_answers_304_and_proposes_nothing(httpserver):
    httpserver.expect_request("/notes/", headers={"If-None-Match": '"v1"'}).respond_with_data("", status=304)
    result = discover(watch(httpserver), validators=Validators(etag='"v1"'))
    assert result.not_modified and result.candidates == []


# -- shape 1: dated paragraphs / list items under any heading level -----------------------------------------


def test_a_jekyll_notes_page_yields_each_dated_paragraph_as_its_own_entry(httpserver):
    serve(httpserver, "/notes/", fixture_html("notes-jekyll.html"))
    result = discover(watch(httpserver), now=datetime(2026, 12, 1, tzinfo=UTC))
    page = httpserver.url_for("/notes/")
    got = rows(result)
    assert [(u, t, d) for u, t, d in got if "#" not in u] == [
        (
            "https://mp.weixin.qq.com/s/Xk3pQ9aLmN0bVr7tY2uW1g",
            "卖身大厂，才是大模型公司最好的归宿",
            "2026-11-30",
        ),
        ("https://github.com/example/agentkit", "example/agentkit 开源", "2026-11-29"),
        ("https://36kr.com/p/3061234567890", "星河智能完成 10 亿元 B 轮融资", "2026-11-27"),  # under <h4>
        (httpserver.url_for("/notes/funding-2/"), "北辰科技的融资复盘", "2026-11-25"),
        ("https://example.org/old-story", "很久以前的一条记录，链接见原文", "2026-05-23"),  # under <h5>
    ]
    anchored = [(t, d) for u, t, d in got if u.startswith(f"{page}#")]
    assert anchored == [
        ("月之暗面发布新模型，长上下文再次升级", "2026-11-28"),  # no link: the page plus its own anchor
        ("青松数据的标注工具发布 2.0 版本，这条没有链接", "2026-11-26"),
    ]
    assert len(got) == 7  # no section heading became an item
    items = by_title(result)
    # Each entry's text is its own paragraphs, never the section's opening or the next entry's text.
    sold = items["卖身大厂，才是大模型公司最好的归宿"].snippet
    assert "融资窗口正在关闭" in sold and "估值变化" in sold
    assert "长期更新" not in sold and "月之暗面" not in sold
    moon = items["月之暗面发布新模型，长上下文再次升级"].snippet
    assert "两百万字" in moon and "价格与上一代持平" in moon and "星河智能" not in moon
    assert items["北辰科技的融资复盘"].snippet == "补充：这笔融资的条款里有对赌。"
    assert items["example/agentkit 开源"].snippet == "一个新的智能体框架"


DATE_FORMS = {
    "【YYYY-MM-DD】": lambda y, m, d: f"【{y}-{m:02d}-{d:02d}】",
    "[YYYY-MM-DD]": lambda y, m, d: f"[{y}-{m:02d}-{d:02d}] ",
    "YYYY年M月D日": lambda y, m, d: f"{y}年{m}月{d}日 ",
    "YYYY-M-D": lambda y, m, d: f"{y}-{m}-{d} ",
    "YYYY/MM/DD": lambda y, m, d: f"{y}/{m:02d}/{d:02d} ",
    "YYYY.MM.DD": lambda y, m, d: f"{y}.{m:02d}.{d:02d} ",
}


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("form", list(DATE_FORMS))
def test_dated_paragraphs_and_items_under_any_heading_level(level, form):
    date = DATE_FORMS[form]
    html = f"""<html><body><div class="content"><h{level} id="section">栏目名称</h{level}>
    <p>栏目的开场白，很久没更新了。</p>
    <p>{date(2026, 11, 3)}<a href="https://news.example.com/a/1">第一条新闻的标题</a></p>
    <p>第一条的正文说明。</p>
    <p>{date(2026, 11, 2)}第二条没有链接的新闻，正文在这里。后面还有一句。</p>
    <ul><li>{date(2026, 11, 1)}<a href="/local/3#part-2">第三条列表项</a>：列表项的评语</li></ul>
    </div></body></html>"""
    page = "https://notes.example.com/page/"
    entries, _ = find_entries(html, page, NOW)
    assert [(e.title, e.published_at.date().isoformat()) for e in entries] == [
        ("第一条新闻的标题", "2026-11-03"),
        ("第二条没有链接的新闻，正文在这里", "2026-11-02"),
        ("第三条列表项", "2026-11-01"),
    ]
    first, second, third = entries
    assert first.url == "https://news.example.com/a/1" and first.snippet == "第一条的正文说明。"
    assert second.url.startswith(f"{page}#2026-11-02-") and "后面还有一句" in second.snippet
    assert "开场白" not in second.snippet + first.snippet
    assert third.url == "https://notes.example.com/local/3" and third.snippet == "列表项的评语"


def test_a_dated_heading_entry_links_to_its_first_outbound_link_else_its_anchor():
    html = """<h4 id="n1">2026-11-12 某公司发布新模型</h4><p>摘要见<a href="https://o.example/post">原文</a>。</p>
    <h4 id="n2">2026-11-11 没有链接的一条</h4><p>只有文字。</p>"""
    entries, _ = find_entries(html, "https://n.example/", NOW)
    assert [(e.url, e.title, e.snippet) for e in entries] == [
        ("https://o.example/post", "某公司发布新模型", "摘要见原文。"),
        ("https://n.example/#n2", "没有链接的一条", "只有文字。"),
    ]


def test_several_dated_lines_in_one_paragraph_are_several_entries():
    # Markdown without blank lines between entries: one <p>, entries separated by newlines or <br>.
    html = """<div><h3 id="x">动态</h3><p>【2026-11-30】<a href="https://a.example/1">标题一</a>
    说明一的文字。
    【2026-11-29】<a href="https://a.example/2">标题二</a><br>
    说明二 &amp; 更多。
    [2026-11-28] 没有链接的第三条。</p><p>第三条的补充。</p></div>"""
    entries, _ = find_entries(html, "https://e.example/n/", NOW)
    assert [(e.url, e.title, e.snippet) for e in entries] == [
        ("https://a.example/1", "标题一", "说明一的文字。"),
        ("https://a.example/2", "标题二", "说明二 & 更多。"),
        (entries[2].url, "没有链接的第三条", "第三条的补充。"),
    ]
    assert entries[2].url.startswith("https://e.example/n/#2026-11-28-")


def test_items_under_a_heading_that_is_only_a_date_are_entries_of_that_date():
    html = """<div><h2>2026-11-20</h2><p>今天的要闻：</p>
    <ul><li><a href="https://a.example/1">甲发布</a> 说明甲</li><li><a href="https://a.example/2">乙发布</a>：说明乙</li></ul>
    <h2>2026年11月19日</h2><p><a href="https://a.example/3">丙发布</a></p><p>丙的说明</p>
    <p><a href="https://a.example/4">丁发布</a> 丁的说明</p>
    <h2>2026-11-18</h2><p>只写了一段日记，没有链接。</p></div>"""
    entries, _ = find_entries(html, "https://e.example/n/", NOW)
    got = [(e.url, e.title, e.published_at.date().isoformat(), e.snippet) for e in entries]
    assert got == [
        ("https://a.example/1", "甲发布", "2026-11-20", "说明甲"),
        ("https://a.example/2", "乙发布", "2026-11-20", "说明乙"),
        ("https://a.example/3", "丙发布", "2026-11-19", "丙的说明"),
        ("https://a.example/4", "丁发布", "2026-11-19", "丁的说明"),
        (entries[4].url, "只写了一段日记，没有链接", "2026-11-18", ""),
    ]


# -- shape 2: <details>/<summary> lists --------------------------------------------------------------------


def test_a_readme_of_details_notes_yields_one_entry_per_details(httpserver):
    serve(httpserver, "/example/video-notes", fixture_html("readme-details.html"))
    result = discover(watch(httpserver, "/example/video-notes"))
    page = httpserver.url_for("/example/video-notes")
    got = rows(result)
    assert got[:2] == [
        ("https://www.bilibili.com/video/BV1xK4y1a7Zq", "从零实现一个推理引擎", "2025-03-30"),
        ("https://www.youtube.com/watch?v=q8Zr2Lm0AbC", "大模型量化入门", "2025-03-23"),  # link in a list
    ]
    assert got[2][1:] == ("没有链接的一期", "2025-03-16") and got[2][0].startswith(f"{page}#2025-03-16-")
    assert len(got) == 3
    items = by_title(result)
    assert "连续批处理" in items["从零实现一个推理引擎"].snippet
    assert (
        "GPTQ 与 AWQ" in items["大模型量化入门"].snippet and "KV cache" not in items["大模型量化入门"].snippet
    )
    assert items["没有链接的一期"].snippet == "这一期只有文字笔记：讨论了评测集污染的问题。"


def test_a_single_details_entry_is_not_swallowed_by_the_readme_around_it():
    html = """<article class="markdown-body"><h1>笔记</h1><p>说明</p>
    <details><summary>12. [2026-11-09] 唯一的一期</summary><p><a href="https://v.example.com/12">视频</a></p></details>
    </article>"""
    entries, _ = find_entries(html, "https://github.com/a/b", NOW)
    assert [(e.url, e.title) for e in entries] == [("https://v.example.com/12", "唯一的一期")]


# -- shape 3: blog index teasers (article / li) ------------------------------------------------------------


def test_list_page_entries_link_to_their_own_pages_newest_first(httpserver):
    serve(httpserver, "/blog/", LIST)
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


def test_a_hugo_blog_index_yields_its_teasers(httpserver):
    serve(httpserver, "/", fixture_html("blog-index.html"))
    result = discover(watch(httpserver, "/"), now=datetime(2026, 12, 1, tzinfo=UTC))
    base = httpserver.url_for("/").rstrip("/")
    assert rows(result) == [
        (f"{base}/posts/rust-crawler/", "用 Rust 重写我们的爬虫", "2026-11-29"),
        (f"{base}/posts/papers-weekend/", "周末读的几篇论文", "2026-11-22"),
        (f"{base}/posts/old-one/", "国庆读书笔记", "2026-10-03"),
        (f"{base}/posts/old-two/", "换了新键盘", "2026-09-12"),
    ]
    assert "内存降了一半" in result.candidates[0].snippet
    assert "长上下文评测" in result.candidates[1].snippet


def test_a_div_blog_index_dates_each_linked_heading_by_the_line_under_it():
    html = """<div class="posts">
    <div class="post"><h2><a href="/p/one">第一篇</a></h2><p class="meta">2026-11-20 · 5 分钟</p><p>摘要一</p></div>
    <div class="post"><h2><a href="/p/two">第二篇</a></h2><p><time datetime="2026-11-18">11月18日</time></p>
    <p>摘要二</p></div></div>"""
    entries, _ = find_entries(html, "https://blog.example/", NOW)
    assert [(e.url, e.title, e.published_at.date().isoformat()) for e in entries] == [
        ("https://blog.example/p/one", "第一篇", "2026-11-20"),
        ("https://blog.example/p/two", "第二篇", "2026-11-18"),
    ]
    assert "摘要一" in entries[0].snippet and "摘要二" not in entries[0].snippet


def test_a_linked_section_heading_over_several_dated_lines_keeps_every_line():
    html = """<h3><a href="https://openai.example/">OpenAI</a></h3><p>【2026-11-20】发布了新模型，无链接。</p>
    <p>【2026-11-19】<a href="https://openai.example/blog/2">第二条</a></p>"""
    entries, _ = find_entries(html, "https://n.example/", NOW)
    assert [e.title for e in entries] == ["发布了新模型，无链接", "第二条"]


def test_an_emphasised_phrase_after_the_date_is_the_title_and_a_later_link_the_entry_link():
    html = """<h3>动态</h3><p>【2026-11-23】<strong>某公司发布新芯片</strong> 详情见<a href="https://x.example/1">原文</a>。</p>
    <p>2026-11-22 另一条：<a href="https://x.example/2">链接在句中</a>的新闻。后一句。</p>"""
    entries, _ = find_entries(html, "https://n.example/", NOW)
    assert [(e.url, e.title) for e in entries] == [
        ("https://x.example/1", "某公司发布新芯片"),
        ("https://x.example/2", "另一条：链接在句中的新闻"),  # the sentence, not the link text
    ]


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


# -- identity: entries keep their key when the page grows ---------------------------------------------------


def test_an_entry_keeps_its_anchor_when_entries_are_added_around_it():
    before = "<h3 id='s'>动态</h3><p>【2026-11-20】没有链接的旧条目。</p><p>旧条目的正文。</p>"
    after = (
        "<h3 id='s'>动态</h3><p>【2026-11-21】新加的条目，也没有链接。</p>"
        "<p>【2026-11-20】没有链接的旧条目。</p><p>旧条目的正文。</p><p>【2026-11-19】更早的一条。</p>"
    )
    [old], _ = find_entries(before, "https://n.example/", NOW)
    grown, _ = find_entries(after, "https://n.example/", NOW)
    assert [e.title for e in grown] == ["新加的条目，也没有链接", "没有链接的旧条目", "更早的一条"]
    assert grown[1].url == old.url and len({e.url for e in grown}) == 3
    assert grown[1].snippet == old.snippet == "旧条目的正文。"


# -- entries on the page itself: their article is their own text --------------------------------------------


def test_an_anchor_entry_is_its_own_article_for_extraction():
    html = fixture_html("notes-jekyll.html")
    page_url = "https://e.example/notes/"
    entries, _ = find_entries(html, page_url, NOW)
    moon = next(e for e in entries if e.title.startswith("月之暗面"))
    anchor = moon.url.split("#", 1)[1]
    page = Page(url=moon.url, final_url=page_url, status=200, text=html, fetched_at=NOW)
    article = entry_article(page, anchor)
    assert article.title == "月之暗面发布新模型，长上下文再次升级"
    assert "两百万字" in article.text and "价格与上一代持平" in article.text
    assert "卖身大厂" not in article.text and "星河智能" not in article.text
    assert article.date.date().isoformat() == "2026-11-28"
    assert entry_article(page, "2026-11-28-0000000000") is None  # gone from the page: no stand-in text


def test_an_anchor_item_is_narrowed_to_its_own_entry_for_extraction():
    llm = narrow_to_entry(NOTES, "llm-evals")
    assert "LLM 评测笔记" in llm and "关于评测的一些想法" in llm
    assert "Rust 2026 roadmap" not in llm and "Details (undated)" not in llm
    weekly = narrow_to_entry(LIST, "weekly-47")
    assert "周记 47" in weekly and "DeepSeek" not in weekly and "Posted 17 Nov 2026" in weekly
    assert narrow_to_entry(NOTES, "nope") is None


# -- failures ----------------------------------------------------------------------------------------------


def test_a_page_without_dated_entries_is_a_source_error_saying_what_was_looked_for(httpserver):
    serve(
        httpserver,
        "/notes/",
        "<html><body><h2>Redesigned!</h2><p>Hello.</p><ul><li>one</li><li>two</li></ul></body></html>",
    )
    with pytest.raises(SourceError) as info:
        discover(watch(httpserver))
    assert info.value.reason == "no_entries"
    message = str(info.value)
    assert "looked for" in message and "<details>" in message and "h1–h6" in message
    assert "saw 4 blocks (2 <li>, 1 <h2>, 1 <p>), 0 with a date" in message


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
        ("【2024-05-23】", "2024-05-23"),
        ("[2024-5-3] x", "2024-05-03"),
        ("2024/05/23", "2024-05-23"),
        ("2024年5月23日", "2024-05-23"),
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


# -- through the pipeline and the CLI -----------------------------------------------------------------------


def notes_page(base: str, *, extra: str = "") -> str:
    """A notes page whose entries link to loopback articles or to nothing (then: the page's anchor)."""
    return f"""<html><head><meta charset="utf-8"><title>AI 笔记</title></head><body><div class="post-content">
    <p>长期更新的笔记。</p>
    <h3 id="models">大模型</h3>
    {extra}
    <p>【2026-11-20】<a href="{base}/a/1">{"第一篇链接文章"}</a></p><p>第一篇的点评。</p>
    <p>【2026-11-19】一条没有链接的笔记：某实验室公布了新的评测集，覆盖十二种语言，题目由人工编写。</p>
    <p>评测集的题目数量约为三千道。</p>
    <h4 id="chips">芯片</h4>
    <p>[2026-11-18] <a href="{base}/a/2">第二篇链接文章</a> 芯片相关。</p>
    <ul><li>2026/11/17 另一条没有链接的笔记，关于数据中心的电力。</li></ul>
    </div></body></html>"""


@pytest.fixture
def watched(workspace, httpserver):
    """A workspace watching /notes/ on loopback; the page served is whatever `state['html']` holds."""
    from werkzeug import Response

    base = httpserver.url_for("").rstrip("/")
    state = {"html": notes_page(base), "etag": True}

    def handler(request):
        body = state["html"].encode()
        etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
        if state["etag"] and request.headers.get("If-None-Match") == etag:
            return Response(status=304)
        headers = {"ETag": etag} if state["etag"] else {}
        return Response(body, content_type="text/html; charset=utf-8", headers=headers)

    httpserver.expect_request("/notes/").respond_with_handler(handler)
    for i in (1, 2, 3):
        httpserver.expect_request(f"/a/{i}").respond_with_data(
            article_html(i), content_type="text/html; charset=utf-8"
        )
    (workspace / "config" / "sources.toml").write_text(
        f'[[sources]]\nname = "AI 笔记"\nkind = "watch"\nurl = "{base}/notes/"\n'
    )
    settings = load_settings(
        workspace,
        env={},
        overrides={
            "fetch": {"allowed_hosts": ["127.0.0.1", "localhost"], "respect_robots": False},
            "llm": {"provider": "offline"},
        },
    )
    return settings, state, base


def test_the_night_after_one_new_entry_in_an_existing_section_is_one_new_item(watched):
    settings, state, base = watched
    with Store(settings.db_path) as store:
        first = Pipeline(settings, store).collect()
        assert first.counters["source/ok"] == 1 and first.counters["discover/new"] == 4
        items = {i.title: i for i in store.items()}
        note = items["一条没有链接的笔记：某实验室公布了新的评测集，覆盖十二种语言，题目由人工编写"]
        # An entry on the page itself is its own article: its paragraphs, not the page's or the section's.
        assert note.article is not None and "三千道" in note.article.text
        assert "第一篇的点评" not in note.article.text and "长期更新" not in note.article.text
        assert items["第二篇链接文章"].url == f"{base}/a/2"

        unchanged = Pipeline(settings, store).collect()
        assert unchanged.counters["source/not_modified"] == 1
        assert unchanged.counters.get("discover/new", 0) == 0

        state["html"] = notes_page(base, extra=f'<p>【2026-11-21】<a href="{base}/a/3">新加的一篇</a></p>')
        night_after = Pipeline(settings, store).collect()
        assert night_after.counters["discover/new"] == 1 and night_after.counters["discover/known"] == 4
        assert [i.title for i in store.items()][-1] == "新加的一篇"
        assert len(store.items()) == 5


def test_a_page_served_again_without_validators_adds_nothing(watched):
    settings, state, _ = watched
    state["etag"] = False
    with Store(settings.db_path) as store:
        assert Pipeline(settings, store).collect().counters["discover/new"] == 4
        again = Pipeline(settings, store).collect()
        assert again.counters.get("discover/new", 0) == 0 and again.counters["discover/known"] == 4


def test_sources_check_says_what_a_watched_page_without_entries_was_searched_for(watched):
    settings, state, _ = watched
    state["html"] = "<html><body><h2>新版首页</h2><p>欢迎。</p><p>敬请期待。</p></body></html>"
    with Store(settings.db_path) as store:
        run = Pipeline(settings, store).collect()
        assert run.counters["source/no_entries"] == 1 and run.counters.get("source/ok", 0) == 0
    result = CliRunner().invoke(
        sources_app,
        ["check", "--home", str(settings.home)],
        env={"CURATOR_FETCH__ALLOWED_HOSTS": '["127.0.0.1", "localhost"]', "CURATOR_HOME": ""},
    )
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith("AI 笔记") and "no_entries" in ln)
    assert " 1 " in line  # one failure so far
    probe = next(ln for ln in result.output.splitlines() if ln.startswith("AI 笔记: "))
    assert (
        "looked for" in probe
        and "<details>" in probe
        and "saw 3 blocks (2 <p>, 1 <h2>), 0 with a date" in probe
    )


def test_details_whose_date_is_in_the_body_not_the_summary_are_entries():
    html = """<article class="markdown-body"><h1>视频笔记</h1><p>每期一条。</p>
    <details><summary>41. 长上下文的代价</summary><p>发布于 2026-11-18 · <a href="https://v.example.com/41">视频</a></p>
    <p>讨论了 KV cache 的显存开销。</p></details>
    <details><summary>40. 小模型蒸馏</summary><p>日期：2026年11月11日</p><p>只有文字笔记：蒸馏数据的配比。</p></details>
    <details><summary>一组合集</summary><ul><li>[2026-11-01] 甲 <a href="https://v.example.com/a">a</a></li>
    <li>[2026-11-02] 乙 <a href="https://v.example.com/b">b</a></li></ul></details>
    </article>"""
    entries, _ = find_entries(html, "https://github.com/a/notes", NOW)
    got = {e.title: (e.url, f"{e.published_at:%Y-%m-%d}") for e in entries}
    assert got["长上下文的代价"] == ("https://v.example.com/41", "2026-11-18")
    assert got["小模型蒸馏"][1] == "2026-11-11" and got["小模型蒸馏"][0].startswith("https://github.com/a/notes#")
    assert "蒸馏数据的配比" in next(e for e in entries if e.title == "小模型蒸馏").snippet
    # A <details> around several dated items is their container: each item is its own entry.
    urls = {e.url: f"{e.published_at:%Y-%m-%d}" for e in entries}
    assert "一组合集" not in got
    assert urls["https://v.example.com/a"] == "2026-11-01" and urls["https://v.example.com/b"] == "2026-11-02"
    assert len(entries) == 4


YEARLESS = """<html><body><h1>笔记</h1>
<h2>近期</h2>
<p>【11-20】<a href="https://mp.weixin.qq.com/s/AbC20">卖身大厂，才是大模型公司最好的归宿</a></p><p>一段评论。</p>
<p>11月18日 没有链接的一条：推理成本又降了一半。</p>
<p>[12-30] 去年年底的一条 <a href="https://e.example/dec">链接</a></p>
<p>3-15 倍的提升不是日期。</p>
<p>11-16 <a href="https://e.example/nov16">无括号的一条</a></p>
<h2>2024 年的旧笔记</h2>
<p>【03-23】<a href="https://e.example/2024">旧的一条</a></p>
<h2>跨年</h2>
<p>【2026-01-03】<a href="https://e.example/jan">新年第一条</a></p>
<p>【12-31】<a href="https://e.example/eve">除夕的一条</a></p>
</body></html>"""


def test_dates_without_a_year_take_it_from_their_context_or_the_run_clock():
    entries, _ = find_entries(YEARLESS, "https://e.example/notes/", NOW)  # NOW: 2026-11-24
    got = {e.title: (e.url, f"{e.published_at:%Y-%m-%d}") for e in entries}
    assert got["卖身大厂，才是大模型公司最好的归宿"] == ("https://mp.weixin.qq.com/s/AbC20", "2026-11-20")
    assert got["去年年底的一条 链接"] == ("https://e.example/dec", "2025-12-30")  # the most recent past 12-30
    assert got["旧的一条"][1] == "2024-03-23"  # the heading above names the year
    assert got["除夕的一条"][1] == "2025-12-31"  # nearest the full date before it, not a year later
    bare = next(e for e in entries if e.published_at.date().isoformat() == "2026-11-18")
    assert bare.title == "没有链接的一条：推理成本又降了一半" and "11月18日" in bare.text
    assert bare.url.startswith("https://e.example/notes/#11-18-")
    assert not any("倍的提升" in e.title for e in entries)  # a range at a paragraph's start is no date
    assert got["无括号的一条"] == ("https://e.example/nov16", "2026-11-16")
    assert len(entries) == 7


def test_a_yearless_entry_without_a_link_is_its_own_article_on_any_later_clock():
    page_url = "https://e.example/notes/"
    entries, _ = find_entries(YEARLESS, page_url, NOW)
    bare = next(e for e in entries if e.url.startswith(page_url + "#"))
    # Read again a month and a half later: the anchor still names the same entry.
    later = datetime(2027, 1, 10, tzinfo=UTC)
    page = Page(url=bare.url, final_url=page_url, status=200, text=YEARLESS, fetched_at=later)
    article = entry_article(page, bare.url.split("#", 1)[1])
    assert article is not None and "推理成本又降了一半" in article.text and "卖身大厂" not in article.text
    assert article.date.date().isoformat() == "2026-11-18"  # still the most recent past 11-18


@pytest.mark.parametrize("line", ["[1.2] 第一章第二节", "[1-3] 第一至三章", "3-15 倍的提升", "1/2 的用户：一半"])
def test_numbering_and_ranges_at_a_paragraphs_start_are_not_yearless_dates(line):
    html = f"<html><body><h2>目录</h2><p>{line}</p><p>【2026-11-20】<a href='https://e.example/a'>一条</a></p></body></html>"
    entries, _ = find_entries(html, "https://e.example/notes/", NOW)
    assert [(e.url, f"{e.published_at:%Y-%m-%d}") for e in entries] == [("https://e.example/a", "2026-11-20")]
