"""Candidate extractors on every dev page, cached on disk (bench/out/candidates/, gitignored).

    python bench/candidates.py [--jobs 2] [--only NAME ...]

For each page: decode with curator's charset path, then run each candidate extractor and store its
text, its process CPU seconds and a few cheap page features, so selection rules can be compared
offline (`python bench/candidates.py --score`) without re-running the extractors.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import eval_extraction as ev

CACHE = REPO / "bench" / "out" / "candidates"
# The first 1,100 pages ran every candidate; on a loaded machine the rest ran the six that matter
# (the comment-less and table-less trafilatura variants and jusText lost everywhere on the first ones).
FULL = False


def _timed(fn):
    t = time.process_time()
    try:
        out = fn() or ""
    except Exception as exc:  # noqa: BLE001 -- a candidate failing on a page scores 0
        out = ""
        _ = exc
    return out, time.process_time() - t


def candidates(html: str, url: str) -> dict[str, tuple[str, float]]:
    import justext
    import lxml.html
    import trafilatura

    out: dict[str, tuple[str, float]] = {}
    out["trafi"] = _timed(lambda: trafilatura.extract(html))
    out["trafi_prec"] = _timed(lambda: trafilatura.extract(html, favor_precision=True))
    out["trafi_rec"] = _timed(lambda: trafilatura.extract(html, favor_recall=True))
    if FULL:
        out["trafi_nocom"] = _timed(lambda: trafilatura.extract(html, include_comments=False))
        out["trafi_prec_nocom"] = _timed(
            lambda: trafilatura.extract(html, favor_precision=True, include_comments=False)
        )
        out["trafi_rec_nocom"] = _timed(
            lambda: trafilatura.extract(html, favor_recall=True, include_comments=False)
        )
        out["trafi_tables_off"] = _timed(lambda: trafilatura.extract(html, include_tables=False))

    def _read() -> str:
        from readability import Document

        summary = Document(html).summary(html_partial=True)
        return lxml.html.fromstring(summary).text_content() if summary.strip() else ""

    out["readability"] = _timed(_read)

    def _resili() -> str:
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree

        return extract_plain_text(HTMLTree.parse(html), main_content=True)

    out["resiliparse"] = _timed(_resili)

    def _justext() -> str:
        paras = justext.justext(html.encode("utf-8", "replace"), justext.get_stoplist("English"))
        return "\n".join(p.text for p in paras if not p.is_boilerplate)

    if FULL:
        out["justext"] = _timed(_justext)

    def _curator(engine: str) -> str:
        from curator.extract import extract_text

        return extract_text(html, url, engine=engine)

    out["curator_old"] = _timed(lambda: _curator("trafilatura"))  # curator's trafilatura path
    if ev._rs_available():
        import rs_trafilatura

        out["rs"] = _timed(lambda: rs_trafilatura.extract(html).main_content)  # default, on the decoded page
        out["curator_rs"] = _timed(lambda: _curator("auto"))  # rs-trafilatura routed, with its fallback
    return out


def run_one(case: ev.Case) -> str:
    dest = CACHE / case.set / f"{case.id}.json"
    if dest.is_file():
        return str(dest)
    html, enc = ev.decode_case(case)
    res = candidates(html, case.url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    data = {"enc": enc, "out": {k: {"text": t, "cpu": c} for k, (t, c) in res.items()}}
    dest.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(dest)


def load_cached(cases: list[ev.Case]) -> list[tuple[ev.Case, dict]]:
    rows = []
    for c in cases:
        f = CACHE / c.set / f"{c.id}.json"
        if f.is_file():
            rows.append((c, json.loads(f.read_text(encoding="utf-8"))))
    return rows


def groups(c: ev.Case) -> list[str]:
    g = [c.set]
    if c.set == "wcxb-dev":
        g.append(f"wcxb-{c.kind}")
    elif ev.is_zh(c.gold):
        g.append(f"{c.set}-zh")
    return g


def score(cases: list[ev.Case]) -> None:
    rows = load_cached(cases)
    names = list(rows[-1][1]["out"]) if rows else []
    table: dict[str, dict[str, list[float]]] = {}
    cpu: dict[str, list[float]] = {}
    for c, d in rows:
        for n in names:
            f1 = ev.prf(d["out"][n]["text"], c.gold)[2]
            for g in groups(c):
                table.setdefault(g, {}).setdefault(n, []).append(f1)
            cpu.setdefault(n, []).append(d["out"][n]["cpu"])
    short = [n.replace("trafi_", "t_")[:10] for n in names]
    print(f"{'group':<26}{'n':>5}" + "".join(f"{s:>11}" for s in short))
    for g, per in sorted(table.items()):
        n = len(next(iter(per.values())))
        print(f"{g:<26}{n:>5}" + "".join(f"{sum(per[x]) / n:>11.3f}" for x in names))
    print(f"{'cpu ms/page':<31}" + "".join(f"{1000 * sum(cpu[x]) / len(cpu[x]):>11.1f}" for x in names))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--score", action="store_true")
    args = ap.parse_args()
    cases = ev.load_cases(ev.DEFAULT_DATA, ev.SETS)
    if args.score:
        score(cases)
        return 0
    todo = [c for c in cases if not (CACHE / c.set / f"{c.id}.json").is_file()]
    print(f"{len(todo)} of {len(cases)} pages to run", flush=True)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for i, _ in enumerate(pool.map(run_one, todo, chunksize=4)):
            if i % 100 == 0:
                print(i, time.strftime("%H:%M:%S"), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
