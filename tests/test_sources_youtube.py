"""YouTube channel feed source on loopback: videos as candidates, the transcript hook's soft failures."""

import asyncio

from curator.errors import FetchError
from curator.settings import SourceSettings
from curator.sources import build_source
from curator.sources.youtube import YouTubeSource
from curator.urls import canonical_url
from tests.test_sources_support import discover, fixture

PATH = "/feeds/videos.xml"
QUERY = "channel_id=UCbfYPyITQ-7l4upoX8nvctg"


def config(httpserver):
    return SourceSettings(name="Two Minute Papers", kind="youtube", url=f"{httpserver.url_for(PATH)}?{QUERY}")


def serve(httpserver):
    httpserver.expect_request(PATH, query_string=QUERY).respond_with_data(
        fixture("youtube_channel.xml"), content_type="application/atom+xml; charset=UTF-8"
    )


def test_videos_become_candidates_with_the_description_as_snippet(httpserver):
    serve(httpserver)
    result = discover(build_source(config(httpserver)))
    assert [(c.url, c.title) for c in result.candidates] == [
        ("https://youtu.be/AAAAAAAAAAA", "New AI Makes Videos From Text!"),
        ("https://youtu.be/BBBBBBBBBBB", "This Robot Learned To Cook"),
    ]
    # Two videos must stay two items once canonicalised (watch?v=… links would fold into one).
    assert len({canonical_url(c.url) for c in result.candidates}) == 2
    first = result.candidates[0]
    assert first.snippet.startswith("❤️ Check out the paper: https://arxiv.org/abs/2611.01234 We look at")
    assert "&amp;" not in first.snippet and "& its benchmarks" in first.snippet
    assert first.published_at.isoformat() == "2026-11-18T16:00:07+00:00"
    assert result.dropped == {}  # no transcript fetcher configured: nothing attempted, nothing counted


def test_transcripts_replace_the_description_and_failures_are_soft(httpserver):
    serve(httpserver)
    asked = []

    async def transcripts(video_id, fetcher):
        asked.append(video_id)
        if video_id == "BBBBBBBBBBB":
            # What a real fetcher meets: the transcript endpoint answers 403 / 404.
            raise FetchError("HTTP 403", reason="blocked", url="https://www.youtube.com/api/timedtext")
        return "Dear Fellow Scholars, this is Two Minute Papers. Today we look at text to video."

    result = discover(YouTubeSource(config(httpserver), transcript_fetcher=transcripts))
    assert sorted(asked) == ["AAAAAAAAAAA", "BBBBBBBBBBB"]
    assert [c.snippet for c in result.candidates] == [
        "Dear Fellow Scholars, this is Two Minute Papers. Today we look at text to video.",
        "A robot cooks.",
    ]
    assert result.dropped == {"transcript_unavailable": 1}


def test_a_hanging_or_broken_transcript_hook_never_fails_the_source(httpserver):
    serve(httpserver)

    async def broken(video_id, fetcher):
        if video_id == "AAAAAAAAAAA":
            await asyncio.sleep(30)
        raise RuntimeError("some third-party library blew up")

    source = YouTubeSource(config(httpserver), transcript_fetcher=broken, transcript_timeout_s=0.2)
    result = discover(source)
    assert len(result.candidates) == 2
    assert result.dropped == {"transcript_unavailable": 2}
    assert result.candidates[1].snippet == "A robot cooks."
