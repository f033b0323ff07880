"""Where the board listens: 127.0.0.1 unless `curator review --host ADDR` says otherwise.

Off loopback the board is reachable by others (a team on a LAN, a reverse proxy in front): it then
needs a fixed token from the environment (CURATOR_REVIEW_TOKEN; a random one printed to a terminal
would be the only key and could not be given to a phone's shortcut), names the Host headers it
answers (the address itself, or `--allow-host` names for 0.0.0.0 and proxies: a DNS-rebinding page
still arrives with its own Host and is refused), and says so loudly. The token is required on every
request either way (gate.TokenGate).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from curator.errors import UsageError

TOKEN_ENV = "CURATOR_REVIEW_TOKEN"
MIN_TOKEN_CHARS = 32
_TOKEN = re.compile(r"[A-Za-z0-9._~-]+")  # cookie- and URL-safe as it is
_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
MAKE_TOKEN = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


@dataclass(frozen=True)
class Listening:
    bind: str  # the address the socket binds
    shown: str  # the host in the printed URL
    allowed_hosts: tuple[str, ...]  # Host header names the gate answers
    warnings: tuple[str, ...] = ()


def check_token(token: str) -> str:
    if len(token) < MIN_TOKEN_CHARS or not _TOKEN.fullmatch(token):
        raise UsageError(f"{TOKEN_ENV} must be at least {MIN_TOKEN_CHARS} characters of letters, digits, '-', '_', "
                         f"'.' or '~'; make one with: {MAKE_TOKEN}", reason="bad_token")
    return token


def _host_name(name: str, what: str) -> str:
    bare = name.strip().strip("[]").lower()
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        if not _NAME.fullmatch(bare):
            raise UsageError(f"{what} {name!r} is neither an IP address nor a host name", reason="bad_host") from None
        return bare


def listening(host: str, token: str | None, allow_hosts: tuple[str, ...] = ()) -> Listening:
    """Where and for which names the board listens; UsageError when off loopback without what it needs."""
    bind = _host_name(host, "--host")
    extra = tuple(_host_name(h, "--allow-host") for h in allow_hosts)
    if token is not None:
        check_token(token)
    try:
        ip = ipaddress.ip_address(bind)
    except ValueError:
        ip = None
    if bind == "localhost" or (ip is not None and ip.is_loopback):
        return Listening(bind, bind if ":" not in bind else f"[{bind}]", (*LOOPBACK_NAMES, bind, *extra))
    if token is None:
        raise UsageError(f"--host {host} makes the board reachable from other machines, so it needs a fixed token: "
                         f"set {TOKEN_ENV} (make one with: {MAKE_TOKEN}) and run again", reason="no_token")
    wildcard = ip is not None and ip.is_unspecified
    if wildcard and not extra:
        raise UsageError(f"--host {host} listens on every address: say which names clients use to reach the board "
                         "with --allow-host (this machine's LAN address, e.g. 192.168.1.20, or the reverse proxy's "
                         "host name); other Host headers are refused", reason="bad_host")
    names = extra if wildcard else (bind, *extra)
    shown = names[0] if ":" not in names[0] else f"[{names[0]}]"
    warning = (f"WARNING: the board listens on {host}, not only on this machine: anyone who can reach it and holds "
               "the token can change the draft and add links. Use it on a trusted LAN or behind a TLS reverse "
               "proxy (plain http carries the token in clear).")
    return Listening(bind, shown, (*LOOPBACK_NAMES, *names), (warning,))
