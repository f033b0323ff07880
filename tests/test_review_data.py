"""The draft → publish contract (drafts/issue-N.json): ReviewData writes the same bytes the dict did and reads them back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from curator.models import Issue, IssueSection, ProseReview, ReviewData, Story
from tests.test_templates import _item, _src


def _issue() -> Issue:
    items = [
        _item(i, f"https://a.example.com/{i}", f"标题{i}", f"标题{i}：第 {i} 条摘要。", lang="zh", section="ai",
              score=90 - i, sources=[_src("源乙", f"https://a.example.com/{i}"), _src("源甲", "https://feed.example")])
        for i in (1, 2, 3)
    ]
    return Issue(number=7, title="周刊（第 7 期）：标题1", date=datetime(2026, 11, 20, 8, tzinfo=UTC),
                 sections=[IssueSection(id="ai", title="AI", stories=[Story(id=1, lead=items[0], others=[items[1]])]),
                           IssueSection(id="dev", title="开发")],
                 runners_up=[Story(id=3, lead=items[2])])


def _legacy(issue: Issue, already: dict[int, int | None], links: list[str], prose: dict[str, Any] | None) -> str:
    """What the draft wrote before the contract was a model (a dict through json.dumps)."""
    def story(s: Story, section: str | None) -> dict[str, Any]:
        enr = s.lead.enrichment
        assert enr is not None
        return {"story": s.id, "section": section, "items": [i.id for i in s.items], "title": enr.title,
                "summary": enr.summary, "score": enr.score, "reason": enr.reason, "tags": enr.tags,
                "flags": enr.flags, "urls": [i.url for i in s.items],
                "sources": sorted({r.source for i in s.items for r in i.sources})}

    data: dict[str, Any] = {
        "number": issue.number, "title": issue.title, "date": issue.date.isoformat(),
        "sections": [{"id": sec.id, "title": sec.title, "stories": [story(s, sec.id) for s in sec.stories]}
                     for sec in issue.sections],
        "runners_up": [story(s, None) for s in issue.runners_up],
        "already_ran": {str(k): v for k, v in already.items()},
        "links": links,
    }
    if prose is not None:
        data["prose"] = prose
    return json.dumps(data, ensure_ascii=False, indent=1)


def test_review_data_bytes_are_the_dicts_and_read_back() -> None:
    issue, already, links = _issue(), {3: 41, 9: None}, ["https://a.example.com/1", "https://a.example.com/2"]
    data = ReviewData.of_issue(issue, already, links=links)
    assert data.dump() == _legacy(issue, already, links, None)
    assert "prose" not in json.loads(data.dump())
    back = ReviewData.model_validate_json(data.dump())
    assert back == data and back.sections[0].stories[0].items == [1, 2] and back.runners_up[0].section is None


def test_review_data_with_section_prose() -> None:
    issue = _issue()
    prose = {"ai": {"mode": "section", "fallback": "", "flags": ["prose_empty"],
                    "stories": {"1": {"notes": [1, 2], "sentences": ["第一句。"]}}}}
    data = ReviewData.of_issue(issue, {}, links=[], prose={k: ProseReview.model_validate(v) for k, v in prose.items()})
    assert data.dump() == _legacy(issue, {}, [], prose)
    assert ReviewData.model_validate_json(data.dump()).prose == data.prose
