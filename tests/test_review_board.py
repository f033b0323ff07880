"""The review board over HTTP: the token gate, CSRF, every decision, regeneration, persistence, sanitising."""

from __future__ import annotations

import json
import re
import shutil

import httpx
import pytest
from starlette.testclient import TestClient

from curator import decisions
from curator.decisions import Action
from curator.models import ItemState
from curator.review.board import make_app, markdown_to_html, running
from curator.settings import load_settings
from curator.store import Store

TOKEN = "test-token-0123456789"


@pytest.fixture
def settings(demo_template, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(demo_template, ws)
    return load_settings(ws, env={})


def client(settings, token: str = TOKEN, *, login: bool = True) -> TestClient:
    c = TestClient(make_app(settings, token), base_url="http://127.0.0.1")
    if login:
        assert c.get(f"/?token={token}").status_code == 200
    return c


def board_state(c: TestClient) -> dict[str, list[int]]:
    """Story ids per board section, as the page lists them."""
    page = c.get("/").text
    out: dict[str, list[int]] = {}
    for sec in re.split(r'<section class="section" id="', page)[1:]:
        name = sec.split('"', 1)[0]
        out[name] = [int(x) for x in re.findall(r'<article class="story[^"]*" id="story-(\d+)"', sec)]
    return out


def decide(c: TestClient, **fields) -> httpx.Response:
    return c.post("/decide", data={"csrf": TOKEN, **{k: str(v) for k, v in fields.items()}})


def stored(settings) -> list[decisions.Decision]:
    with Store(settings.db_path) as store:
        return decisions.load(store, 1)


def draft_text(settings) -> str:
    return (settings.drafts_dir / "issue-1.md").read_text(encoding="utf-8")


def title_of(settings, story_id: int) -> str:
    with Store(settings.db_path) as store:
        item = store.items(ids=[story_id])[0]
    return item.enrichment.title


# ---- the gate ----------------------------------------------------------------------------------
def test_every_request_needs_the_token(settings):
    c = client(settings, login=False)
    for path in ("/", "/draft", "/items/1", "/static/board.css"):
        assert c.get(path).status_code == 403, path
    assert c.get("/?token=wrong").status_code == 403
    assert c.post("/decide", data={"csrf": TOKEN, "action": "drop", "story_id": "1"}).status_code == 403
    assert c.post("/regenerate", data={"csrf": TOKEN}).status_code == 403
    assert stored(settings) == []


def test_token_in_the_url_becomes_a_strict_httponly_cookie(settings):
    c = client(settings, login=False)
    first = c.get(f"/?token={TOKEN}", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/"  # the token leaves the address bar
    cookie = first.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = c.get("/")
    assert page.status_code == 200 and "重新生成草稿" in page.text
    csp = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    assert csp["default-src"] == "'none'" and csp["script-src"] == "'self'"  # the board's static file, nothing inline
    scripts = re.findall(r"<script\b[^>]*>", page.text)
    assert scripts == ['<script src="/static/board.js" defer>']  # one static file, no inline code
    assert "</script>" in page.text and not re.search(r"<script[^>]*>[^<]", page.text)
    assert page.headers["x-frame-options"] == "DENY" and page.headers["referrer-policy"] == "no-referrer"


def test_posts_need_the_csrf_field_as_well_as_the_cookie(settings):
    c = client(settings)
    assert c.post("/decide", data={"action": "drop", "story_id": "34"}).status_code == 403
    assert c.post("/decide", data={"csrf": "nope", "action": "drop", "story_id": "34"}).status_code == 403
    assert c.post("/regenerate", data={}).status_code == 403
    assert c.post("/add", data={"url": "https://example.com/x"}).status_code == 403
    assert c.post("/decide", json={"csrf": TOKEN, "action": "drop", "story_id": 34}).status_code == 403
    assert stored(settings) == []


def test_foreign_host_or_origin_is_refused(settings):
    c = client(settings)
    assert c.get("/", headers={"host": "evil.example"}).status_code == 403  # DNS rebinding
    r = c.post("/decide", data={"csrf": TOKEN, "action": "drop", "story_id": "34"},
               headers={"origin": "https://evil.example"})
    assert r.status_code == 403 and stored(settings) == []


# ---- decisions ---------------------------------------------------------------------------------
def test_each_action_is_recorded_and_shown(settings):
    c = client(settings)
    before = board_state(c)
    ai, dev = before["section-ai"], before["section-dev"]
    runner = before["runners-up"][0]
    assert decide(c, action="keep", story_id=ai[0]).status_code == 200
    decide(c, action="drop", story_id=ai[1])
    decide(c, action="move", story_id=dev[0], section="industry")
    decide(c, action="reorder", story_id=ai[3], position=0)
    decide(c, action="edit", story_id=ai[0], title="编辑改的标题", summary="编辑改的摘要。")
    decide(c, action="swap_in", story_id=runner, section="research", replaces="")
    r = c.post("/add", data={"csrf": TOKEN, "url": "https://example.com/editor-pick", "section": "dev"})
    assert r.status_code == 200 and "已添加条目" in r.text
    acts = [(d.action, d.story_id) for d in stored(settings)]
    assert acts[:6] == [(Action.KEEP, ai[0]), (Action.DROP, ai[1]), (Action.MOVE, dev[0]), (Action.REORDER, ai[3]),
                        (Action.EDIT, ai[0]), (Action.SWAP_IN, runner)]
    assert acts[6][0] is Action.ADD
    after = board_state(c)
    assert ai[1] not in after["section-ai"] and after["dropped"] == [ai[1]]
    assert after["section-ai"][0] == ai[3]
    assert dev[0] in after["section-industry"]
    assert runner in after["section-research"] and runner not in after["runners-up"]
    page = c.get("/").text
    assert "编辑改的标题" in page and "example.com/editor-pick" in page  # the add waits for collect
    with Store(settings.db_path) as store:
        added = store.items(urls=["https://example.com/editor-pick"])
    assert added and added[0].sources[0].source == "manual" and added[0].state == "discovered"


def test_swap_in_place_of_a_story(settings):
    c = client(settings)
    before = board_state(c)
    target, runner = before["section-dev"][1], before["runners-up"][0]
    decide(c, action="swap_in", story_id=runner, section="ai", replaces=target)
    after = board_state(c)
    assert after["section-dev"][1] == runner and target in after["dropped"]


def test_bad_decisions_are_reported_not_recorded(settings):
    c = client(settings)
    page = decide(c, action="move", story_id=34, section="nowhere").text
    assert "unknown section" in page
    assert "needs a position" in decide(c, action="reorder", story_id=34).text
    assert stored(settings) == []


def test_regenerate_rewrites_the_markdown_from_the_decisions(settings):
    c = client(settings)
    state = board_state(c)
    dropped, runner, edited = state["section-ai"][1], state["runners-up"][0], state["section-dev"][0]
    old = draft_text(settings)
    dropped_title, runner_title = title_of(settings, dropped), title_of(settings, runner)
    assert dropped_title in old and runner_title not in old
    decide(c, action="drop", story_id=dropped)
    decide(c, action="swap_in", story_id=runner, section="ai")
    decide(c, action="edit", story_id=edited, summary="编辑亲自写的一句摘要。")
    assert "有尚未写入草稿文件的决定" in c.get("/").text
    assert draft_text(settings) == old  # nothing changes until the editor asks
    r = c.post("/regenerate", data={"csrf": TOKEN})
    assert r.status_code == 200 and "草稿已重新生成" in r.text and "有尚未写入" not in r.text
    new = draft_text(settings)
    assert dropped_title not in new and runner_title in new and "编辑亲自写的一句摘要。" in new
    assert "编辑亲自写的一句摘要。" in c.get("/draft").text


def test_adding_a_known_url_brings_its_story_in(settings):
    c = client(settings)
    runner = board_state(c)["runners-up"][-1]
    with Store(settings.db_path) as store:
        url = store.items(ids=[runner])[0].url
    c.post("/add", data={"csrf": TOKEN, "url": url, "section": "industry", "process": "on"})
    assert runner in board_state(c)["section-industry"]
    c.post("/regenerate", data={"csrf": TOKEN})
    assert title_of(settings, runner) in draft_text(settings)


def test_decisions_survive_a_new_board(settings):
    c = client(settings)
    state = board_state(c)
    decide(c, action="drop", story_id=state["section-ai"][0])
    decide(c, action="edit", story_id=state["section-dev"][0], summary="重启之后也在。")
    again = client(settings, token="another-token-after-restart")
    assert again.get("/").status_code == 200
    assert board_state(again)["dropped"] == [state["section-ai"][0]]
    assert "重启之后也在。" in again.get("/").text
    assert again.post("/regenerate", data={"csrf": "another-token-after-restart"}).status_code == 200
    assert "重启之后也在。" in draft_text(settings)
    stale = client(settings, token="another-token-after-restart", login=False)
    stale.cookies.set("curator_review", TOKEN)  # the cookie of the board before the restart
    assert stale.get("/").status_code == 403


def test_item_page_shows_the_extracted_text(settings):
    c = client(settings)
    story = board_state(c)["section-ai"][0]
    page = c.get(f"/items/{story}").text
    assert "抽取的正文" in page
    with Store(settings.db_path) as store:
        item = store.items(ids=[story])[0]
    assert item.article.text.split("\n")[0][:30] in page
    assert c.get("/items/999999").status_code == 404


# ---- sanitising --------------------------------------------------------------------------------
EVIL = '<script>alert(1)</script><img src=x onerror="alert(2)"> [点我](javascript:alert(3)) <a href="javascript:alert(4)">x</a>'


def test_source_html_never_reaches_the_page_as_markup(settings):
    c = client(settings)
    story = board_state(c)["section-ai"][0]
    with Store(settings.db_path) as store, store.transaction():
        fields = json.loads(store.db.execute("SELECT fields FROM enrichments WHERE item_id=?", (story,)).fetchone()[0])
        fields["summary"] = "正常的摘要 " + EVIL
        fields["reason"] = EVIL
        store.db.execute("UPDATE enrichments SET fields=? WHERE item_id=?", (json.dumps(fields), story))
        store.db.execute("UPDATE item_sources SET discussion_url='javascript:alert(5)' WHERE item_id=?", (story,))
    decide(c, action="edit", story_id=board_state(c)["section-dev"][0], title="标题<script>alert(6)</script>")
    c.post("/regenerate", data={"csrf": TOKEN})
    assert "<script>alert(1)</script>" not in draft_text(settings)  # escaped into Markdown (test_hostile_render)
    for path in ("/", "/draft", f"/items/{story}"):
        page = c.get(path).text
        assert "正常的摘要" in page
        assert "<script>alert" not in page, path
        assert "<img" not in page, path
        assert not re.search(r"""<[^>]*href=["']?\s*javascript:""", page, re.IGNORECASE), path
        assert not re.search(r"<[^>]+\son\w+=", page, re.IGNORECASE), path


def test_markdown_to_html_allow_list():
    front, html = markdown_to_html('---\ntitle: "x"\n---\n\n**粗** [ok](https://a.test) [bad](javascript:alert(1))\n\n'
                                   '<div onclick="x()">raw</div>\n\n<!-- curator story="1" -->\n[^1]: [src](https://b.test)\n')
    assert front == 'title: "x"'
    assert "<strong>粗</strong>" in html and 'href="https://a.test"' in html
    assert "javascript:" not in html.replace("[bad](javascript:alert(1))", "")
    assert "<div" not in html and "curator story" not in html
    assert 'href="https://b.test"' in html


# ---- a real server on loopback -----------------------------------------------------------------
def test_real_uvicorn_on_loopback(settings):
    with running(make_app(settings, TOKEN)) as base:
        assert base.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=base, follow_redirects=True) as h:
            assert h.get("/").status_code == 403
            assert h.get(f"/?token={TOKEN}").status_code == 200
            story = board_state_from(h.get("/").text)["section-ai"][0]
            assert h.post("/decide", data={"csrf": TOKEN, "action": "drop", "story_id": str(story)}).status_code == 200
    assert [(d.action, d.story_id) for d in stored(settings)] == [(Action.DROP, story)]


def board_state_from(page: str) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for sec in re.split(r'<section class="section" id="', page)[1:]:
        out[sec.split('"', 1)[0]] = [int(x) for x in re.findall(r'<article class="story[^"]*" id="story-(\d+)"', sec)]
    return out


def test_stories_the_archive_already_ran_are_listed_not_selected(settings):
    from curator.archive import Entry, ParsedIssue, record_issue
    from curator.store import Store

    first_story = board_state(client(settings))
    with Store(settings.db_path) as store:
        item = store.items(states=[ItemState.DRAFTED])[0]
        record_issue(store, ParsedIssue(path="x.md", number=41, date=None, title="旧刊",
                                        entries=[Entry(item.url, "旧标题")]), "x.md")
    page = client(settings).get("/").text
    assert "往期已刊（不再入选）" in page and "already ran in #41" in page
    assert item.enrichment.title in page.split("往期已刊")[1]
    assert first_story  # the board still has its sections


# ---- what a card says (issue 16) ---------------------------------------------------------------
def card_html(page: str, story_id: int) -> str:
    start = page.index(f'id="story-{story_id}"')
    return page[start:page.index("</article>", start)]


def test_cards_show_date_tags_and_the_section_they_are_in_now(settings):
    c = client(settings)
    state = board_state(c)
    story = state["section-dev"][0]
    with Store(settings.db_path) as store:
        item = store.items(ids=[story])[0]
    card = card_html(c.get("/").text, story)
    when = (item.published_at or item.discovered_at).strftime("%Y-%m-%d")
    assert f'<time datetime="{when}">{when}</time>' in card
    assert all(f"#{tag}" in card for tag in item.enrichment.tags)
    assert '栏目：<span class="section-label">开发者与开源</span>' in card
    decide(c, action="move", story_id=story, section="industry")
    moved = card_html(c.get("/").text, story)
    assert '栏目：<span class="section-label">产业与公司</span>（原「开发者与开源」）' in moved


def test_a_runner_up_says_why_it_lost(settings):
    from curator.review.views import load_view

    c = client(settings)
    page = c.get("/").text
    with Store(settings.db_path) as store:
        view = load_view(settings, store)
    assert view is not None and view.runners_up
    kept = {sec.id: min((st.score for st in sec.stories), default=None) for sec in view.issue.sections}
    for runner in view.runners_up:
        loss = view.lost[runner.id]
        card = card_html(page, runner.id)
        assert f'<p class="lost" data-why="{loss.why}">未入选：' in card
        assert f"它 {runner.score} 分" in card
        section = runner.lead.enrichment.section
        assert loss.lowest_kept == kept[section]
        if kept[section] is not None:
            assert f"最低入选 {kept[section]} 分" in card
    # The demo's runners-up outscore kept stories: what stopped them is the per-outlet cap, and the card says so.
    beaten = [r for r in view.runners_up if view.lost[r.id].lowest_kept is not None
              and r.score > view.lost[r.id].lowest_kept]
    assert beaten and all(view.lost[r.id].why == "outlet" for r in beaten)
    assert f"每期最多 {settings.drafts.max_per_domain} 条" in card_html(page, beaten[0].id)


def test_a_full_section_is_named_as_the_reason(settings):
    from curator.review.views import load_view
    from curator.settings import load_settings as load

    roomy = load(settings.home, env={"CURATOR_DRAFTS__MAX_PER_DOMAIN": "50"})
    with Store(roomy.db_path) as store:
        view = load_view(roomy, store)
    assert view is not None
    reasons = {view.lost[r.id].why for r in view.runners_up}
    assert reasons == {"quota"}, reasons
    runner = view.runners_up[0]
    assert "栏目已满" in view.lost[runner.id].text


def test_the_keyboard_script_is_a_static_file_that_writes_no_markup(settings):
    c = client(settings)
    js = c.get("/static/board.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert js.headers["x-content-type-options"] == "nosniff"
    # It presses the page's own buttons and sets text only: source text never becomes markup or code.
    for risky in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(", "fetch("):
        assert risky not in js.text, risky
    assert client(settings, login=False).get("/static/board.js").status_code == 403
    assert "/static/board.js" not in c.get("/draft").text  # the keys belong to the board page only


def test_regenerate_below_min_stories_says_so_and_leaves_the_draft(settings):
    """#12 §3: the board's regenerate honours drafts.min_stories as `curator draft` does (nothing written)."""
    old = draft_text(settings)
    raised = settings.model_copy(update={"drafts": settings.drafts.model_copy(update={"min_stories": 1000})})
    c = client(raised)
    r = c.post("/regenerate", data={"csrf": TOKEN})
    assert r.status_code == 200 and "草稿已重新生成" not in r.text
    assert "fewer than drafts.min_stories = 1000" in r.text and "left as it was" in r.text
    assert draft_text(settings) == old
