"""Hostile input, secrets class: a model answer that echoes a configured secret is masked before
anything is written (store, LLM cache, draft, review data)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from curator.cli import app
from curator.compose import Renderer
from curator.redaction import MASK, Redactor, configured_secrets
from curator.settings import PublicationSettings, Settings, SourceSettings
from tests.canary import CANARY
from tests.fake_openai import Reply, is_triage, triage_answer, valid_answer
from tests.sites import NewsSite
from tests.test_templates import sample_issue

SOURCE_TOKEN = "srcTOKEN-" + "7f3a9c2e5b1d"


def _echoing(secret: str):
    """A model that answers validly but quotes `secret` in the title, summary and reason."""

    def step(request: dict[str, Any]) -> Reply:
        if is_triage(request):
            return Reply(content=triage_answer(request))
        return Reply(content=valid_answer(
            request, title=f"密钥 {secret}", summary=f"本文介绍了新功能。调用时使用的密钥是 {secret}。",
            reason=f"key={secret}"))

    return step


def _db_dump(db: Path) -> str:
    """Every value of every table of the store, as text."""
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(row) for t in tables for row in con.execute(f'SELECT * FROM "{t}"'))
    finally:
        con.close()


def _run(workspace: Path, fake_llm, monkeypatch, sources_toml: str, secret: str) -> tuple[str, str, str]:
    fake_llm.script = [_echoing(secret)] * 40
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.base_url)
    (workspace / "config" / "sources.toml").write_text(sources_toml)
    collect = CliRunner().invoke(app, ["collect", "--home", str(workspace)])
    assert collect.exit_code == 0, collect.output
    draft = CliRunner().invoke(app, ["draft", "--home", str(workspace), "--date", "2026-11-15"])
    assert draft.exit_code in (0, 1), draft.output
    md = (workspace / "drafts" / "issue-1.md").read_text(encoding="utf-8")
    review = (workspace / "drafts" / "issue-1.json").read_text(encoding="utf-8")
    db = _db_dump(workspace / "data" / "curator.db")
    return md, review, db


def _sources(site: NewsSite, url_suffix: str = "") -> str:
    return (f'[[sources]]\nname = "测试站"\nurl = "{site.base}/feed.xml{url_suffix}"\n\n'
            '[fetch]\nallowed_hosts = ["127.0.0.1"]\nmax_concurrency = 2\nper_host_concurrency = 2\n')


def test_a_model_echoing_the_api_key_is_masked_in_draft_json_and_every_table(workspace, fake_llm, monkeypatch):
    with NewsSite(n_articles=3) as site:
        md, review, db = _run(workspace, fake_llm, monkeypatch, _sources(site), CANARY)
    assert fake_llm.requests, "the model was called"
    for where, text in (("draft", md), ("review data", review), ("database", db)):
        assert CANARY not in text, f"the API key reached the {where}"
    # The stories are still there, with the key masked and the reviewer told.
    assert MASK in md and "本文介绍了新功能" in md
    data = json.loads(review)
    stories = [s for sec in data["sections"] for s in sec["stories"]]
    assert stories and all("secret_redacted" in s["flags"] for s in stories)


def test_a_model_echoing_a_source_url_token_is_masked(workspace, fake_llm, monkeypatch):
    with NewsSite(n_articles=2) as site:
        md, review, _db = _run(workspace, fake_llm, monkeypatch, _sources(site, f"?access_token={SOURCE_TOKEN}"),
                              SOURCE_TOKEN)
    assert SOURCE_TOKEN not in md and SOURCE_TOKEN not in review
    con = sqlite3.connect(workspace / "data" / "curator.db")
    try:
        stored = [r for t in ("enrichments", "llm_cache") for r in con.execute(f"SELECT * FROM {t}")]
    finally:
        con.close()
    assert stored and SOURCE_TOKEN not in repr(stored)
    assert MASK in md


def test_configured_secrets_cover_the_key_url_passwords_and_token_parameters() -> None:
    settings = Settings(
        llm={"api_key": CANARY, "base_url": "https://gw.example.com/v1?api-key=gatewaysecret9"},
        sources=[SourceSettings(name="私有", url="https://editor:hunter2hunter2@feeds.example.com/x?page=2&sig=abcdef123456"),
                 SourceSettings(name="短", url="https://u:pw@feeds.example.org/y")],
    )
    found = configured_secrets(settings)
    assert set(found) == {CANARY, "gatewaysecret9", "hunter2hunter2", "abcdef123456"}  # "pw", "2": too short to mask
    redactor = Redactor(found)
    text = f'a {CANARY} b {json.dumps("hunter2hunter2")} c hunter2hunter2%21 page=2'
    assert redactor.text(text) == f'a {MASK} b "{MASK}" c {MASK}%21 page=2'


def test_the_composer_masks_a_secret_that_reached_an_issue_by_another_way() -> None:
    """Last line of defence: a secret in a stored title (an older store, an editor's paste) is masked."""
    issue = sample_issue()
    lead = issue.sections[0].stories[0].lead
    assert lead.enrichment is not None
    lead.enrichment.summary = f"泄露的密钥 {CANARY} 不应出现在草稿里。"
    settings = Settings(llm={"api_key": CANARY}, publication=PublicationSettings(template="footnotes"))
    text = Renderer(settings).render(issue)
    assert CANARY not in text
    assert f"泄露的密钥 {MASK} 不应出现在草稿里。" in text


def test_a_page_and_a_feed_quoting_a_source_token_never_store_or_draft_it(workspace, httpserver, monkeypatch):
    """Not the model this time: the feed's title and the article page quote the token from the source's URL.
    Masked at ingest, so no table (items' titles, snippets, article text), the draft or its review data holds it."""
    token = "pageTOKEN-" + "c41e8b7a90d2"
    page = ("<html><head><title>发布公告 " + token + "</title></head><body><article><h1>发布公告 " + token + "</h1>"
            + "".join(f"<p>第{i}段：新版本带来了更快的编译速度和更好的错误信息，访问令牌是 {token} 。</p>" for i in range(8))
            + "</article></body></html>")
    httpserver.expect_request("/a/1").respond_with_data(page, content_type="text/html; charset=utf-8")
    feed = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title><item>'
            f"<title>新版本 {token}</title><link>{httpserver.url_for('/a/1')}</link>"
            f"<description>摘要里也有 {token}</description><pubDate>Thu, 12 Nov 2026 09:00:00 GMT</pubDate>"
            "</item></channel></rss>")
    httpserver.expect_request("/feed.xml").respond_with_data(feed, content_type="application/rss+xml")
    (workspace / "config" / "sources.toml").write_text(
        f'[[sources]]\nname = "站"\nurl = "{httpserver.url_for("/feed.xml")}?access_token={token}"\n'
        '[fetch]\nallowed_hosts = ["127.0.0.1", "localhost"]\nrespect_robots = false\n'
        '[llm]\nprovider = "offline"\n', encoding="utf-8")
    monkeypatch.setenv("CURATOR_EXTRACT__WORKERS", "0")
    collect = CliRunner().invoke(app, ["collect", "--home", str(workspace)])
    assert collect.exit_code == 0, collect.output
    CliRunner().invoke(app, ["draft", "--home", str(workspace), "--date", "2026-11-15"])
    db = _db_dump(workspace / "data" / "curator.db")
    assert "新版本" in db and "更快的编译速度" in db  # the item and its article were stored …
    assert token not in db  # … with the token masked in every table
    for name in ("issue-1.md", "issue-1.json"):
        path = workspace / "drafts" / name
        assert not path.exists() or token not in path.read_text(encoding="utf-8"), name
