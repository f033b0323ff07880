"""JSON Feed 1.0/1.1 through the ordinary rss source on loopback: detection by type or body, items, shapes."""

import json

import pytest

from curator.errors import SourceError
from curator.settings import SourceSettings
from curator.sources import build_source
from curator.sources.jsonfeed import is_json_feed
from tests.test_sources_support import NOW, discover

FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Example Links",
    "home_page_url": "https://links.example.org/",
    "feed_url": "https://links.example.org/feed.json",
    "authors": [{"name": "Ed"}],
    "items": [
        {
            "id": "1",
            "url": "/2026/11/18/uv",
            "title": "uv 0.10 &amp; friends",
            "content_html": "<p>Fast <b>installs</b></p>",
            "date_published": "2026-11-18T09:00:00+08:00",
            "tags": ["python"],
        },
        {
            "id": "2",
            "external_url": "https://blog.example.com/deepseek",
            "summary": "A new model.",
            "content_text": "Long text",
            "date_published": "2026-11-19T10:00:00Z",
        },
        {"id": "3", "url": "mailto:ed@example.org", "title": "Mail me"},
        {
            "id": "4",
            "url": "https://links.example.org/future",
            "title": "Future",
            "date_published": "2099-01-01T00:00:00Z",
        },
        "not an item",
    ],
}


def rss(httpserver, kind="rss", path="/feed.json", **kw):
    return build_source(SourceSettings(name="links", kind=kind, url=httpserver.url_for(path), **kw))


@pytest.mark.parametrize("ctype", ["application/feed+json", "application/json; charset=utf-8", "text/plain"])
def test_json_feed_items_become_candidates_whatever_the_content_type(httpserver, ctype):
    httpserver.expect_request("/feed.json").respond_with_data(json.dumps(FEED), content_type=ctype)
    result = discover(rss(httpserver))
    base = httpserver.url_for("/").rstrip("/")
    assert [c.url for c in result.candidates] == [
        f"{base}/2026/11/18/uv",  # relative → absolute against the feed URL
        "https://blog.example.com/deepseek",  # external_url when there is no url
        "https://links.example.org/future",
    ]
    uv, model, future = result.candidates
    assert uv.title == "uv 0.10 & friends" and uv.snippet == "Fast installs"
    assert uv.published_at.isoformat() == "2026-11-18T09:00:00+08:00"
    assert model.snippet == "A new model." and model.title == ""
    assert future.published_at == NOW  # future dates clamped
    assert result.dropped == {"bad_link": 1, "bad_shape": 1}


def test_jsonfeed_kind_alias_and_entry_cap(httpserver):
    httpserver.expect_request("/feed.json").respond_with_json(FEED)
    result = discover(rss(httpserver, kind="jsonfeed", max_entries=2))
    assert len(result.candidates) == 2 and result.dropped["entry_cap"] == 3


def test_version_1_0_is_detected_from_the_body():
    v1 = json.dumps({"title": "t", "version": "https://jsonfeed.org/version/1", "items": []}).encode()
    assert is_json_feed(b"\xef\xbb\xbf \n" + v1)
    assert not is_json_feed(b'{"hits": []}', "application/json")
    assert not is_json_feed(b"<rss version='2.0'/>", "application/xml")


@pytest.mark.parametrize(
    "body",
    [
        b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}',
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [',
        b"[]",
    ],
)
def test_broken_json_feed_is_a_source_error(httpserver, body):
    httpserver.expect_request("/feed.json").respond_with_data(body, content_type="application/feed+json")
    with pytest.raises(SourceError) as info:
        discover(rss(httpserver))
    assert info.value.reason == "bad_shape"
