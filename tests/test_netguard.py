"""netguard: URL shape, address vetting and pinning — pure functions and stub resolvers, no sockets."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

from curator import netguard
from curator.errors import BlockedAddress, ConfigError, FetchError, shown_url


class SpyResolver:
    def __init__(self, *answers: list[str] | BaseException) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        answer = self.answers[min(len(self.calls), len(self.answers)) - 1]
        if isinstance(answer, BaseException):
            raise answer
        return answer


def pin(url: str, resolver: SpyResolver | None = None, **kw) -> netguard.Pin:
    guard = netguard.Guard(resolver=resolver or SpyResolver(["93.184.216.34"]), **kw)
    return asyncio.run(guard.pin(netguard.parse_url(url)))


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),  # decimal
        ("0x7f000001", "127.0.0.1"),  # hex
        ("0x7f.1", "127.0.0.1"),  # hex, shortened
        ("0177.0.0.1", "127.0.0.1"),  # octal
        ("127.1", "127.0.0.1"),  # shortened
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("example.com", None),
        ("cafe.de", None),
        ("1e100.net", None),
    ],
)
def test_literal_ip_uses_inet_aton_semantics(host: str, expected: str | None) -> None:
    ip = netguard.literal_ip(host)
    assert (str(ip) if ip else None) == expected


BLOCKED = [
    "127.0.0.1",
    "127.8.9.10",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "0.0.0.0",
    "::",
    "169.254.169.254",
    "169.254.1.1",
    "fe80::1",
    "10.1.2.3",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",
    "100.127.255.254",
    "fc00::1",
    "fd12:3456::1",
    "224.0.0.1",
    "ff02::1",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.10",
    "2002:7f00:1::1",  # 6to4 wrapping 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 wrapping 10.0.0.1
]


@pytest.mark.parametrize("address", BLOCKED)
def test_blocked_addresses(address: str) -> None:
    assert netguard.blocked_reason(ipaddress.ip_address(address)) is not None
    with pytest.raises(BlockedAddress) as info:
        netguard.vet(address, url="http://x/")
    assert info.value.reason == "blocked_address"


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "100.128.0.1"])
def test_public_addresses_pass(address: str) -> None:
    assert netguard.blocked_reason(ipaddress.ip_address(address)) is None
    assert netguard.vet(address, url="http://x/") == address


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,<b>x</b>", "ftp://h/x", "//h/x"]
)
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(BlockedAddress) as info:
        netguard.parse_url(url)
    assert info.value.reason == "blocked_scheme"
    assert "alert" not in str(info.value) and "<b>" not in str(info.value)


@pytest.mark.parametrize(
    "url", ["http://bob:hunter2pw@example.com/x", "https://hunter2pw@example.com/", "http://:hunter2pw@h/"]
)
def test_credentials_refused_and_never_echoed(url: str) -> None:
    with pytest.raises(BlockedAddress) as info:
        netguard.parse_url(url)
    assert info.value.reason == "credentials_in_url"
    assert "hunter2pw" not in str(info.value) and "hunter2pw" not in repr(info.value.args)
    assert "hunter2pw" not in (info.value.url or "")


def test_parse_normalises_and_redacts_query() -> None:
    t = netguard.parse_url("HTTPS://Example.COM.:8443/a/b?token=abc#frag")
    assert (t.scheme, t.host, t.port, t.explicit_port, t.path_query) == (
        "https",
        "example.com",
        8443,
        True,
        "/a/b?token=abc",
    )
    assert t.host_header == "example.com:8443"
    assert t.redacted() == "https://example.com:8443/a/b"
    assert netguard.parse_url("http://[::1]/").host_header == "[::1]"
    assert netguard.parse_url("http://münchen.de/").host == "xn--mnchen-3ya.de"
    assert "token" not in shown_url("http://u:p@h/x?token=abc")


@pytest.mark.parametrize(
    "url", ["http://evil.com\\@127.0.0.1/", "http://ho st/", "http://h\t/", "http:///x", "http://h:99999/"]
)
def test_malformed_urls(url: str) -> None:
    with pytest.raises(FetchError) as info:
        netguard.parse_url(url)
    assert info.value.reason == "bad_url"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0177.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://100.64.0.1/",
        "http://[fc00::1]/",
        "http://localhost/",
        "http://foo.localhost/",
        "http://LOCALHOST./",
    ],
)
def test_pin_refuses_literals_without_resolving(url: str) -> None:
    resolver = SpyResolver(["93.184.216.34"])
    with pytest.raises(BlockedAddress):
        pin(url, resolver)
    assert resolver.calls == []


@pytest.mark.parametrize(
    "answer", [["10.0.0.7"], ["169.254.169.254"], ["::1"], ["93.184.216.34", "192.168.0.1"]]
)
def test_pin_vets_every_resolved_address(answer: list[str]) -> None:
    with pytest.raises(BlockedAddress):
        pin("http://evil.test/", SpyResolver(answer))


def test_pin_resolves_once_and_returns_the_vetted_ip() -> None:
    resolver = SpyResolver(["93.184.216.34", "2606:2800:220:1::1"], ["127.0.0.1"])
    p = pin("https://news.example/", resolver)
    assert (p.ip, p.port, p.vetted) == ("93.184.216.34", 443, True)
    assert p.fallbacks == ("2606:2800:220:1::1",)
    assert resolver.calls == [("news.example", 443)]


def test_dns_failures() -> None:
    with pytest.raises(FetchError) as info:
        pin("http://nx.test/", SpyResolver(socket.gaierror(socket.EAI_NONAME, "Name or service not known")))
    assert info.value.reason == "dns"
    with pytest.raises(FetchError) as info:
        pin("http://empty.test/", SpyResolver([]))
    assert info.value.reason == "dns"


def test_allowed_hosts_and_overrides_skip_vetting() -> None:
    assert pin("http://127.0.0.1:8080/", allowed_hosts=["127.0.0.1"]).ip == "127.0.0.1"
    assert (
        pin("http://fixture.test:8080/", SpyResolver(["127.0.0.1"]), allowed_hosts=["fixture.test:8080"]).ip
        == "127.0.0.1"
    )
    with pytest.raises(BlockedAddress):  # host:port entries allow only that port
        pin("http://fixture.test:9090/", SpyResolver(["127.0.0.1"]), allowed_hosts=["fixture.test:8080"])
    resolver = SpyResolver(["10.0.0.1"])
    p = pin("http://news.demo.test/", resolver, resolve={"news.demo.test:80": "127.0.0.1:8123"})
    assert (p.ip, p.port, p.vetted) == ("127.0.0.1", 8123, False)
    p = pin("https://cdn.demo.test/x", resolver, resolve={"cdn.demo.test": "[::1]:8443"})
    assert (p.ip, p.port) == ("::1", 8443)
    assert resolver.calls == []
    with pytest.raises(ConfigError):
        netguard.Guard(resolve={"a.test:80": "not-an-ip:1"})
