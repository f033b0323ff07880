"""Capture from anywhere: the board's share URL `/add?url=…&note=…` (GET confirms, POST adds as `curator add`
does), its guards (token, csrf, hostile url/note), and `curator review --host` (off loopback only when told,
with a fixed token and the names it answers).

The board in-process (Starlette's TestClient) on a copy of the demo workspace, real SQLite; the pages a
find points at are served on loopback (tests/loopback.py). No wall clock: a find's date is compared with
what the store recorded."""

from __future__ import annotations

import re
import shutil
from html import unescape
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from curator.cli import app
from curator.errors import UsageError
from curator.review.board import make_app
from curator.review.capture import MAX_URL_CHARS, bookmarklet
from curator.review.exposed import TOKEN_ENV, listening
from curator.settings import load_settings
from curator.store import Store
from tests.loopback import LoopbackServer
from tests.sites import article_html

TOKEN = "capture-test-token-0123456789-abcdefghij"
runner = CliRunner()


class Pages(LoopbackServer):
    """/ok/N: an article; /walled: 403 (a page the editor found that cannot be fetched)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path.startswith("/ok/") and path[4:].isdigit():
                    body, status = article_html(int(path[4:])).encode(), 200
                elif path == "/robots.txt":
                    body, status = b"", 404
                else:
                    body, status = b"forbidden", 403
                self.send_response(status)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)


@pytest.fixture
def pages():
    with Pages() as p:
        yield p


@pytest.fixture
def settings(demo_template, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(demo_template, ws)
    return load_settings(ws, env={}, overrides={"fetch": {"allowed_hosts": ["127.0.0.1"]},
                                                "llm": {"provider": "offline"}})


def share(url: str, note: str = "", token: str | None = TOKEN) -> str:
    return (f"/add?token={token}&" if token else "/add?") + f"url={quote(url, safe='')}&note={quote(note, safe='')}"


def fresh(settings) -> TestClient:
    return TestClient(make_app(settings, TOKEN), base_url="http://127.0.0.1")


def item_count(settings) -> int:
    with Store(settings.db_path) as store:
        return len(store.items())


def confirm_fields(html: str) -> dict[str, str]:
    """The confirm form's fields as the browser would send them (attribute values unescaped)."""
    inputs = dict(re.findall(r'<input type="(?:hidden|url|text)" name="(\w+)" value="([^"]*)"', html))
    inputs["note"] = re.search(r'<textarea name="note"[^>]*>(.*?)</textarea>', html, re.DOTALL).group(1)
    return {k: unescape(v) for k, v in inputs.items()}


def test_share_url_shows_a_confirm_form_and_stores_nothing_until_posted(settings, pages):
    c = fresh(settings)  # no cookie: the share URL's own token lets it in (a link from another site's page)
    before = item_count(settings)
    url = f"{pages.origin}/ok/3?utm_source=x&lang=zh"
    page = c.get(share(url, "值得一读：新的数据库索引"))
    assert page.status_code == 200
    assert 'name="url" value="' + url.replace("&", "&amp;") + '"' in page.text
    assert "值得一读：新的数据库索引" in page.text and item_count(settings) == before
    assert "curator_review=" in page.headers["set-cookie"] and "samesite=strict" in page.headers["set-cookie"].lower()
    assert page.headers["content-security-policy"].startswith("default-src 'none'")

    fields = confirm_fields(page.text)
    assert fields["csrf"] == TOKEN and fields["capture"] == "1"
    done = c.post("/add", data={**fields, "process": "on"})
    assert done.status_code == 200 and "已添加" in done.text, done.text
    item_id = int(re.search(r'href="/items/(\d+)"', done.text).group(1))
    with Store(settings.db_path) as store:
        item = store.items(ids=[item_id])[0]
    assert item.url == url and item_count(settings) == before + 1
    # As `curator add`: the editor's find (source "manual"), fetched and summarised now.
    assert [s.source for s in item.sources] == ["manual"] and item.enrichment is not None
    assert item.state.value == "enriched" and item.enrichment.title in done.text

    again = c.post("/add", data={**fields, "process": "on"})
    day = item.discovered_at.date().isoformat()
    assert again.status_code == 200 and f"已经有了（收录于 {day}" in again.text and item_count(settings) == before + 1


def test_a_find_whose_page_cannot_be_fetched_is_kept_with_the_note(settings, pages):
    c = fresh(settings)
    url = f"{pages.origin}/walled"
    fields = confirm_fields(c.get(share(url, "编辑的推荐语：这篇讲透了 WAL")).text)
    done = c.post("/add", data={**fields, "process": "on"})
    assert done.status_code == 200 and "页面未能抓取" in done.text and 'class="notice warn"' in done.text
    with Store(settings.db_path) as store:
        item = next(i for i in store.items() if i.url == url)
    assert item.enrichment is not None and item.enrichment.summary == "编辑的推荐语：这篇讲透了 WAL"
    assert any(f.startswith("not_fetched:") for f in item.enrichment.flags)


def test_without_process_the_find_waits_for_the_next_collect(settings, pages):
    c = fresh(settings)
    url = f"{pages.origin}/ok/5"
    fields = confirm_fields(c.get(share(url)).text)
    done = c.post("/add", data=fields)  # the box unticked: not sent
    assert "已添加" in done.text and "curator collect" in done.text
    with Store(settings.db_path) as store:
        assert next(i for i in store.items() if i.url == url).state.value == "discovered"


def test_the_share_url_needs_the_token_and_the_post_its_csrf(settings, pages):
    c = fresh(settings)
    assert c.get(share(f"{pages.origin}/ok/1", token=None)).status_code == 403
    assert c.get(share(f"{pages.origin}/ok/1", token="wrong-token")).status_code == 403
    # A wrong token in the URL on another path is refused too, and a right one elsewhere still redirects.
    assert c.get("/?token=wrong").status_code == 403
    fields = confirm_fields(c.get(share(f"{pages.origin}/ok/1")).text)
    before = item_count(settings)
    assert c.post("/add", data={**fields, "csrf": "forged"}).status_code == 403
    stranger = fresh(settings)  # a page elsewhere posting the form: no cookie
    assert stranger.post("/add", data=fields).status_code == 403
    assert item_count(settings) == before


@pytest.mark.parametrize(("url", "note", "words"), [
    ("javascript:alert(1)", "", "only http:// and https://"),
    ("ftp://files.example.org/a", "", "only http:// and https://"),
    ("https://user:pw@example.org/a", "", "user name or password"),
    ("https://example.org/" + "a" * MAX_URL_CHARS, "", f"longer than {MAX_URL_CHARS}"),
    ("https://example.org/a", "长" * 3001, "at most 3000"),
    ("http://10.1.2.3/admin", "", "private address"),
    ("http://169.254.169.254/latest/meta-data/", "", "cloud metadata"),
    ("http://localhost:8080/", "", "local address"),
    ("", "", "empty"),
])
def test_hostile_share_urls_are_refused_with_a_reason_and_store_nothing(settings, url, note, words):
    c = fresh(settings)
    before = item_count(settings)
    page = c.get(share(url, note))
    assert page.status_code == 400 and words in page.text, page.text[:2000]
    fields = {"csrf": TOKEN, "capture": "1", "url": url, "note": note, "process": "on"}
    posted = c.post("/add", data=fields)
    assert posted.status_code in (400, 413) and "Traceback" not in posted.text
    assert item_count(settings) == before


def test_url_and_note_are_rendered_escaped(settings, pages):
    c = fresh(settings)
    note = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'&'
    url = f'{pages.origin}/ok/2?q="><script>alert(2)</script>'
    page = c.get(share(url, note))
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(" in page.text and "&lt;img src=x" in page.text
    bad = c.get(share(f"{pages.origin}/ok/2", "a\x00b\x07c"))
    assert bad.status_code == 200 and "abc" in bad.text and "\x00" not in bad.text


def test_the_board_shows_the_bookmarklet_and_the_share_template(settings):
    c = fresh(settings)
    assert c.get(f"/?token={TOKEN}").status_code == 200
    assert 'href="/capture"' in c.get("/").text
    board = c.get("/capture").text
    mark = unescape(re.search(r'id="bookmarklet-code"[^>]*>([^<]+)</textarea>', board).group(1))
    assert mark == bookmarklet("http://127.0.0.1", TOKEN) and mark.startswith("javascript:")
    assert "encodeURIComponent(location.href)" in mark and "getSelection()" in mark
    assert "http://127.0.0.1/add?token=" + TOKEN + "&url={URL}&note={TEXT}" in unescape(board)


# ---- off loopback --------------------------------------------------------------------------------------
def test_listening_off_loopback_needs_a_fixed_token_and_names(settings):
    assert listening("127.0.0.1", None).warnings == ()
    with pytest.raises(UsageError, match=TOKEN_ENV):
        listening("192.168.1.20", None)
    with pytest.raises(UsageError, match="at least 32"):
        listening("192.168.1.20", "short")
    with pytest.raises(UsageError, match="--allow-host"):
        listening("0.0.0.0", TOKEN)
    with pytest.raises(UsageError, match="neither an IP address nor a host name"):
        listening("evil host", TOKEN)
    lan = listening("192.168.1.20", TOKEN)
    assert lan.bind == "192.168.1.20" and "192.168.1.20" in lan.allowed_hosts and "WARNING" in lan.warnings[0]
    proxied = listening("0.0.0.0", TOKEN, ("curator.team.example",))
    assert proxied.shown == "curator.team.example" and "0.0.0.0" not in proxied.allowed_hosts

    # The gate with those names: the token still on every request, any other Host refused.
    c = TestClient(make_app(settings, TOKEN, allowed_hosts=proxied.allowed_hosts), base_url="http://curator.team.example")
    assert c.get("/").status_code == 403
    assert c.get(f"/?token={TOKEN}").status_code == 200 and c.get("/").status_code == 200
    other = TestClient(make_app(settings, TOKEN, allowed_hosts=proxied.allowed_hosts), base_url="http://rebound.example")
    assert other.get(f"/?token={TOKEN}").status_code == 403


@pytest.mark.parametrize(("args", "env", "words"), [
    (["--host", "192.168.1.20"], {}, TOKEN_ENV),
    (["--host", "0.0.0.0"], {TOKEN_ENV: TOKEN}, "--allow-host"),
    (["--host", "192.168.1.20"], {TOKEN_ENV: "too-short"}, "at least 32"),
])
def test_review_refuses_to_listen_off_loopback_without_what_it_needs(settings, args, env, words):
    result = runner.invoke(app, ["review", "--home", str(settings.home), "--no-open", *args], env=env)
    assert result.exit_code != 0 and words in result.output and "Traceback" not in result.output
    assert TOKEN not in result.output
