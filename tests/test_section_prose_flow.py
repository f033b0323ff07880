"""Section prose through the whole draft → review → publish path, on the bundled corpus: `curator draft`
with the fake LLM writes prose sections, `curator lint` passes, the board regenerates from the cache, and
`curator publish` maps woven stories back (kept, edited, dropped) and archives their links."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from curator.cli import app
from curator.lint import lint_markdown
from curator.settings import load_settings
from curator.store import Store
from tests.canary import CANARY
from tests.fake_openai import Reply

runner = CliRunner()
TOKEN = "test-token-0123456789"


def first_sentence(summary: str) -> str:
    body = summary.split("：", 1)[-1] if summary.startswith("英文文章") else summary
    m = re.match(r".+?(?:。|[.!?](?=\s|$))", body)
    return (m.group(0) if m else body)[:200]


def woven_answer(request: dict[str, Any]) -> Reply:
    """A model that writes each story's first summary sentence, two stories to a paragraph."""
    prompt = request["messages"][0]["content"]
    rows = re.findall(r"^\[(\d+)\] .*\n摘要：(.*)$", prompt, re.MULTILINE)
    paragraphs = [{"sentences": [{"text": first_sentence(s), "stories": [int(sid)]} for sid, s in rows[i:i + 2]]}
                  for i in range(0, len(rows), 2)][:3]
    return Reply(content=json.dumps({"paragraphs": paragraphs}, ensure_ascii=False))


@pytest.fixture
def ws(demo_template, tmp_path) -> Path:
    target = tmp_path / "ws"
    shutil.copytree(demo_template, target)
    return target


def env_for(fake_llm) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": fake_llm.base_url, "CURATOR_LLM__PROVIDER": "openai",
            "CURATOR_LLM__MAX_RETRIES": "0", "CURATOR_PUBLICATION__PROSE": "section"}


def draft(ws: Path, env: dict[str, str]):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["draft", "--home", str(ws), "--date", "2026-11-23"], env=env)


def section_block(text: str, section: str) -> str:
    start = text.index(f'<!-- curator section="{section}" ')
    return re.split(r"\n## |\n\[\^1\]:", text[start:])[0]


def test_prose_draft_lints_and_publish_maps_woven_stories_back(ws, fake_llm) -> None:
    fake_llm.script = [woven_answer] * 8
    result = draft(ws, env_for(fake_llm))
    assert result.exit_code == 0, result.output
    assert "prose" in result.output and "ok=" in result.output
    path = ws / "drafts" / "issue-1.md"
    text = path.read_text(encoding="utf-8")
    assert text.count('prose="section"') >= 3 and "**" not in section_block(text, "ai")
    # The demo serves some pages over plain http: those warnings are the corpus's, not the prose's.
    assert {f.rule for f in lint_markdown(text, language="zh-Hans")} <= {"non_https"}
    lint = runner.invoke(app, ["lint", str(path), "--home", str(ws)])
    assert lint.exit_code == 0, lint.output

    review = json.loads((ws / "drafts" / "issue-1.json").read_text(encoding="utf-8"))
    woven = review["prose"]["ai"]["stories"]
    (edited, e), (dropped, d), *kept = woven.items()
    # The editor rewrites one story's sentence and deletes another story's only sentence.
    block = section_block(text, "ai")
    edited_block = block
    for story, replacement in ((e, "编辑改写的一句话。"), (d, "")):
        markers = "".join(f"[^{n}]" for n in story["notes"])
        m = re.search(r"(?:(?<=\])|(?<=\n))[^\n\[]+" + re.escape(markers), edited_block)
        assert m, (markers, edited_block)
        edited_block = edited_block.replace(m.group(0), replacement + (markers if replacement else ""), 1)
    text = text.replace(block, edited_block)
    assert "编辑改写的一句话。" in text
    path.write_text(text, encoding="utf-8")

    published = runner.invoke(app, ["publish", str(path), "--home", str(ws)])
    assert published.exit_code == 0, published.output
    assert "edited 1" in published.output and "dropped 1, added by hand 0" in published.output
    settings = load_settings(ws, env={})
    with Store(settings.db_path) as store:
        actions = dict(store.db.execute("SELECT story_id, action FROM decisions WHERE story_id IS NOT NULL").fetchall())
        archived = {r[0] for r in store.db.execute("SELECT url FROM archive")}
    assert actions[int(edited)] == "published:edit" and actions[int(dropped)] == "published:drop"
    assert all(actions[int(k)] == "published:keep" for k, _ in kept)
    dev = review["prose"]["dev"]["stories"]
    assert all(actions[int(k)] == "published:keep" for k in dev)
    story_urls = {u for sec in review["sections"] for s in sec["stories"] if str(s["story"]) in woven for u in s["urls"]}
    assert any(u in archived or u.replace("http://", "https://") in archived for u in story_urls)


def test_board_shows_and_regenerates_a_prose_draft_from_the_cache(ws, fake_llm) -> None:
    from starlette.testclient import TestClient

    from curator.review.board import make_app

    fake_llm.script = [woven_answer] * 8
    assert draft(ws, env_for(fake_llm)).exit_code == 0
    calls = len(fake_llm.requests)
    settings = load_settings(ws, env=env_for(fake_llm))
    c = TestClient(make_app(settings, TOKEN), base_url="http://127.0.0.1")
    page = c.get(f"/?token={TOKEN}")
    assert page.status_code == 200 and 'id="story-' in page.text
    before = (ws / "drafts" / "issue-1.md").read_text(encoding="utf-8")
    r = c.post("/regenerate", data={"csrf": TOKEN})
    assert r.status_code == 200 and "草稿已重新生成" in r.text
    assert (ws / "drafts" / "issue-1.md").read_text(encoding="utf-8") == before
    assert len(fake_llm.requests) == calls, "the same sections are not paid for twice"
    sentence = next(iter(json.loads((ws / "drafts" / "issue-1.json").read_text())["prose"]["ai"]["stories"].values()))
    shown = c.get("/draft").text
    assert sentence["sentences"][0][:12] in shown and "<!-- curator" not in shown


def test_a_failing_endpoint_writes_story_paragraphs_and_exits_non_zero(ws, fake_llm) -> None:
    fake_llm.script = [Reply(status=500)] * 20
    result = draft(ws, env_for(fake_llm))
    assert result.exit_code == 3, result.output
    assert "degraded" in result.output and "section prose failed" in result.output
    text = (ws / "drafts" / "issue-1.md").read_text(encoding="utf-8")
    assert 'prose="section"' not in text and "prose_llm_failed:llm_http_500" in text
    review = json.loads((ws / "drafts" / "issue-1.json").read_text(encoding="utf-8"))
    assert review["prose"]["ai"]["fallback"] == "prose_llm_failed:llm_http_500"
    assert "**" in section_block(text, "ai"), "story paragraphs"


def test_offline_prose_request_keeps_story_paragraphs_and_says_so(ws) -> None:
    story = (ws / "drafts" / "issue-1.md").read_text(encoding="utf-8")
    result = draft(ws, {"CURATOR_PUBLICATION__PROSE": "section", "OPENAI_API_KEY": ""})
    assert result.exit_code == 0, result.output
    assert "offline" in result.output
    text = (ws / "drafts" / "issue-1.md").read_text(encoding="utf-8")
    assert re.sub(r'<!-- curator section="\w+" prose="story"[^\n]*flags="prose_offline" -->\n', "", text) == story
    review = json.loads((ws / "drafts" / "issue-1.json").read_text(encoding="utf-8"))
    assert {s["fallback"] for s in review["prose"].values()} == {"prose_offline"}
