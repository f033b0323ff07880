"""YouTube channel uploads from the channel's Atom feed, with an optional transcript hook.

    [[sources]]
    name = "Two Minute Papers"
    kind = "youtube"
    url = "https://www.youtube.com/feeds/videos.xml?channel_id=UCbfYPyITQ-7l4upoX8nvctg"

Links are the short form https://youtu.be/<id> (see SHORT_LINK). The video description
(media:description) is the snippet. A `transcript_fetcher` — an async callable
`(video_id, fetcher) -> str` — may supply the transcript instead; transcripts are often blocked or
missing, so any failure there is soft: the video is still proposed with its description and counted
under `dropped["transcript_unavailable"]`. No transcript fetcher is configured by default.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from curator import feeds
from curator.errors import ExtractionError, SourceError
from curator.models import Candidate
from curator.settings import SourceSettings
from curator.sources.fields import entry_date, plain_text
from curator.sources.registry import BaseSource, SourceContext, SourceResult, register
from curator.sources.rss import FEED_ACCEPT
from curator.urls import absolutize

if TYPE_CHECKING:
    from curator.http import Fetcher

log = logging.getLogger(__name__)

TranscriptFetcher = Callable[[str, "Fetcher"], Awaitable[str]]
# One spelling per video for the candidate's URL; canonical_url folds it with watch?v=, shorts/ and live/.
SHORT_LINK = "https://youtu.be/{}"
_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{6,20}")
TRANSCRIPT_CHARS = 2000  # the store keeps 2000 characters of snippet


def parse_channel(
    body: bytes, final_url: str, source: SourceSettings, now: datetime
) -> tuple[list[tuple[str, Candidate]], int]:
    """(video id, candidate) pairs (no video id: an empty id) and how many entries had no usable link."""
    parsed = feeds.parse(body, final_url, sanitize_html=True)
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        raise SourceError("not a YouTube channel feed", reason="not_a_feed", url=final_url)
    videos = []
    bad_links = 0
    for entry in parsed.entries:
        video_id = str(entry.get("yt_videoid", "")).strip()
        if not _VIDEO_ID.fullmatch(video_id):
            video_id = ""
        link = absolutize(SHORT_LINK.format(video_id) if video_id else entry.get("link", ""), final_url)
        if link is None:
            bad_links += 1
            continue
        videos.append(
            (
                video_id,
                Candidate(
                    url=link,
                    title=plain_text(entry.get("title", ""), 300),
                    source=source.name,
                    published_at=entry_date(entry, now),
                    snippet=plain_text(entry.get("summary", "")),  # media:description
                ),
            )
        )
    return videos, bad_links


@register("youtube")
class YouTubeSource(BaseSource):
    kind: ClassVar[str] = "youtube"

    def __init__(
        self,
        config: SourceSettings,
        *,
        transcript_fetcher: TranscriptFetcher | None = None,
        transcript_timeout_s: float = 20.0,
    ) -> None:
        super().__init__(config)
        self.transcript_fetcher = transcript_fetcher
        self.transcript_timeout_s = transcript_timeout_s

    async def discover(self, ctx: SourceContext) -> SourceResult:
        resp = await ctx.fetcher.get(self.config.url, validators=ctx.validators, accept=FEED_ACCEPT)
        if resp.not_modified:
            return SourceResult(not_modified=True)
        try:  # in the parser pool: a hostile feed meets the worker's memory cap, not this process
            videos, bad_links = await ctx.cpu(parse_channel, resp.body, resp.final_url, self.config, ctx.now)
        except ExtractionError as exc:
            raise SourceError(f"the feed could not be parsed: {exc}", reason=exc.reason, url=resp.final_url) from None
        result = SourceResult(validators=resp.validators, cap=self.config.max_entries)
        if bad_links:
            result.drop("bad_link", bad_links)
        kept = [(vid, cand) for vid, cand in videos if result.add(cand)]  # transcripts only for the kept
        if self.transcript_fetcher is not None:
            transcripts = await asyncio.gather(*(self._transcript(vid, ctx.fetcher) for vid, _ in kept))
            for (_, cand), transcript in zip(kept, transcripts, strict=True):
                if transcript:
                    cand.snippet = plain_text(transcript, TRANSCRIPT_CHARS)
                else:
                    result.drop("transcript_unavailable")
        return result

    async def _transcript(self, video_id: str, fetcher: Fetcher) -> str:
        """The transcript text, or "" when it cannot be had for any reason (a soft failure)."""
        if not video_id or self.transcript_fetcher is None:
            return ""
        try:
            async with asyncio.timeout(self.transcript_timeout_s):
                text = await self.transcript_fetcher(video_id, fetcher)
        except Exception as exc:  # noqa: BLE001  (any transcript failure is soft, by design)
            log.info(
                "transcript unavailable for video %s: %s",
                video_id,
                getattr(exc, "reason", type(exc).__name__),
            )
            return ""
        return text if isinstance(text, str) else ""
