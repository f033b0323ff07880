"""Capture from anywhere: the board's share URL `/add?url=…&note=…`, opened by the bookmarklet or a phone's
share sheet, adds a link with a note exactly as `curator add URL --note` does (the editor's find: never
lost, ranked first among sources; curator/finds.py).

    bookmarklet / share sheet ─► GET /add?token=…&url=…&note=…  ─► confirm page (nothing stored yet)
                                 POST /add (csrf, capture=1)      ─► "已添加" | "已经有了（收录于 …）"

The GET changes nothing, so a link someone else plants can at most show the form; the POST carries the
board's csrf field like every other form. The share URL may carry the token itself (`?token=`): a link
opened from another site's page arrives without the board's SameSite=Strict cookie, so the gate answers
it in place (and sets the cookie) instead of redirecting; capture.js then drops the token from the
address bar. The url and note are checked as `curator add` checks them, plus what the fetcher will
refuse later (an address on the local network), and length caps; the templates escape both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from curator import netguard
from curator.discover import vet_find_url
from curator.errors import CuratorError, LockHeld
from curator.models import Candidate
from curator.pipeline import Pipeline
from curator.review.inputs import MAX_SUMMARY_CHARS, MAX_TITLE_CHARS
from curator.runlock import run_lock
from curator.settings import Settings
from curator.store import Store

__all__ = ["MAX_URL_CHARS", "Captured", "bookmarklet", "check_capture", "confirm", "save", "share_template", "tools"]

MAX_URL_CHARS = 2048  # what browsers and servers reliably pass along; longer is a paste gone wrong
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Captured:
    """What the share URL did: the item, whether it was new, when it was first collected, what to say."""

    item_id: int
    is_new: bool
    collected_on: datetime
    level: str  # ok | warn | error
    text: str


def check_capture(settings: Settings, url: str, note: str, title: str = "") -> tuple[str, str, str]:
    """(url, note, title) as they will be stored, or CuratorError(bad_capture) saying what is wrong."""
    url, note, title = url.strip(), _CONTROLS.sub("", note).strip(), _CONTROLS.sub("", title).strip()
    if len(url) > MAX_URL_CHARS:
        raise CuratorError(f"the URL is longer than {MAX_URL_CHARS} characters; share the page's own address",
                           reason="bad_capture")
    if len(note) > MAX_SUMMARY_CHARS or len(title) > MAX_TITLE_CHARS:
        raise CuratorError(f"a note has at most {MAX_SUMMARY_CHARS} characters and a title {MAX_TITLE_CHARS}; "
                           "select less text", reason="bad_capture")
    try:
        url = vet_find_url(url)[0]
    except CuratorError as exc:
        raise CuratorError(str(exc), reason="bad_capture") from None
    host = netguard.parse_url(url).host
    allowed = {h.lower() for h in settings.fetch.allowed_hosts}
    ip = netguard.literal_ip(host)
    why = netguard.blocked_reason(ip) if ip is not None else ("local" if host in netguard._LOCAL_NAMES else None)
    if why and host not in allowed:
        raise CuratorError(f"cannot add this URL: its host is a {why} address, which curator never fetches",
                           reason="bad_capture")
    return url, note, title


def add_find(settings: Settings, store: Store, url: str, note: str, title: str, process: bool) -> Captured:
    """`curator add URL --note NOTE [--title] [--no-process]` on the board's store thread."""
    pipe = Pipeline(settings, store)
    item_id, is_new = pipe.add_candidate(Candidate(url=url, title=title, snippet=note, source="manual"))
    retried = not is_new and process and pipe.retry_stand_in(item_id)
    found = store.items(ids=[item_id])[0]
    day = found.discovered_at.date().isoformat()
    level, text = "ok", f"已添加（条目 {item_id}）" if is_new else f"已经有了（收录于 {day}，条目 {item_id}）"
    if process and (is_new or retried):
        try:
            with run_lock(settings, "add"):
                run = Pipeline(settings, store).collect(discover=False, command="add")
        except LockHeld:
            return Captured(item_id, is_new, found.discovered_at, "ok",
                            text + "；正有一次运行在进行，下一次运行会抓取并摘要它")
        after = store.items(ids=[item_id])[0]
        if after.enrichment is None or any(f.startswith("not_fetched") for f in after.enrichment.flags):
            level = "warn"
            text += f"；页面未能抓取，已按你的备注保留为候选（run #{run.run_id}: {run.status}）"
        else:
            text += f"，已抓取并摘要：{after.enrichment.title}"
    elif not process and is_new:
        text += "；运行 `curator collect` 后会抓取并摘要它"
    return Captured(item_id, is_new, found.discovered_at, level, text)


def share_template(base: str, token: str) -> str:
    """The share URL with placeholders, for a phone's shortcut (iOS Shortcuts, Android HTTP Shortcuts)."""
    return f"{base}/add?token={quote(token)}&url={{URL}}&note={{TEXT}}"


def bookmarklet(base: str, token: str) -> str:
    """A bookmark whose click opens the share URL for the current page, the selected text as the note."""
    target = f"{base}/add?token={quote(token)}"
    return (f"javascript:(function(){{var n=String(window.getSelection()).slice(0,{MAX_SUMMARY_CHARS});"
            f"window.open({_js_string(target)}+'&url='+encodeURIComponent(location.href)"
            "+'&note='+encodeURIComponent(n),'_blank');})()")


def _js_string(text: str) -> str:
    return "'" + "".join(c if c.isalnum() or c in ":/.?=&-_%~" else f"\\u{ord(c):04x}" for c in text) + "'"


# ---- routes (registered by board.make_app) -------------------------------------------------------
def _board(request: Request) -> Any:
    """The board's shared state (review.board.Board; not imported: board.py imports this module)."""
    return request.app.state.board


async def confirm(request: Request) -> Response:
    """GET /add?url=…&note=…: the confirm form; nothing is stored."""
    board = _board(request)
    query = request.query_params
    fields = {"url": query.get("url", ""), "note": query.get("note", ""), "title": query.get("title", "")}
    try:
        url, note, title = check_capture(board.settings, **fields)
    except CuratorError as exc:
        return _page(board, request, "capture.html", {"error": str(exc), **fields}, 400)
    return _page(board, request, "capture.html", {"error": None, "url": url, "note": note, "title": title})


async def tools(request: Request) -> Response:
    """GET /capture: the bookmarklet and the share URL template, to copy."""
    return _page(_board(request), request, "capture_tools.html", {})


async def save(request: Request, fields: dict[str, str]) -> Response:
    """POST /add with capture=1 (the confirm form): add the find, answer what happened."""
    board = _board(request)
    try:
        url, note, title = check_capture(board.settings, fields.get("url", ""), fields.get("note", ""),
                                         fields.get("title", ""))
        done = await board.store.run(lambda store: add_find(board.settings, store, url, note, title,
                                                            fields.get("process") == "on"))
    except CuratorError as exc:
        return _page(board, request, "capture.html", {"error": str(exc), **fields}, 400)
    return _page(board, request, "captured.html", {"done": done, "url": url, "note": note})


def _page(board: Any, request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    page: Response = board.page(request, name, context, status_code=status)
    return page
