"""Extraction-quality eval: curator's extractor vs trafilatura's default on pages with gold text.

    python bench/eval_extraction.py [--data ../shared/data/extraction] [--baseline bench/eval_baseline.json]
                                    [--update-baseline] [--limit N] [--jobs 2]

Each stored page (fetched bytes, no headers) is decoded with `curator.charset.decode_html` and run
through `curator.extract.extract_text` — exactly the path `collect` uses — and, side by side, through
`trafilatura.extract(decoded_text)`. Scoring follows shared/data/README.md:

- char protocol: each Han / kana / hangul character is one token, every other `\\w+` run (lower-cased)
  one token; bag-of-tokens P/R/F1 per page, empty extraction = 0, macro mean per set and over its zh
  pages (Han ≥ 20% of the gold's non-space characters, no kana);
- ScrapingHub protocol on scrapinghub-aeb: 4-token shingles, P and R averaged over pages, F1 of means.

Scores below the floors in the baseline file exit 1. Results go to bench/out/eval.json.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "extraction"
DEFAULT_BASELINE = REPO / "bench" / "eval_baseline.json"
OUT = REPO / "bench" / "out" / "eval.json"

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_KANA = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"
_HANGUL = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
_CJK = _HAN + _KANA + _HANGUL
_TOKEN = re.compile(f"[{_CJK}]|[^\\W{_CJK}]+")
_HAN_RE = re.compile(f"[{_HAN}]")
_KANA_RE = re.compile(f"[{_KANA}]")
_SH_TOKEN = re.compile(r"\w+", re.UNICODE)


# --- scoring -------------------------------------------------------------------------------------


def tokens(text: str) -> list[str]:
    """Char-protocol tokens: one per Han/kana/hangul character, one per other lower-cased \\w+ run."""
    return [t.lower() for t in _TOKEN.findall(text or "")]


def prf(pred: str | None, gold: str) -> tuple[float, float, float]:
    """Bag-of-tokens precision, recall, F1; an empty extraction scores 0."""
    p_tok, g_tok = Counter(tokens(pred or "")), Counter(tokens(gold))
    if not p_tok or not g_tok:
        return 0.0, 0.0, 0.0
    common = sum((p_tok & g_tok).values())
    if common == 0:
        return 0.0, 0.0, 0.0
    p, r = common / sum(p_tok.values()), common / sum(g_tok.values())
    return p, r, 2 * p * r / (p + r)


def is_zh(gold: str) -> bool:
    chars = [c for c in gold if not c.isspace()]
    if not chars or _KANA_RE.search(gold):
        return False
    return len(_HAN_RE.findall(gold)) / len(chars) >= 0.20


def _shingles(text: str, n: int = 4) -> Counter[str]:
    toks = _SH_TOKEN.findall(text or "")
    grams = (" ".join(toks[i : i + n]) for i in range(max(1, len(toks) - n + 1)))
    return Counter(g for g in grams if g)


def shingle_pr(pred: str | None, gold: str) -> tuple[float, float]:
    """ScrapingHub per-page precision/recall on 4-token shingles (their evaluate.py conventions)."""
    t, p = _shingles(gold), _shingles(pred or "")
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    if fp == fn == 0:
        return 1.0, 1.0
    if tp == 0:
        return 0.0, 0.0
    return tp / (tp + fp), tp / (tp + fn)


# --- corpus --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    set: str
    id: str
    url: str
    path: str
    gold: str


SETS = ("magic-article", "magic-forum", "scrapinghub-aeb")


def load_cases(data: Path, sets: Iterable[str] = SETS, limit: int | None = None) -> list[Case]:
    cases: list[Case] = []
    for name in sets:
        if name == "scrapinghub-aeb":
            root = data / "scrapinghub-aeb"
            gold = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
            items = [(k, v["url"], root / "html" / f"{k}.html", v["articleBody"]) for k, v in gold.items()]
        else:
            root = data / "magic-html" / name.removeprefix("magic-")
            gold = json.loads((root / "base.json").read_text(encoding="utf-8"))
            items = [(k, v["url"], root / "htmls" / f"{k}.html", v["content"]) for k, v in gold.items()]
        items = sorted(i for i in items if i[2].is_file())
        cases.extend(Case(name, k, url, str(path), text or "") for k, url, path, text in items[:limit])
    return cases


# --- running -------------------------------------------------------------------------------------


@dataclass
class Result:
    set: str
    id: str
    zh: bool
    p: float
    r: float
    f1: float
    base_p: float
    base_r: float
    base_f1: float
    sh_p: float | None
    sh_r: float | None
    base_sh_p: float | None
    base_sh_r: float | None
    pred_chars: int
    gold_chars: int
    encoding: str
    seconds: float


def run_case(case: Case) -> Result:
    import trafilatura

    from curator.charset import decode_html
    from curator.extract import extract_text

    body = Path(case.path).read_bytes()
    html, encoding = decode_html(body, None)
    start = time.perf_counter()
    try:
        pred = extract_text(html, url=case.url)
    except Exception:  # noqa: BLE001 -- an eval must survive one bad page; the page scores 0
        pred = ""
    seconds = time.perf_counter() - start
    base = trafilatura.extract(html) or ""
    p, r, f1 = prf(pred, case.gold)
    bp, br, bf1 = prf(base, case.gold)
    sh = shingle_pr(pred, case.gold) if case.set == "scrapinghub-aeb" else (None, None)
    bsh = shingle_pr(base, case.gold) if case.set == "scrapinghub-aeb" else (None, None)
    return Result(case.set, case.id, is_zh(case.gold), p, r, f1, bp, br, bf1, *sh, *bsh,
                  len(pred), len(case.gold), encoding, seconds)  # fmt: skip


def run_all(cases: list[Case], jobs: int = 2) -> list[Result]:
    if jobs <= 1:
        return [run_case(c) for c in cases]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(run_case, cases, chunksize=2))


# --- reporting -----------------------------------------------------------------------------------


def _mean(xs: list[float]) -> float:
    return statistics.fmean(xs) if xs else 0.0


def summarize(results: list[Result]) -> dict[str, dict[str, float]]:
    """Scores per key: `<set>-all`, `<set>-zh` (char protocol) and `scrapinghub-aeb-sh`."""
    out: dict[str, dict[str, float]] = {}
    for name in SETS:
        rows = [r for r in results if r.set == name]
        for label, sel in (("all", rows), ("zh", [r for r in rows if r.zh])):
            if not sel:
                continue
            out[f"{name}-{label}"] = {
                "n": len(sel),
                "p": _mean([r.p for r in sel]),
                "r": _mean([r.r for r in sel]),
                "f1": _mean([r.f1 for r in sel]),
                "base_f1": _mean([r.base_f1 for r in sel]),
            }
        if name == "scrapinghub-aeb" and rows:
            p, r = _mean([x.sh_p or 0.0 for x in rows]), _mean([x.sh_r or 0.0 for x in rows])
            bp, br = _mean([x.base_sh_p or 0.0 for x in rows]), _mean([x.base_sh_r or 0.0 for x in rows])
            out[f"{name}-sh"] = {
                "n": len(rows),
                "p": p,
                "r": r,
                "f1": 2 * p * r / (p + r) if p + r else 0.0,
                "base_f1": 2 * bp * br / (bp + br) if bp + br else 0.0,
            }
    return out


def reason_guess(r: Result) -> str:
    if r.pred_chars == 0:
        return "empty extraction"
    if r.p < 0.6 and r.r >= 0.8:
        return f"extra text (boilerplate kept, {r.pred_chars} vs {r.gold_chars} chars)"
    if r.r < 0.6 and r.p >= 0.8:
        return f"missed text (kept {r.pred_chars} of ~{r.gold_chars} chars)"
    if r.p < 0.6 and r.r < 0.6:
        return "wrong block chosen"
    return "partial: some noise and some loss"


def print_report(
    summary: dict[str, dict[str, float]], results: list[Result], floors: dict[str, float]
) -> None:
    print(f"{'set':<22}{'n':>5}{'P':>8}{'R':>8}{'F1':>8}{'trafi':>8}{'delta':>8}{'floor':>8}")
    for key, s in summary.items():
        floor = floors.get(key)
        print(
            f"{key:<22}{int(s['n']):>5}{s['p']:>8.3f}{s['r']:>8.3f}{s['f1']:>8.3f}"
            f"{s['base_f1']:>8.3f}{s['f1'] - s['base_f1']:>+8.3f}{'' if floor is None else f'{floor:>8.3f}'}"
        )
    print("\nworst 10 pages (curator F1):")
    for r in sorted(results, key=lambda x: x.f1)[:10]:
        print(f"  {r.set:<16} {r.id[:16]:<16} F1={r.f1:.3f} (trafi {r.base_f1:.3f})  {reason_guess(r)}")


def load_floors(path: Path) -> dict[str, float]:
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: float(v) for k, v in data.items() if isinstance(v, (int, float))}


def check_floors(summary: dict[str, dict[str, float]], floors: dict[str, float]) -> list[str]:
    return [
        f"{key}: F1 {summary[key]['f1']:.3f} is below its floor {floor:.3f}"
        for key, floor in floors.items()
        if key in summary and summary[key]["f1"] < floor
    ]


def write_baseline(path: Path, summary: dict[str, dict[str, float]], margin: float = 0.01) -> None:
    data: dict[str, object] = {
        "reason": (
            f"floors = achieved F1 minus {margin} (noise margin); lower a floor only on purpose, "
            "saying why in this field"
        )
    }
    for key, s in summary.items():
        data[key] = round(max(0.0, s["f1"] - margin), 3)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _iter_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding the gold-text sets")
    ap.add_argument("--baseline", type=Path, default=DEFAULT_BASELINE, help="JSON of score floors")
    ap.add_argument("--update-baseline", action="store_true", help="rewrite floors from this run")
    ap.add_argument("--limit", type=int, default=None, help="first N pages of each set")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes")
    ap.add_argument("--sets", nargs="*", default=list(SETS), choices=SETS)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _iter_args(argv)
    if not args.data.is_dir():
        print(f"extraction dataset missing: {args.data} not found (see shared/data/README.md); skipped")
        return 0
    cases = load_cases(args.data, args.sets, args.limit)
    start = time.perf_counter()
    results = run_all(cases, args.jobs)
    elapsed = time.perf_counter() - start
    summary = summarize(results)
    floors = load_floors(args.baseline)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps({"summary": summary, "seconds": elapsed, "pages": [asdict(r) for r in results]}, indent=1),
        encoding="utf-8",
    )
    print_report(summary, results, floors)
    print(f"\n{len(results)} pages in {elapsed:.1f}s with {args.jobs} job(s)")
    if args.update_baseline:
        if args.limit is not None or set(args.sets) != set(SETS):
            print("refusing to update the baseline from a partial run (--limit / --sets)")
            return 2
        write_baseline(args.baseline, summary)
        print(f"baseline written: {args.baseline}")
        return 0
    problems = check_floors(summary, floors)
    for line in problems:
        print("FAIL", line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
