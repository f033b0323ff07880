"""Canonical URLs: one key per document, applied before anything is stored.

The key is an item's identity, so it must never merge two documents. Safe by default: only the known
tracking keys of `TRACKING_KEYS` are removed and every other query key is kept, sorted. What a platform
adds on top (WeChat names an article by `__biz`/`mid`/`idx`/`sn`, arXiv's abs/pdf/vN are one paper …)
is data in `RULES`, not code. Beyond that we fold what is one page everywhere: http/https, default
ports, `www.`/mobile/AMP hosts, AMP paths, `index.html`, trailing slashes, percent-encoding case.

`KEY_VERSION` names the rules a store's keys were made with; the store re-keys itself when it changes.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

# Bump when canonical_url() gives a different key for some URL: stores re-key themselves on open.
# 1: courlan strict mode (dropped unknown query keys); 2: tracking list + host rules.
KEY_VERSION = 2

# Query keys that only say how a reader arrived, never which document. `*` ends a prefix.
TRACKING_KEYS: tuple[str, ...] = (
    # campaign tags: Google Analytics, Matomo/Piwik, Adobe, Mailchimp, HubSpot, Marketo, InfoQ's itm_
    "utm_*", "itm_*", "pk_*", "mtm_*", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "hsctatracking", "mkt_tok",
    "xtor", "cmpid", "ncid", "s_channel", "ito", "_ga", "_gl",
    # ad-click ids
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid", "igshid", "igsh",
    "srsltid", "__twitter_impression",
    # share and position tags of Chinese platforms (Alibaba spm/scm, WeChat, bilibili, Toutiao …)
    "spm", "spm_id_from", "scm", "from", "isappinstalled", "scene", "share_*", "sharer_*", "chksm", "mpshare",
    "srcid", "wxshare_count", "vd_source",
    # referrers, and the AMP view flag of WordPress-style sites
    "ref", "ref_src", "ref_url", "source", "amp",
)


def _key_pattern(keys: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = (re.escape(k[:-1]) + ".*" if k.endswith("*") else re.escape(k) for k in keys)
    return re.compile(r"^(?:" + "|".join(alternatives) + r")$", re.IGNORECASE)


_TRACKING_RE = _key_pattern(TRACKING_KEYS)


@dataclass(frozen=True)
class HostRule:
    """How one kind of page on a host names its document. The first rule that matches a URL applies."""

    hosts: tuple[str, ...]  # host names, subdomains included (matched after the www./m. fold)
    path: str = ".*"  # regex the whole path must match (percent-encoding and trailing slash normalised)
    needs: tuple[str, ...] = ()  # query keys that must all be present for the rule to apply
    keep: tuple[str, ...] | None = None  # identity keys: only these survive; None = all but the noise
    defaults: tuple[tuple[str, str], ...] = ()  # identity values that mean "absent" (bilibili's p=1)
    noise: tuple[str, ...] = ()  # keys (`*` = prefix) that never name a document here, besides tracking
    rewrite: tuple[str, str] = ("", "")  # (regex on "host/path", replacement): the one spelling of it
    fold_case: int = 0  # leading path segments that are case-insensitive (GitHub's owner/repo)
    web_paths: bool = True  # AMP paths and index.html are variants of a page (not on a code host)
    fragment: bool = True  # a fragment may name an entry (watch pages); WeChat's `#rd` never does
    unwrap: bool = False  # the rewrite yields the URL of the page this one only wraps (AMP caches)
    ids: str = ""  # a name in ID_SPELLINGS: the path's last segment is an id with two spellings
    # Compiled from the fields above on first use: a command that canonicalises no URL (status, lint)
    # does not compile the ~40 rules' patterns (~3 ms) at import.
    @functools.cached_property
    def path_re(self) -> re.Pattern[str]:
        return re.compile(self.path)

    @functools.cached_property
    def noise_re(self) -> re.Pattern[str] | None:
        return _key_pattern(self.noise) if self.noise else None

    @functools.cached_property
    def rewrite_re(self) -> re.Pattern[str] | None:
        return re.compile(self.rewrite[0]) if self.rewrite[0] else None

    def applies(self, host: str, path: str, keys: set[str]) -> bool:
        return (any(host == h or host.endswith("." + h) for h in self.hosts)
                and self.path_re.fullmatch(path) is not None and all(k in keys for k in self.needs))

    def is_noise(self, key: str) -> bool:
        return bool(_TRACKING_RE.match(key) or (self.noise_re and self.noise_re.match(key)))


_WECHAT_NOISE = ("ascene", "devicetype", "version", "nettype", "abtest_cookie", "lang", "exportkey", "pass_ticket",
                 "wx_header", "uin", "key", "clicktime", "enterid", "subscene", "sessionid", "realreporttime",
                 "countrycode", "fontgear", "platform", "session_us", "poc_token")
_BILIBILI_NOISE = ("spm_id_from", "from_spmid", "vd_source", "unique_k", "bbid", "buvid", "is_story_h5", "up_id",
                   "plat_id", "seid")
_TOUTIAO_NOISE = ("log_from", "wid", "tt_from", "app", "timestamp", "use_new_style", "upstream_biz", "req_id",
                  "iid", "category_new", "enter_from")
_CSDN_NOISE = ("ops_request_misc", "request_id", "biz_id", "depth_1-*", "locationnum", "fps")
_SUBSTACK_NOISE = ("r", "s", "triedredirect", "showwelcome", "publication_id", "post_id", "isfreemail")
_BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _weibo_mid(post: str) -> str:
    """Weibo's numeric post id from its base62 `bid` (groups of 4 characters from the right, 7 digits each)."""
    if post.isdigit() or any(c not in _BASE62 for c in post):
        return post
    digits = []
    while post:
        post, group = post[:-4], post[-4:]
        number = 0
        for c in group:
            number = number * 62 + _BASE62.index(c)
        digits.append(str(number).zfill(7) if post else str(number))
    return "".join(reversed(digits))


# Ids a platform writes two ways, by the name a rule's `ids` gives.
ID_SPELLINGS: dict[str, Callable[[str], str]] = {"weibo_mid": _weibo_mid}
_YOUTUBE_NOISE = ("feature", "si", "pp", "ab_channel")
_VIDEO_ID = r"[A-Za-z0-9_-]{6,20}"

RULES: tuple[HostRule, ...] = (
    # WeChat: a long link names an article by account, message, position and signature; the short
    # /s/<id> form by its path. Anything else in the query is the reader's client and session.
    HostRule(("mp.weixin.qq.com",), path="/s", needs=("__biz", "mid"), keep=("__biz", "mid", "idx", "sn"),
             fragment=False),
    HostRule(("mp.weixin.qq.com",), path=r"/s/[\w-]+", keep=(), fragment=False),
    HostRule(("mp.weixin.qq.com",), noise=_WECHAT_NOISE, fragment=False),
    # YouTube: a video is its id, whichever player or host shows it.
    HostRule(("youtu.be",), path=f"/{_VIDEO_ID}", keep=("v",), noise=_YOUTUBE_NOISE,
             rewrite=(r"youtu\.be/(.+)", r"youtube.com/watch?v=\1")),
    HostRule(("youtube.com", "youtube-nocookie.com"), path=f"/(?:shorts|live|embed|v)/{_VIDEO_ID}", keep=("v",),
             noise=_YOUTUBE_NOISE,
             rewrite=(r"[\w.-]+/\w+/(.+)", r"youtube.com/watch?v=\1")),
    HostRule(("youtube.com",), path="/watch", needs=("v",), keep=("v",), noise=_YOUTUBE_NOISE,
             rewrite=(r"[\w.-]+/watch", "youtube.com/watch")),
    HostRule(("youtube.com",), noise=_YOUTUBE_NOISE),
    # bilibili: a video is its BV/av id and the part `p`; b23.tv short links are redirectors, left as they are.
    HostRule(("bilibili.com",), path=r"/video/(?:BV[0-9A-Za-z]{10}|av\d+)", keep=("p",), defaults=(("p", "1"),),
             noise=(*_BILIBILI_NOISE, "mid", "ts", "timestamp")),  # on a video: the sharer and the share time
    HostRule(("bilibili.com",), noise=_BILIBILI_NOISE),
    # Zhihu: answers, articles, pins are numbered; an answer is the same under its question or alone.
    HostRule(("zhihu.com",), path=r"/question/\d+/answer/\d+", keep=(),
             rewrite=(r"[\w.]*zhihu\.com/question/\d+/answer/(\d+)", r"zhihu.com/answer/\1")),
    HostRule(("zhihu.com",), path=r"/(?:p|question|answer|pin|zvideo)/\d+", keep=()),
    # Weibo: a post by its number, whether spelled as the mid (digits) or the base62 bid, on the mobile
    # status/detail pages or as weibo.com/<uid>/<bid>; long articles by `id`.
    HostRule(("weibo.cn",), path=r"/(?:status|detail)/\w+", keep=(), ids="weibo_mid",
             rewrite=(r"weibo\.cn/\w+/(\w+)", r"weibo.cn/status/\1")),
    HostRule(("weibo.com",), path="/ttarticle/p/show", needs=("id",), keep=("id",)),
    HostRule(("weibo.com",), path=r"/\d+/(?=[0-9a-z]*[A-Z0-9])[0-9A-Za-z]{8,9}", keep=(), ids="weibo_mid",
             rewrite=(r"weibo\.com/\d+/(\w+)", r"weibo.cn/status/\1")),
    HostRule(("weibo.com",), path=r"/\d+/\w+", keep=()),
    HostRule(("weibo.com", "weibo.cn"), noise=("refer_flag", "luicode", "lfid", "sudaref", "display", "retcode",
                                                "wm", "jumpfrom")),
    # Toutiao: one article id under /a…, /i…, /group/…, /article/….
    HostRule(("toutiao.com",), path=r"/(?:a|i|group/|article/)\d{6,}", keep=(), noise=_TOUTIAO_NOISE,
             rewrite=(r"[\w.]*toutiao\.com/(?:a|i|group/|article/)(\d+)", r"toutiao.com/article/\1")),
    HostRule(("toutiao.com",), noise=_TOUTIAO_NOISE),
    # CSDN: user.blog.csdn.net/article/details/N is blog.csdn.net/user/article/details/N.
    HostRule(("csdn.net",), path=r"/article/details/\d+", keep=(), noise=_CSDN_NOISE,
             rewrite=(r"([\w-]+)\.blog\.csdn\.net/article/details/(\d+)", r"blog.csdn.net/\1/article/details/\2")),
    HostRule(("csdn.net",), path=r"/[\w-]+/article/details/\d+", keep=(), noise=_CSDN_NOISE),
    HostRule(("csdn.net",), noise=_CSDN_NOISE),
    # Article pages whose path alone names the document; their queries are search and feed tags.
    HostRule(("36kr.com",), path=r"/(?:p|newsflashes)/\d+", keep=()),
    HostRule(("sspai.com",), path=r"/(?:post|prime/story)/\d+", keep=()),
    HostRule(("juejin.cn", "juejin.im"), path=r"/post/\w+", keep=(), rewrite=(r"juejin\.im/(.+)", r"juejin.cn/\1")),
    HostRule(("juejin.cn",), noise=("searchid",)),
    HostRule(("infoq.cn",), path=r"/(?:article|news)/[\w-]+", keep=()),
    HostRule(("infoq.com",), path=r"(?:/[a-z]{2})?/(?:news|articles|presentations|podcasts|minibooks)/.+", keep=()),
    # GitHub: owner and repo are case-insensitive; `?tab=readme-ov-file` and `.git` name the same repo;
    # file paths are case-sensitive and `/amp`, `index.html` are real files there.
    HostRule(("github.com",), path=r"/[\w.-]+/[\w.-]+", noise=("tab",), fold_case=2, web_paths=False,
             rewrite=(r"github\.com/([\w.-]+)/([\w.-]+?)\.git", r"github.com/\1/\2")),
    HostRule(("github.com",), fold_case=2, web_paths=False),
    # Hacker News: a story is its item id; `p` pages its comments.
    HostRule(("news.ycombinator.com",), path="/item", needs=("id",), keep=("id",)),
    # arXiv: abs, pdf, html and every version vN are one paper.
    HostRule(("arxiv.org",), path=r"/(?:abs|pdf|html)/.+", keep=(), web_paths=False,
             rewrite=(r"[\w.]*arxiv\.org/(?:abs|pdf|html)/(.+?)(?:v\d+)?(?:\.pdf)?", r"arxiv.org/abs/\1")),
    # Medium: a post is its 12-hex id, under any author, publication or subdomain.
    HostRule(("medium.com",), path=r"(?:/.*)?/(?:[^/]*-)?[0-9a-f]{12}", keep=(),
             rewrite=(r"[\w.-]*medium\.com/(?:.*/)?(?:[^/]*-)?([0-9a-f]{12})", r"medium.com/p/\1")),
    # Substack: a post is its slug on the publication's host (open.substack.com/pub/<name>/p/… too).
    HostRule(("substack.com",), path=r"/pub/[\w-]+/p/[\w-]+", keep=(), noise=_SUBSTACK_NOISE,
             rewrite=(r"open\.substack\.com/pub/([\w-]+)/p/([\w-]+)", r"\1.substack.com/p/\2")),
    HostRule(("substack.com",), path=r"/p/[\w-]+", keep=(), noise=_SUBSTACK_NOISE),
    # X/Twitter: a post is its status id, under any user name, on either host or an embed proxy.
    HostRule(("x.com", "twitter.com", "fxtwitter.com", "vxtwitter.com", "fixupx.com"),
             path=r"/(?:\w+|i/web|i)/status(?:es)?/\d+(?:/.*)?", keep=(), noise=("s", "t"),
             rewrite=(r"[\w.]+/(?:\w+|i/web|i)/status(?:es)?/(\d+)(?:/.*)?", r"x.com/i/status/\1")),
    HostRule(("twitter.com",), fold_case=1, rewrite=(r"twitter\.com/(.*)", r"x.com/\1")),
    HostRule(("x.com",), fold_case=1),
    # AMP caches and viewers only wrap the publisher's page: the key is that page's.
    HostRule(("cdn.ampproject.org",), path=r"/(?:[a-z]/)*s/.+", unwrap=True, web_paths=False,
             rewrite=(r"[\w-]+\.cdn\.ampproject\.org/(?:[a-z]/)*s/(.+)", r"\1")),
    HostRule(("google.com",), path=r"/amp/s/.+", unwrap=True, web_paths=False, rewrite=(r"google\.com/amp/s/(.+)", r"\1")),
)
_DEFAULT = HostRule(hosts=())
_AS_IS = HostRule(hosts=(), web_paths=False)  # rules match the path before the AMP/index folds

_MOBILE_HOST = re.compile(r"^(www|m|mobile|amp|wap)\.", re.IGNORECASE)
_AMP_PATH = re.compile(r"(/amp)(?=/|$)|(\.amp)(?=\.html?$|$)", re.IGNORECASE)
_INDEX = re.compile(r"/index\.(html?|php|aspx?)$", re.IGNORECASE)
_SESSION = re.compile(r";jsessionid=[^/]*", re.IGNORECASE)  # a servlet session in the path
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

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


def _host(url: str) -> str:
    """Lower-case host without the www./mobile prefix (kept when stripping would leave a bare TLD)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    stripped = _MOBILE_HOST.sub("", host)
    return stripped if "." in stripped else host


def _norm_path(path: str, rule: HostRule) -> str:
    """RFC 3986 normal form (upper-case escapes, unreserved characters unescaped) and the page folds."""
    path = _SESSION.sub("", quote(path, safe="/%:@!$&'()*+,;=-._~"))
    path = _ESCAPE.sub(lambda m: ch if (ch := chr(int(m[0][1:], 16))) in _UNRESERVED else m[0].upper(), path)
    if rule.web_paths:
        path = _INDEX.sub("/", _AMP_PATH.sub("", path) or "/")
    return path.rstrip("/") or "/"


def _query_pairs(query: str) -> list[tuple[str, str]]:
    # `&amp;` is an HTML-escaped `&` left in a link copied from page source (common in WeChat links)
    return parse_qsl(query.replace("&amp;", "&"), keep_blank_values=True)


def _rule(host: str, path: str, keys: set[str]) -> HostRule:
    return next((r for r in RULES if r.applies(host, path, keys)), _DEFAULT)


def rule_for(url: str) -> HostRule:
    """The rule of `RULES` that names the document of `url` (the default rule when none does)."""
    parts = urlsplit(url.strip())
    return _rule(_host(url), _norm_path(parts.path, _AS_IS), {k for k, _ in _query_pairs(parts.query)})


def canonical_url(url: str, *, keep_fragment: bool = False) -> str:
    """The storage key of a page. Raises ValueError for non-web URLs.

    `keep_fragment` is for sources whose entries are anchors on one page (kind "watch"): there the
    fragment is what tells two items apart."""
    raw = url.strip()
    if not is_web_url(raw):
        raise ValueError(f"not an http(s) URL: {redact(raw)}")
    parts = urlsplit(raw)
    host = _host(raw)
    pairs = _query_pairs(parts.query)
    rule = rule_for(raw)
    path = _norm_path(parts.path, rule)
    added: list[tuple[str, str]] = []
    if rule.rewrite_re and (m := rule.rewrite_re.fullmatch(host + path)):
        if rule.unwrap:  # the wrapped page's own key (its query and anchor travel with it)
            inner = "https://" + m.expand(rule.rewrite[1]) + (f"?{parts.query}" if parts.query else "")
            return canonical_url(inner + (f"#{parts.fragment}" if parts.fragment else ""), keep_fragment=keep_fragment)
        target, _, query = m.expand(rule.rewrite[1]).partition("?")
        host, _, path = target.partition("/")
        path = "/" + path
        added = parse_qsl(query, keep_blank_values=True)
    if rule.ids:
        head, _, last = path.rpartition("/")
        path = f"{head}/{ID_SPELLINGS[rule.ids](last)}"
    if rule.fold_case:
        segments = path.split("/")
        path = "/".join([s.lower() for s in segments[: rule.fold_case + 1]] + segments[rule.fold_case + 1:])
    if rule.keep is not None:
        pairs = [(k, v) for k, v in pairs if k in rule.keep and (k, v) not in rule.defaults]
    replaced = {k for k, _ in added}
    pairs = [(k, v) for k, v in pairs if not rule.is_noise(k) and k not in replaced] + added
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    fragment = _entry_fragment(raw) if keep_fragment and rule.fragment else ""
    query = urlencode(sorted(pairs, key=lambda kv: kv[0]))  # stable: repeated keys keep their order
    return urlunsplit(("https", host, path, query, fragment))


def tracking_keys(url: str) -> list[str]:
    """The query keys of `url` that are tracking (the global list and its host's noise), in order."""
    try:
        rule = rule_for(url)
    except ValueError:
        return []
    return list(dict.fromkeys(k for k, _ in _query_pairs(urlsplit(url.strip()).query) if rule.is_noise(k)))


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
    """The URL to print in a draft: tracking parameters and fragment removed (kept for an entry anchor).

    Only tracking goes: keys that merely do not name the document (YouTube's `t=`) still help a reader."""
    parts = urlsplit(url.strip())
    noise = set(tracking_keys(url))
    query = urlencode([(k, v) for k, v in _query_pairs(parts.query) if k not in noise])
    fragment = _entry_fragment(url.strip()) if keep_fragment else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, fragment))


def rekey_plan(current: dict[int, str], desired: dict[int, str]) -> tuple[list[tuple[int, str]], list[int]]:
    """How rows keyed by `current` move to their `desired` keys without two rows ever sharing one.

    Returns the moves (row id, new key) in an order where each key is free when taken, and the rows
    that keep their old key because another row already holds, or takes first (lowest id), the new one:
    those were two spellings of one document all along, and stay as they were."""
    held = set(current.values())
    pending = sorted(i for i, key in desired.items() if key != current[i])
    moves: list[tuple[int, str]] = []
    progress = True
    while pending and progress:  # a move frees a key another row may be waiting for
        progress = False
        for row in list(pending):
            if desired[row] not in held:
                held.discard(current[row])
                held.add(desired[row])
                moves.append((row, desired[row]))
                pending.remove(row)
                progress = True
    return moves, pending


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
