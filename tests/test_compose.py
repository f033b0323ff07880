"""Composer rules an editor notices: the cover candidate, quotas, one domain at most K times."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import jinja2
import pytest

from curator.compose import Renderer, cover_image
from curator.models import Issue, IssueSection, Story
from curator.select import select
from curator.settings import SectionSettings, Settings
from tests.test_templates import _item, _src, render, renderer_for, sample_issue


def _with_image(item, image):
    return item.model_copy(update={"article": item.article.model_copy(update={"image": image})})


def _items():
    mk = lambda i, url, score, section="ai": _item(
        i, url, f"标题{i}", f"标题{i}：第 {i} 条摘要，内容来自原文。", lang="zh", section=section, score=score,
        sources=[_src("源", url)])
    return [
        mk(1, "https://a.example.com/1", 90),
        mk(2, "https://a.example.com/2", 85),
        mk(3, "https://a.example.com/3", 80),
        mk(4, "https://b.example.com/4", 70),
        mk(5, "https://c.example.com/5", 60, "dev"),
    ]


def test_cover_is_the_best_story_with_a_usable_image():
    items = _items()
    items[0] = _with_image(items[0], "http://insecure.example.com/x.jpg")  # not https: skipped
    items[1] = _with_image(items[1], "https://img.example.com/cover.png")
    items[3] = _with_image(items[3], "https://img.example.com/other.png")
    issue = Issue(number=3, title="t", date=datetime(2026, 11, 20, tzinfo=UTC),
                  sections=[IssueSection(id="ai", title="AI", stories=[Story(id=i.id, lead=i) for i in items])])
    assert cover_image(issue) == "https://img.example.com/cover.png"
    text = render(renderer_for("footnotes"), issue)
    assert 'cover: "https://img.example.com/cover.png"' in text.split("---")[1]


def test_quotas_and_domain_cap_send_the_rest_to_runners_up():
    settings = Settings(sections=[SectionSettings(id="ai", title="AI", quota=3), SectionSettings(id="dev", title="开发")])
    settings.drafts.max_per_domain = 2
    issue = select(_items(), settings, number=1, as_of=datetime(2026, 11, 20, tzinfo=UTC), draft_ids=set())
    ai = [s.id for s in issue.sections[0].stories]
    assert ai == [1, 2, 4]  # story 3 would be a third a.example.com item
    assert [s.id for s in issue.sections[1].stories] == [5]
    assert [s.id for s in issue.runners_up] == [3]
    assert issue.title.endswith("标题1")


def test_one_headline_rule_for_the_title_the_list_heading_and_a_retitle():
    """select's issue title, decisions.retitle and the list style's H1 use compose.issue_headline alike."""
    from curator.compose import issue_headline
    from curator.decisions import retitle

    items = _items()
    lead = items[0]
    lead.enrichment.title = "【人工智能】OpenAI提案矛头直指DeepSeek | 锁死全球AI发展 | 加强出口管制"
    settings = Settings(sections=[SectionSettings(id="ai", title="AI", quota=5)])
    issue = select(items, settings, number=3, as_of=datetime(2026, 11, 20, tzinfo=UTC), draft_ids=set())
    assert issue_headline(issue.stories) == "OpenAI提案矛头直指DeepSeek"
    assert issue.title.endswith("：OpenAI提案矛头直指DeepSeek")
    retitled = issue.model_copy(deep=True)
    retitle(retitled, settings)
    assert retitled.title == issue.title
    heading = next(line for line in render(renderer_for("list"), issue).splitlines() if line.startswith("# "))
    assert heading.endswith("：OpenAI提案矛头直指DeepSeek"), heading


def test_compiled_templates_are_cached_beside_the_store_and_a_damaged_entry_is_recompiled(tmp_path: Path) -> None:
    """The second Renderer of a workspace loads the compiled template from data/cache/templates (Jinja
    compiles nothing), with the same bytes; a damaged entry or an edited template is compiled again."""
    (tmp_path / "data").mkdir()
    settings = Settings(home=tmp_path)
    issue = sample_issue()
    first = render(Renderer(settings), issue)
    cached = sorted((tmp_path / "data" / "cache" / "templates").glob("*.cache"))
    assert len(cached) == 3  # the template and its two partials
    compiled: list[str] = []
    real = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: str, name: str | None = None, *args: object, **kw: object) -> object:
        compiled.append(name or "")
        return real(self, source, name, *args, **kw)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(jinja2.Environment, "compile", counting)
        assert render(Renderer(settings), issue) == first
        assert compiled == []
        cached[0].write_bytes(cached[0].read_bytes()[:20])  # truncated mid-entry
        assert render(Renderer(settings), issue) == first
        assert len(compiled) == 1


def test_a_workspace_without_a_store_folder_or_a_writable_one_still_renders(tmp_path: Path) -> None:
    issue = sample_issue()
    expected = render(Renderer(Settings(home=tmp_path)), issue)
    assert not (tmp_path / "data").exists()  # no folder made for a cache alone
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cache").write_text("not a folder", encoding="utf-8")
    assert render(Renderer(Settings(home=tmp_path)), issue) == expected
