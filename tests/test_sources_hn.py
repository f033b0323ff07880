"""Hacker News (Algolia API) source on loopback: points threshold, discussion links, Ask HN, bad shapes."""

from datetime import UTC, datetime

import pytest

from curator.errors import SourceError
from curator.settings import SourceSettings
from curator.sources import build_source
from curator.sources.hn import points_threshold
from tests.test_sources_support import discover, fixture

PATH = "/api/v1/search_by_date"


def hn_source(httpserver, query="tags=story&numericFilters=points>100", **kw):
    return build_source(
        SourceSettings(name="HN", kind="hn", url=httpserver.url_for(PATH) + "?" + query, **kw)
    )


def test_stories_above_the_threshold_keep_discussion_link_and_points(httpserver):
    httpserver.expect_request(
        PATH, query_string={"tags": "story", "numericFilters": "points>100"}
    ).respond_with_data(fixture("hn_search_by_date.json"), content_type="application/json; charset=utf-8")
    result = discover(hn_source(httpserver))
    by_title = {c.title: c for c in result.candidates}
    assert list(by_title) == [
        "Rust 1.99 released",
        "Ask HN: What are you using for LLM evals?",
        "A relative link somehow",
    ]
    rust = by_title["Rust 1.99 released"]
    assert rust.url == "https://blog.rust-lang.org/2026/11/18/Rust-1.99.0/?utm_source=hn"
    assert rust.discussion_url == "https://news.ycombinator.com/item?id=46012345"
    assert rust.points == 412 and rust.source == "HN"
    assert rust.published_at == datetime(2026, 11, 18, 9, tzinfo=UTC)
    ask = by_title["Ask HN: What are you using for LLM evals?"]
    assert ask.url == ask.discussion_url == "https://news.ycombinator.com/item?id=46012399"
    assert ask.snippet == "We're comparing a few tools & would love pointers."
    assert by_title["A relative link somehow"].url == "http://cdn.example.net/post"  # made absolute
    # 40 and exactly-100 points are not "above 100"; javascript: is never a link.
    assert result.dropped == {"below_points": 2, "bad_link": 1}


def test_threshold_comes_from_the_url_and_defaults_to_100():
    assert points_threshold("https://hn.algolia.com/api/v1/search?tags=story&numericFilters=points>=250") == (
        250,
        True,
    )
    assert points_threshold(
        "https://hn.algolia.com/api/v1/search?numericFilters=created_at_i>1,points>30"
    ) == (30, False)
    assert points_threshold("https://hn.algolia.com/api/v1/search_by_date?tags=story") == (100, False)


def test_lower_threshold_and_entry_cap(httpserver):
    httpserver.expect_request(PATH).respond_with_data(
        fixture("hn_search_by_date.json"), content_type="application/json"
    )
    result = discover(hn_source(httpserver, "tags=story&numericFilters=points>=100", max_entries=2))
    assert [c.points for c in result.candidates] == [412, 156]
    # 100 points counts now (>=); it and the 150-point story are past the cap.
    assert result.dropped == {"entry_cap": 2, "below_points": 1, "bad_link": 1}


@pytest.mark.parametrize(
    "body", [b"[]", b'{"hits": {"a": 1}}', b"<html>rate limited</html>", b'{"message": "x"}']
)
def test_wrong_shape_is_a_source_error(httpserver, body):
    httpserver.expect_request(PATH).respond_with_data(body, content_type="application/json")
    with pytest.raises(SourceError) as info:
        discover(hn_source(httpserver))
    assert info.value.reason == "bad_shape"


def test_malformed_hits_are_dropped_not_fatal(httpserver):
    hits = [
        None,
        {"title": "no id", "points": 500},
        {"objectID": "1", "title": "ok", "points": "many", "url": "https://a.example/"},
        {
            "objectID": "2",
            "title": "Good",
            "points": 101,
            "url": "https://b.example/x",
            "created_at_i": "soon",
        },
    ]
    httpserver.expect_request(PATH).respond_with_json({"hits": hits})
    result = discover(hn_source(httpserver))
    assert [(c.title, c.published_at) for c in result.candidates] == [("Good", None)]
    assert result.dropped == {"bad_shape": 2, "below_points": 1}
