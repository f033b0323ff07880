"""End to end on the bundled corpus: the demo's draft, idempotent re-runs, duplicates, GBK, language rules."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from curator import text as textutil
from curator.demo import CORPUS, DEMO_AS_OF, demo_settings, init_workspace, run_demo
from curator.demo.server import DemoServer
from curator.pipeline import Pipeline
from curator.store import Store
from curator.urls import canonical_url
from tests.canary import CANARY

MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
FOOTNOTE_DEF = re.compile(r"^\[\^(\d+)\]: \[(.+?)\]\((https?://[^)\s]+)\)", re.MULTILINE)
STORY = re.compile(r"^\*\*(.+?)\*\*：(.*?)((?:\[\^\d+\])+)$", re.MULTILINE)


def prose(markdown: str) -> str:
    """The reader-visible text: no front matter keys, comments or URLs."""
    body = re.sub(r"<!--.*?-->", "", markdown, flags=re.DOTALL)
    return re.sub(r"\(https?://[^)]+\)", "", body)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("demo")
    path = run_demo(workspace, env={}, echo=lambda s: None)
    return workspace, path


def test_demo_writes_a_complete_draft(demo_run):
    workspace, path = demo_run
    assert path == workspace / "drafts" / "issue-1.md"
    text = path.read_text(encoding="utf-8")
    front, body = text.split("\n---\n", 1)
    assert front.startswith("---\ntitle: \"In The Loop 科技周刊 #1：")
    for key in ("date: 2026-11-23", "type: weekly", "author:", "tags: ["):
        assert key in front
    sections = re.findall(r"^## (.+)$", body, re.MULTILINE)
    assert len(sections) >= 3
    stories = STORY.findall(body)
    assert len(stories) >= 10
    defs = {n: url for n, _, url in FOOTNOTE_DEF.findall(body)}
    for title, summary, refs in stories:
        assert title.strip() and len(summary.strip()) >= 10
        for n in re.findall(r"\d+", refs):
            assert n in defs  # every citation resolves to a footnote with a link
    assert len(defs) == sum(len(re.findall(r"\d+", r)) for *_, r in stories)


def test_demo_draft_obeys_the_publication_language_rules(demo_run):
    _, path = demo_run
    visible = prose(path.read_text(encoding="utf-8"))
    assert textutil.traditional_chars(visible) == []
    for sentence in textutil.split_sentences(visible, "zh"):
        assert not textutil.is_chatter(sentence), sentence
    assert "好的" not in visible and "希望" not in visible


def test_english_items_are_labelled(demo_run):
    _, path = demo_run
    text = path.read_text(encoding="utf-8")
    english = [t for t, *_ in STORY.findall(text) if re.match(r"^[A-Za-z]", t)]
    assert english and all(t.endswith("（英文）") for t in english)


def test_one_item_per_page_whatever_url_variant_the_feeds_used(demo_run):
    workspace, _ = demo_run
    with Store(workspace / "data" / "curator.db") as store:
        items = {i.canonical_url: i for i in store.items()}
        assert len(items) == len(MANIFEST["pages"])
        for dup in MANIFEST["duplicates"]:
            keys = {canonical_url(u) for u in dup["urls"]}
            assert len(keys) == 1
            item = items[keys.pop()]
            assert len({r.source for r in item.sources}) == 2, dup


def test_same_event_reports_in_two_languages_are_one_story(demo_run):
    """The manifest's zh/en same-event pages are one story each, led by the Chinese report (the
    publication's language); no other two pages of the week are one story."""
    workspace, path = demo_run
    with Store(workspace / "data" / "curator.db") as store:
        items = {i.canonical_url: i for i in store.items()}
    groups = [[items[canonical_url(u)] for u in group] for group in MANIFEST["same_event"]]
    for group in groups:
        assert {i.article.lang for i in group} == {"zh", "en"}  # type: ignore[union-attr]
        assert len({i.story_id for i in group}) == 1, [i.url for i in group]
        (lead,) = [i for i in group if i.enrichment is not None]
        assert lead.article.lang == "zh"  # type: ignore[union-attr]
    stories = [i.story_id for i in items.values()]
    assert len(set(stories)) == len(items) - sum(len(g) - 1 for g in groups)
    # A merged story in the draft cites every member (the sparse-attention pair is in the week).
    text = path.read_text(encoding="utf-8")
    for group in groups:
        cited = [i for i in group if i.url in text]
        assert cited in ([], group), [i.url for i in group]
    assert any(all(i.url in text for i in group) for group in groups)


def test_gbk_page_without_charset_header_decodes_to_correct_chinese(demo_run):
    workspace, _ = demo_run
    gbk_pages = [p for p in MANIFEST["pages"] if p["encoding"].lower() in ("gbk", "gb18030", "gb2312")]
    assert gbk_pages
    with Store(workspace / "data" / "curator.db") as store:
        items = {i.canonical_url: i for i in store.items()}
        for page in gbk_pages:
            art = items[canonical_url(page["url"])].article
            assert art is not None and art.lang == "zh"
            assert art.text.count("\ufffd") / len(art.text) < 0.005
            assert "网友跟帖" not in art.text  # the portal's reader-comment block is not the article
            assert page["title"][:8] in art.text or page["title"][:8] in art.title


def test_second_run_adds_nothing_fetches_no_page_and_gets_304s(tmp_path, fake_llm):
    env = {"OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": fake_llm.base_url}
    init_workspace(tmp_path)
    with DemoServer() as server:
        settings = demo_settings(tmp_path, server, env)
        with Store(settings.db_path) as store:
            first = Pipeline(settings, store).collect()
            calls = len(fake_llm.requests)
            # One call per story: the manifest's same-event pages (zh/en reports) are one story each.
            pages = len(MANIFEST["pages"]) - sum(len(group) - 1 for group in MANIFEST["same_event"])
            batches = -(-pages // settings.llm.triage_batch)
            assert first.counters["triage/kept"] == pages  # the fake scores everything 70
            assert calls == batches + pages and first.counters["enrich/ok"] == pages
            rows = store.count_items()
            server.stats.reset()
            second = Pipeline(settings, store).collect()
            assert store.count_items() == rows
            assert len(fake_llm.requests) == calls  # 0 LLM calls
            assert second.counters.get("extract/ok", 0) == 0 and second.counters.get("fetch/ok", 0) == 0
            assert server.stats.not_modified == len(MANIFEST["feeds"])
            assert second.counters["source/not_modified"] == len(MANIFEST["feeds"])
            draft = Pipeline(settings, store).draft(as_of=DEMO_AS_OF)
            assert "model=\"gpt-4o-mini\"" in draft.draft_path.read_text()


def test_a_server_that_ignores_validators_still_yields_no_duplicates(tmp_path):
    init_workspace(tmp_path)
    hosts = {f["url"].split("/")[2] for f in MANIFEST["feeds"]}
    with DemoServer(no_conditional_hosts=hosts) as server:
        settings = demo_settings(tmp_path, server, {})
        with Store(settings.db_path) as store:
            Pipeline(settings, store).collect()
            rows = store.count_items()
            second = Pipeline(settings, store).collect()
            assert store.count_items() == rows
            assert second.counters["discover/known"] >= rows and second.counters.get("discover/new", 0) == 0
            assert second.counters.get("fetch/ok", 0) == 0


def test_demo_twice_reuses_the_workspace(tmp_path):
    lines: list[str] = []
    run_demo(tmp_path, env={}, echo=lines.append)
    first = (tmp_path / "drafts" / "issue-1.md").read_text()
    run_demo(tmp_path, env={}, echo=lines.append)
    assert any("reusing the previous run" in l for l in lines)
    assert (tmp_path / "drafts" / "issue-1.md").read_text() == first
    assert not list(Path(tmp_path / "drafts").glob("issue-2.md"))
