"""Extraction-quality eval: curator's real path vs trafilatura and readability-lxml on pages with gold text.

    python bench/eval_extraction.py [--data ../shared/data/extraction] [--baseline bench/eval_baseline.json]
                                    [--update-baseline] [--limit N] [--jobs 2] [--sets ...]

Each stored page (fetched bytes, no headers; wcxb's gunzipped) goes through what `collect` does:
`curator.charset.decode_html` → `curator.extract.extract_article` (text and metadata, with collect's
default settings: a page it rejects scores 0). In the same run, on curator's decoded text,
`trafilatura.extract` (default settings), readability-lxml's `Document.summary` and, where it is
installed (CPython 3.12, Linux x86_64), `rs_trafilatura.extract` (default settings). CPU is process
CPU time measured inside the worker, per page and system (curator's includes decoding and metadata);
each worker first runs every system once on a small built-in page (`warm_up`), so imports and model
loading are not charged to its first page.

Scoring follows shared/data/README.md:

- tokens: each Han / kana / hangul character is one token, every other `\\w+` run (lower-cased) one
  token (on wcxb's English pages this is its word-level protocol); bag-of-tokens P/R/F1 per page,
  empty extraction = 0, macro mean per line;
- lines: overall, per language (zh pages: Han ≥ 20% of the gold's non-space characters, no kana),
  per set, its zh pages, and per wcxb page type; each with a 95% bootstrap interval (pages resampled
  1,000 times, fixed seed);
- ScrapingHub protocol on scrapinghub-aeb: 4-token shingles, P and R averaged over pages, F1 of means.

Scores below the floors in the baseline file (or CPU above its `ceilings`) exit 1. Results go to
bench/out/eval.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
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
    kind: str = ""  # page type: wcxb's label; "article" / "forum" for the magic-html sets


SETS = ("magic-article", "magic-forum", "scrapinghub-aeb", "wcxb-dev")


def read_body(path: str) -> bytes:
    """The page's bytes as fetched (wcxb stores them gzipped)."""
    raw = Path(path).read_bytes()
    return gzip.decompress(raw) if path.endswith(".gz") else raw


def decode_case(case: Case) -> tuple[str, str]:
    from curator.charset import decode_html

    return decode_html(read_body(case.path), None)


def _wcxb_items(root: Path) -> list[tuple[str, str, Path, str, str]]:
    items = []
    for gt in sorted((root / "ground-truth").glob("*.json")):
        d = json.loads(gt.read_text(encoding="utf-8"))
        gold = (d.get("ground_truth") or {}).get("main_content") or ""
        if not gold.strip():
            continue  # the protocol leaves pages with an empty gold out
        kind = ((d.get("_internal") or {}).get("page_type") or {}).get("primary") or "unknown"
        items.append((gt.stem, d.get("url") or "", root / "html" / f"{gt.stem}.html.gz", gold, kind))
    return items


def load_cases(data: Path, sets: Iterable[str] = SETS, limit: int | None = None) -> list[Case]:
    cases: list[Case] = []
    for name in sets:
        if name == "wcxb-dev":
            items = _wcxb_items(data / "wcxb-dev")
        elif name == "scrapinghub-aeb":
            root = data / "scrapinghub-aeb"
            gold = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
            items = [
                (k, v["url"], root / "html" / f"{k}.html", v["articleBody"], "article") for k, v in gold.items()
            ]
        else:
            kind = name.removeprefix("magic-")
            root = data / "magic-html" / kind
            gold = json.loads((root / "base.json").read_text(encoding="utf-8"))
            items = [(k, v["url"], root / "htmls" / f"{k}.html", v["content"], kind) for k, v in gold.items()]
        items = sorted(i for i in items if i[2].is_file())
        cases.extend(Case(name, k, url, str(p), text or "", kind) for k, url, p, text, kind in items[:limit])
    return cases


# --- running -------------------------------------------------------------------------------------


def _rs_available() -> bool:
    try:
        import rs_trafilatura  # noqa: F401
    except ImportError:
        return False
    return True


# rs-trafilatura ships cp312 manylinux x86_64 wheels only: elsewhere its column is left out.
SYSTEMS = ("curator", "trafilatura", "readability") + (("rs-trafilatura",) if _rs_available() else ())


@dataclass
class Score:
    p: float
    r: float
    f1: float
    sh_p: float | None  # ScrapingHub protocol (scrapinghub-aeb only)
    sh_r: float | None
    chars: int
    cpu: float  # process CPU seconds in the worker (curator: decode + extract + metadata)


@dataclass
class Result:
    set: str
    id: str
    kind: str
    zh: bool
    gold_chars: int
    encoding: str
    scores: dict[str, Score]
    error: str = ""


def _readability(html: str) -> str:
    import lxml.html
    from readability import Document

    summary = Document(html).summary(html_partial=True)
    return lxml.html.fromstring(summary).text_content() if summary.strip() else ""


def _curator(body: bytes, url: str) -> tuple[str, str, str]:
    """collect's path: bytes → decode → extract + metadata; (text, encoding, error reason)."""
    from curator.charset import decode_html
    from curator.errors import ExtractionError
    from curator.extract import extract_article
    from curator.models import Page
    from curator.settings import ExtractSettings

    html, encoding = decode_html(body, None)
    page = Page(url=url or "https://example.org/", final_url=url or "https://example.org/", status=200,
                text=html, encoding=encoding)  # fmt: skip
    try:
        return extract_article(page, ExtractSettings()).text, encoding, ""
    except ExtractionError as exc:  # a rejected page scores 0, as collect drops it
        return "", encoding, exc.reason or "error"


def _score(case: Case, pred: str, cpu: float) -> Score:
    p, r, f1 = prf(pred, case.gold)
    sh = shingle_pr(pred, case.gold) if case.set == "scrapinghub-aeb" else (None, None)
    return Score(p, r, f1, *sh, len(pred), cpu)


def _rs(html: str) -> str:
    import rs_trafilatura

    return rs_trafilatura.extract(html).main_content or ""


def run_case(case: Case) -> Result:
    import trafilatura

    from curator.charset import decode_html

    body = read_body(case.path)
    t = time.process_time()
    pred, encoding, error = _curator(body, case.url)
    scores = {"curator": _score(case, pred, time.process_time() - t)}
    # the libraries get curator's decoded text (the README's baselines do the same)
    html = decode_html(body, None)[0]
    runs = {"trafilatura": lambda: trafilatura.extract(html), "readability": lambda: _readability(html),
            "rs-trafilatura": lambda: _rs(html)}  # fmt: skip
    for name in SYSTEMS[1:]:
        fn = runs[name]
        t = time.process_time()
        try:
            out = fn() or ""
        except Exception:  # noqa: BLE001 -- a library failing on a page scores 0 there
            out = ""
        scores[name] = _score(case, out, time.process_time() - t)
    return Result(case.set, case.id, case.kind, is_zh(case.gold), len(case.gold), encoding, scores, error)


_WARM_PAGE = (
    '<!doctype html><html lang="en"><head><title>Warm-up</title></head><body><article>'
    + "<p>This page only loads the extractors' modules and models before pages are timed.</p>" * 8
    + "</article></body></html>"
)


def warm_up() -> None:
    """Import and initialise every system once per worker (lazy imports, rs-trafilatura's models,
    htmldate, resiliparse): a one-time start-up cost, not a page's, so no timed page pays it."""
    import trafilatura

    from curator.extract import _thread_text, extract_text

    body = _WARM_PAGE.encode("utf-8")
    _curator(body, "https://example.org/warm-up")
    extract_text(_WARM_PAGE, engine="trafilatura")
    _thread_text(_WARM_PAGE)
    trafilatura.extract(_WARM_PAGE)
    _readability(_WARM_PAGE)
    if "rs-trafilatura" in SYSTEMS:
        _rs(_WARM_PAGE)


def run_all(cases: list[Case], jobs: int = 2) -> list[Result]:
    if jobs <= 1:
        warm_up()
        return [run_case(c) for c in cases]
    with ProcessPoolExecutor(max_workers=jobs, initializer=warm_up) as pool:
        return list(pool.map(run_case, cases, chunksize=4))


# --- reporting -----------------------------------------------------------------------------------

BOOTSTRAP = 1000
SEED = 13


def _mean(xs: list[float]) -> float:
    return statistics.fmean(xs) if xs else 0.0


def _sh_f1(rows: list[Score]) -> float:
    p, r = _mean([x.sh_p or 0.0 for x in rows]), _mean([x.sh_r or 0.0 for x in rows])
    return 2 * p * r / (p + r) if p + r else 0.0


def _macro_f1(rows: list[Score]) -> float:
    return _mean([x.f1 for x in rows])


def interval(rows: list[Score], metric=_macro_f1, n: int = BOOTSTRAP) -> tuple[float, float]:
    """95% percentile bootstrap interval of `metric`, resampling pages (fixed seed: runs compare)."""
    rng = random.Random(SEED)
    k = len(rows)
    stats = sorted(metric([rows[rng.randrange(k)] for _ in range(k)]) for _ in range(n))
    return stats[int(0.025 * n)], stats[int(0.975 * n) - 1]


def group_keys(r: Result) -> list[str]:
    """Every report line a page counts in."""
    keys = ["overall", f"{r.set}-all", "lang-zh" if r.zh else "lang-other"]
    if r.zh:
        keys.append(f"{r.set}-zh")
    if r.set == "wcxb-dev":
        keys.append(f"wcxb-dev-{r.kind}")
    return keys


def summarize(results: list[Result]) -> dict[str, dict[str, object]]:
    """Per report line and system: n, P, R, F1 and its 95% interval; `scrapinghub-aeb-sh` uses their protocol."""
    buckets: dict[str, list[Result]] = {}
    for r in results:
        for key in group_keys(r):
            buckets.setdefault(key, []).append(r)
    order = ["overall", "lang-zh", "lang-other"] + [
        k for name in SETS for k in sorted(buckets) if k.startswith(name)
    ]
    out: dict[str, dict[str, object]] = {}
    for key in order:
        if key not in buckets:
            continue
        sel = buckets[key]
        out[key] = {"n": len(sel)}
        for system in SYSTEMS:
            rows = [r.scores[system] for r in sel]
            lo, hi = interval(rows)
            out[key][system] = {"p": _mean([x.p for x in rows]), "r": _mean([x.r for x in rows]),
                                "f1": _macro_f1(rows), "lo": lo, "hi": hi}  # fmt: skip
        if key == "scrapinghub-aeb-all":
            out["scrapinghub-aeb-sh"] = {"n": len(sel)}
            for system in SYSTEMS:
                rows = [r.scores[system] for r in sel]
                lo, hi = interval(rows, _sh_f1)
                p, rr = _mean([x.sh_p or 0.0 for x in rows]), _mean([x.sh_r or 0.0 for x in rows])
                out["scrapinghub-aeb-sh"][system] = {"p": p, "r": rr, "f1": _sh_f1(rows), "lo": lo, "hi": hi}
    return out


def cpu_summary(results: list[Result]) -> dict[str, float]:
    """CPU ms per page for each system, curator's ratio to trafilatura's one `extract`, slowest page."""
    out: dict[str, float] = {}
    for system in SYSTEMS:
        out[f"{system}_ms"] = 1000 * _mean([r.scores[system].cpu for r in results])
    out["ratio"] = out["curator_ms"] / out["trafilatura_ms"] if out["trafilatura_ms"] else 0.0
    out["curator_max_s"] = max((r.scores["curator"].cpu for r in results), default=0.0)
    out["curator_over_0_5s"] = sum(1 for r in results if r.scores["curator"].cpu > 0.5)
    return out


def reason_guess(s: Score, gold_chars: int) -> str:
    if s.chars == 0:
        return "empty extraction"
    if s.p < 0.6 and s.r >= 0.8:
        return f"extra text (boilerplate kept, {s.chars} vs {gold_chars} chars)"
    if s.r < 0.6 and s.p >= 0.8:
        return f"missed text (kept {s.chars} of ~{gold_chars} chars)"
    if s.p < 0.6 and s.r < 0.6:
        return "wrong block chosen"
    return "partial: some noise and some loss"


def _cell(s: dict[str, float]) -> str:
    return f"{s['f1']:.3f} [{s['lo']:.3f},{s['hi']:.3f}]"


def print_report(summary: dict, results: list[Result], floors: dict[str, float], cpu: dict[str, float]) -> None:
    others = SYSTEMS[1:]
    print(f"{'line':<28}{'n':>5}{'P':>7}{'R':>7}  {'curator F1 [95% CI]':<22}"
          + "".join(f"{name:<22}" for name in others) + f"{'floor':>6}")  # fmt: skip
    for key, s in summary.items():
        floor = floors.get(key)
        c = s["curator"]
        print(f"{key:<28}{s['n']:>5}{c['p']:>7.3f}{c['r']:>7.3f}  {_cell(c):<22}"
              + "".join(f"{_cell(s[name]):<22}" for name in others)
              + f"{'' if floor is None else f'{floor:>6.3f}'}")  # fmt: skip
    rs_cpu = f", rs-trafilatura {cpu['rs-trafilatura_ms']:.1f} ms" if "rs-trafilatura_ms" in cpu else ""
    print(
        f"\nCPU per page: curator {cpu['curator_ms']:.1f} ms (decode + extract + metadata), trafilatura "
        f"{cpu['trafilatura_ms']:.1f} ms, readability {cpu['readability_ms']:.1f} ms{rs_cpu}; ratio "
        f"{cpu['ratio']:.2f}x; slowest curator page {cpu['curator_max_s']:.2f} s; "
        f"{int(cpu['curator_over_0_5s'])} page(s) over 0.5 s"
    )
    rejected: dict[str, int] = {}
    for r in results:
        if r.error:
            rejected[r.error] = rejected.get(r.error, 0) + 1
    if rejected:
        print("pages curator rejected:", ", ".join(f"{k} {v}" for k, v in sorted(rejected.items())))
    print("\nworst 10 pages (curator F1):")
    for r in sorted(results, key=lambda x: x.scores["curator"].f1)[:10]:
        c = r.scores["curator"]
        print(f"  {r.set:<16} {r.kind:<13} {r.id[:16]:<16} F1={c.f1:.3f} "
              f"(trafi {r.scores['trafilatura'].f1:.3f})  {reason_guess(c, r.gold_chars)}")  # fmt: skip


def load_floors(path: Path) -> dict[str, float]:
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: float(v) for k, v in data.items() if isinstance(v, (int, float))}


def load_ceilings(path: Path) -> dict[str, float]:
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8")).get("ceilings", {})
    return {k: float(v) for k, v in data.items() if isinstance(v, (int, float))}


def check_floors(summary: dict, floors: dict[str, float]) -> list[str]:
    return [
        f"{key}: F1 {summary[key]['curator']['f1']:.3f} is below its floor {floor:.3f}"
        for key, floor in floors.items()
        if key in summary and summary[key]["curator"]["f1"] < floor
    ]


def check_ceilings(cpu: dict[str, float], ceilings: dict[str, float]) -> list[str]:
    return [
        f"CPU {key} {cpu[key]:.2f} is above its ceiling {limit:.2f}"
        for key, limit in ceilings.items()
        if key in cpu and cpu[key] > limit
    ]


def write_baseline(path: Path, summary: dict, margin: float = 0.01) -> None:
    old = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data: dict[str, object] = {
        "reason": old.get("reason") or (
            f"floors = achieved F1 minus {margin} (noise margin); lower a floor only on purpose, "
            "saying why in this field"
        )
    }
    for key, s in summary.items():
        data[key] = round(max(0.0, s["curator"]["f1"] - margin), 3)
    if "ceilings" in old:
        data["ceilings"] = old["ceilings"]
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
    cpu = cpu_summary(results)
    floors = load_floors(args.baseline)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps({"summary": summary, "cpu": cpu, "seconds": elapsed, "pages": [asdict(r) for r in results]},
                   indent=1),
        encoding="utf-8",
    )
    print_report(summary, results, floors, cpu)
    print(f"\n{len(results)} pages in {elapsed:.1f}s with {args.jobs} job(s)")
    if args.update_baseline:
        if args.limit is not None or set(args.sets) != set(SETS):
            print("refusing to update the baseline from a partial run (--limit / --sets)")
            return 2
        write_baseline(args.baseline, summary)
        print(f"baseline written: {args.baseline}")
        return 0
    problems = check_floors(summary, floors)
    if args.limit is None and set(args.sets) == set(SETS):
        problems += check_ceilings(cpu, load_ceilings(args.baseline))
    for line in problems:
        print("FAIL", line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
