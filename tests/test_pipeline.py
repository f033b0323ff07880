"""Pipeline on a small loopback site: states, outcomes with reasons, the LLM path through the real SDK."""

import json
from datetime import UTC, datetime

import pytest

from curator.models import ItemState
from curator.pipeline import Pipeline
from curator.settings import load_settings
from curator.store import Store
from tests.canary import CANARY
from tests.fake_openai import Reply, valid_answer

ZH_BODY = "".join(
    f"<p>第{i}段：OpenAI 在 2026 年 11 月 17 日发布了新的大模型，推理速度提升 {i}0%，开发者可以通过 API 调用。</p>"
    for i in range(1, 8)
)
EN_BODY = "".join(
    f"<p>Paragraph {i}: The Rust compiler team shipped release 1.9{i} on November 18, 2026, with faster builds "
    f"and a new borrow checker that developers have requested for years.</p>"
    for i in range(1, 8)
)


def page(title, body):
    return f"<html><head><title>{title}</title></head><body><nav>首页 | 新闻 | 关于</nav><article><h1>{title}</h1>{body}</article><footer>版权所有</footer></body></html>"


def feed(base, items):
    entries = "".join(
        f"<item><title>{t}</title><link>{base}{p}</link><pubDate>Tue, 17 Nov 2026 08:00:00 GMT</pubDate></item>"
        for t, p in items
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{entries}</channel></rss>'


@pytest.fixture
def site(httpserver):
    base = httpserver.url_for("")
    base = base.rstrip("/")
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed(base, [("大模型发布", "/zh"), ("Rust release", "/en?utm_source=rss"), ("Gone", "/missing")]),
        content_type="application/rss+xml",
    )
    httpserver.expect_request("/zh").respond_with_data(page("OpenAI 发布新的大模型", ZH_BODY), content_type="text/html; charset=utf-8")
    httpserver.expect_request("/en").respond_with_data(page("Rust 1.99 released", EN_BODY), content_type="text/html; charset=utf-8")
    httpserver.expect_request("/missing").respond_with_data("nope", status=404)
    return base


def settings_for(workspace, site, env=None, provider="offline", **llm):
    (workspace / "config" / "sources.toml").write_text(f'[[sources]]\nname = "测试源"\nurl = "{site}/feed.xml"\nweight = 1.0\n')
    return load_settings(
        workspace, env=env or {},
        overrides={"fetch": {"allowed_hosts": ["127.0.0.1", "localhost"]},
                   "llm": {"provider": provider, "triage": False, **llm}},
    )


def test_offline_collect_moves_every_item_to_a_recorded_outcome(workspace, site):
    settings = settings_for(workspace, site)
    with Store(settings.db_path) as store:
        run = Pipeline(settings, store).collect()
        counts = store.state_counts()
        assert counts == {"enriched": 2, "failed:http_404": 1}
        assert run.counters["discover/new"] == 3 and run.counters["fetch/ok"] == 2 and run.counters["fetch/http_404"] == 1
        assert any("OFFLINE" in n for n in run.notes)
        items = {i.article.lang: i for i in store.items(states=[ItemState.ENRICHED])}
        assert items["zh"].enrichment.section == "ai" and items["zh"].enrichment.summary
        assert items["en"].url.endswith("/en?utm_source=rss")
        assert items["en"].canonical_url.endswith("/en")
        draft = Pipeline(settings, store).draft(as_of=datetime(2026, 11, 20, tzinfo=UTC))
        text = draft.draft_path.read_text()
        assert "OpenAI" in text and "（英文）" in text and "[^1]:" in text and "[^2]:" in text
        assert "utm_source" not in text
        assert store.state_counts()["drafted"] == 2


def test_openai_backend_stores_valid_answers_and_never_an_invalid_one(workspace, site, fake_llm):
    def script(request):
        if "原标题：Rust" in request["messages"][0]["content"]:
            return Reply(content='{"title": "坏答案", "summary": "缺字段"}')  # invalid, and again on the re-ask
        return Reply(content=valid_answer(request, title="OpenAI 发布新模型", section="ai", tags=["大模型"]))

    fake_llm.script = [script] * 10
    settings = settings_for(workspace, site, env={"OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": fake_llm.base_url},
                            provider="auto")
    with Store(settings.db_path) as store:
        run = Pipeline(settings, store).collect()
        # Invalid twice: the offline backend writes that item instead, flagged (issue 12); the answer is never kept.
        assert store.state_counts() == {"enriched": 2, "failed:http_404": 1}
        assert run.counters["enrich/fallback_llm_invalid"] == 1 and run.counters["llm/calls"] == 3
        assert run.status == "degraded" and run.reasons() == {"enrich/llm_fallback": 1}
        rows = {r["title"]: json.loads(r["fields"]) for r in store.db.execute(
            "SELECT i.title, e.fields FROM enrichments e JOIN items i ON i.id=e.item_id")}
        fallback = [f for f in rows.values() if "llm_fallback" in f["flags"]]
        assert len(fallback) == 1 and fallback[0]["backend"] == "offline" and "缺字段" not in fallback[0]["summary"]
        assert any(f["title"] == "OpenAI 发布新模型" for f in rows.values())
        outcomes = sorted(r[0] for r in store.db.execute("SELECT outcome FROM llm_calls"))
        assert outcomes == ["ok", "ok", "ok"]  # the HTTP calls succeeded; validation failed
        # A second run has nothing to ask: the fallback is an enrichment, not a failure to retry.
        before = len(fake_llm.requests)
        Pipeline(settings, store).collect()
        assert len(fake_llm.requests) - before == 0
        assert store.db.execute("SELECT COUNT(*) FROM enrichments").fetchone()[0] == 2


def test_enrichment_cache_means_unchanged_content_is_never_sent_twice(workspace, site, fake_llm):
    settings = settings_for(workspace, site, env={"OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": fake_llm.base_url},
                            provider="openai")
    with Store(settings.db_path) as store:
        Pipeline(settings, store).collect()
        assert len(fake_llm.requests) == 2
        # Forget the items' enrichments but keep the cache: re-enrichment costs nothing.
        store.db.execute("DELETE FROM enrichments")
        store.db.execute("UPDATE items SET state='extracted' WHERE state='enriched'")
        run = Pipeline(settings, store).collect()
        assert len(fake_llm.requests) == 2 and run.counters["enrich/cached"] == 2


def test_a_source_failing_night_after_night_is_flagged_and_never_fails_the_run(workspace, site, httpserver):
    (workspace / "config" / "sources.toml").write_text(
        f'[[sources]]\nname = "好源"\nurl = "{site}/feed.xml"\n\n[[sources]]\nname = "坏源"\nurl = "{site}/gone.xml"\n')
    httpserver.expect_request("/gone.xml").respond_with_data("gone", status=410)
    settings = load_settings(workspace, env={}, overrides={"fetch": {"allowed_hosts": ["127.0.0.1", "localhost"]},
                                                             "llm": {"provider": "offline"}})
    with Store(settings.db_path) as store:
        for night in range(1, 4):
            run = Pipeline(settings, store).collect()
            assert run.status == "ok" and run.counters["source/http_410"] == 1
            flagged = [n for n in run.notes if "坏源" in n]
            assert bool(flagged) == (night >= 3)
        assert "failed 3 runs in a row" in flagged[0] and "http_410" in flagged[0]
        health = {r.name: r for r in store.source_health()}
        assert health["好源"].consecutive_failures == 0 and health["坏源"].consecutive_failures == 3


def test_a_feeds_back_catalogue_is_recorded_but_never_fetched(workspace, httpserver):
    from datetime import timedelta
    from email.utils import format_datetime

    base = httpserver.url_for("").rstrip("/")
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)  # the run's injected clock: the test never ages
    fresh = format_datetime(now - timedelta(days=1))
    old = format_datetime(now - timedelta(days=90))
    httpserver.expect_request("/feed.xml").respond_with_data(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f'<item><title>新</title><link>{base}/zh</link><pubDate>{fresh}</pubDate></item>'
        f'<item><title>旧</title><link>{base}/old</link><pubDate>{old}</pubDate></item>'
        '</channel></rss>', content_type="application/rss+xml")
    httpserver.expect_request("/zh").respond_with_data(page("OpenAI 发布新的大模型", ZH_BODY), content_type="text/html; charset=utf-8")
    (workspace / "config" / "sources.toml").write_text(f'[[sources]]\nname = "s"\nurl = "{base}/feed.xml"\n')
    (workspace / "config" / "zz-tests.toml").write_text(f'[run]\nmax_age_days = 14\nnow = "{now.isoformat()}"\n')
    settings = load_settings(workspace, env={}, overrides={"fetch": {"allowed_hosts": ["127.0.0.1", "localhost"]},
                                                             "llm": {"provider": "offline"}})
    with Store(settings.db_path) as store:
        run = Pipeline(settings, store).collect()
        assert store.state_counts() == {"enriched": 1, "skipped:too_old": 1}
        assert run.counters["discover/too_old"] == 1
    assert "/old" not in [req.path for req, _ in httpserver.log]
