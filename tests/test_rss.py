from datetime import UTC, datetime

import pytest

from curator.errors import SourceError
from curator.settings import SourceSettings
from curator.sources.rss import parse_feed

NOW = datetime(2026, 11, 24, tzinfo=UTC)
SRC = SourceSettings(name="blog", url="https://blog.example.com/feed.xml", max_entries=50)

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Blog</title><link>https://blog.example.com/</link>
<item><title>First &amp; best</title><link>/posts/1</link><pubDate>Mon, 16 Nov 2026 08:00:00 GMT</pubDate>
<description>&lt;p&gt;Hello &lt;script&gt;alert(1)&lt;/script&gt;&lt;b onclick="x()"&gt;world&lt;/b&gt;&lt;/p&gt;</description></item>
<item><title>Evil</title><link>javascript:alert(1)</link></item>
<item><title>Files</title><link>file:///etc/passwd</link></item>
<item><title>Future</title><link>https://blog.example.com/posts/future</link><pubDate>Mon, 16 Nov 2099 08:00:00 GMT</pubDate></item>
<item><title>Epoch</title><link>//cdn.example.com/posts/epoch</link><pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://site.example.org/news/">
<title>新闻</title>
<entry><title>大模型发布</title><link href="2026/llm.html"/><updated>2026-11-18T09:00:00Z</updated>
<summary>摘要</summary></entry>
</feed>""".encode()


def test_rss_entries_become_candidates_with_safe_absolute_links():
    result = parse_feed(RSS, "https://blog.example.com/feed.xml", "application/rss+xml", SRC, NOW)
    urls = [c.url for c in result.candidates]
    assert urls == [
        "https://blog.example.com/posts/1",
        "https://blog.example.com/posts/future",
        "https://cdn.example.com/posts/epoch",
    ]
    assert result.dropped == {"bad_link": 2}
    first = result.candidates[0]
    assert first.title == "First & best" and first.source == "blog"
    assert first.snippet == "Hello world" and "script" not in first.snippet
    assert first.published_at == datetime(2026, 11, 16, 8, tzinfo=UTC)
    assert result.candidates[1].published_at == NOW  # future clamped
    assert result.candidates[2].published_at is None  # 1970 → first-seen time


def test_atom_links_resolve_against_xml_base():
    result = parse_feed(ATOM, "https://site.example.org/atom", "application/atom+xml", SRC, NOW)
    assert [c.url for c in result.candidates] == ["https://site.example.org/news/2026/llm.html"]
    assert result.candidates[0].title == "大模型发布"


def test_entity_declarations_are_refused_before_parsing():
    laughs = b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + b"x" * 80_000 + b'">]><rss><channel>' + (
        b"<item><title>&a;&a;&a;&a;</title><link>https://e.com/1</link></item>" * 50) + b"</channel></rss>"
    with pytest.raises(SourceError) as info:
        parse_feed(laughs, "https://e.com/feed", "application/xml", SRC, NOW)
    assert info.value.reason == "xml_entities"


def test_html_served_as_a_feed_is_not_a_feed():
    with pytest.raises(SourceError) as info:
        parse_feed(b"<html><body><p>Not a feed <b>at all</p></body></html>", "https://e.com/f", "text/html", SRC, NOW)
    assert info.value.reason == "not_a_feed"


def test_entry_cap_limits_huge_feeds():
    items = b"".join(b"<item><title>t%d</title><link>https://e.com/%d</link></item>" % (i, i) for i in range(500))
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>' + items + b"</channel></rss>"
    result = parse_feed(body, "https://e.com/feed", "application/rss+xml", SRC, NOW)
    assert len(result.candidates) == 50 and result.dropped["entry_cap"] == 450
