"""Runs that die and answers that are cut off (RELIABILITY.md rows 30, 45): a `kill -9`ed run is marked
crashed by the next run and by `status`; a cut-off model answer is retried with a shorter input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from curator.cli import app
from curator.enrich.openai import OpenAIBackend
from curator.models import EnrichRequest
from curator.runlock import RunLock
from curator.settings import load_settings
from curator.store import Store
from tests.canary import CANARY
from tests.fake_openai import Reply
from tests.loopback import LoopbackServer
from tests.sites import article_html

REPO = Path(__file__).resolve().parents[1]
ENV = {"CURATOR_FETCH__ALLOWED_HOSTS": json.dumps(["127.0.0.1", "localhost"]), "CURATOR_LLM__PROVIDER": "offline",
       "CURATOR_FETCH__RESPECT_ROBOTS": "false", "CURATOR_EXTRACT__WORKERS": "0", "CURATOR_HOME": ""}


def statuses(workspace: Path) -> list[str]:
    with Store(workspace / "data" / "curator.db") as store:
        return [r.status for r in reversed(store.recent_runs(10))]


def leave_a_running_row(workspace: Path) -> None:
    """What `kill -9` leaves behind: a run row that was started and never finished."""
    with Store(workspace / "data" / "curator.db") as store:
        store.start_run("collect")


def status_json(workspace: Path) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["status", "--home", str(workspace), "--json"], env=ENV)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


class StallingSite(LoopbackServer):
    """A feed with one article whose page never answers until released: a run to kill mid-fetch."""

    def __init__(self) -> None:
        self.page_requested = threading.Event()
        self.release = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/feed.xml":
                    body = (f'<rss version="2.0"><channel><title>t</title><item><title>One</title>'
                            f"<link>{site.origin}/a/1</link></item></channel></rss>").encode()
                    ctype = "application/rss+xml"
                else:
                    site.page_requested.set()
                    site.release.wait(30)  # bounded: the test releases it when it ends
                    body, ctype = article_html(1).encode(), "text/html; charset=utf-8"
                self.send_response(200)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

        super().__init__(Handler)


def test_a_run_killed_with_sigkill_is_marked_crashed_by_status_and_by_the_next_run(workspace):
    with StallingSite() as site:
        (workspace / "config" / "sources.toml").write_text(
            f'[[sources]]\nname = "s"\nurl = "{site.origin}/feed.xml"\n', encoding="utf-8")
        env = {**os.environ, **ENV, "CURATOR_FETCH__DEADLINE_S": "60", "CURATOR_FETCH__READ_TIMEOUT_S": "60"}
        proc = subprocess.Popen([sys.executable, "-m", "curator.cli", "collect", "--home", str(workspace)],
                                env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert site.page_requested.wait(60), "the run never reached the fetch stage"
            assert statuses(workspace) == ["running"]
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(30) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
            site.release.set()
        assert statuses(workspace) == ["running"]  # what the dead process left behind
        assert [r["status"] for r in status_json(workspace)["runs"]] == ["crashed"]
        result = CliRunner().invoke(app, ["collect", "--home", str(workspace)], env=ENV)
        assert result.exit_code == 0, result.output
    assert statuses(workspace) == ["crashed", "ok"]


def test_the_next_run_marks_a_dead_run_crashed(workspace):
    leave_a_running_row(workspace)
    result = CliRunner().invoke(app, ["draft", "--home", str(workspace), "--allow-empty"], env=ENV)  # an empty store
    assert result.exit_code == 0, result.output
    assert statuses(workspace) == ["crashed", "ok"]
    with Store(workspace / "data" / "curator.db") as store:
        crashed = store.recent_runs(10)[-1]
    assert crashed.ended_at is not None and "killed or crashed" in crashed.notes[0]


def test_status_leaves_a_run_that_holds_the_lock_running(workspace):
    leave_a_running_row(workspace)
    settings = load_settings(workspace, env=ENV)
    with RunLock(settings.lock_path, "collect"):  # the run is alive: it holds the lock
        assert [r["status"] for r in status_json(workspace)["runs"]] == ["running"]
    assert [r["status"] for r in status_json(workspace)["runs"]] == ["crashed"]


# -- finish_reason=length ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text_chars", [400, 3000, 20_000])
def test_a_cut_off_answer_is_retried_with_a_shorter_input_whatever_the_text_length(workspace, fake_llm, text_chars):
    settings = load_settings(workspace, env={"OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": fake_llm.base_url},
                             overrides={"llm": {"provider": "openai", "max_retries": 0, "max_input_chars": 6000}})
    backend = OpenAIBackend(settings)
    text = ("英伟达在 2026 年 11 月 18 日发布了新一代 GPU，训练性能提升 40%。" * 1000)[:text_chars]
    fake_llm.script = [Reply(content='{"title": "半截', finish_reason="length")]
    enr = backend.enrich(EnrichRequest(item_id=1, url="https://ex.com/gpu", title="GPU", text=text, lang="zh",
                                       source="feed", content_hash="h1"))
    assert enr.summary  # the second, shorter request got a whole answer
    first, second = (r["messages"][0]["content"] for r in fake_llm.requests)
    assert len(second) < len(first)
    # Half of the article text that was sent the first time is left out (the truncation marker aside).
    assert len(first) - len(second) >= min(text_chars, 6000) // 2 - 20


# -- unexpected exceptions in the enrich stage ------------------------------------------------------------


def test_an_unexpected_error_in_triage_or_one_enrichment_never_ends_the_run(workspace, fake_llm, monkeypatch):
    from curator.pipeline import Pipeline
    from tests.sites import NewsSite, article_title

    def broken_triage(self: OpenAIBackend, reqs: list[EnrichRequest]) -> dict[int, tuple[int, str]]:
        raise RuntimeError(f"bug with {CANARY}")

    real_enrich = OpenAIBackend.enrich

    def enrich(self: OpenAIBackend, req: EnrichRequest) -> Any:
        if req.title == article_title(1):
            raise ValueError("a bug on one item")
        return real_enrich(self, req)

    monkeypatch.setattr(OpenAIBackend, "triage", broken_triage)
    monkeypatch.setattr(OpenAIBackend, "enrich", enrich)
    with NewsSite(n_articles=3) as site:
        site.write_sources(workspace)
        settings = load_settings(workspace, env={**ENV, "OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": fake_llm.base_url,
                                                 "CURATOR_LLM__PROVIDER": "openai"})
        with Store(settings.db_path) as store:
            run = Pipeline(settings, store).collect()
            states = sorted((i.title, i.state.value, i.reason) for i in store.items())
    assert run.status == "degraded"  # the run went on, but not all was done: never `ok` (issue 12)
    assert run.reasons() == {"enrich/internal_error": 1, "triage/internal_error": 1}
    assert run.counters["triage/internal_error"] == 1 and run.counters["enrich/internal_error"] == 1
    assert run.counters["enrich/ok"] == 2
    assert ("failed", "internal_error") in {(s, r) for _, s, r in states}
