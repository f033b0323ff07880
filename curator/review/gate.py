"""The review board's gate: the token (URL once, then a cookie), Host and Origin checks, CSRF on forms.

Served on 127.0.0.1 only, to one person: a random token printed at start is needed for every request
(`?token=` once, then an HttpOnly SameSite=Strict cookie), and every POST must also carry the token as its
`csrf` form field. Every answer carries the security headers: a CSP whose only script is the board's own
static file (`script-src 'self'`: no inline script, no handler attributes, no eval).
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from curator.review.inputs import read_form

COOKIE = "curator_review"
# The share URL (review/capture.py) is opened from other sites' pages, which bring no SameSite=Strict
# cookie, and a redirect would not bring it either: there `?token=` is honoured in place.
TOKEN_IN_PLACE = frozenset({"/add"})
MAX_FORM_BYTES = 64_000
_HOST_HEADER = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?")
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class Forbidden(Exception):
    """A request the gate lets through but the route refuses (no form, a wrong csrf field): a 403."""


def same_token(given: str | None, token: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), token.encode())


class TokenGate:
    """Every request needs the token; the first GET may bring it as `?token=` and gets it back as a cookie."""

    def __init__(self, app: ASGIApp, token: str, allowed_hosts: tuple[str, ...]) -> None:
        self.app, self.token, self.allowed_hosts = app, token, allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in SECURITY_HEADERS.items():
                    headers.setdefault(key, value)
            await send(message)

        request = Request(scope)
        # A page elsewhere that rebinds its DNS name to 127.0.0.1 arrives with its own Host: refuse it.
        if host_name(request.headers.get("host", "")) not in self.allowed_hosts:
            await PlainTextResponse("forbidden host", status_code=403)(scope, receive, send_secured)
            return
        origin = request.headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).hostname not in self.allowed_hosts:
            await PlainTextResponse("forbidden origin", status_code=403)(scope, receive, send_secured)
            return
        if (request.method == "GET" and request.url.path in TOKEN_IN_PLACE
                and same_token(request.query_params.get("token"), self.token)):

            async def send_with_cookie(message: Message) -> None:
                if message["type"] == "http.response.start":
                    MutableHeaders(scope=message).append("set-cookie", session_cookie(self.token))
                await send_secured(message)

            await self.app(scope, receive, send_with_cookie)
            return
        if request.method == "GET" and same_token(request.query_params.get("token"), self.token):
            # Trade the token in the URL for a cookie, and drop it from the address bar and history.
            response = RedirectResponse(request.url.path, status_code=303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
            await response(scope, receive, send_secured)
            return
        if not same_token(request.cookies.get(COOKIE), self.token):
            await PlainTextResponse("forbidden: open the URL `curator review` printed (it carries the token)",
                                    status_code=403)(scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)


def session_cookie(token: str) -> str:
    response = PlainTextResponse("")
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
    return response.headers["set-cookie"]


def host_name(header: str) -> str | None:
    """The name in a Host header that is exactly `name[:port]`; None for anything else (`a@b`, spaces …), which
    a URL parser would read some other way than the browser meant."""
    m = _HOST_HEADER.fullmatch(header.strip())
    return m.group(1).strip("[]").lower() if m else None


async def checked_form(request: Request, token: str) -> dict[str, str]:
    """A POST's urlencoded fields (the last value of each), once its `csrf` field carries the token."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise Forbidden("forms only")
    parsed = await read_form(request, MAX_FORM_BYTES)
    fields = {k: v[-1] for k, v in parsed.items()}
    if not same_token(fields.get("csrf"), token):
        raise Forbidden("missing or wrong csrf field")
    return fields
