"""Scores that rank: offline scores spread on a realistic week; the per-domain cap counts a platform's
channels/accounts separately; the issue headline is the lead story's own headline."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from curator.enrich.offline import OfflineBackend
from curator.models import EnrichRequest
from curator.outlet import outlet
from curator.select import select
from curator.settings import SectionSettings, Settings, load_settings
from tests.test_templates import _item, _src

ROOT = Path(__file__).resolve().parents[1]

# Sentences of AI news, each bringing profile keywords of its own; a story on the topic carries
# some of them, the more central the story, the more.
_AI = [
    "{subject}发布了新一代开源大模型，参数规模达到 {n} 亿。",
    "这款 AI 模型的训练成本约为 {m} 万美元，训练数据超过十万亿 token。",
    "公司表示，新模型在数学推理评测中超过上一代约 {k} 个百分点，推理成本下降一半。",
    "业内人士认为，GPU 芯片的供应仍是大模型竞争的瓶颈。",
    "开发者可以用 Python 在本地部署推理服务，也可以把它接入智能体应用。",
    "新模型还支持 agent 工作流，LLM 调用工具的成功率提升明显。",
]
FILLER = "记者走访了多家企业，了解到相关产品的实际使用情况和用户反馈，情况各有不同。\n"


def _week() -> list[tuple[str, str]]:
    """Eleven stories of one week: from central AI news to barely-on-topic items."""
    rich = [
        ("深度求索发布开源大模型 DeepSeek-V4", "深度求索", 6710, 560, 12, 6),
        ("阿里发布通义千问 Qwen3 大模型", "阿里巴巴", 2350, 900, 9, 5),
        ("OpenAI 发布 GPT-5 推理模型", "OpenAI", 3000, 5000, 15, 4),
        ("智谱发布 GLM-5", "智谱", 1300, 300, 7, 3),
        ("月之暗面推出新产品", "月之暗面", 1000, 200, 5, 2),
        ("一家初创公司发布新品", "一家初创公司", 70, 20, 3, 1),
    ]
    out = []
    for title, subject, n, m, k, sentences in rich:
        body = "\n".join(x.format(subject=subject, n=n, m=m, k=k) for x in _AI[:sentences])
        out.append((title, body + "\n" + FILLER * 12))
    plain = [
        ("某市举办秋季马拉松比赛", "某市于周日举办秋季马拉松比赛，吸引了两万名选手参加。\n" + FILLER * 8),
        ("新款咖啡机上市", "一家家电企业推出新款咖啡机，售价两千元。\n" + FILLER * 6),
        ("开发者大会将于下月举行", "一年一度的开发者大会将于下月举行，议程涉及编程语言和工具。\n" + FILLER * 10),
        ("手机厂商发布秋季新品", "手机厂商发布秋季新品，续航提升，售价不变。\n" + FILLER * 12),
        ("数据库公司完成融资", "一家数据库公司完成新一轮融资，将用于产品研发。\n" + FILLER * 9),
    ]
    return out + plain


def test_offline_scores_spread_across_the_range_on_a_realistic_week() -> None:
    backend = OfflineBackend(load_settings(ROOT))
    scores = [
        backend.enrich(EnrichRequest(item_id=i, url=f"https://n{i}.example.com/a", title=t, text=x, lang="zh",
                                     source="test")).score
        for i, (t, x) in enumerate(_week())
    ]
    dense = scores[:6]
    assert sum(s >= 90 for s in scores) <= 2, scores  # not "8 of 11 at 90-98"
    assert max(scores) - min(scores) >= 40, scores
    # The on-topic stories are told apart (a hard cap tied the central ones at 90) and rank in the
    # order of how central they are.
    assert dense == sorted(dense, reverse=True) and len(set(dense)) == len(dense), dense
    assert min(dense) > max(scores[6:]), scores


def _it(i: int, url: str, score: int, *, author: str | None = None, source: str = "源"):  # type: ignore[no-untyped-def]
    item = _item(i, url, f"标题{i}", f"标题{i}：第 {i} 条摘要，内容来自原文。", lang="zh", section="ai",
                 score=score, sources=[_src(source, url)])
    if author:
        item = item.model_copy(update={"article": item.article.model_copy(update={"author": author})})
    return item


@pytest.mark.parametrize(
    ("url", "author", "source", "expected"),
    [
        ("https://github.com/astral-sh/uv/releases/tag/0.9", None, "gh", "github.com/astral-sh"),
        ("https://x.com/karpathy/status/1", None, "x", "x.com/karpathy"),
        ("https://mp.weixin.qq.com/s?__biz=MzA3MzI4MjgzMw==&mid=1&idx=1", None, "wx", "mp.weixin.qq.com/MzA3MzI4MjgzMw=="),
        ("https://www.youtube.com/watch?v=abc", "Lex Fridman", "yt", "youtube.com/lex fridman"),
        ("https://www.youtube.com/watch?v=abc", None, "yt-two-minute-papers", "youtube.com/yt-two-minute-papers"),
        ("https://www.bilibili.com/video/BV1xx", "影视飓风", "bili", "bilibili.com/影视飓风"),
        ("https://space.bilibili.com/946974/video", None, "bili", "space.bilibili.com/946974"),
        ("https://news.example.com/a/1", "张三", "news", "news.example.com"),
    ],
)
def test_outlet_names_the_channel_on_platforms(url: str, author: str | None, source: str, expected: str) -> None:
    assert outlet(_it(1, url, 50, author=author, source=source)) == expected


def test_domain_cap_counts_channels_separately() -> None:
    settings = Settings(sections=[SectionSettings(id="ai", title="AI", quota=10)])
    settings.drafts.max_per_domain = 1
    items = [
        _it(1, "https://www.youtube.com/watch?v=a1", 90, author="频道甲"),
        _it(2, "https://www.youtube.com/watch?v=b1", 85, author="频道乙"),
        _it(3, "https://www.youtube.com/watch?v=c1", 80, author="频道丙"),
        _it(4, "https://www.youtube.com/watch?v=a2", 75, author="频道甲"),  # a second from 频道甲
        _it(5, "https://github.com/owner-a/x", 70),
        _it(6, "https://github.com/owner-b/y", 65),
        _it(7, "https://github.com/owner-a/z", 60),  # a second from owner-a
    ]
    issue = select(items, settings, number=1, as_of=datetime(2026, 11, 20, tzinfo=UTC), draft_ids=set())
    assert [s.id for s in issue.sections[0].stories] == [1, 2, 3, 5, 6]
    assert [s.id for s in issue.runners_up] == [4, 7]


def test_issue_headline_is_the_lead_storys_headline() -> None:
    settings = Settings(sections=[SectionSettings(id="ai", title="六小虎", quota=5)])
    lead = _it(1, "https://a.example.com/1", 95)
    lead.enrichment.title = "【人工智能】OpenAI提案矛头直指DeepSeek | 锁死全球AI发展 | 加强出口管制"  # type: ignore[union-attr]
    items = [lead, _it(2, "https://b.example.com/2", 60)]
    issue = select(items, settings, number=1, as_of=datetime(2026, 11, 20, tzinfo=UTC), draft_ids=set())
    assert issue.title.endswith("：OpenAI提案矛头直指DeepSeek"), issue.title
    assert "六小虎" not in issue.title


def test_lint_counts_platform_accounts_separately() -> None:
    from curator.lint import lint_markdown

    def draft(urls: list[str]) -> str:
        items = "\n\n".join(f"**条目{i}**：第 {i} 个开源项目发布了新版本。[^{i}]" for i in range(1, len(urls) + 1))
        notes = "\n".join(f"[^{i}]: [源：项目{i}]({u})" for i, u in enumerate(urls, 1))
        return f"## 开源\n\n{items}\n\n{notes}\n"

    owners = [f"https://github.com/owner-{c}/repo" for c in "abcd"]
    assert not lint_markdown(draft(owners), rules={"domain_dominance"}, max_per_domain=3)
    same = [f"https://github.com/owner-a/repo-{c}" for c in "abcd"]
    assert [f.rule for f in lint_markdown(draft(same), rules={"domain_dominance"}, max_per_domain=3)] == [
        "domain_dominance"]
