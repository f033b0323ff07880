"""The enrichment stage: one summary per story, a cheap triage first, within budget and rate limits.

    extracted items ─► story leads (followers are cited under their lead, never paid for)
                    ─► cache (content, prompt, model) ─► triage (batched titles + snippets)
                    ─► full pass (thread pool, breaker, budget) ─► enriched | failed:<reason>

Who is to blame decides the outcome. The model answered but not usably, even after the re-ask
(FALLBACK_REASONS): the item is enriched offline instead, flagged `llm_fallback`. The endpoint
cannot serve the run (a rejected key, an unknown model, no quota, unreachable, or `breaker_failures`
failures in a row): LLMUnavailable ends the run and no item is marked failed, they wait at
`extracted`. An isolated failure (a timeout, a 5xx) between answers is the item's: failed, retryable,
and on its last attempt (or when it cannot be retried) enriched offline, flagged, rather than lost.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta

from curator import text as textutil
from curator.context import StageContext
from curator.enrich import cleanup, content_hash
from curator.enrich.backends import Backend, TriageVerdict, endpoint
from curator.enrich.choose import choose_backend
from curator.enrich.limits import Budget
from curator.enrich.restory import merge_translated_stories
from curator.errors import BudgetExceeded, ConfigError, CuratorError, LLMError, LLMUnavailable
from curator.models import Enrichment, EnrichRequest, Item, ItemState, RunSummary
from curator.store import now_utc
from curator.urls import redact

log = logging.getLogger(__name__)

READ_SLICE = 200  # items read at a time: the stage holds a slice of articles, not every extracted item's

# The model answered, but the answer is unusable after the re-ask: the offline backend writes this one.
FALLBACK_REASONS = frozenset({"llm_invalid", "llm_length", "llm_chatter", "llm_filtered", "llm_refusal",
                              "llm_too_large"})
FALLBACK_FLAG = "llm_fallback"


def article_text(text: str, title: str, description: str | None) -> str:
    """The text to summarise: the article's, or its meta description when the extracted text is page
    chrome (view counts, player notices, "next up" lists); "" when neither is an article."""
    clean = cleanup.clean_for_summary(text, title)
    if not cleanup.is_not_article(clean, textutil.detect_lang(text + title)):
        return text
    desc = cleanup.clean_for_summary(description or "", title)
    lang = textutil.detect_lang(desc.text) if desc.text else "en"
    enough = desc.prose_chars >= (20 if lang in {"zh", "ja", "ko"} else 60)
    return desc.text if enough and not cleanup.is_chrome(desc.text) else ""


def _in_language(item: Item, lang: str) -> bool:
    return bool(item.article and item.article.lang and item.article.lang.split("-")[0].lower() == lang)


class EnrichStage:
    """Enriches the items waiting at `extracted`, counting outcomes on the context's run."""

    def __init__(self, ctx: StageContext, *, backend: Backend | None = None) -> None:
        self.settings = ctx.settings
        self.store = ctx.store
        self.reporter = ctx.reporter
        self.stopping = ctx.stopping
        self.ctx = ctx
        self._backend = backend
        self.redactor = ctx.redactor
        self._offline: Backend | None = None
        self._leads: dict[int, Item] = {}  # the triaged leads, and each story's items (second pass)
        self._members: dict[int, list[int]] = {}

    def redacted(self, enr: Enrichment) -> Enrichment:
        """The enrichment with every configured secret masked: a model can echo the key it was called
        with (or a token quoted by the page). Applied before the cache or the enrichments table is written."""
        if not self.redactor.found_in(enr.model_dump_json()):
            return enr
        log.warning("a model answer contained a configured secret; masked before storing (flagged for review)")
        clean = self.redactor.model(enr)
        return clean.model_copy(update={"flags": [*clean.flags, "secret_redacted"]})

    def run(self) -> None:
        self._enrich(self.ctx.run)

    def _story_leads(self, run: RunSummary, ids: list[int]) -> list[int]:
        """A story is enriched once: its lead (in the publication's language, then heaviest source,
        then longest text). The other items, and items joining a story that already has an enriched
        member, are cited under it. Reads the items a slice at a time and keeps only their ranks."""
        enriched_stories = self.store.enriched_story_ids()  # an extracted item's old one is stale
        pub_lang = self.settings.publication.language.split("-")[0].lower()
        groups: dict[int, list[tuple[tuple[bool, float, int, int], int]]] = {}
        for item in self.store.cluster_items(ids, slice_size=READ_SLICE):
            story = item.story_id or item.id
            self._members.setdefault(story, []).append(item.id)
            # No request building (and no hashing of the text) just to rank the members.
            # A story with a Chinese and an English report: the publication's language leads.
            rank = (not _in_language(item, pub_lang), -self.settings.source_weight(r.source for r in item.sources),
                    -len(item.article.text if item.article else ""), item.id)
            groups.setdefault(story, []).append((rank, item.id))
        leads = []
        for story_id, members in groups.items():
            if story_id not in enriched_stories:
                members.sort()
                leads.append(members.pop(0)[1])
            for _, follower in members:
                self.store.set_state(follower, ItemState.ENRICHED, "same_story")
                run.counters["enrich/same_story"] += 1
        return leads

    def _read(self, ids: list[int]) -> Iterator[Item]:
        """The items of `ids`, in that order, READ_SLICE at a time."""
        for start in range(0, len(ids), READ_SLICE):
            part = ids[start : start + READ_SLICE]
            got = {item.id: item for item in self.store.items(ids=part)}
            yield from (got[i] for i in part if i in got)

    def backend(self, budgets: list[Budget] | None = None) -> tuple[Backend, str]:
        if self._backend is not None:
            return self._backend, f"enrichment: {self._backend.name}"
        return choose_backend(self.settings, budgets)

    def request_for(self, item: Item) -> EnrichRequest:
        assert item.article is not None
        first = item.sources[0].source if item.sources else "manual"
        cfg = self.settings.source(first)
        title = item.article.title or item.title
        return EnrichRequest(
            item_id=item.id,
            url=item.url,
            title=title,
            text=article_text(item.article.text[: self.settings.llm.max_input_chars * 2], title,
                              item.article.description),
            lang=item.article.lang,
            source=first,
            source_weight=self.settings.source_weight(r.source for r in item.sources),
            section_hint=cfg.section if cfg else None,
            published_at=item.published_at,
            content_hash=content_hash(item.article.title, item.article.text),
        )

    def _budgets(self) -> list[Budget]:
        llm = self.settings.llm
        budgets = [Budget(llm.budget_run_usd, 0.0, "run")]
        if llm.budget_issue_usd is not None:
            since = now_utc() - timedelta(days=self.settings.publication.window_days)  # spend: wall-stamped
            budgets.append(Budget(llm.budget_issue_usd, float(self.store.llm_totals(since).cost_usd), "issue"))
        return budgets

    def _enrich(self, run: RunSummary) -> None:
        ids = [w.id for w in self.store.waiting(ItemState.EXTRACTED)]
        if not ids or self.stopping.is_set():
            return
        leads = self._story_leads(run, ids)
        budgets = self._budgets()
        backend, note = self.backend(budgets)
        run.notes.append(note)
        self.reporter.info(note)
        model_key = backend.model or backend.name
        todo: list[EnrichRequest] = []
        for item in self._read(leads):  # a slice of articles at a time; a request keeps the text's head
            req = self.request_for(item)
            if not req.text.strip():
                # Page chrome only (a video page without notes) and no description: never summarised.
                self.store.set_state(item.id, ItemState.SKIPPED, "not_article")
                run.counters["enrich/not_article"] += 1
                continue
            hit = self.store.cache_get(req.content_hash, backend.prompt_sha, model_key) if backend.caches_answers else None
            if hit:
                self.store.save_enrichment(item.id, self.redacted(Enrichment.model_validate_json(hit)), req.content_hash)
                run.counters["enrich/cached"] += 1
            else:
                todo.append(req)
        try:
            if todo and self.settings.llm.triage and backend.triages:
                todo = self._triage(run, backend, todo)
            self._full_pass(run, backend, todo, model_key)
        except BudgetExceeded as exc:
            run.counters["enrich/waiting_budget"] += sum(1 for _ in self.store.waiting(ItemState.EXTRACTED))
            run.notes.append(str(exc))
            log.warning("%s", exc)
        except LLMUnavailable as exc:
            waiting = len(self.store.waiting(ItemState.EXTRACTED))
            run.counters["enrich/waiting_llm_unavailable"] += waiting
            raise LLMUnavailable(f"{exc}; {waiting} items wait (extracted) for the next run",
                                 reason=exc.reason) from exc
        finally:
            self._log_calls(run, backend)
            getattr(backend, "release", lambda: None)()  # the offline backend's worker processes

    def _triage(self, run: RunSummary, backend: Backend, todo: list[EnrichRequest]) -> list[EnrichRequest]:
        """Cheap batched scoring of titles + snippets; only promising items get the full pass."""
        scores: dict[int, TriageVerdict] = {}
        model_key = f"{backend.model}"
        uncached = []
        for req in todo:
            hit = self.store.cache_get(req.content_hash, f"triage:{backend.triage_sha}", model_key)
            if hit:
                data = json.loads(hit)
                scores[req.item_id] = TriageVerdict(item_id=req.item_id, score=data["score"], section=data["section"],
                                                    title_en=data.get("title_en", ""))
                run.counters["triage/cached"] += 1
            else:
                uncached.append(req)
        self._triage_batches(run, backend, uncached, scores)
        if any(v.title_en for v in scores.values()):  # the second pass reads the leads' articles again
            self._leads = {item.id: item for item in self.store.items(ids=[r.item_id for r in todo])}
        todo = merge_translated_stories(self.store, self.settings, run, todo, self._leads, self._members, scores)
        return self._triaged(run, todo, scores)

    def _triage_batches(self, run: RunSummary, backend: Backend, uncached: list[EnrichRequest],
                        scores: dict[int, TriageVerdict]) -> None:
        """Scores of the uncached items, a batch per call, cached; a batch that fails goes unscored."""
        model_key = f"{backend.model}"
        size = self.settings.llm.triage_batch
        with self.reporter.stage("triage", len(uncached)) as advance:
            for start in range(0, len(uncached), size):
                if self.stopping.is_set():
                    break
                batch = uncached[start : start + size]
                got: dict[int, TriageVerdict] = {}
                try:
                    got = {v.item_id: v for v in backend.triage(batch)}
                except (BudgetExceeded, LLMUnavailable):
                    raise
                except LLMError as exc:
                    run.counters[f"triage/{exc.reason}"] += 1
                except ConfigError:
                    raise
                except Exception as exc:  # noqa: BLE001  (an unexpected fault: the batch goes unscored, to the full pass)
                    run.counters["triage/internal_error"] += 1
                    log.error("unexpected %s in a triage batch; its items go to the full pass", type(exc).__name__)
                finally:
                    advance(len(batch))
                    self._log_calls(run, backend)
                for req in batch:
                    if req.item_id in got:
                        scores[req.item_id] = verdict = got[req.item_id]
                        self.store.cache_put(req.content_hash, f"triage:{backend.triage_sha}", model_key,
                                             json.dumps({"score": verdict.score, "section": verdict.section,
                                                         "title_en": verdict.title_en}))

    def _triaged(self, run: RunSummary, todo: list[EnrichRequest], scores: dict[int, TriageVerdict]) -> list[EnrichRequest]:
        """What goes to the full pass: above the threshold, the top k of each section, and the unscored."""
        llm = self.settings.llm
        keep: set[int] = {r.item_id for r in todo if r.item_id not in scores}  # unscored: full pass decides
        by_section: dict[str, list[tuple[int, int]]] = {}
        for item_id, verdict in scores.items():
            if verdict.score >= llm.triage_threshold:
                keep.add(item_id)
            by_section.setdefault(verdict.section, []).append((verdict.score, item_id))
        for ranked in by_section.values():
            keep.update(i for _, i in sorted(ranked, reverse=True)[: llm.triage_top_k])
        for req in todo:
            if req.item_id not in keep:
                self.store.set_state(req.item_id, ItemState.SKIPPED, "triaged_out")
                run.counters["triage/dropped"] += 1
        run.counters["triage/kept"] += len(keep)
        return [r for r in todo if r.item_id in keep]

    def fallback(self, req: EnrichRequest, exc: LLMError) -> Enrichment:
        """The offline backend's enrichment of an item the model answered unusably, flagged for the reviewer."""
        if self._offline is None:
            from curator.enrich.offline import OfflineBackend

            self._offline = OfflineBackend(self.settings)
        enr = self._offline.enrich(req)
        log.warning("item %s: no usable model answer (%s); enriched offline instead (%s)",
                    req.item_id, exc.reason, FALLBACK_FLAG)
        return enr.model_copy(update={"flags": [*enr.flags, FALLBACK_FLAG]})

    def _full_pass(self, run: RunSummary, backend: Backend, todo: list[EnrichRequest], model_key: str) -> None:
        workers = backend.workers
        state = _Pass(self, run, backend, model_key)
        with self.reporter.stage("enrich", len(todo)) as advance, ThreadPoolExecutor(workers) as pool:
            pending: dict[Future[Enrichment], EnrichRequest] = {}
            queue = list(todo)
            while queue or pending:
                while queue and len(pending) < workers and state.may_submit() and not self.stopping.is_set():
                    req = queue.pop(0)
                    pending[pool.submit(backend.enrich, req)] = req
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    req = pending.pop(fut)
                    advance()
                    state.take(fut, req)
                    self._log_calls(run, backend)
        state.finish(queue)

    def _failed(self, run: RunSummary, backend: Backend, req: EnrichRequest, err: LLMError, model_key: str) -> None:
        """An item's own failure: failed (retryable: tried again on a later run), or, when it would be failed
        for good (not retryable, or its last attempt), enriched offline instead: never lost to the LLM."""
        if err.retryable and not self.store.is_last_attempt(req.item_id):
            self.store.set_state(req.item_id, ItemState.FAILED, err.reason, retryable=True)
            log.warning("enrichment failed (%s) for %s; tried again on the next run", err.reason, redact(req.url))
            return
        self._fall_back(run, backend, req, err, model_key)

    def _fall_back(self, run: RunSummary, backend: Backend, req: EnrichRequest, err: LLMError, model_key: str) -> None:
        try:
            enr = self.fallback(req, err)
        except Exception as exc:  # noqa: BLE001  (the offline backend failing too is this item's outcome)
            self.store.set_state(req.item_id, ItemState.FAILED, "internal_error", retryable=True)
            run.counters["enrich/internal_error"] += 1
            log.error("unexpected %s in the offline fallback for %s", type(exc).__name__, redact(req.url))
            return
        self._save(run, backend, req, enr, model_key, cache=False)
        run.counters[f"enrich/{FALLBACK_FLAG}"] += 1
        run.counters[f"enrich/fallback_{err.reason}"] += 1

    def _save(self, run: RunSummary, backend: Backend, req: EnrichRequest, enr: Enrichment, model_key: str,
              *, cache: bool) -> None:
        enr = self.redacted(enr)
        self.store.save_enrichment(req.item_id, enr, req.content_hash)
        if cache:
            self.store.cache_put(req.content_hash, backend.prompt_sha, model_key, enr.model_dump_json())
        for flag in enr.flags:
            run.counters[f"enrich/flag_{flag.split(':')[0]}"] += 1

    def _log_calls(self, run: RunSummary, backend: Backend) -> None:
        for call in backend.drain_calls():
            run.counters["llm/calls"] += 1
            run.counters["llm/input_tokens"] += call.input_tokens
            run.counters["llm/output_tokens"] += call.output_tokens
            run.cost_usd += call.cost_usd
            self.store.log_llm_call(
                run_id=run.run_id, item_id=call.item_id, prompt_sha=call.prompt_sha, schema_hash=call.schema_hash,
                model=call.model, input_tokens=call.input_tokens, output_tokens=call.output_tokens,
                cost_usd=call.cost_usd, latency_ms=call.latency_ms, outcome=call.outcome,
            )


class _Pass:
    """One full pass's outcome keeping: the breaker streak, the budget stop and a run-level fault.

    Failures since the endpoint last answered are the items' own only once an answer follows (then they
    are marked failed); if the breaker opens instead, they wait with the rest."""

    def __init__(self, stage: EnrichStage, run: RunSummary, backend: Backend, model_key: str) -> None:
        self.stage, self.run, self.backend, self.model_key = stage, run, backend, model_key
        self.limit = stage.settings.llm.breaker_failures
        self.streak: list[tuple[EnrichRequest, LLMError]] = []
        self.failures_in_a_row = 0
        self.budget_hit: BudgetExceeded | None = None
        self.fault: LLMUnavailable | None = None

    def may_submit(self) -> bool:
        return self.failures_in_a_row < self.limit and self.fault is None and self.budget_hit is None

    def answered(self) -> None:
        self.failures_in_a_row = 0
        for failed_req, err in self.streak:
            self.stage._failed(self.run, self.backend, failed_req, err, self.model_key)
        self.streak.clear()

    def take(self, fut: Future[Enrichment], req: EnrichRequest) -> None:
        stage, run = self.stage, self.run
        try:
            enr = fut.result()
        except BudgetExceeded as exc:
            self.budget_hit = exc  # the item stays `extracted` and waits for the next run
        except LLMUnavailable as exc:
            self.fault = self.fault or exc  # the item stays `extracted`; the run ends after what is in flight
        except LLMError as exc:
            if exc.reason in FALLBACK_REASONS:
                self.answered()
                stage._fall_back(run, self.backend, req, exc, self.model_key)
            else:
                self.failures_in_a_row += 1
                self.streak.append((req, exc))
                run.counters[f"enrich/{exc.reason}"] += 1
        except CuratorError as exc:
            stage.store.set_state(req.item_id, ItemState.FAILED, exc.reason)
            run.counters[f"enrich/{exc.reason}"] += 1
        except Exception as exc:  # noqa: BLE001  (an unexpected fault is this item's outcome)
            self.failures_in_a_row += 1
            run.counters["enrich/internal_error"] += 1
            stage._failed(run, self.backend, req, LLMError("internal error", reason="internal_error",
                                                           retryable=True), self.model_key)
            # By type only: a foreign exception's message can echo the request (URL, key).
            log.error("unexpected %s enriching %s; recorded as internal_error", type(exc).__name__, redact(req.url))
        else:
            self.answered()
            stage._save(run, self.backend, req, enr, self.model_key, cache=self.backend.caches_answers)
            run.counters["enrich/ok"] += 1

    def finish(self, queue: list[EnrichRequest]) -> None:
        """After the pass: raise the run-level fault, the open breaker or the budget stop (items wait)."""
        run = self.run
        if self.fault is not None:
            raise self.fault
        if self.failures_in_a_row >= self.limit and self.streak:
            run.counters["enrich/waiting_breaker_open"] += len(queue) + len(self.streak)
            last = self.streak[-1][1]
            raise LLMUnavailable(
                f"the LLM endpoint {endpoint(self.stage.settings.llm.base_url)} (model {self.backend.model}) failed "
                f"{self.failures_in_a_row} calls in a row (last: {last}), so the LLM stage stopped: check the "
                "provider's status and llm.base_url, raise llm.timeout_s if it is slow, or run with `--provider offline`",
                reason="llm_breaker_open")
        if self.failures_in_a_row >= self.limit and queue:  # unexpected faults in a row (no endpoint failure among them)
            run.counters["enrich/waiting_breaker_open"] += len(queue)
            run.notes.append(f"LLM stage stopped after {self.limit} failures in a row; {len(queue)} items wait for the next run")
        self.answered()  # failures the run ended on without opening the breaker are the items' own
        if self.budget_hit is not None:
            raise self.budget_hit
