"""curator.text: script conversion, language detection, sentence splitting, chatter."""

from __future__ import annotations

import pytest

from curator import text as t

# --- Traditional / Simplified --------------------------------------------------------------------


def test_traditional_chars_in_mixed_string() -> None:
    found = t.traditional_chars("我幫你把這個軟件裝好了，明天見")
    assert {"幫", "這", "軟"} <= set(found)
    assert found[:3] == ["幫", "這", "個"]  # order of first appearance, no duplicates
    assert "我" not in found and "你" not in found


def test_traditional_chars_none_in_pure_simplified() -> None:
    assert t.traditional_chars("我帮你把这个软件装好了，后来的发展很快。OpenAI 发布 GPT-5。") == []
    assert not t.has_traditional("深度求索发布开源大模型，参数规模达到 6710 亿。")


@pytest.mark.parametrize("shared", ["乾坤", "於是", "著名", "瞭望", "藉口", "哪吒闹海", "周末", "台湾"])
def test_characters_shared_by_both_scripts_are_not_traditional(shared: str) -> None:
    # 於 / 藉 are standard Simplified too (surname 於, 狼藉): never reported, although t2s may still
    # prefer 于 / 借 in running text.
    assert t.traditional_chars(shared) == []
    assert not t.has_traditional(t.to_simplified(shared))


@pytest.mark.parametrize("kept", ["乾坤", "著名", "哪吒闹海", "周末", "台湾"])
def test_to_simplified_keeps_words_written_alike(kept: str) -> None:
    assert t.to_simplified(kept) == kept


def test_to_simplified_is_phrase_aware_and_verified() -> None:
    assert t.to_simplified("這次發佈的軟體工具鏈同樣開源") == "这次发布的软体工具链同样开源"
    assert t.to_simplified("瞭解後來的發展，乾淨的頭髮") == "了解后来的发展，干净的头发"
    assert t.to_simplified("") == ""
    assert t.to_simplified("English only, v3.5") == "English only, v3.5"
    mixed = "好的，我幫您整理如下：這是關於軟體的新聞"
    assert t.has_traditional(mixed)
    assert not t.has_traditional(t.to_simplified(mixed))


# --- language --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("OpenAI 在周二发布了 GPT-5，性能提升明显。", "zh"),
        ("這次發佈的軟體工具鏈同樣開源", "zh"),
        ("Nvidia reported record revenue on Tuesday. 英伟达", "en"),
        ("これは新しい言語モデルです。", "ja"),
        ("새로운 언어 모델이 공개되었습니다", "ko"),
        ("埃隆・马斯克宣布特斯拉的新计划", "zh"),  # katakana middle dot is not Japanese
        ("", "und"),
        ("  12345 !!! ", "und"),
    ],
)
def test_detect_lang(text: str, lang: str) -> None:
    assert t.detect_lang(text) == lang


def test_han_ratio() -> None:
    assert t.han_ratio("") == 0.0
    assert t.han_ratio("中文") == 1.0
    assert t.han_ratio("ab中文") == 0.5


# --- sentences -------------------------------------------------------------------------------------


def test_split_english_keeps_abbreviations_decimals_and_versions() -> None:
    text = (
        "Prices rose 3.5 percent in the U.S. Government data showed it. "
        "Big vendors, e.g. Google and Microsoft, ship Python 3.12. Next week brings v2.0.1! "
        "Is it ready? Dr. Smith thinks so."
    )
    assert t.split_sentences(text, "en") == [
        "Prices rose 3.5 percent in the U.S. Government data showed it.",
        "Big vendors, e.g. Google and Microsoft, ship Python 3.12.",
        "Next week brings v2.0.1!",
        "Is it ready?",
        "Dr. Smith thinks so.",
    ]


def test_split_english_needs_space_and_capital() -> None:
    assert t.split_sentences("See example.com for details. it continues here.", "en") == [
        "See example.com for details. it continues here."
    ]


def test_split_chinese_keeps_closing_quotes_and_handles_ellipsis() -> None:
    text = "他说：“这是第一步。”随后离开了会场。价格为3.5元！真的吗？是的……结果如何；尚不清楚"
    assert t.split_sentences(text, "zh") == [
        "他说：“这是第一步。”",
        "随后离开了会场。",
        "价格为3.5元！",
        "真的吗？",
        "是的……",
        "结果如何；",
        "尚不清楚",
    ]


def test_split_chinese_on_line_breaks_and_embedded_english() -> None:
    text = "OpenAI 发布了 GPT-4.5 模型。It is big. Really big.\n\n第二段没有句号\n「引号里的话。」后面"
    assert t.split_sentences(text, "zh") == [
        "OpenAI 发布了 GPT-4.5 模型。",
        "It is big.",
        "Really big.",
        "第二段没有句号",
        "「引号里的话。」",
        "后面",
    ]


def test_split_detects_language_when_not_given() -> None:
    assert t.split_sentences("第一句。第二句。") == ["第一句。", "第二句。"]


# --- chatter ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "好的，以下是为您整理的内容：",
        "好的，以下是為您整理的內容：",
        "好的，我帮您整理如下：",
        "好的，我幫您整理如下：",
        "以下是整理后的新闻稿。",
        "希望对您有帮助！",
        "希望對您有幫助！",
        "希望这些信息对你有所帮助。",
        "如有其他问题，欢迎随时提问。",
        "如有其他問題，歡迎隨時提問。",
        "作为一个AI，我无法浏览网页。",
        "作為一個AI語言模型，我沒有個人觀點。",
        "总结如下：",
        "（注：本文已根据原文改写，删去了广告内容）",
        "（註：以上內容經過改寫）",
        "Sure, here is the rewritten summary:",
        "Certainly! Here's a concise version.",
        "Here is the rewritten article:",
        "Here's a summary of the key points:",
        "我已经为您整理好了这篇文章的要点。",
        "I hope this helps!",
        "As an AI language model, I cannot browse the web.",
        "点击查看原文",
        "點擊閱讀原文",
        "责任编辑：王小明",
        "（責任編輯：王小明）",
        "本文来源：机器之心",
        "版权所有，未经授权不得转载。",
        "扫码关注我们的公众号",
        "阅读原文",
        "Subscribe to our newsletter for weekly updates.",
        "© 2024 Example Media. All rights reserved.",
    ],
)
def test_is_chatter_true(sentence: str) -> None:
    assert t.is_chatter(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "好的产品需要长时间打磨。",
        "注意到这一点的开发者并不多。",
        "OpenAI 在周二发布了 GPT-5，性能提升 12%。",
        "作为一个AI创业公司，它在两年内完成了三轮融资。",
        "As an AI company, Anthropic focuses on safety research.",
        "法院认定版权所有人为该出版社。",
        "Here is how the new scheduler works in Linux 6.8.",
        "研究人员把结果总结为三点。",
        "苹果的新功能可以帮你总结通知内容。",
        "Here's a brief look at what changed in Linux 6.8.",
        "",
    ],
)
def test_is_chatter_false(sentence: str) -> None:
    assert not t.is_chatter(sentence)


def test_strip_chatter_removes_sentences_and_keeps_content() -> None:
    text = (
        "好的，我幫您整理如下：\n"
        "DeepSeek 发布了新模型。希望对您有帮助！\n"
        "An English line stays. I hope this helps!\n"
        "点击查看原文"
    )
    cleaned, removed = t.strip_chatter(text)
    assert cleaned == "DeepSeek 发布了新模型。\nAn English line stays."
    assert removed == ["好的，我幫您整理如下：", "希望对您有帮助！", "I hope this helps!", "点击查看原文"]


def test_strip_chatter_keeps_content_after_a_chatter_head() -> None:
    cleaned, removed = t.strip_chatter("好的，以下是整理：OpenAI 发布了新模型。")
    assert cleaned == "OpenAI 发布了新模型。"
    assert removed == ["好的，以下是整理："]


def test_strip_chatter_leaves_clean_text_untouched() -> None:
    text = "第一段。  第二句保留原样。\n\n  Indented English line. Another one."
    assert t.strip_chatter(text) == (text, [])


# --- matching helpers ------------------------------------------------------------------------------


def test_normalise_for_match() -> None:
    assert (
        t.normalise_for_match("ＧＰＴ－５  發佈，參數 ６７１０ 億") == "gpt-5 发布,参数 6710 亿"
    )  # NFKC folds full-width punctuation too
    assert t.normalise_for_match("  OpenAI\n\tRaises $6.6B ") == "openai raises $6.6b"


def test_truncate() -> None:
    assert t.truncate("short", 10) == "short"
    assert t.truncate("一二三四五六七八九十", 5) == "一二三四…"
    cut = t.truncate("the quick brown fox jumps over the lazy dog", 20)
    assert cut == "the quick brown fox…" and len(cut) <= 20
    assert len(t.truncate("x" * 50, 10, marker="[…]")) == 10


@pytest.mark.parametrize(
    ("sentence", "chatter"),
    [("来源：新华社", True), ("（来源：IT之家）", True), ("编辑：张三", True),
     ("来源正文里藏着给模型的指令。", False), ("来源不明的文件被公开", False), ("编辑器 VS Code 发布新版", False)],
)
def test_credit_lines_need_their_colon(sentence, chatter):
    assert t.is_chatter(sentence) is chatter
