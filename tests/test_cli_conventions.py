"""Issue 16 "CLI": the habits of ruff, uv and httpie (--version, -h, -v/-q anywhere, --json, Ctrl-C = 130)."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from curator import __version__
from curator.cli import app

runner = CliRunner()


def _all_commands() -> list[list[str]]:
    root = get_command(app)
    out: list[list[str]] = []
    for name, cmd in getattr(root, "commands", {}).items():
        out.append([name])
        out += [[name, sub] for sub in getattr(cmd, "commands", {})]
    return out


def test_version_and_short_help():
    for flag in ("--version", "-V"):
        result = runner.invoke(app, [flag])
        assert result.exit_code == 0 and result.stdout.strip() == f"curator {__version__}"
    assert runner.invoke(app, ["-h"]).exit_code == 0
    short, long = runner.invoke(app, ["lint", "-h"]), runner.invoke(app, ["lint", "--help"])
    assert short.exit_code == 0 and short.stdout == long.stdout


@pytest.mark.parametrize("args", _all_commands(), ids=" ".join)
def test_help_shows_no_bool_metavars(args):
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.stdout and "BOOLEAN" not in result.stdout


def test_arguments_are_named_url_and_file():
    assert "{URL}" in runner.invoke(app, ["add", "-h"]).stdout
    assert "{URL}" in runner.invoke(app, ["sources", "add", "-h"]).stdout
    assert "{FILE}" in runner.invoke(app, ["lint", "-h"]).stdout
    assert "{FILE}" in runner.invoke(app, ["publish", "-h"]).stdout
    assert "{FILE}" in runner.invoke(app, ["sources", "import-opml", "-h"]).stdout


@pytest.mark.parametrize("flag", ["-v", "-q", "--verbose", "--quiet"])
def test_verbose_and_quiet_are_accepted_after_the_subcommand(workspace, flag):
    before = runner.invoke(app, [flag, "status", "--home", str(workspace)])
    after = runner.invoke(app, ["status", "--home", str(workspace), flag])
    nested = runner.invoke(app, ["sources", "list", flag, "--home", str(workspace)])
    assert before.exit_code == after.exit_code == nested.exit_code == 0, after.output


def _runs(workspace: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(workspace / "data" / "curator.db") as db:
        return list(db.execute("SELECT command, status FROM runs ORDER BY id"))


def test_ctrl_c_during_collect_says_interrupted_exits_130_and_records_the_run(workspace, monkeypatch):
    from curator.pipeline import Pipeline

    def boom(self, run):  # the editor presses Ctrl-C while the enrich stage runs
        raise KeyboardInterrupt

    monkeypatch.setattr(Pipeline, "_enrich", boom)
    result = runner.invoke(app, ["collect", "--home", str(workspace), "--provider", "offline"])
    assert result.exit_code == 130
    assert "curator: interrupted" in result.stderr and "Traceback" not in result.output
    assert _runs(workspace)[-1] == ("collect", "interrupted")


def test_sigint_during_collect_stops_like_sigterm_and_exits_130(workspace, monkeypatch):
    import signal

    from curator.pipeline import Pipeline

    real = Pipeline._cluster

    def press_ctrl_c(self, run):
        signal.raise_signal(signal.SIGINT)  # handled: stop taking work, finish, record
        return real(self, run)

    monkeypatch.setattr(Pipeline, "_cluster", press_ctrl_c)
    result = runner.invoke(app, ["collect", "--home", str(workspace), "--provider", "offline"])
    assert result.exit_code == 130, result.output
    assert "interrupted" in result.stderr
    assert _runs(workspace)[-1] == ("collect", "interrupted")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


# -- --json everywhere ----------------------------------------------------------------------------------


def test_add_json(workspace):
    result = runner.invoke(app, ["add", "https://example.com/a", "--home", str(workspace), "--no-process", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"item_id": 1, "new": True, "run_id": None, "status": "ok"}


def test_archive_import_json(workspace, tmp_path):
    past = tmp_path / "past"
    past.mkdir()
    (past / "issue-1.md").write_text("# 第 1 期\n\n1、[好文](https://example.com/x)\n\n摘要。\n", encoding="utf-8")
    result = runner.invoke(app, ["archive", "import", str(past), "--home", str(workspace), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"read", "skipped", "links_added"}


def test_draft_json_includes_the_lint_result_and_status_json_the_origins(workspace):
    result = runner.invoke(app, ["draft", "--home", str(workspace), "--json", "--allow-empty"])  # an empty week (issue 12 §3)
    data = json.loads(result.stdout)
    assert data["draft"] and set(data["lint"]) == {"file", "errors", "warnings", "findings"}
    status = json.loads(runner.invoke(app, ["status", "--home", str(workspace), "--json"]).stdout)
    assert status["settings"]["run.now"] == "file:config/zz-tests.toml"  # the suite pins its week there
    assert any(v.startswith("file:config/curator.toml") for v in status["settings"].values())


def test_publish_json(tmp_path):
    from curator.demo import run_demo

    run_demo(tmp_path, env={}, echo=lambda s: None)
    result = runner.invoke(app, ["publish", str(tmp_path / "drafts" / "issue-1.md"), "--home", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["number"] == 1 and data["kept"] and data["published_path"]


# -- lint ---------------------------------------------------------------------------------------------

DRAFT = ("---\ntitle: t\ndate: 2026-11-20\n---\n\n## AI\n\n**好文**：这是一段摘要。[^1]\n\n"
         "[^1]: [源：好文](http://plain.example/post?utm_source=x&id=3)\n")


def _draft(workspace: Path, text: str = DRAFT) -> Path:
    path = workspace / "d.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_lint_lines_carry_the_severity_and_github_format_annotates(workspace):
    path = _draft(workspace)
    text = runner.invoke(app, ["lint", str(path), "--home", str(workspace)])
    assert text.exit_code == 1
    assert f"{path}:10: [tracking_params] error:" in text.stdout and f"{path}:10: [non_https] warning:" in text.stdout
    gh = runner.invoke(app, ["lint", str(path), "--home", str(workspace), "--format", "github"])
    assert f"::error file={path},line=10,title=tracking_params::" in gh.stdout
    assert f"::warning file={path},line=10,title=non_https::" in gh.stdout


def test_lint_select_ignore_and_json(workspace):
    path = _draft(workspace)
    only = json.loads(runner.invoke(app, ["lint", str(path), "--home", str(workspace), "--select", "non_https",
                                          "--json"]).stdout)
    assert [f["rule"] for f in only["findings"]] == ["non_https"] and only["errors"] == 0
    rest = runner.invoke(app, ["lint", str(path), "--home", str(workspace), "--ignore", "tracking_params,non_https"])
    assert rest.exit_code == 0 and "tracking_params" not in rest.stdout
    bad = runner.invoke(app, ["lint", str(path), "--home", str(workspace), "--select", "nope"])
    assert bad.exit_code == 2 and "unknown lint rule nope" in bad.output


def test_allow_http_hosts_silences_non_https(workspace):
    path = _draft(workspace)
    (workspace / "config" / "zz.toml").write_text('[lint]\nallow_http_hosts = ["plain.example"]\n')
    out = runner.invoke(app, ["lint", str(path), "--home", str(workspace)]).stdout
    assert "non_https" not in out and "tracking_params" in out


def test_lint_fix_removes_tracking_and_keeps_http_when_https_does_not_answer(workspace):
    path = _draft(workspace)
    (workspace / "config" / "zz.toml").write_text('[fetch]\nresolve = {"plain.example:443" = "127.0.0.1:9"}\n'
                                                  'allowed_hosts = ["plain.example"]\n')
    result = runner.invoke(app, ["lint", str(path), "--home", str(workspace), "--fix"])
    text = path.read_text(encoding="utf-8")
    assert "(http://plain.example/post?id=3)" in text  # no https there (nothing listens): left as http
    assert "[tracking_params] fixed" in result.stdout and "tracking_params] error" not in result.stdout


def test_lint_fix_upgrades_to_https_when_the_https_page_answers(workspace, tmp_path):
    from curator.demo.server import DemoServer

    root = tmp_path / "sites"
    (root / "plain.demo.test").mkdir(parents=True)
    (root / "plain.demo.test" / "post.html").write_text("<html><body>hi</body></html>")
    with DemoServer(root) as srv:
        (workspace / "config" / "zz.toml").write_text(
            f'[fetch]\nresolve = {{"plain.demo.test:443" = "127.0.0.1:{srv.https_port}"}}\n'
            f'ca_bundle = "{srv.ca_bundle}"\nallowed_hosts = ["plain.demo.test"]\nrespect_robots = false\n')
        path = _draft(workspace, DRAFT.replace("plain.example/post", "plain.demo.test/post.html"))
        result = runner.invoke(app, ["lint", str(path), "--home", str(workspace), "--fix"])
    assert "(https://plain.demo.test/post.html?id=3)" in path.read_text(encoding="utf-8"), result.output
    assert result.exit_code == 0, result.output


# -- sources and config ---------------------------------------------------------------------------------

SOURCES = ('# my feeds\n[[sources]]\nname = "博客"\nurl = "https://blog.example/feed"\n\n'
           '[[sources]]\nname = "hn"\nkind = "hn"\nurl = "https://hn.algolia.com/api/v1/search?tags=front_page"\n')


def test_sources_list_disable_remove(workspace):
    (workspace / "config" / "sources.toml").write_text(SOURCES, encoding="utf-8")
    listed = runner.invoke(app, ["sources", "list", "--home", str(workspace)])
    assert "博客" in listed.stdout and "2 source(s)" in listed.stdout
    assert runner.invoke(app, ["sources", "disable", "hn", "--home", str(workspace)]).exit_code == 0
    rows = json.loads(runner.invoke(app, ["sources", "list", "--home", str(workspace), "--json"]).stdout)
    assert [r["enabled"] for r in rows] == [True, False]
    assert runner.invoke(app, ["sources", "disable", "hn", "--enable", "--home", str(workspace)]).exit_code == 0
    removed = runner.invoke(app, ["sources", "remove", "博客", "--home", str(workspace)])
    assert removed.exit_code == 0, removed.output
    text = (workspace / "config" / "sources.toml").read_text(encoding="utf-8")
    assert text.startswith("# my feeds\n[[sources]]\nname = \"hn\"") and "enabled = true" in text
    missing = runner.invoke(app, ["sources", "remove", "nope", "--home", str(workspace)])
    assert missing.exit_code == 2 and "no source named 'nope'" in missing.output


def test_sources_check_json(workspace):
    (workspace / "config" / "sources.toml").write_text(SOURCES, encoding="utf-8")
    rows = json.loads(runner.invoke(app, ["sources", "check", "--home", str(workspace), "--json"]).stdout)
    assert [r["name"] for r in rows] == ["博客", "hn"] and rows[0]["note"] == "(not run yet)"


def test_config_show_says_where_each_value_came_from_and_masks_secrets(workspace):
    env = {"OPENAI_API_KEY": "sk-not-shown-1234", "CURATOR_LLM__MODEL": "gpt-4o"}
    out = runner.invoke(app, ["config", "show", "--home", str(workspace)], env=env).stdout
    assert "sk-not-shown" not in out
    line = next(l for l in out.splitlines() if l.startswith("llm.model "))
    assert '"gpt-4o"' in line and "env:CURATOR_LLM__MODEL" in line
    data = json.loads(runner.invoke(app, ["config", "show", "--home", str(workspace), "--json"], env=env).stdout)
    assert data["llm.api_key"]["value"] == "****** (set)"
    assert data["run.now"]["origin"] == "file:config/zz-tests.toml:3"  # the file and its line


def test_status_aligns_cjk_source_names(workspace):
    from curator.cli.output import display_width
    from tests.sites import NewsSite

    with NewsSite(n_articles=1) as site:
        site.write_sources(workspace)
        runner.invoke(app, ["collect", "--home", str(workspace), "--provider", "offline"])
    out = runner.invoke(app, ["status", "--home", str(workspace)]).stdout
    line = next(l for l in out.splitlines() if l.startswith("  测试站"))
    assert display_width(line[: line.index("ok=")]) == 2 + 28 + 1


def test_a_source_removed_from_config_disappears_from_status(workspace):
    from tests.sites import NewsSite

    with NewsSite(n_articles=1) as site:
        site.write_sources(workspace)
        runner.invoke(app, ["collect", "--home", str(workspace), "--provider", "offline"])
    assert "测试站" in runner.invoke(app, ["status", "--home", str(workspace)]).stdout
    assert runner.invoke(app, ["sources", "remove", "测试站", "--home", str(workspace)]).exit_code == 0
    out = runner.invoke(app, ["status", "--home", str(workspace), "--json"]).stdout
    assert json.loads(out)["sources"] == []


def test_progress_bars_show_rate_and_eta():
    from rich.console import Console
    from rich.progress import Progress

    from curator.cli.progress import columns

    console = Console(file=io.StringIO(), width=120, force_terminal=False)
    with Progress(*columns(), console=console, auto_refresh=False) as bar:
        task = bar.add_task("fetch", total=10)
        bar.advance(task, 4)
        bar.refresh()
    out = console.file.getvalue()
    assert "4/10" in out and "/s" in out and "eta" in out
