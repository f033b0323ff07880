"""Hostile input, board class: source text and editor edits never run in the board or land as markup
in the draft; odd input (huge or malformed numbers, oversized forms) answers 4xx, never a 500, and
the board's log holds no traceback."""

from __future__ import annotations

import json
import logging
import re
import shutil

import httpx
import pytest
from markdown_it import MarkdownIt

from curator.review.board import make_app, markdown_to_html, running
from curator.settings import load_settings
from curator.store import Store
from tests.test_review_board import TOKEN, board_state, client, decide, draft_text, stored


@pytest.fixture
def settings(demo_template, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(demo_template, ws)
    return load_settings(ws, env={})


# Markup that must stay text wherever the board shows it (title, summary, reason, article text, source name).
PAYLOAD = ('<img src=x onerror=alert(1)> <svg onload=alert(2)> <script>alert(3)</script> '
           '[点我](javascript:alert(4)) <a href="javascript:alert(5)">x</a> '
           '[带标题](https://ok.example/ "x onerror=alert(6)") ![p](https://evil.example/p.gif) '
           '<iframe src="https://evil.example/"></iframe> "><img src=y onerror=alert(7)>')


# The board's own keyboard script, a static file the CSP allows (script-src 'self'): the one script tag a page
# may hold. Text from a source cannot write it (it reaches the page escaped), and any other script still fails.
BOARD_SCRIPT = '<script src="/static/board.js" defer>'


def assert_no_active_markup(page: str, where: str) -> None:
    """No tag of the page carries a handler, a javascript:/data: URL, or is a script/img/iframe/svg (but the
    board's own static script)."""
    for tag in re.findall(r"<[a-zA-Z][^>]*>", page):
        if tag == BOARD_SCRIPT:
            continue
        assert not re.search(r"\son\w+\s*=", tag, re.IGNORECASE), (where, tag)
        assert not re.search(r"""(?:href|src|action)\s*=\s*["']?\s*(?:javascript|data|vbscript):""", tag,
                             re.IGNORECASE), (where, tag)
        assert not re.match(r"<(script|img|iframe|svg|object|embed)\b", tag, re.IGNORECASE), (where, tag)


def poison(settings, story: int) -> None:
    """Every stored field the board shows for `story` carries the payload."""
    with Store(settings.db_path) as store, store.transaction():
        fields = json.loads(store.db.execute("SELECT fields FROM enrichments WHERE item_id=?", (story,)).fetchone()[0])
        fields.update(title="标题 " + PAYLOAD, summary="正常的摘要 " + PAYLOAD, reason=PAYLOAD)
        store.db.execute("UPDATE enrichments SET fields=? WHERE item_id=?", (json.dumps(fields), story))
        article = json.loads(store.db.execute("SELECT article FROM items WHERE id=?", (story,)).fetchone()[0])
        article.update(title="原题 " + PAYLOAD, text="正文第一段 " + PAYLOAD)
        store.db.execute("UPDATE items SET article=?, title=? WHERE id=?", (json.dumps(article), "原题 " + PAYLOAD, story))
        store.db.execute("UPDATE item_sources SET discussion_url='javascript:alert(8)', submitter=? WHERE item_id=?",
                         ("alice " + PAYLOAD, story))


def test_stored_payloads_render_as_text_on_every_page(settings):
    c = client(settings)
    story = board_state(c)["section-ai"][0]
    poison(settings, story)
    assert c.post("/regenerate", data={"csrf": TOKEN}).status_code == 200
    for path in ("/", "/draft", f"/items/{story}"):
        page = c.get(path).text
        assert "正常的摘要" in page or "正文第一段" in page, path
        assert_no_active_markup(page, path)
    assert "&lt;img src=x onerror=alert(1)&gt;" in c.get(f"/items/{story}").text  # shown, as text


def test_an_editors_edit_lands_in_the_draft_as_text(settings):
    c = client(settings)
    story = board_state(c)["section-ai"][0]
    edit = ('编辑的标题 <script>alert(1)</script> <img src=x onerror=alert(2)>',
            '编辑的摘要 [点我](javascript:alert(3)) [外链](https://evil.example/x)\n\n[^1]: https://evil.example/spoof\n---')
    assert decide(c, action="edit", story_id=story, title=edit[0], summary=edit[1]).status_code == 200
    assert c.post("/regenerate", data={"csrf": TOKEN}).status_code == 200
    text = draft_text(settings)
    assert "编辑的标题" in text and "编辑的摘要" in text
    body = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.DOTALL)
    tokens = MarkdownIt("commonmark", {"html": True}).parse(body)
    flat = [t for tok in tokens for t in [tok, *(tok.children or [])]]
    html = [t.content for t in flat if t.type in ("html_inline", "html_block")]
    assert all(h.strip().startswith("<!-- curator") for h in html), html
    hrefs = [t.attrs.get("href") for t in flat if t.type == "link_open"]
    assert hrefs and not [h for h in hrefs if "evil.example" in str(h) or not str(h).startswith("http")]
    assert not [t for t in flat if t.type == "hr"]
    assert len(re.findall(r"^\[\^1\]:", body, re.MULTILINE)) == 1
    for path in ("/", "/draft"):
        assert_no_active_markup(c.get(path).text, path)


def test_the_preview_allow_list_drops_non_http_links_and_attributes():
    _, html = markdown_to_html('[m](mailto:a@b.example) [f](file:///etc/passwd) [t](https://ok.example/ "x onerror=y") '
                               '[ok](https://ok.example/) <img src=x onerror=alert(1)>\n')
    assert 'href="https://ok.example/"' in html
    assert "mailto:" not in html.split("[m]")[0] and 'href="mailto' not in html and 'href="file' not in html
    assert "title=" not in html
    assert_no_active_markup(html, "preview")


# ---- odd input ---------------------------------------------------------------------------------
ODD_NUMBERS = ["1" * 30, "-1", "-99999999999999999999", "abc", "1e3", "0x10", "１２", "3.5", " ", "9" * 19]


@pytest.mark.parametrize("field", ["story_id", "position", "replaces"])
def test_odd_numbers_in_a_decision_answer_4xx_and_record_nothing(settings, field, caplog):
    c = client(settings)
    story = board_state(c)["section-ai"][0]
    for value in ODD_NUMBERS:
        base = {"action": "reorder", "story_id": story, "position": 0}
        if field == "replaces":
            base = {"action": "swap_in", "story_id": story, "section": "ai"}
        r = decide(c, **{**base, field: value})
        if value.strip() == "":
            continue  # an empty field is simply absent (a missing story id is a notice on the board)
        assert 400 <= r.status_code < 500, (field, value, r.status_code, r.text)
    recorded = [d for d in stored(settings) if d.action == "reorder" or d.action == "swap_in"]
    assert all(d.position in (None, 0) for d in recorded)
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


def test_odd_item_ids_answer_404(settings):
    c = client(settings)
    for path in ("/items/" + "1" * 30, "/items/-1", "/items/abc", "/items/9223372036854775808", "/items/0"):
        assert c.get(path).status_code == 404, path


def test_huge_and_malformed_forms_answer_4xx(settings):
    c = client(settings)
    big = c.post("/decide", content=b"csrf=" + TOKEN.encode() + b"&title=" + b"x" * 200_000,
                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert big.status_code == 413
    many = "&".join(f"f{i}=1" for i in range(500)) + f"&csrf={TOKEN}"
    assert c.post("/decide", content=many.encode(),
                  headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 400
    bad_utf8 = b"csrf=" + TOKEN.encode() + b"&action=edit&story_id=1&title=%ff%fe\xff"
    assert c.post("/decide", content=bad_utf8,
                  headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 400
    long_title = decide(c, action="edit", story_id=board_state(c)["section-ai"][0], title="长" * 5000)
    assert long_title.status_code == 200 and "at most 300" in long_title.text
    assert stored(settings) == []


def test_real_server_log_holds_no_traceback_for_odd_input(settings, caplog):
    """Through uvicorn on loopback, as the editor's browser talks to it."""
    caplog.set_level(logging.INFO)
    with running(make_app(settings, TOKEN)) as base, httpx.Client(base_url=base, follow_redirects=True) as h:
        assert h.get(f"/?token={TOKEN}").status_code == 200
        codes = [h.get("/items/" + "7" * 30).status_code]
        for value in ("1" * 30, "-5", "x"):
            codes.append(h.post("/decide", data={"csrf": TOKEN, "action": "reorder", "story_id": value,
                                                 "position": value}).status_code)
        codes.append(h.post("/decide", content=b"csrf=" + TOKEN.encode() + b"&t=" + b"y" * 100_000,
                            headers={"content-type": "application/x-www-form-urlencoded"}).status_code)
    assert all(400 <= code < 500 for code in codes), codes
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()
                or r.levelno >= logging.ERROR]


def test_an_unexpected_error_is_a_plain_500_with_one_log_line(settings, monkeypatch, caplog):
    from curator.review import board as board_app

    def broken(*_: object) -> None:
        raise RuntimeError(f"boom {TOKEN}")

    monkeypatch.setattr(board_app, "load_view", broken)
    c = client(settings, login=False)
    c.get(f"/?token={TOKEN}")
    r = c.get("/")
    assert r.status_code == 500 and TOKEN not in r.text and "Traceback" not in r.text
    lines = [rec for rec in caplog.records if rec.name.startswith("curator.review")]
    assert lines and not [rec for rec in lines if rec.exc_info] and TOKEN not in lines[-1].getMessage()


ROUTES = ["/", "/draft", "/items/1", "/decide", "/add", "/regenerate", "/static/board.css"]


def test_every_route_answers_odd_methods_ids_and_csrf_with_4xx_and_records_nothing(settings, caplog):
    """The prober's sweep: every route, every method, forged or missing CSRF, odd ids, traversal in /static."""
    c = client(settings)
    codes: dict[str, int] = {}
    for path in ROUTES:
        for method in ("PUT", "DELETE", "PATCH"):
            codes[f"{method} {path}"] = c.request(method, path).status_code
    for path in ("/decide", "/add", "/regenerate"):
        codes[f"GET {path}"] = c.get(path).status_code
        codes[f"no csrf {path}"] = c.post(path, data={"action": "drop", "story_id": "1"}).status_code
        codes[f"forged csrf {path}"] = c.post(path, data={"csrf": "x" * 43, "action": "drop",
                                                          "story_id": "1"}).status_code
    for path in ("/items/1%00", "/items/1.5", "/items/%2e%2e", "/items/" + "9" * 400, "/items/١٢", "/items/+1"):
        codes[f"GET {path}"] = c.get(path).status_code
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/%2e%2e%2f%2e%2e/cli.py",
                 "/static//etc/passwd", "/static/%00", "/static/"):
        resp = c.get(path)
        codes[f"GET {path}"] = resp.status_code
        assert "def " not in resp.text and "root:" not in resp.text, path
    assert all(400 <= code < 500 for code in codes.values()), {k: v for k, v in codes.items() if not 400 <= v < 500}
    assert stored(settings) == []
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize("headers", [{"host": "evil.example"}, {"host": "127.0.0.1.evil.example"},
                                     {"origin": "https://evil.example"}, {"origin": "http://127.0.0.1.evil.example"},
                                     {"host": "localhost:1@evil.example"}])
def test_a_spoofed_host_or_origin_is_refused_on_every_route(settings, headers):
    c = client(settings)
    for path in ROUTES:
        assert c.get(path, headers=headers).status_code == 403, (path, headers)
    for path in ("/decide", "/add", "/regenerate"):
        resp = c.post(path, data={"csrf": TOKEN, "action": "drop", "story_id": "1"}, headers=headers)
        assert resp.status_code == 403, (path, headers)
    assert stored(settings) == []
