"""Re-keying a store made with the old canonical URLs: wrongly merged articles come back, nothing collides."""

from __future__ import annotations

import logging
import re
import sqlite3
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import courlan
import pytest
from werkzeug import Response

from curator.pipeline import Pipeline
from curator.settings import load_settings
from curator.store import MIGRATIONS, Store
from curator.urls import KEY_VERSION, canonical_url, rekey_plan
from tests.sites import article_html, article_title

BIZ = "MzA5MTIxNTY4MQ=="
ARTICLES = {"2461139000": 1, "2461139123": 2}  # WeChat-shaped links: one account, two messages


def old_canonical_url(url: str, *, keep_fragment: bool = False) -> str:
    """The canonicaliser of curator before KEY_VERSION 2 (courlan strict: unknown query keys dropped)."""
    norm = courlan.normalize_url(url.strip(), strict=True)
    parts = urlsplit(norm)
    host = re.sub(r"^(www|m|mobile|amp|wap)\.", "", (parts.hostname or "").lower())
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    path = parts.path.rstrip("/") or "/"
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit(("https", host, path, query, ""))


def wechat_link(base: str, mid: str) -> str:
    return f"{base}/s?__biz={BIZ}&mid={mid}&idx=1&sn=sn{mid}&chksm=77ab&scene=21#wechat_redirect"


def rss(base: str, mids: list[str]) -> str:
    items = "".join(f"<item><title>{article_title(ARTICLES[m])}</title><link>{wechat_link(base, m).replace('&', '&amp;')}"
                    f"</link><pubDate>Tue, 17 Nov 2026 08:00:00 GMT</pubDate></item>" for m in mids)
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'


@pytest.fixture
def wechat_site(httpserver):
    base = httpserver.url_for("").rstrip("/")

    def article(request):
        n = ARTICLES.get(request.args.get("mid", ""))
        if n is None:
            return Response("no such article", status=404)
        return Response(article_html(n), content_type="text/html; charset=utf-8")

    httpserver.expect_request("/s").respond_with_handler(article)
    httpserver.expect_request("/both.xml").respond_with_data(rss(base, list(ARTICLES)), content_type="application/rss+xml")
    httpserver.expect_request("/first.xml").respond_with_data(rss(base, ["2461139000"]), content_type="application/rss+xml")
    httpserver.expect_request("/second.xml").respond_with_data(rss(base, ["2461139123"]), content_type="application/rss+xml")
    httpserver.expect_request("/empty.xml").respond_with_data(rss(base, []), content_type="application/rss+xml")
    return base


def settings_with(workspace, base, feeds: dict[str, str]):
    (workspace / "config" / "sources.toml").write_text(
        "".join(f'[[sources]]\nname = "{name}"\nurl = "{base}/{path}"\n\n' for name, path in feeds.items()))
    return load_settings(workspace, env={}, overrides={"fetch": {"allowed_hosts": ["127.0.0.1", "localhost"]},
                                                         "llm": {"provider": "offline", "triage": False}})


def make_old_store(settings, monkeypatch) -> None:
    """A collect by the previous release: old keys, and a store from before the key-version migration."""
    with monkeypatch.context() as m:
        m.setattr("curator.discover.canonical_url", old_canonical_url)
        with Store(settings.db_path) as store:
            Pipeline(settings, store).collect()
            store.db.execute("DROP TABLE store_meta")
            # and the steps after it (the previous release had none of them)
            store.db.execute("DROP TABLE draft_blocks")
            store.db.execute("ALTER TABLE issues DROP COLUMN draft_sha")
            store.db.execute("ALTER TABLE issues DROP COLUMN draft_render")
            store.db.execute("DROP TABLE notify_sent")
            store.db.execute("DROP TABLE webhook_deliveries")
            store.db.execute("DROP TABLE rule_outcomes")
            store.db.execute("ALTER TABLE items DROP COLUMN claimed_by")
            store.db.execute("ALTER TABLE items DROP COLUMN claimed_until")
            for (trigger,) in store.db.execute("SELECT name FROM sqlite_master WHERE type='trigger' "
                                               "AND name LIKE 'search_%'").fetchall():
                store.db.execute(f"DROP TRIGGER {trigger}")
            store.db.execute("DROP TABLE search_fts")
            store.db.execute("DROP TABLE search_dirty")
            store.db.execute("DROP TABLE schema_migrations")  # the previous release numbered its schema only
            before = [m.name for m in MIGRATIONS].index("store_meta")  # the schema it had
            store.db.execute(f"PRAGMA user_version = {before}")


def titles(store: Store) -> list[str]:
    return sorted(i.article.title for i in store.items() if i.article)


def test_wechat_articles_merged_by_the_old_keys_come_back_on_the_next_collect(workspace, wechat_site, monkeypatch,
                                                                               caplog):
    settings = settings_with(workspace, wechat_site, {"公众号": "both.xml"})
    make_old_store(settings, monkeypatch)
    with sqlite3.connect(settings.db_path) as db:  # what the old release left: one item for two articles
        assert db.execute("SELECT canonical_url FROM items").fetchall() == [(f"{wechat_site.replace('http:', 'https:')}/s",)]
    caplog.clear()
    with Store(settings.db_path) as store:
        assert "store re-keyed with URL rules v2: 1 item keys changed" in caplog.text
        assert any(r.levelno == logging.WARNING for r in caplog.records if "re-keyed" in r.getMessage())
        run = Pipeline(settings, store).collect()
        assert run.counters["store/rekeyed"] == 1 and any("1 item keys changed" in n for n in run.notes)
        assert run.counters["discover/new"] == 1 and run.counters["discover/known"] == 1
        assert store.count_items() == 2 and store.state_counts() == {"enriched": 2}
        assert titles(store) == sorted(article_title(n) for n in ARTICLES.values())
        assert {i.canonical_url for i in store.items()} == {canonical_url(wechat_link(wechat_site, m))
                                                                  for m in ARTICLES}
    caplog.clear()
    with Store(settings.db_path) as store:  # re-keyed once: the next open says nothing and changes nothing
        assert "re-keyed" not in caplog.text and store.take_rekey_report() is None
        assert Pipeline(settings, store).collect().counters["discover/new"] == 0


def test_an_article_merged_from_another_source_comes_back_even_if_that_feed_moved_on(workspace, wechat_site,
                                                                                     monkeypatch):
    make_old_store(settings_with(workspace, wechat_site, {"甲": "first.xml", "乙": "second.xml"}), monkeypatch)
    # The second feed no longer lists its article: only the store remembers the link.
    settings = settings_with(workspace, wechat_site, {"甲": "first.xml", "乙": "empty.xml"})
    with Store(settings.db_path) as store:
        assert store.rekeyed is not None and store.rekeyed.changed == 1 and store.rekeyed.split == 1
        run = Pipeline(settings, store).collect()
        assert run.counters["store/rekey_split"] == 1
        items = store.items()
        assert store.state_counts() == {"enriched": 2} and titles(store) == sorted(map(article_title, (1, 2)))
        # each article cites only the source that listed it
        assert sorted((i.sources[0].source, i.article.title) for i in items) == [
            ("乙", article_title(2)), ("甲", article_title(1))]
        assert all(len(i.sources) == 1 for i in items)


def test_two_old_keys_that_now_name_one_paper_never_collide(store_target, caplog):
    from curator.models import Candidate

    db = store_target
    urls = ["https://arxiv.org/abs/2401.12345v1", "https://arxiv.org/pdf/2401.12345v2",
            "https://twitter.com/a/status/42", "https://x.com/b/status/42", "https://ex.cn/news?newId=7"]
    with Store(db) as store:
        for url in urls:
            store.add_candidate(Candidate(url=url, title=url, source="s"), old_canonical_url(url))
        store.db.execute("INSERT INTO archive(canonical_url, url, issue_number) VALUES (?, ?, 3), (?, ?, 3)",
                         (old_canonical_url(urls[4]), urls[4], old_canonical_url(urls[0]), urls[0]))
        store.db.execute("UPDATE store_meta SET value='1'")
    with Store(db) as store:
        report = store.rekeyed
        keys = dict(store.db.execute("SELECT url, canonical_url FROM items").fetchall())
        archive = sorted(r[0] for r in store.db.execute("SELECT canonical_url FROM archive"))
    assert report is not None and report.version == KEY_VERSION
    # first of each pair takes the new key; the second keeps its own (one document in two rows, as before)
    assert keys[urls[0]] == "https://arxiv.org/abs/2401.12345" and keys[urls[1]] == old_canonical_url(urls[1])
    assert keys[urls[2]] == "https://x.com/i/status/42" and keys[urls[3]] == old_canonical_url(urls[3])
    assert keys[urls[4]] == "https://ex.cn/news?newId=7"
    assert report.changed == 3 and len(report.kept_apart) == 2 and report.archive == 2
    assert archive == ["https://arxiv.org/abs/2401.12345", "https://ex.cn/news?newId=7"]
    assert "3 item keys changed" in caplog.text and "2 items left under their old key" in caplog.text


def test_a_fresh_store_is_keyed_with_the_current_rules_and_says_nothing(store_target, caplog):
    with Store(store_target) as store:
        assert store.take_rekey_report() is None
        assert store.db.execute("SELECT value FROM store_meta").fetchone()[0] == str(KEY_VERSION)
    assert "re-keyed" not in caplog.text


def test_the_plan_frees_a_key_before_another_row_takes_it():
    # row 1 wants the key row 2 gives up; row 3 wants a key row 4 keeps: it stays as it is
    moves, kept = rekey_plan({1: "a", 2: "b", 3: "c", 4: "d"}, {1: "b", 2: "e", 3: "d", 4: "d"})
    assert moves == [(2, "e"), (1, "b")] and kept == [3]


def test_curator_collect_tells_the_editor_how_many_keys_changed(workspace, wechat_site, monkeypatch):
    from typer.testing import CliRunner

    from curator.cli import app

    settings = settings_with(workspace, wechat_site, {"公众号": "both.xml"})
    make_old_store(settings, monkeypatch)
    (workspace / "config" / "zz-loopback.toml").write_text('[fetch]\nallowed_hosts = ["localhost", "127.0.0.1"]\n'
                                                            '[llm]\nprovider = "offline"\n')
    result = CliRunner().invoke(app, ["collect", "--home", str(workspace)])
    assert result.exit_code == 0, result.output
    assert "note: store re-keyed with URL rules v2: 1 item keys changed" in result.output
    assert "rekeyed=1" in result.output and "new=1" in result.output


def test_rows_written_with_old_keys_into_a_current_store_are_re_keyed_on_the_next_open(store_target, caplog):
    """However a row got an old key (a copy from an older curator, a script), the next open re-makes it."""
    from curator.models import Candidate

    db = store_target
    a = "https://mp.weixin.qq.com/s?__biz=MzA5&mid=100&idx=1&sn=aa&chksm=1&scene=21"
    b = "https://mp.weixin.qq.com/s?__biz=MzA5&mid=200&idx=1&sn=bb"
    with Store(db) as store:
        store.add_candidate(Candidate(url=a, title="A", source="甲"), old_canonical_url(a))
        _, is_new = store.add_candidate(Candidate(url=b, title="B", source="乙"), old_canonical_url(b))
        assert not is_new  # the old key: B was taken for A
    caplog.clear()
    with Store(db) as store:
        assert "1 item keys changed, 1 merged-away links back as new candidates" in caplog.text
        rows = sorted(tuple(r) for r in store.db.execute("SELECT url, canonical_url, state FROM items"))
        assert rows == sorted([(a, canonical_url(a), "discovered"), (b, canonical_url(b), "discovered")])
        _, is_new = store.add_candidate(Candidate(url=b, title="B", source="乙"), canonical_url(b))
        assert not is_new  # B is its own item now, found under its own key
