"""Pipeline level: an HN story and an RSS entry for the same URL become ONE item with two sources."""

from curator.pipeline import Pipeline
from curator.settings import load_settings
from curator.store import Store
from tests.test_pipeline import EN_BODY, feed, page


def test_hn_story_and_rss_entry_for_one_url_are_one_item_with_two_sources(workspace, httpserver):
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed(base, [("Rust 1.99 released", "/rust-1-99?utm_source=rss")]), content_type="application/rss+xml"
    )
    httpserver.expect_request("/api/v1/search_by_date").respond_with_json(
        {
            "hits": [
                {
                    "objectID": "46012345",
                    "title": "Rust 1.99 Released",
                    "url": f"{base}/rust-1-99/",
                    "points": 312,
                    "num_comments": 140,
                    "created_at_i": 1794992400,
                    "author": "steveklabnik",
                    "_tags": ["story"],
                },
                {
                    "objectID": "46012346",
                    "title": "Too few points",
                    "url": f"{base}/meh",
                    "points": 12,
                    "created_at_i": 1794992400,
                },
            ]
        }
    )
    httpserver.expect_request("/rust-1-99").respond_with_data(
        page("Rust 1.99 released", EN_BODY), content_type="text/html; charset=utf-8"
    )
    (workspace / "config" / "sources.toml").write_text(
        f'[[sources]]\nname = "Rust Blog"\nurl = "{base}/feed.xml"\n\n'
        f'[[sources]]\nname = "Hacker News"\nkind = "hn"\n'
        f'url = "{base}/api/v1/search_by_date?tags=story&numericFilters=points>100"\n'
    )
    settings = load_settings(
        workspace,
        env={},
        overrides={"fetch": {"allowed_hosts": ["127.0.0.1", "localhost"]}, "llm": {"provider": "offline"}},
    )
    with Store(settings.db_path) as store:
        run = Pipeline(settings, store).collect()
        assert run.counters["source/ok"] == 2
        assert run.counters["discover/new"] == 1 and run.counters["discover/known"] == 1
        assert run.counters["discover/dropped_below_points"] == 1
        [item] = store.items()
        assert item.canonical_url.endswith("/rust-1-99")
        refs = {ref.source: ref for ref in item.sources}
        assert set(refs) == {"Rust Blog", "Hacker News"}
        hn = refs["Hacker News"]
        assert hn.discussion_url == "https://news.ycombinator.com/item?id=46012345" and hn.points == 312
        assert refs["Rust Blog"].discussion_url is None
        assert [r.name for r in store.source_health() if r.consecutive_failures] == []
