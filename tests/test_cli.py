"""The CLI as an editor uses it (typer's CliRunner; exit codes and messages)."""

from typer.testing import CliRunner

from curator.cli import app

runner = CliRunner()


def test_every_command_has_help():
    for cmd in ("init", "collect", "add", "draft", "status", "demo"):
        result = runner.invoke(app, [cmd, "--help"])
        assert result.exit_code == 0, cmd
        assert len(result.output.strip().splitlines()) > 3


def test_init_scaffolds_a_workspace_and_never_overwrites(tmp_path):
    result = runner.invoke(app, ["init", "--home", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "config" / "curator.toml").is_file() and (tmp_path / "prompts" / "summarise.md").is_file()
    (tmp_path / "config" / "curator.toml").write_text("# mine\n")
    runner.invoke(app, ["init", "--home", str(tmp_path)])
    assert (tmp_path / "config" / "curator.toml").read_text() == "# mine\n"


def test_bad_config_exits_78_and_names_the_field(workspace):
    (workspace / "config" / "zz.toml").write_text("[fetch]\nmax_bytes = -1\n")
    result = runner.invoke(app, ["collect", "--home", str(workspace)])
    assert result.exit_code == 78
    assert "fetch.max_bytes" in result.output


def test_add_refuses_a_non_web_url(workspace):
    result = runner.invoke(app, ["add", "javascript:alert(1)", "--home", str(workspace), "--no-process"])
    assert result.exit_code == 2  # a usage error: nothing stored
    assert "only http:// and https:// URLs" in result.output


def test_add_then_status_shows_the_item_waiting(workspace):
    result = runner.invoke(app, ["add", "https://example.com/post?utm_source=x", "--home", str(workspace), "--no-process"])
    assert result.exit_code == 0 and "added: item 1" in result.output
    again = runner.invoke(app, ["add", "http://example.com/post/", "--home", str(workspace), "--no-process"])
    assert "already known: item 1" in again.output
    status = runner.invoke(app, ["status", "--home", str(workspace)])
    assert status.exit_code == 0
    assert "discovered" in status.output
    assert "publication.name" in status.output and "file:config/curator.toml" in status.output


def test_draft_with_nothing_collected_refuses_unless_allow_empty_then_writes_a_valid_draft_and_says_why(workspace):
    refused = runner.invoke(app, ["draft", "--home", str(workspace), "--date", "2026-11-23"])
    assert refused.exit_code == 66 and "curator collect" in refused.output  # #12 §3: drafts.min_stories = 1
    assert not (workspace / "drafts" / "issue-1.md").exists()
    result = runner.invoke(app, ["draft", "--home", str(workspace), "--date", "2026-11-23", "--allow-empty"])
    assert result.exit_code == 0, result.output
    assert "run `curator collect` first" in result.output
    assert (workspace / "drafts" / "issue-1.md").read_text().startswith("---\n")


def test_draft_rejects_a_malformed_date(workspace):
    result = runner.invoke(app, ["draft", "--home", str(workspace), "--date", "23/11/2026"])
    assert result.exit_code == 2 and "2026-11-23" in result.output


def test_status_counts_the_next_issues_candidates_per_section(tmp_path):
    from curator.demo import run_demo

    run_demo(tmp_path, env={}, echo=lambda s: None)
    out = runner.invoke(app, ["status", "--home", str(tmp_path)]).output
    line = next(l for l in out.splitlines() if l.startswith("next issue candidates:"))
    counts = dict(part.split("=") for part in line.split(":", 1)[1].split())
    assert set(counts) == {"ai", "dev", "industry", "research"}
    assert sum(int(v) for v in counts.values()) >= 10


def test_lint_check_links_reports_dead_links_with_their_line(workspace, httpserver):
    httpserver.expect_request("/ok").respond_with_data("fine")
    httpserver.expect_request("/gone").respond_with_data("gone", status=404)
    ok, gone = httpserver.url_for("/ok"), httpserver.url_for("/gone")
    (workspace / "config" / "zz.toml").write_text('[fetch]\nallowed_hosts = ["localhost", "127.0.0.1"]\n')
    draft = workspace / "d.md"
    draft.write_text(f"---\ntitle: t\ndate: 2026-11-20\n---\n\n## AI\n\n**好文**：摘要。[^1]\n\n**坏链**：摘要。[^2]\n\n"
                     f"[^1]: [源：好文]({ok})\n\n[^2]: [源：坏链]({gone})\n", encoding="utf-8")
    plain = runner.invoke(app, ["lint", str(draft), "--home", str(workspace)])
    assert "broken_link" not in plain.output
    checked = runner.invoke(app, ["lint", str(draft), "--home", str(workspace), "--check-links"])
    assert checked.exit_code == 1
    assert "d.md:14: [broken_link]" in checked.output and "http_404" in checked.output
    assert ok not in checked.output.split("[broken_link]", 1)[1].splitlines()[0]


def test_regenerating_a_draft_keeps_its_window(tmp_path):
    from curator.demo import run_demo

    run_demo(tmp_path, env={}, echo=lambda s: None)  # drafted for the corpus week (2026-11-23)
    first = (tmp_path / "drafts" / "issue-1.md").read_text()
    again = runner.invoke(app, ["draft", "--home", str(tmp_path)])  # no --date: the open draft's own window
    assert again.exit_code == 0, again.output
    assert (tmp_path / "drafts" / "issue-1.md").read_text() == first
    assert "date: 2026-11-23" in first


def test_collect_json_summary_is_machine_readable(workspace):
    import json

    from tests.sites import NewsSite

    with NewsSite(n_articles=3) as site:
        site.write_sources(workspace)
        result = runner.invoke(app, ["collect", "--home", str(workspace), "--provider", "offline", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{"):])
    assert summary["status"] == "ok" and summary["counters"]["enrich/ok"] == 3
    assert any("OFFLINE" in n for n in summary["notes"])


def test_a_line_naming_a_command_is_run_by_an_app_of_that_command_alone():
    """`curator` (main) hands a line that names a command to an app holding that command only (typer
    builds every command's options before parsing); anything else goes to the whole app."""
    from curator.cli.app import COMMANDS, command_named, make_app

    assert command_named(["status", "--home", "x"]) == "status"
    assert command_named(["-v", "sources", "list"]) == "sources"
    assert command_named(["-q", "--verbose", "draft", "--json"]) == "draft"
    for line in ([], ["-v"], ["--help"], ["-V", "status"], ["stauts"], ["--", "status"], ["--home", "status"]):
        assert command_named(line) is None, line
    full = CliRunner().invoke(app, ["--help"]).output
    assert [name for name, _ in COMMANDS] == [n for n, _ in COMMANDS if f"\n  {n} " in full]  # all listed
    for name, _ in COMMANDS:
        for line in ([name, "--help"], ["-v", name, "--bogus-option"]):
            one, whole = CliRunner().invoke(make_app(name), line), CliRunner().invoke(app, line)
            assert (one.exit_code, one.output) == (whole.exit_code, whole.output), line


def test_main_runs_the_named_command_as_the_whole_app_does(tmp_path):
    import subprocess
    import sys

    home = tmp_path / "ws"
    assert CliRunner().invoke(app, ["init", "--home", str(home)]).exit_code == 0
    CliRunner().invoke(app, ["status", "--home", str(home)])  # makes the store (its migrations log on stderr)
    whole = CliRunner().invoke(app, ["status", "--home", str(home)])
    one = subprocess.run([sys.executable, "-m", "curator.cli", "status", "--home", str(home)], capture_output=True,
                         text=True, timeout=120, check=False)
    assert whole.exit_code == one.returncode == 0 and "items by state:" in whole.output
    assert one.stdout == whole.output
