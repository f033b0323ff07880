"""A small generated news site on loopback for pipeline tests: one feed, N article pages, optional delay."""

from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOPICS = ["大模型", "开源", "芯片", "编程语言", "机器人", "数据库"]


def article_html(i: int) -> str:
    topic = TOPICS[i % len(TOPICS)]
    paras = "".join(
        f"<p>第{i}号报道第{j}段：某公司在 2026 年 11 月 {10 + i % 9} 日公布了关于{topic}的新进展，"
        f"相关产品的性能提升了 {j * 7 + i}%，已有 {100 + i * 3} 家企业开始试用，研究团队表示将在明年继续开源更多代码。</p>"
        for j in range(1, 7)
    )
    return (f"<html><head><meta charset='utf-8'><title>{topic}新闻 {i}</title></head><body>"
            f"<nav>首页 | 科技 | 关于</nav><article><h1>{topic}新闻 {i}：新进展发布</h1>{paras}</article>"
            f"<div class='related'>相关推荐：<a href='/x'>其他</a></div></body></html>")


class NewsSite:
    def __init__(self, n_articles: int = 12, page_delay_s: float = 0.0) -> None:
        self.n = n_articles
        self.page_delay_s = page_delay_s
        self.hits: dict[str, int] = {}
        self.not_modified = 0
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0]
                with site._lock:
                    site.hits[path] = site.hits.get(path, 0) + 1
                if path == "/feed.xml":
                    body, ctype = site.feed().encode(), "application/rss+xml"
                elif path.startswith("/a/") and path[3:].isdigit() and int(path[3:]) < site.n:
                    if site.page_delay_s:
                        time.sleep(site.page_delay_s)
                    body, ctype = article_html(int(path[3:])).encode(), "text/html; charset=utf-8"
                else:
                    self.send_response(404)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("if-none-match") == etag:
                    with site._lock:
                        site.not_modified += 1
                    self.send_response(304)
                    self.send_header("etag", etag)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("content-type", ctype)
                self.send_header("etag", etag)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def feed(self) -> str:
        items = "".join(
            f"<item><title>新闻 {i}</title><link>{self.base}/a/{i}</link>"
            f"<pubDate>Tue, {10 + i % 9} Nov 2026 08:00:00 GMT</pubDate></item>"
            for i in range(self.n)
        )
        return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>站</title>{items}</channel></rss>'

    def write_sources(self, workspace) -> None:  # type: ignore[no-untyped-def]
        (workspace / "config" / "sources.toml").write_text(
            f'[[sources]]\nname = "测试站"\nurl = "{self.base}/feed.xml"\n\n'
            '[fetch]\nallowed_hosts = ["127.0.0.1"]\nmax_concurrency = 2\nper_host_concurrency = 2\n'
        )

    def __enter__(self) -> NewsSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
