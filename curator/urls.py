"""Canonical URLs: one key per page, applied before anything is stored.

courlan (strict) lower-cases the host, drops default ports, fragments and the tracking parameters it
knows; on top of that we fold what it leaves apart: http/https, trailing slashes, `www.`/mobile hosts,
AMP variants, and further tracking parameters common on Chinese sites (`spm`, `from`, `share_token` …).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import courlan

_TRACKING = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|yclid|spm|scm|from|source|ref|ref_src|"
    r"share_token|share_source|share_medium|sharer_shareid|sharer_sharetime|wxshare_count|chksm|"
    r"mpshare|scene|srcid|vd_source|_hsenc|_hsmi|__twitter_impression|s_channel|ncid|cmpid|ito)$",
    re.IGNORECASE,
)
TRACKING_PARAMS = _TRACKING
_MOBILE_HOST = re.compile(r"^(www|m|mobile|amp|wap)\.", re.IGNORECASE)
_AMP_PATH = re.compile(r"(/amp)(?=/|$)|(\.amp)(?=\.html?$|$)", re.IGNORECASE)
_INDEX = re.compile(r"/index\.(html?|php|aspx?)$", re.IGNORECASE)
# courlan's strict mode keeps only a short list of query keys and drops YouTube's `v`: read the id first.
_YOUTUBE_HOST = re.compile(r"^(?:(?:www|m|music)\.)?youtube\.com$|^youtu\.be$", re.IGNORECASE)
_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{6,20}$")

WEB_SCHEMES = ("http", "https")


def is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.hostname)


def absolutize(link: str, base: str) -> str | None:
    """Resolve a (relative, protocol-relative) link against a base URL; None unless http(s)."""
    if not link:
        return None
    try:
        url = urljoin(base, link.strip())
    except ValueError:
        return None
    return url if is_web_url(url) else None


def _entry_fragment(url: str) -> str:
    """The fragment naming an entry on a page (`#llm-evals`); text fragments (`#:~:text=`) are not one."""
    fragment = urlsplit(url).fragment
    return "" if fragment.startswith(":~:") else fragment


def _youtube_video(url: str) -> str | None:
    """The video id of youtube.com/watch?v=ID, youtu.be/ID or youtube.com/shorts/ID, else None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not _YOUTUBE_HOST.match(host):
        return None
    if host == "youtu.be":
        video = parts.path.strip("/")
    elif parts.path.rstrip("/") == "/watch":
        video = dict(parse_qsl(parts.query)).get("v", "")
    elif parts.path.startswith(("/shorts/", "/live/")):
        video = parts.path.split("/")[2]
    else:
        return None
    return video if _VIDEO_ID.match(video) else None


def canonical_url(url: str, *, keep_fragment: bool = False) -> str:
    """The storage key of a page. Raises ValueError for non-web URLs.

    `keep_fragment` is for sources whose entries are anchors on one page (kind "watch"): there the
    fragment is what tells two items apart."""
    raw = url.strip()
    if not is_web_url(raw):
        raise ValueError(f"not an http(s) URL: {redact(raw)}")
    if video := _youtube_video(raw):
        return f"https://youtube.com/watch?v={video}"
    fragment = _entry_fragment(raw) if keep_fragment else ""
    norm = courlan.normalize_url(raw, strict=True) or raw
    parts = urlsplit(norm)
    host = (parts.hostname or "").lower()
    # Keep a non-mobile host's own prefix when stripping would leave a bare TLD (e.g. "m.cn").
    stripped = _MOBILE_HOST.sub("", host)
    if "." in stripped:
        host = stripped
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    path = _AMP_PATH.sub("", parts.path) or "/"
    path = _INDEX.sub("/", path)
    if len(path) > 1:
        path = path.rstrip("/")
    query = urlencode(
        sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k))
    )
    return urlunsplit(("https", host, path, query, fragment))


def domain(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return _MOBILE_HOST.sub("", host)


def redact(url: str) -> str:
    """A URL safe to log: no credentials, no query string (keys can carry tokens)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "…" if parts.query else "", ""))


def clean_link(url: str, *, keep_fragment: bool = False) -> str:
    """The URL to print in a draft: tracking parameters and fragment removed (kept for an entry anchor)."""
    parts = urlsplit(url.strip())
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    fragment = _entry_fragment(url.strip()) if keep_fragment else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, fragment))
