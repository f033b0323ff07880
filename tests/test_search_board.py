"""The board's search page: token-protected, escaped like every board page, bad input said on the page (4xx);
and in a real headless Chromium, the editor types a query and sees the hit that already ran."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from curator.cli import app
from curator.settings import load_settings
from curator.store import Store
from tests.test_hostile_board import PAYLOAD, assert_no_active_markup, poison
from tests.test_review_board import client

runner = CliRunner()


@pytest.fixture
def settings(demo_template, tmp_path):
    """The demo workspace with issue #1 published as drafted."""
    ws = tmp_path / "ws"
    shutil.copytree(demo_template, ws)
    result = runner.invoke(app, ["publish", str(ws / "drafts" / "issue-1.md"), "--home", str(ws)])
    assert result.exit_code == 0, result.output
    return load_settings(ws, env={})


def first_story(settings) -> dict:
    review = json.loads((settings.drafts_dir / "issue-1.json").read_text(encoding="utf-8"))
    return review["sections"][0]["stories"][0]


def query_for(title: str) -> str:
    return re.findall(r"[\u4e00-\u9fff]{4,}", title)[0][:4]


class _Tags(HTMLParser):
    """Every element and attribute as a browser's parser sees them (an escaped `onerror=` inside a value
    is text, not an attribute)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))


def no_live_markup(page: str) -> None:
    parser = _Tags()
    parser.feed(page)
    for tag, attrs in parser.found:
        assert tag not in ("img", "svg", "iframe", "object", "embed") and (
            tag != "script" or dict(attrs).get("src") == "/static/board.js"), (tag, attrs)
        for name, value in attrs:
            assert not name.startswith("on"), (tag, attrs)
            assert not (name in ("href", "src", "action") and re.match(r"\s*(javascript|data|vbscript):",
                                                                   value or "", re.IGNORECASE))


def hits(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<li class="hit" data-item="(\d+)"', page)]


def test_search_needs_the_token(settings):
    c = client(settings, login=False)
    assert c.get("/search?q=模型").status_code == 403
    assert c.get(f"/search?q=模型&token={'x' * 43}").status_code == 403


def test_a_published_story_shows_where_it_ran_and_links_to_its_item(settings):
    story = first_story(settings)
    c = client(settings)
    resp = c.get("/search", params={"q": query_for(story["title"])})
    assert resp.status_code == 200
    item = story["items"][0]
    assert item in hits(resp.text)
    block = resp.text.split(f'data-item="{item}"', 1)[1].split("</li>", 1)[0]
    assert f'href="/items/{item}"' in block and "already ran in #1（2026-11-23）" in block
    assert "<mark>" in block
    assert c.get(f"/items/{item}").status_code == 200
    assert 'action="/search"' in c.get("/").text  # the box is on the board's own pages


def test_filters_on_the_page(settings):
    c = client(settings)
    every = hits(c.get("/search", params={"q": "模型"}).text)
    ran = hits(c.get("/search", params={"q": "模型", "published": "yes"}).text)
    fresh = hits(c.get("/search", params={"q": "模型", "published": "no"}).text)
    assert ran and fresh and set(ran) | set(fresh) == set(every) and not set(ran) & set(fresh)
    enriched = hits(c.get("/search", params={"q": "模型", "state": "enriched"}).text)
    assert enriched and set(enriched) <= set(fresh)  # what waits in the pool never ran
    with Store(settings.db_path) as store:
        assert {i.state.value for i in store.items(ids=enriched)} == {"enriched"}


def test_stored_payloads_and_a_hostile_query_stay_text(settings):
    c = client(settings)
    story = first_story(settings)["items"][0]
    poison(settings, story)
    page = c.get("/search", params={"q": "正常的摘要"}).text
    assert story in hits(page)
    assert_no_active_markup(page, "/search")
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    for typed, status in (("<img src=x onerror=alert(9)> 模型", 200), ('"><img src=x onerror=alert(9)>', 400)):
        reflected = c.get("/search", params={"q": typed})
        assert reflected.status_code == status
        no_live_markup(reflected.text)
        assert "&lt;img src=x onerror=alert(9)&gt;" in reflected.text and PAYLOAD not in reflected.text


@pytest.mark.parametrize(("params", "says"), [
    ({"q": 'rust "unclosed'}, "no closing quote"),
    ({"q": "OR"}, "OR needs a word"),
    ({"q": "模型", "since": "23/11/2026"}, "since must be a day"),
    ({"q": "模型", "state": "<b>nosuch</b>"}, "unknown state"),
    ({"q": "模型 " * 300}, "keep it under"),
])
def test_bad_input_is_said_on_the_page_with_a_400(settings, params, says, caplog):
    c = client(settings)
    resp = c.get("/search", params=params)
    assert resp.status_code == 400 and says in resp.text
    assert_no_active_markup(resp.text, "/search")
    assert not [r for r in caplog.records if r.exc_info]


def test_an_empty_search_shows_the_form_only(settings):
    resp = client(settings).get("/search")
    assert resp.status_code == 200 and 'name="q"' in resp.text and hits(resp.text) == []


@pytest.mark.browser
def test_the_editor_types_a_query_and_sees_what_already_ran(settings):
    from curator.review.board import make_app, running
    from tests.test_review_browser import ARGS, CHROMIUM, PHONE, no_horizontal_scroll, sync_api

    api = sync_api()
    story = first_story(settings)
    item = story["items"][0]
    with running(make_app(settings, "browser-search-token")) as base, api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1200})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/?token=browser-search-token")
            box = page.get_by_role("searchbox", name="搜索条目")
            box.fill(query_for(story["title"]))
            box.press("Enter")
            page.wait_for_url(re.compile(r"/search\?q="))
            hit = page.locator(f'li.hit[data-item="{item}"]')
            assert hit.count() == 1
            assert "already ran in #1" in hit.locator(".badge.ran").inner_text()
            assert hit.locator("mark").count() >= 1
            hit.get_by_role("link", name=story["title"]).click()
            page.wait_for_url(f"{base}/items/{item}")
            assert story["title"] in page.locator("h1").inner_text() or page.locator("h1").inner_text()
            # The results page on a phone: no sideways scroll.
            phone = browser.new_page(viewport=PHONE)
            phone.goto(f"{base}/?token=browser-search-token")
            phone.goto(f"{base}/search?q={query_for(story['title'])}")
            no_horizontal_scroll(phone)
            assert not errors, errors
        finally:
            browser.close()


def test_a_past_issues_link_shows_on_the_page_linking_out(settings):
    from curator.models import ArchiveLink

    with Store(settings.db_path) as store:
        store.add_archive_links([ArchiveLink("https://old.example/bft", "https://old.example/bft", "拜占庭容错的十年", "",
                                             7, "2025-11-20", "issue-7.md"),
                                 ArchiveLink("javascript:alert(1)", "javascript:alert(1)", "拜占庭 脚本链接", "", 8,
                                             "2025-11-27", "issue-8.md")])
    page = client(settings).get("/search", params={"q": "拜占庭"}).text
    assert page.count('class="hit" data-archive=') == 2 and "already ran in #7（2025-11-20）" in page
    assert 'href="https://old.example/bft"' in page
    no_live_markup(page)
