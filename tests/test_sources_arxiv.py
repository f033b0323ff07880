"""arXiv export API source on loopback: Atom entries, version-less abs links, API errors, the throttle."""

import asyncio
import time

import pytest
from werkzeug import Response

from curator.errors import SourceError
from curator.http import Fetcher
from curator.models import Validators
from curator.settings import SourceSettings
from curator.sources import SourceContext, arxiv, build_source
from curator.sources.arxiv import ArxivSource, Throttle, abs_url
from tests.test_sources_support import LOOPBACK, NOW, discover, fixture

PATH = "/api/query"
QUERY = "search_query=cat:cs.CL&sortBy=submittedDate&max_results=50"


@pytest.fixture(autouse=True)
def no_wait(monkeypatch):
    """The shared 3 s throttle would make every test after the first wait; the throttle has its own tests."""
    monkeypatch.setattr(arxiv.THROTTLE, "interval_s", 0.0)


def source(httpserver, **kw):
    return build_source(
        SourceSettings(name="arXiv cs.CL", kind="arxiv", url=f"{httpserver.url_for(PATH)}?{QUERY}", **kw)
    )


def test_entries_become_papers_with_version_less_abs_links(httpserver):
    httpserver.expect_request(PATH, query_string=QUERY).respond_with_data(
        fixture("arxiv_query.xml"), content_type="application/atom+xml; charset=utf-8"
    )
    result = discover(source(httpserver))
    assert [(c.url, c.title) for c in result.candidates] == [
        ("https://arxiv.org/abs/2611.01234", "Scaling Laws for Chinese Language Models"),
        ("https://arxiv.org/abs/2611.04321", "Evaluating Agents on Long-Horizon Tasks"),
    ]
    paper = result.candidates[0]
    assert (
        paper.snippet
        == "Li Wei, Jane Doe: We study how loss scales with data and parameters for Chinese-centric pretraining corpora."
    )
    assert paper.published_at.isoformat() == "2026-11-18T17:59:59+00:00"
    assert paper.source == "arXiv cs.CL"


def test_entry_cap(httpserver):
    httpserver.expect_request(PATH).respond_with_data(
        fixture("arxiv_query.xml"), content_type="application/atom+xml"
    )
    result = discover(source(httpserver, max_entries=1))
    assert len(result.candidates) == 1 and result.dropped == {"entry_cap": 1}


def test_api_error_feed_is_a_source_error(httpserver):
    httpserver.expect_request(PATH).respond_with_data(
        fixture("arxiv_error.xml"), content_type="application/atom+xml"
    )
    with pytest.raises(SourceError) as info:
        discover(source(httpserver))
    assert info.value.reason == "api_error" and "incorrect id format" in str(info.value)


def test_html_instead_of_atom_is_a_source_error(httpserver):
    httpserver.expect_request(PATH).respond_with_data(
        "<html><body>Service Unavailable</body></html>", content_type="text/html"
    )
    with pytest.raises(SourceError) as info:
        discover(source(httpserver))
    assert info.value.reason == "not_a_feed"


def test_abs_url_drops_the_version_only_for_arxiv_links():
    assert abs_url("http://arxiv.org/abs/2611.01234v12") == "https://arxiv.org/abs/2611.01234"
    assert abs_url("http://arxiv.org/abs/hep-th/9901001v1") == "https://arxiv.org/abs/hep-th/9901001"
    assert abs_url("https://example.org/abs/1v2") == "https://example.org/abs/1v2"


def test_every_arxiv_source_uses_the_shared_three_second_throttle():
    assert arxiv.ARXIV_INTERVAL_S == 3.0
    src = build_source(
        SourceSettings(name="a", kind="arxiv", url="http://export.arxiv.org/api/query?search_query=x")
    )
    assert src.throttle is arxiv.THROTTLE


def _timed(httpserver, arrivals):
    def handler(request):
        arrivals.append(time.monotonic())
        return Response(fixture("arxiv_query.xml"), content_type="application/atom+xml")

    httpserver.expect_request(PATH).respond_with_handler(handler)


def test_a_second_request_waits_for_the_interval(httpserver):
    arrivals: list[float] = []
    _timed(httpserver, arrivals)
    throttle = Throttle(0.5)
    cfg = SourceSettings(name="a", kind="arxiv", url=f"{httpserver.url_for(PATH)}?{QUERY}")
    two = [
        ArxivSource(cfg, throttle=throttle),
        ArxivSource(cfg.model_copy(update={"name": "b"}), throttle=throttle),
    ]

    async def both():
        async with Fetcher(LOOPBACK) as fetcher:
            ctx = SourceContext(fetcher=fetcher, validators=Validators(), now=NOW)
            return await asyncio.gather(*(s.discover(ctx) for s in two))  # started together

    results = asyncio.run(both())
    assert all(len(r.candidates) == 2 for r in results)
    assert len(arrivals) == 2 and arrivals[1] - arrivals[0] >= 0.5
    # The timestamp is per process, not per run: a later run's first request waits too.
    started = time.monotonic()
    discover(two[0])
    assert len(arrivals) == 3 and arrivals[2] - arrivals[1] >= 0.5 and time.monotonic() - started < 30
