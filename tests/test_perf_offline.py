"""Offline enrichment runs in worker processes (one per core, as extract.workers says), off the main
process, and writes exactly what the inline backend writes; a worker that dies is the item's retryable
error, never a hang or a lost run."""

from __future__ import annotations

import pytest

from curator.enrich.choose import choose_backend
from curator.enrich.offline import OfflineBackend
from curator.errors import LLMError
from curator.models import Enrichment, EnrichRequest
from curator.settings import Settings, load_settings
from tests.test_offline_enrich import EN_CHIP, ROOT, ZH_CHIP, ZH_LOTTERY, ZH_MODEL


def _settings(**extract: object) -> Settings:
    return load_settings(ROOT, env={}, overrides={"extract": extract, "llm": {"provider": "offline"}})


def _requests() -> list[EnrichRequest]:
    texts = [("深度求索发布 DeepSeek-V4", ZH_MODEL, "zh"), ("摩尔线程完成 C 轮融资", ZH_CHIP, "zh"),
             ("Nvidia revenue jumps", EN_CHIP, "en"), ("双色球开奖", ZH_LOTTERY, "zh")]
    return [EnrichRequest(item_id=i, url=f"https://news{i}.example.com/a", title=t, text=x, lang=lang, source="s")
            for i, (t, x, lang) in enumerate(texts)]


def _outcome(backend: OfflineBackend, req: EnrichRequest) -> Enrichment | tuple[str, str | None]:
    try:
        return backend.enrich(req)
    except LLMError as exc:  # an item's own outcome (page chrome, empty text) travels back as the same error
        return ("error", exc.reason)


def test_the_pooled_backend_writes_what_the_inline_one_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(workers=2)
    reqs = [*_requests(), EnrichRequest(item_id=9, url="https://x.example/", title="空", text="  ", source="s")]
    inline = [_outcome(OfflineBackend(settings), r) for r in reqs]
    assert ("error", "empty_summary") in inline and sum(isinstance(x, Enrichment) for x in inline) >= 3
    pooled = OfflineBackend(settings, pooled=True)
    assert pooled.workers == 2  # the stage keeps two in flight
    # The work is done in the worker processes: this process's own enrichment code is never run.
    monkeypatch.setattr(OfflineBackend, "_enrich_here", lambda self, req: pytest.fail("enriched in the main process"))
    try:
        assert [_outcome(pooled, r) for r in reqs] == inline
        pooled.release()
        assert _outcome(pooled, reqs[0]) == inline[0]  # released workers come back on the next call
    finally:
        pooled.release()


def test_the_run_backend_is_pooled_unless_extraction_runs_inline() -> None:
    backend, note = choose_backend(_settings(workers=2))
    assert isinstance(backend, OfflineBackend) and backend.workers == 2 and "OFFLINE" in note
    inline, _ = choose_backend(_settings(workers=0))
    assert isinstance(inline, OfflineBackend) and inline.workers == 1
    assert inline.enrich(_requests()[0]).backend == "offline"  # inline: enriched here, no processes


def test_a_worker_that_dies_is_the_items_retryable_error() -> None:
    # 40 MB of address space cannot even load the enrichment code: every worker dies at start.
    backend = OfflineBackend(_settings(workers=1, worker_max_mb=40), pooled=True)
    try:
        for _ in range(2):  # and the next call starts a fresh pool rather than hanging on the broken one
            with pytest.raises(LLMError) as info:
                backend.enrich(_requests()[0])
            assert info.value.reason == "worker_crashed" and info.value.retryable
            assert "died" in str(info.value)
    finally:
        backend.release()


# ---- the offline backend's hot paths, made cheaper without changing what they answer --------------------


SAMPLES = ["OpenAI 发布 ChatGPT 新版本，GPT4 与 gpt-4o 同台", "STRASSE und Straße: GROSS, groß", "İstanbul'da AI çipi",
           "開發者可以在本地部署推理服務，瞭解更多", "乾坤未定，於是著名的哪吒", "Go goes to Google; golang GO", "芯片 AI芯片 ai 芯片",
           "ΣΊΣΥΦΟΣ σίσυφος ς", "Kelvin K and ſ long s", ""]


def test_keyword_counts_are_what_the_patterns_alone_count() -> None:
    from curator.enrich.keywords import KeywordSet, haystack

    words = ["AI", "GPT", "ChatGPT", "Go", "芯片", "AI芯片", "straße", "gross", "istanbul", "σίσυφος", "kelvin",
             "long s", "开发者", "推理"]
    kws = KeywordSet(words)
    for sample in SAMPLES:
        hay = haystack(sample)
        plain = {kw: n for kw, p in kws.patterns if (n := len(p.findall(hay)))}
        assert kws.counts(hay) == plain, sample
    assert kws.counts(haystack(SAMPLES[0]))["GPT"] == 3  # ChatGPT's seam, GPT4 and gpt-4o


def test_simplified_text_skips_the_converter_and_traditional_text_still_converts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from curator import text

    converted = {s: str(text._converter().convert(s)) for s in SAMPLES}
    for sample in SAMPLES:
        assert text.to_simplified(sample) == converted[sample]
    assert text.to_simplified(SAMPLES[3]) == "开发者可以在本地部署推理服务，了解更多"
    monkeypatch.setattr(text, "_converter", lambda: pytest.fail("converted a text that needs no conversion"))
    assert text.to_simplified("深度求索发布了新一代开源大模型") == "深度求索发布了新一代开源大模型"
