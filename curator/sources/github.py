"""GitHub REST API sources: a repository's releases, and reader submissions filed as issues.

    [[sources]]
    name = "Rust releases"
    kind = "github_releases"
    url = "https://api.github.com/repos/rust-lang/rust/releases"

    [[sources]]
    name = "读者投稿"
    kind = "github_submissions"
    url = "https://api.github.com/repos/OWNER/REPO/issues?labels=submission&state=all"

A submission is an issue whose body carries the link (the first http(s) URL in it); the draft credits
the reader with "（[@login](issue-url) 投稿）". Pull requests (the issues API lists them too) and issues
closed as "not planned" (rejected submissions) are left out. An exhausted rate limit surfaces as
FetchError(rate_limited) from the Fetcher, recorded on the source's health like any failure.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from curator.errors import SourceError
from curator.models import Candidate
from curator.settings import SourceSettings
from curator.sources.fields import iso_date, load_json, plain_text, text_field
from curator.sources.registry import BaseSource, SourceContext, SourceResult, register
from curator.urls import absolutize, is_web_url

log = logging.getLogger(__name__)

GITHUB_ACCEPT = "application/vnd.github+json"
_REPO_PATH = re.compile(r"/repos/([^/]+)/([^/]+)/")
# Stops at whitespace, quotes, angle brackets, the closing bracket of a Markdown link and CJK punctuation
# (Chinese text runs straight on after a URL: "链接：https://a.example/文章。谢谢").
_URL = re.compile(r"https?://[^\s<>\"'`)\]。，；：！？、）」』【】《》“”‘’]+", re.IGNORECASE)
_TRAILING = ".,;:!?"


def first_url(text: str) -> str | None:
    """The first http(s) URL in a Markdown/plain body, trailing punctuation removed."""
    for m in _URL.finditer(text or ""):
        url = m.group(0).rstrip(_TRAILING)
        if is_web_url(url):
            return url
    return None


def _items(body: bytes, url: str) -> list[Any]:
    data = load_json(body, url)
    if isinstance(data, dict) and "message" in data:  # GitHub's error object on a 200 is still an error
        raise SourceError(f"GitHub answered: {str(data['message'])[:200]}", reason="bad_shape", url=url)
    if not isinstance(data, list):
        raise SourceError("expected a JSON list from the GitHub API", reason="bad_shape", url=url)
    return data


def repo_name(api_url: str) -> str:
    m = _REPO_PATH.search(urlsplit(api_url).path + "/")
    return f"{m.group(1)}/{m.group(2)}" if m else ""


def parse_releases(body: bytes, final_url: str, source: SourceSettings, now: datetime) -> SourceResult:
    repo = repo_name(source.url)
    result = SourceResult(cap=source.max_entries)
    for rel in _items(body, final_url):
        if not isinstance(rel, dict):
            result.drop("bad_shape")
            continue
        if rel.get("draft"):
            result.drop("draft")
            continue
        link = absolutize(text_field(rel, "html_url"), final_url)
        if link is None:
            result.drop("bad_link")
            continue
        name = text_field(rel, "name").strip() or text_field(rel, "tag_name").strip()
        short = repo.split("/")[-1].lower()
        title = name if (not repo or short in name.lower()) else f"{repo} {name}"
        if rel.get("prerelease"):
            title += "（预发布）"
        result.add(
            Candidate(
                url=link,
                title=plain_text(title, 300),
                source=source.name,
                published_at=iso_date(rel.get("published_at") or rel.get("created_at"), now),
                snippet=plain_text(text_field(rel, "body")),
            )
        )
    return result


def parse_submissions(body: bytes, final_url: str, source: SourceSettings, now: datetime) -> SourceResult:
    result = SourceResult(cap=source.max_entries)
    for issue in _items(body, final_url):
        if not isinstance(issue, dict):
            result.drop("bad_shape")
            continue
        if "pull_request" in issue:
            result.drop("pull_request")
            continue
        if issue.get("state_reason") == "not_planned":
            result.drop("rejected")
            continue
        issue_url = absolutize(text_field(issue, "html_url"), final_url)
        text = text_field(issue, "body")
        link = first_url(text)
        if link is None or issue_url is None:
            result.drop("no_link")
            continue
        user = issue.get("user")
        login = text_field(user, "login") if isinstance(user, dict) else ""
        result.add(
            Candidate(
                url=link,
                title=plain_text(text_field(issue, "title"), 300),
                source=source.name,
                published_at=iso_date(issue.get("created_at"), now),
                snippet=plain_text(text.replace(link, " ")),
                submitter=login or None,
                submitter_url=issue_url,
            )
        )
    return result


class _GitHubSource(BaseSource):

    async def discover(self, ctx: SourceContext) -> SourceResult:
        # Conditional requests answered 304 do not count against GitHub's rate limit.
        resp = await ctx.fetcher.get(self.config.url, validators=ctx.validators, accept=GITHUB_ACCEPT)
        if resp.not_modified:
            return SourceResult(not_modified=True)
        # Parsed in the bounded worker pool: a huge or deeply nested JSON answer costs a worker, not the run.
        result = await ctx.cpu(self.parser, resp.body, resp.final_url, self.config, ctx.now)
        result.validators = resp.validators
        remaining = resp.headers.get("x-ratelimit-remaining")
        log.debug(
            "github %s: %d candidates, rate limit remaining %s",
            self.config.name,
            len(result.candidates),
            remaining,
        )
        return result

    @staticmethod
    def parser(body: bytes, final_url: str, source: SourceSettings, now: datetime) -> SourceResult:
        """A module-level function (picklable, so the worker pool can run it); set by each kind."""
        raise NotImplementedError


@register("github_releases")
class GitHubReleasesSource(_GitHubSource):
    kind: ClassVar[str] = "github_releases"

    parser = staticmethod(parse_releases)


@register("github_submissions")
class GitHubSubmissionsSource(_GitHubSource):
    kind: ClassVar[str] = "github_submissions"

    parser = staticmethod(parse_submissions)
