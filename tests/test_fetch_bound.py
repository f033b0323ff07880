"""Memory by design: fetched pages wait for the parsers in a fixed number of lanes, so a run holds at most
`page_lanes` pages however many items wait; fetching goes on while the parsers are busy."""

from __future__ import annotations

import asyncio

from curator.fetch import page_lanes
from curator.models import Candidate, ItemState, WorkItem
from curator.packing import PackedPage
from curator.pipeline import Pipeline
from curator.settings import load_settings
from curator.store import Store

PAGES = 40


def _site(httpserver) -> str:
    base = httpserver.url_for("").rstrip("/")
    items = "".join(f"<item><title>Story {i}</title><link>{base}/a/{i}</link>"
                    "<pubDate>Tue, 17 Nov 2026 08:00:00 GMT</pubDate></item>" for i in range(PAGES))
    httpserver.expect_request("/feed.xml").respond_with_data(
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>',
        content_type="application/rss+xml")
    for i in range(PAGES):
        body = "".join(f"<p>Paragraph {k} of story {i}: the compiler team shipped a release with faster builds "
                       "and a new borrow checker that developers have requested for years.</p>" for k in range(6))
        httpserver.expect_request(f"/a/{i}").respond_with_data(
            f"<html><head><title>Story {i}</title></head><body><article><h1>Story {i}</h1>{body}</article></body></html>",
            content_type="text/html; charset=utf-8")
    return base


def _settings(workspace, httpserver, concurrency: int):  # type: ignore[no-untyped-def]
    """The one feed of `_site`, fetched `concurrency` at a time, parsed in this process, enriched offline."""
    base = _site(httpserver)
    (workspace / "config" / "sources.toml").write_text(
        f'[[sources]]\nname = "s"\nurl = "{base}/feed.xml"\nmax_entries = {PAGES}\n', encoding="utf-8")
    return base, load_settings(workspace, env={}, overrides={
        "fetch": {"allowed_hosts": ["127.0.0.1", "localhost"], "max_concurrency": concurrency,
                  "per_host_concurrency": concurrency, "per_host_delay_s": 0.0},
        "extract": {"workers": 0}, "llm": {"provider": "offline", "triage": False}, "run": {"max_age_days": 0}})


def test_pages_held_never_outnumber_the_lanes(workspace, httpserver, monkeypatch) -> None:
    _, settings = _settings(workspace, httpserver, 2)
    lanes = page_lanes(2, 0)
    held, peak = 0, 0
    release = asyncio.Event()
    original = Pipeline._extract_one
    waiting: list[PackedPage] = []

    async def slow_parser(self: Pipeline, ctx, row: WorkItem, page: PackedPage) -> None:
        nonlocal held, peak
        waiting.append(page)
        held += 1
        peak = max(peak, held)
        if held >= lanes:
            release.set()  # every lane holds a page: the parsers may go on
        try:
            await asyncio.wait_for(release.wait(), timeout=30)  # slack for a slow machine; never the point
            await original(self, ctx, row, page)
        finally:
            held -= 1

    monkeypatch.setattr(Pipeline, "_extract_one", slow_parser)
    with Store(settings.db_path) as store:
        Pipeline(settings, store).collect()
        counts = store.state_counts()
    assert peak == lanes  # the lanes filled while the parser waited (fetching went on) ...
    assert held == 0
    # ... and no page beyond them was fetched meanwhile; every page got through in the end
    assert counts.get(ItemState.DISCOVERED.value, 0) == 0 and counts.get(ItemState.FETCHED.value, 0) == 0
    assert sum(counts.values()) == PAGES
    # a page waiting for a parser holds its packed form only (the stored bytes), not its decoded text
    assert len(waiting) == PAGES and all(isinstance(p, PackedPage) and p.page.text == "" for p in waiting)
    assert all(f"Story {i}" in p.unpack().text for i, p in enumerate(sorted(waiting, key=lambda p: int(p.url.rsplit("/", 1)[1]))))


def test_an_item_that_left_discovered_before_its_turn_is_not_fetched(workspace, httpserver, monkeypatch) -> None:
    # The run reads only (id, URL) of what waits and each item whole when its turn comes: an item whose
    # state changed in between (here: skipped while the first page was being parsed) is left as it is.
    base, settings = _settings(workspace, httpserver, 1)
    original = Pipeline._extract_one
    last = f"{base}/a/{PAGES - 1}"
    skipped: list[int] = []

    async def first_page_skips_the_last(self: Pipeline, ctx, row: WorkItem, page: PackedPage) -> None:
        if not skipped:
            (item,) = [i for i in ctx.store.items() if i.url == last]
            assert item.state == ItemState.DISCOVERED  # its turn has not come yet
            ctx.store.set_state(item.id, ItemState.SKIPPED, "editor")
            skipped.append(item.id)
        await original(self, ctx, row, page)

    monkeypatch.setattr(Pipeline, "_extract_one", first_page_skips_the_last)
    with Store(settings.db_path) as store:
        run = Pipeline(settings, store).collect()
        (item,) = store.items(ids=skipped)
    assert item.state == ItemState.SKIPPED and item.reason == "editor"
    assert not [r for r, _ in httpserver.log if r.path == f"/a/{PAGES - 1}"]
    assert run.counters["fetch/ok"] == PAGES - 1


def test_fetching_takes_hosts_in_turn_so_one_slow_host_does_not_hold_every_slot(workspace, httpserver) -> None:
    # Items are stored feed by feed, so a host's pages sit together. With one request per host at a time
    # (the politeness default), fetching them in that order leaves every slot but one waiting on that host;
    # the run takes the hosts in turn instead, keeping each host's own order.
    served: list[tuple[str, str]] = []

    def page(request):  # type: ignore[no-untyped-def]
        from werkzeug import Response
        served.append((request.host.split(":")[0], request.path))
        n = request.path.rsplit("/", 1)[1]
        body = "".join(f"<p>Paragraph {k} of story {n}: the compiler team shipped a release with faster builds "
                       "and a new borrow checker that developers have requested for years.</p>" for k in range(6))
        return Response(f"<html><head><title>Story {n}</title></head><body><article>{body}</article></body></html>",
                        content_type="text/html; charset=utf-8")

    import re
    httpserver.expect_request(re.compile(r"^/[ab]/\d+$")).respond_with_handler(page)
    port = httpserver.port
    settings = load_settings(workspace, env={}, overrides={
        "fetch": {"allowed_hosts": ["127.0.0.1", "localhost"], "max_concurrency": 2, "per_host_concurrency": 1,
                  "per_host_delay_s": 0.0, "respect_robots": False},
        "extract": {"workers": 0}, "llm": {"provider": "offline", "triage": False}, "run": {"max_age_days": 0}})
    with Store(settings.db_path) as store:
        pipe = Pipeline(settings, store)
        for host, path in [("127.0.0.1", "a"), ("localhost", "b")]:  # all of the first host's items, then the other's
            for i in range(6):
                pipe.add_candidate(Candidate(url=f"http://{host}:{port}/{path}/{i}", title=f"{path}{i}", source="pages"))
        run = pipe.collect(discover=False)
        counts = store.state_counts()
    assert run.status == "ok", run.notes
    assert len(served) == 12 and sum(counts.values()) == 12  # every page fetched once, none lost
    assert {host for host, _ in served[:4]} == {"127.0.0.1", "localhost"}  # both hosts from the start ...
    for prefix in ("/a/", "/b/"):  # ... each host's pages in their stored order
        assert [p for _, p in served if p.startswith(prefix)] == [f"{prefix}{i}" for i in range(6)]
