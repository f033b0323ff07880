"""The review board in a real headless Chromium (Debian's `chromium`, driven by Playwright): the editor's path."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.review.board import make_app, running
from curator.settings import load_settings
from curator.store import Store

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN = "browser-test-token"


@pytest.fixture
def settings(tmp_path):
    from curator.demo import run_demo

    ws = tmp_path / "ws"
    run_demo(ws, env={}, echo=lambda *_: None)
    return load_settings(ws, env={})


def _title(settings, story_id: int) -> str:
    with Store(settings.db_path) as store:
        return store.items(ids=[story_id])[0].enrichment.title


def test_editor_drops_swaps_edits_and_regenerates(settings):
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: install Debian's browser with `apt-get install -y chromium`")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (no browser download needed)")
    draft = settings.drafts_dir / "issue-1.md"
    before = draft.read_text(encoding="utf-8")

    with running(make_app(settings, TOKEN)) as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1600})
            page.goto(f"{base}/?token={TOKEN}")
            assert page.url == f"{base}/"  # the token was traded for a cookie
            ai = page.locator("#section-ai article.story")
            dropped = int(ai.nth(1).get_attribute("data-story"))
            runner_card = page.locator("#runners-up article.story").first
            runner = int(runner_card.get_attribute("data-story"))
            edited_card = page.locator("#section-dev article.story").first
            edited = int(edited_card.get_attribute("data-story"))

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
        finally:
            browser.close()

    after = draft.read_text(encoding="utf-8")
    assert after != before
    assert _title(settings, dropped) in before and _title(settings, dropped) not in after
    assert _title(settings, runner) not in before and _title(settings, runner) in after
    assert "浏览器里编辑写的摘要。" in after
