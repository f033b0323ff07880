"""One webhook POST: the address vetted by netguard, one overall timeout per attempt, tenacity retries.

Webhook URLs come from the editor's environment, not from the web, but the hostile-input rules hold all the
same: the host is resolved once and every answer vetted (a public host only, unless `notify.allowed_hosts`
names it), the request goes to that exact address with the original Host header and SNI, redirects are not
followed, and the answer is read only up to a small cap. A 5xx, a 429 or a timeout is retried
`notify.retries` times; anything else is an answer. What comes back is an `Outcome` whose `detail` never
carries the URL (its path or query is the hook's credential).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Self
from urllib.parse import urlsplit

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from curator import netguard
from curator.errors import BlockedAddress, FetchError, shown_url
from curator.httpwire import is_tls_failure, ssl_context
from curator.notify.config import NotifySettings
from curator.notify.payloads import Outgoing, refusal

log = logging.getLogger(__name__)

ANSWER_CAP = 64 * 1024  # a webhook's answer is a status word or a small JSON document
USER_AGENT = "curator-notify/0.1"


@dataclass(frozen=True)
class Outcome:
    hook: str  # its label (name or kind)
    host: str  # the only part of its URL ever shown
    event: str
    ok: bool
    detail: str  # "delivered", "HTTP 500", "timed out after 5 s" …
    attempts: int = 1


class _Transient(Exception):
    """Worth another attempt: a 5xx, a 429, a timeout, a connection that failed."""


def host_of(url: str | None) -> str:
    """host[:port] of a webhook URL: all of it a log line or `status` may show (its path is the credential)."""
    return urlsplit(shown_url(url)).netloc or "-" if url else "-"


class Sender:
    """One httpx client for a round of deliveries; `async with Sender(settings) as s: await s.post(...)`."""

    def __init__(self, settings: NotifySettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._guard = netguard.Guard(allowed_hosts=settings.allowed_hosts, dns_timeout_s=settings.timeout_s)
        common: dict[str, object] = {"follow_redirects": False, "trust_env": False,
                                     "timeout": httpx.Timeout(settings.timeout_s)}
        if transport is not None:
            self._client = httpx.AsyncClient(transport=transport, **common)  # type: ignore[arg-type]
        else:
            self._client = httpx.AsyncClient(verify=ssl_context(None), **common)  # type: ignore[arg-type]
        for noisy in ("httpx", "httpcore"):  # httpx logs full URLs at INFO: a webhook URL is a secret
            logging.getLogger(noisy).setLevel(logging.WARNING)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def post(self, hook: str, kind: str, event: str, out: Outgoing) -> Outcome:
        host = host_of(out.url)
        attempts = 0
        try:
            target = netguard.parse_url(out.url)
            retrying = AsyncRetrying(
                stop=stop_after_attempt(self.settings.retries + 1),
                wait=wait_exponential(multiplier=self.settings.retry_wait_s, max=30),
                retry=retry_if_exception_type(_Transient), reraise=True)
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    status, body = await self._once(target, out)
                    why = refusal(kind, status, body)
                    if why and (status >= 500 or status == 429):
                        raise _Transient(why)
            detail = why or "delivered"
            return Outcome(hook, host, event, why is None, detail, attempts)
        except _Transient as exc:
            return Outcome(hook, host, event, False, str(exc), attempts)
        except BlockedAddress as exc:  # its message names the address; its url (with the secret path) is dropped
            return Outcome(hook, host, event, False, f"blocked: {exc.args[0]}", attempts)
        except FetchError as exc:
            return Outcome(hook, host, event, False, str(exc.args[0]), attempts)

    async def _once(self, target: netguard.Target, out: Outgoing) -> tuple[int, bytes]:
        """One exchange under one overall deadline (httpx's timeouts bound each read, not the request)."""
        timeout = self.settings.timeout_s
        try:
            pin = await self._guard.pin(target)
            headers = {"Host": target.host_header, "User-Agent": USER_AGENT,
                       "Content-Type": "application/json; charset=utf-8", **out.headers}
            extensions: dict[str, object] = {}
            if target.scheme == "https" and netguard.literal_ip(target.host) is None:
                extensions["sni_hostname"] = target.host  # the certificate is checked against the name
            request = httpx.Request("POST", f"{target.scheme}://{pin.netloc}{target.path_query}",
                                    content=out.body, headers=headers, extensions=extensions)
            async with asyncio.timeout(timeout):
                response = await self._client.send(request, stream=True)
                try:
                    body = bytearray()
                    async for chunk in response.aiter_raw():
                        body += chunk
                        if len(body) >= ANSWER_CAP:
                            break
                finally:
                    await response.aclose()
            return response.status_code, bytes(body[:ANSWER_CAP])
        except TimeoutError:
            raise _Transient(f"timed out after {timeout:g} s") from None
        except httpx.HTTPError as exc:
            if is_tls_failure(exc):
                raise FetchError("TLS verification failed", reason="tls") from None
            if isinstance(exc, httpx.TimeoutException):
                raise _Transient(f"timed out after {timeout:g} s") from None
            # The exception's text can quote the request URL (the pinned address and the secret path): shown
            # only when it holds no path at all ("[Errno 111] Connection refused").
            said = str(exc).strip()
            shown = f": {said}" if said and "/" not in said and len(said) < 200 else ""
            raise _Transient(f"connection failed ({type(exc).__name__}{shown})") from None
