"""Archive parsing: published issues in both house styles back to number, date, title and (url, title) entries."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from curator.archive import Entry, iter_issue_files, normalise_title, parse_issue
from curator.urls import canonical_url

ARCHIVE = Path(__file__).parent / "fixtures" / "archive"
GOLDEN = Path(__file__).parent / "fixtures" / "golden"


def parse(rel: str):  # type: ignore[no-untyped-def]
    path = ARCHIVE / rel
    return parse_issue(path.read_text(encoding="utf-8"), str(path))


def test_iter_issue_files_is_recursive_natural_and_skips_non_issues(tmp_path: Path) -> None:
    found = [p.relative_to(ARCHIVE).as_posix() for p in iter_issue_files(ARCHIVE)]
    assert found == [
        "footnotes/weekly-41.md",
        "footnotes/weekly-42.md",
        "list/docs/issue-295.md",
        "list/docs/issue-296.md",
    ]
    for name in (
        "docs/issue-10.md",
        "docs/issue-9.md",
        "docs/issue-100.md",
        ".git/x.md",
        "README.md",
        "notes.txt",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("# x\n", encoding="utf-8")
    assert [p.name for p in iter_issue_files(tmp_path)] == ["issue-9.md", "issue-10.md", "issue-100.md"]
    assert list(iter_issue_files(tmp_path / "missing")) == []


def test_list_style_issue() -> None:
    issue = parse("list/docs/issue-295.md")
    assert (issue.number, issue.date, issue.style) == (295, None, "list")
    assert issue.title == "科技爱好者周刊（第 295 期）：数字游民的税收"
    assert issue.headline == "数字游民的税收"
    # no cover image, no "via" credit, no links to the weekly's repo/issues, no 往年回顾, no submitter credits
    assert issue.entries == [
        Entry("https://news.example.com/2024/04/undersea-datacenter", "海底数据中心"),
        Entry("https://gadgets.example.org/folding-keyboard?utm_source=weekly", "会折叠的手机键盘"),
        Entry("https://blog.example.dev/sqlite-instead-of-redis/", "我如何用 SQLite 替换了 Redis"),
        Entry("https://frontend.example.cn/posts/render-pipeline.html", "浏览器的渲染流程"),
        Entry("https://github.com/zellij-org/zellij", "Zellij"),
        Entry("https://github.com/example/md2wechat", "md2wechat"),
        Entry("https://fonts.example.com/list", "开源字体列表"),
        Entry("https://essays.example.net/conservation-of-complexity", "《复杂性守恒》"),
    ]


def test_list_style_bold_titles_and_http_links() -> None:
    issue = parse("list/docs/issue-296.md")
    assert issue.number == 296
    assert Entry("https://helix-editor.example.com/", "Helix") in issue.entries
    assert Entry("http://quotes.example.org/less-is-more", "《少即是多》") in issue.entries
    assert len(issue.entries) == 4


def test_footnotes_style_issue_titles_entries_by_the_citing_paragraph() -> None:
    issue = parse("footnotes/weekly-41.md")
    assert (issue.number, issue.date, issue.style) == (41, date(2026, 11, 13), "footnotes")
    assert issue.headline == "本地大模型跑进了手机"
    assert issue.entries == [
        Entry("https://github.com/example/infer/releases/tag/v2.0", "发布说明"),
        Entry("https://mobile-ai.example.com/posts/3b-on-phone", "本地大模型跑进了手机"),
        Entry("https://sspai.example.com/post/88001", "本地大模型跑进了手机"),
        Entry("https://github.com/example/infer", "开源推理框架发布 2.0"),
        Entry(
            "https://pythoninsider.example.com/2026/11/python-3150-beta-1.html?utm_source=rss",
            "Python 3.15 进入测试阶段",
        ),
    ]


def test_footnotes_style_unquoted_title_datetime_and_code_blocks() -> None:
    issue = parse("footnotes/weekly-42.md")
    assert issue.title == "In The Loop 科技周刊 #42：OpenAI 發布 GPT-6"  # not cut at " #" by YAML
    assert (issue.number, issue.date) == (42, date(2026, 11, 20))
    assert [e.url for e in issue.entries] == [  # the back-issue link and the code block are not entries
        "https://openai.example.com/blog/gpt-6",
        "https://www.ithome.example.cn/0/813/100.htm",
    ]


@pytest.mark.parametrize(
    ("text", "path", "number"),
    [
        ("# 科技爱好者周刊（第 7 期）：x\n", "notes.md", 7),
        ("---\ntitle: 'Weekly Issue 12: x'\n---\n", "a.md", 12),
        ("正文。\n", "docs/issue-123.md", 123),
        ("正文。\n", "weekly_45.md", 45),
        ("正文。\n", "2024/88.md", 88),
        ("正文。\n", "notes.md", None),
        ("---\ntitle: [broken\n---\n# In The Loop #5：x\n", "x.md", 5),
    ],
)
def test_issue_number_sources(text: str, path: str, number: int | None) -> None:
    assert parse_issue(text, path).number == number


def test_front_matter_title_beats_h1_and_bad_dates_are_none() -> None:
    text = '---\ntitle: "周刊 #9：a"\ndate: 2026-13-45\n---\n\n# 周刊（第 8 期）：b\n'
    issue = parse_issue(text, "issue-7.md")
    assert (issue.number, issue.title, issue.date) == (9, "周刊 #9：a", None)


def test_golden_drafts_parse_back() -> None:
    for style in ("footnotes", "list"):
        issue = parse_issue((GOLDEN / f"{style}.md").read_text(encoding="utf-8"), f"{style}.md")
        assert (issue.number, issue.date, issue.style) == (42, date(2026, 11, 20), style)
        assert issue.headline == "OpenAI 发布 GPT-6"
        assert [e.url for e in issue.entries] == [
            "https://openai.example.com/blog/gpt-6",
            "https://www.ithome.example.cn/0/812/345.htm",
            "https://sspai.example.com/post/90001",
            "https://blog.rust-lang.example.org/2026/11/18/Rust-1.99.0.html",
        ]


def test_normalise_title() -> None:
    assert normalise_title("OpenAI 發布 GPT-6（英文）") == "openai发布gpt6"
    assert normalise_title("OpenAI 发布 GPT‑6 (英文)") == normalise_title("openai发布gpt-6")
    assert normalise_title("《复杂性守恒》") == "复杂性守恒"
    assert normalise_title("Ｒｕｓｔ　１.９９ 发布！") == "rust199发布"
    assert normalise_title("") == ""


def test_repeats_across_issues_are_found_by_url_or_title() -> None:
    old, new = parse("list/docs/issue-295.md"), parse("list/docs/issue-296.md")
    old_urls = {canonical_url(e.url) for e in old.entries}
    old_titles = {normalise_title(e.title) for e in old.entries}
    repeats = [
        e.title
        for e in new.entries
        if canonical_url(e.url) in old_urls or normalise_title(e.title) in old_titles
    ]
    assert repeats == ["我如何用 SQLite 替換了 Redis"]
