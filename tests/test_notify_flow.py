"""Issue 18, notifications in the editor's week: collect and draft tell the webhooks, a failed webhook never
changes a run's outcome or exit code (status shows it), a failing source is told once at N, the budget warning
comes at its ratio, and `curator notify test` is loud. Real CLI, loopback receivers, fake OpenAI, real SQLite."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from typer.testing import CliRunner

from curator.cli import app
from curator.notify.events import BudgetNearlySpent, DraftReady, RunProblem
from curator.notify.notifier import Notifier
from curator.pipeline import Pipeline
from curator.settings import load_settings
from curator.store import Store
from tests.canary import CANARY
from tests.notify_receiver import Receiver, hook, write_hooks
from tests.sites import NewsSite

runner = CliRunner()


def cli(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env or {})


def sources(workspace, site: NewsSite, *, broken: bool = True) -> None:
    """The site's feed, and (broken) a second source whose feed answers 404 every night."""
    site.write_sources(workspace)
    if broken:
        with (workspace / "config" / "sources.toml").open("a", encoding="utf-8") as f:
            f.write(f'\n[[sources]]\nname = "坏源"\nurl = "{site.base}/gone.xml"\n')


def bodies(rx: Receiver, event: str) -> list[dict]:
    return [r.json for r in rx.requests if r.json.get("event") == event]


@pytest.mark.parametrize("fault", ["http_500", "timeout"])
def test_a_failing_webhook_leaves_collect_ok_and_status_shows_it(workspace, fault):
    script = [(500, b"{}")] * 3 if fault == "http_500" else ["hang"] * 3
    with NewsSite(n_articles=3) as site, Receiver(*script) as rx:
        sources(workspace, site)
        write_hooks(workspace, hook("slack"), source_failures=1, timeout_s=0.5)
        env = {"HOOK_URL": rx.url()}
        result = cli("collect", "--home", str(workspace), "--provider", "offline", env=env)
        assert result.exit_code == 0, result.output
        assert re.search(r"run #\d+: ok", result.stdout)
        assert len(rx.requests) == 3  # source_failing, tried 1 + notify.retries (2) times
        status = cli("status", "--home", str(workspace), env=env)
        why = "HTTP 500" if fault == "http_500" else "timed out after 0.5 s"
        line = next(x for x in status.stdout.splitlines() if x.startswith("⚠ webhook"))
        assert line.startswith(f"⚠ webhook slack ({rx.host}) failed: {why} at 2026-11-23T23:59:00+00:00 "
                               "(event source_failing, run #")
        assert json.loads(cli("status", "--home", str(workspace), "--json", env=env).stdout)["webhooks"] == [line[2:]]
        assert CANARY not in status.output + result.output
        # A later delivery that goes through clears the line.
        rx.script = []
        assert cli("notify", "test", "--home", str(workspace), "--event", "run_failed", env=env).exit_code == 0
        assert "⚠ webhook" not in cli("status", "--home", str(workspace), env=env).stdout


def test_a_failed_run_is_told_and_keeps_its_exit_code_when_the_webhook_hangs(workspace, fake_llm):
    fake_llm.script = [_llm_error(401)]
    with NewsSite(n_articles=2) as site, Receiver("hang") as rx:
        sources(workspace, site, broken=False)
        write_hooks(workspace, hook("json"), retries=0, timeout_s=0.5)
        env = {"HOOK_URL": rx.url(), "OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": fake_llm.base_url,
               "CURATOR_LLM__PROVIDER": "openai", "CURATOR_LLM__MAX_RETRIES": "0", "CURATOR_LLM__TRIAGE": "false"}
        result = cli("collect", "--home", str(workspace), env=env)
        assert result.exit_code == 69, result.output  # the LLM endpoint refused: exactly as without a webhook
        (told,) = bodies(rx, "run_failed")
        event = RunProblem.model_validate(told)
        assert event.status == "failed" and event.command == "collect" and "API key" in (event.error or "")
        assert event.reasons and set(event.reasons) <= set(event.counters) and event.counters["extract/ok"] == 2
        assert CANARY not in json.dumps(told) + result.output
        status = cli("status", "--home", str(workspace), env=env).stdout
        assert f"⚠ webhook json ({rx.host}) failed: timed out after 0.5 s" in status


def _llm_error(status: int):
    from tests.fake_openai import Reply

    return Reply(status=status, body={"error": {"message": "scripted", "type": "invalid_request_error",
                                                "code": "invalid_api_key"}})


def test_a_failing_source_is_told_once_when_it_crosses_n_and_again_after_it_recovers(workspace):
    with NewsSite(n_articles=2) as site, Receiver() as rx:
        sources(workspace, site)
        write_hooks(workspace, hook("json"), source_failures=2)
        settings = load_settings(workspace, env={"HOOK_URL": rx.url()}, overrides={"llm": {"provider": "offline"}})

        def told_after_a_run() -> list[dict]:
            before = len(rx.requests)
            with Store(settings.db_path) as store:
                Pipeline(settings, store).collect()
            return [r.json for r in rx.requests[before:] if r.json["event"] == "source_failing"]

        assert told_after_a_run() == []  # 1 failure: below N
        (told,) = told_after_a_run()  # 2 failures: crosses N
        assert (told["source"], told["failures"], told["threshold"], told["last_error"]) == ("坏源", 2, 2, "http_404")
        assert told_after_a_run() == [] and told_after_a_run() == []  # 3rd and 4th night: already told
        # The source answers again (its URL fixed), then breaks again: the new streak is told at N.
        text = (workspace / "config" / "sources.toml").read_text(encoding="utf-8")
        (workspace / "config" / "sources.toml").write_text(text.replace("/gone.xml", "/feed.xml"), encoding="utf-8")
        settings = load_settings(workspace, env={"HOOK_URL": rx.url()}, overrides={"llm": {"provider": "offline"}})
        assert told_after_a_run() == []
        (workspace / "config" / "sources.toml").write_text(text, encoding="utf-8")
        settings = load_settings(workspace, env={"HOOK_URL": rx.url()}, overrides={"llm": {"provider": "offline"}})
        assert told_after_a_run() == []
        assert [t["failures"] for t in told_after_a_run()] == [2]


def test_a_hook_that_missed_the_source_message_is_told_on_the_next_run(workspace):
    with NewsSite(n_articles=2) as site, Receiver((500, b"{}")) as rx:
        sources(workspace, site)
        write_hooks(workspace, hook("json"), source_failures=1, retries=0)
        settings = load_settings(workspace, env={"HOOK_URL": rx.url()}, overrides={"llm": {"provider": "offline"}})
        for _ in range(3):
            with Store(settings.db_path) as store:
                Pipeline(settings, store).collect()
        assert [r.json["failures"] for r in rx.requests] == [1, 2]  # refused at 1, taken at 2, then quiet


def test_budget_warning_comes_at_the_ratio_of_the_run_budget(workspace, fake_llm):
    prices = {"gpt-4o-mini": {"input_per_mtok": 50.0, "output_per_mtok": 100.0}}
    with NewsSite(n_articles=4) as site, Receiver() as rx:
        sources(workspace, site, broken=False)
        write_hooks(workspace, hook("json", events=["budget_nearly_spent"]))
        env = {"HOOK_URL": rx.url(), "OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": fake_llm.base_url}
        settings = load_settings(workspace, env=env, overrides={"llm": {
            "provider": "openai", "max_retries": 0, "triage": False, "prices": prices, "budget_run_usd": 1000.0}})
        with Store(settings.db_path) as store:
            run = Pipeline(settings, store).collect()
            spent = store.run_cost_usd(run.run_id)
            assert spent > 0 and rx.requests == []  # far below 80 % of 1000 USD: nothing said
            # The same run against smaller budgets: told when spent >= 0.8 × budget, once, with the figures.
            for budget, told in ((spent / 0.8 * 1.01, False), (spent / 0.8 * 0.99, True), (spent, True)):
                rx.requests.clear()
                tight = settings.model_copy(update={"llm": settings.llm.model_copy(update={"budget_run_usd": budget})})
                Notifier(tight, store).after_collect(run)
                assert len(rx.requests) == (1 if told else 0), budget
                if told:
                    event = BudgetNearlySpent.model_validate(rx.requests[0].json)
                    assert (event.run_id, event.budget_usd, event.warn_ratio) == (run.run_id, budget, 0.8)
                    assert event.spent_usd == pytest.approx(spent, rel=1e-6)


def test_draft_tells_the_hooks_with_the_lint_summary(demo_template, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(demo_template, ws)
    draft = next((ws / "drafts").glob("issue-*.md"))
    # The editor's own edit adds two lint findings (a bare http:// link, a tracking parameter).
    text = draft.read_text(encoding="utf-8")
    draft.write_text(text + "\n\n编辑补充：见 http://example.org/page?utm_source=x 。\n", encoding="utf-8")
    with Receiver() as rx:
        write_hooks(ws, hook("json", events=["draft_ready"]), hook("feishu", env="FEISHU_URL"))
        env = {"HOOK_URL": rx.url(), "FEISHU_URL": rx.url("feishu")}
        result = cli("draft", "--home", str(ws), "--json", env=env)
        assert result.exit_code == 0, result.output
        lint = json.loads(result.stdout)["lint"]
    (told,) = [r.json for r in rx.requests if r.path.startswith("/hook/")]
    event = DraftReady.model_validate(told)
    assert (event.errors, event.warnings) == (lint["errors"], lint["warnings"])
    assert event.errors + event.warnings == len(lint["findings"]) > 0
    assert [(f.line, f.rule) for f in event.findings] == sorted(
        [(f["line"], f["rule"]) for f in lint["findings"]],
        key=lambda lr: (next(f["severity"] for f in lint["findings"] if (f["line"], f["rule"]) == lr) != "error",
                        lr[0]))[:5]
    assert event.path == lint["file"] and event.stories > 0
    (feishu,) = [r.json for r in rx.requests if r.path.startswith("/feishu/")]
    rows = [row[0]["text"] for row in feishu["content"]["post"]["zh_cn"]["content"]]
    assert f"lint：{lint['errors']} 个错误，{lint['warnings']} 个警告" in rows[0]


def test_notify_test_is_loud_when_a_hook_fails(workspace):
    with Receiver() as ok, Receiver((500, b'{"msg":"boom"}')) as bad:
        write_hooks(workspace, hook("slack"), hook("feishu", env="FEISHU_URL", name="飞书群"), retries=0)
        env = {"HOOK_URL": ok.url(), "FEISHU_URL": bad.url()}
        result = cli("notify", "test", "--home", str(workspace), "--event", "draft_ready", env=env)
        assert result.exit_code == 1, result.output
        assert f"ok     slack ({ok.host}) draft_ready: delivered" in result.stdout
        assert f"FAILED 飞书群 ({bad.host}) draft_ready: HTTP 500 (boom)" in result.stdout
        assert "1 delivered, 1 failed" in result.stdout and CANARY not in result.output
        every = cli("notify", "test", "--home", str(workspace), "--json", env={"HOOK_URL": ok.url(),
                                                                               "FEISHU_URL": ok.url()})
        assert every.exit_code == 0, every.output
        sent = json.loads(every.stdout)
        assert len(sent) == 10 and all(o["ok"] for o in sent)  # 5 events × 2 hooks


def test_notify_test_refuses_without_hooks_or_with_an_unknown_event(workspace):
    none = cli("notify", "test", "--home", str(workspace))
    assert none.exit_code == 2 and "no webhook is configured" in none.output
    write_hooks(workspace, hook("slack"))
    bad = cli("notify", "test", "--home", str(workspace), "--event", "draft_redy", env={"HOOK_URL": "https://x.test/h"})
    assert bad.exit_code == 2 and "unknown event draft_redy" in bad.output


def test_every_message_of_a_run_goes_out_in_one_concurrent_round(workspace):
    # The receiver answers none of three messages until all three are in: told one after another, the
    # first would time out. So a dead hook costs a run its timeout once, not once per failing source.
    with NewsSite(n_articles=1) as site, Receiver(together=3) as rx:
        site.write_sources(workspace)
        with (workspace / "config" / "sources.toml").open("a", encoding="utf-8") as f:
            f.writelines(f'\n[[sources]]\nname = "坏源{i}"\nurl = "{site.base}/gone-{i}.xml"\n' for i in range(3))
        write_hooks(workspace, hook("json"), source_failures=1, retries=0, timeout_s=5)
        settings = load_settings(workspace, env={"HOOK_URL": rx.url()}, overrides={"llm": {"provider": "offline"}})
        with Store(settings.db_path) as store:
            Pipeline(settings, store).collect()
            oks = [r[0] for r in store.db.execute("SELECT ok FROM webhook_deliveries WHERE event='source_failing'")]
            assert oks == [1, 1, 1]
        assert sorted(r.json["source"] for r in rx.requests) == ["坏源0", "坏源1", "坏源2"]
