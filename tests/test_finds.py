"""The editor's own finds are never lost: an unfetchable `curator add` is drafted, credited and flagged."""

from __future__ import annotations

import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler

import pytest
from typer.testing import CliRunner

from curator import netguard
from curator.cli import app
from curator.compose import Renderer
from curator.finds import challenge_page
from curator.models import Issue, IssueSection, Story
from curator.settings import PublicationSettings, Settings
from tests.loopback import LoopbackServer
from tests.test_templates import _item, _src

runner = CliRunner()
RELEASE = threading.Event()  # lets the hanging handler go when the test ends
BACK = threading.Event()  # set: flaky.example answers again

ARTICLE = ("<html><head><meta charset='utf-8'><title>开源模型的新进展</title></head><body><article><h1>开源模型的新进展</h1>"
           + "".join(f"<p>第 {i} 段：研究团队发布了新的开源大模型，在推理与代码任务上取得明显提升，并公开了训练细节。</p>"
                     for i in range(8)) + "</article></body></html>")
CLOUDFLARE = ("<html><head><title>Just a moment...</title></head><body><div id='cf-chl-widget'></div>"
              "<script src='/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1'></script>"
              "Enable JavaScript and cookies to continue</body></html>")
WECHAT_WALL = ("<html><head><meta charset='utf-8'><title></title></head><body><div class='weui-msg'>"
               "<p>环境异常</p><p>当前环境异常，完成验证后即可继续访问。</p><a>去验证</a></div></body></html>")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        host = self.headers.get("Host", "").split(":")[0]
        if self.path == "/robots.txt":
            return self._send(404, "none")
        if host == "blocked.example" or (host == "flaky.example" and not BACK.is_set()):
            return self._send(403, "Access denied")
        if host == "slow.example":
            RELEASE.wait(60)  # longer than the fetch deadline; released at teardown
            return self._send(200, ARTICLE)
        if host == "wall.example":
            return self._send(200, CLOUDFLARE)
        if host == "mp.weixin.qq.com":
            return self._send(200, WECHAT_WALL)
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
            pass  # the client gave up (the hanging case)


@pytest.fixture
def web(workspace, monkeypatch):
    async def no_such_host(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    # DNS failure without the network: every name not in fetch.resolve fails to resolve.
    monkeypatch.setattr(netguard, "system_resolver", no_such_host)
    RELEASE.clear()
    BACK.clear()
    with LoopbackServer(Handler) as srv:
        port = srv.server.server_address[1]
        hosts = ["blocked.example", "slow.example", "wall.example", "mp.weixin.qq.com", "good.example", "flaky.example"]
        resolve = ", ".join(f'"{h}" = "127.0.0.1:{port}"' for h in hosts)
        (workspace / "config" / "zz-finds.toml").write_text(
            "[fetch]\ndeadline_s = 2.0\nread_timeout_s = 1.0\nconnect_timeout_s = 1.0\nretries = 0\n"
            f"resolve = {{ {resolve} }}\n[llm]\nprovider = \"offline\"\n", encoding="utf-8")
        yield workspace
        RELEASE.set()


CASES = [  # (url, --title, --note, the reason it is flagged with)
    ("http://blocked.example/post/1", "被拒绝的好文章", "编辑摘要：一篇被 403 挡住的文章。", "blocked"),
    ("http://slow.example/post/2", "一直不回应的页面", "编辑摘要：服务器迟迟不回应。", "timeout"),
    ("http://gone.example/post/3", "域名解析失败的页面", "编辑摘要：域名解析失败。", "dns"),
    ("http://wall.example/post/4", "被人机验证挡住的文章", "编辑摘要：Cloudflare 验证页。", "anti_bot"),
    ("http://mp.weixin.qq.com/s/AbCdEf123", "微信公众号文章", "编辑摘要：微信环境异常页。", "anti_bot"),
]


def test_unfetchable_finds_are_drafted_with_the_editors_words_and_flagged(web):
    home = str(web)
    for url, title, note, reason in CASES:
        result = runner.invoke(app, ["add", url, "--home", home, "--title", title, "--note", note])
        assert result.exit_code == 3, result.output  # kept, but not what was asked: never exit 0 / `ok`
        assert "run #" in result.output and ": degraded" in result.output and ": ok" not in result.output
        assert f"could not be fetched ({reason})" in result.output and f"not_fetched:{reason}" in result.output
    bare = runner.invoke(app, ["add", "http://blocked.example/notes/没有标题", "--home", home])
    assert bare.exit_code == 3, bare.output
    good = runner.invoke(app, ["add", "http://good.example/a", "--home", home])
    assert good.exit_code == 0 and ": ok" in good.output, good.output

    drafted = runner.invoke(app, ["draft", "--home", home, "--date", "2026-11-23"])
    assert drafted.exit_code == 0, drafted.output
    text = (web / "drafts" / "issue-1.md").read_text(encoding="utf-8")
    for url, title, note, reason in CASES:
        assert f"**{title}**" in text and note in text
        assert re.search(rf'flags="not_fetched:{reason}"[^>]*-->\n\*\*{re.escape(title)}\*\*', text), title
        assert re.search(rf"\[编辑推荐：{re.escape(title)}\]\({re.escape(url)}\)", text), url
    # No title and no note: the URL stands in for the title, the summary asks the editor for one.
    assert "blocked.example/notes/没有标题" in text and "请编辑补充摘要" in text
    assert "manual" not in text  # the internal source name never reaches the reader

    review = json.loads((web / "drafts" / "issue-1.json").read_text(encoding="utf-8"))
    stories = [*(s for sec in review["sections"] for s in sec["stories"]), *review["runners_up"]]
    flags = {s["title"]: s["flags"] for s in stories}
    for _, title, _, reason in CASES:
        assert flags[title] == [f"not_fetched:{reason}"]
    assert flags["开源模型的新进展"] == []  # the find that could be fetched is an ordinary candidate

    status = json.loads(runner.invoke(app, ["status", "--home", home, "--json"]).output)
    assert sum(status["items"].values()) == len(CASES) + 2  # nothing lost
    assert set(status["items"]) <= {"drafted", "enriched"}  # nothing failed or skipped


def test_a_feeds_item_behind_a_wall_keeps_its_outcome(web):
    """Only the editor's finds get a stand-in: a feed's item that fails keeps its failure and reason."""
    from curator.models import Candidate
    from curator.pipeline import Pipeline
    from curator.settings import load_settings
    from curator.store import Store

    settings = load_settings(web, env={})
    with Store(settings.db_path) as store:
        pipe = Pipeline(settings, store)
        pipe.add_candidate(Candidate(url="http://blocked.example/feed-item", source="某源"))
        run = pipe.collect(discover=False)
        assert run.status == "ok" and run.counters["fetch/blocked"] == 1 and not run.counters["add/not_fetched"]
        assert store.state_counts() == {"failed:blocked": 1}


def test_challenge_pages_are_told_from_articles_about_captchas():
    assert challenge_page(CLOUDFLARE) == challenge_page(WECHAT_WALL) == "anti_bot"
    assert challenge_page("<html><head><title>安全验证</title></head><body>请拖动滑块</body></html>")
    assert challenge_page("<html><head><title>Pardon Our Interruption</title></head><body>…</body></html>")
    assert challenge_page("<html><body><p>该内容已被发布者删除</p></body></html>") == "page_gone"  # WeChat
    assert challenge_page("<html><body><script src='https://ct.captcha-delivery.com/c.js'></script></body></html>")
    about = ("<html><head><title>验证码识别模型开源了</title></head><body>"
             + "<p>研究者开源了一个能识别验证码的模型，讨论了 captcha、g-recaptcha 与 geetest 的历史。</p>" * 80
             + "</body></html>")
    assert not challenge_page(ARTICLE)
    assert not challenge_page(about)  # an article about captchas is an article


def _story_with_an_editor_find(label: str | None) -> tuple[Renderer, Issue]:
    feed = _item(1, "https://news.example.com/gpt", "新模型发布", "新模型发布：新模型发布了。", lang="zh", section="ai", score=80,
                 sources=[_src("某新闻站", "https://news.example.com/feed")])
    mine = _item(2, "https://mp.weixin.qq.com/s/xyz", "编辑找到的解读", "编辑找到的解读：解读。", lang="zh", section="ai", score=60,
                 sources=[_src("manual", "https://mp.weixin.qq.com/s/xyz")])
    pub = PublicationSettings(**({"editor_label": label} if label else {}))
    issue = Issue(number=1, title="t", date=feed.published_at or feed.discovered_at,
                  sections=[IssueSection(id="ai", title="AI", stories=[Story(id=1, lead=feed, others=[mine])])])
    return Renderer(Settings(publication=pub)), issue


@pytest.mark.parametrize("template", ["footnotes", "list"])
@pytest.mark.parametrize(("label", "shown"), [(None, "编辑推荐"), ("阿峰推荐", "阿峰推荐")])
def test_the_editors_find_in_a_story_is_cited_first_under_the_editors_label(template, label, shown):
    renderer, issue = _story_with_an_editor_find(label)
    renderer = Renderer(renderer.settings.model_copy(update={
        "publication": renderer.settings.publication.model_copy(update={"template": template})}))
    text = renderer.render(issue)
    assert "manual" not in text
    links = re.findall(r"\]\((https://[^)]+)\)", text)
    assert links[0] == "https://mp.weixin.qq.com/s/xyz", links  # the editor's find is cited first
    assert "https://news.example.com/gpt" in links[1:]
    if template == "footnotes":
        assert f"[^1]: [{shown}：编辑找到的解读](https://mp.weixin.qq.com/s/xyz)" in text
    assert f'sources="{shown}、某新闻站"' in text or f'sources="某新闻站、{shown}"' in text


def test_the_boards_add_form_tells_the_truth_when_the_page_cannot_be_fetched(web):
    from starlette.testclient import TestClient

    from curator.review.board import make_app
    from curator.settings import load_settings

    assert runner.invoke(app, ["draft", "--home", str(web), "--date", "2026-11-23", "--allow-empty"]).exit_code == 0
    token = "test-token-0123456789"
    c = TestClient(make_app(load_settings(web, env={}), token), base_url="http://127.0.0.1")
    assert c.get(f"/?token={token}").status_code == 200
    page = c.post("/add", data={"csrf": token, "url": "http://blocked.example/board-pick", "section": "dev",
                                "title": "编辑在看板上加的", "note": "看板上写的摘要。", "process": "on"}).text
    [(level, notice)] = re.findall(r'<p class="notice (\w+)" role="status">(.*?)</p>', page)
    assert level == "warn" and "页面未能抓取（blocked）" in notice and "未抓取" in notice
    assert not re.search(r"run #\d+: ok", notice)
    # …and the find is on the board, in the draft's sections, with the editor's words and the flag.
    board = c.get("/").text
    card = next(a for a in board.split("<article ")[1:] if "编辑在看板上加的" in a)
    assert "看板上写的摘要。" in card and "not_fetched:blocked" in card and "runner" not in card.split(">", 1)[0]
    assert "编辑推荐：<a" in card and "manual" not in card  # credited as the draft credits it
    good = c.post("/add", data={"csrf": token, "url": "http://good.example/board-ok", "process": "on"}).text
    [(level, notice)] = re.findall(r'<p class="notice (\w+)" role="status">(.*?)</p>', good)
    assert level == "ok" and re.search(r"run #\d+: ok", notice) and "未能抓取" not in notice


def test_adding_an_unfetched_find_again_fetches_it_anew(web):
    home = str(web)
    first = runner.invoke(app, ["add", "http://flaky.example/p", "--home", home, "--title", "暂时打不开", "--note", "摘要。"])
    assert first.exit_code == 3 and "not_fetched:blocked" in first.output
    again = runner.invoke(app, ["add", "http://flaky.example/p", "--home", home])
    assert again.exit_code == 3 and "trying again" in again.output  # still blocked: still the stand-in
    BACK.set()
    third = runner.invoke(app, ["add", "http://flaky.example/p", "--home", home])
    assert third.exit_code == 0 and "trying again" in third.output and ": ok" in third.output, third.output
    from curator.settings import load_settings
    from curator.store import Store

    with Store(load_settings(web, env={}).db_path) as store:
        [item] = store.items()
    assert item.state == "enriched" and item.enrichment.backend == "offline" and item.enrichment.flags == []
    assert "开源" in item.article.text  # the real page now, not the editor's stand-in
    known = runner.invoke(app, ["add", "http://flaky.example/p", "--home", home])
    assert known.exit_code == 0 and "trying again" not in known.output  # a fetched find is simply known


def test_scripts_and_styles_are_not_visible_text_however_written():
    """A wall whose page is mostly script (code full of "<" and "</div>") is still a wall; text inside
    a script that is never closed is read as text, as a browser-less reader sees it."""
    code = "<SCRIPT type='text/javascript'>" + "if (a<b) { el.innerHTML = '<div>x</div>'; }\n" * 3000 + "</Script>"
    style = "<style>" + "p < a { color: red }\n" * 500 + "</STYLE>"
    wall = f"<html><head><title>Just a moment...</title>{style}</head><body>{code}<p>Checking…</p></body></html>"
    assert challenge_page(wall) == "anti_bot"
    article = "<p>" + "A long article about browser checks and what a captcha costs its readers. " * 60 + "</p>"
    assert challenge_page(f"<html><head><title>Just a moment</title></head><body>{code}{article}</body></html>") is None
    unclosed = "<html><head><title>Security check</title></head><body><script>" + article * 2 + "</body></html>"
    assert challenge_page(unclosed) is None  # no </script>: the text after <script> counts, the page is an article
