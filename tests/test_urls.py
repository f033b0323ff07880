import pytest

from curator.urls import absolutize, canonical_url, clean_link, redact


@pytest.mark.parametrize(
    "variant",
    [
        "https://news.example.com/2026/11/gpu-shortage",
        "http://news.example.com/2026/11/gpu-shortage",
        "https://news.example.com/2026/11/gpu-shortage/",
        "https://news.example.com/2026/11/gpu-shortage?utm_source=rss&utm_medium=feed",
        "https://NEWS.example.com:443/2026/11/gpu-shortage#comments",
        "https://m.news.example.com/2026/11/gpu-shortage?spm=a2c4g.11186623&fbclid=xyz",
        "https://news.example.com/amp/2026/11/gpu-shortage",
        "https://www.news.example.com/2026/11/gpu-shortage/index.html",
    ],
)
def test_variants_of_one_page_share_one_canonical_url(variant):
    assert canonical_url(variant) == "https://news.example.com/2026/11/gpu-shortage"


def test_meaningful_query_parameters_are_kept_and_sorted():
    assert canonical_url("https://ex.com/item?id=42&page=2&utm_campaign=x") == "https://ex.com/item?id=42&page=2"
    assert canonical_url("https://ex.com/item?page=2&id=42") == canonical_url("https://ex.com/item?id=42&page=2")


def test_distinct_pages_stay_distinct():
    assert canonical_url("https://ex.com/a") != canonical_url("https://ex.com/b")
    assert canonical_url("https://ex.com/item?id=1") != canonical_url("https://ex.com/item?id=2")


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,hi", "ftp://x.com/a", ""])
def test_non_web_urls_are_refused(bad):
    with pytest.raises(ValueError):
        canonical_url(bad)
    assert absolutize(bad, "https://ex.com/feed") is None


def test_relative_and_protocol_relative_links_resolve_against_the_final_url():
    assert absolutize("/posts/1", "https://blog.ex.com/feed.xml") == "https://blog.ex.com/posts/1"
    assert absolutize("//cdn.ex.com/a", "https://blog.ex.com/feed.xml") == "https://cdn.ex.com/a"


def test_clean_link_drops_tracking_but_keeps_scheme():
    assert clean_link("http://ex.com/a?utm_source=x&id=3#top") == "http://ex.com/a?id=3"


def test_redact_hides_credentials_and_query():
    shown = redact("https://user:hunter2@ex.com/path?token=abc")
    assert "hunter2" not in shown and "abc" not in shown and "ex.com/path" in shown
