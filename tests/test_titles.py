"""Editor's headlines from raw source titles: keyword pipes, bracket tags, zh punctuation, length."""

from __future__ import annotations

import pytest

from curator.titles import MAX_ZH_CHARS, fullwidth_punct, headline


@pytest.mark.parametrize(
    ("raw", "expected", "tags"),
    [
        (
            "【人工智能】OpenAI提案矛头直指DeepSeek | 锁死全球AI发展 | 指责DeepSeek有害 | 加强出口管制 | 两类市场和三级国家 | …",
            "OpenAI提案矛头直指DeepSeek",
            ["人工智能"],
        ),
        ("【科技】【独家】英伟达新卡量产在即｜供应链｜台积电", "英伟达新卡量产在即", ["科技", "独家"]),
        ("谷歌发布 Gemini 3 丨 推理 丨 多模态 丨 价格", "谷歌发布 Gemini 3", []),
        # A short first part is the channel's name when a real headline follows.
        ("极客公园 | 小米发布自研手机芯片玄戒O1，性能对标苹果", "小米发布自研手机芯片玄戒O1，性能对标苹果", []),
        ("[Video] Claude 4 is almost here | reasoning | coding | agents", "Claude 4 is almost here", ["Video"]),
        ("No tags or pipes here at all", "No tags or pipes here at all", []),
    ],
)
def test_headline_part_of_keyword_pipe_titles(raw: str, expected: str, tags: list[str]) -> None:
    got = headline(raw)
    assert got.text == expected
    assert got.tags == tags


def test_zh_titles_get_fullwidth_punctuation() -> None:
    assert headline("欧洲人工智能,尴尬与焦虑笼罩").text == "欧洲人工智能，尴尬与焦虑笼罩"
    assert fullwidth_punct("重磅:苹果发布新品(附视频)!真的吗?") == "重磅：苹果发布新品（附视频）！真的吗？"
    # Between Latin letters and digits half-width stays.
    assert fullwidth_punct("GPT-4o: 2:1, ok (beta)") == "GPT-4o: 2:1, ok (beta)"
    assert fullwidth_punct("发布时间 10:30") == "发布时间 10:30"


def test_long_zh_title_is_cut_at_a_clause_boundary() -> None:
    raw = "阿里巴巴发布通义千问新一代旗舰模型Qwen3，在数学推理和代码生成等多个基准上超越同类开源模型"
    got = headline(raw).text
    assert got == "阿里巴巴发布通义千问新一代旗舰模型Qwen3"
    assert len(got) <= MAX_ZH_CHARS


def test_long_zh_title_without_boundary_never_cuts_a_word() -> None:
    raw = "国家发展和改革委员会联合工业和信息化部印发关于加快推动人工智能产业高质量发展若干政策措施的指导意见全文"
    got = headline(raw).text
    assert got.endswith("…")
    body = got[:-1]
    assert raw.startswith(body) and len(body) <= MAX_ZH_CHARS
    # The cut falls on a word boundary: the next characters do not continue a word of the cut.
    assert not body.endswith(("人工", "产", "高质"))


def test_a_title_that_is_only_a_tag_is_kept() -> None:
    assert headline("【快讯】").text == "【快讯】"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Claude 4 is almost here - YouTube", "Claude 4 is almost here"),
        ("OpenAI发布GPT-5_科技_新浪网", "OpenAI发布GPT-5"),
        ("【AI】小米发布澎湃OS 3_哔哩哔哩_bilibili", "小米发布澎湃OS 3"),
        ("OpenAI发布GPT-5 - 新浪科技", "OpenAI发布GPT-5"),
        ("GPT-4o - a review", "GPT-4o - a review"),  # not a site name: kept
        ("人民网", "人民网"),
    ],
)
def test_site_name_suffixes_are_dropped(raw: str, expected: str) -> None:
    assert headline(raw).text == expected
