"""Extraction quality on a small fixed sample of the shared gold-text corpus (the full run is `make eval`)."""

from __future__ import annotations

import importlib.util
import statistics
import sys
from pathlib import Path
from types import ModuleType

import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "extraction"
EVAL = Path(__file__).resolve().parents[1] / "bench" / "eval_extraction.py"
SAMPLE = 12
# Sample means measured with curator's real path, minus a margin (see bench/eval_baseline.json for
# the full-corpus floors). Curator 0.937 / 0.966 on these samples with rs-trafilatura on non-CJK pages
# (CPython 3.12; 0.937 / 0.953 on the trafilatura-only path, which these floors also hold for).
FLOORS = {"magic-article-zh": 0.92, "scrapinghub-aeb": 0.945}
# curator 0.818, trafilatura default 0.815 on the 28-page sample (rs-trafilatura path). The sample was
# 2 pages per type; on those 14 the rs path scored 0.828 against trafilatura's 0.865 (two pages, a
# collection and a listing, lost 0.3-0.4 each) while on all 1,476 pages it wins 0.857 vs 0.827: 14
# pages were too few to compare engines, so the sample is now 4 per type.
WCXB_FLOOR = 0.79


def _load_eval() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_extraction", EVAL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ev() -> ModuleType:
    if not DATA.is_dir():
        pytest.skip(f"shared/data/extraction not found beside the repo: {DATA} (see shared/data/README.md)")
    return _load_eval()


def _sample(ev: ModuleType, name: str) -> list:
    cases = ev.load_cases(DATA, [name])
    if name == "magic-article":
        cases = [c for c in cases if ev.is_zh(c.gold)]
    return cases[:SAMPLE]


@pytest.mark.parametrize(
    ("name", "key"), [("magic-article", "magic-article-zh"), ("scrapinghub-aeb", "scrapinghub-aeb")]
)
def test_sample_f1_above_floor(ev: ModuleType, name: str, key: str) -> None:
    results = [ev.run_case(c) for c in _sample(ev, name)]
    assert len(results) == SAMPLE
    f1 = statistics.fmean(r.scores["curator"].f1 for r in results)
    base = statistics.fmean(r.scores["trafilatura"].f1 for r in results)
    worst = min(results, key=lambda r: r.scores["curator"].f1)
    assert f1 >= FLOORS[key], (
        f"{key}: sample F1 {f1:.3f} < floor {FLOORS[key]} (trafilatura {base:.3f}; "
        f"worst {worst.id[:12]} {worst.scores['curator'].f1:.2f})"
    )


WCXB_PER_TYPE = 4
WCXB_TYPES = ("article", "service", "product", "collection", "forum", "listing", "documentation")


def test_wcxb_sample_not_below_trafilatura(ev: ModuleType) -> None:
    # the first pages of every wcxb page type: curator's real path (decode, extract, metadata) must
    # not lose to trafilatura's default on them, beyond a small margin (WCXB_FLOOR: measured minus 0.03)
    cases = ev.load_cases(DATA, ["wcxb-dev"])
    sample = [c for kind in WCXB_TYPES for c in [c for c in cases if c.kind == kind][:WCXB_PER_TYPE]]
    assert len(sample) == WCXB_PER_TYPE * len(WCXB_TYPES)
    results = [ev.run_case(c) for c in sample]
    f1 = statistics.fmean(r.scores["curator"].f1 for r in results)
    base = statistics.fmean(r.scores["trafilatura"].f1 for r in results)
    assert f1 >= WCXB_FLOOR, f"wcxb sample F1 {f1:.3f} < floor {WCXB_FLOOR} (trafilatura {base:.3f})"
    assert f1 >= base - 0.01, f"wcxb sample: curator {f1:.3f} below trafilatura default {base:.3f}"


def test_scoring_protocol(ev: ModuleType) -> None:
    assert ev.tokens("AI 模型 GPT-4o") == ["ai", "模", "型", "gpt", "4o"]
    assert ev.prf("", "gold") == (0.0, 0.0, 0.0)
    assert ev.prf("一二三", "一二三四")[2] == pytest.approx(2 * 1.0 * 0.75 / 1.75)
    assert ev.is_zh("这是中文文本") and not ev.is_zh("日本語のテキスト") and not ev.is_zh("english text")
    assert ev.shingle_pr("a b c d e", "a b c d e") == (1.0, 1.0)


def test_bootstrap_interval_brackets_the_mean(ev: ModuleType) -> None:
    rows = [ev.Score(p=1.0, r=1.0, f1=x, sh_p=None, sh_r=None, chars=1, cpu=0.0) for x in (0.2, 0.4, 0.6, 0.8, 1.0)]
    lo, hi = ev.interval(rows)
    assert lo < 0.6 < hi and 0.2 <= lo and hi <= 1.0
    same = [ev.Score(p=1.0, r=1.0, f1=0.5, sh_p=None, sh_r=None, chars=1, cpu=0.0)] * 4
    assert ev.interval(same) == (0.5, 0.5)
