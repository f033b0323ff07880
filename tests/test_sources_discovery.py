"""Feed discovery on loopback (link tags, common paths) and OPML import/export."""

import asyncio

import pytest

from curator.errors import SourceError
from curator.http import Fetcher
from curator.settings import SourceSettings
from curator.sources.discovery import discover_feed, feed_links, parse_opml, to_opml
from tests.test_sources_support import LOOPBACK

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title>
<entry><title>Post</title><link href="https://blog.example.com/p"/><updated>2026-11-18T09:00:00Z</updated></entry></feed>"""
RSS_EMPTY = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>New blog</title><link>https://x.example/</link></channel></rss>"""
HOME = """<!doctype html><html><head><title>Blog</title>
<link rel="alternate" type="application/rss+xml" title="Comments Feed" href="/comments/feed/">
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/atom+xml" title="Blog" href="feeds/all.atom.xml">
</head><body><p>Hello</p></body></html>"""


def find(url):
    async def go():
        async with Fetcher(LOOPBACK) as fetcher:
            return await discover_feed(fetcher, url)

    return asyncio.run(go())


def test_feed_link_in_the_homepage_wins_and_comment_feeds_come_last(httpserver):
    httpserver.expect_request("/blog/").respond_with_data(HOME, content_type="text/html; charset=utf-8")
    httpserver.expect_request("/blog/feeds/all.atom.xml").respond_with_data(
        ATOM, content_type="application/atom+xml"
    )
    assert find(httpserver.url_for("/blog/")) == httpserver.url_for("/blog/feeds/all.atom.xml")
    assert feed_links(HOME, "https://b.example/blog/") == [
        "https://b.example/blog/feeds/all.atom.xml",
        "https://b.example/comments/feed/",
    ]


def test_common_paths_are_tried_when_the_page_links_no_feed(httpserver):
    httpserver.expect_request("/").respond_with_data(
        "<html><head><title>x</title></head><body>hi</body></html>", content_type="text/html"
    )
    httpserver.expect_request("/feed").respond_with_data("nope", status=404)
    httpserver.expect_request("/rss").respond_with_data(
        "<html><body>not a feed</body></html>", content_type="text/html"
    )
    httpserver.expect_request("/atom.xml").respond_with_data(RSS_EMPTY, content_type="application/xml")
    assert find(httpserver.url_for("/")) == httpserver.url_for(
        "/atom.xml"
    )  # a feed with no entries yet is a feed


def test_a_feed_url_is_returned_as_is(httpserver):
    httpserver.expect_request("/feed.json").respond_with_json(
        {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": []}
    )
    assert find(httpserver.url_for("/feed.json")) == httpserver.url_for("/feed.json")


def test_no_feed_is_a_helpful_source_error(httpserver):
    httpserver.expect_request("/").respond_with_data(
        "<html><body>no feed</body></html>", content_type="text/html"
    )
    for path in ("/feed", "/rss", "/atom.xml", "/feed.xml", "/index.xml", "/rss.xml"):
        httpserver.expect_request(path).respond_with_data("", status=404)
    with pytest.raises(SourceError) as info:
        find(httpserver.url_for("/"))
    assert info.value.reason == "no_feed_found"
    assert "/atom.xml" in str(info.value) and 'kind = "watch"' in str(info.value)


SOURCES = [
    SourceSettings(
        name="阮一峰的网络日志", url="https://www.ruanyifeng.com/blog/atom.xml", weight=1.2, section="dev"
    ),
    SourceSettings(
        name="HN",
        kind="hn",
        url="https://hn.algolia.com/api/v1/search_by_date?tags=story&numericFilters=points>100",
    ),
    SourceSettings(
        name='Quotes "&" <angles>',
        kind="watch",
        url="https://example.com/notes/",
        enabled=False,
        max_entries=20,
    ),
]


def test_opml_round_trip_keeps_every_curator_field():
    text = to_opml(SOURCES)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    back = [SourceSettings.model_validate(t) for t in parse_opml(text.encode())]
    assert back == SOURCES


def test_reader_opml_with_folders_duplicates_and_junk():
    opml = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0"><head><title>Feedly</title></head><body>
<outline text="Tech" title="Tech">
  <outline type="rss" text="Simon Willison" title="Simon Willison" xmlUrl="https://simonwillison.net/atom/everything/" htmlUrl="https://simonwillison.net/"/>
  <outline type="rss" text="Blog" xmlUrl="https://a.example/feed"/>
  <outline type="rss" text="Blog" xmlUrl="https://b.example/feed"/>
  <outline type="rss" xmlUrl="https://c.example/rss.xml"/>
  <outline type="rss" text="Local" xmlUrl="file:///etc/passwd"/>
  <outline type="rss" text="Bad weight" xmlUrl="https://d.example/feed" curatorWeight="99"/>
</outline></body></opml>"""
    tables = parse_opml(opml)
    assert [(t["name"], t["url"]) for t in tables] == [
        ("Simon Willison", "https://simonwillison.net/atom/everything/"),
        ("Blog", "https://a.example/feed"),
        ("Blog (2)", "https://b.example/feed"),
        ("c.example", "https://c.example/rss.xml"),
        ("Bad weight", "https://d.example/feed"),
    ]
    assert all(set(t) == {"name", "kind", "url"} for t in tables)  # defaults are not spelled out


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa">]><opml><body><outline text="&a;"/></body></opml>',
            "xml_entities",
        ),
        (b"<opml><body><outline", "bad_opml"),
        (b"<rss><channel/></rss>", "bad_opml"),
    ],
)
def test_bad_opml_is_refused(data, reason):
    with pytest.raises(SourceError) as info:
        parse_opml(data)
    assert info.value.reason == reason
