"""SSRF guard for the fetch stage: parse a URL, resolve its host once, vet every address, pin the one to use.

Nothing here opens a connection. `Guard.pin()` answers "which IP and port may this request connect to",
and `curator.http` connects to exactly that address (sending the original Host header and SNI), so a
resolver that answers differently at connect time (DNS rebinding) never gets a say.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from curator.errors import BlockedAddress, ConfigError, FetchError, shown_url

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES = {"http": 80, "https": 443}
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # CGNAT; not "private" in ipaddress, not global either
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_V4_COMPAT = ipaddress.ip_network("::/96")
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


@dataclass(frozen=True)
class Target:
    """A vetted-for-shape http(s) URL, split into the parts the fetcher needs."""

    scheme: str  # "http" | "https"
    host: str  # lower-case, IDNA ASCII, no trailing dot; IPv6 without brackets
    port: int
    explicit_port: bool
    path_query: str  # "/path?query", never empty, no fragment

    @property
    def host_for_url(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def host_header(self) -> str:
        return f"{self.host_for_url}:{self.port}" if self.explicit_port else self.host_for_url

    @property
    def key(self) -> tuple[str, str, int, str]:
        """What makes two hops "the same URL" for redirect-loop detection."""
        return (self.scheme, self.host, self.port, self.path_query)

    def redacted(self) -> str:
        """scheme://host[:port]/path — no query string, no credentials; safe for logs and messages."""
        return f"{self.scheme}://{self.host_header}{self.path_query.split('?', 1)[0]}"


@dataclass(frozen=True)
class Pin:
    """Where to connect for one hop. `vetted` is False for allowed / overridden hosts."""

    ip: str
    port: int
    vetted: bool
    fallbacks: tuple[
        str, ...
    ] = ()  # further answers of the same lookup (all vetted), tried on connect errors

    @property
    def netloc(self) -> str:
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"

    def others(self) -> list[Pin]:
        return [Pin(ip, self.port, self.vetted) for ip in self.fallbacks]


def parse_url(url: str) -> Target:
    """Split an absolute http(s) URL. Raises BlockedAddress (blocked_scheme, credentials_in_url) or
    FetchError(bad_url); never echoes credentials or the query string."""
    safe = shown_url(url)
    if any(ord(c) < 0x20 or c in " \\" for c in url.strip()[:4096].split("?", 1)[0].split("#", 1)[0]):
        raise FetchError(
            "URL contains whitespace, control characters or backslashes", reason="bad_url", url=safe
        )
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"unparsable URL: {exc}", reason="bad_url", url=safe) from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        shown = scheme or "(none)"
        raise BlockedAddress(
            f"scheme {shown!r} is not fetched; only http and https are", reason="blocked_scheme", url=safe
        )
    if "@" in parts.netloc:
        raise BlockedAddress(
            "URL carries credentials (user:password@); it is not fetched and the credentials are not logged",
            reason="credentials_in_url",
            url=safe,
        )
    host = normalise_host(parts.hostname or "")
    if not host:
        raise FetchError("URL has no host", reason="bad_url", url=safe)
    path = parts.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    path_query = f"{path}?{parts.query}" if parts.query else path
    return Target(scheme, host, port or SCHEMES[scheme], port is not None, path_query)


def normalise_host(host: str) -> str:
    """Lower-case, strip one trailing dot, IDNA-encode; '' when the host is unusable."""
    host = host.strip().lower().rstrip(".") if host else ""
    if not host or "%" in host and ":" not in host:  # percent-escapes in a reg-name: refuse, don't guess
        return ""
    if ":" in host:  # IPv6 literal (urlsplit already removed the brackets)
        return host.split("%", 1)[0]
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return ""
    return host


def literal_ip(host: str) -> IPAddress | None:
    """The address a host string denotes by itself, with inet_aton semantics for IPv4 shorthands
    (2130706433, 0x7f.1, 0177.0.0.1, 127.1), or None for a name."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefx." for c in host) and any(c.isdigit() for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why `ip` must not be connected to, or None when it is a public unicast address."""
    if ip in _METADATA:
        return "cloud metadata"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and (ip in _NAT64 or (ip in _V4_COMPAT and int(ip) > 1)):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.ipv4_mapped is not None:
            return f"IPv4-mapped ({blocked_reason(ip.ipv4_mapped) or 'embedded IPv4'})"
        if embedded is not None and (inner := blocked_reason(embedded)):
            return f"embeds {embedded} ({inner})"
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("shared address space (CGNAT)", isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("site-local", isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local),
        ("not globally routable", not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def vet(address: str, *, url: str) -> str:
    """Return the canonical text of `address`, or raise BlockedAddress when it is not public."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        raise BlockedAddress("resolver returned something that is not an IP address", url=url) from None
    if why := blocked_reason(ip):
        raise BlockedAddress(f"refused to connect to {ip} ({why})", url=url)
    return str(ip)


async def system_resolver(host: str, port: int) -> list[str]:
    """The default resolver: getaddrinfo in the event loop's executor, TCP answers, order kept."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _split_hostport(text: str) -> tuple[str, int | None]:
    text = text.strip().lower()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        if port.isdigit():
            return host.rstrip("."), int(port)
    return text.rstrip("."), None


class Guard:
    """Decides where each hop may connect: allow-listed and overridden hosts, or vetted DNS answers."""

    def __init__(
        self,
        *,
        resolver: Resolver | None = None,
        allowed_hosts: Iterable[str] = (),
        resolve: Mapping[str, str] | None = None,
        dns_timeout_s: float = 5.0,
    ) -> None:
        self._resolver = resolver or system_resolver
        self._dns_timeout_s = dns_timeout_s
        self._allowed: set[tuple[str, int | None]] = {_split_hostport(h) for h in allowed_hosts}
        self._overrides: dict[tuple[str, int | None], tuple[str, int]] = {}
        for key, value in (resolve or {}).items():
            host, port = _split_hostport(key)
            ip, to_port = _split_hostport(value)
            try:
                ipaddress.ip_address(ip)
                if to_port is None:  # a redirect to name:<any port> would reach every listener on that address
                    raise ValueError("no port")
            except ValueError:
                raise ConfigError(
                    f"fetch.resolve[{key!r}] must map to ip:port (e.g. 127.0.0.1:8080)", reason="config"
                ) from None
            self._overrides[(host, port)] = (ip, to_port or 0)

    def is_allowed(self, target: Target) -> bool:
        return (target.host, None) in self._allowed or (target.host, target.port) in self._allowed

    def override(self, target: Target) -> Pin | None:
        hit = self._overrides.get((target.host, target.port)) or self._overrides.get((target.host, None))
        if hit is None:
            return None
        ip, port = hit
        return Pin(ip, port, vetted=False)

    async def pin(self, target: Target) -> Pin:
        """Resolve once and vet every answer; raise BlockedAddress / FetchError(dns) before any connect."""
        url = target.redacted()
        if (pinned := self.override(target)) is not None:
            return pinned
        allowed = self.is_allowed(target)
        if (ip := literal_ip(target.host)) is not None:
            return Pin(str(ip) if allowed else vet(str(ip), url=url), target.port, vetted=not allowed)
        if not allowed and (target.host in _LOCAL_NAMES or target.host.endswith(".localhost")):
            raise BlockedAddress(f"refused to connect to {target.host} (loopback name)", url=url)
        addresses = await self._resolve(target, url)
        if allowed:
            plain = list(dict.fromkeys(a.split("%", 1)[0] for a in addresses))
            return Pin(plain[0], target.port, vetted=False, fallbacks=tuple(plain[1:3]))
        vetted = [vet(a, url=url) for a in addresses]  # every answer, so a mixed answer is refused too
        vetted = list(dict.fromkeys(vetted))
        return Pin(vetted[0], target.port, vetted=True, fallbacks=tuple(vetted[1:3]))

    async def _resolve(self, target: Target, url: str) -> list[str]:
        try:
            async with asyncio.timeout(self._dns_timeout_s):
                addresses = await self._resolver(target.host, target.port)
        except TimeoutError:
            raise FetchError(
                f"DNS lookup for {target.host} took longer than {self._dns_timeout_s:g}s",
                reason="dns",
                url=url,
            ) from None
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(f"DNS lookup for {target.host} failed: {exc}", reason="dns", url=url) from exc
        except OSError as exc:
            raise FetchError(f"DNS lookup for {target.host} failed: {exc}", reason="dns", url=url) from exc
        if not addresses:
            raise FetchError(f"DNS lookup for {target.host} returned no addresses", reason="dns", url=url)
        return list(addresses)
