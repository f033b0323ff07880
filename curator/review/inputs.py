"""The review board's input guards: forms and numbers from the browser, and the last-resort error answer.

Odd input (a 30-digit id, a negative position, a form of megabytes, bytes that are not UTF-8) is the
browser's mistake or a probe: it answers 4xx with a plain message and never reaches the store.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

MAX_FORM_FIELDS = 50
MAX_INT = 2**63 - 1  # SQLite's INTEGER: a larger id is no row, never an overflow
MAX_TITLE_CHARS, MAX_SUMMARY_CHARS = 300, 3000


class BadRequest(Exception):
    """Malformed input from the browser (a number that is not one, an oversized form): a 4xx, never a 500."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


class Contained:
    """Innermost guard: an unexpected error answers a plain 500 and one log line, not a traceback
    (a traceback would print local variables: form fields, the token)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # noqa: BLE001 (the boundary: everything becomes a clean answer)
            log.error("review board: %s on %s %s", type(exc).__name__, scope.get("method", ""), scope.get("path", ""))
            if not started and scope["type"] == "http":
                await PlainTextResponse("internal error: see the board's log", status_code=500)(scope, receive, send)


async def read_form(request: Request, max_bytes: int) -> dict[str, list[str]]:
    """The urlencoded body, at most `max_bytes` (413 beyond), UTF-8 (400 otherwise)."""
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > max_bytes:
        raise BadRequest(f"form too large (at most {max_bytes} bytes)", status_code=413)
    body = b""
    async for chunk in request.stream():  # a chunked body has no length to check up front
        body += chunk
        if len(body) > max_bytes:
            raise BadRequest(f"form too large (at most {max_bytes} bytes)", status_code=413)
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS,
                          errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("the form is not UTF-8 text") from None
    except ValueError:
        raise BadRequest(f"too many form fields (at most {MAX_FORM_FIELDS})") from None
    return parsed


def form_int(value: str | None, name: str = "number") -> int | None:
    """A form's id or position: empty is None; anything but 0 … MAX_INT digits is a 400."""
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit() or int(text) > MAX_INT:
        raise BadRequest(f"{name} must be a whole number from 0 to {MAX_INT}, not {text[:20]!r}")
    return int(text)
