"""Outlets: who published an item, for the per-domain cap (`drafts.max_per_domain`).

On a platform the domain is not the publisher: three videos of three channels all live on
youtube.com, three repositories of three owners on github.com. An outlet is the domain plus, on
a platform, the channel or account the item itself names: a path segment (github.com/<owner>,
x.com/<user>, space.bilibili.com/<uid>), a query key (WeChat's `__biz` account id), else the
author the page declared or the source (feed) it came from, which on a platform is one channel.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from curator.models import Item
from curator.urls import domain

__all__ = ["PLATFORMS", "outlet", "url_outlet"]

# domain → how the channel shows in the URL: ("path", n) the n-th path segment, ("query", key),
# or ("meta", "") when only the page/source knows it (a watch URL does not name its channel).
PLATFORMS: dict[str, tuple[str, str | int]] = {
    "github.com": ("path", 0),
    "gitlab.com": ("path", 0),
    "huggingface.co": ("path", 0),
    "x.com": ("path", 0),
    "twitter.com": ("path", 0),
    "medium.com": ("path", 0),
    "space.bilibili.com": ("path", 0),
    "mp.weixin.qq.com": ("query", "__biz"),
    "youtube.com": ("meta", ""),
    "youtu.be": ("meta", ""),
    "bilibili.com": ("meta", ""),
    "zhihu.com": ("meta", ""),
    "weibo.com": ("meta", ""),
}
# Path segments that are a platform's own pages, not an account.
_NOT_ACCOUNTS = frozenset(("search", "explore", "topics", "trending", "i", "home", "hashtag", "s", "watch"))
_YOUTUBE_HANDLE = re.compile(r"^/(?:@[^/]+|c/[^/]+|channel/[^/]+|user/[^/]+)")


def _platform(dom: str) -> tuple[str, tuple[str, str | int]] | None:
    for host, rule in PLATFORMS.items():
        if dom == host or dom.endswith("." + host):
            return host, rule
    return None


def _meta(item: Item) -> str:
    """The channel as the item knows it: the page's author, else the source it came through."""
    author = (item.article.author if item.article else None) or ""
    if author.strip():
        return author.strip().casefold()
    return item.sources[0].source if item.sources else ""


def url_outlet(url: str) -> tuple[str, bool]:
    """The outlet as far as the URL alone shows it, and whether the page or source must name the
    channel (a platform whose URLs do not: a YouTube watch page)."""
    dom = domain(url)
    found = _platform(dom)
    if found is None:
        return dom, False
    host, (kind, arg) = found
    parts = urlsplit(url)
    channel = ""
    if kind == "path":
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) > int(arg) and segments[int(arg)].lower() not in _NOT_ACCOUNTS:
            channel = segments[int(arg)].lower()
    elif kind == "query":
        channel = (parse_qs(parts.query).get(str(arg)) or [""])[0]
    if not channel and host == "youtube.com" and (m := _YOUTUBE_HANDLE.match(parts.path)):
        channel = m.group(0).lower()
    return (f"{host}/{channel}", False) if channel else (host, True)


def outlet(item: Item) -> str:
    """`domain` off platforms; `domain/channel` on them (the domain alone when nothing names one)."""
    found, needs_meta = url_outlet(item.url)
    if not needs_meta:
        return found
    channel = _meta(item)
    return f"{found}/{channel}" if channel else found
