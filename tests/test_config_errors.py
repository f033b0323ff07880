"""Issue 16 "Config errors a person can act on": file and line, the key, what is expected, the nearest key."""

from __future__ import annotations

from typer.testing import CliRunner

from curator.cli import app

runner = CliRunner()


def _collect(workspace):
    return runner.invoke(app, ["collect", "--home", str(workspace), "--provider", "offline"])


def test_an_unknown_key_names_file_line_and_the_nearest_known_key(workspace):
    (workspace / "config" / "zz.toml").write_text('# mine\n[llm]\npreest = "deepseek"\n')
    result = _collect(workspace)
    assert result.exit_code == 78
    assert "llm.preest (config/zz.toml line 3): unknown key; did you mean `llm.preset`?" in result.output
    assert "Extra inputs are not permitted" not in result.output


def test_an_unknown_table_is_blamed_on_its_file_not_on_defaults(workspace):
    (workspace / "config" / "zz.toml").write_text('[fetchh]\ndeadline_s = 3\n')
    result = _collect(workspace)
    assert "fetchh (config/zz.toml line 1): unknown key; did you mean `fetch`?" in result.output
    assert "defaults" not in result.output


def test_provider_deepseek_hints_at_preset(workspace):
    (workspace / "config" / "zz.toml").write_text('[llm]\nprovider = "deepseek"\n')
    result = runner.invoke(app, ["collect", "--home", str(workspace)])
    assert result.exit_code == 78
    assert "llm.provider (config/zz.toml line 2): expected:" in result.output
    assert '`llm.preset = "deepseek"`' in result.output


def test_a_bad_value_names_what_is_expected_and_an_env_variable_by_name(workspace):
    result = runner.invoke(app, ["status", "--home", str(workspace)], env={"CURATOR_FETCH__MAX_BYTES": "12"})
    assert result.exit_code == 78
    assert "fetch.max_bytes (env:CURATOR_FETCH__MAX_BYTES): expected: input should be greater than or equal to 1024" \
        in result.output


def test_sources_are_named_by_name_with_their_line_and_every_problem_comes_at_once(workspace, httpserver):
    (workspace / "config" / "sources.toml").write_text(
        f'[[sources]]\nname = "good"\nurl = "{httpserver.url_for("/feed")}"\n\n'
        '[[sources]]\nname = "typo"\nkind = "rsss"\nurl = "https://b.example/feed"\n\n'
        '[[sources]]\nname = "heavy"\nurl = "https://c.example/feed"\nweight = 99\n')
    result = _collect(workspace)
    assert result.exit_code == 78
    assert "sources[heavy].weight (config/sources.toml line 13): expected: input should be less than or equal" \
        in result.output
    assert "sources[typo].kind (config/sources.toml line 7): unknown kind 'rsss'; did you mean `rss`?" in result.output
    assert "sources.2" not in result.output and "sources[2]" not in result.output
    assert httpserver.log == []  # validated before any network I/O


def test_an_unknown_kind_alone_is_found_before_the_other_sources_are_fetched(workspace, httpserver):
    (workspace / "config" / "sources.toml").write_text(
        f'[[sources]]\nname = "good"\nurl = "{httpserver.url_for("/feed")}"\n\n'
        '[[sources]]\nname = "typo"\nkind = "youtub"\nurl = "https://b.example/feed"\n')
    result = _collect(workspace)
    assert result.exit_code == 78 and "sources[typo].kind (config/sources.toml line 7)" in result.output
    assert "did you mean `youtube`?" in result.output and httpserver.log == []


def test_inside_a_source_the_nearest_key_is_the_bare_key_and_a_missing_one_says_so(workspace):
    (workspace / "config" / "sources.toml").write_text('[[sources]]\nname = "a"\nurll = "https://a.example/feed"\n')
    result = _collect(workspace)
    assert "sources[a].urll (config/sources.toml line 3): unknown key; did you mean `url`?" in result.output
    assert "sources[a].url (config/sources.toml line 1): required key missing" in result.output
