"""The bookmarklet flow in a real headless Chromium (as tests/test_review_browser.py): open a page on a
loopback site, run the bookmarklet the board shows, confirm on a phone-width page, see the find on the board.

The article is served as http://localhost:P and the board as http://127.0.0.1:Q: two different sites, so
the board's SameSite=Strict cookie does not come along, as from any page on the web; the share URL's own
token gets the editor in."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from curator.review.board import make_app, running
from curator.settings import load_settings
from curator.store import Store
from tests.test_capture import Pages
from tests.test_review_browser import ARGS, CHROMIUM, PHONE, no_horizontal_scroll, sync_api

pytestmark = pytest.mark.browser

TOKEN = "capture-browser-token-0123456789-abcdefghij"


@pytest.fixture
def settings(demo_template, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(demo_template, ws)
    return load_settings(ws, env={}, overrides={"fetch": {"allowed_hosts": ["127.0.0.1", "localhost"]},
                                                "llm": {"provider": "offline"}})


@pytest.fixture
def pages():
    with Pages() as p:
        yield p


@pytest.fixture
def browser(settings) -> Iterator[tuple[str, Any]]:
    api = sync_api()
    with running(make_app(settings, TOKEN)) as base, api.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield base, launched
        finally:
            launched.close()


def test_bookmarklet_adds_the_page_with_the_selection_as_note(settings, pages, browser):
    base, chromium = browser
    context = chromium.new_context(viewport=PHONE)
    errors: list[str] = []
    context.on("weberror", lambda err: errors.append(str(err.error)))

    board = context.new_page()
    board.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    board.goto(f"{base}/?token={TOKEN}")
    board.get_by_role("link", name="从任何地方添加：书签小工具与手机分享 →").click()
    board.wait_for_load_state()
    no_horizontal_scroll(board)
    code = board.locator("#bookmarklet-code").input_value()
    assert code.startswith("javascript:") and f"{base}/add?token=" in code
    assert board.locator("[data-copy-from=bookmarklet-code]").is_visible()  # capture.js showed the copy button

    article_url = f"{pages.origin.replace('127.0.0.1', 'localhost')}/ok/7"
    article = context.new_page()
    article.goto(article_url)
    selected = article.evaluate("""() => {
        const range = document.createRange();
        range.selectNodeContents(document.querySelector('article p'));
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        return String(getSelection());
    }""")
    assert selected.strip()
    with context.expect_page() as opened:
        article.evaluate(code.removeprefix("javascript:"))  # what a click on the bookmark runs
    confirm = opened.value
    confirm.wait_for_load_state()
    confirm.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    assert "token=" not in confirm.url and confirm.url.startswith(f"{base}/add?")  # capture.js dropped it
    assert confirm.locator("input[name=url]").input_value() == article_url
    assert confirm.locator("textarea[name=note]").input_value() == selected.strip()
    no_horizontal_scroll(confirm)

    confirm.get_by_role("button", name="加入").click()
    confirm.wait_for_load_state()
    assert confirm.locator("h1").inner_text() == "已添加"
    no_horizontal_scroll(confirm)
    confirm.get_by_role("link", name="查看条目").click()
    confirm.wait_for_load_state()
    assert article_url in confirm.locator("article.item").inner_text()  # the find, on the board

    with Store(settings.db_path) as store:
        found = store.items(urls=[article_url])
    assert len(found) == 1 and [s.source for s in found[0].sources] == ["manual"]
    # The same page again: the board says it already has it.
    with context.expect_page() as again:
        article.evaluate(code.removeprefix("javascript:"))
    second = again.value
    second.wait_for_load_state()
    second.get_by_role("button", name="加入").click()
    second.wait_for_load_state()
    assert second.locator("h1").inner_text() == "已经有了"
    assert errors == []
    context.close()
