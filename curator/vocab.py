"""Regional vocabulary: Taiwan → mainland phrases for Simplified-Chinese output (软体 → 软件, 程式 → 程序).

Character conversion (OpenCC t2s) turns 軟體 into 软体, which no mainland reader writes. The
phrase table is OpenCC's own TWPhrasesRev (the one its `tw2sp` config uses), keyed here by the
Simplified form of each phrase, and applied on jieba word boundaries so 方程式 never becomes 方程序.

Two strengths, because many Taiwan words are also everyday mainland words (资料, 执行, 核心):
- *unambiguous* phrases (rare in jieba's mainland-corpus dictionary, e.g. 软体, 演算法, 记忆体)
  are converted in any text, and are what `curator lint` flags;
- a document written in Taiwan usage (Traditional characters in the source, or any unambiguous
  Taiwan word in it) gets the whole table, as `tw2sp` would give a Traditional original
  (影片 → 视频, 资料 → 数据).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from pathlib import Path

from curator import segment
from curator import text as textutil

__all__ = ["is_taiwan_usage", "regional_words", "to_mainland"]

# jieba's dictionary counts words of a mainland corpus: a Taiwan phrase seen at most this often there
# is not mainland usage (软体 30, 晶片 31, 演算法 3; against 执行 14504, 资料 9021, 影片 2519).
MAINLAND_FREQ_MAX = 31
# Phrases of the Taiwan table that jieba's (older) corpus rarely saw but mainland writers use today:
# never converted in a Simplified source, never flagged.
MAINLAND_TOO = frozenset((
    "离线", "线上", "宕机", "进阶", "低阶", "高阶", "截图", "社群", "扩音", "堆叠", "冷盘", "计程车", "塑胶",
    "乳酪", "映象", "内建", "存档", "图示", "简报", "专案", "简讯", "脚踏车", "碟片", "乔治亚", "丛集",
    "扫描器", "互动式", "视窗", "执行长", "傅立叶", "汇出", "撷取", "模组", "全形", "回拨", "冰棒",
))
_lock = threading.Lock()


class _PhraseFinder:
    """Whether a text holds any phrase of the table as a substring: the phrases indexed by their first two
    characters (every phrase has at least two), so a text costs one dict look-up per character. (A regex
    alternation of the ~470 phrases says the same, but compiling it costs ~15 ms of every `curator lint`.)"""

    def __init__(self, phrases: Iterable[str]) -> None:
        self._by_head: dict[str, tuple[str, ...]] = {}
        for phrase in sorted(phrases, key=len, reverse=True):
            self._by_head[phrase[:2]] = (*self._by_head.get(phrase[:2], ()), phrase)

    def search(self, text: str) -> bool:
        by_head = self._by_head
        for i in range(len(text) - 1):
            found = by_head.get(text[i:i + 2])
            if found is not None and any(text.startswith(p, i) for p in found):
                return True
        return False


@functools.cache
def _phrases() -> tuple[dict[str, str], _PhraseFinder]:
    """(Simplified Taiwan phrase → mainland phrase, a finder for any of them as a substring). Neither
    needs the segmenter: a text in which no phrase occurs at all has no phrase token either, so jieba and
    its dictionary (a second of CPU) load only for the rare text that holds one (a draft's lint never)."""
    shipped = textutil.shipped_tables().get("taiwan_phrases")
    table = dict(shipped) if shipped is not None else derive_phrase_table()
    return table, _PhraseFinder(table)


def derive_phrase_table() -> dict[str, str]:
    """Simplified Taiwan phrase → mainland phrase, from OpenCC's TWPhrasesRev (what opencc_tables.json holds)."""
    import opencc

    folder = Path(opencc.__file__).parent / "dictionary"
    to_tw = textutil.read_opencc_dict(folder / "TWPhrases.txt")  # mainland → Taiwan
    to_main = textutil.read_opencc_dict(folder / "TWPhrasesRev.txt")  # Taiwan → mainland
    simp = textutil.to_simplified
    # A phrase that is itself the mainland form of something (程序, TW for "process") never converts.
    mainland = {simp(k) for k in to_tw} | {simp(v) for vs in to_main.values() for v in vs}
    table = {}
    for key, values in to_main.items():
        src, dst = simp(key), simp(values[0])
        if len(src) >= 2 and src != dst and src not in mainland:
            table[src] = dst
    return table


@functools.cache
def _tables() -> tuple[dict[str, str], frozenset[str]]:
    """(Simplified Taiwan phrase → mainland phrase, the unambiguous keys)."""
    table = _phrases()[0]
    jieba = segment.jieba()
    freq = jieba.dt.FREQ
    unambiguous = frozenset(k for k in table if (freq.get(k) or 0) <= MAINLAND_FREQ_MAX and k not in MAINLAND_TOO)
    with _lock:
        for key in table:
            # Known to the segmenter as words, so 记忆体 is one token, not 记忆 + 体.
            if not freq.get(key):
                jieba.add_word(key, freq=200)  # enough to be one token, far below everyday words
    return table, unambiguous


def _tokens(text: str) -> list[str]:
    _tables()
    return list(segment.jieba().cut(text, HMM=False))


def regional_words(text: str) -> list[str]:
    """Unambiguous Taiwan words in `text` (Simplified script), in order of first appearance."""
    if not text:
        return []
    simple = textutil.to_simplified(text)
    if not _phrases()[1].search(simple):
        return []  # no phrase of the table in it: no word of it either
    unambiguous = _tables()[1]
    seen: dict[str, None] = {}
    for tok in _tokens(simple):
        if tok in unambiguous:
            seen.setdefault(tok)
    return list(seen)


def is_taiwan_usage(source: str) -> bool:
    """Whether a source text is written in Taiwan usage: Traditional characters, or a Taiwan word."""
    return textutil.has_traditional(source) or bool(regional_words(source))


def mainland_form(word: str) -> str:
    return _phrases()[0].get(word, word)


def to_mainland(text: str, *, taiwan: bool = False) -> str:
    """`text` in Simplified script with mainland vocabulary: unambiguous Taiwan words always, the
    whole table when `taiwan` (the source is written in Taiwan usage)."""
    if not text or not textutil.han_ratio(text):
        return text
    simple = textutil.to_simplified(text)
    if not _phrases()[1].search(simple):
        return simple  # the tokens of a text holding no phrase of the table are kept as they are
    table, unambiguous = _tables()
    out = []
    for tok in _tokens(simple):
        if tok in table and (taiwan or tok in unambiguous):
            out.append(table[tok])
        else:
            out.append(tok)
    return "".join(out)
