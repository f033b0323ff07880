"""Review board: `curator review`, a local web page where the editor shapes the open draft.

    browser ─► TokenGate (Host, token cookie, CSRF on POST) ─► routes ─► decisions.record / regenerate
                                                                      └► board: select + decisions.replay

The board shows what the next regeneration will write (select + the stored decisions, replayed);
the Markdown file changes only when the editor presses "regenerate". Served on 127.0.0.1 only, to one
person: a random token printed at start is needed for every request (`?token=` once, then an HttpOnly
SameSite=Strict cookie), and every POST must also carry the token as its `csrf` form field. Pages
carry no script at all, and the CSP forbids any, so text from sources can never run.
"""

from __future__ import annotations

import logging
import re
import secrets
import socket
import threading
import webbrowser
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import nh3
import uvicorn
from markdown_it import MarkdownIt
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from curator import decisions, finds, select
from curator.decisions import Action, Review
from curator.errors import CuratorError
from curator.mdsafe import safe_url
from curator.models import Candidate, Issue, IssueRecord, Item, ItemState, Story
from curator.pipeline import Pipeline
from curator.review.inputs import (
    MAX_INT,
    MAX_SUMMARY_CHARS,
    MAX_TITLE_CHARS,
    BadRequest,
    Contained,
    form_int,
    read_form,
)
from curator.runlock import RunLock
from curator.settings import Settings
from curator.store import Store

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
COOKIE = "curator_review"
MAX_FORM_BYTES = 64_000
_HOST_HEADER = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?")
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
_MD = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_ALLOWED_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "strong", "em", "code", "pre",
                 "blockquote", "a", "hr", "br", "table", "thead", "tbody", "tr", "th", "td", "sup"}


def _same(given: str | None, token: str) -> bool:
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
        if _host_name(request.headers.get("host", "")) not in self.allowed_hosts:
            await PlainTextResponse("forbidden host", status_code=403)(scope, receive, send_secured)
            return
        origin = request.headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).hostname not in self.allowed_hosts:
            await PlainTextResponse("forbidden origin", status_code=403)(scope, receive, send_secured)
            return
        if request.method == "GET" and _same(request.query_params.get("token"), self.token):
            # Trade the token in the URL for a cookie, and drop it from the address bar and history.
            response = RedirectResponse(request.url.path, status_code=303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
            await response(scope, receive, send_secured)
            return
        if not _same(request.cookies.get(COOKIE), self.token):
            await PlainTextResponse("forbidden: open the URL `curator review` printed (it carries the token)",
                                    status_code=403)(scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)


def _host_name(header: str) -> str | None:
    """The name in a Host header that is exactly `name[:port]`; None for anything else (`a@b`, spaces …), which
    a URL parser would read some other way than the browser meant."""
    m = _HOST_HEADER.fullmatch(header.strip())
    return m.group(1).strip("[]").lower() if m else None


class Forbidden(Exception):
    pass


@dataclass
class Board:
    """What the routes share: settings, the token, templates, notices for the next page, a write lock."""

    settings: Settings
    token: str
    templates: Jinja2Templates
    notices: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def notice(self, level: str, text: str) -> None:
        self.notices.append((level, text))


# ---- reading the board's state ----------------------------------------------------------------
def issue_as_of(settings: Settings, row: IssueRecord) -> datetime:
    """The date the draft was made for: its front matter `date:` (the window's end), else when it was made.

    Drafts made since schema 3 record it in the issues table; older ones fall back to the file.
    """
    if row.as_of:
        return row.as_of
    path = settings.drafts_dir / f"issue-{row.number}.md"
    if not path.exists() and row.path:
        path = Path(row.path)
    if path.exists():
        head = path.read_text(encoding="utf-8", errors="replace")[:4000]
        m = re.search(r"^date:\s*[\"']?(\d{4})-(\d{2})-(\d{2})", head, re.MULTILINE)
        if m:
            return datetime(int(m[1]), int(m[2]), int(m[3]), 23, 59, tzinfo=UTC)
    made = row.created_at
    return made.replace(hour=23, minute=59, second=0, tzinfo=made.tzinfo or UTC)


@dataclass
class BoardView:
    number: int
    path: Path
    as_of: datetime
    review: Review
    runners_up: list[Story]
    stale: bool  # decisions newer than the Markdown file
    decision_count: int
    already_ran: list[tuple[Item, int | None]] = field(default_factory=list)  # never selected again

    @property
    def issue(self) -> Issue:
        return self.review.issue


def load_view(settings: Settings) -> BoardView | None:
    with Store(settings.db_path) as store:
        row = store.open_draft_issue()
        if row is None:
            return None
        number, as_of = row.number, issue_as_of(settings, row)
        items = store.items(states=[ItemState.ENRICHED, ItemState.DRAFTED])
        issue, _ = select.select_for(store, settings, items, number=number, as_of=as_of)
        found = decisions.load(store, number)
        review = decisions.replay(issue, found, select.pool(items, settings))
        decisions.retitle(review.issue, settings)
        ran = select.already_ran(store, items)
        already = [(i, ran[i.id]) for i in items if i.id in ran and i.enrichment is not None]
    path = settings.drafts_dir / f"issue-{number}.md"
    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC) if path.exists() else None
    stale = bool(found) and (mtime is None or max(d.created_at for d in found) > mtime)
    return BoardView(number=number, path=path, as_of=as_of, review=review, runners_up=review.issue.runners_up,
                     stale=stale, decision_count=len(found), already_ran=already)


def load_item(settings: Settings, item_id: int) -> Item | None:
    with Store(settings.db_path) as store:
        found = store.items(ids=[item_id])
    return found[0] if found else None


# ---- writing -----------------------------------------------------------------------------------
def regenerate(settings: Settings) -> Path:
    """Rewrite drafts/issue-N.md of the open draft from select + the stored decisions."""
    with RunLock(settings.lock_path, "review"), Store(settings.db_path) as store:
        row = store.open_draft_issue()
        if row is None:
            raise CuratorError("there is no open draft: run `curator draft` first", reason="no_draft")
        number, as_of = row.number, issue_as_of(settings, row)
        run = Pipeline(settings, store).draft(number=number, as_of=as_of)  # replays the stored decisions
        assert run.draft_path is not None
        return run.draft_path


def add_url(settings: Settings, number: int, url: str, section: str | None, process: bool,
            title: str = "", note: str = "") -> tuple[str, str]:
    """Add the editor's URL as a manual candidate and record an `add` decision; optionally collect it now.
    Returns (notice level, text): the text says when the page could not be fetched."""
    with Store(settings.db_path) as store:
        pipe = Pipeline(settings, store)
        item_id, is_new = pipe.add_candidate(Candidate(url=url, title=title, snippet=note, source="manual"))
        decisions.record(store, number, Action.ADD, item_id=item_id, section=section, url=url)
        if not process or not is_new:
            return "ok", f"已添加条目 {item_id}" + ("" if is_new else "（已在库中）") + (
                "；运行 `curator collect` 后它会出现在草稿里" if is_new else "")
    with RunLock(settings.lock_path, "add"), Store(settings.db_path) as store:
        run = Pipeline(settings, store).collect(discover=False, command="add")
        found = store.items(ids=[item_id])
    flags = [f for f in (found[0].enrichment.flags if found and found[0].enrichment else [])
             if f.startswith(finds.NOT_FETCHED)]
    if flags:
        reason = flags[0].partition(":")[2]
        return "warn", (f"已添加条目 {item_id}，但页面未能抓取（{reason}）：已按你填写的标题/摘要（或网址）作为候选，"
                        f"并标记为「未抓取」供审阅（run #{run.run_id}: {run.status}）")
    if found and found[0].state in (ItemState.FAILED, ItemState.SKIPPED):
        return "error", f"已添加条目 {item_id}，但处理失败：{found[0].state.value}:{found[0].reason}（run #{run.run_id}）"
    return "ok", f"已添加条目 {item_id} 并抓取、摘要（run #{run.run_id}: {run.status}）"


# ---- rendering helpers -------------------------------------------------------------------------
def safe_href(url: object) -> str:
    """Only http(s) links reach an href, with spaces and quotes encoded; anything else (javascript:,
    data:) becomes a dead link."""
    return safe_url(url) or "#"


def markdown_to_html(text: str) -> tuple[str, str]:
    """(front matter, sanitised HTML body) of a draft. Raw HTML from the text is shown as text, never run."""
    front = ""
    m = re.match(r"---\n(.*?)\n---\n", text, re.DOTALL)
    if m:
        front, text = m[1], text[m.end():]
    text = re.sub(r"<!--.*?-->\n?", "", text, flags=re.DOTALL)  # provenance comments: the board shows them per story
    # CommonMark has no footnotes: show the definitions as a numbered list and the marks as [n].
    text = re.sub(r"^\[\^(\d+)\]:\s*", r"\1. ", text, flags=re.MULTILINE)
    text = re.sub(r"\[\^(\d+)\]", r"[\1]", text)
    html = _MD.render(text)
    # Links keep only an http(s) href (no title: it would carry source text into an attribute).
    allowed = {"a": {"href"}, "th": {"align"}, "td": {"align"}}
    clean = nh3.clean(html, tags=_ALLOWED_TAGS, attributes=allowed, url_schemes={"http", "https"},
                      attribute_filter=lambda tag, attr, value: value if attr in allowed.get(tag, ()) else None,
                      link_rel="noopener noreferrer nofollow")
    return front, clean


def _sources(story: Story, editor_label: str = finds.EDITOR_SOURCE) -> list[dict[str, Any]]:
    out = []
    for item in sorted(story.items, key=lambda i: not finds.is_editor_find(i)):  # as the draft cites them
        for ref in item.sources:
            name = editor_label if ref.source == finds.EDITOR_SOURCE else ref.source
            out.append({"name": name, "url": item.url, "discussion_url": ref.discussion_url,
                        "points": ref.points, "submitter": ref.submitter})
    return out


# ---- routes ------------------------------------------------------------------------------------
async def _form(request: Request, board: Board) -> dict[str, str]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise Forbidden("forms only")
    parsed = await read_form(request, MAX_FORM_BYTES)
    fields = {k: v[-1] for k, v in parsed.items()}
    if not _same(fields.get("csrf"), board.token):
        raise Forbidden("missing or wrong csrf field")
    return fields


def make_app(settings: Settings, token: str, *, allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> Starlette:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["safe_href"] = safe_href
    templates.env.globals["sources_of"] = lambda story: _sources(story, settings.publication.editor_label)
    board = Board(settings=settings, token=token, templates=templates)

    def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
        notices, board.notices = board.notices, []
        return templates.TemplateResponse(request, name, {"csrf": token, "notices": notices,
                                                          "publication": settings.publication, **context},
                                          status_code=status_code)

    async def index(request: Request) -> Response:
        view = await run_in_threadpool(load_view, settings)
        sections = [(s.id, s.title) for s in settings.sections]
        return page(request, "board.html", {"view": view, "sections": sections,
                                            "section_title": dict(sections), "Action": Action})

    async def draft(request: Request) -> Response:
        view = await run_in_threadpool(load_view, settings)
        if view is None or not view.path.exists():
            return page(request, "draft.html", {"view": view, "front": "", "html": ""}, status_code=404)
        front, html = markdown_to_html(view.path.read_text(encoding="utf-8"))
        return page(request, "draft.html", {"view": view, "front": front, "html": html})

    async def item(request: Request) -> Response:
        item_id = int(request.path_params["item_id"])
        if item_id > MAX_INT:
            return PlainTextResponse("no such item", status_code=404)
        found = await run_in_threadpool(load_item, settings, item_id)
        if found is None:
            return PlainTextResponse("no such item", status_code=404)
        return page(request, "item.html", {"item": found})

    def _record(fields: dict[str, str]) -> None:
        with board.lock, Store(settings.db_path) as store:
            row = store.open_draft_issue()
            if row is None:
                raise CuratorError("there is no open draft: run `curator draft` first", reason="no_draft")
            number = row.number
            action = fields.get("action", "")
            if len(fields.get("title") or "") > MAX_TITLE_CHARS or len(fields.get("summary") or "") > MAX_SUMMARY_CHARS:
                raise CuratorError(f"a title has at most {MAX_TITLE_CHARS} characters, a summary {MAX_SUMMARY_CHARS}",
                                   reason="bad_decision")
            story_id = form_int(fields.get("story_id"), "story_id")
            section = fields.get("section") or None
            if section is not None and section not in {s.id for s in settings.sections}:
                raise CuratorError(f"unknown section {section!r}", reason="bad_decision")
            replaces = form_int(fields.get("replaces"), "replaces")
            if action == Action.SWAP_IN and replaces is not None:
                # "in place of": the replaced story goes, the runner-up takes its section and slot.
                view = load_view(settings)
                assert view is not None
                for sec in view.issue.sections:
                    for pos, st in enumerate(sec.stories):
                        if st.id == replaces:
                            decisions.record(store, number, Action.DROP, story_id=replaces)
                            decisions.record(store, number, Action.SWAP_IN, story_id=story_id, section=sec.id,
                                             position=pos)
                            return
            decisions.record(
                store, number, action, story_id=story_id, section=section,
                position=form_int(fields.get("position"), "position"),
                title=fields.get("title") if action == Action.EDIT else None,
                summary=fields.get("summary") if action == Action.EDIT else None,
            )

    async def decide(request: Request) -> Response:
        fields = await _form(request, board)
        for name in ("story_id", "replaces", "position"):
            form_int(fields.get(name), name)  # malformed numbers: 400 before anything is read or written
        try:
            await run_in_threadpool(_record, fields)
        except CuratorError as exc:
            board.notice("error", str(exc))
        story_id = form_int(fields.get("story_id"))
        anchor = f"#story-{story_id}" if story_id is not None else ""
        return RedirectResponse(f"/{anchor}", status_code=303)

    async def add(request: Request) -> Response:
        fields = await _form(request, board)
        view = await run_in_threadpool(load_view, settings)
        if view is None:
            board.notice("error", "there is no open draft: run `curator draft` first")
            return RedirectResponse("/", status_code=303)
        section = fields.get("section") or None
        if section is not None and section not in {s.id for s in settings.sections}:
            section = None
        try:
            level, text = await run_in_threadpool(add_url, settings, view.number, fields.get("url", "").strip(),
                                                  section, fields.get("process") == "on",
                                                  fields.get("title", "").strip(), fields.get("note", "").strip())
            board.notice(level, text)
        except CuratorError as exc:
            board.notice("error", str(exc))
        return RedirectResponse("/#add", status_code=303)

    async def regen(request: Request) -> Response:
        await _form(request, board)

        def run() -> Path:
            with board.lock:
                return regenerate(settings)

        try:
            path = await run_in_threadpool(run)
            board.notice("ok", f"草稿已重新生成：{path}")
        except CuratorError as exc:
            board.notice("error", str(exc))
        return RedirectResponse("/", status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"forbidden: {exc}", status_code=403)

    async def bad_request(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, BadRequest) else 400
        return PlainTextResponse(f"bad request: {exc}", status_code=status)

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/draft", draft, methods=["GET"]),
        Route("/items/{item_id:int}", item, methods=["GET"]),
        Route("/decide", decide, methods=["POST"]),
        Route("/add", add, methods=["POST"]),
        Route("/regenerate", regen, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={Forbidden: forbidden, BadRequest: bad_request})
    app.add_middleware(TokenGate, token=token, allowed_hosts=allowed_hosts)
    app.add_middleware(Contained)  # outside the gate, inside Starlette's own error middleware
    return app


# ---- serving -----------------------------------------------------------------------------------
def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))  # loopback only, whatever the network around
    sock.listen(64)
    return sock


def _server(app: ASGIApp) -> uvicorn.Server:
    # No access log: the first request's URL carries the token. No proxy headers: nothing sits in front.
    return uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, proxy_headers=False,
                                         server_header=False, lifespan="off"))


@contextmanager
def running(app: ASGIApp, *, port: int = 0) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 in a background thread; yields the base URL (for tests and embedding)."""
    sock = _listen(port)
    server = _server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            threading.Event().wait(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def serve(settings: Settings, *, port: int = 0, open_browser: bool = True,
          echo: Callable[[str], None] = print) -> None:
    """Run the board until Ctrl-C. Prints the URL with the token; opens it in a browser unless told not to."""
    token = secrets.token_urlsafe(32)
    try:
        sock = _listen(port)
    except OSError as exc:
        raise CuratorError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}; pick another --port",
                           reason="port") from exc
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/?token={token}"
    echo(f"review board: {url}")
    echo("the token in this URL is the only key to the board; Ctrl-C stops it")
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    try:
        _server(make_app(settings, token)).run(sockets=[sock])
    finally:
        sock.close()
