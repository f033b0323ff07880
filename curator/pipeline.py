"""The pipeline: discover → fetch → extract → enrich (collect), and select → compose (draft).

Each stage reads the items waiting at its input state and writes the next state, item by item, so
a run killed anywhere resumes where it stopped. A failing item or source becomes an outcome with a
reason and a counter; only run-level faults (config, store, lock) end a run.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from curator import charset, cluster, compose, finds, prose, readback, select
from curator.enrich import Backend, cleanup, content_hash
from curator.enrich.stage import EnrichStage
from curator.errors import (
    ConfigError,
    CuratorError,
    ExtractionError,
    FetchError,
    Interrupted,
    LockHeld,
    StoreError,
    UsageError,
)
from curator.http import Fetcher
from curator.models import Candidate, Issue, ItemState, Page, Placement, ReviewData, WorkItem
from curator.progress import Reporter
from curator.redaction import Redactor
from curator.report import source_flag
from curator.robots import RobotsCache
from curator.settings import Settings, require_llm_key
from curator.sources import SourceContext, build_source
from curator.store import Store
from curator.urls import canonical_url, check_user_url, redact
from curator.workers import ParsePool, extract_job

log = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
HTML_TYPES = ("text/html", "application/xhtml", "text/plain", "")
# Faults of the whole run (DESIGN: config, store, lock, stop): never turned into one source's or item's outcome.
RUN_LEVEL = (ConfigError, StoreError, LockHeld, Interrupted)
CLUSTER_WINDOW_DAYS = 14  # new items join stories of items published in the last two weeks


@dataclass
class RunResult:
    run_id: int
    status: str
    counters: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    draft_path: Path | None = None
    issue: Issue | None = None
    cost_usd: float = 0.0


def vet_find_url(url: str) -> tuple[str, str]:
    """(url, canonical) of a URL a person gave, or UsageError naming the problem: callers check it before they
    open the store, so a bad URL leaves no database behind."""
    try:
        url = check_user_url(url)
    except ValueError as exc:
        raise UsageError(f"cannot add this URL: {exc}", reason="bad_url") from None
    try:
        return url, canonical_url(url)
    except ValueError as exc:
        raise UsageError(f"cannot add this URL: {exc}; give a full http(s) URL", reason="bad_url") from None


class Pipeline:
    def __init__(self, settings: Settings, store: Store, reporter: Reporter | None = None,
                 *, backend: Backend | None = None) -> None:
        self.settings = settings
        self.store = store
        store.now = settings.now  # one clock: items are stamped on the week the windows read
        self.reporter = reporter or Reporter(quiet=True)
        self._backend = backend
        # Set by SIGTERM or the run deadline: stages stop taking new work; what is in flight finishes.
        self.stopping = threading.Event()
        self.stop_reason = ""
        self._pool = ParsePool(settings.extract.model_copy(update={"workers": 0}))  # replaced per collect
        # A page or feed can quote a configured secret (a token from a source URL): masked before it is stored.
        self.redactor = Redactor.for_settings(settings)

    def stop(self, reason: str) -> None:
        if not self.stopping.is_set():
            self.stop_reason = reason
            self.stopping.set()

    # ---- collect -----------------------------------------------------------------------------
    def collect(self, *, discover: bool = True, command: str = "collect") -> RunResult:
        if self._backend is None:
            require_llm_key(self.settings)  # before any network I/O, not after a night of fetching
        run = RunResult(run_id=self.store.start_run(command), status="running")
        timer = None
        if self.settings.run.deadline_s:
            timer = threading.Timer(self.settings.run.deadline_s, self.stop, args=("run deadline reached",))
            timer.daemon = True
            timer.start()
        try:
            requeued = self.store.requeue_retryable()
            if requeued:
                run.counters["retry/requeued"] += requeued
            if rekeyed := self.store.take_rekey_report():  # new URL rules re-keyed the store on open
                run.counters["store/rekeyed"] += rekeyed.changed
                run.counters["store/rekey_split"] += rekeyed.split
                run.notes.append(rekeyed.message)
            asyncio.run(self._collect_network(run, discover))
            self._cluster(run)
            self._enrich(run)
            if self.stopping.is_set():
                waiting = sum(n for k, n in self.store.state_counts().items()
                              if k in ("discovered", "fetched", "extracted"))
                run.notes.append(f"stopped early ({self.stop_reason}); {waiting} items wait for the next run")
                run.status = "interrupted"
                raise Interrupted(f"run stopped: {self.stop_reason}; {waiting} items wait for the next run")
            # An editor's find kept without its page is there, but not what was asked: never `ok`.
            run.status = "degraded" if run.counters["add/not_fetched"] else "ok"
        except BaseException as exc:
            if run.status == "running":
                run.status = "interrupted" if isinstance(exc, KeyboardInterrupt | Interrupted) else "failed"
                run.notes.append(f"run ended early: {type(exc).__name__}")
            raise
        finally:
            if timer:
                timer.cancel()
            self.store.finish_run(run.run_id, run.status, dict(run.counters), run.notes)
        return run

    async def _collect_network(self, run: RunResult, discover: bool) -> None:
        """Discover, fetch, and extract in parser processes while the fetching goes on."""
        with ParsePool(self.settings.extract) as pool:
            self._pool = pool
            async with Fetcher(self.settings.fetch) as fetcher:
                if discover:
                    await self._discover(run, fetcher)
                await self._fetch(run, fetcher)
                for key, value in fetcher.stats.items():
                    run.counters[f"http/{key.split('/', 1)[-1]}"] += value
            await self._extract_waiting(run)  # pages fetched by an earlier, interrupted run
            if pool.restarts:
                run.counters["extract/pool_restarts"] += pool.restarts

    async def _discover(self, run: RunResult, fetcher: Fetcher) -> None:
        sources = [s for s in self.settings.sources if s.enabled]
        for src in sources:
            self.store.sync_source(src.name, src.kind, src.url)
        now = self.settings.now()
        with self.reporter.stage("discover", len(sources)) as advance:

            async def one(src_cfg):  # type: ignore[no-untyped-def]
                if self.stopping.is_set():
                    advance()
                    return
                source = build_source(src_cfg)
                ctx = SourceContext(fetcher=fetcher, validators=self.store.source_validators(src_cfg.name), now=now,
                                    cpu=self._pool.run)
                try:
                    result = await source.discover(ctx)
                except RUN_LEVEL:
                    raise
                except CuratorError as exc:  # SourceError, FetchError, BlockedAddress …: this source's outcome
                    self.store.record_source_error(src_cfg.name, exc.reason)
                    run.counters[f"source/{exc.reason}"] += 1
                    log.warning("source %s failed: %s", src_cfg.name, exc)
                    return
                except Exception as exc:  # noqa: BLE001  (any other fault of one source must not end the run)
                    self._internal_error(run, "source", exc, f"source '{src_cfg.name}'")
                    self.store.record_source_error(src_cfg.name, "internal_error")
                    return
                finally:
                    advance()
                if result.not_modified:
                    run.counters["source/not_modified"] += 1
                    self.store.record_source_ok(src_cfg.name, None, 0)
                    return
                anchored = src_cfg.kind == "watch"  # entries that are anchors on one page keep their #fragment
                new = sum(self._add_contained(run, cand, anchored) for cand in result.candidates)
                for reason, n in result.dropped.items():
                    run.counters[f"discover/dropped_{reason}"] += n
                # Validators are saved only now that the items they cover are committed.
                self.store.record_source_ok(src_cfg.name, result.validators, new, len(result.candidates))
                run.counters["source/ok" if result.candidates else "source/empty"] += 1

            await asyncio.gather(*(one(s) for s in sources))
        names = {s.name for s in sources}
        for row in self.store.source_health():
            if row.name in names and (flag := source_flag(row)):
                run.notes.append(f"source '{row.name}' {flag}; check it with `curator sources check`")

    def _internal_error(self, run: RunResult, stage: str, exc: Exception, what: str) -> None:
        """An exception nobody expected, in one source or item: counted and logged by its type only (the
        message of a foreign exception can carry a URL with its token)."""
        name = type(exc).__name__
        run.counters[f"{stage}/internal_error"] += 1
        run.notes.append(f"internal_error ({name}) in {what}; the run went on")
        log.error("unexpected %s in %s; recorded as internal_error, the run goes on", name, what)

    def _add_contained(self, run: RunResult, cand: Candidate, anchored: bool) -> bool:
        try:
            return self._add(run, cand, keep_fragment=anchored)
        except RUN_LEVEL:
            raise
        except Exception as exc:  # noqa: BLE001  (one odd entry never costs its source the others)
            self._internal_error(run, "discover", exc, f"an entry of '{cand.source}' ({redact(cand.url)})")
            return False

    def _add(self, run: RunResult, cand: Candidate, *, keep_fragment: bool = False) -> bool:
        try:
            canonical = canonical_url(cand.url, keep_fragment=keep_fragment)
        except ValueError:
            run.counters["discover/bad_url"] += 1
            return False
        item_id, is_new = self.store.add_candidate(self._redacted_candidate(cand), canonical)
        run.counters["discover/new" if is_new else "discover/known"] += 1
        max_age = self.settings.run.max_age_days
        if is_new and max_age and cand.published_at and cand.published_at < self.settings.now() - timedelta(days=max_age):
            # Known from now on, but never fetched or paid for: a feed's back catalogue is not news.
            self.store.set_state(item_id, ItemState.SKIPPED, "too_old")
            run.counters["discover/too_old"] += 1
        return is_new

    def add_candidate(self, cand: Candidate) -> tuple[int, bool]:
        url, canonical = vet_find_url(cand.url)  # a person's URL: checked first
        return self.store.add_candidate(self._redacted_candidate(cand.model_copy(update={"url": url})), canonical)

    def _redacted_candidate(self, cand: Candidate) -> Candidate:
        """Its text fields with every configured secret masked (the URLs stay: they are what is fetched)."""
        fields = ("title", "snippet", "submitter")
        return cand.model_copy(update={f: self.redactor.text(getattr(cand, f)) for f in fields if getattr(cand, f)})

    def retry_stand_in(self, item_id: int) -> bool:
        """The editor adds a find again whose page was not read: fetch it anew (a failure keeps the stand-in)."""
        found = self.store.items(ids=[item_id])
        if not found or not finds.is_stand_in(found[0]):
            return False
        self.store.refetch(item_id)
        return True

    async def _fetch(self, run: RunResult, fetcher: Fetcher) -> None:
        # The editor's finds kept as stand-ins after a failure that may pass are tried again each run
        # (bounded by RETRY_CAP); they stay drafted-able stand-ins until a fetch succeeds.
        due = finds.due_for_retry(self.store)
        retrying = {row.id for row in due}
        rows = [*self.store.waiting(ItemState.DISCOVERED), *due]
        if retrying:
            run.counters["retry/editor_finds"] += len(retrying)
        # Admit items only as fast as the fetcher can take them, so a stop leaves the rest untouched.
        admit = asyncio.Semaphore(self.settings.fetch.max_concurrency)
        # Fetched pages wait for a parser in a bounded queue: fetching goes on while the parsers work,
        # and at most this many pages are held in memory at once.
        in_memory = asyncio.Semaphore(self.settings.fetch.max_concurrency + max(1, self._pool.workers) * 4)
        robots = RobotsCache(fetcher, self.settings.fetch.user_agent) if self.settings.fetch.respect_robots else None
        with self.reporter.stage("fetch", len(rows)) as advance:

            async def one(row) -> None:  # type: ignore[no-untyped-def]
                async with in_memory:
                    async with admit:
                        if self.stopping.is_set():  # the item stays `discovered` for the next run
                            advance()
                            return
                        page = await fetch_one(row)
                    if page is not None:
                        await self._extract_one(run, row, page)

            async def fetch_one(row) -> Page | None:  # type: ignore[no-untyped-def]
                try:
                    if robots is not None and not await robots.allowed(row.url):
                        self.store.set_state(row.id, ItemState.SKIPPED, "robots")
                        run.counters["fetch/skipped_robots"] += 1
                        self._keep_find(run, row, "robots")
                        return None
                    resp = await fetcher.get(row.url, accept=PAGE_ACCEPT)
                    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                    if not ctype.startswith(HTML_TYPES):
                        self.store.set_state(row.id, ItemState.SKIPPED, "not_html")
                        run.counters["fetch/skipped_not_html"] += 1
                        self._keep_find(run, row, "not_html")
                        return
                    text, encoding = charset.decode_html(resp.body, resp.headers.get("content-type"))
                    if (wall := finds.challenge_page(text)) and self._keep_find(run, row, wall):
                        run.counters[f"fetch/{wall}"] += 1
                        return None
                    page = Page(url=resp.url, final_url=resp.final_url, status=resp.status, text=text,
                                encoding=encoding, content_type=ctype, validators=resp.validators,
                                fetched_at=self.settings.now())
                    self.store.save_page(row.id, page)
                    if row.id in retrying:  # read at last: clustered anew with the week's items
                        self.store.release_story(row.id)
                        run.notes.append(f"item {row.id} ({redact(row.url)}): the editor's find could be "
                                         "fetched this time; the page replaces its stand-in")
                    run.counters["fetch/ok"] += 1
                    return page
                except FetchError as exc:
                    state = ItemState.SKIPPED if exc.reason == "too_large" else ItemState.FAILED
                    self.store.set_state(row.id, state, exc.reason, retryable=exc.retryable)
                    run.counters[f"fetch/{exc.reason}"] += 1
                    log.info("fetch failed (%s): %s", exc.reason, redact(row.url))
                    self._keep_find(run, row, exc.reason)
                except RUN_LEVEL:
                    raise
                except Exception as exc:  # noqa: BLE001  (one item's fault is that item's outcome)
                    self._internal_error(run, "fetch", exc, f"fetching {redact(row.url)}")
                    self.store.set_state(row.id, ItemState.FAILED, "internal_error", retryable=True)
                    self._keep_find(run, row, "internal_error")
                finally:
                    advance()

            await asyncio.gather(*(one(r) for r in rows))
        if robots is not None and robots.unavailable:
            run.counters["fetch/robots_unavailable"] += robots.unavailable

    def _keep_find(self, run: RunResult, row: WorkItem, reason: str) -> bool:
        """An editor's find whose page could not be read stays a candidate, flagged (finds.py);
        a feed's item keeps the outcome just recorded. True when it was an editor's find."""
        item = finds.editor_find(self.store, row.id)
        if item is None:
            return False
        flag = finds.keep_unfetched(self.settings, self.store, item, reason, row.snippet)
        if self._retrying_stand_in(row):  # still unreadable: the stand-in stays, retried on a later run
            run.counters["retry/editor_find_not_fetched"] += 1
            run.notes.append(f"item {item.id} ({redact(item.url)}) still could not be fetched ({reason}): "
                             f"it stays a candidate flagged {flag}")
            return True
        run.counters["add/not_fetched"] += 1
        run.notes.append(f"item {item.id} ({redact(item.url)}) could not be fetched ({reason}): kept as a "
                         f"candidate with the editor's title/note, flagged {flag} for the reviewer")
        return True

    @staticmethod
    def _retrying_stand_in(row: WorkItem) -> bool:
        """Whether `row` came from `finds.due_for_retry` (it carries the stand-in's enrichment)."""
        return row.stand_in is not None

    # ---- extract ------------------------------------------------------------------------------
    async def _extract_waiting(self, run: RunResult) -> None:
        rows = self.store.waiting(ItemState.FETCHED)
        admit = asyncio.Semaphore(max(1, self._pool.workers) * 2)
        with self.reporter.stage("extract", len(rows)) as advance:

            async def one(row) -> None:  # type: ignore[no-untyped-def]
                async with admit:
                    if not self.stopping.is_set():
                        await self._extract_one(run, row, self.store.load_page(row.id))
                    advance()

            await asyncio.gather(*(one(r) for r in rows))

    async def _extract_one(self, run: RunResult, row: WorkItem, page: Page) -> None:
        anchor = urlsplit(row.canonical_url).fragment  # a `watch` entry: one block of a page
        try:
            article = await self._pool.run(extract_job, page, anchor, self.settings.extract)
            if not article.title:
                article = article.model_copy(update={"title": row.title})
            article = article.model_copy(update={  # a page quoting a configured secret: masked before storing
                f: self.redactor.text(getattr(article, f)) for f in ("title", "text", "author", "sitename", "description")
                if getattr(article, f)})
            self.store.save_article(row.id, article, content_hash(article.title, article.text))
            run.counters["extract/ok"] += 1
        except ExtractionError as exc:
            state = ItemState.FAILED if exc.retryable else ItemState.SKIPPED
            self.store.set_state(row.id, state, exc.reason, retryable=exc.retryable)
            run.counters[f"extract/{exc.reason}"] += 1
            self._keep_find(run, row, exc.reason)
        except RUN_LEVEL:
            raise
        except Exception as exc:  # noqa: BLE001  (one item's fault is that item's outcome)
            self._internal_error(run, "extract", exc, f"extracting {redact(row.url)}")
            self.store.set_state(row.id, ItemState.FAILED, "internal_error")

    # ---- cluster -----------------------------------------------------------------------------
    def _cluster(self, run: RunResult) -> None:
        """Group newly extracted items (story_id still NULL) into stories with each other and with
        the items of the last CLUSTER_WINDOW_DAYS; stored story ids stay as they are."""
        items = self.store.cluster_pool(since=self.settings.now() - timedelta(days=CLUSTER_WINDOW_DAYS))
        new = [i.id for i in items if i.story_id is None]
        if not new or self.stopping.is_set():
            return
        inputs = [
            cluster.ClusterInput(
                item_id=i.id,
                title=i.article.title or i.title,
                # Page chrome (player notices, next-up lists) must not make two videos one story.
                text=cleanup.clean_for_summary(i.article.text).text,
                lang=i.article.lang,
                published_at=i.published_at or i.article.date or i.discovered_at,
                links=tuple(i.article.links),  # cited originals: evidence across languages
            )
            for i in items
            if i.article is not None
        ]
        existing = {i.id: i.story_id for i in items if i.story_id is not None}
        assignments = cluster.assign_stories(inputs, existing)
        self.store.set_story_ids(assignments)
        run.counters["cluster/new"] += len(new)
        run.counters["cluster/joined"] += sum(1 for i in new if assignments[i] != i)

    # ---- enrich ------------------------------------------------------------------------------
    def _enrich(self, run: RunResult) -> None:
        replaced = self.store.replacing_stand_ins()  # before the stage overwrites the stand-ins
        EnrichStage(self.settings, self.store, self.reporter, self.stopping, backend=self._backend).run(run)
        if replaced and (n := finds.keep_editors_words(self.store, replaced)):
            run.counters["add/fetched_after_retry"] += n

    # ---- draft -------------------------------------------------------------------------------
    def _prose(self, run: RunResult, issue: Issue) -> dict[str, prose.SectionText]:
        """publication.prose = "section": each section's prose, cached; failures keep story paragraphs."""
        texts, notes, counters = prose.write_sections(self.settings, self.store, issue, run.run_id, self._backend)
        run.counters.update(counters)
        run.notes.extend(notes)
        for note in notes:
            self.reporter.info(note)
        return texts

    def draft(self, *, as_of: datetime | None = None, number: int | None = None, force: bool = False) -> RunResult:
        run = RunResult(run_id=self.store.start_run("draft"), status="running")
        try:
            open_issue = self.store.open_draft_issue()
            if as_of is None and open_issue is not None and open_issue.as_of and (
                    number is None or number == open_issue.number):
                as_of = open_issue.as_of  # regenerating: the same window
            as_of = as_of or self.settings.now()
            if number is None:
                number = open_issue.number if open_issue else self.store.next_issue_number(
                    self.settings.publication.first_issue_number)
            path = self.settings.drafts_dir / f"issue-{number}.md"
            # The editor's edits in the file since curator wrote it become decisions first (curator/readback.py).
            blocks, notes = readback.before_draft(self.settings, self.store, number, path, force=force)
            run.notes.extend(notes)
            items = self.store.items(states=[ItemState.ENRICHED, ItemState.DRAFTED])
            issue, already = select.select_for(self.store, self.settings, items, number=number, as_of=as_of)
            # The editor's decisions on this issue number (review board), replayed on every regeneration.
            issue = select.apply_stored(self.store, issue, items, self.settings)
            extra = {"looking_back": select.looking_back(self.store, as_of)} if self.settings.publication.looking_back else {}
            texts = self._prose(run, issue) if self.settings.publication.prose == "section" else None
            renderer = compose.Renderer(self.settings)
            render = renderer.render(issue, prose=texts, **extra)
            text = readback.with_blocks(render, blocks, self.settings)
            # links: for `curator lint`; prose: what each section's sentences cite (publish maps it back).
            data = ReviewData.of_issue(issue, already, links=sorted(renderer.links),
                                       prose=renderer.prose_review if texts is not None else None)
            review = renderer.redactor.text(data.dump())
            compose.write_atomic(path.with_suffix(".json"), review)
            compose.write_atomic(path, text)
            if already:
                run.counters["draft/already_ran"] = len(already)
            placements = [Placement(item_id=it.id, section=sec.id, position=pos) for sec in issue.sections
                          for pos, st in enumerate(sec.stories) for it in st.items]
            self.store.save_draft_issue(number, str(path), placements, as_of)
            readback.written(self.store, number, render, text)
            run.counters["draft/stories"] = len(issue.stories)
            run.counters["draft/sections"] = sum(1 for s in issue.sections if s.stories)
            run.counters["draft/runners_up"] = len(issue.runners_up)
            run.draft_path, run.issue = path, issue
            run.status = "degraded" if any(k.startswith("prose/fallback_prose_llm") or k == "prose/fallback_prose_invalid"
                                           for k in run.counters) else "ok"
            if not issue.stories:
                run.notes.append("no enriched stories in the window: run `curator collect` first")
        except BaseException:
            run.status = "failed"
            raise
        finally:
            self.store.finish_run(run.run_id, run.status, dict(run.counters), run.notes)
        return run
