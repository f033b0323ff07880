"""The offline enrichment backend against the default config: summaries, tags, section, score."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from curator import text as textutil
from curator.enrich.keywords import keyword_pattern
from curator.enrich.offline import OfflineBackend, extractive_summary
from curator.errors import LLMError
from curator.models import Enrichment, EnrichRequest
from curator.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]

ZH_MODEL = """好的，我幫您整理如下：
11月20日，深度求索（DeepSeek）在北京发布了新一代开源大模型 DeepSeek-V4，参数规模达到 6710 亿，并以 MIT 许可在 GitHub 上公开权重。
公司表示，新模型在数学推理和代码生成评测中超过上一代 V3 约 12 个百分点，训练成本约为 560 万美元。
這次發佈的軟體工具鏈同樣開源，開發者可以在本地部署推理服務。
业内人士认为，“开源模型正在快速追赶闭源模型”，这会改变大模型行业的竞争格局。
好的，我幫您整理如下，這是關於 DeepSeek 開源大模型 V4 發佈、推理評測與訓練成本的全部要點。
希望对您有帮助！
点击查看原文
责任编辑：王小明
"""

ZH_CHIP = """11月18日，国产 GPU 芯片公司摩尔线程宣布完成 25 亿元 C 轮融资，由多家国资基金领投。
这家公司成立于 2020 年，主要设计面向数据中心的 GPU 芯片，此前已累计融资超过 100 亿元。
本轮融资将用于新一代芯片的研发和量产，公司计划明年在科创板提交 IPO 申请。
分析人士指出，在美国出口管制之下，国内半导体市场对英伟达替代产品的需求持续上升。
"""

EN_CHIP = """Nvidia said on Tuesday that its quarterly revenue rose 94% to $35.1 billion, driven by demand for its Blackwell GPUs from cloud providers.
The company expects revenue of about $37.5 billion in the next quarter, e.g. from sales to Microsoft and Meta.
Chief executive Jensen Huang told analysts that "the age of AI is in full steam" and that supply of the new chips would improve.
Shares of the chipmaker fell 2.5% in after-hours trading, while rival AMD rose 1.2%.
Subscribe to our newsletter for more.
"""

ZH_LOTTERY = """本周双色球彩票开奖，一等奖共开出 8 注，单注奖金 600 万元。
彩票中心表示，本期销售额达到 3.9 亿元，奖池累计 21 亿元。
多地彩民在开奖前排起长队，工作人员提醒理性购彩。
"""


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(ROOT)


@pytest.fixture(scope="module")
def backend(settings: Settings) -> OfflineBackend:
    return OfflineBackend(settings)


def _req(title: str, text: str, **kw: object) -> EnrichRequest:
    return EnrichRequest(item_id=1, url="https://example.org/a", title=title, text=text, source="test", **kw)


def _sentences_of(summary: str) -> list[str]:
    return textutil.split_sentences(summary, "zh")


# --- Chinese article ------------------------------------------------------------------------------


def test_chinese_model_article(backend: OfflineBackend, settings: Settings) -> None:
    e = backend.enrich(_req("DeepSeek 發佈開源大模型 V4", ZH_MODEL))
    assert e.backend == "offline" and e.model == "" and e.prompt_sha == ""
    assert e.input_tokens == e.output_tokens == 0 and e.cost_usd == 0.0
    # summary: non-empty, within bounds, Simplified, carries the lead's facts, no chatter
    assert e.summary
    assert len(e.summary) <= 130
    assert not textutil.has_traditional(e.summary)
    assert "6710" in e.summary and "DeepSeek-V4" in e.summary
    for bad in ("整理如下", "帮您", "幫您", "希望对您", "点击查看", "责任编辑"):
        assert bad not in e.summary
    assert not any(textutil.is_chatter(s) for s in _sentences_of(e.summary))
    # title converted to Simplified
    assert e.title == "DeepSeek 发布开源大模型 V4"
    # tags, section
    assert set(e.tags) <= set(settings.tag_ids()) and 1 <= len(e.tags) <= 4
    assert e.tags[0] in {"大模型", "开源"} and {"大模型", "开源"} <= set(e.tags)
    assert e.section == "ai"
    assert 50 <= e.score <= 100
    assert "命中关注词" in e.reason and "大模型" in e.reason


def test_summary_sentences_come_from_the_article_in_order(backend: OfflineBackend) -> None:
    e = backend.enrich(_req("DeepSeek 发布 V4", ZH_MODEL))
    source = textutil.to_simplified(ZH_MODEL)
    positions = [source.index(s) for s in _sentences_of(e.summary)]
    assert positions == sorted(positions)
    assert 1 <= len(positions) <= 3


@pytest.mark.parametrize(
    "article",
    [
        ZH_MODEL,
        # The chatter line leads and repeats every keyword: lead bias and TextRank alone would pick it.
        (
            "好的，我幫您整理如下，這是關於開源大模型發佈與推理評測的要點。\n"
            "深度求索发布开源大模型 V4，推理评测提升明显。\n"
            "开发者可以在本地部署这个大模型。\n"
        ),
    ],
)
def test_chatter_sentence_is_never_selected(article: str) -> None:
    chosen = extractive_summary(article, "zh")
    assert chosen
    assert all("整理如下" not in s and not textutil.is_chatter(s) for s in chosen)


def test_chip_funding_article_goes_to_industry(backend: OfflineBackend, settings: Settings) -> None:
    e = backend.enrich(_req("摩尔线程完成 25 亿元 C 轮融资", ZH_CHIP))
    assert e.section == "industry"
    assert "芯片" in e.tags and "产业" in e.tags
    assert set(e.tags) <= set(settings.tag_ids())
    assert "25 亿元" in e.summary and "11月18日" in e.summary


# --- English article in a zh-Hans publication -----------------------------------------------------


def test_english_article_keeps_english_behind_chinese_framing(backend: OfflineBackend) -> None:
    title = "Nvidia revenue jumps 94% on AI chip demand"
    e = backend.enrich(_req(title, EN_CHIP, lang="en"))
    assert e.title == title  # the composer adds （英文）, not the backend
    assert e.summary.startswith("英文文章，介绍")
    head, _, english = e.summary.partition("：")
    assert "芯片" in head  # framing built from the matched tags
    assert english.startswith("Nvidia said on Tuesday")  # the lead, verbatim
    assert "$35.1 billion" in english
    assert 5 <= len(english.split()) <= 60
    assert "newsletter" not in e.summary.lower()
    assert e.section == "industry"
    assert "芯片" in e.tags


def test_english_publication_gets_no_framing(settings: Settings) -> None:
    en = load_settings(ROOT, overrides={"publication": {"language": "en"}})
    e = OfflineBackend(en).enrich(_req("Nvidia revenue jumps", EN_CHIP))
    assert e.summary.startswith("Nvidia said on Tuesday")


# --- score -----------------------------------------------------------------------------------------


def test_excluded_keyword_in_title_scores_low(backend: OfflineBackend) -> None:
    e = backend.enrich(_req("双色球彩票开奖：一等奖 8 注", ZH_LOTTERY, source_weight=2.0))
    assert e.score <= 10
    assert "彩票" in e.reason


def test_excluded_keyword_in_text_costs_points(backend: OfflineBackend) -> None:
    clean = backend.enrich(_req("摩尔线程完成融资", ZH_CHIP))
    tainted = backend.enrich(_req("摩尔线程完成融资", ZH_CHIP + "有网友调侃这笔钱比买彩票还刺激。\n"))
    assert tainted.score <= clean.score - 20
    assert "排除词" in tainted.reason


def test_relevant_article_outscores_irrelevant_one(backend: OfflineBackend) -> None:
    relevant = backend.enrich(_req("DeepSeek 发布开源大模型 V4", ZH_MODEL))
    gardening = backend.enrich(
        _req(
            "秋季园艺指南",
            "秋天是种植郁金香球根的好时节，土壤温度降到 10 摄氏度以下时下种最合适。\n"
            "浇水不宜过多，球根在湿冷的土壤里容易腐烂。\n",
        )
    )
    assert relevant.score > gardening.score + 20
    assert "未命中关注词" in gardening.reason


def test_source_weight_scales_score(backend: OfflineBackend) -> None:
    low = backend.enrich(_req("摩尔线程完成融资", ZH_CHIP, source_weight=0.5))
    mid = backend.enrich(_req("摩尔线程完成融资", ZH_CHIP, source_weight=1.0))
    high = backend.enrich(_req("摩尔线程完成融资", ZH_CHIP, source_weight=1.2))
    assert low.score < mid.score < high.score
    assert "来源权重 1.2" in high.reason


def test_deterministic(backend: OfflineBackend) -> None:
    reqs = [_req("DeepSeek 发布 V4", ZH_MODEL), _req("Nvidia revenue jumps", EN_CHIP)]
    first = [backend.enrich(r) for r in reqs]
    again = [OfflineBackend(load_settings(ROOT)).enrich(r) for r in reqs]
    assert first == again


# --- section fallbacks, edge cases ----------------------------------------------------------------


def test_section_hint_when_nothing_matches(backend: OfflineBackend, settings: Settings) -> None:
    text = "秋天是种植郁金香球根的好时节，土壤温度降到 10 摄氏度以下时下种最合适。\n"
    assert backend.enrich(_req("园艺", text, section_hint="research")).section == "research"
    assert backend.enrich(_req("园艺", text, section_hint="nope")).section == settings.section_ids()[0]
    assert backend.enrich(_req("园艺", text)).section == settings.section_ids()[0]


def test_empty_text_raises(backend: OfflineBackend) -> None:
    with pytest.raises(LLMError) as err:
        backend.enrich(_req("标题", "  \n "))
    assert err.value.reason == "empty_summary"


def test_only_chatter_raises(backend: OfflineBackend) -> None:
    with pytest.raises(LLMError) as err:
        backend.enrich(_req("标题", "好的，我幫您整理如下：\n希望对您有帮助！\n点击查看原文"))
    assert err.value.reason == "empty_summary"


def test_falls_back_to_first_paragraph_when_no_sentence_qualifies(backend: OfflineBackend) -> None:
    long_sentence = "英伟达" + "、".join(f"第{i}款新芯片" for i in range(40)) + "均已量产"
    e = backend.enrich(_req("英伟达新品", long_sentence))
    assert e.summary.startswith("英伟达第0款新芯片")
    assert e.summary.endswith("…") and len(e.summary) <= 120


def test_untitled_article_gets_a_title_from_the_summary(backend: OfflineBackend) -> None:
    e = backend.enrich(_req("", ZH_CHIP))
    assert e.title and len(e.title) <= 40 and e.title.startswith("11月18日")


def test_result_validates_against_the_model(backend: OfflineBackend) -> None:
    e = backend.enrich(_req("DeepSeek 发布 V4", ZH_MODEL))
    assert Enrichment.model_validate(e.model_dump()) == e


@pytest.mark.parametrize(
    ("keyword", "text", "hits"),
    [
        ("Go", "Google ships a new Go release; it goes well.", 1),
        ("AI", "OpenAI said AI is everywhere; Thai food is said to be good.", 2),
        ("GPT", "ChatGPT and GPT-4o and gpt4 but not GPTQ", 3),
        ("agent", "Agents and agentic workflows; an agent.", 3),
        ("chip", "chips, a chip, chipmaker", 2),
        ("law", "new laws, a lawyer, the law", 2),
        ("open source", "it is open  source, Open Source!", 2),
        ("大模型", "大模型与大模型", 2),
    ],
)
def test_keyword_pattern_boundaries(keyword: str, text: str, hits: int) -> None:
    pattern = keyword_pattern(keyword)
    assert pattern is not None
    assert len(pattern.findall(re.sub(r"\s+", " ", text))) == hits


def test_jieba_stays_quiet_on_stderr() -> None:
    code = (
        "from curator.enrich.offline import extractive_summary\n"
        "print(extractive_summary('深度求索发布了新一代开源大模型，参数规模达到六千亿。公司表示训练成本很低。', 'zh'))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "深度求索" in proc.stdout


def test_table_layout_pipes_and_a_repeated_headline_never_open_the_summary(backend):
    title = "多地政务大模型上线一年：咨询类问题自动解答率超过六成"
    text = (f"| {title} 去年以来，多个城市陆续在政务热线和网上服务平台中引入大模型辅助服务。"
            "以东部某省会城市为例，其政务热线于去年 11 月上线了基于大模型的智能问答系统，一年来累计接听 120 万通电话。"
            "该系统的咨询类问题自动解答率超过 60%，人工坐席的平均等待时间缩短了 35%。 |\n| 责任编辑：郑海 |")
    enr = backend.enrich(EnrichRequest(item_id=9, url="http://x.test/a", title=title, text=text, lang="zh",
                                       source="s", content_hash="h"))
    assert not enr.summary.startswith("|") and not enr.summary.startswith(title)
    assert "|" not in enr.summary and "去年以来" in enr.summary
