"""Try curator's extraction with other per-profile modes on every dev page (a development aid).

    python bench/tune.py NAME '{"article": {"precision": true, "cleanup": true}, ...}' [--jobs 2]
    python bench/tune.py --table NAME [NAME ...]

Each run stores per-page texts, profiles and CPU under bench/out/tune/NAME.json (gitignored);
`--table` prints the macro F1 per set, zh subset and wcxb page type next to the cached candidates
of bench/candidates.py, and per profile, so a rule is judged on every page type at once.
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

import candidates as cand
import eval_extraction as ev

OUT = REPO / "bench" / "out" / "tune"
_MODES: dict = {}


def _init(modes: dict) -> None:
    from curator import extract

    for name, kw in modes.items():
        if name == "_fallback":
            extract.FALLBACK = extract.Mode(**kw)
        else:
            extract.MODES[name] = extract.Mode(**kw)


def _one(case: ev.Case) -> tuple[str, str, str, float]:
    from curator import extract

    html, _ = ev.decode_case(case)
    t = time.process_time()
    try:
        text = extract.extract_text(html, case.url)
        profile = extract.page_kind(extract.prepared_tree(html), html)
    except Exception:  # noqa: BLE001
        text, profile = "", "error"
    return case.set + "/" + case.id, text, profile, time.process_time() - t


def run(name: str, modes: dict, jobs: int) -> None:
    cases = ev.load_cases(ev.DEFAULT_DATA, ev.SETS)
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init, initargs=(modes,)) as pool:
        rows = list(pool.map(_one, cases, chunksize=8))
    OUT.mkdir(parents=True, exist_ok=True)
    data = {k: {"text": t, "profile": p, "cpu": c} for k, t, p, c in rows}
    (OUT / f"{name}.json").write_text(json.dumps({"modes": modes, "pages": data}, ensure_ascii=False))


def table(names: list[str], extra: list[str]) -> None:
    cases = ev.load_cases(ev.DEFAULT_DATA, ev.SETS)
    cached = {c.set + "/" + c.id: d for c, d in cand.load_cached(cases)}
    runs = {n: json.loads((OUT / f"{n}.json").read_text())["pages"] for n in names}
    cols = extra + names
    sums: dict[str, dict[str, list[float]]] = {}
    for c in cases:
        key = c.set + "/" + c.id
        if key not in cached:
            continue
        prof = runs[names[0]][key]["profile"] if names else "?"
        groups = cand.groups(c) + ["overall", f"profile-{prof}", f"{c.set}-profile-{prof}"]
        for col in cols:
            text = cached[key]["out"][col]["text"] if col in extra else runs[col][key]["text"]
            f1 = ev.prf(text, c.gold)[2]
            for g in groups:
                sums.setdefault(g, {}).setdefault(col, []).append(f1)
    print(f"{'group':<36}{'n':>5}" + "".join(f"{c[:10]:>11}" for c in cols))
    for g in sorted(sums):
        n = len(next(iter(sums[g].values())))
        print(f"{g:<36}{n:>5}" + "".join(f"{sum(sums[g][c]) / n:>11.3f}" for c in cols))
    cpu = [
        1000 * sum(runs[n][k]["cpu"] for k in runs[n]) / max(1, len(runs[n])) for n in names
    ]
    print("cpu ms/page (text + profile again):", [f"{n}={x:.1f}" for n, x in zip(names, cpu, strict=True)])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("name", nargs="*")
    ap.add_argument("--modes", default="{}")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--table", action="store_true")
    ap.add_argument("--extra", default="trafi,trafi_prec,trafi_rec,readability,curator_old")
    args = ap.parse_args()
    if args.table:
        table(args.name, [x for x in args.extra.split(",") if x])
    else:
        run(args.name[0], json.loads(args.modes), args.jobs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
