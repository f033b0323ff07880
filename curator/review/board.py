"""Review board: `curator review`, a local web page where the editor shapes the open draft.

    browser ─► TokenGate (Host, token cookie, CSRF on POST) ─► routes ─► decisions.record / regenerate
                                                                      └► views: select + decisions.replay

The board keeps one Store for its lifetime, opened on its own thread (SQLite connections stay on the
thread that made them) where every store call runs, one at a time; closed when the board stops. The one
script is static/board.js (keyboard shortcuts, one tab stop per card); the CSP allows that file and nothing
inline, so text from sources can never run, and every action is a plain form that works without it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import threading
import webbrowser
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp

from curator import decisions, finds
from curator.decisions import Action
from curator.errors import CuratorError
from curator.models import Candidate, ItemState
from curator.pipeline import Pipeline
from curator.review.capture import bookmarklet, share_template
from curator.review.capture import confirm as capture_confirm
from curator.review.capture import save as capture_save
from curator.review.capture import tools as capture_tools
from curator.review.exposed import listening
from curator.review.gate import Forbidden, TokenGate, checked_form
from curator.review.inputs import MAX_INT, MAX_SUMMARY_CHARS, MAX_TITLE_CHARS, BadRequest, Contained, form_int
from curator.review.searchview import search_page
from curator.review.views import (
    issue_as_of,
    load_item,
    load_view,
    markdown_to_html,
    safe_href,
    story_date,
    story_sources,
)
from curator.runlock import run_lock
from curator.settings import Settings
from curator.store import Store

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
T = TypeVar("T")


class BoardStore:
    """The board's one Store, opened on first use on a thread of its own; every call runs there, in turn."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self._store: Store | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._guard = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        with self._guard:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="review-store")
            return self._pool

    def _on_thread(self, fn: Callable[[Store], T]) -> T:
        if self._store is None:  # opened lazily: a store that cannot be opened is an error per request
            self._store = Store(self.path)
        return fn(self._store)

    async def run(self, fn: Callable[[Store], T]) -> T:
        return await asyncio.wrap_future(self._executor().submit(self._on_thread, fn))

    def close(self) -> None:
        with self._guard:
            pool, self._pool = self._pool, None
        if pool is None:
            return

        def close_store() -> None:
            if self._store is not None:
                self._store.close()
                self._store = None

        pool.submit(close_store).result()
        pool.shutdown(wait=True)


@dataclass
class Board:
    """What the routes share: settings, the token, templates, the store, notices for the next page."""

    settings: Settings
    token: str
    templates: Jinja2Templates
    store: BoardStore
    notices: list[tuple[str, str]] = field(default_factory=list)

    def notice(self, level: str, text: str) -> None:
        self.notices.append((level, text))

    def page(self, request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
        notices, self.notices = self.notices, []
        return self.templates.TemplateResponse(request, name, {"csrf": self.token, "notices": notices,
                                                               "publication": self.settings.publication, **context},
                                               status_code=status_code)


def _board(request: Request) -> Board:
    return cast(Board, request.app.state.board)


# ---- writing (on the store's thread) -------------------------------------------------------------
def regenerate(settings: Settings, store: Store) -> Path:
    """Rewrite drafts/issue-N.md of the open draft from select + the stored decisions."""
    with run_lock(settings, "review"):
        row = store.open_draft_issue()
        if row is None:
            raise CuratorError("there is no open draft: run `curator draft` first", reason="no_draft")
        number, as_of = row.number, issue_as_of(settings, row)
        run = Pipeline(settings, store).draft(number=number, as_of=as_of)  # replays the stored decisions
        assert run.draft_path is not None
        return run.draft_path


def add_url(settings: Settings, store: Store, number: int, url: str, section: str | None, process: bool,
            title: str = "", note: str = "") -> tuple[str, str]:
    """Add the editor's URL as a manual candidate and record an `add` decision; optionally collect it now.
    Returns (notice level, text): the text says when the page could not be fetched."""
    pipe = Pipeline(settings, store)
    item_id, is_new = pipe.add_candidate(Candidate(url=url, title=title, snippet=note, source="manual"))
    decisions.record(store, number, Action.ADD, item_id=item_id, section=section, url=url)
    if not process or not is_new:
        return "ok", f"已添加条目 {item_id}" + ("" if is_new else "（已在库中）") + (
            "；运行 `curator collect` 后它会出现在草稿里" if is_new else "")
    with run_lock(settings, "add"):
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


def record_decision(settings: Settings, store: Store, fields: dict[str, str]) -> None:
    """Record the editor's decision from a /decide form on the open draft."""
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
        view = load_view(settings, store)
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


# ---- routes ------------------------------------------------------------------------------------
async def index(request: Request) -> Response:
    board = _board(request)
    view = await board.store.run(lambda store: load_view(board.settings, store))
    sections = [(s.id, s.title) for s in board.settings.sections]
    return board.page(request, "board.html", {"view": view, "sections": sections,
                                              "section_title": dict(sections), "Action": Action})


async def draft(request: Request) -> Response:
    board = _board(request)
    view = await board.store.run(lambda store: load_view(board.settings, store))
    if view is None or not view.path.exists():
        return board.page(request, "draft.html", {"view": view, "front": "", "html": ""}, status_code=404)
    front, html = markdown_to_html(view.path.read_text(encoding="utf-8"))
    return board.page(request, "draft.html", {"view": view, "front": front, "html": html})


async def item(request: Request) -> Response:
    board = _board(request)
    item_id = int(request.path_params["item_id"])
    if item_id > MAX_INT:
        return PlainTextResponse("no such item", status_code=404)
    found = await board.store.run(lambda store: load_item(store, item_id))
    if found is None:
        return PlainTextResponse("no such item", status_code=404)
    return board.page(request, "item.html", {"item": found})


async def search(request: Request) -> Response:
    board = _board(request)
    page = await board.store.run(lambda store: search_page(store, request.query_params))
    sections = [(s.id, s.title) for s in board.settings.sections]
    return board.page(request, "search.html", {"page": page, "sections": sections, "section_title": dict(sections)},
                      status_code=400 if page.error else 200)


async def decide(request: Request) -> Response:
    board = _board(request)
    fields = await checked_form(request, board.token)
    for name in ("story_id", "replaces", "position", "focus"):
        form_int(fields.get(name), name)  # malformed numbers: 400 before anything is read or written
    try:
        await board.store.run(lambda store: record_decision(board.settings, store, fields))
    except CuratorError as exc:
        board.notice("error", str(exc))
    # Back to the card: the decided one, or the one the keyboard moves on to (`focus`: the next after a drop).
    story_id = form_int(fields.get("focus")) or form_int(fields.get("story_id"))
    anchor = f"#story-{story_id}" if story_id is not None else ""
    return RedirectResponse(f"/{anchor}", status_code=303)


async def add(request: Request) -> Response:
    board = _board(request)
    fields = await checked_form(request, board.token)
    if fields.get("capture") == "1":  # the share URL's confirm form: `curator add`, no open draft needed
        return await capture_save(request, fields)
    view = await board.store.run(lambda store: load_view(board.settings, store))
    if view is None:
        board.notice("error", "there is no open draft: run `curator draft` first")
        return RedirectResponse("/", status_code=303)
    section = fields.get("section") or None
    if section is not None and section not in {s.id for s in board.settings.sections}:
        section = None
    url, title, note = fields.get("url", "").strip(), fields.get("title", "").strip(), fields.get("note", "").strip()
    process = fields.get("process") == "on"
    try:
        level, text = await board.store.run(
            lambda store: add_url(board.settings, store, view.number, url, section, process, title, note))
        board.notice(level, text)
    except CuratorError as exc:
        board.notice("error", str(exc))
    return RedirectResponse("/#add", status_code=303)


async def regen(request: Request) -> Response:
    board = _board(request)
    await checked_form(request, board.token)
    try:
        path = await board.store.run(lambda store: regenerate(board.settings, store))
        board.notice("ok", f"草稿已重新生成：{path}")
    except CuratorError as exc:
        board.notice("error", str(exc))
    return RedirectResponse("/", status_code=303)


async def forbidden(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"forbidden: {exc}", status_code=403)


async def bad_request(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, BadRequest) else 400
    return PlainTextResponse(f"bad request: {exc}", status_code=status)


def make_app(settings: Settings, token: str, *, allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> Starlette:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["safe_href"] = safe_href
    templates.env.globals["sources_of"] = lambda story: story_sources(story, settings.publication.editor_label)
    templates.env.globals["story_date"] = story_date
    templates.env.globals["bookmarklet"] = lambda base: bookmarklet(str(base).rstrip("/"), token)
    templates.env.globals["share_url"] = lambda base: share_template(str(base).rstrip("/"), token)
    board = Board(settings=settings, token=token, templates=templates, store=BoardStore(settings.store_target))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        board.store.close()

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/draft", draft, methods=["GET"]),
        Route("/items/{item_id:int}", item, methods=["GET"]),
        Route("/search", search, methods=["GET"]),
        Route("/decide", decide, methods=["POST"]),
        Route("/add", add, methods=["POST"]),
        Route("/add", capture_confirm, methods=["GET"]),  # the share URL (bookmarklet, phone)
        Route("/capture", capture_tools, methods=["GET"]),
        Route("/regenerate", regen, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={Forbidden: forbidden, BadRequest: bad_request},
                    lifespan=lifespan)
    app.state.board = board
    app.add_middleware(TokenGate, token=token, allowed_hosts=allowed_hosts)
    app.add_middleware(Contained)  # outside the gate, inside Starlette's own error middleware
    return app


def close_app(app: ASGIApp) -> None:
    """Close the board's store (the server runs without lifespan events, so it is closed here)."""
    board = getattr(getattr(app, "state", None), "board", None)
    if isinstance(board, Board):
        board.store.close()


# ---- serving -----------------------------------------------------------------------------------
def _listen(port: int, host: str = "127.0.0.1") -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))  # loopback unless `--host` said otherwise (exposed.py)
    sock.listen(64)
    return sock


def _server(app: ASGIApp) -> uvicorn.Server:
    # No access log: the first request's URL carries the token. No proxy headers: nothing sits in front.
    return uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, proxy_headers=False,
                                         server_header=False, lifespan="off"))


@contextmanager
def running(app: ASGIApp, *, port: int = 0, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `app` on `host` (127.0.0.1) in a background thread; yields the base URL (for tests and embedding)."""
    sock = _listen(port, host)
    server = _server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            threading.Event().wait(0.01)
        yield f"http://{f'[{host}]' if ':' in host else host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        close_app(app)


def serve(settings: Settings, *, echo: Callable[[str], None], port: int = 0, open_browser: bool = True,
          host: str = "127.0.0.1", token: str | None = None, allow_hosts: tuple[str, ...] = ()) -> None:
    """Run the board until Ctrl-C. Says the URL with the token through `echo` (the CLI prints it); opens it
    in a browser unless told not to. A non-loopback `host` needs a fixed `token` (review/exposed.py)."""
    plan = listening(host, token, allow_hosts)
    token = token or secrets.token_urlsafe(32)
    try:
        sock = _listen(port, plan.bind)
    except OSError as exc:
        raise CuratorError(f"cannot listen on {plan.bind}:{port}: {exc.strerror}; pick another --port or --host",
                           reason="port") from exc
    url = f"http://{plan.shown}:{sock.getsockname()[1]}/?token={token}"
    echo(f"review board: {url}")
    echo("the token in this URL is the only key to the board; Ctrl-C stops it")
    for line in plan.warnings:
        echo(line)
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    app = make_app(settings, token, allowed_hosts=plan.allowed_hosts)
    try:
        _server(app).run(sockets=[sock])
    finally:
        sock.close()
        close_app(app)
