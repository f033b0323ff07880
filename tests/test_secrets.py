"""Row 38: the API key never reaches logs, output, the store, drafts or error messages."""

from typer.testing import CliRunner

from curator.cli import app
from tests.canary import CANARY
from tests.fake_openai import Reply
from tests.sites import NewsSite


def test_a_provider_error_that_echoes_the_key_leaks_it_nowhere(workspace, fake_llm, monkeypatch):
    echo = {"error": {"message": f"Incorrect API key provided: {CANARY}", "type": "invalid_request_error"}}
    fake_llm.script = [Reply(status=401, body=echo)] * 20
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.base_url)
    with NewsSite(n_articles=3) as site:
        site.write_sources(workspace)
        result = CliRunner().invoke(app, ["-v", "collect", "--home", str(workspace)])
        draft = CliRunner().invoke(app, ["draft", "--home", str(workspace), "--date", "2026-11-20"])
        status = CliRunner().invoke(app, ["status", "--home", str(workspace), "--json"])
    assert result.exit_code == 69, result.output  # a refused key ends the run (issue 12 §1) …
    assert "rejected the API key" in result.output  # … and the editor is told what went wrong …
    for out in (result.output, draft.output, status.output):
        assert CANARY not in out  # … without the key
    assert "set (value hidden)" in CliRunner().invoke(app, ["status", "--home", str(workspace)]).output
    # The autouse fixture then sweeps every file under the workspace (store, WAL, drafts) for the key.


def test_credentials_in_a_source_url_are_never_printed(workspace):
    (workspace / "config" / "sources.toml").write_text(
        f'[[sources]]\nname = "私有源"\nurl = "http://editor:{CANARY}@127.0.0.1:9/feed.xml"\n'
    )
    result = CliRunner().invoke(app, ["-v", "collect", "--home", str(workspace), "--provider", "offline"])
    assert CANARY not in result.output
    status = CliRunner().invoke(app, ["status", "--home", str(workspace)])
    assert CANARY not in status.output
