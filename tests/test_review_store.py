"""The board keeps one Store for its lifetime, on one thread, and closes it when it stops."""

from __future__ import annotations

import threading

import httpx
from starlette.testclient import TestClient

from curator.review.board import BoardStore, make_app, running
from curator.settings import load_settings
from curator.store import Store

TOKEN = "test-token-0123456789"


def test_one_store_on_one_thread_for_every_request(workspace):
    settings = load_settings(workspace, env={})
    app = make_app(settings, TOKEN)
    board = app.state.board
    opened: list[Store] = []
    threads: set[int] = set()
    real = board.store._on_thread

    def spy(fn):
        threads.add(threading.get_ident())
        return real(lambda store: (opened.append(store), fn(store))[1])

    board.store._on_thread = spy
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.get(f"/?token={TOKEN}").status_code == 200
        for _ in range(3):
            assert c.get("/").status_code == 200
            assert c.get("/items/1").status_code == 404
        assert len({id(s) for s in opened}) == 1 and len(opened) == 7
        assert len(threads) == 1 and threading.get_ident() not in threads
    assert board.store._store is None  # closed at shutdown


def test_the_served_board_closes_its_store_when_it_stops(workspace):
    settings = load_settings(workspace, env={})
    app = make_app(settings, TOKEN)
    with running(app) as base, httpx.Client(base_url=base) as h:
        assert h.get(f"/?token={TOKEN}", follow_redirects=True).status_code == 200
        assert app.state.board.store._store is not None
    assert app.state.board.store._store is None


def test_a_closed_board_store_opens_again_on_next_use(tmp_path):
    import asyncio

    bs = BoardStore(tmp_path / "curator.db")
    assert asyncio.run(bs.run(lambda store: store.path)) == tmp_path / "curator.db"
    bs.close()
    bs.close()  # twice is fine
    assert asyncio.run(bs.run(lambda store: store.path)) == tmp_path / "curator.db"
    bs.close()
