"""The search index's tokens for text jieba has nothing to segment (English, code, accents) come from one
regex instead of jieba's character walk, and must be exactly jieba's: checked against jieba itself."""

from __future__ import annotations

import random
import re
import string

import pytest

from curator import search, segment

# Characters an English or European page carries beside ASCII, and a few that are Han but not jieba's.
EXTRA = "éüßжЖ€’—“”…·•®™ａｒ²①アイ한ⅷ\u00a0\u3000\u2009\u9fd6\u3400"
TEXTS = [
    "Rust 1.83 released: const generics, async closures & more",
    "Why C++ and c# still matter (and what AT&T had to do with it)",
    "snake_case vs camelCase — a 3.5-minute read’s worth of opinions…",
    "Café au lait, Straße, Жизнь: non-ASCII letters stay words",
    "ＲＵＳＴ full-width letters fold first",
    "c+d is not c++, c#m is not c#",
    "   \t  ",
    "",
]


def _jieba(text: str, search_mode: bool) -> list[str]:
    jieba = segment.jieba()
    folded = search.fold(text)
    cut = jieba.cut_for_search(folded, HMM=False) if search_mode else jieba.cut(folded, HMM=False)
    return [t.strip() for t in cut if search._WORD.search(t)]


def test_jiebas_dictionary_has_no_other_words_without_its_han() -> None:
    """The shortcut is exact only while jieba's own words outside U+4E00-U+9FD5 are these (a jieba upgrade
    that adds one must fail here, not silently change what search finds)."""
    han = re.compile("[\u4e00-\u9fd5]")
    freq = segment.jieba().dt.FREQ
    assert sorted(k for k, n in freq.items() if n and not han.search(k)) == sorted(["AT&T", "c#", "C#", "c++", "C++"])


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("search_mode", [True, False])
def test_plain_text_tokens_are_jiebas(text: str, search_mode: bool) -> None:
    assert search._tokens(text, search_mode=search_mode) == _jieba(text, search_mode)


def test_random_text_tokens_are_jiebas() -> None:
    rnd = random.Random(15)
    alphabet = string.printable + EXTRA
    texts = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 80))) for _ in range(3000)]
    shortcut = [t for t in texts if search._jieba_free(search.fold(t))]
    assert len(shortcut) > 2000  # the shortcut was really taken
    assert [search._tokens(t, search_mode=True) for t in shortcut] == [_jieba(t, True) for t in shortcut]


def test_chinese_text_still_goes_to_jieba() -> None:
    text = "大模型推理框架 vLLM 发布 0.6 版"
    assert not search._jieba_free(search.fold(text))
    tokens = search._tokens(text, search_mode=True)
    assert tokens == _jieba(text, True) and "模型" in tokens and "vllm" in tokens
