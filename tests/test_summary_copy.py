"""Summaries an editor can publish (offline backend): no title repeat, no chrome, no Markdown or
scaffolding, no citation markers, whole sentences, topics of multi-topic documents; not-article pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from curator.enrich import cleanup
from curator.enrich.offline import OfflineBackend
from curator.enrich.stage import article_text
from curator.errors import LLMError
from curator.models import EnrichRequest
from curator.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]

VIDEO_TITLE = "【人工智能】OpenAI提案矛头直指DeepSeek | 锁死全球AI发展 | 指责DeepSeek有害 | 加强出口管制 | 两类市场和三级国家 | 美国AI行动计划"
# LLM-written video notes: player notice, counts, the title again, bold labels, glued bullets, [n].
VIDEO_NOTES = f"""如果播放没有很快开始，请尝试重启您的设备。
28.1万次观看 · 2025年3月15日
{VIDEO_TITLE}
**：**标题：OpenAI提案解读
## 引言：
本期视频解读了 OpenAI 向美国白宫科技政策办公室提交的一份政策提案，提案把矛头直接指向了 DeepSeek[1]。
## 核心观点：
*   **蒸馏技术*   OpenAI 声称 DeepSeek 通过蒸馏技术从更大的模型中学习，训练成本只有美国同类模型的二十分之一[2]。
*   **出口管制*   提案建议把全球国家分为三级，对第二级和第三级国家加强芯片出口管制；
*   **市场划分*   提案还把市场分为两类，要求盟友禁止使用来自中国的模型[12]。
总结：这份提案一旦被采纳，将会深刻影响全球人工智能的发展格局。
好的，希望以上内容对您有帮助！
"""

MINUTES_TITLE = "人工智能治理工作组第七次会议纪要"
MINUTES = f"""{MINUTES_TITLE}
会议于11月20日在线上召开，共有来自十二家机构的三十位成员参加，由秘书处主持。
一、开源模型的安全评估
与会成员讨论了开源大模型发布前的安全评估流程，建议参照红队测试的做法建立统一清单。
多家机构表示愿意共享评测数据集，并在下次会议前提交初稿。
二、算力资源的共享机制
工作组听取了国家超算中心关于算力共享平台建设进展的汇报，平台预计明年第一季度上线。
成员建议对高校和初创企业给予优先排期，并公开资源分配规则。
三、数据跨境流动规则
与会专家介绍了数据出境安全评估的最新要求，讨论了训练数据跨境使用中的合规难点。
四、下一步工作安排
秘书处将在两周内汇总各方意见，形成书面建议提交主管部门。
"""

REPOST = """据海外媒体报道，美国的数据中心耗电量在过去五年增长了三倍，已经达到中国的5倍[1]。
分析人士认为，人工智能训练需求是耗电量增长的主要原因[2][3]，这一趋势还将持续。
多家电力公司表示，正在加快建设新的输电线路以满足数据中心的需求【4】。
"""

CHROME_PAGE = """28.1万次观看 · 2025年3月15日31.8万次观看【人工智能】Claude 4指日可待 | 推理能力 | 编程能力 | 智能体
接下来播放
【人工智能】GPT-5即将发布 | 性能对比 | 价格 | 上线时间
12万次观看 · 3天前
【科技】苹果发布新款MacBook | M4芯片 | 续航 | 价格
如果播放没有很快开始，请尝试重启您的设备。
"""


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(ROOT)


@pytest.fixture(scope="module")
def backend(settings: Settings) -> OfflineBackend:
    return OfflineBackend(settings)


def _enrich(backend: OfflineBackend, title: str, text: str):  # type: ignore[no-untyped-def]
    return backend.enrich(EnrichRequest(item_id=1, url="https://example.com/a", title=title, text=text,
                                        lang="zh", source="test"))


_RESIDUE = re.compile(r"\*\*|(?<!\w)\*\s|^#|标题[:：]|引言[:：]|核心观点[:：]|总结[:：]|\[\d+\]|【\d+】")


def test_video_notes_summary_is_clean_prose(backend: OfflineBackend) -> None:
    enr = _enrich(backend, VIDEO_TITLE, VIDEO_NOTES)
    assert enr.title == "OpenAI提案矛头直指DeepSeek"
    s = enr.summary
    assert not _RESIDUE.search(s), s
    assert not s.startswith(("如果播放", "28.1万")), s
    assert "次观看" not in s and "希望" not in s
    assert "OpenAI提案矛头直指DeepSeek" not in s  # the title is not repeated
    assert s.endswith("。") and not re.search(r"[；，、：]$", s)
    assert "DeepSeek" in s  # what the notes say is there


def test_summary_never_ends_on_a_semicolon(backend: OfflineBackend) -> None:
    text = "第一家公司宣布降价百分之三十；\n第二家公司随后跟进，把旗舰模型的价格下调了一半；\n行业人士认为价格战会持续到明年；"
    enr = _enrich(backend, "大模型价格战再起", text)
    assert enr.summary.endswith("。"), enr.summary
    assert "；" not in enr.summary[-1:]


def test_repost_citation_markers_removed(backend: OfflineBackend) -> None:
    enr = _enrich(backend, "美国数据中心耗电量达到中国的5倍", REPOST)
    assert not re.search(r"\[\d+\]|【\d+】", enr.summary), enr.summary
    assert "5倍" in enr.summary or "三倍" in enr.summary


def test_meeting_minutes_summary_names_the_topics(backend: OfflineBackend) -> None:
    enr = _enrich(backend, MINUTES_TITLE, MINUTES)
    s = enr.summary
    for topic in ("开源模型的安全评估", "算力资源的共享机制", "数据跨境流动规则"):
        assert topic in s, s
    assert MINUTES_TITLE not in s
    assert not re.search(r"[一二三四]、", s)  # numbering is not glued onto prose
    assert s.endswith("。")


def test_chrome_only_page_is_not_an_article(backend: OfflineBackend) -> None:
    with pytest.raises(LLMError) as exc:
        _enrich(backend, "【人工智能】Claude 4指日可待 | 推理能力 | 编程能力", CHROME_PAGE)
    assert exc.value.reason == "not_article"


def test_chrome_only_page_uses_its_description_or_nothing() -> None:
    desc = "Anthropic 即将发布 Claude 4，本期视频介绍了新模型在推理和编程上的改进。"
    assert article_text(CHROME_PAGE, "Claude 4指日可待", desc) == desc
    assert article_text(CHROME_PAGE, "Claude 4指日可待", None) == ""
    assert article_text(CHROME_PAGE, "Claude 4指日可待", "12万次观看 · 3天前") == ""
    # An article keeps its own text.
    assert article_text(REPOST, "耗电量", desc) == REPOST


def test_short_real_article_is_not_taken_for_chrome() -> None:
    text = "小米今天发布了澎湃OS 3，首批支持十款机型。"
    clean = cleanup.clean_for_summary(text, "小米发布澎湃OS 3")
    assert not cleanup.is_not_article(clean, "zh")


def test_a_date_that_starts_a_sentence_is_kept() -> None:
    text = "2025年3月15日，OpenAI 向白宫提交了一份政策提案。"
    assert cleanup.clean_for_summary(text).text == text


def test_markdown_links_and_emphasis_keep_their_words() -> None:
    got = cleanup.strip_markdown("> **重点**：详见 [官方博客](https://example.com/a) 和 `pip install x`")
    assert got == "重点：详见 官方博客 和 pip install x"


def test_other_platforms_chrome_is_taken_off() -> None:
    text = ("播放量 12.3万 · 弹幕 345 · 2026-11-25 12:00:01\nStreamed live on Nov 25, 2026\n"
            "1.2M views · 3 days ago\n显示转写文稿\n相关视频\n"
            "November 25, 2026, OpenAI released a new model.\n据报道，耗电量达到中国的5倍[注1]。")
    got = cleanup.clean_for_summary(text).text
    assert got == "November 25, 2026, OpenAI released a new model.\n据报道，耗电量达到中国的5倍。"


def test_a_line_introducing_a_list_is_not_the_summary(backend: OfflineBackend) -> None:
    text = ("新版本的主要变化如下：\n编译速度比上一版提升了一倍，增量构建只需要原来三分之一的时间。\n"
            "新的借用检查器能发现更多错误，并给出更清楚的修复建议。\n")
    enr = _enrich(backend, "Rust 新版本发布", text)
    assert "如下" not in enr.summary, enr.summary
    assert enr.summary.startswith("编译速度")


def test_creator_signoffs_are_chrome() -> None:
    for line in ("感谢观看，别忘了点赞订阅！", "Thanks for watching! Don't forget to like and subscribe.", "记得一键三连哦"):
        assert cleanup.is_chrome(line), line
    assert not cleanup.is_chrome("观看人数比去年增长了三成，订阅用户达到两千万。")


def test_minutes_with_agenda_labels_and_a_digest(backend: OfflineBackend) -> None:
    minutes = ("开源社区月度例会纪要（2026年11月）\n时间：2026年11月21日 14:00\n参会人：张三、李四、王五等 18 人\n"
               "议题一：新版本发布计划\n社区决定在 12 月中旬发布 3.0 版本，冻结期从 12 月 1 日开始。\n"
               "议题二：贡献者激励方案\n会议讨论了贡献者积分制度，决定每季度评选十位优秀贡献者。\n"
               "议题三：安全漏洞响应流程\n安全小组介绍了新的漏洞响应流程，要求在 72 小时内给出初步评估。\n"
               "其他事项\n下次例会定于 12 月 19 日举行。\n")
    s = _enrich(backend, "开源社区月度例会纪要（2026年11月）", minutes).summary
    assert "新版本发布计划、贡献者激励方案和安全漏洞响应流程" in s, s
    assert "议题一" not in s and "其他事项" not in s
    digest = ("本周 AI 领域有不少新动态。\nOpenAI 发布 GPT-5.5\nOpenAI 周二发布了 GPT-5.5，推理速度比上一代快一倍，价格下调三成。\n"
              "谷歌开源 Gemma 4\n谷歌开源了 Gemma 4 系列模型，最小的版本只有 10 亿参数，可以在手机上运行。\n"
              "英伟达财报超预期\n英伟达三季度营收达到 570 亿美元，同比增长 62%。\n")
    s = _enrich(backend, "AI 周报第 42 期", digest).summary
    for topic in ("OpenAI 发布 GPT-5.5", "谷歌开源 Gemma 4", "英伟达财报超预期"):
        assert topic in s, s
