import pytest

from curator.errors import ConfigError
from curator.settings import load_settings


def test_layers_override_in_order_and_say_where_each_value_came_from(workspace):
    (workspace / "config" / "zz-local.toml").write_text('[llm]\nmodel = "from-file"\ntimeout_s = 12\n')
    s = load_settings(
        workspace,
        env={"CURATOR_LLM__MODEL": "from-env", "CURATOR_FETCH__DEADLINE_S": "9"},
        overrides={"llm": {"provider": "offline"}},
    )
    assert s.llm.model == "from-env" and s.llm.timeout_s == 12 and s.fetch.deadline_s == 9
    assert s.llm.provider == "offline"
    assert s.origins["llm.model"] == "env:CURATOR_LLM__MODEL"
    assert s.origins["llm.timeout_s"] == "file:config/zz-local.toml"
    assert s.origins["llm.provider"] == "flag:--provider"
    assert "fetch.max_bytes" in s.origins  # from config/curator.toml
    assert s.fetch.read_timeout_s == 10.0  # untouched default


def test_openai_env_variables_feed_the_llm_settings(workspace):
    s = load_settings(workspace, env={"OPENAI_API_KEY": "sk-test-123", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    assert s.llm.api_key.get_secret_value() == "sk-test-123"
    assert s.llm.base_url == "http://127.0.0.1:9/v1"
    assert "sk-test-123" not in repr(s)


@pytest.mark.parametrize(
    ("toml", "field"),
    [
        ("[fetch]\nmax_concurrency = -3\n", "fetch.max_concurrency"),
        ("[fetch]\ndeadline_s = \"soon\"\n", "fetch.deadline_s"),
        ("[llm]\nmodle = \"typo\"\n", "llm.modle"),
        ('[[sources]]\nname = "x"\nurl = "ftp://example.com/feed"\n', "sources[x].url"),
        ('[[sources]]\nname = "x"\nurl = "https://e.com/f"\nsection = "nope"\n', "sources[x].section"),
    ],
)
def test_bad_config_names_the_field(workspace, toml, field):
    (workspace / "config" / "zz-bad.toml").write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_settings(workspace, env={})
    assert field in str(info.value)
    assert info.value.exit_code == 78


def test_broken_toml_names_the_file(workspace):
    (workspace / "config" / "broken.toml").write_text("[fetch\nx = 1")
    with pytest.raises(ConfigError, match="broken.toml"):
        load_settings(workspace, env={})


def test_config_errors_never_echo_a_secret_value(workspace):
    with pytest.raises(ConfigError) as info:
        load_settings(workspace, env={"CURATOR_LLM__API_KEY": "sk-CANARY-0001", "CURATOR_LLM__TIMEOUT_S": "-1"})
    assert "sk-CANARY-0001" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_settings(workspace, env={"CURATOR_LLM__TEMPERATURE": "sk-CANARY-0002"})
    assert "sk-CANARY-0002" not in str(info.value)


def test_a_provider_preset_fills_what_is_not_set_explicitly(workspace):
    s = load_settings(workspace, env={"CURATOR_LLM__PRESET": "deepseek"})
    assert (s.llm.base_url, s.llm.model, s.llm.response_format) == (
        "https://api.deepseek.com/v1", "deepseek-chat", "json_object")
    assert s.origins["llm.model"] == "preset:deepseek"
    assert s.llm.price() is not None  # the built-in price table knows the preset's model
    mine = load_settings(workspace, env={"CURATOR_LLM__PRESET": "dashscope", "CURATOR_LLM__MODEL": "qwen-max"})
    assert mine.llm.model == "qwen-max" and mine.llm.base_url.startswith("https://dashscope")


def test_a_run_has_a_spending_cap_unless_the_editor_sets_another(workspace):
    """An ambient OPENAI_API_KEY (a shell that exports one, `make demo`) spends at most the default cap."""
    assert load_settings(workspace, env={}).llm.budget_run_usd == 2.0
    raised = load_settings(workspace, env={"CURATOR_LLM__BUDGET_RUN_USD": "25"})
    assert raised.llm.budget_run_usd == 25.0
