"""Retries are routed by what the store holds: a stored page is extracted again, never fetched again."""

from __future__ import annotations

from typing import Any

from curator.errors import ExtractionError
from curator.models import Article, Candidate, Enrichment, ItemState, Page
from curator.pipeline import Pipeline
from curator.settings import load_settings
from curator.store import Store
from curator.workers import ParsePool
from tests.sites import NewsSite


def test_each_failure_goes_back_to_the_stage_that_failed(store_target):
    with Store(store_target) as s:
        def failed(n: int, page: bool = False, article: bool = False) -> int:
            url = f"https://ex.com/{n}"
            item_id = s.add_candidate(Candidate(url=url, source="feed"), url)[0]
            if page:
                s.save_page(item_id, Page(url=url, final_url=url, status=200, text="<p>页面</p>"))
            if article:
                s.save_article(item_id, Article(url=url, title="t", text="正文"), "h")
            s.set_state(item_id, ItemState.FAILED, "parse_timeout" if page else "llm_timeout" if article else "timeout",
                        retryable=True)
            return item_id

        fetch, extract, enrich = failed(1), failed(2, page=True), failed(3, article=True)
        assert s.requeue_retryable() == 3
        states = {i.id: i.state for i in s.items()}
        assert states == {fetch: ItemState.DISCOVERED, extract: ItemState.FETCHED, enrich: ItemState.EXTRACTED}
        assert s.load_page(extract).text == "<p>页面</p>"  # the page it failed on is there to extract again


def test_an_extraction_timeout_with_its_page_stored_is_extracted_again_without_a_refetch(workspace, monkeypatch):
    real_run = ParsePool.run
    timed_out: list[str] = []

    async def first_page_times_out(self: ParsePool, fn: Any, *args: Any) -> Any:
        if fn.__name__ == "extract_job" and args[0].url.endswith("/a/0") and not timed_out:
            timed_out.append(args[0].url)
            raise ExtractionError("parsing took longer than 15 s", reason="parse_timeout", retryable=True)
        return await real_run(self, fn, *args)

    with NewsSite(n_articles=2) as site:
        site.write_sources(workspace)
        settings = load_settings(workspace, env={}, overrides={"llm": {"provider": "offline", "triage": False},
                                                                "extract": {"workers": 0}})
        with Store(settings.db_path) as store:
            with monkeypatch.context() as m:
                m.setattr(ParsePool, "run", first_page_times_out)
                first = Pipeline(settings, store).collect()
            assert timed_out and first.counters["extract/parse_timeout"] == 1
            assert store.state_counts() == {"enriched": 1, "failed:parse_timeout": 1}
            assert site.hits["/a/0"] == 1

            second = Pipeline(settings, store).collect(discover=False)
            assert second.counters["retry/requeued"] == 1
            assert second.counters["extract/ok"] == 1 and second.counters["fetch/ok"] == 0
            assert site.hits["/a/0"] == 1  # the stored page was extracted again: never fetched a second time
            [item] = [i for i in store.items() if i.url.endswith("/a/0")]
            assert item.state == ItemState.ENRICHED and item.article is not None
            assert isinstance(item.enrichment, Enrichment)
