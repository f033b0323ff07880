"""GitHub releases and reader submissions (issues) on loopback: drafts, PRs, credits, rate limits."""

import pytest

from curator.errors import FetchError, SourceError
from curator.settings import SourceSettings
from curator.sources import build_source
from curator.sources.github import first_url
from tests.test_sources_support import discover, fixture

RELEASES = "/repos/astral-sh/uv/releases"
ISSUES = "/repos/curator-weekly/weekly/issues"


def gh(httpserver, kind, path, query=""):
    url = httpserver.url_for(path) + (f"?{query}" if query else "")
    return build_source(SourceSettings(name=f"gh-{kind}", kind=kind, url=url))


def test_releases_skip_drafts_and_name_the_repo(httpserver):
    httpserver.expect_request(RELEASES, headers={"Accept": "application/vnd.github+json"}).respond_with_data(
        fixture("github_releases.json"),
        content_type="application/json; charset=utf-8",
        headers={"ETag": 'W/"abc"', "X-RateLimit-Remaining": "59"},
    )
    result = discover(gh(httpserver, "github_releases", RELEASES))
    assert [(c.title, c.url) for c in result.candidates] == [
        ("astral-sh/uv 0.10.0", "https://github.com/astral-sh/uv/releases/tag/0.10.0"),
        ("astral-sh/uv 0.10.1-rc.1（预发布）", "https://github.com/astral-sh/uv/releases/tag/0.10.1-rc.1"),
        ("astral-sh/uv 0.9.30", "https://github.com/astral-sh/uv/releases/tag/0.9.30"),  # empty name → tag
    ]
    assert result.dropped == {"draft": 1}
    first = result.candidates[0]
    assert first.published_at.isoformat() == "2026-11-18T12:00:00+00:00"
    assert first.snippet.startswith("## Release Notes A **big** release")
    assert result.validators.etag == 'W/"abc"'


def test_submissions_credit_the_reader_and_skip_prs_and_rejections(httpserver):
    httpserver.expect_request(ISSUES, query_string="labels=submission&state=all").respond_with_data(
        fixture("github_issues.json"), content_type="application/json"
    )
    result = discover(gh(httpserver, "github_submissions", ISSUES, "labels=submission&state=all"))
    assert [(c.url, c.submitter, c.submitter_url) for c in result.candidates] == [
        (
            "https://github.com/lancedb/lancedb",
            "zhangsan",
            "https://github.com/curator-weekly/weekly/issues/42",
        ),
        (
            "https://hamel.dev/blog/posts/evals/",
            "alice",
            "https://github.com/curator-weekly/weekly/issues/43",
        ),
    ]
    assert result.candidates[0].title == "投稿：一个用 Rust 写的向量数据库"
    assert "很适合做 RAG" in result.candidates[0].snippet
    assert result.dropped == {"pull_request": 1, "no_link": 1, "rejected": 1}


def test_exhausted_rate_limit_is_a_fetch_error_not_a_crash(httpserver):
    httpserver.expect_request(RELEASES).respond_with_json(
        {"message": "API rate limit exceeded for 127.0.0.1."},
        status=403,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "9999999999"},
    )
    with pytest.raises(FetchError) as info:
        discover(gh(httpserver, "github_releases", RELEASES))
    assert info.value.reason == "rate_limited"


def test_not_modified_answers_carry_no_candidates(httpserver):
    from curator.models import Validators

    httpserver.expect_request(RELEASES, headers={"If-None-Match": 'W/"abc"'}).respond_with_data(
        "", status=304
    )
    result = discover(gh(httpserver, "github_releases", RELEASES), validators=Validators(etag='W/"abc"'))
    assert result.not_modified and not result.candidates


@pytest.mark.parametrize(
    "body", [{"message": "Not Found", "documentation_url": "https://docs.github.com"}, {"items": []}]
)
def test_wrong_shape_is_a_source_error(httpserver, body):
    httpserver.expect_request(ISSUES).respond_with_json(body)
    with pytest.raises(SourceError) as info:
        discover(gh(httpserver, "github_submissions", ISSUES))
    assert info.value.reason == "bad_shape"


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("see [this](https://a.example/x_(y) ok", "https://a.example/x_(y"),
        ("链接：https://b.example/文章。谢谢", "https://b.example/文章"),
        ("<https://c.example/p?q=1>, thanks", "https://c.example/p?q=1"),
        ("ftp://no.example/ and then http://d.example/.", "http://d.example/"),
        ("no links here", None),
    ],
)
def test_first_url_in_a_body(text, url):
    assert first_url(text) == url
