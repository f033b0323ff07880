"""Start-up stays light: `curator --help` and `curator status` import none of the heavy stacks
(clustering, extraction, the LLM client, the network client, the queue and database drivers, the feed
parsers); `--help` not even the settings and models (pydantic), and `draft` no numerics or segmenter.

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
real = [m for m, mod in sys.modules.items() if mod is not None]  # None: an import blocked, nothing loaded
loaded = sorted({m.split(".")[0] for m in real} | {m for m in real if m.startswith("curator.")})
print("@@" + json.dumps({"code": code, "loaded": loaded}))
"""


def _run(*args: str, cwd: Path | None = None) -> tuple[int, set[str], str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, check=False)  # the exit code is the probe's to report
    line = next(x for x in proc.stdout.splitlines() if x.startswith("@@"))
    found = json.loads(line[2:])
    return found["code"], set(found["loaded"]), proc.stdout


def test_importing_the_cli_imports_nothing_heavy() -> None:
    probe = ("import sys, json, curator.cli.app; "
             "print(json.dumps(sorted({m.split('.')[0] for m, mod in sys.modules.items() if mod is not None})))")
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
    assert loaded.isdisjoint((*HEAVY, "lxml", "feedparser")), sorted(loaded.intersection((*HEAVY, "lxml")))
    assert not {m for m in loaded if m.startswith("curator.sources.") and m != "curator.sources.registry"}


def test_the_root_help_builds_no_settings_or_models() -> None:
    """`curator --help` lists the commands from their signatures alone: no pydantic model is built."""
    code, loaded, out = _run("--help")
    assert code == 0 and "collect" in out and "status" in out
    assert "pydantic" not in loaded
    assert loaded.isdisjoint({"curator.settings", "curator.models", "curator.store"})


def test_status_imports_nothing_heavy(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    code, _, _ = _run("init", "--home", str(home))
    assert code == 0
    code, loaded, out = _run("status", "--home", str(home))
    assert code == 0
    assert "items by state:" in out and "next issue window:" in out  # the report was printed
    # The source kinds are checked against the registry by name: no source module, no feed parser.
    heavy = (*HEAVY, "lxml", "feedparser")
    assert loaded.isdisjoint(heavy), sorted(loaded.intersection(heavy))
    assert "curator.sources.registry" in loaded  # the kinds were checked
    assert not {m for m in loaded if m.startswith("curator.sources.") and m != "curator.sources.registry"}


def test_the_commands_that_run_the_pipeline_still_load_it(tmp_path: Path) -> None:
    """The lazy import is really taken: `draft` on an empty workspace reaches the pipeline, and still
    imports no clustering (a draft clusters nothing)."""
    home = tmp_path / "ws"
    assert _run("init", "--home", str(home))[0] == 0
    code, loaded, _ = _run("draft", "--home", str(home), "--date", "2026-11-30")
    assert code == 66  # fewer stories than drafts.min_stories: nothing written
    assert "curator.pipeline" in loaded and "curator.select" in loaded
    assert loaded.isdisjoint({"datasketch", "sklearn", "scipy", "curator.cluster"})
    # Nor what only collecting needs: numerics, the network client, feed parsers, the worker processes.
    collect_only = {"numpy", "httpx", "lxml", "feedparser", "trafilatura", "multiprocessing", "curator.http",
                    "curator.workers", "curator.fetch", "curator.discover", "curator.enrich.offline"}
    # Nor the YAML library: only front-matter extras and reading a past issue's front matter need it.
    collect_only |= {"yaml"}
    assert loaded.isdisjoint(collect_only), sorted(loaded & collect_only)


@pytest.mark.parametrize(("summary", "segments"), [("模型在本地运行，速度更快。", False), ("这款软体在本地运行。", True)])
def test_the_copy_lint_segments_only_a_line_holding_a_taiwan_phrase(tmp_path: Path, summary: str,
                                                                     segments: bool) -> None:
    """The regional-vocabulary rule loads jieba (a second of CPU) only for a line where a Taiwan phrase
    occurs at all; the finding itself is unchanged."""
    home = tmp_path / "ws"
    assert _run("init", "--home", str(home))[0] == 0
    draft = home / "drafts" / "issue-1.md"
    draft.write_text(f"# 第 1 期\n\n## 工具\n\n### 一个工具\n\n{summary}\n", encoding="utf-8")
    _, loaded, out = _run("lint", str(draft), "--home", str(home))
    assert ("jieba" in loaded) is segments
    assert ("regional_vocab" in out) is segments


def test_a_process_that_imports_httpx_does_not_import_its_command_line_client() -> None:
    # httpx imports its CLI (click, rich, pygments) whenever they are installed; curator never runs it.
    probe = "import sys, json, curator, httpx; print(json.dumps(sorted(m for m, mod in sys.modules.items() if mod)))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    loaded = set(json.loads(proc.stdout))
    assert "httpx" in loaded and not loaded & {"rich", "pygments", "httpx._main"}
