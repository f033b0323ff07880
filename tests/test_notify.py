"""Issue 18, notifications: each webhook's payload as its service documents it, signing, escaping, refusals,
and the env-only secrets, against a loopback receiver and real SQLite."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
from datetime import UTC, datetime

import pytest

from curator.cli.notify import webhook_status as delivery_problems
from curator.errors import ConfigError
from curator.notify.events import DraftReady, LintLine, RunProblem
from curator.notify.notifier import Notifier
from curator.settings import load_settings
from curator.store import Store
from tests.canary import CANARY
from tests.notify_receiver import Receiver, hook, write_hooks

CLOCK = 1_795_000_000.25  # the signatures' wall clock, injected
AT = datetime(2026, 11, 23, 23, 59, tzinfo=UTC)


def notifier(workspace, env):
    settings = load_settings(workspace, env=env)
    return settings, Store(settings.db_path)


def send(workspace, env, *events, names=("draft_ready",)):
    settings, store = notifier(workspace, env)
    with store:
        n = Notifier(settings, store, clock=lambda: CLOCK)
        return (n.send(list(events), run_id=None, only_listening=False) if events else n.test(list(names))), \
            delivery_problems(store)


HOSTILE = '<script>alert(1)</script> & <a href="javascript:x">点我</a> <!channel> *粗* [链](http://evil.example)'


def hostile_draft() -> DraftReady:
    return DraftReady(publication="周刊", at=AT, issue=7, path="drafts/issue-7.md", stories=9, errors=1, warnings=1,
                      findings=[LintLine(line=3, rule="title", severity="error", message=HOSTILE)])


def test_slack_gets_blocks_with_a_header_and_mrkdwn_escaped(workspace):
    with Receiver() as rx:
        write_hooks(workspace, hook("slack"))
        (outcome,), problems = send(workspace, {"HOOK_URL": rx.url()}, hostile_draft())
    assert outcome.ok and problems == []
    body = rx.requests[0].json
    assert rx.requests[0].path == f"/hook/{CANARY}"
    assert isinstance(body["text"], str) and body["text"]
    header, section = body["blocks"]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text" and "第 7 期" in header["text"]["text"]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    # Slack's control sequences (<!channel>, <url|text>) cannot be smuggled in through a title.
    assert "<!channel>" not in section["text"]["text"] and "&lt;!channel&gt;" in section["text"]["text"]
    assert "<" not in section["text"]["text"] and "<" not in body["text"]


def test_feishu_post_is_signed_as_documented(workspace):
    secret = "feishu-secret-" + "x" * 8
    with Receiver() as rx:
        write_hooks(workspace, hook("feishu", secret_env="FEISHU_SECRET"))
        (outcome,), _ = send(workspace, {"HOOK_URL": rx.url(), "FEISHU_SECRET": secret}, names=("run_failed",))
    assert outcome.ok
    body = rx.requests[0].json
    assert body["msg_type"] == "post"
    post = body["content"]["post"]["zh_cn"]
    assert "未完成" in post["title"] and post["title"].startswith("［测试］")
    assert all(isinstance(row, list) and row[0]["tag"] == "text" and row[0]["text"] for row in post["content"])
    # Recomputed here from Feishu's documented recipe: key = f"{timestamp}\n{secret}", empty message, base64.
    assert body["timestamp"] == str(int(CLOCK))
    expected = base64.b64encode(hmac.new(f"{int(CLOCK)}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()
    assert body["sign"] == expected


def test_dingtalk_markdown_is_signed_in_the_query(workspace):
    secret = "SEC" + "d" * 20
    with Receiver() as rx:
        write_hooks(workspace, hook("dingtalk", secret_env="DING_SECRET"))
        (outcome,), _ = send(workspace, {"HOOK_URL": rx.url() + "?access_token=tok", "DING_SECRET": secret},
                             hostile_draft())
    assert outcome.ok
    req = rx.requests[0]
    assert req.query["access_token"] == ["tok"]  # the URL's own query is kept
    ts = req.query["timestamp"][0]
    assert ts == str(int(CLOCK * 1000))  # milliseconds
    digest = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    assert req.query["sign"] == [base64.b64encode(digest).decode()]  # parse_qs undid the URL encoding
    body = req.json
    assert body["msgtype"] == "markdown" and body["markdown"]["title"] and body["markdown"]["text"].startswith("#### ")
    # A hostile finding cannot become a heading, a link or raw HTML in the markdown.
    text = body["markdown"]["text"]
    assert "[链](" not in text and r"\[链\](" in text and "<script>" not in text and r"\<script\>" in text


def test_wecom_markdown_stays_under_its_byte_limit(workspace):
    long = DraftReady(publication="周刊", at=AT, issue=1, path="d.md", stories=1, errors=5, warnings=0,
                      findings=[LintLine(line=i, rule="x", severity="error", message="很长的说明" * 200) for i in range(5)])
    with Receiver() as rx:
        write_hooks(workspace, hook("wecom"))
        (outcome,), _ = send(workspace, {"HOOK_URL": rx.url()}, long)
    assert outcome.ok
    body = rx.requests[0].json
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert content.startswith("**") and len(content.encode("utf-8")) <= 4096


def test_telegram_send_message_escapes_hostile_titles(workspace):
    token = "123456:" + CANARY
    with Receiver() as rx:
        write_hooks(workspace, hook("telegram", token_env="TG_TOKEN", chat_id="@weekly", api_url=rx.origin))
        (outcome,), problems = send(workspace, {"TG_TOKEN": token}, hostile_draft())
    assert outcome.ok and outcome.host == rx.host, problems
    req = rx.requests[0]
    assert req.path == f"/bot{token}/sendMessage"
    body = req.json
    assert body["chat_id"] == "@weekly" and body["parse_mode"] == "HTML"
    text = body["text"]
    # The only tags are ours; the hostile title arrives as text (Telegram's HTML mode needs < > & escaped).
    assert re.findall(r"<[^>]*>", text) == ["<b>", "</b>"]
    assert html.escape("<script>alert(1)</script> & ", quote=False) in text
    assert html.unescape(text.split("</b>", 1)[1]).count(HOSTILE) == 1


def test_generic_json_is_the_event_model_and_can_be_signed(workspace):
    secret = "json-secret-0123"
    event = RunProblem(event="run_degraded", publication="周刊", at=AT, run_id=4, command="collect",
                       status="degraded", reasons={"enrich/llm_fallback": 3})
    with Receiver() as rx:
        write_hooks(workspace, hook("json", secret_env="JSON_SECRET"))
        (outcome,), _ = send(workspace, {"HOOK_URL": rx.url(), "JSON_SECRET": secret}, event)
    assert outcome.ok
    req = rx.requests[0]
    assert RunProblem.model_validate(req.json) == event
    assert req.headers["x-curator-event"] == "run_degraded"
    ts = req.headers["x-curator-timestamp"]
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + req.body, hashlib.sha256).hexdigest()
    assert req.headers["x-curator-signature"] == f"sha256={mac}"


def test_english_publication_gets_english_wording(workspace):
    (workspace / "config" / "zz-lang.toml").write_text('[publication]\nlanguage = "en"\nname = "The Loop"\n')
    with Receiver() as rx:
        write_hooks(workspace, hook("slack"))
        send(workspace, {"HOOK_URL": rx.url()}, names=("source_failing",))
    assert rx.requests[0].json["blocks"][0]["text"]["text"] == "[test] The Loop: source 'example-feed' failed 3 runs in a row"


@pytest.mark.parametrize(("kind", "answer", "why"), [
    ("feishu", b'{"code":19021,"msg":"sign match fail or timestamp is not within one hour"}', "code 19021: sign match"),
    ("dingtalk", b'{"errcode":310000,"errmsg":"keywords not in content"}', "code 310000: keywords not in content"),
    ("wecom", b'{"errcode":93000,"errmsg":"invalid webhook url"}', "code 93000"),
    ("slack", b"invalid_token", "HTTP 403 (invalid_token)"),
])
def test_a_refusal_is_a_failure_even_with_http_200(workspace, kind, answer, why):
    status = 403 if kind == "slack" else 200
    with Receiver((status, answer)) as rx:
        write_hooks(workspace, hook(kind))
        (outcome,), problems = send(workspace, {"HOOK_URL": rx.url()}, names=("draft_ready",))
    assert not outcome.ok and why in outcome.detail
    assert len(rx.requests) == 1  # a refusal is an answer, not retried
    assert problems and problems[0].startswith(f"webhook {kind} ({rx.host}) failed: ") and why in problems[0]


def test_5xx_is_retried_then_delivered(workspace):
    with Receiver((500, b"{}"), (503, b"{}")) as rx:
        write_hooks(workspace, hook("slack"))
        (outcome,), problems = send(workspace, {"HOOK_URL": rx.url()})
    assert outcome.ok and outcome.attempts == 3 and len(rx.requests) == 3 and problems == []


def test_a_receiver_that_never_answers_times_out_within_the_retries(workspace):
    with Receiver("hang", "hang") as rx:
        write_hooks(workspace, hook("slack"), retries=1, timeout_s=0.5)
        (outcome,), problems = send(workspace, {"HOOK_URL": rx.url()})
    assert not outcome.ok and outcome.detail == "timed out after 0.5 s" and len(rx.requests) == 2
    assert "timed out" in problems[0]


def test_loopback_is_refused_unless_the_config_allows_it(workspace):
    with Receiver() as rx:
        write_hooks(workspace, hook("slack"), allowed_hosts=[])
        (outcome,), _ = send(workspace, {"HOOK_URL": rx.url()})
    assert not outcome.ok and outcome.detail.startswith("blocked: refused to connect to 127.0.0.1 (loopback")
    assert rx.requests == []  # refused before connecting


def test_an_unset_variable_fails_the_hook_by_its_name(workspace):
    write_hooks(workspace, hook("slack", env="SLACK_HOOK"))
    (outcome,), problems = send(workspace, {})
    assert not outcome.ok and outcome.detail == "environment variable SLACK_HOOK is not set"
    assert problems == [(f"webhook slack (-) failed: environment variable SLACK_HOOK is not set at {AT.isoformat()} "
                        "(event draft_ready)")]


def test_a_url_written_in_the_config_is_refused_with_file_and_line(workspace):
    (workspace / "config" / "zz-notify.toml").write_text(
        '[notify]\nsource_failures = 2\n\n[[notify.webhooks]]\nkind = "slack"\n'
        f'url = "https://hooks.slack.com/services/T0/B0/{CANARY}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(workspace, env={})
    msg = str(raised.value)
    assert "notify.webhooks[0].url (config/zz-notify.toml line 6)" in msg and "url_env" in msg
    assert "environment variable" in msg and CANARY not in msg and "hooks.slack.com" not in msg


def test_url_env_holding_a_url_instead_of_a_name_is_refused(workspace):
    (workspace / "config" / "zz-notify.toml").write_text(
        f'[[notify.webhooks]]\nkind = "feishu"\nurl_env = "https://open.feishu.cn/open-apis/bot/v2/hook/{CANARY}"\n')
    with pytest.raises(ConfigError) as raised:
        load_settings(workspace, env={})
    msg = str(raised.value)
    assert "notify.webhooks[0].url_env (config/zz-notify.toml line 3)" in msg and "not the URL itself" in msg
    assert CANARY not in msg


@pytest.mark.parametrize(("entry", "why"), [
    ('kind = "telegram"\nchat_id = "1"\n', "token_env"),
    ('kind = "slack"\n', "needs url_env"),
    ('kind = "wecom"\nurl_env = "W"\nsecret_env = "S"\n', "has no signing"),
    ('kind = "teams"\nurl_env = "W"\n', "notify.webhooks[0].kind"),
    ('kind = "slack"\nurl_env = "W"\nevents = ["draft_redy"]\n', "notify.webhooks[0].events[0]"),
])
def test_incomplete_hooks_are_config_errors(workspace, entry, why):
    (workspace / "config" / "zz-notify.toml").write_text("[[notify.webhooks]]\n" + entry)
    with pytest.raises(ConfigError, match=re.escape(why)):
        load_settings(workspace, env={})


def test_a_hook_listens_only_to_its_events(workspace):
    with Receiver() as rx:
        write_hooks(workspace, hook("json", events=["run_failed"]))
        settings, store = notifier(workspace, {"HOOK_URL": rx.url()})
        with store:
            sent = Notifier(settings, store).send([hostile_draft()], run_id=None)
    assert sent == [] and rx.requests == []


def test_a_redirect_is_not_followed(workspace):
    with Receiver((302, b"")) as rx:
        write_hooks(workspace, hook("slack"))
        (outcome,), _ = send(workspace, {"HOOK_URL": rx.url()})
    assert not outcome.ok and outcome.detail == "HTTP 302" and len(rx.requests) == 1
