"""The pipeline: discover → fetch → extract → enrich (collect), and select → compose (draft).

Each stage reads the items waiting at its input state and writes the next state, item by item, so
a run killed anywhere resumes where it stopped. A failing item or source becomes an outcome with a
reason and a counter; only run-level faults (config, store, lock) end a run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from curator import charset, cluster, compose, decisions, history
from curator.enrich import Backend, choose_backend, content_hash
from curator.enrich.limits import Budget
from curator.errors import BudgetExceeded, CuratorError, ExtractionError, FetchError, Interrupted, LLMError, SourceError
from curator.http import Fetcher
from curator.models import Candidate, EnrichRequest, Enrichment, Issue, Item, ItemState, Page
from curator.progress import Reporter
from curator.report import FLAG_AFTER_FAILURES
from curator.robots import RobotsCache
from curator.settings import Settings
from curator.sources import SourceContext, build_source
from curator.store import Store, now_utc
from curator.urls import canonical_url, redact
from curator.workers import ParsePool, extract_job

log = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
HTML_TYPES = ("text/html", "application/xhtml", "text/plain", "")
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


class Pipeline:
    def __init__(self, settings: Settings, store: Store, reporter: Reporter | None = None,
                 *, backend: Backend | None = None) -> None:
        self.settings = settings
        self.store = store
        self.reporter = reporter or Reporter(quiet=True)
        self._backend = backend
        # Set by SIGTERM or the run deadline: stages stop taking new work; what is in flight finishes.
        self.stopping = threading.Event()
        self.stop_reason = ""
        self._pool = ParsePool(settings.extract.model_copy(update={"workers": 0}))  # replaced per collect

    def stop(self, reason: str) -> None:
        if not self.stopping.is_set():
            self.stop_reason = reason
            self.stopping.set()

    # ---- collect -----------------------------------------------------------------------------
    def collect(self, *, discover: bool = True, command: str = "collect") -> RunResult:
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
            asyncio.run(self._collect_network(run, discover))
            self._cluster(run)
            self._enrich(run)
            if self.stopping.is_set():
                waiting = sum(n for k, n in self.store.state_counts().items()
                              if k in ("discovered", "fetched", "extracted"))
                run.notes.append(f"stopped early ({self.stop_reason}); {waiting} items wait for the next run")
                run.status = "interrupted"
                raise Interrupted(f"run stopped: {self.stop_reason}; {waiting} items wait for the next run")
            run.status = "ok"
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
        now = now_utc()
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
                except (SourceError, FetchError) as exc:
                    self.store.record_source_error(src_cfg.name, exc.reason)
                    run.counters[f"source/{exc.reason}"] += 1
                    log.warning("source %s failed: %s", src_cfg.name, exc)
                    return
                finally:
                    advance()
                if result.not_modified:
                    run.counters["source/not_modified"] += 1
                    self.store.record_source_ok(src_cfg.name, None, 0)
                    return
                anchored = src_cfg.kind == "watch"  # entries that are anchors on one page keep their #fragment
                new = sum(self._add(run, cand, keep_fragment=anchored) for cand in result.candidates)
                for reason, n in result.dropped.items():
                    run.counters[f"discover/dropped_{reason}"] += n
                # Validators are saved only now that the items they cover are committed.
                self.store.record_source_ok(src_cfg.name, result.validators, new)
                run.counters["source/ok"] += 1

            await asyncio.gather(*(one(s) for s in sources))
        names = {s.name for s in sources}
        for row in self.store.source_health():
            if row["name"] in names and row["consecutive_failures"] >= FLAG_AFTER_FAILURES:
                run.notes.append(f"source '{row['name']}' has failed {row['consecutive_failures']} runs in a row "
                                 f"(last error: {row['last_error']}); check it with `curator sources check`")

    def _add(self, run: RunResult, cand: Candidate, *, keep_fragment: bool = False) -> bool:
        try:
            canonical = canonical_url(cand.url, keep_fragment=keep_fragment)
        except ValueError:
            run.counters["discover/bad_url"] += 1
            return False
        item_id, is_new = self.store.add_candidate(cand, canonical)
        run.counters["discover/new" if is_new else "discover/known"] += 1
        max_age = self.settings.run.max_age_days
        if is_new and max_age and cand.published_at and cand.published_at < now_utc() - timedelta(days=max_age):
            # Known from now on, but never fetched or paid for: a feed's back catalogue is not news.
            self.store.set_state(item_id, ItemState.SKIPPED, "too_old")
            run.counters["discover/too_old"] += 1
        return is_new

    def add_candidate(self, cand: Candidate) -> tuple[int, bool]:
        try:
            canonical = canonical_url(cand.url)
        except ValueError as exc:
            raise CuratorError(f"{exc}; give a full http(s) URL", reason="bad_url") from None
        return self.store.add_candidate(cand, canonical)

    async def _fetch(self, run: RunResult, fetcher: Fetcher) -> None:
        rows = self.store.waiting(ItemState.DISCOVERED)
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
                    if robots is not None and not await robots.allowed(row["url"]):
                        self.store.set_state(row["id"], ItemState.SKIPPED, "robots")
                        run.counters["fetch/skipped_robots"] += 1
                        return None
                    resp = await fetcher.get(row["url"], accept=PAGE_ACCEPT)
                    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                    if not ctype.startswith(HTML_TYPES):
                        self.store.set_state(row["id"], ItemState.SKIPPED, "not_html")
                        run.counters["fetch/skipped_not_html"] += 1
                        return
                    text, encoding = charset.decode_html(resp.body, resp.headers.get("content-type"))
                    page = Page(url=resp.url, final_url=resp.final_url, status=resp.status, text=text,
                                encoding=encoding, content_type=ctype, validators=resp.validators,
                                fetched_at=now_utc())
                    self.store.save_page(row["id"], page)
                    run.counters["fetch/ok"] += 1
                    return page
                except FetchError as exc:
                    state = ItemState.SKIPPED if exc.reason == "too_large" else ItemState.FAILED
                    self.store.set_state(row["id"], state, exc.reason, retryable=exc.retryable)
                    run.counters[f"fetch/{exc.reason}"] += 1
                    log.info("fetch failed (%s): %s", exc.reason, redact(row["url"]))
                except Exception:
                    log.exception("unexpected error fetching %s", redact(row["url"]))
                    self.store.set_state(row["id"], ItemState.FAILED, "internal_error", retryable=True)
                    run.counters["fetch/internal_error"] += 1
                finally:
                    advance()

            await asyncio.gather(*(one(r) for r in rows))
        if robots is not None and robots.unavailable:
            run.counters["fetch/robots_unavailable"] += robots.unavailable

    # ---- extract ------------------------------------------------------------------------------
    async def _extract_waiting(self, run: RunResult) -> None:
        rows = self.store.waiting(ItemState.FETCHED)
        admit = asyncio.Semaphore(max(1, self._pool.workers) * 2)
        with self.reporter.stage("extract", len(rows)) as advance:

            async def one(row) -> None:  # type: ignore[no-untyped-def]
                async with admit:
                    if not self.stopping.is_set():
                        await self._extract_one(run, row, self.store.load_page(row))
                    advance()

            await asyncio.gather(*(one(r) for r in rows))

    async def _extract_one(self, run: RunResult, row: Any, page: Page) -> None:
        anchor = urlsplit(row["canonical_url"]).fragment  # a `watch` entry: one block of a page
        try:
            article = await self._pool.run(extract_job, page, anchor, self.settings.extract)
            if not article.title:
                article = article.model_copy(update={"title": row["title"]})
            self.store.save_article(row["id"], article, content_hash(article.title, article.text))
            run.counters["extract/ok"] += 1
        except ExtractionError as exc:
            state = ItemState.FAILED if exc.retryable else ItemState.SKIPPED
            self.store.set_state(row["id"], state, exc.reason, retryable=exc.retryable)
            run.counters[f"extract/{exc.reason}"] += 1
        except Exception:
            log.exception("unexpected error extracting %s", redact(row["url"]))
            self.store.set_state(row["id"], ItemState.FAILED, "extract_error")
            run.counters["extract/internal_error"] += 1

    # ---- cluster -----------------------------------------------------------------------------
    def _cluster(self, run: RunResult) -> None:
        """Group newly extracted items (story_id still NULL) into stories with each other and with
        the items of the last CLUSTER_WINDOW_DAYS; stored story ids stay as they are."""
        since = (now_utc() - timedelta(days=CLUSTER_WINDOW_DAYS)).isoformat(timespec="seconds")
        items = self.store.load_items(
            "i.article IS NOT NULL AND i.state NOT IN ('skipped', 'failed') "
            "AND (i.story_id IS NULL OR COALESCE(i.published_at, i.discovered_at) >= ?)",
            (since,),
        )
        new = [i.id for i in items if i.story_id is None]
        if not new or self.stopping.is_set():
            return
        inputs = [
            cluster.ClusterInput(
                item_id=i.id,
                title=i.article.title or i.title,
                text=i.article.text,
                lang=i.article.lang,
                published_at=i.published_at or i.article.date or i.discovered_at,
            )
            for i in items
            if i.article is not None
        ]
        existing = {i.id: i.story_id for i in items if i.story_id is not None}
        assignments = cluster.assign_stories(inputs, existing)
        self.store.set_story_ids(assignments)
        run.counters["cluster/new"] += len(new)
        run.counters["cluster/joined"] += sum(1 for i in new if assignments[i] != i)

    def _story_leads(self, run: RunResult, items: list[Item]) -> list[Item]:
        """A story is enriched once: its lead (heaviest source, then longest text). The other items,
        and items joining a story that already has an enriched member, are cited under it."""
        enriched_stories = {r[0] for r in self.store.db.execute(
            "SELECT DISTINCT i.story_id FROM items i JOIN enrichments e ON e.item_id = i.id "
            "WHERE i.story_id IS NOT NULL")}
        groups: dict[int, list[Item]] = {}
        for item in items:
            groups.setdefault(item.story_id or item.id, []).append(item)
        leads = []
        for story_id, members in groups.items():
            if story_id not in enriched_stories:
                members.sort(key=lambda i: (-self.request_for(i).source_weight,
                                            -len(i.article.text if i.article else ""), i.id))
                leads.append(members.pop(0))
            for follower in members:
                self.store.set_state(follower.id, ItemState.ENRICHED, "same_story")
                run.counters["enrich/same_story"] += 1
        return leads

    # ---- enrich ------------------------------------------------------------------------------
    def backend(self, budgets: list[Budget] | None = None) -> tuple[Backend, str]:
        if self._backend is not None:
            return self._backend, f"enrichment: {self._backend.name}"
        return choose_backend(self.settings, budgets)

    def request_for(self, item: Item) -> EnrichRequest:
        assert item.article is not None
        first = item.sources[0].source if item.sources else "manual"
        cfg = self.settings.source(first)
        weights = [src.weight for r in item.sources if (src := self.settings.source(r.source))]
        return EnrichRequest(
            item_id=item.id,
            url=item.url,
            title=item.article.title or item.title,
            text=item.article.text[: self.settings.llm.max_input_chars * 2],
            lang=item.article.lang,
            source=first,
            source_weight=max(weights, default=1.0),
            section_hint=cfg.section if cfg else None,
            published_at=item.published_at,
            content_hash=content_hash(item.article.title, item.article.text),
        )

    def _budgets(self) -> list[Budget]:
        llm = self.settings.llm
        budgets = [Budget(llm.budget_run_usd, 0.0, "run")]
        if llm.budget_issue_usd is not None:
            since = now_utc() - timedelta(days=self.settings.publication.window_days)
            budgets.append(Budget(llm.budget_issue_usd, float(self.store.llm_totals(since)["cost_usd"]), "issue"))
        return budgets

    def _enrich(self, run: RunResult) -> None:
        items = self.store.load_items("i.state = ?", (ItemState.EXTRACTED.value,))
        if not items or self.stopping.is_set():
            return
        items = self._story_leads(run, items)
        budgets = self._budgets()
        backend, note = self.backend(budgets)
        run.notes.append(note)
        self.reporter.info(note)
        model_key = getattr(backend, "model", "") or backend.name
        todo: list[EnrichRequest] = []
        for item in items:
            req = self.request_for(item)
            hit = self.store.cache_get(req.content_hash, backend.prompt_sha, model_key) if backend.name != "offline" else None
            if hit:
                self.store.save_enrichment(item.id, Enrichment.model_validate_json(hit), req.content_hash)
                run.counters["enrich/cached"] += 1
            else:
                todo.append(req)
        try:
            if todo and self.settings.llm.triage and hasattr(backend, "triage"):
                todo = self._triage(run, backend, todo)
            self._full_pass(run, backend, todo, model_key)
        except BudgetExceeded as exc:
            run.counters["enrich/waiting_budget"] += sum(1 for _ in self.store.waiting(ItemState.EXTRACTED))
            run.notes.append(str(exc))
            log.warning("%s", exc)
        finally:
            self._log_calls(run, backend)

    def _triage(self, run: RunResult, backend: Any, todo: list[EnrichRequest]) -> list[EnrichRequest]:
        """Cheap batched scoring of titles + snippets; only promising items get the full pass."""
        scores: dict[int, tuple[int, str]] = {}
        model_key = f"{backend.model}"
        uncached = []
        for req in todo:
            hit = self.store.cache_get(req.content_hash, f"triage:{backend.triage_sha}", model_key)
            if hit:
                data = json.loads(hit)
                scores[req.item_id] = (data["score"], data["section"])
                run.counters["triage/cached"] += 1
            else:
                uncached.append(req)
        size = self.settings.llm.triage_batch
        with self.reporter.stage("triage", len(uncached)) as advance:
            for start in range(0, len(uncached), size):
                if self.stopping.is_set():
                    break
                batch = uncached[start : start + size]
                try:
                    got = backend.triage(batch)
                except BudgetExceeded:
                    raise
                except LLMError as exc:
                    run.counters[f"triage/{exc.reason}"] += 1
                    got = {}
                finally:
                    advance(len(batch))
                    self._log_calls(run, backend)
                for req in batch:
                    if req.item_id in got:
                        scores[req.item_id] = got[req.item_id]
                        score, section = got[req.item_id]
                        self.store.cache_put(req.content_hash, f"triage:{backend.triage_sha}", model_key,
                                             json.dumps({"score": score, "section": section}))
        llm = self.settings.llm
        keep: set[int] = {r.item_id for r in todo if r.item_id not in scores}  # unscored: full pass decides
        by_section: dict[str, list[tuple[int, int]]] = {}
        for item_id, (score, section) in scores.items():
            if score >= llm.triage_threshold:
                keep.add(item_id)
            by_section.setdefault(section, []).append((score, item_id))
        for ranked in by_section.values():
            keep.update(i for _, i in sorted(ranked, reverse=True)[: llm.triage_top_k])
        for req in todo:
            if req.item_id not in keep:
                self.store.set_state(req.item_id, ItemState.SKIPPED, "triaged_out")
                run.counters["triage/dropped"] += 1
        run.counters["triage/kept"] += len(keep)
        return [r for r in todo if r.item_id in keep]

    def _full_pass(self, run: RunResult, backend: Backend, todo: list[EnrichRequest], model_key: str) -> None:
        workers = self.settings.llm.concurrency if backend.name != "offline" else 1
        limit = self.settings.llm.breaker_failures
        failures_in_a_row = 0
        budget_hit: BudgetExceeded | None = None
        with self.reporter.stage("enrich", len(todo)) as advance, ThreadPoolExecutor(workers) as pool:
            pending: dict[Future[Enrichment], EnrichRequest] = {}
            queue = list(todo)
            while queue or pending:
                while (queue and len(pending) < workers and failures_in_a_row < limit
                       and budget_hit is None and not self.stopping.is_set()):
                    req = queue.pop(0)
                    pending[pool.submit(backend.enrich, req)] = req
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    req = pending.pop(fut)
                    advance()
                    try:
                        enr = fut.result()
                    except BudgetExceeded as exc:
                        budget_hit = exc  # the item stays `extracted` and waits for the next run
                    except LLMError as exc:
                        failures_in_a_row += 1
                        self.store.set_state(req.item_id, ItemState.FAILED, exc.reason, retryable=exc.retryable)
                        run.counters[f"enrich/{exc.reason}"] += 1
                        log.warning("enrichment failed (%s) for %s", exc.reason, redact(req.url))
                    except CuratorError as exc:
                        self.store.set_state(req.item_id, ItemState.FAILED, exc.reason)
                        run.counters[f"enrich/{exc.reason}"] += 1
                    else:
                        failures_in_a_row = 0
                        self.store.save_enrichment(req.item_id, enr, req.content_hash)
                        if backend.name != "offline":
                            self.store.cache_put(req.content_hash, backend.prompt_sha, model_key, enr.model_dump_json())
                        run.counters["enrich/ok"] += 1
                        for flag in enr.flags:
                            run.counters[f"enrich/flag_{flag.split(':')[0]}"] += 1
                    self._log_calls(run, backend)
            if queue and failures_in_a_row >= limit:
                run.counters["enrich/waiting_breaker_open"] += len(queue)
                run.notes.append(
                    f"LLM stage stopped after {limit} failures in a row; {len(queue)} items wait for the next run"
                )
        if budget_hit is not None:
            raise budget_hit

    def _log_calls(self, run: RunResult, backend: Backend) -> None:
        drain = getattr(backend, "drain_calls", None)
        if drain is None:
            return
        for call in drain():
            run.counters["llm/calls"] += 1
            run.counters["llm/input_tokens"] += call.input_tokens
            run.counters["llm/output_tokens"] += call.output_tokens
            run.cost_usd += call.cost_usd
            self.store.log_llm_call(
                run_id=run.run_id, item_id=call.item_id, prompt_sha=call.prompt_sha, schema_hash=call.schema_hash,
                model=call.model, input_tokens=call.input_tokens, output_tokens=call.output_tokens,
                cost_usd=call.cost_usd, latency_ms=call.latency_ms, outcome=call.outcome,
            )

    # ---- draft -------------------------------------------------------------------------------
    def draft(self, *, as_of: datetime | None = None, number: int | None = None) -> RunResult:
        run = RunResult(run_id=self.store.start_run("draft"), status="running")
        try:
            as_of = as_of or datetime.now(UTC)
            open_issue = self.store.open_draft_issue()
            if number is None:
                number = open_issue["number"] if open_issue else self.store.next_issue_number(
                    self.settings.publication.first_issue_number)
            draft_ids = set()
            if open_issue and open_issue["number"] == number:
                draft_ids = {r[0] for r in self.store.db.execute(
                    "SELECT item_id FROM issue_items WHERE issue_id=?", (open_issue["id"],))}
            items = self.store.load_items("i.state IN ('enriched', 'drafted')")
            already = history.already_ran(self.store, items)
            weights = history.load_weights(self.store) if self.settings.learning.enabled else {}
            issue = compose.select(items, self.settings, number=number, as_of=as_of, draft_ids=draft_ids,
                                   already=already, weights=weights)
            # The editor's decisions on this issue number (review board), replayed on every regeneration.
            issue = decisions.apply_stored(self.store, issue, items, self.settings)
            extra = {"looking_back": history.looking_back(self.store, as_of)} if self.settings.publication.looking_back else {}
            text = compose.Renderer(self.settings).render(issue, **extra)
            path = self.settings.drafts_dir / f"issue-{number}.md"
            review = json.dumps(history.review_data(issue, already), ensure_ascii=False, indent=1)
            compose.write_atomic(path.with_suffix(".json"), review)
            compose.write_atomic(path, text)
            if already:
                run.counters["draft/already_ran"] = len(already)
            placements = [(it.id, sec.id, pos) for sec in issue.sections
                          for pos, st in enumerate(sec.stories) for it in st.items]
            self.store.save_draft_issue(number, str(path), placements)
            run.counters["draft/stories"] = len(issue.stories)
            run.counters["draft/sections"] = sum(1 for s in issue.sections if s.stories)
            run.counters["draft/runners_up"] = len(issue.runners_up)
            run.draft_path, run.issue, run.status = path, issue, "ok"
            if not issue.stories:
                run.notes.append("no enriched stories in the window: run `curator collect` first")
        except BaseException:
            run.status = "failed"
            raise
        finally:
            self.store.finish_run(run.run_id, run.status, dict(run.counters), run.notes)
        return run
