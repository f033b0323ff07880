"""Large pages (issue 13, "no page over 0.5 s"): above LARGE_PAGE_ELEMENTS elements a page gets at
most one trafilatura pass, a fast recall one (trafilatura's extractor runs once); a fragment's second
pass is resiliparse's; rs-trafilatura reads the page with <span> tags unwrapped; after rs-trafilatura
the trafilatura pass is text-only."""

from __future__ import annotations

from typing import Any

import pytest
import trafilatura

from curator import extract, extract_rs
from curator.extract import LARGE_PAGE_ELEMENTS, extract_article, extract_routed, is_large, prepared_tree
from curator.models import Page
from curator.settings import ExtractSettings

EN = (
    "The new open model was trained on a documented mixture of public data, and its authors report "
    "results on long-context reading, code generation and mathematical reasoning benchmarks. "
)
ZH = "新一代开源大模型在多项基准测试中取得了领先成绩，研究团队公开了训练数据的构成和评测方法。"
needs_rs = pytest.mark.skipif(
    not extract_rs.available(), reason="rs-trafilatura is not importable here (cp312 manylinux x86_64 wheels only)"
)


def paragraphs(n: int, text: str = EN) -> str:
    return "".join(f"<p>{text}Paragraph {i} adds its own detail number {i}.</p>" for i in range(n))


def catalogue(items: int, label: str = "Category") -> str:
    """A site-wide menu of `items` entries, three elements each (li, a, span): page chrome."""
    return "<nav><ul>" + "".join(
        f'<li><a href="/c/{i}"><span class="label">{label} {i}</span></a></li>' for i in range(items)
    ) + "</ul></nav>"


def page_html(body: str, lang: str = "en") -> str:
    return (
        f'<!doctype html><html lang="{lang}"><head><title>Open model notes</title>'
        '<meta name="author" content="Ada Lovelace"></head>'
        f"<body>{body}</body></html>"
    )


LARGE_ITEMS = LARGE_PAGE_ELEMENTS // 3 + 100  # comfortably over the line


def large(article: str, lang: str = "en") -> str:
    return page_html(catalogue(LARGE_ITEMS) + article if lang == "en" else article + catalogue(LARGE_ITEMS, "栏目"), lang)


@pytest.fixture
def passes(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The keyword arguments of every trafilatura pass curator runs (the real passes run)."""
    calls: list[dict[str, Any]] = []
    real = trafilatura.bare_extraction

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(extract.trafilatura, "bare_extraction", recording)
    return calls


def test_the_synthetic_pages_are_on_either_side_of_the_line() -> None:
    assert is_large(prepared_tree(large(f"<article>{paragraphs(6)}</article>")))
    assert not is_large(prepared_tree(page_html(catalogue(20) + f"<article>{paragraphs(6)}</article>")))


def test_large_page_gets_one_fast_trafilatura_pass(passes: list[dict[str, Any]]) -> None:
    text, used = extract_routed(large(f"<article><h1>Open model notes</h1>{paragraphs(6)}</article>"),
                                engine="trafilatura")  # fmt: skip
    assert used == "trafilatura"
    assert [c["fast"] for c in passes] == [True]
    assert "Paragraph 0 adds" in text and "Paragraph 5 adds" in text
    assert "Category 7" not in text


def test_large_page_pass_runs_trafilatura_s_extractor_once(
    passes: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a balanced pass whose text covers little of the page (here: the article beside a big menu)
    # re-runs trafilatura's extractor in recall mode; on a large page the one pass is the recall one
    import trafilatura.core

    runs: list[int] = []
    real = trafilatura.core.extract_content

    def counting(*args: Any, **kwargs: Any) -> Any:
        runs.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(trafilatura.core, "extract_content", counting)
    text, _ = extract_routed(large(f"<article><h1>Open model notes</h1>{paragraphs(6)}</article>"),
                             engine="trafilatura")  # fmt: skip
    assert [(c["fast"], c["favor_recall"]) for c in passes] == [(True, True)]
    assert len(runs) == 1
    assert "Paragraph 0 adds" in text and "Paragraph 5 adds" in text
    assert "Category 7" not in text


def test_small_page_keeps_the_full_cascade(passes: list[dict[str, Any]]) -> None:
    extract_routed(page_html(catalogue(20) + f"<article>{paragraphs(6)}</article>"), engine="trafilatura")
    assert [c["fast"] for c in passes] == [False]


def test_large_cjk_page_gets_one_fast_pass(passes: list[dict[str, Any]]) -> None:
    text, used = extract_routed(large(f"<article><h1>开源大模型</h1>{paragraphs(6, ZH)}</article>", lang="zh"))
    assert used == "trafilatura"
    assert [c["fast"] for c in passes] == [True]
    assert ZH in text


def test_large_page_fragment_gets_resiliparse_not_another_trafilatura_pass(
    passes: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = extract.trafilatura.bare_extraction

    def finds_a_fragment(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)  # recorded
        return None  # as when trafilatura keeps nothing of the page

    monkeypatch.setattr(extract.trafilatura, "bare_extraction", finds_a_fragment)
    text = extract.extract_text(large(f"<article>{paragraphs(6)}</article>"), engine="trafilatura")
    assert len(passes) == 1  # no comments pass, no balanced-mode pass
    assert "Paragraph 0 adds" in text and "Paragraph 5 adds" in text  # resiliparse's main content


@needs_rs
def test_rs_reads_a_lighter_copy_of_large_pages() -> None:
    blob = '{"variants": [' + ", ".join(f'{{"id": {i}}}' for i in range(400)) + "]}"
    html = large(f"<article data-state='{blob}'>{paragraphs(6)}</article>")
    root = prepared_tree(html)
    light = extract_rs._serialised(root, light=True)
    assert "<span" not in light and "data-state" not in light
    assert "Category 7" in light and "Paragraph 5 adds" in light  # the text stays
    assert root.find(".//span") is not None and root.find(".//article").get("data-state")  # curator's tree kept
    text, used = extract_routed(html)
    assert used == "rs-trafilatura"
    assert "Paragraph 5 adds" in text


@needs_rs
def test_after_rs_the_trafilatura_pass_is_text_only(passes: list[dict[str, Any]]) -> None:
    # rs-trafilatura reads a footer-classed block as page chrome: its text is a fragment
    html = page_html(f'<div class="footer">{paragraphs(5)}</div>')
    url = "https://lab.example.org/notes/open-model"
    art = extract_article(Page(url=url, final_url=url, status=200, text=html, encoding="utf-8"), ExtractSettings())
    assert "Paragraph 4 adds" in art.text  # trafilatura's text
    assert [c["with_metadata"] for c in passes] == [False]
    assert art.title == "Open model notes" and art.author == "Ada Lovelace"  # rs-trafilatura's metadata
