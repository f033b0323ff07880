"""`curator lint --check-links`: fetch every web link of a draft once and report the broken ones."""

from __future__ import annotations

import asyncio

from curator.errors import FetchError
from curator.findings import Finding
from curator.http import Fetcher
from curator.markdown import scan
from curator.settings import FetchSettings
from curator.urls import is_web_url

REACHABLE = {"too_large", "bad_encoding", "binary_body", "decode_error"}  # the server answered


def check_links(text: str, settings: FetchSettings) -> list[Finding]:
    """One `broken_link` finding per line and dead URL (HTTP errors, DNS, timeouts, blocked addresses)."""
    where: dict[str, list[int]] = {}
    for line in scan(text).text_lines():
        for link in line.links:
            if not link.image and is_web_url(link.url):
                where.setdefault(link.url, []).append(line.no)
    return asyncio.run(_check(where, settings)) if where else []


async def _check(where: dict[str, list[int]], settings: FetchSettings) -> list[Finding]:
    quick = settings.model_copy(update={"max_bytes": 65_536, "deadline_s": min(settings.deadline_s, 15.0),
                                        "retries": 0})
    findings: list[Finding] = []
    async with Fetcher(quick) as fetcher:

        async def one(url: str) -> None:
            try:
                await fetcher.get(url)
            except FetchError as exc:
                if exc.reason not in REACHABLE:
                    findings.extend(Finding(no, "broken_link", f"链接打不开（{exc.reason}）：{url}") for no in where[url])

        await asyncio.gather(*(one(u) for u in where))
    return sorted(findings, key=lambda f: (f.line, f.message))
