"""House-style templates: golden drafts for `footnotes` and `list`, front-matter variants, determinism."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from curator.compose import Renderer
from curator.lint import lint_markdown
from curator.models import Article, Enrichment, Issue, IssueSection, Item, ItemState, SourceRef, Story
from curator.settings import PublicationSettings, Settings

GOLDEN = Path(__file__).parent / "fixtures" / "golden"
WHEN = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _item(
    id: int,
    url: str,
    title: str,
    summary: str,
    *,
    lang: str,
    section: str,
    score: int,
    sources: list[SourceRef],
    tags: list[str] | None = None,
    flags: list[str] | None = None,
    published: datetime | None = None,
) -> Item:
    return Item(
        id=id,
        canonical_url=url,
        url=url,
        title=title,
        state=ItemState.ENRICHED,
        published_at=published or datetime(2026, 11, 17, 9, 0, tzinfo=UTC),
        discovered_at=datetime(2026, 11, 18, 9, 0, tzinfo=UTC),
        sources=sources,
        article=Article(url=url, title=title, text="…", lang=lang),
        enrichment=Enrichment(
            title=summary.split("：", 1)[0],
            summary=summary.split("：", 1)[1],
            tags=tags or [],
            section=section,
            score=score,
            reason="命中关键词；来源权重 1.0",
            backend="offline",
            model="textrank",
            prompt_sha="0123456789abcdef",
            input_tokens=0,
            output_tokens=0,
            flags=flags or [],
        ),
    )


def _src(name: str, url: str, **kw: Any) -> SourceRef:
    return SourceRef(source=name, url=url, seen_at=datetime(2026, 11, 18, 9, 0, tzinfo=UTC), **kw)


def sample_issue() -> Issue:
    """A fixed issue: three sections (one empty), an English lead with an HN thread and a Chinese
    follow-up, a reader submission with and without a profile link."""
    hn = _src(
        "Hacker News",
        "https://hnrss.org/frontpage",
        discussion_url="https://news.ycombinator.com/item?id=4242",
        points=312,
    )
    gh = _src(
        "读者投稿",
        "https://github.com/curator-weekly/weekly/issues",
        submitter="alice",
        submitter_url="https://github.com/curator-weekly/weekly/issues/17",
    )
    lead = _item(
        11,
        "https://openai.example.com/blog/gpt-6",
        "Introducing GPT-6",
        "OpenAI 发布 GPT-6：新模型的推理速度比上一代快一倍，API 价格下调一半。首批开放给付费开发者。",
        lang="en",
        section="ai",
        score=91,
        sources=[hn],
        tags=["大模型"],
    )
    follow = _item(
        12,
        "https://www.ithome.example.cn/0/812/345.htm",
        "OpenAI 发布 GPT-6，推理速度翻倍",
        "GPT-6 中文报道：国内媒体对 GPT-6 的报道。",
        lang="zh",
        section="ai",
        score=60,
        sources=[_src("IT之家", "https://www.ithome.example.cn/rss")],
    )
    agent = _item(
        21,
        "https://sspai.example.com/post/90001",
        "用本地大模型搭一个家庭智能体",
        "本地智能体实践：作者用一台迷你主机跑开源模型，接管了家里的日程与提醒。文章给出了完整的配置步骤。",
        lang="zh",
        section="ai",
        score=74,
        sources=[gh],
        tags=["智能体"],
    )
    rust = _item(
        31,
        "https://blog.rust-lang.example.org/2026/11/18/Rust-1.99.0.html",
        "Announcing Rust 1.99.0",
        "Rust 1.99 发布：新版借用检查器默认开启，编译速度平均提升 15%。",
        lang="en",
        section="dev",
        score=66,
        sources=[_src("Rust Blog", "https://blog.rust-lang.example.org/feed.xml", submitter="bob")],
        tags=["开源"],
    )
    return Issue(
        number=42,
        title="In The Loop 科技周刊 #42：OpenAI 发布 GPT-6",
        date=WHEN,
        sections=[
            IssueSection(
                id="ai",
                title="AI 前沿",
                stories=[
                    Story(id=11, lead=lead, others=[follow]),
                    Story(id=21, lead=agent),
                ],
            ),
            IssueSection(id="industry", title="产业与公司", stories=[]),
            IssueSection(id="dev", title="开发者与开源", stories=[Story(id=31, lead=rust)]),
        ],
    )


def renderer_for(template: str, front_matter: str | None = None) -> Renderer:
    """A Renderer for a built-in template. `front_matter` goes through settings once
    PublicationSettings has the field, through the environment's globals until then."""
    pub: dict[str, Any] = {"template": template}
    if front_matter and "front_matter" in PublicationSettings.model_fields:
        pub["front_matter"] = front_matter
    renderer = Renderer(Settings(publication=PublicationSettings(**pub)))
    if front_matter:
        renderer.env.globals["front_matter"] = front_matter
    return renderer


def render(renderer: Renderer, issue: Issue, looking_back: list[dict[str, Any]] | None = None) -> str:
    return (
        renderer.render(issue) if looking_back is None else renderer.render(issue, looking_back=looking_back)
    )


LOOKING_BACK = [
    {"number": 30, "title": "开源模型的护城河", "url": "https://weekly.example.org/issue-30/"},
    {"number": 20, "title": "为什么要写周刊", "url": "https://weekly.example.org/issue-20/"},
]


@pytest.mark.parametrize("style", ["footnotes", "list"])
def test_golden_draft(style: str) -> None:
    """A changed template or provenance field shows up here; after reviewing the diff by eye,
    rewrite the golden files with `UPDATE_GOLDEN=1 pytest tests/test_templates.py`."""
    text = render(renderer_for(style), sample_issue(), LOOKING_BACK if style == "list" else None)
    golden = GOLDEN / f"{style}.md"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("style", ["footnotes", "list"])
def test_rendering_is_deterministic(style: str) -> None:
    first = render(renderer_for(style), sample_issue(), LOOKING_BACK)
    again = render(renderer_for(style), sample_issue(), LOOKING_BACK)
    assert first == again


@pytest.mark.parametrize("style", ["footnotes", "list"])
def test_todays_drafts_lint_clean(style: str) -> None:
    text = render(renderer_for(style), sample_issue(), LOOKING_BACK if style == "list" else None)
    assert lint_markdown(text, window_start=WHEN.date().replace(day=13)) == []


def _front_matter(text: str) -> dict[str, Any] | None:
    if not text.startswith("---\n"):
        return None
    return yaml.safe_load(text.split("---\n", 2)[1])


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("hugo", {"draft": True, "type": "weekly"}),
        ("hexo", {"published": False, "categories": ["weekly"]}),
        ("jekyll", {"published": False, "layout": "post"}),
    ],
)
def test_front_matter_variants_are_valid_yaml(style: str, expected: dict[str, Any]) -> None:
    text = render(renderer_for("list", front_matter=style), sample_issue())
    meta = _front_matter(text)
    assert meta is not None
    assert meta["title"] == "In The Loop 科技周刊（第 42 期）：OpenAI 发布 GPT-6"
    assert meta["tags"] == ["科技周刊", "AI", "大模型", "智能体", "开源"]
    assert str(meta["date"]).startswith("2026-11-20")
    assert expected.items() <= meta.items()
    assert "\n# In The Loop 科技周刊（第 42 期）：OpenAI 发布 GPT-6\n" in text


def test_front_matter_none_starts_with_the_title() -> None:
    text = render(renderer_for("list", front_matter="none"), sample_issue())
    assert text.startswith("# In The Loop 科技周刊（第 42 期）：OpenAI 发布 GPT-6\n")


def test_unknown_front_matter_style_fails_loudly() -> None:
    partial = renderer_for("list").env.get_template("_frontmatter.j2")
    context = {"issue": sample_issue(), "publication": PublicationSettings(), "tags": []}
    with pytest.raises(jinja2.UndefinedError, match="front_matter_must_be_hugo_hexo_jekyll_or_none"):
        partial.render(front_matter="wordpress", **context)
    assert partial.render(front_matter="none", **context).strip() == ""


def test_list_style_numbers_items_across_sections_and_credits_submitters() -> None:
    text = render(renderer_for("list"), sample_issue())
    assert "1、[OpenAI 发布 GPT-6](https://openai.example.com/blog/gpt-6)（英文）\n" in text
    assert "2、[本地智能体实践](https://sspai.example.com/post/90001)\n" in text
    assert (
        "3、[Rust 1.99 发布](https://blog.rust-lang.example.org/2026/11/18/Rust-1.99.0.html)（英文）\n"
        in text
    )
    assert "（[@alice](https://github.com/curator-weekly/weekly/issues/17) 投稿）" in text
    assert "（@bob 投稿）" in text
    assert "## 产业与公司" not in text
    assert "往年回顾" not in text
    assert text.endswith("（完）\n")


def test_looking_back_without_title_or_url() -> None:
    """`curator.select.looking_back` gives {number, year, date, file}: no title, no public URL."""
    rows = [{"number": 30, "year": 2025, "date": "2025-11-21", "file": "docs/issue-30.md"}]
    text = render(renderer_for("list"), sample_issue(), rows)
    assert "## 往年回顾\n\n第 30 期（2025-11-21）\n\n（完）\n" in text
    mixed = [{"number": 31, "title": "没有链接的一期"}]
    assert "\n没有链接的一期（#31）\n" in render(renderer_for("list"), sample_issue(), mixed)


def test_empty_issue_renders_in_both_styles() -> None:
    empty = sample_issue().model_copy(update={"sections": [IssueSection(id="ai", title="AI 前沿")]})
    for style in ("footnotes", "list"):
        text = render(renderer_for(style), empty)
        assert "AI 前沿" not in text
    assert "（第 42 期）：本周无入选内容" in render(renderer_for("list"), empty)
