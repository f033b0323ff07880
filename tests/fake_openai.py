"""An OpenAI-compatible fake on loopback: answers POST /v1/chat/completions from a script.

Each scripted step is a `Reply` (or a callable taking the request JSON and returning one). With the
script empty, it answers validly from the prompt itself (title from 原标题, first allowed section
and tag), so the real SDK and the real parsing path are exercised.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.loopback import LoopbackServer


@dataclass
class Reply:
    content: str | None = None
    finish_reason: str = "stop"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    refusal: str | None = None
    body: dict[str, Any] | None = None  # raw JSON body for error statuses
    drop_connection: bool = False


def valid_answer(request: dict[str, Any], **overrides: Any) -> str:
    prompt = request["messages"][0]["content"]
    title = re.search(r"原标题：(.*)", prompt)
    sections = re.findall(r"(\w+)（[^）]*）", prompt.split("section 只能是这些栏目 id 之一：", 1)[-1].split("\n", 1)[0])
    tags_line = prompt.split("tags 只能从这些标签中选：", 1)[-1].split("\n", 1)[0].rstrip("。")
    tags = [t for t in tags_line.split("、") if t][:1]
    answer = {
        "title": (title.group(1).strip() if title else "标题")[:30] or "标题",
        "summary": "这是一段由测试服务器生成的中文摘要，内容来自文章本身。",
        "tags": tags,
        "section": sections[0] if sections else "ai",
        "score": 70,
        "reason": "与本刊关注的主题相关",
    }
    answer.update(overrides)
    return json.dumps(answer, ensure_ascii=False)


def triage_answer(request: dict[str, Any], score: Callable[[int, str], int] | None = None) -> str:
    """A valid triage answer: every candidate id in the prompt, scored (default 70)."""
    prompt = request["messages"][0]["content"]
    sections = re.findall(r"(\w+)（[^）]*）", prompt.split("最合适的：", 1)[-1].split("\n", 1)[0])
    rows = re.findall(r"^\[(\d+)\] (.*)$", prompt, re.MULTILINE)
    return json.dumps({"items": [
        {"id": int(i), "score": score(int(i), title) if score else 70, "section": sections[0] if sections else "ai"}
        for i, title in rows
    ]}, ensure_ascii=False)


def is_triage(request: dict[str, Any]) -> bool:
    return "初筛" in request["messages"][0]["content"]


class FakeOpenAI(LoopbackServer):
    def __init__(self) -> None:
        self.script: list[Reply | Callable[[dict[str, Any]], Reply]] = []
        self.requests: list[dict[str, Any]] = []
        self.headers_seen: list[dict[str, str]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                request = json.loads(self.rfile.read(length) or b"{}")
                with fake._lock:
                    fake.requests.append(request)
                    fake.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
                    step = fake.script.pop(0) if fake.script else None
                reply = step(request) if callable(step) else step
                if reply is None:
                    reply = Reply(content=triage_answer(request) if is_triage(request) else valid_answer(request))
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.drop_connection:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if reply.status != 200:
                    body = reply.body or {"error": {"message": "scripted error", "type": "server_error"}}
                else:
                    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
                    if reply.refusal:
                        message = {"role": "assistant", "content": None, "refusal": reply.refusal}
                    body = {
                        "id": f"chatcmpl-{len(fake.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": request.get("model", "fake"),
                        "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
                        "usage": {"prompt_tokens": len(json.dumps(request)) // 4, "completion_tokens": 50,
                                  "total_tokens": len(json.dumps(request)) // 4 + 50},
                    }
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        super().__init__(Handler)

    @property
    def base_url(self) -> str:
        return self.origin + "/v1"

