"""The LLM path shares the copy cleanup: the model reads prose (no Markdown, scaffolding, [n] markers or
player chrome) and its output gets the editor's headline and mainland vocabulary."""

from __future__ import annotations

from curator.enrich.openai import OpenAIBackend
from curator.models import EnrichRequest
from curator.settings import load_settings
from tests.canary import CANARY
from tests.fake_openai import Reply, valid_answer
from tests.test_summary_copy import VIDEO_NOTES, VIDEO_TITLE


def test_model_reads_clean_text_and_gets_an_editors_headline(workspace, fake_llm) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(workspace, env={"OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": fake_llm.base_url},
                             overrides={"llm": {"provider": "openai", "max_retries": 1, "timeout_s": 5}})
    backend = OpenAIBackend(settings)
    fake_llm.script = [lambda r: Reply(content=valid_answer(
        r, title="【人工智能】OpenAI提案矛头直指DeepSeek | 锁死全球AI发展 | 指责DeepSeek有害", summary="OpenAI 的提案指责 DeepSeek 使用蒸馏技术，并建议加强芯片出口管制，这套软体的影响很大。"))]
    enr = backend.enrich(EnrichRequest(item_id=1, url="https://ex.com/v", title=VIDEO_TITLE, text=VIDEO_NOTES,
                                       lang="zh", source="feed", content_hash="h1"))
    prompt = fake_llm.requests[0]["messages"][0]["content"]
    for residue in ("如果播放没有很快开始", "28.1万次观看", "**：**", "标题：OpenAI提案解读", "[12]", "*   "):
        assert residue not in prompt, residue
    assert "提案把矛头直接指向了 DeepSeek" in prompt  # the prose itself reaches the model
    assert enr.title == "OpenAI提案矛头直指DeepSeek"
    assert len(fake_llm.requests) == 1, "the first answer was accepted"
    assert "软件" in enr.summary and "软体" not in enr.summary
