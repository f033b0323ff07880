"""robots.txt is honoured for article pages (once per host), never for feeds."""

from curator.pipeline import Pipeline
from curator.settings import load_settings
from curator.store import Store
from tests.sites import NewsSite


def test_disallowed_articles_are_skipped_with_a_reason_and_robots_is_read_once(workspace, httpserver):
    base = httpserver.url_for("").rstrip("/")
    feed = "".join(f"<item><title>t{i}</title><link>{base}/{d}/{i}</link></item>"
                   for i, d in enumerate(["open", "private", "open", "private"]))
    httpserver.expect_request("/feed.xml").respond_with_data(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>{feed}</channel></rss>',
        content_type="application/rss+xml")
    httpserver.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    body = "<html><body><article>" + "<p>这是一段足够长的中文正文，用来测试抓取规则是否被遵守。</p>" * 10 + "</article></body></html>"
    for i in (0, 2):
        httpserver.expect_request(f"/open/{i}").respond_with_data(body, content_type="text/html; charset=utf-8")
    (workspace / "config" / "sources.toml").write_text(f'[[sources]]\nname = "s"\nurl = "{base}/feed.xml"\n')
    settings = load_settings(workspace, env={}, overrides={"fetch": {"allowed_hosts": ["localhost", "127.0.0.1"]},
                                                             "llm": {"provider": "offline"}})
    with Store(settings.db_path) as store:
        run = Pipeline(settings, store).collect()
        counts = store.state_counts()
    assert counts["skipped:robots"] == 2 and run.counters["fetch/skipped_robots"] == 2
    paths = [req.path for req, _ in httpserver.log]
    assert paths.count("/robots.txt") == 1 and not any(p.startswith("/private") for p in paths)


def test_a_site_without_robots_txt_is_fetched(workspace):
    with NewsSite(n_articles=3) as site:
        site.write_sources(workspace)
        settings = load_settings(workspace, env={}, overrides={"llm": {"provider": "offline"}})
        with Store(settings.db_path) as store:
            Pipeline(settings, store).collect()
            assert store.state_counts() == {"enriched": 3}
        assert site.hits["/robots.txt"] == 1
