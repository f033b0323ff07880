"""The discover stage: every enabled source proposes candidates, stored once per canonical URL.

    sources (config) ─► Source.discover ─► SourceResult ─► Candidate ─► store (discovered | skipped:too_old)

A source that fails is that source's outcome (counted, recorded in its health); one odd entry never
costs its source the others. A person's URL (`curator add`) is checked by `vet_find_url` first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from curator import rulecheck
from curator.context import RUN_LEVEL, StageContext
from curator.errors import CuratorError, UsageError
from curator.http import Fetcher
from curator.models import Candidate, ItemState
from curator.redaction import Redactor
from curator.report import source_flag
from curator.settings import SourceSettings
from curator.sources import Source, SourceContext, SourceResult, build_source
from curator.urls import canonical_url, check_user_url, redact

log = logging.getLogger(__name__)

Cpu = Callable[..., Awaitable[Any]]  # runs CPU-heavy parsing in the parser pool (ParsePool.run)


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


def redacted_candidate(redactor: Redactor, cand: Candidate) -> Candidate:
    """Its text fields with every configured secret masked (the URLs stay: they are what is fetched)."""
    fields = ("title", "snippet", "submitter")
    return cand.model_copy(update={f: redactor.text(getattr(cand, f)) for f in fields if getattr(cand, f)})


async def discover(ctx: StageContext, fetcher: Fetcher, cpu: Cpu) -> None:
    """Read every enabled source (all at once; the fetcher bounds the connections) and store what they propose."""
    sources = [s for s in ctx.settings.sources if s.enabled]
    for src in sources:
        ctx.store.sync_source(src.name, src.kind, src.url)
    now = ctx.clock()
    with ctx.reporter.stage("discover", len(sources)) as advance:

        async def one(src_cfg: SourceSettings) -> None:
            if ctx.stopping.is_set():
                advance()
                return
            try:
                read = await _read_source(ctx, fetcher, cpu, src_cfg, now)
            finally:
                advance()
            if read is not None:
                _take(ctx, src_cfg, *read)

        await asyncio.gather(*(one(s) for s in sources))
    names = {s.name for s in sources}
    for row in ctx.store.source_health():
        if row.name in names and (flag := source_flag(row)):
            ctx.run.notes.append(f"source '{row.name}' {flag}; check it with `curator sources check`")


async def _read_source(ctx: StageContext, fetcher: Fetcher, cpu: Cpu, src_cfg: SourceSettings,
                       now: datetime) -> tuple[Source, SourceResult] | None:
    """What one source proposes, or None when it failed (its failure is recorded on the source)."""
    source = build_source(src_cfg)
    sctx = SourceContext(fetcher=fetcher, validators=ctx.store.source_validators(src_cfg.name), now=now, cpu=cpu)
    try:
        return source, await source.discover(sctx)
    except RUN_LEVEL:
        raise
    except CuratorError as exc:  # SourceError, FetchError, BlockedAddress …: this source's outcome
        ctx.store.record_source_error(src_cfg.name, exc.reason)
        ctx.run.counters[f"source/{exc.reason}"] += 1
        log.warning("source %s failed: %s", src_cfg.name, exc)
        return None
    except Exception as exc:  # noqa: BLE001  (any other fault of one source must not end the run)
        ctx.internal_error("source", exc, f"source '{src_cfg.name}'")
        ctx.store.record_source_error(src_cfg.name, "internal_error")
        return None


def _take(ctx: StageContext, src_cfg: SourceSettings, source: Source, result: SourceResult) -> None:
    """Store one source's candidates, then its validators (only now that the items they cover are committed)."""
    run = ctx.run
    if result.not_modified:
        run.counters["source/not_modified"] += 1
        ctx.store.record_source_ok(src_cfg.name, None, 0)
        return
    anchored = source.keeps_fragment  # entries that are anchors on one page keep their #fragment
    new = sum(add_contained(ctx, cand, anchored) for cand in result.candidates)
    for reason, n in result.dropped.items():
        run.counters[f"discover/dropped_{reason}"] += n
    # Validators are saved only now that the items they cover are committed.
    ctx.store.record_source_ok(src_cfg.name, result.validators, new, len(result.candidates))
    run.counters["source/ok" if result.candidates else "source/empty"] += 1


def add_contained(ctx: StageContext, cand: Candidate, anchored: bool) -> bool:
    try:
        return add(ctx, cand, keep_fragment=anchored)
    except RUN_LEVEL:
        raise
    except Exception as exc:  # noqa: BLE001  (one odd entry never costs its source the others)
        ctx.internal_error("discover", exc, f"an entry of '{cand.source}' ({redact(cand.url)})")
        return False


def add(ctx: StageContext, cand: Candidate, *, keep_fragment: bool = False) -> bool:
    """Store one candidate; True when it is new. A feed's back catalogue is known but never fetched."""
    run, settings = ctx.run, ctx.settings
    try:
        canonical = canonical_url(cand.url, keep_fragment=keep_fragment)
    except ValueError:
        run.counters["discover/bad_url"] += 1
        return False
    item_id, is_new = ctx.store.add_candidate(redacted_candidate(ctx.redactor, cand), canonical)
    run.counters["discover/new" if is_new else "discover/known"] += 1
    max_age = settings.run.max_age_days
    if is_new and max_age and cand.published_at and cand.published_at < ctx.clock() - timedelta(days=max_age):
        # Known from now on, but never fetched or paid for: a feed's back catalogue is not news.
        ctx.store.set_state(item_id, ItemState.SKIPPED, "too_old")
        run.counters["discover/too_old"] += 1
    elif is_new:
        rulecheck.on_discover(ctx, item_id, cand)  # the source's keep / block rules, before any fetch
    return is_new
