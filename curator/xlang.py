"""Cross-language evidence for clustering: a Chinese and an English report of the same event.

Shingles and vocabulary cannot match across languages, but reports of one event keep three things
a reader can check in either language:

* **quantities**, once normalised: `66亿美元` and `$6.6 billion` are both 6.6e9, `1.5 倍` and `1.5x`
  are 1.5x, `38%` and `38 percent` are 38%, `96GB` and `96 GB` are 96gb;
* **named entities in Latin script** (`OpenAI`, `DeepSeek-V3`, `H30`, `HBM3E`): Chinese reports keep
  product, company and many person names in Latin letters;
* **outbound links**: both cite the same original (a paper, a press release, a repository).

Each kind of evidence alone is weak: two reports on one company share its name and its products,
two stories of a season share background figures. `compare` therefore asks for several kinds at
once and always a concrete one (shared figures or a shared link); names only ever support. See
`compare` for the three combinations that make one story.
Titles add two checks: the headlines name the same figure or product (evidence), or the same
product family in different versions (`DeepSeek-V3` / `DeepSeek-R1`: a guard, another release).
With an LLM, triage translates a Chinese headline (`title_en`): a translation that says what the
English headline says (most of its words, the same names and figures) is one story on its own, which
is how two reports that share no Latin name, figure or link still meet (cluster.merge_translated).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from curator.text import HAN, HAN_RE
from curator.urls import canonical_url

__all__ = ["CrossEvidence", "CrossFeatures", "compare", "features", "quantities", "script"]

# Evidence thresholds (pinned by the labelled zh/en pairs in tests/fixtures/cluster/xlang_pairs.json).
QTY_SHARED_MIN = 2  # quantities both texts state …
QTY_COVER_MIN = 0.3  # … as a share of the smaller text's quantities
ENTITY_SHARED_MIN = 2  # distinctive Latin-script names both texts use
TITLE_EN_MIN = 0.25  # Jaccard of title words between a translated title and the English title
# A translated title alone makes one story when it says what the English headline says: most words
# (Jaccard) and at least this many of them, with no name, figure or version only one side has.
TITLE_EN_ALONE = 0.5
TITLE_EN_ALONE_WORDS = 3
MAX_CHARS = 20_000  # as in clustering: only the head of a very long text counts
MAX_LINKS = 60  # only the first links of a page count (a link farm is no evidence)
STRONG_QTY_SHARED = 3  # this many shared figures, …
STRONG_QTY_COVER = 0.6  # … most of the smaller text's, need only one more kind of evidence
STRENGTH_CAP = 1.5  # the cross-language score stays ≤ 0.75: never as sure as a copy
HAN_SHARE = 0.3  # a text whose units are at least this share Han characters is Chinese

_LATIN_WORD_RE = re.compile(r"[a-z0-9]+")
_MONEY_SIGNS = "$¥€£"
_WORD_NUMBERS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "fifteen": "15",
    "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100",
}  # fmt: skip
# "one million tokens" → "1 million tokens": English spells round figures out, Chinese writes digits.
_WORD_NUMBER_RE = re.compile(
    rf"\b({'|'.join(_WORD_NUMBERS)})(?=[\s-]+(?:hundred|thousand|million|billion|trillion)\b)"
)
_MAGNITUDES = {
    "万亿": 1e12, "千亿": 1e11, "百亿": 1e10, "亿": 1e8, "千万": 1e7, "百万": 1e6, "万": 1e4,
    "trillion": 1e12, "billion": 1e9, "bn": 1e9, "million": 1e6, "thousand": 1e3,
    "t": 1e12, "b": 1e9, "m": 1e6, "k": 1e3,
    "萬億": 1e12, "千億": 1e11, "百億": 1e10, "億": 1e8, "千萬": 1e7, "百萬": 1e6, "萬": 1e4,
}  # fmt: skip
# Units whose figure is the same in both languages; the value is kept with the unit.
_UNITS = {
    "%": "%", "percent": "%", "per cent": "%", "百分点": "pp", "percentage points": "pp",
    "percentage point": "pp", "倍": "x", "x": "x", "times": "x",
    "gb": "gb", "tb": "tb", "mb": "mb", "w": "w", "瓦": "w", "kw": "kw", "千瓦": "kw", "nm": "nm",
    "纳米": "nm", "奈米": "nm", "ms": "ms", "毫秒": "ms", "pflops": "pflops", "tflops": "tflops", "ghz": "ghz",
    "tokens": "tok", "token": "tok", "英寸": "inch", "inch": "inch", "inches": "inch",
}  # fmt: skip
_CURRENCIES = ("美元", "dollars", "dollar", "元", "人民币", "人民幣", "欧元", "歐元", "euros", "euro", "英镑")


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_QTY_RE = re.compile(
    rf"(?<![\w.])(?P<sign>[{re.escape(_MONEY_SIGNS)}])?\s?(?P<num>\d{{1,3}}(?:,\d{{3}})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?)"
    rf"(?:\s*(?P<mag>{_alternation(_MAGNITUDES)})(?![a-z]))?"
    rf"(?:[\s-]*(?:个\s*)?(?P<unit>{_alternation(_UNITS)})(?![a-z]))?"
    rf"(?:\s*(?P<cur>{_alternation(_CURRENCIES)}))?"
    rf"(?P<counter>\s*[{HAN}])?"
)
_YEAR_RE = re.compile(r"(?:19[5-9]|20[0-4])\d")
_DIGIT_RE = re.compile(r"\d")
# A Latin-script name: a word with a capital or a digit ("OpenAI", "H30", "GPT-5", "HBM3E").
_NAME_RE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*")
# Words capitalised in any text (units, titles, acronyms of every story): no evidence of one event.
_GENERIC_NAMES = frozenset(
    (  # noqa: SIM905 - a word list reads better as prose
        "a ai an and api apis app apps at but by ceo cfo cto coo cpu cpus for from gpu gpus he her his i "
        "if in ipo is it its llm llms mr ms dr new no of on our pc pr q1 q2 q3 q4 she the their they this "
        "to us usd we what when who why with you"
    ).split()
)
# A product named with a version in a title: "GPT-5", "DeepSeek-V3", "H30", "Qwen2.5-Max" (one
# token), "Claude 4", "Rust 1.85.0" (a capitalised word and a number).
_VERSIONED_RE = re.compile(r"([a-z]*)(\d+(?:\.\d+)*[a-z]*)")
_NAMED_VERSION_RE = re.compile(r"(?<![A-Za-z0-9])([A-Z][A-Za-z]*) (\d+(?:\.\d+)*)(?![\w.%])")
# Headline words that say nothing about which event ("Apple will build …, report says").
_TITLE_STOP = frozenset(
    (  # noqa: SIM905 - a word list reads better as prose
        "after all also are as be been being can could has have into its just more not now over says said "
        "report reports than that was were will would up out about amid"
    ).split()
)


@dataclass(frozen=True)
class CrossFeatures:
    han: bool  # written in Chinese (by script, so no language tag is needed)
    quantities: frozenset[str]
    names: frozenset[str]
    title_quantities: frozenset[str]
    products: frozenset[tuple[str, str]]  # (family, version) named in the title
    links: frozenset[str]
    title_words: frozenset[str]  # Latin title words of the English title, or of the translation
    # The same title's event words, stemmed and without "will … says" (the translated-title rule),
    # and the names among them ("apple", "arizona").
    title_terms: frozenset[str] = frozenset()
    title_names: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CrossEvidence:
    """What a Chinese and an English text share; `score` is 0.5 when enough kinds agree."""

    quantities: int
    quantity_cover: float
    names: int
    headline: bool  # the titles name the same figure or product
    links: int
    title_en: float  # translated-title word Jaccard (0 without a translation)
    product_conflict: bool  # the titles name one product family in different versions
    kinds: tuple[str, ...]
    score: float


def script(text: str) -> bool:
    """True when the text is Chinese: Han characters are a large share of its letters/words."""
    sample = text[:4000]
    han = len(HAN_RE.findall(sample))
    words = len(_LATIN_WORD_RE.findall(HAN_RE.sub(" ", sample.lower())))
    return han > 0 and han / (han + words) >= HAN_SHARE


def _figure(value: float) -> str:
    return f"{value:.4g}"


def quantities(text: str) -> frozenset[str]:
    """Normalised figures of a text: "66亿美元" and "$6.6 billion" → n6.6e+09, "38 percent" → 38%."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _WORD_NUMBER_RE.sub(lambda m: _WORD_NUMBERS[m.group(1)], text)
    found: set[str] = set()
    for m in _QTY_RE.finditer(text):
        mag, unit = m["mag"], m["unit"]
        num = m["num"].replace(",", "")
        value = float(num)
        money = bool(m["sign"] or m["cur"])
        if mag:
            found.add("n" + _figure(value * _MAGNITUDES[mag]))
        elif unit:
            found.add(f"{value:g}{_UNITS[unit]}")
        elif money or value >= 1000:
            counted = "," in m["num"] or (m["counter"] or "").strip() not in ("", "年")  # "2,000", "2000 次"
            if not money and not counted and _YEAR_RE.fullmatch(num):
                continue  # a year: every article of a season carries it
            found.add("n" + _figure(value))
        elif "." in num and not num.endswith(".0"):
            found.add(num)  # "81.2": a decimal is distinctive; "3.0" is not
        elif "." not in num and len(num) >= 3:
            found.add(num)
    return frozenset(found)


def _typed(figure: str) -> bool:
    """A figure with a magnitude, unit or currency ("n6.6e+09", "38%", "96gb"), not a bare "81.2"."""
    return not (figure[0].isdigit() and figure[-1].isdigit())


def names(text: str) -> frozenset[str]:
    """Latin-script names, lower-cased, split at hyphens ("DeepSeek-V3" → deepseek, v3)."""
    out: set[str] = set()
    tokens = set(_NAME_RE.findall(text))
    for token in tokens:
        lower = token.lower()
        if lower == token and not _DIGIT_RE.search(token):
            continue  # a plain lower-case word
        if token[1:].islower() and lower in tokens:
            continue  # "Where", "Long": capitalised at a sentence start, lower-case elsewhere
        for part in lower.replace(".", "-").split("-"):
            if part and not part.isdigit() and part not in _GENERIC_NAMES and len(part) > 1:
                out.add(part)
    return frozenset(out)


def _version(v: str) -> str:
    while v.endswith(".0"):
        v = v[:-2]
    return v


def products(title: str) -> frozenset[tuple[str, str]]:
    """(family, version) pairs a title names: "GPT-5" → (gpt, 5), "DeepSeek-V3" → (deepseek, v3)."""
    out = {(m[1].lower(), _version(m[2])) for m in _NAMED_VERSION_RE.finditer(title)}
    for token in _NAME_RE.findall(title):
        parts = token.lower().split("-")
        i = next((i for i, part in enumerate(parts) if any(c.isdigit() for c in part)), None)
        if i is None:
            continue
        m = _VERSIONED_RE.fullmatch(parts[i])
        if m is None:
            continue
        if i > 0 and len(m[1]) <= 1:  # "deepseek-v3", "gpt-5": the family is the word before
            out.add((parts[i - 1], _version(parts[i])))
        elif m[1]:  # "qwen2.5", "h30", "m4"
            out.add((m[1], _version(m[2])))
    return frozenset(out)


def _stem(word: str) -> str:
    """A light English stem, so "builds", "building" and "built" headlines meet: "plants" → plant."""
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def title_terms(title: str) -> frozenset[str]:
    """The words of an English headline (or a translation) that can say which event it is, stemmed."""
    words = _LATIN_WORD_RE.findall(unicodedata.normalize("NFKC", title).lower())
    return frozenset(_stem(w) for w in words if w not in _GENERIC_NAMES and w not in _TITLE_STOP)


def _link_key(url: str) -> str | None:
    """A link that can name an original: it has a path ("https://openai.com/" names nothing)."""
    try:
        key = canonical_url(url)  # tracking tags, www., arXiv's v1/v2 … fold as for item keys
    except ValueError:
        return None
    return key if urlsplit(key).path.strip("/") else None


def features(
    title: str, text: str, *, links: tuple[str, ...] = (), title_en: str | None = None
) -> CrossFeatures:
    """The cross-language features of one item; `title_en`: a translation of a Chinese title."""
    text = text[:MAX_CHARS]
    han = script(title + "\n" + text)
    en_title = title_en if han and title_en else (None if han else title)
    return CrossFeatures(
        han=han,
        quantities=quantities(text) | quantities(title),
        names=names(unicodedata.normalize("NFKC", title + "\n" + text)),
        title_quantities=quantities(title) | (quantities(title_en) if han and title_en else frozenset()),
        products=products(title) | (products(title_en) if title_en else frozenset()),
        links=frozenset(k for k in map(_link_key, links[:MAX_LINKS]) if k),
        title_words=frozenset(_LATIN_WORD_RE.findall(en_title.lower())) - _GENERIC_NAMES
        if en_title
        else frozenset(),
        title_terms=title_terms(en_title) if en_title else frozenset(),
        title_names=frozenset(_stem(n) for n in names(unicodedata.normalize("NFKC", en_title)))
        if en_title
        else frozenset(),
    )


def _product_conflict(a: CrossFeatures, b: CrossFeatures) -> bool:
    families = {f for f, _ in a.products} & {f for f, _ in b.products}
    return any(
        {v for f2, v in a.products if f2 == f}.isdisjoint({v for f2, v in b.products if f2 == f})
        for f in families
    )


def _translation_agrees(a: CrossFeatures, b: CrossFeatures) -> bool:
    """The translated headline says what the English one says: most of its words, and no name or
    figure only one side has ("Apple … in Arizona" / "Apple … in Texas", "5% of staff" / "10% of staff")."""
    shared = a.title_terms & b.title_terms
    if len(shared) < TITLE_EN_ALONE_WORDS or _jaccard(a.title_terms, b.title_terms) < TITLE_EN_ALONE:
        return False
    if (a.title_names - b.title_terms) and (b.title_names - a.title_terms):
        return False  # each headline names someone or somewhere the other does not
    return not (a.title_quantities and b.title_quantities and a.title_quantities.isdisjoint(b.title_quantities))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def compare(
    a: CrossFeatures, b: CrossFeatures, *, common_links: frozenset[str] = frozenset()
) -> CrossEvidence:
    """Evidence that a Chinese and an English text report one event (score 0 for one language)."""
    shared_q = a.quantities & b.quantities
    cover = len(shared_q) / min(len(a.quantities), len(b.quantities)) if shared_q else 0.0
    shared_names = a.names & b.names
    headline = bool((a.title_quantities & b.title_quantities) or (a.products & b.products))
    links = len((a.links & b.links) - common_links)
    title_en = _jaccard(a.title_words, b.title_words) if a.han != b.han else 0.0
    conflict = _product_conflict(a, b)
    strength = {
        "quantities": min(len(shared_q) / QTY_SHARED_MIN, cover / QTY_COVER_MIN),
        "names": len(shared_names) / ENTITY_SHARED_MIN,
        "headline": 1.0 if headline else 0.0,
        "links": float(links),
        "title_en": title_en / TITLE_EN_MIN,
    }
    kinds = tuple(k for k, v in strength.items() if v >= 1.0)
    score = 0.0
    if a.han != b.han and not conflict:
        q, links_s = strength["quantities"], strength["links"]
        # Bare numbers ("8.3", "100") collide by chance in long texts: only typed figures make it strong.
        typed = sum(1 for f in shared_q if _typed(f))
        strong = min(typed / STRONG_QTY_SHARED, cover / STRONG_QTY_COVER)
        support = sorted(strength[k] for k in ("names", "headline", "links", "title_en"))
        score = 0.5 * min(
            STRENGTH_CAP,
            max(
                # the same figures, and two more kinds (names alone are shared by every story of a company)
                min(q, support[-2]),
                # many of the same figures (most of the smaller text's), and one more kind
                min(strong, support[-1]),
                # the same original cited, and the same figures, headline or translated title
                min(links_s, max(q, strength["headline"], strength["title_en"])),
                # the translated headline says what the English one says (with an LLM's triage)
                1.0 if _translation_agrees(a, b) else 0.0,
            ),
        )
    return CrossEvidence(
        len(shared_q),
        round(cover, 4),
        len(shared_names),
        headline,
        links,
        round(title_en, 4),
        conflict,
        kinds,
        round(score, 4),
    )
