"""The review board in a real headless Chromium (Debian's `chromium`, driven by Playwright): the editor's path,
on a phone (390 px: no horizontal scroll, every action a click away) and from the keyboard (issue 16)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from curator import decisions
from curator.decisions import Action
from curator.review.board import make_app, running
from curator.settings import load_settings
from curator.store import Store

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN = "browser-test-token"
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 1000}
# Elements a Tab press stops at (the page's tab order), as the browser sees them.
TAB_STOPS_JS = """() => Array.from(document.querySelectorAll('a[href], button, select, textarea, input, summary, [tabindex]'))
  .filter(e => e.tabIndex >= 0 && !e.disabled && e.getClientRects().length > 0).length"""


def sync_api() -> Any:
    """Playwright's sync API, or a skip (a failure under CI=true: CI must run the browser test)."""
    if not CHROMIUM.exists():
        why = "no /usr/bin/chromium: install Debian's browser with `apt-get install -y chromium`"
        pytest.fail(why) if os.environ.get("CI") == "true" else pytest.skip(why)
    try:
        import playwright.sync_api as api
    except ImportError:
        why = "pip install playwright (no browser download needed)"
        pytest.fail(why) if os.environ.get("CI") == "true" else pytest.skip(why)
    return api


@pytest.fixture
def settings(demo_template, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(demo_template, ws)
    return load_settings(ws, env={})


@pytest.fixture
def board(settings) -> Iterator[tuple[str, Any]]:
    """(base URL, a launched Chromium) for one test."""
    api = sync_api()
    with running(make_app(settings, TOKEN)) as base, api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield base, browser
        finally:
            browser.close()


def _title(settings, story_id: int) -> str:
    with Store(settings.db_path) as store:
        return store.items(ids=[story_id])[0].enrichment.title


def recorded(settings) -> list[tuple[Action, int | None]]:
    with Store(settings.db_path) as store:
        return [(d.action, d.story_id) for d in decisions.load(store, 1)]


def open_board(browser, base: str, viewport: dict[str, int]):
    page = browser.new_page(viewport=viewport)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(f"{base}/?token={TOKEN}")
    assert page.url == f"{base}/"  # the token was traded for a cookie
    return page, errors


def no_horizontal_scroll(page) -> None:
    width, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= viewport, f"the page is {width} px wide in a {viewport} px window"


def within_width(page, locator) -> None:
    """On screen across: scrolled to, its whole box inside the window's width (a click needs no sideways scroll)."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    assert box is not None, locator
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"] + 0.5, (locator, box)


def card_of(page, story_id: int):
    return page.locator(f"#story-{story_id}")


def focused_story(page) -> int | None:
    found = page.evaluate("document.activeElement && document.activeElement.dataset.story")
    return int(found) if found else None


# ---- the editor's path at desktop width ----------------------------------------------------------
def test_editor_drops_swaps_edits_and_regenerates(settings, board):
    base, browser = board
    draft = settings.drafts_dir / "issue-1.md"
    before = draft.read_text(encoding="utf-8")
    page, errors = open_board(browser, base, {"width": 1200, "height": 1600})
    ai = page.locator("#section-ai article.story")
    dropped = int(ai.nth(1).get_attribute("data-story"))
    runner = int(page.locator("#runners-up article.story").first.get_attribute("data-story"))
    edited = int(page.locator("#section-dev article.story").first.get_attribute("data-story"))

    ai.nth(1).get_by_role("button", name="删除").click()
    page.wait_for_load_state()
    assert page.locator(f"#dropped #story-{dropped}").count() == 1

    card = page.locator(f"#runners-up #story-{runner}")
    card.locator("select[name=section]").select_option("ai")
    card.get_by_role("button", name="换入").click()
    page.wait_for_load_state()
    assert page.locator(f"#section-ai #story-{runner}").count() == 1

    card = page.locator(f"#section-dev #story-{edited}")
    card.locator("summary", has_text="编辑").click()
    card.locator("textarea[name=summary]").fill("浏览器里编辑写的摘要。")
    card.get_by_role("button", name="保存修改").click()
    page.wait_for_load_state()
    assert "浏览器里编辑写的摘要。" in page.locator(f"#story-{edited} .summary").inner_text()

    page.get_by_role("button", name="重新生成草稿").click()
    page.wait_for_load_state()
    assert "草稿已重新生成" in page.locator(".notice").first.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-board.png"), full_page=False)
    page.goto(f"{base}/draft")
    assert "浏览器里编辑写的摘要。" in page.locator("article.draft").inner_text()
    page.screenshot(path=str(ARTIFACTS / "review-draft.png"), full_page=False)
    assert errors == []

    after = draft.read_text(encoding="utf-8")
    assert after != before
    assert _title(settings, dropped) in before and _title(settings, dropped) not in after
    assert _title(settings, runner) not in before and _title(settings, runner) in after
    assert "浏览器里编辑写的摘要。" in after


# ---- a phone ---------------------------------------------------------------------------------------
def test_on_a_phone_nothing_scrolls_sideways_and_every_action_is_a_click_away(settings, board):
    base, browser = board
    page, errors = open_board(browser, base, PHONE)
    no_horizontal_scroll(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-board-390.png"), full_page=False)
    page.screenshot(path=str(ARTIFACTS / "review-board-390-full.png"), full_page=True)
    ai = [int(x) for x in page.locator("#section-ai article.story").evaluate_all("els => els.map(e => e.dataset.story)")]
    dev = [int(x) for x in page.locator("#section-dev article.story").evaluate_all("els => els.map(e => e.dataset.story)")]
    runner = int(page.locator("#runners-up article.story").first.get_attribute("data-story"))
    for control in page.locator("#section-ai article.story").first.locator("button, select, summary").all():
        within_width(page, control)
    for control in card_of(page, runner).locator("button, select").all():
        within_width(page, control)

    def click(locator) -> None:
        within_width(page, locator)
        locator.click()
        page.wait_for_load_state()
        no_horizontal_scroll(page)

    click(card_of(page, ai[0]).get_by_role("button", name="保留"))
    click(card_of(page, ai[1]).get_by_role("button", name="删除"))
    card = card_of(page, ai[2])
    click(card.get_by_role("button", name="下移"))
    card = card_of(page, dev[0])
    card.locator("form.move select").select_option("industry")
    click(card.get_by_role("button", name="移到"))
    assert card_of(page, dev[0]).locator(".section-label").inner_text() == "产业与公司"  # its new section
    card = card_of(page, dev[1])
    summary = card.locator("summary", has_text="编辑")
    within_width(page, summary)
    summary.click()
    within_width(page, card.locator("textarea[name=summary]"))
    card.locator("textarea[name=summary]").fill("手机上改的摘要。")
    click(card.get_by_role("button", name="保存修改"))
    card = card_of(page, runner)
    within_width(page, card.locator("select[name=replaces]"))
    card.locator("select[name=section]").select_option("research")
    click(card.get_by_role("button", name="换入"))
    add = page.locator("#add")
    within_width(page, add.locator("input[name=url]"))
    add.locator("input[name=url]").fill("https://example.com/phone-pick")
    add.locator("input[name=process]").uncheck()  # record it only: collecting would go to the network
    click(add.get_by_role("button", name="添加"))
    click(page.get_by_role("button", name="重新生成草稿"))
    assert "草稿已重新生成" in page.locator(".notice").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "review-board-390-after.png"), full_page=False)
    assert errors == []

    acts = recorded(settings)
    assert acts[:6] == [(Action.KEEP, ai[0]), (Action.DROP, ai[1]), (Action.REORDER, ai[2]), (Action.MOVE, dev[0]),
                        (Action.EDIT, dev[1]), (Action.SWAP_IN, runner)]
    assert acts[6][0] is Action.ADD and len(acts) == 7
    assert "手机上改的摘要。" in (settings.drafts_dir / "issue-1.md").read_text(encoding="utf-8")


def test_at_desktop_width_too_nothing_scrolls_sideways(settings, board):
    base, browser = board
    page, errors = open_board(browser, base, DESKTOP)
    no_horizontal_scroll(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-board-1280.png"), full_page=False)
    runner = page.locator("#runners-up article.story").first
    assert runner.locator(".lost").inner_text().startswith("未入选：")  # why it lost, on the card
    assert runner.locator(".when-tags time").count() == 1
    assert errors == []


# ---- the keyboard ----------------------------------------------------------------------------------
def test_tab_stops_once_per_card_and_the_shortcuts_record_decisions(settings, board):
    base, browser = board
    page, errors = open_board(browser, base, DESKTOP)
    cards = page.locator("article.story").count()
    stops = page.evaluate(TAB_STOPS_JS)
    # one per card, plus the page's own: nav, the header's search box, regenerate, the add form and its capture link
    assert stops <= cards + 13, (stops, cards)
    all_ids = [int(x) for x in page.locator("article.story").evaluate_all("els => els.map(e => e.dataset.story)")]
    # Tab reaches the first card after the page actions, and the next Tab is the next card (not its buttons).
    for _ in range(20):
        page.keyboard.press("Tab")
        if focused_story(page) is not None:
            break
    assert focused_story(page) == all_ids[0]
    page.keyboard.press("Tab")
    assert focused_story(page) == all_ids[1]

    ai = [int(x) for x in page.locator("#section-ai article.story").evaluate_all("els => els.map(e => e.dataset.story)")]
    dev = [int(x) for x in page.locator("#section-dev article.story").evaluate_all("els => els.map(e => e.dataset.story)")]
    assert all_ids[:2] == ai[:2]
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert focused_story(page) == ai[3]
    page.keyboard.press("k")
    assert focused_story(page) == ai[2]
    page.keyboard.press("k")  # k is "previous" (vim); keep is K or a
    assert focused_story(page) == ai[1]

    with page.expect_navigation():
        page.keyboard.press("Shift+K")
    assert recorded(settings)[-1] == (Action.KEEP, ai[1])
    assert focused_story(page) == ai[1]  # back on the card after the reload

    with page.expect_navigation():
        page.keyboard.press("x")
    assert recorded(settings)[-1] == (Action.DROP, ai[1])
    assert focused_story(page) == ai[2]  # the next card, not the dropped one

    with page.expect_navigation():
        page.keyboard.press("a")
    assert recorded(settings)[-1] == (Action.KEEP, ai[2])

    page.keyboard.press("j")
    assert focused_story(page) == ai[3]
    page.keyboard.press("e")
    assert page.evaluate("document.activeElement.name") == "title"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "summary"
    page.keyboard.press("Control+a")
    page.keyboard.type("键盘上改的摘要。")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    assert recorded(settings)[-1] == (Action.EDIT, ai[3])
    assert "键盘上改的摘要。" in card_of(page, ai[3]).locator(".summary").inner_text()

    card_of(page, dev[0]).focus()
    page.keyboard.press("m")
    assert page.evaluate("document.activeElement.closest('form').dataset.act") == "move"
    page.keyboard.press("ArrowDown")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert recorded(settings)[-1][0] is Action.MOVE and recorded(settings)[-1][1] == dev[0]

    # s on a kept card, then s on the runner-up: the runner-up takes that card's place.
    target = dev[1]
    card_of(page, target).focus()
    page.keyboard.press("s")
    runner = focused_story(page)
    assert runner is not None and page.locator(f"#runners-up #story-{runner}").count() == 1
    assert "替换" in page.locator(".kbd-status").inner_text()
    with page.expect_navigation():
        page.keyboard.press("s")
    assert recorded(settings)[-2:] == [(Action.DROP, target), (Action.SWAP_IN, runner)]
    assert page.locator(f"#section-dev #story-{runner}").count() == 1
    assert page.locator(f"#dropped #story-{target}").count() == 1

    # Keys typed into a field, or pressed outside the cards, decide nothing.
    before = recorded(settings)
    page.locator("#add input[name=url]").focus()
    page.keyboard.type("xsKa")
    assert page.locator("#add input[name=url]").input_value() == "xsKa"
    page.locator("header.top nav a").first.focus()
    page.keyboard.press("x")
    page.keyboard.press("Shift+K")
    assert recorded(settings) == before and page.url.endswith(f"#story-{runner}")

    page.keyboard.press("?")
    help_box = page.locator("#keys")
    assert help_box.is_visible() and "K" in help_box.inner_text() and "上一条" in help_box.inner_text()
    page.keyboard.press("Escape")
    assert not help_box.is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.keyboard.press("?")
    page.set_viewport_size(PHONE)
    no_horizontal_scroll(page)
    page.screenshot(path=str(ARTIFACTS / "review-board-390-help.png"), full_page=False)
    assert errors == []


def test_without_script_the_forms_still_post(settings, board):
    base, browser = board
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    page.goto(f"{base}/?token={TOKEN}")
    assert page.locator("#keys").is_hidden()  # the help and its button need the script
    no_horizontal_scroll(page)
    story = int(page.locator("#section-ai article.story").first.get_attribute("data-story"))
    card_of(page, story).get_by_role("button", name="删除").click()
    page.wait_for_load_state()
    assert recorded(settings) == [(Action.DROP, story)]
    assert page.locator(f"#dropped #story-{story}").count() == 1
    context.close()
