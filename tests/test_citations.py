"""Sources of a story: each its own footnote and label; the original publisher and https first."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from curator.compose import citation_order
from curator.models import Issue, IssueSection, Story
from tests.test_templates import _item, _src, render, renderer_for


def _it(i: int, url: str, title: str, text: str, day: int, source: str):  # type: ignore[no-untyped-def]
    item = _item(i, url, title, f"{title}：摘要{i}。", lang="zh", section="ai", score=90 - i,
                 sources=[_src(source, url)], published=datetime(2026, 11, day, 9, 0, tzinfo=UTC))
    return item.model_copy(update={"article": item.article.model_copy(update={"text": text})})


def _story():  # type: ignore[no-untyped-def]
    # The lead (best score) is a reprint that says so; the original is on http and https.
    reprint = _it(1, "https://portal.example.com/tech/1.html", "【转载】美国数据中心耗电量达到中国的5倍 | 能源 | AI",
                  "本文转载自公众号“能源观察”。美国数据中心耗电量……", 19, "门户")
    original_http = _it(2, "http://energy.example.org/post/42", "美国数据中心耗电量达到中国的5倍",
                        "美国数据中心耗电量在过去五年增长了三倍……", 18, "能源观察")
    mirror_https = _it(3, "https://mirror.example.net/post/42", "美国数据中心耗电量达到中国的5倍",
                       "美国数据中心耗电量在过去五年增长了三倍……", 18, "镜像站")
    return Story(id=1, lead=reprint, others=[original_http, mirror_https])


def test_original_and_https_before_reprints() -> None:
    story = _story()
    assert [i.id for i in citation_order(story.items)] == [3, 2, 1]


def test_each_source_gets_its_own_footnote_and_label() -> None:
    story = _story()
    issue = Issue(number=1, title="t", date=datetime(2026, 11, 20, tzinfo=UTC),
                  sections=[IssueSection(id="ai", title="AI", stories=[story])])
    text = render(renderer_for("footnotes"), issue)
    defs = re.findall(r"^\[\^(\d+)\]: \[([^\]]+)\]\(([^)]+)\)", text, re.MULTILINE)
    assert [d[2] for d in defs] == ["https://mirror.example.net/post/42", "http://energy.example.org/post/42",
                                    "https://portal.example.com/tech/1.html"]
    labels = [d[1] for d in defs]
    assert labels[0].startswith("镜像站：") and labels[1].startswith("能源观察：") and labels[2].startswith("门户：")
    # The reprint's keyword-pipe title is cited by its headline.
    assert labels[2] == "门户：美国数据中心耗电量达到中国的5倍"
    assert "[^1][^2][^3]" in text  # the story cites all three
