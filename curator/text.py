"""Text-language utilities shared by enrichment, composing and linting: script, sentences, chatter.

Everything here is pure and deterministic. The OpenCC converter and its character table are loaded
lazily on first use, so importing this module costs nothing.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import unicodedata
import zlib
from pathlib import Path
from typing import Any

__all__ = [
    "CHATTER",
    "HAN",
    "HAN_RE",
    "detect_lang",
    "han_ratio",
    "has_traditional",
    "is_chatter",
    "normalise_for_match",
    "split_sentences",
    "strip_chatter",
    "to_simplified",
    "traditional_chars",
    "truncate",
]

# --- scripts -----------------------------------------------------------------------------------

# Han ideographs, for a regex character class: CJK Unified (with Extension A), Compatibility, and the
# supplementary Extensions B-F (U+20000-U+2FFFF). The one Han range of the code base.
HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
HAN_RE = re.compile(f"[{HAN}]")
# Kana without U+30FB/U+30FC: the middle dot and long-vowel mark also appear in Chinese text
# ("埃隆・马斯克"), so they must not make a Chinese article look Japanese.
_KANA_RE = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u31f0-\u31ff\uff66-\uff9d]")
_HANGUL_RE = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z\u00c0-\u024f]+(?:['’][A-Za-z]+)?")


def han_ratio(text: str) -> float:
    """Share of Han characters among the letters of `text` (0.0 when it has no letters)."""
    letters = sum(1 for ch in text if ch.isalpha())
    return len(HAN_RE.findall(text)) / letters if letters else 0.0


def detect_lang(text: str, undetermined: str = "und") -> str:
    """ "zh", "ja" (kana), "ko" (hangul), "en" (Latin script), or `undetermined` (empty / other
    scripts; extraction passes "en", a page of no known script being read as English). The one
    language detector: extraction, enrichment, sentence splitting and the watch source use it.

    A Latin word counts as two units against single Han characters: an English word carries about
    as much as two characters, and Chinese tech prose is full of product names ("OpenAI 发布 GPT-5").
    """
    han = len(HAN_RE.findall(text))
    kana = len(_KANA_RE.findall(text))
    hangul = len(_HANGUL_RE.findall(text))
    latin = 2 * len(_LATIN_WORD_RE.findall(text))
    total = han + kana + hangul + latin
    if total == 0:
        return undetermined
    if kana >= 2 and kana >= 0.1 * (han + kana) and (han + kana) / total >= 0.3:
        return "ja"
    if hangul / total >= 0.3 and hangul >= han:
        return "ko"
    if han / total >= 0.3:
        return "zh"
    if latin:
        return "en"
    return undetermined


# --- Traditional → Simplified ------------------------------------------------------------------

_lock = threading.Lock()


@functools.cache
def _converter() -> Any:
    import opencc  # opencc-python-reimplemented; loads its dictionaries on first convert

    with _lock:
        conv = opencc.OpenCC("t2s")
        conv.convert("")  # build the dictionaries now, under the lock
    return conv


# Tables derived from OpenCC's dictionaries (their pure-Python build costs ~25 ms of every draft and lint):
# a copy ships in opencc_tables.json, used while the installed dictionaries are the ones it was derived
# from (else each table is derived as below). `python tools/opencc_tables.py` writes it again; a test
# holds it equal to a fresh derivation.
TABLES_FILE = Path(__file__).with_name("opencc_tables.json")
_TABLE_SOURCES = ("dictionary/STCharacters.txt", "dictionary/TSCharacters.txt", "dictionary/TSPhrases.txt",
                  "dictionary/TWPhrases.txt", "dictionary/TWPhrasesRev.txt", "config/t2s.json")


def _opencc_dir() -> Path:
    import opencc

    return Path(opencc.__file__).parent


def opencc_fingerprint() -> dict[str, str]:
    """Size and CRC-32 of each OpenCC file the tables are derived from."""
    folder = _opencc_dir()
    out = {}
    for name in _TABLE_SOURCES:
        data = (folder / name).read_bytes()
        out[name] = f"{len(data)}:{zlib.crc32(data):08x}"
    return out


@functools.cache
def shipped_tables() -> dict[str, Any]:
    """The shipped tables, or {} when they are missing or were derived from other dictionaries."""
    try:
        data = json.loads(TABLES_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("fingerprint") == opencc_fingerprint() else {}


@functools.cache
def _traditional_table() -> dict[str, str]:
    shipped = shipped_tables().get("traditional")
    return dict(shipped) if shipped is not None else derive_traditional_table()


def derive_traditional_table() -> dict[str, str]:
    """Traditional-only character → its first Simplified candidate.

    From OpenCC's TSCharacters, minus characters that are also standard Simplified: those that
    list themselves as a candidate (乾 → "干 乾", 於 → "于 於", 瞭, 藉, 夥 …) and those that are
    themselves keys of STCharacters. So 乾坤 or 於 (a surname) never count as Traditional.
    """
    folder = _opencc_dir() / "dictionary"
    simplified = set(read_opencc_dict(folder / "STCharacters.txt"))
    table = {}
    for key, candidates in read_opencc_dict(folder / "TSCharacters.txt").items():
        if len(key) == 1 and key not in candidates and key not in simplified:
            table[key] = candidates[0]
    return table


def read_opencc_dict(path: Path) -> dict[str, list[str]]:
    """An OpenCC dictionary file: `key<TAB>candidate candidate …` per line."""
    out = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            key, _, value = line.rstrip("\n").partition("\t")
            if key and value:
                out[key] = value.split()
    return out


@functools.cache
def _kept_phrases() -> tuple[str, ...]:
    """Simplified phrases OpenCC keeps although they hold a Traditional-only character (哪吒, 毕昇)."""
    table = _traditional_table()
    phrases = read_opencc_dict(_opencc_dir() / "dictionary" / "TSPhrases.txt")
    kept = {v[0] for v in phrases.values() if any(ch in table for ch in v[0])}
    return tuple(sorted(kept, key=lambda p: (-len(p), p)))


@functools.cache
def _changeable() -> frozenset[str]:
    shipped = shipped_tables().get("changeable")
    return frozenset(shipped) if shipped is not None else derive_changeable()


def derive_changeable() -> frozenset[str]:
    """Every character t2s could change: the keys of TSCharacters, and the characters of each TSPhrases
    entry that differs from its key. A text holding none of them comes out of t2s as it went in."""
    folder = _opencc_dir() / "dictionary"
    out = set(read_opencc_dict(folder / "TSCharacters.txt"))
    for key, values in read_opencc_dict(folder / "TSPhrases.txt").items():
        if values[0] != key:
            out.update(key if len(key) != len(values[0]) else (a for a, b in zip(key, values[0], strict=True) if a != b))
    return frozenset(out)


def to_simplified(text: str) -> str:
    """OpenCC t2s: phrase-aware Traditional → Simplified (瞭解 → 了解, but 乾坤 stays)."""
    if not text or not HAN_RE.search(text) or _changeable().isdisjoint(text):
        return text  # the pure-Python converter costs ~1 ms a sentence; most Simplified text needs none
    return str(_converter().convert(text))


def traditional_chars(text: str) -> list[str]:
    """Characters t2s would change, in order of first appearance. Characters shared by both
    scripts (乾, 於, 著 …) and names OpenCC keeps (哪吒) are not reported."""
    table = _traditional_table()
    if not any(ch in table for ch in text):
        return []
    for phrase in _kept_phrases():
        if phrase in text:
            text = text.replace(phrase, " " * len(phrase))
    seen: dict[str, None] = {}
    for ch in text:
        if ch in table:
            seen.setdefault(ch)
    return list(seen)


def has_traditional(text: str) -> bool:
    return bool(traditional_chars(text))


def normalise_for_match(text: str) -> str:
    """Canonical form for comparing facts: NFKC (full-width digits/letters → ASCII), Simplified,
    lower-case, whitespace collapsed to single spaces."""
    text = to_simplified(unicodedata.normalize("NFKC", text))
    return re.sub(r"\s+", " ", text.lower()).strip()


def truncate(text: str, max_chars: int, marker: str = "…") -> str:
    """At most `max_chars` characters including `marker`, not cutting a Latin word in half."""
    text = text.strip()
    if len(text) <= max_chars:
        return text
    if max_chars <= len(marker):
        return marker[:max_chars]
    cut = text[: max_chars - len(marker)]
    if cut[-1].isascii() and cut[-1].isalnum() and text[len(cut)].isascii() and text[len(cut)].isalnum():
        space = cut.rfind(" ")
        if space > len(cut) * 0.6:
            cut = cut[:space]
    return cut.rstrip(" ,;:-，、；：") + marker


# --- sentences ---------------------------------------------------------------------------------

_CLOSERS = "”’」』）)]】》〉\"'"
# A Chinese sentence ends at 。！？； or an ellipsis, with any closing quotes/brackets kept; an
# ASCII ! or ? ends one too unless Latin text follows directly ("Yahoo!Japan").
_ZH_END = re.compile(rf"(?:[。！？；]+|…+|\.{{3,}}|[!?]+(?![A-Za-z0-9]))[{re.escape(_CLOSERS)}]*")
_EN_END = re.compile(rf"[.!?…]+[{re.escape(_CLOSERS)}]*(?=\s+[\"“‘(\[]?[A-Z{HAN}])")
# Abbreviations after which a period does not end a sentence even before a capital.
# fmt: off
_ABBREVIATIONS = frozenset((
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "mt", "ft", "gen", "col", "lt", "sgt",
    "rep", "sen", "gov", "no", "nos", "fig", "figs", "approx", "est", "dept", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
))
# fmt: on
_INITIALISM = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$|^[A-Z]$")  # e.g / i.e / U.S / J (initial)


def _en_ends(line: str, start: int, end: int) -> list[int]:
    """Offsets just after each English sentence end in line[start:end]."""
    ends = []
    for m in _EN_END.finditer(line, start, end):
        word = re.search(r"[^\s(\[\"“‘]*$", line[start : m.start()])
        token = word.group(0) if word else ""
        if m.group(0).startswith(".") and (token.lower() in _ABBREVIATIONS or _INITIALISM.match(token)):
            continue
        ends.append(m.end())
    return ends


def _line_spans(line: str, cjk: bool) -> list[tuple[int, int]]:
    """(start, end) of each sentence in one line, whitespace trimmed."""
    cuts: list[int] = []
    if cjk:
        for m in _ZH_END.finditer(line):
            cuts.append(m.end())
    segments, prev = [], 0
    for cut in [*cuts, len(line)]:
        segments.append((prev, cut))
        prev = cut
    spans = []
    for a, b in segments:
        # English sentences inside a segment (Latin prose quoted in Chinese, or English text).
        prev = a
        for cut in [*_en_ends(line, a, b), b]:
            s, e = prev, cut
            while s < e and line[s].isspace():
                s += 1
            while e > s and line[e - 1].isspace():
                e -= 1
            if s < e:
                spans.append((s, e))
            prev = cut
    return spans


def _is_cjk(lang: str | None, text: str) -> bool:
    lang = (lang or detect_lang(text)).lower()
    return lang.startswith(("zh", "ja", "ko"))


def split_sentences(text: str, lang: str | None = None) -> list[str]:
    """Sentences of `text`; every line break ends one. `lang` ("zh", "en" …) picks the rules,
    detected from the text when None.

    Chinese: on 。！？； and ellipses, closing quotes staying with their sentence; English sentences
    embedded in Chinese are split too. English: on . ! ? followed by a space and a capital, not after
    abbreviations ("e.g.", "U.S.", "Dr."); decimals and versions ("3.5") never split.
    """
    cjk = _is_cjk(lang, text)
    out: list[str] = []
    for line in text.splitlines():
        out.extend(line[a:b] for a, b in _line_spans(line, cjk))
    return out


# --- chatter and boilerplate -------------------------------------------------------------------

# Patterns over the *bare* form of a sentence: Simplified, NFKC, lower-case, with every whitespace
# and punctuation character removed ("好的，我幫您整理如下：" → "好的我帮您整理如下").
_BARE_PATTERNS = [
    # Chinese assistant chatter
    r"^(好的|好吧|当然|当然可以|没问题|可以的)(以下|下面|这是|这里是|我(来|将|已|会|帮|为|给)|为您|为你|给您|给你)",
    r"以下(是|为)(为您|为你|给您|给你|您要的|你要的|我)?(整理|改写|总结|归纳|摘要|翻译|润色|重写|生成|提炼)",
    # first person only: "可以帮你总结通知" describes a product feature, not an assistant
    r"(^|我|我们)(已经?|来|将|会|先)?(帮|为|给)(您|你)(整理|改写|总结|归纳|翻译|润色|重写|生成|提炼)",
    r"(整理|改写|总结|归纳|摘要|润色|翻译|重写)如下",
    r"希望(以上|这些|这篇|本文|我的)?(内容|信息|回答|总结|整理|解答)?(能|能够|可以)?(对|给|为)(您|你)(有|带来)(所)?帮助",
    r"如(有|果有|果您有|果你有|您有|你有|还有|您还有|你还有)(其他|任何|更多|进一步|别的)的?(问题|疑问|需要|需求)",
    r"如需(进一步|其他|更多)的?(修改|调整|帮助|信息)",
    r"(作为|我是)一?(个|名)?(ai|人工智能)(语言)?(模型|助手|程序)?(我|无法|不能|没有|并不|不具备)",
    r"(作为|我是)一?(个|名)?(ai|人工智能|大型)?(语言模型|ai助手|人工智能助手)",
    r"^以上(就是|是|为|便是)(本文|全文|文章|改写|整理|总结|摘要|翻译|我|为您|为你|对)",
    # English assistant chatter
    r"^(sure|certainly|of ?course|absolutely|okay|ok|great)(here|ill|iwill|ican|ive|ihave|thisis|belowis)",
    (
        r"^here(is|are|s)(the|a|an|your|my)?((rewritten|revised|edited|cleaned|translated|condensed|"
        r"requested|updated|concise|brief|short)+(summary|version|rewrite|translation|text|article|draft)|"
        r"(summary|rewrite|translation))"
    ),
    r"ihopethishelps|hopethishelps",
    r"asan?ailanguagemodel|asa(large)?languagemodel|^asanai(assistant|model)?i(cannot|cant|dont|donot|am|m|have)",
    r"^(letmeknowif|feelfreeto(ask|reachout|letmeknow))",
    # Page boilerplate (Chinese)
    r"点击(查看|阅读)原文|^阅读原文|^责任编辑|本文来源",
    r"版权所有(?!人|者|权)|扫码关注|长按(识别)?二维码|关注(我们的?)?公众号|点击上方蓝字",
    r"未经(授权|许可|允许)(不得|禁止|严禁)(转载|使用)|转载请注明|本文(首发|转载)(于|自)|^原标题",
    # Page boilerplate (English)
    r"(subscribe|signup)to(our|the)newsletter|allrightsreserved|^copyright\d{4}|^clickheretoread",
    r"^(readmore|relatedarticles|advertisement|sharethis(article|story)?|followuson)$",
    r"(thisarticle|thisstory|itwas)(was)?originally(appeared|published)",
]
# Patterns over the *light* form (Simplified, NFKC, lower-case, spaces collapsed): notes about the
# rewrite need their colon to be told apart from prose starting with 注意/注册 …
_LIGHT_PATTERNS = [
    r"^[(\[【]?\s*(注|备注|说明|note)\s*[:：].{0,80}(改写|润色|翻译|整理|删减|调整|生成|原文|rewrit|summar|translat)",
    r"^©",
    # "来源：新华社" / "编辑：张三" credit lines (the colon tells them from prose starting with 来源/编辑)
    r"^[(\[（【]?\s*(来源|编辑|作者|图片来源)\s*[:：]\s*\S{1,24}\s*[)\]）】]?$",
]

CHATTER: tuple[re.Pattern[str], ...] = tuple(re.compile(p) for p in _BARE_PATTERNS)
_CHATTER_LIGHT: tuple[re.Pattern[str], ...] = tuple(re.compile(p) for p in _LIGHT_PATTERNS)


def _light(sentence: str) -> str:
    return normalise_for_match(sentence)


class _BareTable(dict[int, int | None]):
    """str.translate table dropping spaces, punctuation and symbols, filled as characters are met."""

    def __missing__(self, code: int) -> int | None:
        ch = chr(code)
        self[code] = None if ch.isspace() or unicodedata.category(ch)[0] in "PS" else code
        return self[code]


_BARE = _BareTable()


def _bare(light: str) -> str:
    return light.translate(_BARE)  # one C pass, not a generator per character (is_chatter runs per sentence)


def is_chatter(sentence: str) -> bool:
    """True for assistant chatter ("好的，以下是…", "I hope this helps") or page boilerplate
    ("点击查看原文", "All rights reserved"), in Simplified or Traditional script."""
    light = _light(sentence)
    if any(p.search(light) for p in _CHATTER_LIGHT):
        return True
    bare = _bare(light)
    return bool(bare) and any(p.search(bare) for p in CHATTER)


def _split_chatter_head(sentence: str) -> str | None:
    """For "好的，以下是整理：正文……", the part after the chatter head, else None."""
    m = re.search(r"[:：]", sentence)
    if not m:
        return None
    head, tail = sentence[: m.end()], sentence[m.end() :].strip()
    if tail and is_chatter(head) and not is_chatter(tail):
        return tail
    return None


def strip_chatter(text: str) -> tuple[str, list[str]]:
    """`text` without chatter/boilerplate sentences, and the sentences removed.

    Lines without chatter are kept byte for byte; a line that loses every sentence is dropped.
    """
    cjk = _is_cjk(None, text)
    removed: list[str] = []
    lines = []
    for line in text.splitlines():
        spans = _line_spans(line, cjk)
        kept, changed = [], False
        for a, b in spans:
            sentence = line[a:b]
            if not is_chatter(sentence):
                kept.append(sentence)
                continue
            changed = True
            tail = _split_chatter_head(sentence)
            if tail is not None:
                removed.append(sentence[: len(sentence) - len(tail)].strip())
                kept.append(tail)
            else:
                removed.append(sentence)
        if not changed:
            lines.append(line)
        elif kept:
            lines.append(_join(kept))
    return "\n".join(lines), removed


def _join(sentences: list[str]) -> str:
    out = sentences[0]
    for s in sentences[1:]:
        latin_seam = out[-1:].isascii() and s[:1].isascii()
        out += (" " if latin_seam else "") + s
    return out
