"""Draft linter: every rule fires on its failing fixture at the exact line, and stays quiet on its clean one."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from curator.lint import RULES, Finding, format_findings, lint_markdown
from tests.test_templates import LOOKING_BACK, render, renderer_for, sample_issue

FIXTURES = Path(__file__).parent / "fixtures" / "lint"
WINDOW_START = date(2026, 11, 13)

# fixture stem -> the exact (line, rule, severity) findings of its failing fixture
EXPECTED: dict[str, list[tuple[int, str, str]]] = {
    "chatter": [(9, "chatter", "error"), (11, "chatter", "error"), (13, "chatter", "error")],
    "traditional": [(3, "traditional", "error"), (8, "traditional", "warning")],
    "empty_item": [
        (10, "empty_item", "error"),
        (14, "empty_item", "error"),
        (18, "empty_item", "error"),
        (20, "empty_item", "error"),
    ],
    "tracking_params": [
        (3, "tracking_params", "error"),
        (5, "tracking_params", "error"),
        (7, "tracking_params", "error"),
    ],
    "non_https": [(3, "non_https", "warning")],
    "duplicate_link": [(8, "duplicate_link", "error")],
    "domain_dominance": [(15, "domain_dominance", "warning")],
    "stale_item": [(3, "stale_item", "warning"), (9, "stale_item", "warning")],
    "broken_footnote": [
        (3, "broken_footnote", "error"),
        (9, "broken_footnote", "error"),
        (10, "broken_footnote", "error"),
    ],
    "unbalanced_markdown": [
        (3, "unbalanced_markdown", "error"),
        (5, "unbalanced_markdown", "error"),
        (7, "unbalanced_markdown", "error"),
        (9, "unbalanced_markdown", "error"),
    ],
    "injection_flag": [(3, "injection_flag", "error")],
    "pipe_title": [(9, "pipe_title", "error"), (11, "pipe_title", "error")],
    "title_repeat": [(9, "title_repeat", "error"), (11, "title_repeat", "error")],
    "markdown_residue": [(9, "markdown_residue", "error"), (11, "markdown_residue", "error"),
                         (13, "markdown_residue", "error")],
    "citation_marker": [(9, "citation_marker", "error"), (11, "citation_marker", "error"),
                        (13, "citation_marker", "error")],
    "chrome_phrase": [(9, "chrome_phrase", "error"), (11, "chrome_phrase", "error"), (13, "chrome_phrase", "error")],
    "mid_sentence": [(9, "mid_sentence", "error"), (11, "mid_sentence", "error"), (13, "mid_sentence", "error")],
    "regional_vocab": [(9, "regional_vocab", "error"), (11, "regional_vocab", "error")],
    "raw_html": [
        (3, "raw_html", "error"),
        (5, "raw_html", "error"),
        (9, "raw_html", "error"),
        (11, "raw_html", "error"),
    ],
    "unsafe_link": [
        (3, "unsafe_link", "error"),
        (5, "unsafe_link", "error"),
        (7, "unsafe_link", "error"),
        (9, "unsafe_link", "warning"),
        (9, "unsafe_link", "warning"),
        (11, "broken_footnote", "error"),
    ],
}


def lint(text: str, **kw: object) -> list[Finding]:
    kw.setdefault("window_start", WINDOW_START)
    return lint_markdown(text, **kw)  # type: ignore[arg-type]


def read(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_every_rule_has_fixtures() -> None:
    assert set(EXPECTED) == set(RULES)
    for rule in RULES:
        assert (FIXTURES / f"{rule}.bad.md").is_file()
        assert (FIXTURES / f"{rule}.good.md").is_file()


@pytest.mark.parametrize("rule", sorted(EXPECTED))
def test_failing_fixture(rule: str) -> None:
    found = [(f.line, f.rule, f.severity) for f in lint(read(f"{rule}.bad.md"))]
    assert found == EXPECTED[rule]


@pytest.mark.parametrize("rule", sorted(EXPECTED))
def test_clean_fixture(rule: str) -> None:
    assert lint(read(f"{rule}.good.md")) == []


def test_messages_name_the_problem() -> None:
    prose = lint(read("traditional.bad.md"))[0].message
    assert "這、個、開、發" in prose and "这、个、开、发" in prose
    tracking = [f.message for f in lint(read("tracking_params.bad.md"))]
    assert "utm_source, utm_medium" in tracking[-1]
    assert "第 7 行" in lint(read("duplicate_link.bad.md"))[0].message


def test_traditional_is_not_checked_in_traditional_issues() -> None:
    assert lint(read("traditional.bad.md"), language="zh-Hant") == []
    assert lint(read("traditional.bad.md"), language="en") == []


def test_stale_item_needs_a_window() -> None:
    assert lint_markdown(read("stale_item.bad.md")) == []


def test_max_per_domain_is_configurable() -> None:
    assert lint(read("domain_dominance.bad.md"), max_per_domain=4) == []
    assert [f.line for f in lint(read("domain_dominance.bad.md"), max_per_domain=2)] == [11]


def test_unclosed_comment_and_stray_close() -> None:
    text = "## 小节\n\n正文一段。\n\n<!-- 没有关上的注释\n\n**被吞掉的条目**：[^1]\n"
    assert [(f.line, f.rule) for f in lint(text)] == [(5, "unbalanced_markdown")]
    stray = "## 小节\n\n箭头 --> 不是注释的结尾。\n"
    assert [(f.line, f.rule) for f in lint(stray)] == [(3, "unbalanced_markdown")]


def test_unclosed_front_matter() -> None:
    text = "---\ntitle: x\n\n## 小节\n\n正文。\n"
    assert [(f.line, f.rule) for f in lint(text)] == [(1, "unbalanced_markdown")]


def test_chatter_in_front_matter_title() -> None:
    text = '---\ntitle: "好的，以下是本期周刊的标题"\n---\n\n## 小节\n\n正文。\n'
    assert [(f.line, f.rule) for f in lint(text)] == [(2, "chatter")]


def test_rules_filter() -> None:
    text = read("raw_html.bad.md") + "\n\n[旧链接](http://x.example.com/?utm_source=a)\n"
    assert {f.rule for f in lint(text)} == {"raw_html", "non_https", "tracking_params"}
    assert {f.rule for f in lint(text, rules={"non_https"})} == {"non_https"}
    with pytest.raises(ValueError, match="unknown lint rules: nope"):
        lint(text, rules={"nope"})


def test_format_findings() -> None:
    findings = lint(read("non_https.bad.md"))
    assert format_findings(findings, "drafts/issue-3.md") == (
        "drafts/issue-3.md:3: [non_https] warning: 非 HTTPS 链接，能换成 https:// 就换：http://unix.example.edu/tutorial/"
    )
    assert format_findings([], "x.md") == ""
    assert format_findings(findings, "drafts/issue-3.md", "github") == (
        "::warning file=drafts/issue-3.md,line=3,title=non_https::[non_https] 非 HTTPS 链接，能换成 https:// 就换："
        "http://unix.example.edu/tutorial/"
    )
    escaped = format_findings([Finding(3, "chatter", "a\nb 100%", "error")], "d,1.md", "github")
    assert escaped == "::error file=d%2C1.md,line=3,title=chatter::[chatter] a%0Ab 100%25"


@pytest.mark.parametrize("style", ["footnotes", "list"])
def test_rendered_drafts_lint_clean(style: str) -> None:
    text = render(renderer_for(style), sample_issue(), LOOKING_BACK if style == "list" else None)
    assert lint(text) == []


@pytest.mark.parametrize("style", ["footnotes", "list"])
def test_rendered_injection_flag_points_at_the_provenance_comment(style: str) -> None:
    issue = sample_issue()
    story = issue.sections[0].stories[1]
    assert story.lead.enrichment is not None
    story.lead.enrichment.flags = ["injection_suspected"]
    text = render(renderer_for(style), issue)
    line = next(n for n, ln in enumerate(text.splitlines(), 1) if 'story="21"' in ln)
    assert [(f.line, f.rule) for f in lint(text)] == [(line, "injection_flag")]


def test_rendered_chatter_and_traditional_are_caught() -> None:
    issue = sample_issue()
    enr = issue.sections[2].stories[0].lead.enrichment
    assert enr is not None
    enr.summary = "好的，以下是改寫後的摘要：新版借用檢查器默認開啟。"
    text = render(renderer_for("footnotes"), issue)
    line = next(n for n, ln in enumerate(text.splitlines(), 1) if "借用" in ln)
    assert [(f.line, f.rule) for f in lint(text)] == [(line, "chatter"), (line, "traditional")]


@pytest.mark.parametrize("style", ["footnotes", "list"])
def test_rendered_stale_item_uses_the_provenance_published_date(style: str) -> None:
    issue = sample_issue()
    issue.sections[2].stories[0].lead.published_at = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    text = render(renderer_for(style), issue)
    if 'published="' not in text:
        pytest.skip("compose.provenance() does not write published= yet (patch proposed in issue 5)")
    line = next(n for n, ln in enumerate(text.splitlines(), 1) if 'story="31"' in ln)
    assert [(f.line, f.rule) for f in lint(text)] == [(line, "stale_item")]


def test_tracking_rule_uses_the_canonicaliser_list_host_noise_included() -> None:
    text = ("## 小节\n\n- [视频](https://youtu.be/dQw4w9WgXcQ?si=Ab12&t=42) 一段说明。\n"
            "- [文章](https://www.aitnt.com/newDetail.html?newId=5046) 一段说明。\n")
    found = [(f.line, f.rule, f.message) for f in lint(text) if f.rule == "tracking_params"]
    # YouTube's `si` is share noise on that host; `t` (a time) and `newId` (the article) are not tracking.
    assert [(line, rule) for line, rule, _ in found] == [(3, "tracking_params")]
    assert "si" in found[0][2] and "t," not in found[0][2] and "newId" not in found[0][2]
