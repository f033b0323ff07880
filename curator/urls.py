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


def canonical_url(url: str) -> str:
    """The storage key of a page. Raises ValueError for non-web URLs."""
    raw = url.strip()
    if not is_web_url(raw):
        raise ValueError(f"not an http(s) URL: {redact(raw)}")
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
    return urlunsplit(("https", host, path, query, ""))


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


def clean_link(url: str) -> str:
    """The URL to print in a draft: tracking parameters and fragment removed, scheme and host kept."""
    parts = urlsplit(url.strip())
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
