"""Engine routing (issue 13): rs-trafilatura on non-CJK pages where it is installed, curator's
trafilatura path when its result failed, on CJK pages, when forced, and where it is not installed."""

from __future__ import annotations

from datetime import date

import pytest

from curator import extract_rs
from curator.extract import extract_article, extract_routed, prepared_tree
from curator.models import Page
from curator.settings import ExtractSettings

EN = (
    "The new open model was trained on a documented mixture of public data, and its authors report "
    "results on long-context reading, code generation and mathematical reasoning benchmarks. "
)
ZH = "新一代开源大模型在多项基准测试中取得了领先成绩，研究团队公开了训练数据的构成和评测方法。"
HEAD = (
    '<meta property="og:type" content="article"><meta property="og:site_name" content="Example Lab">'
    '<meta name="author" content="Ada Lovelace"><meta name="description" content="What changed in the open model.">'
    '<meta property="og:image" content="https://lab.example.org/cover.png">'
)
needs_rs = pytest.mark.skipif(
    not extract_rs.available(), reason="rs-trafilatura is not importable here (cp312 manylinux x86_64 wheels only)"
)


def doc(body: str, head: str = "", lang: str = "en") -> str:
    return (
        f'<!doctype html><html lang="{lang}"><head><title>Open model notes</title>{head}</head>'
        f"<body>{body}</body></html>"
    )


def paragraphs(n: int, text: str = EN) -> str:
    return "".join(f"<p>{text}Paragraph {i} adds its own detail number {i}.</p>" for i in range(n))


def article(head: str = HEAD) -> str:
    nav = '<nav><a href="/">Home</a> <a href="/blog">Blog</a> <a href="/about">About</a></nav>'
    return doc(f"{nav}<article><h1>Open model notes</h1>{paragraphs(6)}</article>", head)


# rs-trafilatura keeps 39 characters of this page (it reads a footer-classed block as page chrome);
# trafilatura's path keeps the paragraphs.
FOOTER_CLASSED = doc(f'<div class="footer">{paragraphs(5)}</div>')


@needs_rs
def test_article_goes_through_rs() -> None:
    text, used = extract_routed(article())
    assert used == "rs-trafilatura"
    assert "Paragraph 0 adds" in text and "Paragraph 5 adds" in text
    assert "About" not in text


@needs_rs
def test_page_rs_misses_goes_to_the_trafilatura_path() -> None:
    rs_doc = extract_rs.extract(prepared_tree(FOOTER_CLASSED), None)
    assert rs_doc is not None and len(rs_doc.text) < ExtractSettings().min_chars  # the page this test is about
    text, used = extract_routed(FOOTER_CLASSED)
    assert used == "trafilatura"
    assert "Paragraph 0 adds" in text and "Paragraph 4 adds" in text


@needs_rs
def test_low_predicted_quality_goes_to_the_trafilatura_path(monkeypatch: pytest.MonkeyPatch) -> None:
    rs_doc = extract_rs.extract(prepared_tree(article()), None)
    assert rs_doc is not None
    monkeypatch.setattr(extract_rs, "MIN_QUALITY", rs_doc.quality + 0.01)  # rs's own score just under the line
    text, used = extract_routed(article())
    assert used == "trafilatura"
    assert "Paragraph 5 adds" in text


@needs_rs
def test_cjk_page_keeps_the_trafilatura_path() -> None:
    text, used = extract_routed(doc(f"<article><h1>开源大模型</h1>{paragraphs(6, ZH)}</article>", lang="zh"))
    assert used == "trafilatura"
    assert ZH in text


def test_engine_trafilatura_forces_the_old_path() -> None:
    text, used = extract_routed(article(), engine="trafilatura")
    assert used == "trafilatura"
    assert "Paragraph 5 adds" in text


def test_without_rs_auto_is_the_trafilatura_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract_rs, "_module", lambda: None)  # as on Python 3.11 or another platform
    assert not extract_rs.available()
    text, used = extract_routed(article())
    assert used == "trafilatura"
    assert "Paragraph 5 adds" in text


def page(html: str, url: str = "https://lab.example.org/notes/open-model") -> Page:
    return Page(url=url, final_url=url, status=200, text=html, encoding="utf-8")


@needs_rs
@pytest.mark.parametrize("engine", ["auto", "trafilatura"])
def test_article_fields_on_both_engines(engine: str) -> None:
    head = HEAD + '<meta property="article:published_time" content="2026-11-20T10:00:00+00:00">'
    html = article(head).replace("<article>", '<article><p>See <a href="https://arxiv.org/abs/2611.00001">the paper</a>.</p>')
    art = extract_article(page(html), ExtractSettings.model_validate({"engine": engine}))
    assert art.title == "Open model notes"
    assert art.author == "Ada Lovelace"
    assert art.sitename == "Example Lab"
    assert art.description == "What changed in the open model."
    assert art.lang == "en"
    assert art.image == "https://lab.example.org/cover.png"
    assert art.date is not None and art.date.date() == date(2026, 11, 20)
    assert "https://arxiv.org/abs/2611.00001" in art.links
    assert "Paragraph 5 adds" in art.text


@needs_rs
def test_date_search_when_rs_finds_no_date() -> None:
    # no meta, structured-data or <time> date: the bounded date search reads the date-classed line
    html = article().replace("<h1>", '<div class="post-date">Posted 18 November 2026</div><h1>')
    rs_doc = extract_rs.extract(prepared_tree(html), None)
    assert rs_doc is not None and rs_doc.date is None  # the case this test is about
    assert extract_routed(html)[1] == "rs-trafilatura"
    art = extract_article(page(html), ExtractSettings())
    assert art.date is not None and art.date.date().isoformat() == "2026-11-18"


def rs_doc(text: str, page_type: str = "article") -> extract_rs.RsDoc:
    return extract_rs.RsDoc(text=text, title=None, author=None, date=None, sitename=None, description=None,
                            language=None, image=None, page_type=page_type, quality=1.0)  # fmt: skip


def test_flat_is_an_article_text_without_paragraphs() -> None:
    long_line = EN * 7  # over FLAT_LINE_CHARS on one line
    assert len(long_line) >= extract_rs.FLAT_LINE_CHARS
    assert extract_rs.flat(rs_doc(long_line))
    assert extract_rs.flat(rs_doc(f"{long_line}\n\n{long_line}"))  # blank lines are not paragraphs
    assert not extract_rs.flat(rs_doc("\n".join([EN] * 7)))  # the same text in paragraphs
    assert not extract_rs.flat(rs_doc(long_line, page_type="listing"))  # a listing's items may run on
    assert extract_rs.failed(rs_doc(long_line), ExtractSettings().min_chars)


@needs_rs
def test_article_rs_flattens_into_one_line_goes_to_the_trafilatura_path() -> None:
    # rs-trafilatura returns a container's text as one line on some news pages (the story run into
    # the site's story rails); one long paragraph is the small page that shows the routing.
    html = doc(f"<article><h1>Open model notes</h1><p>{EN * 10}</p></article>", HEAD)
    rs_doc_ = extract_rs.extract(prepared_tree(html), None)
    assert rs_doc_ is not None and rs_doc_.quality >= extract_rs.MIN_QUALITY and extract_rs.flat(rs_doc_)
    text, used = extract_routed(html)
    assert used == "trafilatura"
    assert EN.strip() in text
