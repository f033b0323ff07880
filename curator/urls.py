"""Canonical URLs: one key per page, applied before anything is stored.

courlan (strict) lower-cases the host, drops default ports, fragments and the tracking parameters it
knows; on top of that we fold what it leaves apart: http/https, trailing slashes, `www.`/mobile hosts,
AMP variants, and further tracking parameters common on Chinese sites (`spm`, `from`, `share_token` …).
"""

from __future__ import annotations

import logging
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


_PERCENT_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def check_user_url(url: str) -> str:
    """A URL typed or submitted by a person (`curator add`, `curator sources add`, the board's add box),
    checked before anything is stored. Returns it without surrounding blanks; raises ValueError saying what is
    wrong (never echoing credentials or the query string)."""
    raw = url.strip()
    try:
        shown = redact(raw)  # no credentials, no query string
    except ValueError:  # a port out of range
        shown = "<unparsable url>"
    if not raw:
        raise ValueError("the URL is empty")
    bad = next((ch for ch in raw if ord(ch) < 0x20 or ord(ch) == 0x7F or ch.isspace()), None)
    if bad is not None:
        what = "a space" if bad == " " else f"a control or blank character (U+{ord(bad):04X})"
        raise ValueError(f"the URL contains {what}; percent-encode it (%20 for a space) or remove it")
    if "\\" in raw:
        raise ValueError("the URL contains a backslash; URLs use forward slashes")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"the URL cannot be parsed ({exc}): {shown}") from None
    if parts.scheme.lower() not in WEB_SCHEMES:
        raise ValueError(f"only http:// and https:// URLs can be added, got {parts.scheme or 'no scheme'!r}")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError("the URL carries a user name or password (user:pass@host); remove them — "
                         "curator never sends credentials in URLs")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError(f"the URL has no host: {shown}")
    if "%" in host:
        raise ValueError(f"the host {host!r} contains a percent-escape; give the site's real name")
    if ":" not in host:  # a name or an IPv4 literal (IPv6 literals were unbracketed by urlsplit)
        try:
            ascii_host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise ValueError(f"the host {host!r} is not a valid domain name") from None
        if not all(_HOST_LABEL.match(label) for label in ascii_host.split(".")):
            raise ValueError(f"the host {host!r} is not a valid domain name")
    if port == 0:
        raise ValueError("the URL's port must be between 1 and 65535")
    if _PERCENT_ESCAPE.search(raw):
        raise ValueError(f"the URL has a malformed percent-escape (a % not followed by two hex digits): {shown}")
    return raw


_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>()\[\]]+")


def redact_text(text: str) -> str:
    """Every URL in a piece of text (a log line) as `redact` shows it: no user:pass@, no query values."""
    return _URL_IN_TEXT.sub(lambda m: redact(m.group(0)), text)


class RedactingFilter(logging.Filter):
    """For the CLI's log handler: whatever a module (ours or a library's) logs, URLs lose their credentials and
    query strings before the line is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "://" in message:
            record.msg, record.args = redact_text(message), None
        return True
