"""Start-up stays light: `curator --help` and `curator status` import none of the heavy stacks
(clustering, extraction, the LLM client, the network client, the queue and database drivers).

Each check runs in a fresh interpreter, since this test process has imported everything already.
The bench times the commands; these tests only say what gets imported, so they cannot race.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# What the commands that run the pipeline import, and `--help` / `status` must not.
HEAVY = ("scipy", "sklearn", "numpy", "trafilatura", "openai", "httpx", "jieba", "celery", "redis", "psycopg",
         "datasketch", "rich")

PROBE = """
import json, sys
from curator.cli.app import app
code = 0
try:
    app(sys.argv[1:])
except SystemExit as exc:
    code = exc.code or 0
loaded = sorted({m.split(".")[0] for m in sys.modules} | {m for m in sys.modules if m.startswith("curator.")})
print("@@" + json.dumps({"code": code, "loaded": loaded}))
"""


def _run(*args: str, cwd: Path | None = None) -> tuple[int, set[str], str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, check=False)  # the exit code is the probe's to report
    line = next(x for x in proc.stdout.splitlines() if x.startswith("@@"))
    found = json.loads(line[2:])
    return found["code"], set(found["loaded"]), proc.stdout


def test_importing_the_cli_imports_nothing_heavy() -> None:
    probe = "import sys, json, curator.cli.app; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    proc = subprocess.run([sys.executable, "-c", probe],
                          capture_output=True, text=True, timeout=120, check=True)
    loaded = set(json.loads(proc.stdout))
    assert "curator" in loaded  # the probe did import the app
    assert loaded.isdisjoint((*HEAVY, "lxml", "feedparser")), sorted(loaded.intersection((*HEAVY, "lxml")))


@pytest.mark.parametrize("args", [["--help"], ["collect", "--help"], ["sources", "--help"], ["draft", "--help"]])
def test_help_imports_nothing_heavy(args: list[str]) -> None:
    code, loaded, out = _run(*args)
    assert code == 0
    assert "Usage:" in out  # the help itself was printed
    assert loaded.isdisjoint((*HEAVY, "lxml")), sorted(loaded.intersection((*HEAVY, "lxml")))


def test_status_imports_nothing_heavy(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    code, _, _ = _run("init", "--home", str(home))
    assert code == 0
    code, loaded, out = _run("status", "--home", str(home))
    assert code == 0
    assert "items by state:" in out and "next issue window:" in out  # the report was printed
    # The source kinds are checked against the registry (its feed parsers load), nothing heavier.
    assert loaded.isdisjoint(HEAVY), sorted(loaded.intersection(HEAVY))


def test_the_commands_that_run_the_pipeline_still_load_it(tmp_path: Path) -> None:
    """The lazy import is really taken: `draft` on an empty workspace reaches the pipeline, and still
    imports no clustering (a draft clusters nothing)."""
    home = tmp_path / "ws"
    assert _run("init", "--home", str(home))[0] == 0
    code, loaded, _ = _run("draft", "--home", str(home), "--date", "2026-11-30")
    assert code == 66  # fewer stories than drafts.min_stories: nothing written
    assert "curator.pipeline" in loaded and "curator.select" in loaded
    assert loaded.isdisjoint({"datasketch", "sklearn", "scipy", "curator.cluster"})
