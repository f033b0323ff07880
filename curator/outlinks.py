"""Outbound links of an article: the originals it cites (a paper, a press release, a repository).

Clustering uses them as cross-language evidence: a Chinese and an English report that link the same
original are likely one story. Only links inside the article's text block count — navigation, share
bars and "related" lists are removed before (`extract.remove_boilerplate`) — and only links to other
sites: a site's links to itself name its own pages, not a source.
"""

from __future__ import annotations

from lxml.html import HtmlElement

from curator.urls import absolutize, canonical_url, domain

__all__ = ["MAX_LINKS", "cited_links"]

MAX_LINKS = 40  # an article citing more than this is a link list; its first links are enough


def _site(host: str) -> str:
    """The registrable part of a host, roughly ("blog.openai.com" → "openai.com")."""
    parts = host.split(".")
    # Two-letter country code under a generic second level: "news.example.com.cn" → "example.com.cn".
    keep = (
        3
        if len(parts) >= 3
        and len(parts[-1]) == 2
        and parts[-2] in {"com", "net", "org", "co", "ac", "gov", "edu"}
        else 2
    )
    return ".".join(parts[-keep:])


def cited_links(block: HtmlElement | None, page_url: str | None) -> list[str]:
    """Canonical URLs of the external links in `block` (the article's text block), in page order."""
    if block is None or not page_url:
        return []
    own = _site(domain(page_url))
    out: list[str] = []
    for a in block.iter("a"):
        url = absolutize(a.get("href") or "", page_url)
        if url is None:
            continue
        try:
            key = canonical_url(url)
        except ValueError:
            continue
        if _site(domain(key)) == own or key in out:
            continue
        out.append(key)
        if len(out) >= MAX_LINKS:
            break
    return out
