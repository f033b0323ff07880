"""`make bench`'s search bench in miniature (300 items, 30 queries), in a child process.

Asserts what it builds and reports, never how fast anything was."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXTRACTION = REPO.parent / "shared" / "data" / "extraction"


@pytest.mark.skipif(not EXTRACTION.is_dir(), reason=f"dataset missing: {EXTRACTION} (the bench's texts)")
def test_search_bench_builds_a_store_and_reports_median_and_p95(tmp_path):
    out = tmp_path / "search.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench_search.py"), "--items", "300", "--queries", "30",
         "--budget-ms", "1000000", "--workdir", str(tmp_path / "work"), "--keep", "--out", str(out)],
        capture_output=True, text=True, timeout=900, cwd=REPO, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "median" in proc.stdout and "p95" in proc.stdout
    res = json.loads(out.read_text(encoding="utf-8"))
    assert res["items"] == 300 and res["queries"] == 30 and res["ok"] is True
    assert res["hits_per_query"] > 1  # the queries come from the stored texts: they find them
    assert (tmp_path / "work" / "search.db").exists()


def test_search_bench_fails_loudly_above_its_budget(tmp_path):
    """A budget no search can meet: exit 1 and the reason on stderr (the gate `make bench` relies on)."""
    if not EXTRACTION.is_dir():
        pytest.skip(f"dataset missing: {EXTRACTION}")
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench_search.py"), "--items", "60", "--queries", "5",
         "--budget-ms", "0", "--workdir", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=900, cwd=REPO, check=False,
    )
    assert proc.returncode == 1 and "above the 0 ms budget" in proc.stderr
