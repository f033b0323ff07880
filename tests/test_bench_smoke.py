"""`make bench` in miniature: corpus generator + bench on 60 real pages, in a child process.

Asserts what the bench reports and checks, never how fast anything was.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXTRACTION = REPO.parent / "shared" / "data" / "extraction"

needs_data = pytest.mark.skipif(
    not EXTRACTION.is_dir(), reason=f"dataset missing: {EXTRACTION} (the bench builds its pages from it)"
)


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    base = tmp_path_factory.mktemp("bench")
    out = base / "out"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench_collect.py"), "--quick", "--pages", "60", "--feeds", "6",
         "--llm-items", "20", "--store-items", "300", "--no-check-targets", "--workdir", str(base / "work"),
         "--out-dir", str(out)],
        capture_output=True, text=True, timeout=1200, cwd=REPO, check=False,
    )
    return proc, out


@needs_data
def test_bench_writes_results_with_every_row(bench_run):
    proc, out = bench_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads((out / "results.json").read_text(encoding="utf-8"))
    for key in ("machine", "params", "first_collect", "rerun", "cpu_floor", "trafilatura_cli", "enrichment",
                "problems", "ok"):
        assert key in res, key
    assert res["ok"] and res["problems"] == []
    assert res["params"]["pages"] == 60 and res["params"]["feeds"] == 6
    first = res["first_collect"]
    for key in ("wall_s", "cpu_s", "peak_rss_mb", "pages_per_s", "stages"):
        assert key in first, key
    assert first["pages_fetched"] == 60
    assert first["pages_extracted"] > 0
    assert {"discover", "fetch", "extract"} <= set(first["stages"])
    for key in ("floor_s", "ratio", "cpu_ratio", "trafilatura_cpu_s"):
        assert key in res["cpu_floor"], key
    cli = res["trafilatura_cli"]
    assert cli.get("returncode") == 0 and "ratio" in cli
    assert res["cpu_floor"]["trafilatura_meta_cpu_s"] >= res["cpu_floor"]["trafilatura_cpu_s"] * 0.5
    commands = res["commands"]
    assert commands["items"] == 300 and all(commands[k] > 0 for k in ("draft_s", "board_page_s", "status_s", "help_s", "draft_cpu_s"))
    md = (out / "results.md").read_text(encoding="utf-8")
    assert md.startswith("| figure | before #15 | this run | target | verdict |")  # the targets table first
    for figure in ("curator CPU ÷ trafilatura CPU", "unchanged re-run ÷ first run", "`draft` on 300 items",
                   "a board page on 300 items", "`status` on 300 items", "`curator --help`", "Load average"):
        assert figure in md, figure
    assert "not measured" not in md.split("\n\n", 1)[0]  # every figure of the targets table has a value
    assert "| metric | value | ratio / notes |" in md
    assert "CPU floor" in md and "trafilatura CLI" in md and "unchanged re-run" in md
    assert "Machine:" in md


@needs_data
def test_unchanged_rerun_does_no_work_and_gets_304s(bench_run):
    proc, out = bench_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    rerun = json.loads((out / "results.json").read_text(encoding="utf-8"))["rerun"]
    assert rerun["re_extractions"] == 0
    assert rerun["llm_calls"] == 0
    assert rerun["page_fetches"] == 0
    assert rerun["enrichments"] == 0
    assert rerun["not_modified"] > 0  # the validator-aware hosts answered the feeds with 304
    assert rerun["feeds_not_modified"] > 0


@needs_data
def test_enrichment_counts_calls_and_its_rerun_makes_none(bench_run):
    proc, out = bench_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    enr = json.loads((out / "results.json").read_text(encoding="utf-8"))["enrichment"]
    assert enr["llm_calls"] >= enr["items_enriched"] > 0
    assert enr["input_tokens"] > 0 and enr["output_tokens"] > 0
    assert enr["rerun"]["llm_calls"] == 0 and enr["rerun"]["fake_requests"] == 0
    assert enr["rerun"]["enrichments"] == 0


def test_dataset_missing_is_a_clean_skip(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench_collect.py"), "--quick", "--data", str(tmp_path / "nothing"),
         "--workdir", str(tmp_path / "work"), "--out-dir", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, cwd=REPO, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "dataset missing" in proc.stdout
    assert not (tmp_path / "out" / "results.json").exists()
