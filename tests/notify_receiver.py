"""A webhook receiver on loopback: captures every POST (path, query, headers, JSON body) and answers from a
script: (status, body) pairs, or "hang" (never answers until the test ends; bounded by `hang_s`)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.canary import CANARY
from tests.loopback import LoopbackServer

ACCEPTED = b'{"code":0,"errcode":0,"errmsg":"ok","ok":true}'  # what every service answers when it took a message


@dataclass
class Captured:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver(LoopbackServer):
    def __init__(self, *script: tuple[int, bytes] | str, hang_s: float = 10.0, together: int = 0) -> None:
        """`together`: answer nothing until that many requests are in (proves a sender posts them at once)."""
        self.script: list[tuple[int, bytes] | str] = list(script)
        barrier = threading.Barrier(together) if together else None
        self.requests: list[Captured] = []
        self.release = threading.Event()
        lock = threading.Lock()
        rx = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                parts = urlsplit(self.path)
                with lock:
                    rx.requests.append(Captured(parts.path, parse_qs(parts.query),
                                                {k.lower(): v for k, v in self.headers.items()}, body))
                    step = rx.script.pop(0) if rx.script else (200, ACCEPTED)
                if barrier is not None:
                    try:
                        barrier.wait(hang_s)
                    except threading.BrokenBarrierError:
                        pass
                if step == "hang":
                    rx.release.wait(hang_s)
                    self.close_connection = True
                    return
                status, data = step
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        super().__init__(Handler)

    def url(self, name: str = "hook") -> str:
        """A webhook URL whose path carries the session's canary secret, as real ones carry theirs."""
        return f"{self.origin}/{name}/{CANARY}"

    @property
    def host(self) -> str:
        return self.origin.split("//", 1)[1]

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        super().__exit__(*exc)


def write_hooks(workspace, *entries: str, **notify: object) -> None:  # type: ignore[no-untyped-def]
    """config/zz-notify.toml: loopback allowed (tests only), no retry waits, a short timeout, these hooks."""
    keys = {"allowed_hosts": ["127.0.0.1"], "retry_wait_s": 0, "timeout_s": 2, **notify}
    head = "[notify]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in keys.items())
    (workspace / "config" / "zz-notify.toml").write_text(head + "\n" + "\n".join(entries), encoding="utf-8")


def hook(kind: str, env: str = "HOOK_URL", **keys: object) -> str:
    lines = [f'kind = "{kind}"'] + ([f'url_env = "{env}"'] if kind != "telegram" else [])
    lines += [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    return "[[notify.webhooks]]\n" + "\n".join(lines) + "\n"
