"""An editor's find whose page failed for a while is fetched again by later runs (bounded), and once
read, the real page replaces the stand-in while the editor's own title/note still win."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler

import pytest
from typer.testing import CliRunner

from curator import netguard
from curator.cli import app
from curator.settings import load_settings
from curator.store import RETRY_CAP, Store
from tests.loopback import LoopbackServer

runner = CliRunner()
UP = threading.Event()  # set: the hosts answer with the article
RELEASE = threading.Event()  # lets a hanging handler go at teardown
SEEN: list[str] = []  # host/path of every page request

ARTICLE = ("<html><head><meta charset='utf-8'><title>页面自己的标题：推理模型评测</title></head><body><article>"
           "<h1>页面自己的标题：推理模型评测</h1>"
           + "".join(f"<p>第 {i} 段：评测团队比较了多款推理模型在数学与代码任务上的表现，并公开了全部测试集。</p>"
                     for i in range(8)) + "</article></body></html>")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        host = self.headers.get("Host", "").split(":")[0]
        if self.path == "/robots.txt":
            return self._send(404, "none")
        SEEN.append(host + self.path)
        if host == "hang.example" and not UP.is_set():
            RELEASE.wait(60)  # longer than the fetch deadline: a timeout
            return
        if host == "denied.example" and not UP.is_set():
            return self._send(403, "Access denied")
        return self._send(200, ARTICLE)

    def _send(self, status: int, body: str) -> None:
        data = body.encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass


def _config(home, port: int, hosts: list[str]) -> None:
    resolve = ", ".join(f'"{h}" = "127.0.0.1:{port}"' for h in hosts)
    (home / "config" / "zz-retry.toml").write_text(
        # The hang is cut by the 3 s read timeout; the answering pages have 10 s, ample on a loaded machine.
        "[fetch]\ndeadline_s = 10.0\nread_timeout_s = 3.0\nconnect_timeout_s = 3.0\nretries = 0\n"
        f"resolve = {{ {resolve} }}\n[llm]\nprovider = \"offline\"\n", encoding="utf-8")


@pytest.fixture
def web(workspace, monkeypatch):
    async def no_such_host(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(netguard, "system_resolver", no_such_host)  # names outside fetch.resolve: DNS fails
    UP.clear()
    RELEASE.clear()
    SEEN.clear()
    with LoopbackServer(Handler) as srv:
        port = srv.server.server_address[1]
        _config(workspace, port, ["hang.example", "denied.example"])
        yield workspace, port
        RELEASE.set()


def _items(home) -> dict[str, object]:
    with Store(load_settings(home, env={}).db_path) as store:
        return {i.url: i for i in store.items()}


def _draft(home) -> tuple[str, dict[str, list[str]]]:
    drafted = runner.invoke(app, ["draft", "--home", str(home), "--date", "2026-11-23"])
    assert drafted.exit_code == 0, drafted.output
    [md] = sorted((home / "drafts").glob("issue-*.md"))
    review = json.loads(md.with_suffix(".json").read_text(encoding="utf-8"))
    stories = [*(s for sec in review["sections"] for s in sec["stories"]), *review["runners_up"]]
    return md.read_text(encoding="utf-8"), {s["title"]: s["flags"] for s in stories}


def test_a_find_that_timed_out_is_fetched_by_a_later_collect_and_keeps_the_editors_words(web):
    home, _ = web
    url = "http://hang.example/post/1"
    added = runner.invoke(app, ["add", url, "--home", str(home), "--title", "编辑起的标题", "--note", "编辑写的摘要。"])
    assert added.exit_code == 3 and "not_fetched:timeout" in added.output, added.output

    still = runner.invoke(app, ["collect", "--home", str(home)])  # the server is still down
    assert "still could not be fetched (timeout)" in still.output, still.output
    item = _items(home)[url]
    assert item.state == "enriched" and item.enrichment.flags == ["not_fetched:timeout"]  # still drafted-able
    text, flags = _draft(home)
    assert flags["编辑起的标题"] == ["not_fetched:timeout"] and "编辑写的摘要。" in text

    UP.set()
    SEEN.clear()
    back = runner.invoke(app, ["collect", "--home", str(home)])
    assert back.exit_code == 0 and "could be fetched this time" in back.output, back.output
    assert SEEN == ["hang.example/post/1"]
    item = _items(home)[url]
    assert item.state in ("enriched", "drafted") and item.enrichment.backend == "offline"
    assert item.enrichment.flags == []  # no longer flagged for the reviewer
    assert "评测团队" in item.article.text  # the real page replaced the editor's stand-in text
    assert (item.enrichment.title, item.enrichment.summary) == ("编辑起的标题", "编辑写的摘要。")  # the editor's words win

    text, flags = _draft(home)
    assert flags["编辑起的标题"] == [] and "编辑写的摘要。" in text and "not_fetched" not in text


def test_where_the_editor_wrote_nothing_the_fetched_page_speaks(web):
    home, _ = web
    url = "http://denied.example/only-a-note"
    assert runner.invoke(app, ["add", url, "--home", str(home), "--note", "只写了摘要。"]).exit_code == 3
    UP.set()
    again = runner.invoke(app, ["add", url, "--home", str(home)])  # a 403 is retried when the editor asks
    assert again.exit_code == 0 and "trying again" in again.output, again.output
    item = _items(home)[url]
    assert item.enrichment.flags == [] and item.enrichment.summary == "只写了摘要。"
    assert "推理模型评测" in item.enrichment.title  # no --title: the page's own title, not the URL


def test_a_dns_failure_is_retried_by_later_runs_at_most_retry_cap_times(web):
    home, _ = web
    url = "http://later.example/p"
    added = runner.invoke(app, ["add", url, "--home", str(home), "--title", "解析失败的文章"])
    assert added.exit_code == 3 and "not_fetched:dns" in added.output, added.output
    for _ in range(RETRY_CAP + 1):  # the add was attempt 1; later runs try until the cap, then stop
        runner.invoke(app, ["collect", "--home", str(home), "--json"])
    with Store(load_settings(home, env={}).db_path) as store:
        retried = [r.counters.get("retry/editor_finds", 0) for r in store.recent_runs(20) if r.command == "collect"]
    assert sorted(retried) == [0, 0, 1, 1], retried  # RETRY_CAP attempts in all, never more
    item = _items(home)[url]
    assert item.state == "enriched" and item.enrichment.flags == ["not_fetched:dns"]  # never lost
    _, flags = _draft(home)
    assert flags["解析失败的文章"] == ["not_fetched:dns"]


def test_a_find_behind_a_403_is_not_refetched_every_night(web):
    home, _ = web
    url = "http://denied.example/wall"
    assert runner.invoke(app, ["add", url, "--home", str(home), "--title", "被拒绝"]).exit_code == 3
    SEEN.clear()
    runner.invoke(app, ["collect", "--home", str(home)])
    assert SEEN == []  # a refusal is not transient: the editor re-adds it to try again
    assert _items(home)[url].enrichment.flags == ["not_fetched:blocked"]
