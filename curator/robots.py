"""robots.txt for article fetches: fetched once per host per run with curator's own client, parsed by protego.

A missing robots.txt (4xx) allows everything. An unreachable one (5xx, timeout) also allows, and is
counted, so a flaky server cannot silently empty a week's issue; a readable one is obeyed.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from protego import Protego

from curator.errors import FetchError
from curator.http import Fetcher

log = logging.getLogger(__name__)
MAX_ROBOTS_BYTES = 500_000


class RobotsCache:
    def __init__(self, fetcher: Fetcher, user_agent: str) -> None:
        self.fetcher = fetcher
        self.agent = user_agent.split("/")[0]  # the product token: "curator"
        self._rules: dict[str, Protego | None] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.unavailable = 0

    async def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            if origin not in self._rules:
                self._rules[origin] = await self._load(origin)
        rules = self._rules[origin]
        return rules is None or rules.can_fetch(url, self.agent)

    async def _load(self, origin: str) -> Protego | None:
        text = await self._text(origin)
        return None if text is None else Protego.parse(text)

    async def _text(self, origin: str) -> str | None:
        """The origin's robots.txt, or None when there are no rules to obey (missing or unreachable)."""
        try:
            resp = await self.fetcher.get(f"{origin}/robots.txt", accept="text/plain")
        except FetchError as exc:
            if exc.reason.startswith("http_4") or exc.reason == "blocked":
                return None  # no robots.txt: everything is allowed
            self.unavailable += 1
            log.info("robots.txt of %s unavailable (%s); fetching its articles anyway", origin, exc.reason)
            return None
        return resp.body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
