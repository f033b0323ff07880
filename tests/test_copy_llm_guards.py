"""Issue 14: the LLM path holds summaries to the copy rules too. A summary that repeats its title is
re-asked once with the reason; a model that keeps repeating it falls back to the offline summary,
flagged `llm_fallback` (real SDK against the fake OpenAI-compatible server on loopback)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from curator.cli import app
from curator.copytext import repeats_title
from curator.enrich.openai import OpenAIBackend
from curator.errors import LLMError
from curator.models import EnrichRequest
from curator.settings import load_settings
from curator.store import Store
from tests.canary import CANARY
from tests.fake_openai import Reply, valid_answer
from tests.sites import NewsSite

TITLE = "英伟达发布新一代数据中心芯片"
TEXT = ("英伟达在年度开发者大会上发布了新一代数据中心芯片，单卡显存提升到 288GB。"
        "公司表示，新芯片的推理性能是上一代的三倍，首批产品将在明年第二季度交付云服务商。"
        "多家云厂商已经宣布采购计划，用于训练和部署大模型。")
GOOD = "新芯片单卡显存提升到 288GB，推理性能是上一代的三倍，明年第二季度开始交付云服务商。"


def _backend(workspace: Path, fake_llm: Any) -> OpenAIBackend:
    settings = load_settings(workspace, env={"OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": fake_llm.base_url},
                             overrides={"llm": {"provider": "openai", "max_retries": 0, "timeout_s": 5}})
    return OpenAIBackend(settings)


def _req() -> EnrichRequest:
    return EnrichRequest(item_id=1, url="https://ex.com/chip", title=TITLE, text=TEXT, lang="zh", source="feed",
                         content_hash="h-chip")


def _repeating(request: dict[str, Any]) -> Reply:
    """An answer whose summary is the headline again (with a full stop), the title kept as it is."""
    return Reply(content=valid_answer(request, title=TITLE, summary=f"{TITLE}。"))


@pytest.mark.parametrize("summary", [f"{TITLE}。", f"{TITLE}！{GOOD}", f"{GOOD}{TITLE}。"])
def test_a_summary_repeating_its_title_is_re_asked_with_the_reason(workspace, fake_llm, summary) -> None:  # type: ignore[no-untyped-def]
    fake_llm.script = [lambda r: Reply(content=valid_answer(r, title=TITLE, summary=summary)),
                       lambda r: Reply(content=valid_answer(r, title=TITLE, summary=GOOD))]
    enr = _backend(workspace, fake_llm).enrich(_req())
    assert len(fake_llm.requests) == 2, "the repeating answer was re-asked"
    reask = fake_llm.requests[1]["messages"]
    assert reask[-1]["role"] == "user" and "重复了标题" in reask[-1]["content"]
    assert enr.summary == GOOD and not any(repeats_title(s, TITLE) for s in re.split(r"[。！]", enr.summary))


def test_a_summary_that_merely_mentions_the_subject_is_accepted_first_time(workspace, fake_llm) -> None:  # type: ignore[no-untyped-def]
    fake_llm.script = [lambda r: Reply(content=valid_answer(
        r, title=TITLE, summary="英伟达的新芯片单卡显存提升到 288GB，首批产品明年第二季度交付。"))]
    enr = _backend(workspace, fake_llm).enrich(_req())
    assert len(fake_llm.requests) == 1 and enr.summary.startswith("英伟达的新芯片")


def test_a_model_that_always_repeats_the_title_fails_the_item_as_invalid(workspace, fake_llm) -> None:  # type: ignore[no-untyped-def]
    fake_llm.script = [_repeating, _repeating]
    with pytest.raises(LLMError) as err:
        _backend(workspace, fake_llm).enrich(_req())
    assert err.value.reason == "llm_invalid" and "重复了标题" in str(err.value)
    assert len(fake_llm.requests) == 2  # asked, re-asked once, no more


def _env(base: str) -> dict[str, str]:
    return {"OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": base, "CURATOR_LLM__PROVIDER": "openai",
            "CURATOR_LLM__MAX_RETRIES": "0", "CURATOR_LLM__TRIAGE": "false", "CURATOR_LLM__CONCURRENCY": "1"}


def test_a_collect_whose_model_keeps_repeating_titles_falls_back_offline_flagged(workspace, fake_llm) -> None:  # type: ignore[no-untyped-def]
    def repeat_original(request: dict[str, Any]) -> Reply:
        original = re.search(r"原标题：(.*)", request["messages"][0]["content"])
        assert original is not None
        return Reply(content=valid_answer(request, summary=original.group(1).strip() + "."))

    n = 3
    fake_llm.script = [repeat_original] * 2  # the first item: its answer and its re-ask repeat the title
    with NewsSite(n_articles=n) as site:
        site.write_sources(workspace)
        result = CliRunner().invoke(app, ["collect", "--home", str(workspace), "--json"], env=_env(fake_llm.base_url))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "degraded" and summary["reasons"] == {"enrich/llm_fallback": 1}
    assert summary["counters"]["enrich/fallback_llm_invalid"] == 1 and summary["counters"]["enrich/ok"] == n - 1
    with Store(workspace / "data" / "curator.db") as store:
        items = [i for i in store.items() if i.enrichment]
    [fell_back] = [i for i in items if "llm_fallback" in i.enrichment.flags]  # type: ignore[union-attr]
    assert fell_back.enrichment.backend == "offline"  # type: ignore[union-attr]
    title = fell_back.article.title if fell_back.article else fell_back.title
    assert not repeats_title(fell_back.enrichment.summary, title)  # type: ignore[union-attr]
