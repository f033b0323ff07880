"""The pipeline: the stages of a run in order, and the run around them (deadline, stop, summary).

    collect:  discover.py ─► fetch.py ─► extract (workers.extract_job, parser processes) ─► cluster.py ─► enrich/stage.py
    draft:    decisions (select) ─► prose.py ─► compose.py ─► drafts/issue-N.md + .json

Each stage is given an explicit StageContext (context.py), reads the items waiting at its input state and
writes the next state, item by item, so a run killed anywhere resumes where it stopped. A failing item or
source becomes an outcome with a reason and a counter on the run's RunSummary; only run-level faults
(config, store, lock) end a run.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from curator import compose, finds, readback, rulecheck, select
from curator.context import RUN_LEVEL, StageContext
from curator.enrich import cleanup, content_hash
from curator.errors import CuratorError, ExtractionError, Interrupted, LLMUnavailable
from curator.models import Candidate, Issue, ItemState, Page, Placement, ReviewData, RunSummary, WorkItem
from curator.progress import Reporter
from curator.redaction import Redactor
from curator.settings import Settings, require_llm_key
from curator.store import Store
from curator.urls import redact

if TYPE_CHECKING:  # the collect stages (network client, feed parsers, worker processes): not for `draft`
    from collections.abc import Callable, Iterable, Iterator

    from curator import cluster, prose
    from curator.enrich.backends import Backend
    from curator.enrich.stage import EnrichStage
    from curator.packing import PackedPage
    from curator.similarity import ItemFeatures
    from curator.workers import ParsePool

log = logging.getLogger(__name__)
T = TypeVar("T")

CLUSTER_WINDOW_DAYS = 14  # new items join stories of items published in the last two weeks
# Clustering's features are made in worker processes from this many items in the pool (below, starting
# the processes costs more than it saves), in batches of FEATURES_BATCH.
PARALLEL_FEATURES_MIN = 400
FEATURES_BATCH = 50
__all__ = ["Pipeline", "TooFewStories", "vet_find_url"]


def vet_find_url(url: str) -> tuple[str, str]:
    """A person's URL checked and canonicalised (`curator.discover.vet_find_url`)."""
    from curator.discover import vet_find_url as vet

    return vet(url)


class TooFewStories(CuratorError):
    """`draft` found fewer stories in the window than `drafts.min_stories`: nothing written, no number used."""

    reason = "too_few_stories"
    exit_code = 66  # EX_NOINPUT: there is nothing (enough) to draft from


class Pipeline:
    """One collect or draft run over a store: the stages in order, outcomes counted on the run's summary."""

    # None: the local stage (enrich/stage.py); the Celery engine's sends the full pass to its workers.
    enrich_stage: type[EnrichStage] | None = None

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
        self._pool: ParsePool | None = None  # the parser processes, while a collect runs
        # A page or feed can quote a configured secret (a token from a source URL): masked before it is stored.
        self.redactor = Redactor.for_settings(settings)

    def stop(self, reason: str) -> None:
        if not self.stopping.is_set():
            self.stop_reason = reason
            self.stopping.set()

    def context(self, run: RunSummary) -> StageContext:
        """What the stages of this run are given (settings, store, clock, reporter, stop signal, counters)."""
        return StageContext(self.settings, self.store, self.reporter, self.stopping, run, self.redactor)

    # ---- collect -----------------------------------------------------------------------------
    def collect(self, *, discover: bool = True, command: str = "collect") -> RunSummary:
        if self._backend is None:
            require_llm_key(self.settings)  # before any network I/O, not after a night of fetching
        run = RunSummary(run_id=self.store.start_run(command), command=command, status="running")
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
            import asyncio  # the collect stages' loop (`draft` runs none)

            asyncio.run(self._collect_network(run, discover))
            self._cluster(run)
            self._enrich(run)
            if not self.stopping.is_set():  # so the editor's first search after a run answers at once
                from curator.workers import pool_size

                self.store.refresh_search_index(workers=pool_size(self.settings.extract.workers),
                                                max_bytes=self.settings.extract.worker_max_mb * 1024 * 1024)
            if self.stopping.is_set():
                waiting = sum(n for k, n in self.store.state_counts().items()
                              if k in ("discovered", "fetched", "extracted"))
                run.notes.append(f"stopped early ({self.stop_reason}); {waiting} items wait for the next run")
                run.status = "interrupted"
                raise Interrupted(f"run stopped: {self.stop_reason}; {waiting} items wait for the next run")
            # `ok` only when every stage did what was asked (an editor's find kept without its page, an item
            # enriched offline because the model's answer was unusable, items left waiting: `degraded`).
            run.status = run.outcome()
        except LLMUnavailable as exc:
            # Run-level: no item is to blame, none is marked failed; the CLI prints the summary, then the error.
            run.status, run.error = "failed", str(exc)
            exc.run = run
            raise
        except BaseException as exc:
            if run.status == "running":
                run.status = "interrupted" if isinstance(exc, KeyboardInterrupt | Interrupted) else "failed"
                run.notes.append(f"run ended early: {type(exc).__name__}")
            raise
        finally:
            if timer:
                timer.cancel()
            self.store.finish_run(run.run_id, run.status, dict(run.counters),
                                  [*run.notes, run.error] if run.error else run.notes)
            if command == "collect":  # webhooks, once the result is stored; never raises (curator/notify/)
                from curator.notify.notifier import Notifier

                Notifier(self.settings, self.store).after_collect(run)
        return run

    async def _collect_network(self, run: RunSummary, discover_sources: bool) -> None:
        """Discover, fetch, and extract in parser processes while the fetching goes on."""
        from curator.discover import discover
        from curator.fetch import fetch_waiting
        from curator.http import Fetcher
        from curator.workers import ParsePool

        ctx = self.context(run)
        with ParsePool(self.settings.extract) as pool:
            self._pool = pool
            async with Fetcher(self.settings.fetch) as fetcher:
                if discover_sources:
                    await discover(ctx, fetcher, pool.run)
                await fetch_waiting(ctx, fetcher, pool.workers, lambda row, page: self._extract_one(ctx, row, page))
                for key, value in fetcher.stats.items():
                    run.counters[f"http/{key.split('/', 1)[-1]}"] += value
            await self._extract_waiting(ctx)  # pages fetched by an earlier, interrupted run
            if pool.restarts:
                run.counters["extract/pool_restarts"] += pool.restarts

    def add_candidate(self, cand: Candidate) -> tuple[int, bool]:
        from curator.discover import redacted_candidate

        url, canonical = vet_find_url(cand.url)  # a person's URL: checked first
        return self.store.add_candidate(redacted_candidate(self.redactor, cand.model_copy(update={"url": url})), canonical)

    def retry_stand_in(self, item_id: int) -> bool:
        """The editor adds a find again whose page was not read: fetch it anew (a failure keeps the stand-in)."""
        found = self.store.items(ids=[item_id])
        if not found or not finds.is_stand_in(found[0]):
            return False
        self.store.refetch(item_id)
        return True

    # ---- extract ------------------------------------------------------------------------------
    async def _extract_waiting(self, ctx: StageContext) -> None:
        import asyncio

        assert self._pool is not None, "extracting outside a collect"
        rows = self.store.waiting(ItemState.FETCHED)
        admit = asyncio.Semaphore(max(1, self._pool.workers) * 2)
        with self.reporter.stage("extract", len(rows)) as advance:

            async def one(row: WorkItem) -> None:
                async with admit:
                    if not self.stopping.is_set():
                        await self._extract_one(ctx, row, self.store.load_packed(row.id))
                    advance()

            await asyncio.gather(*(one(r) for r in rows))

    async def _extract_one(self, ctx: StageContext, row: WorkItem, page: Page | PackedPage) -> None:
        assert self._pool is not None, "extracting outside a collect"
        await extract_item(ctx, self._pool, row, page)

    # ---- cluster -----------------------------------------------------------------------------
    def _cluster(self, run: RunSummary) -> None:
        """Group newly extracted items (story_id still NULL) into stories with each other and with
        the items of the last CLUSTER_WINDOW_DAYS; stored story ids stay as they are."""
        pool = self.store.cluster_pool(since=self.settings.now() - timedelta(days=CLUSTER_WINDOW_DAYS))
        new = [i for i, story in pool.items() if story is None]
        if not new or self.stopping.is_set():
            return
        # numpy and the pair test: only a run that clusters pays for importing them (`draft` does not).
        from curator import cluster

        def inputs() -> Iterator[cluster.ClusterInput]:
            """Read a slice of articles at a time: the run holds each item's features, not every article."""
            for i in self.store.cluster_items(pool):
                assert i.article is not None  # the pool holds items with an article only
                yield cluster.ClusterInput(
                    item_id=i.id,
                    title=i.article.title or i.title,
                    text=i.article.text,  # its page chrome taken out where its features are made
                    lang=i.article.lang,
                    published_at=i.published_at or i.article.date or i.discovered_at,
                    links=tuple(i.article.links),  # cited originals: evidence across languages
                )

        existing = {i: story for i, story in pool.items() if story is not None}
        featurize = self._featurize(len(pool)) or _features_here
        assignments = cluster.assign_stories(inputs(), existing, featurize=featurize)
        self.store.set_story_ids(assignments)
        run.counters["cluster/new"] += len(new)
        run.counters["cluster/joined"] += sum(1 for i in new if assignments[i] != i)

    def _featurize(self, items: int) -> Callable[[Iterable[cluster.ClusterInput]], Iterator[ItemFeatures]] | None:
        """Clustering's features made in the parser processes when the pool is large (made here, cleaning
        included, they were the run's longest step after fetching: ~5 ms an item); None (made here,
        `_features_here`) when small or when the settings run the parsers in-process."""
        from curator.workers import map_batches, pool_size

        workers = pool_size(self.settings.extract.workers)
        if workers < 2 or items < PARALLEL_FEATURES_MIN:
            return None
        max_bytes = self.settings.extract.worker_max_mb * 1024 * 1024

        def featurize(inputs: Iterable[cluster.ClusterInput]) -> Iterator[ItemFeatures]:
            for made in map_batches(cluster_features, _batched(inputs, FEATURES_BATCH), workers=workers,
                                    max_bytes=max_bytes):
                yield from made

        return featurize

    # ---- enrich ------------------------------------------------------------------------------
    def _enrich(self, run: RunSummary) -> None:
        replaced = self.store.replacing_stand_ins()  # before the stage overwrites the stand-ins
        from curator.enrich.stage import EnrichStage

        (self.enrich_stage or EnrichStage)(self.context(run), backend=self._backend).run()
        if replaced and (n := finds.keep_editors_words(self.store, replaced)):
            run.counters["add/fetched_after_retry"] += n

    # ---- draft -------------------------------------------------------------------------------
    def _enough_stories(self, issue: Issue, number: int, as_of: datetime, *, fresh: bool) -> None:
        wanted = self.settings.drafts.min_stories
        found = len(issue.stories)
        if found >= wanted:
            return
        days = self.settings.publication.window_days
        start = as_of - timedelta(days=days)
        kept = (f"issue number {number} is still free" if fresh
                else f"issue #{number}'s draft is left as it was")
        raise TooFewStories(
            f"{found} {'story' if found == 1 else 'stories'} in the window {start:%Y-%m-%d} – {as_of:%Y-%m-%d} "
            f"({days} days), fewer than drafts.min_stories = {wanted}: nothing written, {kept}. "
            f"Run `curator collect` first (`curator status` shows what is waiting), widen the window "
            f"(`--date`, or publication.window_days), or pass `--allow-empty` to write the draft anyway.")

    def _prose(self, run: RunSummary, issue: Issue) -> dict[str, prose.SectionText]:
        """publication.prose = "section": each section's prose, cached; failures keep story paragraphs."""
        # With the enrichment backends it calls: only a draft that writes section prose loads it.
        from curator import prose

        texts, notes, counters = prose.write_sections(self.settings, self.store, issue, run.run_id, self._backend)
        run.counters.update(counters)
        run.notes.extend(notes)
        for note in notes:
            self.reporter.info(note)
        return texts

    def _prior_draft(self, number: int, as_of: datetime) -> Path:
        """The file the editor may have edited: this workspace's drafts/issue-N.md, or where a
        publication.draft_path naming files by date or title last wrote it (the store's record)."""
        recorded = self.store.issue(number)
        if self.settings.publication.draft_path and recorded and recorded.path and Path(recorded.path).exists():
            return Path(recorded.path)
        return compose.draft_path(self.settings, number, as_of.date(), "")

    def draft(self, *, as_of: datetime | None = None, number: int | None = None, force: bool = False,
              allow_empty: bool = False) -> RunSummary:
        """Write drafts/issue-N.md. Raises TooFewStories (before anything is written or a number is taken)
        when the window holds fewer stories than `drafts.min_stories`, unless `allow_empty`."""
        run = RunSummary(run_id=self.store.start_run("draft"), command="draft", status="running")
        try:
            open_issue = self.store.open_draft_issue()
            if as_of is None and open_issue is not None and open_issue.as_of and (
                    number is None or number == open_issue.number):
                as_of = open_issue.as_of  # regenerating: the same window
            as_of = as_of or self.settings.now()
            if number is None:
                number = open_issue.number if open_issue else self.store.next_issue_number(
                    self.settings.publication.first_issue_number)
            # The editor's edits in the file since curator wrote it become decisions first (curator/readback.py).
            prior = self._prior_draft(number, as_of)
            blocks, notes = readback.before_draft(self.settings, self.store, number, prior, force=force)
            run.notes.extend(notes)
            items = select.window(self.store, self.settings, number, as_of)
            issue, already = select.select_for(self.store, self.settings, items, number=number, as_of=as_of)
            # The editor's decisions on this issue number (review board), replayed on every regeneration.
            issue = select.apply_stored(self.store, issue, items, self.settings)
            if not allow_empty:
                self._enough_stories(issue, number, as_of, fresh=self.store.issue(number) is None)
            extra = {"looking_back": select.looking_back(self.store, as_of)} if self.settings.publication.looking_back else {}
            texts = self._prose(run, issue) if self.settings.publication.prose == "section" else None
            renderer = compose.Renderer(self.settings)
            render = renderer.render(issue, prose=texts, **extra)
            text = readback.with_blocks(render, blocks, self.settings)
            path = compose.draft_path(self.settings, number, issue.date.date(), issue.title)  # publication.draft_path
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


async def extract_item(ctx: StageContext, pool: ParsePool, row: WorkItem, page: Page | PackedPage) -> None:
    """Page -> Article in a parser process (extract.py, or the watched page's own entry), stored masked
    (the local engine's extract stage and the Celery engine's extract task both call this)."""
    from curator.fetch import keep_find
    from curator.workers import extract_job

    run = ctx.run
    anchor = urlsplit(row.canonical_url).fragment  # a `watch` entry: one block of a page
    try:
        article = await pool.run(extract_job, page, anchor, ctx.settings.extract)
        if not article.title:
            article = article.model_copy(update={"title": row.title})
        article = article.model_copy(update={  # a page quoting a configured secret: masked before storing
            f: ctx.redactor.text(getattr(article, f)) for f in ("title", "text", "author", "sitename", "description")
            if getattr(article, f)})
        ctx.store.save_article(row.id, article, content_hash(article.title, article.text))
        run.counters["extract/ok"] += 1
        rulecheck.after_extract(ctx, row.id, article)  # rules that needed the page (its author)
    except ExtractionError as exc:
        state = ItemState.FAILED if exc.retryable else ItemState.SKIPPED
        ctx.store.set_state(row.id, state, exc.reason, retryable=exc.retryable)
        run.counters[f"extract/{exc.reason}"] += 1
        keep_find(ctx, row, exc.reason)
    except RUN_LEVEL:
        raise
    except Exception as exc:  # noqa: BLE001  (one item's fault is that item's outcome)
        ctx.internal_error("extract", exc, f"extracting {redact(row.url)}")
        ctx.store.set_state(row.id, ItemState.FAILED, "internal_error")


def _batched(items: Iterable[T], n: int) -> Iterator[list[T]]:
    it = iter(items)
    while batch := list(islice(it, n)):
        yield batch


def _chrome_free(item: cluster.ClusterInput) -> cluster.ClusterInput:
    """The item with its page chrome (player notices, next-up lists) out: it must not make two videos one story."""
    return replace(item, text=cleanup.clean_for_summary(item.text).text)


def _features_here(items: Iterable[cluster.ClusterInput]) -> Iterator[ItemFeatures]:
    from curator import similarity

    return (similarity.item_features(_chrome_free(item)) for item in items)


def cluster_features(batch: list[cluster.ClusterInput]) -> list[ItemFeatures]:
    """A batch's clustering features, in a worker process (`Pipeline._featurize`), as `_features_here` makes them."""
    from curator import cluster

    return cluster.features_batch([_chrome_free(item) for item in batch])
