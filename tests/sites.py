"""A small generated news site on loopback for pipeline tests: one feed, N article pages, optional delay."""

from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.loopback import LoopbackServer

TOPICS = ["大模型", "开源", "芯片", "编程语言", "机器人", "数据库"]


SUBJECTS = ["星河智能", "北辰科技", "青松数据", "远望半导体", "云杉实验室", "海川机器人", "白鹭软件", "赤霄网络",
            "松果大学", "蓝鲸云", "墨子量子", "长风汽车", "银杏医疗", "金石证券", "紫藤出版", "灯塔基金"]
PHRASES = ["发布了新一代产品", "完成了新一轮融资", "宣布开源核心代码", "公布了季度财报", "推出了开发者平台",
           "披露了安全漏洞细节", "启动了全球招聘计划", "与高校共建联合实验室", "下调了旗舰型号价格", "通过了行业认证",
           "上线了多语言版本", "关停了一项老业务", "签下了大型政企订单", "更新了隐私政策", "举办了年度技术大会"]
OBJECTS = ["数据中心", "手机芯片", "编程助手", "自动驾驶系统", "开源数据库", "语音模型", "图像生成工具", "机器人底盘",
           "云存储服务", "安全网关", "操作系统", "量子计算原型", "医疗影像软件", "电池材料", "教育应用"]


def article_title(i: int) -> str:
    return f"{SUBJECTS[i % len(SUBJECTS)]}的{OBJECTS[(i * 7) % len(OBJECTS)]}：第 {1000 + i * 37} 号"


def article_html(i: int) -> str:
    """A distinct article per i: its own companies, events and numbers (so stories never merge)."""
    import random

    rnd = random.Random(i * 7919)
    topic = TOPICS[i % len(TOPICS)]
    paras = "".join(
        f"<p>{rnd.choice(SUBJECTS)}在 2026 年 11 月 {10 + i % 9} 日{rnd.choice(PHRASES)}，涉及{rnd.choice(OBJECTS)}，"
        f"金额约 {rnd.randint(100, 99999)} 万元，覆盖 {rnd.randint(3, 900)} 个城市；{rnd.choice(SUBJECTS)}随后表示"
        f"{rnd.choice(PHRASES)}，并计划在{rnd.choice(OBJECTS)}方面投入 {rnd.randint(10, 5000)} 名工程师。</p>"
        for _ in range(6)
    )
    title = article_title(i)
    return (f"<html><head><meta charset='utf-8'><title>{title}</title></head><body>"
            f"<nav>首页 | 科技 | 关于</nav><article><h1>{title}</h1><p>{topic}专题。</p>{paras}</article>"
            f"<div class='related'>相关推荐：<a href='/x'>其他</a></div></body></html>")


class NewsSite(LoopbackServer):
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

            def do_GET(self) -> None:
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

        super().__init__(Handler)

    @property
    def base(self) -> str:
        return self.origin + ""

    def feed(self) -> str:
        items = "".join(
            f"<item><title>{article_title(i)}</title><link>{self.base}/a/{i}</link>"
            f"<pubDate>Tue, {10 + i % 9} Nov 2026 08:00:00 GMT</pubDate></item>"
            for i in range(self.n)
        )
        return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>站</title>{items}</channel></rss>'

    def write_sources(self, workspace) -> None:  # type: ignore[no-untyped-def]
        (workspace / "config" / "sources.toml").write_text(
            f'[[sources]]\nname = "测试站"\nurl = "{self.base}/feed.xml"\n\n'
            '[fetch]\nallowed_hosts = ["127.0.0.1"]\nmax_concurrency = 2\nper_host_concurrency = 2\n'
        )



class PageWeb(LoopbackServer):
    """A loopback site of fixed pages (`pages`: path → HTML) plus `/feed.xml` from `feed()`."""

    def __init__(self, pages: dict[str, str]) -> None:
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path == "/feed.xml":
                    body, ctype = web.feed().encode(), "application/rss+xml"
                elif path in pages:
                    body, ctype = pages[path].encode(), "text/html; charset=utf-8"
                else:
                    body, ctype = b"", ""
                self.send_response(200 if ctype else 404)
                self.send_header("content-type", ctype or "text/plain")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)

    def feed(self) -> str:
        raise NotImplementedError
