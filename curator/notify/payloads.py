"""Each service's documented message shape, its signing, and how it says it refused a message.

    slack     incoming webhook: {"text", "blocks": [header, section (mrkdwn)]}; mrkdwn escapes & < >
    feishu    custom bot: {"msg_type": "post", "content": {"post": {"zh_cn": {"title", "content"}}}};
              signed: "timestamp" (s) + "sign" = base64(HMAC-SHA256(key=f"{ts}\\n{secret}", msg=""))
    dingtalk  custom robot: {"msgtype": "markdown", "markdown": {"title", "text"}}; signed: query
              `timestamp` (ms) & `sign` = urlencode(base64(HMAC-SHA256(key=secret, msg=f"{ts}\\n{secret}")))
    wecom     group robot: {"msgtype": "markdown", "markdown": {"content"}} (at most 4096 bytes)
    telegram  Bot API sendMessage: {"chat_id", "text", "parse_mode": "HTML"}; text HTML-escaped, ≤ 4096 chars
    json      the event model dumped; with a secret: X-Curator-Signature = sha256=HMAC(secret, f"{ts}.{body}")

Feishu, DingTalk and WeCom answer HTTP 200 with an error code in the body when they refuse (a bad
signature, a keyword filter): `refusal()` reads it, so such a message counts as failed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlsplit, urlunsplit

from curator.notify.config import WebhookSettings
from curator.notify.events import Event, Message

SLACK_HEADER_MAX = 150  # Block Kit: a header's plain_text
SLACK_SECTION_MAX = 3000  # Block Kit: a section's text
WECOM_MAX_BYTES = 4096
TELEGRAM_MAX = 4096
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


@dataclass(frozen=True)
class Outgoing:
    """One POST: where (a secret: never logged), the JSON body, extra headers."""

    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _dump(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def md_escape(text: str) -> str:
    """Markdown (DingTalk, WeCom): a title or error quoted from the web cannot become a link or a heading."""
    return _MD_SPECIAL.sub(r"\\\1", text.replace("\r", " ").replace("\n", " "))


def feishu_sign(secret: str, timestamp: int) -> str:
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def json_signature(secret: str, timestamp: int, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _with_query(url: str, extra: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def build(hook: WebhookSettings, url: str, event: Event, msg: Message, *, language: str, now_s: float) -> Outgoing:
    """The request for `hook` (its URL already resolved from the environment) carrying `event`."""
    secret = hook.secret()
    if hook.kind == "slack":
        text = "\n".join(slack_escape(line) for line in msg.lines)
        return Outgoing(url, _dump({
            "text": _cut(slack_escape(msg.title) + "\n" + text, SLACK_SECTION_MAX),
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": _cut(msg.title, SLACK_HEADER_MAX)}},
                {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text or "-", SLACK_SECTION_MAX)}},
            ]}))
    if hook.kind == "feishu":
        locale = "zh_cn" if language.lower().startswith("zh") else "en_us"
        doc: dict[str, Any] = {"msg_type": "post", "content": {"post": {locale: {
            "title": msg.title, "content": [[{"tag": "text", "text": line}] for line in msg.lines]}}}}
        if secret:
            ts = int(now_s)
            doc = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **doc}
        return Outgoing(url, _dump(doc))
    if hook.kind == "dingtalk":
        text = f"#### {md_escape(msg.title)}\n\n" + "\n".join(f"- {md_escape(line)}" for line in msg.lines)
        if secret:
            ms = int(now_s * 1000)
            url = _with_query(url, f"timestamp={ms}&sign={quote_plus(dingtalk_sign(secret, ms))}")
        return Outgoing(url, _dump({"msgtype": "markdown", "markdown": {"title": msg.title, "text": text}}))
    if hook.kind == "wecom":
        content = f"**{md_escape(msg.title)}**\n" + "\n".join(f"> {md_escape(line)}" for line in msg.lines)
        raw = content.encode("utf-8")[: WECOM_MAX_BYTES]  # a limit in bytes: cut, then drop a split character
        return Outgoing(url, _dump({"msgtype": "markdown", "markdown": {"content": raw.decode("utf-8", "ignore")}}))
    if hook.kind == "telegram":
        return Outgoing(url, _dump({"chat_id": hook.chat_id, "text": telegram_text(msg), "parse_mode": "HTML",
                                    "disable_web_page_preview": True}))
    body = _dump(event.model_dump(mode="json"))
    headers: dict[str, str] = {"X-Curator-Event": str(event.event)}
    if secret:
        ts = int(now_s)
        headers |= {"X-Curator-Timestamp": str(ts), "X-Curator-Signature": json_signature(secret, ts, body)}
    return Outgoing(url, body, headers)


def telegram_text(msg: Message) -> str:
    """<b>title</b> and the lines, each escaped whole, cut by lines so no entity or tag is split."""
    out = f"<b>{html.escape(msg.title, quote=False)}</b>"
    for line in msg.lines:
        piece = "\n" + html.escape(line, quote=False)
        if len(out) + len(piece) > TELEGRAM_MAX:
            break
        out += piece
    return out


def refusal(kind: str, status: int, body: bytes) -> str | None:
    """Why the service refused the message, or None when it took it."""
    if not 200 <= status < 300:
        return f"HTTP {status}" + (f" ({why})" if (why := _said(kind, body)) else "")
    if kind in ("feishu", "dingtalk", "wecom"):
        doc = _json(body)
        code = doc.get("code", doc.get("StatusCode", doc.get("errcode", 0))) if isinstance(doc, dict) else 0
        if code not in (0, None):
            return f"HTTP {status} but {kind} answered code {code}" + (f": {why}" if (why := _said(kind, body)) else "")
    if kind == "telegram" and isinstance(doc := _json(body), dict) and doc.get("ok") is False:
        return f"HTTP {status} but telegram answered ok=false: {_said(kind, body) or 'no description'}"
    return None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8", "replace")) if body.strip() else None
    except ValueError:
        return None


def _said(kind: str, body: bytes) -> str:
    """The service's own short explanation (msg / errmsg / description), never more than 200 characters."""
    doc = _json(body)
    if isinstance(doc, dict):
        for key in ("msg", "StatusMessage", "errmsg", "description", "error"):
            if isinstance(doc.get(key), str):
                return _cut(doc[key], 200)
        return ""
    text = body.decode("utf-8", "replace").strip()
    return _cut(text, 200) if kind == "slack" and doc is None and text else ""  # Slack answers in words
