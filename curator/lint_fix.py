"""`curator lint --fix`: the mechanical findings mended in the draft's text (tracking parameters, http→https).

Only links are touched, and only their URLs: tracking parameters go with `curator.urls.clean_link` (the
same list the drafts strip), and an `http://` link becomes `https://` only when the https page answers
(fetched once, through the guarded `Fetcher`). Everything else stays the editor's to fix.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from curator.errors import FetchError
from curator.http import Fetcher
from curator.markdown import scan
from curator.settings import FetchSettings
from curator.urls import clean_link, domain, tracking_keys

FIXABLE = ("tracking_params", "non_https")


@dataclass
class Fixed:
    """The mended text and what was changed: (line, rule, old URL, new URL)."""

    text: str
    changes: list[tuple[int, str, str, str]] = field(default_factory=list)


def _without_tracking(url: str) -> str:
    fragment = urlsplit(url).fragment
    cleaned = clean_link(url)
    return cleaned + (f"#{fragment}" if fragment and "#" not in cleaned else "")


def _http_host_allowed(url: str, hosts: frozenset[str]) -> bool:
    try:
        return domain(url) in hosts
    except ValueError:
        return True  # a URL that does not parse is not ours to rewrite


def plan(text: str, *, rules: Iterable[str] = FIXABLE, allow_http_hosts: Iterable[str] = (),
         https_answers: Callable[[list[str]], set[str]] | None = None) -> Fixed:
    """The fixes for `text`. `https_answers(urls)` says which https:// URLs answer; None skips http→https."""
    wanted = set(rules)
    hosts = frozenset(h.lower().removeprefix("www.") for h in allow_http_hosts)
    edits: list[tuple[int, str, str, str]] = []
    for line in scan(text).text_lines():
        for link in line.links:
            url = link.url
            if not url.lower().startswith(("http://", "https://")):
                continue
            new = url
            if "tracking_params" in wanted and tracking_keys(url):
                new = _without_tracking(url)
                edits.append((line.no, "tracking_params", url, new))
            if "non_https" in wanted and new.lower().startswith("http://") and not _http_host_allowed(new, hosts):
                edits.append((line.no, "non_https", new, "https://" + new[len("http://"):]))
    if https_answers is not None:
        candidates = sorted({new for _, rule, _, new in edits if rule == "non_https"})
        live = https_answers(candidates) if candidates else set()
    else:
        live = set()
    edits = [e for e in edits if e[1] != "non_https" or e[3] in live]
    return Fixed(_apply(text, edits), edits)


def _apply(text: str, edits: list[tuple[int, str, str, str]]) -> str:
    lines = text.splitlines(keepends=True)
    for no, _, old, new in edits:
        # The URL as a whole: not a prefix of a longer one on the same line.
        pattern = re.compile(re.escape(old) + r"(?=[\s)>\]\"']|$)")
        lines[no - 1] = pattern.sub(new.replace("\\", "\\\\"), lines[no - 1])
    return "".join(lines)


def https_probe(settings: FetchSettings) -> Callable[[list[str]], set[str]]:
    """`https_answers` over the network: the https URLs that answered (any response, no FetchError)."""

    def answers(urls: list[str]) -> set[str]:
        return asyncio.run(_probe(urls, settings))

    return answers


async def _probe(urls: list[str], settings: FetchSettings) -> set[str]:
    quick = settings.model_copy(update={"max_bytes": 65_536, "deadline_s": min(settings.deadline_s, 15.0),
                                        "retries": 0})
    ok: set[str] = set()
    async with Fetcher(quick) as fetcher:

        async def one(url: str) -> None:
            try:
                resp = await fetcher.get(url)
            except FetchError:
                return
            if resp.final_url.lower().startswith("https://"):  # not bounced back to http
                ok.add(url)

        await asyncio.gather(*(one(u) for u in urls))
    return ok
