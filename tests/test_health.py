"""Health and import messages that tell the truth: this_week, sources that go quiet, archive import."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from curator.archive import parse_issue, web_link
from curator.cli import app
from curator.models import Candidate, ItemState
from curator.pipeline import Pipeline
from curator.settings import load_settings
from curator.store import Store
from curator.urls import canonical_url

runner = CliRunner()
EMPTY_FEED = '<?xml version="1.0"?><rss version="2.0"><channel><title>空</title></channel></rss>'


def _feed(base: str, n: int) -> str:
    items = "".join(f"<item><title>条目 {i}</title><link>{base}/p/{i}</link>"
                    f"<pubDate>Fri, 20 Nov 2026 0{i}:00:00 +0000</pubDate></item>" for i in range(n))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'


def test_this_week_counts_only_draftable_items_inside_the_next_issues_window(workspace, store_target):
    # A configured source (one removed from the config leaves `status`).
    (workspace / "config" / "sources.toml").write_text('[[sources]]\nname = "源"\nurl = "https://feed.example/rss"\n')
    env = {} if isinstance(store_target, Path) else {"CURATOR_STORE__URL": store_target}  # SQLite, Postgres
    settings = load_settings(workspace, env=env)  # the workspace's clock: 2026-11-23 23:59 UTC
    with Store(settings.store_target, clock=settings.now) as store:
        store.sync_source("源", "rss", "https://feed.example/rss")

        def add(n: int, published: datetime | None) -> int:
            cand = Candidate(url=f"https://feed.example/{n}", title=f"t{n}", source="源", published_at=published)
            return store.add_candidate(cand, canonical_url(cand.url))[0]

        add(1, datetime(2026, 11, 20, tzinfo=UTC))  # in the week, waiting to be fetched: counts
        add(2, None)  # no date: first seen now (the pinned clock), in the week: counts
        store.set_state(add(3, datetime(2025, 6, 1, tzinfo=UTC)), ItemState.SKIPPED, "too_old")  # back catalogue
        store.set_state(add(4, datetime(2026, 11, 21, tzinfo=UTC)), ItemState.FAILED, "http_404")
        store.set_state(add(5, datetime(2026, 11, 22, tzinfo=UTC)), ItemState.SKIPPED, "not_html")
        add(6, datetime(2026, 11, 2, tzinfo=UTC))  # before the window, though seen this week
    report = json.loads(runner.invoke(app, ["status", "--home", str(workspace), "--json"], env=env).stdout)
    [src] = report["sources"]
    assert src["items_week"] == 2
    assert report["next_issue_window"] == {"start": "2026-11-16T23:59:00+00:00", "end": "2026-11-23T23:59:00+00:00"}
    out = runner.invoke(app, ["status", "--home", str(workspace)], env=env).output
    assert "this_week=2" in out and "next issue window: 2026-11-16 → 2026-11-23" in out


def test_a_source_that_yields_nothing_three_runs_running_is_flagged(workspace, httpserver):
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/empty.xml").respond_with_data(EMPTY_FEED, content_type="application/rss+xml")
    httpserver.expect_request("/full.xml").respond_with_data(_feed(base, 2), content_type="application/rss+xml")
    (workspace / "config" / "sources.toml").write_text(
        f'[[sources]]\nname = "空源"\nurl = "{base}/empty.xml"\n\n[[sources]]\nname = "好源"\nurl = "{base}/full.xml"\n')
    settings = load_settings(workspace, env={}, overrides={
        "fetch": {"allowed_hosts": ["127.0.0.1", "localhost"]}, "llm": {"provider": "offline"}})
    with Store(settings.db_path) as store:
        for night in (1, 2, 3):
            run = Pipeline(settings, store).collect()
            assert run.counters["source/empty"] == 1 and run.counters["source/ok"] == 1
            flagged = [n for n in run.notes if "空源" in n]
            assert bool(flagged) == (night >= 3), (night, run.notes)
            assert not any("好源" in n for n in run.notes)  # known entries again: not empty, not flagged
        assert "yielded 0 items 3 runs in a row" in flagged[0] and "sources check" in flagged[0]
        health = {r.name: r for r in store.source_health()}
        assert health["空源"].consecutive_empty == 3 and health["好源"].consecutive_empty == 0
    status = runner.invoke(app, ["status", "--home", str(workspace)]).output
    line = next(ln for ln in status.splitlines() if ln.strip().startswith("空源"))
    assert "⚠ yielded 0 items 3 runs in a row" in line
    assert "⚠" not in next(ln for ln in status.splitlines() if ln.strip().startswith("好源"))
    check = runner.invoke(app, ["sources", "check", "--home", str(workspace)]).output
    assert "⚠ yielded 0 items 3 runs in a row" in next(ln for ln in check.splitlines() if ln.startswith("空源"))
    assert "1 source(s) answered with 0 items 3+ runs in a row" in check

    # The feed comes back: the next run clears the flag.
    httpserver.clear()
    httpserver.expect_request("/empty.xml").respond_with_data(_feed(base + "/back", 1), content_type="application/rss+xml")
    httpserver.expect_request("/full.xml").respond_with_data(_feed(base, 2), content_type="application/rss+xml")
    with Store(settings.db_path) as store:
        run = Pipeline(settings, store).collect()
        assert not [n for n in run.notes if "空源" in n]
        assert {r.name: r for r in store.source_health()}["空源"].consecutive_empty == 0


def test_archive_import_of_a_folder_with_nothing_importable_is_a_clear_error(workspace, tmp_path):
    past = tmp_path / "past"
    past.mkdir()
    (past / "notes.txt").write_text("第 1 期 https://example.com/a\n", encoding="utf-8")
    (past / "issue-3.html").write_text("<h1>第 3 期</h1><a href='https://example.com/b'>b</a>", encoding="utf-8")
    (past / "README.md").write_text("# 关于本周刊\n", encoding="utf-8")
    result = runner.invoke(app, ["archive", "import", str(past), "--home", str(workspace)])
    assert result.exit_code != 0
    assert "nothing to import" in result.output and "Traceback" not in result.output
    for name, why in (("notes.txt", "not Markdown (.txt)"), ("issue-3.html", "not Markdown (.html)"),
                      ("README.md", "README")):
        assert name in result.output and why in result.output


def test_archive_import_says_what_it_read_and_why_it_skipped_the_rest(workspace, tmp_path):
    past = tmp_path / "past"
    (past / "docs").mkdir(parents=True)
    (past / "docs" / "issue-12.md").write_text(
        "# 周刊（第 12 期）：开源\n\n1、[一个模型](huggingface.co/org/model-x)\n\n说明。\n\n"
        "2、[一篇论文](//arxiv.org/abs/2411.01234)\n\n"
        "3、顺手一提：huggingface.co/spaces/org/demo 也值得一看。\n\n"
        "4、[普通链接](https://example.com/post)\n", encoding="utf-8")
    (past / "docs" / "draft-notes.md").write_text("# 草稿\n\n还没有链接。\n", encoding="utf-8")
    (past / "docs" / "gbk-issue-13.md").write_bytes("# 第 13 期\n\n[链接](https://e.com/x)\n".encode("gbk"))
    (past / "cover.png").write_bytes(b"\x89PNG\r\n")
    result = runner.invoke(app, ["archive", "import", str(past), "--home", str(workspace)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "read     " in out and "issue-12.md (#12, 4 links)" in out
    assert "draft-notes.md: no links found" in out
    assert "gbk-issue-13.md: not UTF-8" in out
    assert "cover.png: not Markdown (.png)" in out
    assert "archive: 1 issues read, 4 new links remembered, 3 files skipped" in out
    settings = load_settings(workspace, env={})
    with Store(settings.db_path) as store:
        urls = {r[0] for r in store.db.execute("SELECT canonical_url FROM archive")}
    for url in ("https://huggingface.co/org/model-x", "https://arxiv.org/abs/2411.01234",
                "https://huggingface.co/spaces/org/demo", "https://example.com/post"):
        assert canonical_url(url) in urls, (url, urls)


def test_scheme_less_links_become_https_and_prose_is_not_taken_for_links():
    assert web_link("huggingface.co/papers/2411.01234") == "https://huggingface.co/papers/2411.01234"
    assert web_link("www.example.com") == "https://www.example.com"
    assert web_link("//cdn.example.org/x.js") == "https://cdn.example.org/x.js"
    assert web_link("http://a.example/b") == "http://a.example/b"
    for not_a_link in ("#section", "./local.md", "mailto:a@b.c", "javascript:alert(1)", "issue-3", "v1.2/notes"):
        assert web_link(not_a_link) is None, not_a_link
    text = "# 第 5 期\n\n用 node.js 写的，见 a@b.com，版本 1.2.3，文件 config.toml 。\n"
    assert parse_issue(text, "issue-5.md").entries == []
