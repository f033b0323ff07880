"""Section prose (publication.prose = "section"): the model weaves each section's stories into one to
three paragraphs; every sentence carries the footnotes of the stories it cites and is checked against
them. Against the OpenAI-compatible fake on loopback, real SQLite, the real renderer and `curator lint`."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from curator.compose import Renderer
from curator.enrich.openai import OpenAIBackend
from curator.lint import lint_markdown
from curator.models import Article, Enrichment, Issue, IssueSection, Item, ItemState, SourceRef, Story
from curator.prose import ProseWriter, write_sections
from curator.settings import Settings, load_settings
from curator.store import Store
from tests.canary import CANARY
from tests.fake_openai import Reply

WHEN = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _item(id: int, url: str, source: str, title: str, text: str, summary: str, *, section: str,
          score: int = 70, lang: str = "zh") -> Item:
    return Item(
        id=id, canonical_url=url, url=url, title=title, state=ItemState.ENRICHED,
        published_at=datetime(2026, 11, 19, 9, 0, tzinfo=UTC), discovered_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        sources=[SourceRef(source=source, url=f"https://{source}.example.org/feed",
                           seen_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC))],
        article=Article(url=url, title=title, text=text, lang=lang),
        enrichment=Enrichment(title=title, summary=summary, tags=[], section=section, score=score,
                              reason="与本刊关注的主题相关", backend="openai", model="fake-model", prompt_sha="ab" * 8),
    )


def prose_issue() -> Issue:
    """Two sections: three AI stories with distinct numbers (one reported by two outlets), one dev story."""
    mistral = _item(101, "https://mistral.example.com/news/large-3", "mistral-blog", "Mistral 发布开源模型 Large 3",
                    "Mistral AI released Mistral Large 3 on Tuesday. The model has 123 billion parameters and runs "
                    "on 8 H100 GPUs. Weights are published under the Apache 2.0 license.",
                    "Mistral AI 发布 Mistral Large 3，参数量 1230 亿，可在 8 张 H100 上运行，权重以 Apache 2.0 许可开放。",
                    section="ai", score=90, lang="en")
    mistral_cn = _item(102, "https://www.36kr.example.com/p/3301", "36kr", "Mistral Large 3 开源，1230 亿参数",
                       "法国公司 Mistral AI 周二开源了 Mistral Large 3，参数量 1230 亿，8 张 H100 即可部署。",
                       "Mistral Large 3 开源。", section="ai", score=60)
    deepseek = _item(201, "https://deepseek.example.com/news/v4", "deepseek-news", "深度求索发布 DeepSeek V4",
                     "深度求索发布 DeepSeek V4，上下文长度扩展到 100 万 token，API 价格降低 40%。新版本在数学推理上明显进步。",
                     "新模型的上下文扩展到 100 万 token，API 价格降低 40%，数学推理明显进步。", section="ai", score=85)
    qwen = _item(301, "https://qwen.example.com/blog/qwen3-coder", "qwen-blog", "通义千问开源 Qwen3-Coder",
                 "阿里云通义千问团队开源代码模型 Qwen3-Coder，在 SWE-bench Verified 上得分 69.6，支持 256K 上下文。",
                 "通义千问开源代码模型 Qwen3-Coder，SWE-bench Verified 得分 69.6。", section="ai", score=80)
    rust = _item(401, "https://blog.rust-lang.example.org/2026/11/20/Rust-1.99.0.html", "rust-blog", "Rust 1.99 发布",
                 "Rust 1.99 stabilises the new borrow checker by default. Compile times improve by 15% on average.",
                 "Rust 1.99 默认启用新版借用检查器，编译速度平均提升 15%。", section="dev", score=66, lang="en")
    return Issue(number=7, title="In The Loop 科技周刊 #7：Mistral 发布开源模型 Large 3", date=WHEN, sections=[
        IssueSection(id="ai", title="AI 前沿", stories=[Story(id=101, lead=mistral, others=[mistral_cn]),
                                                       Story(id=201, lead=deepseek), Story(id=301, lead=qwen)]),
        IssueSection(id="industry", title="产业与公司", stories=[]),
        IssueSection(id="dev", title="开发者与开源", stories=[Story(id=401, lead=rust)]),
    ])


GOOD_AI = {"paragraphs": [
    {"sentences": [
        {"text": "Mistral AI 发布 Mistral Large 3，参数量 1230 亿，8 张 H100 即可运行。", "stories": [101]},
        {"text": "深度求索的 DeepSeek V4 则把上下文扩展到 100 万 token，API 价格降低 40%。", "stories": [201]},
    ]},
    {"sentences": [
        {"text": "代码模型方面，通义千问开源的 Qwen3-Coder 在 SWE-bench Verified 上得分 69.6。", "stories": [301]},
        {"text": "开源模型与降价同时到来，部署大模型的门槛正在下降。", "stories": [101, 201]},
    ]},
]}
GOOD_DEV = {"paragraphs": [{"sentences": [
    {"text": "Rust 1.99 默认启用新版借用检查器，编译速度平均提升 15%。", "stories": [401]}]}]}


def answer(payload: dict[str, Any]) -> Reply:
    return Reply(content=json.dumps(payload, ensure_ascii=False))


def by_section(ai: dict[str, Any], dev: dict[str, Any] = GOOD_DEV):  # type: ignore[no-untyped-def]
    """A scripted model: answers each section's prompt with the payload for that section."""
    def reply(request: dict[str, Any]) -> Reply:
        return answer(ai if "“AI 前沿”" in request["messages"][0]["content"] else dev)
    return reply


@pytest.fixture
def llm_settings(workspace, fake_llm) -> Settings:  # type: ignore[no-untyped-def]
    return load_settings(workspace, env={"OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": fake_llm.base_url},
                         overrides={"llm": {"provider": "openai", "max_retries": 0, "timeout_s": 5},
                                    "publication": {"prose": "section"}})


def draft_with(settings: Settings, tmp_path: Path, issue: Issue | None = None) -> tuple[str, Renderer, dict[str, Any]]:
    issue = issue or prose_issue()
    with Store(tmp_path / "prose.db") as store:
        run_id = store.start_run("draft")
        texts, _, _ = write_sections(settings, store, issue, run_id, OpenAIBackend(settings))
    renderer = Renderer(settings)
    return renderer.render(issue, prose=texts), renderer, texts


def section_of(text: str, title: str) -> str:
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0].split("\n[^1]:", 1)[0]


# ---- good prose ------------------------------------------------------------------------------------
def test_good_prose_renders_with_each_sentences_footnotes_and_lints_clean(llm_settings, fake_llm, tmp_path) -> None:
    fake_llm.script = [by_section(GOOD_AI)] * 2
    text, renderer, _ = draft_with(llm_settings, tmp_path)
    ai = section_of(text, "AI 前沿")
    # Story 101 has two sources (footnotes 1 and 2), 201 → 3, 301 → 4, the dev story → 5.
    assert "Mistral AI 发布 Mistral Large 3，参数量 1230 亿，8 张 H100 即可运行。[^1][^2]深度求索的" in ai
    assert "API 价格降低 40%。[^3]\n\n代码模型方面" in ai
    assert "得分 69.6。[^4]开源模型与降价同时到来，部署大模型的门槛正在下降。[^1][^2][^3]\n" in ai
    assert "**" not in ai, "woven stories are not repeated as story paragraphs"
    # One provenance comment for the section, and each story keeps its own (publish maps them back).
    assert re.search(r'<!-- curator section="ai" prose="section" stories="101,201,301" model="gpt-4o-mini"', ai)
    for sid in (101, 201, 301):
        assert f'<!-- curator story="{sid}" ' in ai
    assert "编译速度平均提升 15%。[^5]" in section_of(text, "开发者与开源")
    assert "[^5]: [rust-blog：Rust 1.99 发布](https://blog.rust-lang.example.org/" in text
    assert lint_markdown(text, language="zh-Hans") == []
    assert renderer.prose_review["ai"].stories["101"].notes == [1, 2]
    assert len(fake_llm.requests) == 2, "one call per section, no re-ask"
    prompt = fake_llm.requests[0]["messages"][0]["content"]
    assert "[101] Mistral 发布开源模型 Large 3" in prompt and "123 billion parameters" in prompt


def test_model_prose_is_escaped_markdown_with_only_our_footnote_markers(llm_settings, fake_llm, tmp_path) -> None:
    hostile = {"paragraphs": [{"sentences": [
        {"text": "**Mistral** Large 3 开源[^9]，_参数量_ 1230 亿。", "stories": [101]},
        {"text": "# DeepSeek V4 的上下文达到 100 万 token。", "stories": [201]},
        {"text": "Qwen3-Coder 得分 69.6，见 [官网] 与 `code`。", "stories": [301]},
    ]}]}
    fake_llm.script = [by_section(hostile)] * 3
    text, _, _ = draft_with(llm_settings, tmp_path)
    ai = section_of(text, "AI 前沿")
    assert r"\*\*Mistral\*\* Large 3 开源，\_参数量\_ 1230 亿。[^1][^2]" in ai, "the model's own [^9] goes"
    assert "\n# DeepSeek" not in ai and "[^9]:" not in text
    assert r"见 \[官网\] 与 \`code\`。[^4]" in ai
    assert lint_markdown(text, language="zh-Hans") == []


# ---- the guards ------------------------------------------------------------------------------------
def test_a_sentence_citing_the_wrong_story_is_dropped_and_flagged(llm_settings, fake_llm, tmp_path) -> None:
    wrong = {"paragraphs": [{"sentences": [
        {"text": "Mistral AI 发布 Mistral Large 3，8 张 H100 即可运行。", "stories": [101]},
        # DeepSeek's numbers, cited as the Qwen story: they appear only in story 201.
        {"text": "通义千问的新模型把上下文扩展到 100 万 token，API 价格降低 40%。", "stories": [301]},
        {"text": "Qwen3-Coder 在 SWE-bench Verified 上得分 69.6。", "stories": [301]},
    ]}]}
    fake_llm.script = [by_section(wrong)] * 2
    text, renderer, _ = draft_with(llm_settings, tmp_path)
    ai = section_of(text, "AI 前沿")
    assert "通义千问的新模型把上下文扩展到" not in text
    assert "Qwen3-Coder 在 SWE-bench Verified 上得分 69.6。[^" in ai
    flags = renderer.prose_review["ai"].flags
    assert any(f.startswith("prose_miscited:") and "40" in f and f.endswith("@301") for f in flags), flags
    assert re.search(r'section="ai" prose="section"[^>]*flags="[^"]*prose_miscited', ai)
    # DeepSeek (201) is cited by no surviving sentence: it keeps its story paragraph, under its comment.
    assert re.search(r'<!-- curator story="201" [^\n]*-->\n\*\*深度求索发布 DeepSeek V4\*\*：新模型的上下文扩展到 100 万 token', ai)
    assert renderer.prose_review["ai"].stories.keys() == {"101", "301"}
    assert lint_markdown(text, language="zh-Hans") == []


def test_unverifiable_uncited_foreign_and_chatter_sentences_are_dropped(llm_settings, fake_llm, tmp_path) -> None:
    mixed = {"paragraphs": [{"sentences": [
        {"text": "好的，以下是本栏目的导读。", "stories": [101]},
        {"text": "这一周开源模型很热闹。", "stories": []},
        {"text": "据悉 Mistral 还获得了 20 亿欧元融资。", "stories": [101]},
        {"text": "Rust 1.99 默认启用新版借用检查器。", "stories": [999]},
        {"text": "Mistral AI 发布 Mistral Large 3，权重以 Apache 2.0 许可开放。", "stories": [101, 999]},
        {"text": "DeepSeek V4 的上下文扩展到 100 万 token。", "stories": [201]},
        {"text": "Qwen3-Coder 在 SWE-bench Verified 上得分 69.6。", "stories": [301]},
    ]}]}
    fake_llm.script = [by_section(mixed)] * 2
    text, renderer, _ = draft_with(llm_settings, tmp_path)
    for gone in ("以下是", "这一周开源模型很热闹", "20 亿欧元", "Rust 1.99 默认启用新版借用检查器。[^"):
        assert gone not in section_of(text, "AI 前沿"), gone
    assert "权重以 Apache 2.0 许可开放。[^1][^2]DeepSeek" in text, "the foreign id is removed, the real one kept"
    flags = renderer.prose_review["ai"].flags
    assert "prose_chatter" in flags and "prose_uncited" in flags
    assert any(f.startswith("prose_unverified:20@101") for f in flags), flags
    assert flags.count("prose_foreign_citation:999") == 2
    assert lint_markdown(text, language="zh-Hans") == []


def test_traditional_script_and_taiwan_words_become_mainland(llm_settings, fake_llm, tmp_path) -> None:
    taiwan = {"paragraphs": [{"sentences": [
        {"text": "通義千問開源的 Qwen3-Coder 是寫程式的軟體助手，在 SWE-bench Verified 上得分 69.6。", "stories": [301]}]}]}
    fake_llm.script = [by_section(taiwan)] * 2
    text, _, _ = draft_with(llm_settings, tmp_path)
    ai = section_of(text, "AI 前沿")
    assert "通义千问开源的 Qwen3-Coder" in ai and "软件" in ai
    assert "軟體" not in ai and "软体" not in ai and "開源" not in ai


# ---- invalid answers, fallback, offline ------------------------------------------------------------
def test_an_invalid_answer_is_re_asked_once_with_the_finding(llm_settings, fake_llm, tmp_path) -> None:
    fake_llm.script = [Reply(content="好的，这是导读：AI 前沿本周很精彩。"), by_section(GOOD_AI), by_section(GOOD_AI)]
    text, _, texts = draft_with(llm_settings, tmp_path)
    assert not texts["ai"].fallback and "[^1][^2]深度求索的" in text
    reask = fake_llm.requests[1]["messages"]
    assert len(reask) == 3 and "不符合要求" in reask[2]["content"] and "not JSON" in reask[2]["content"]


def test_invalid_twice_falls_back_to_story_paragraphs_and_says_so(llm_settings, fake_llm, tmp_path) -> None:
    extra_key = {**GOOD_AI, "note": "多余的字段"}
    fake_llm.script = [answer(extra_key), Reply(content="[]"), by_section(GOOD_AI, GOOD_DEV)]
    text, renderer, texts = draft_with(llm_settings, tmp_path)
    assert texts["ai"].fallback == "prose_invalid" and not texts["dev"].fallback
    ai = section_of(text, "AI 前沿")
    assert 'section="ai" prose="story" stories="-"' in ai and 'flags="prose_invalid"' in ai
    assert "**Mistral 发布开源模型 Large 3（英文）**：Mistral AI 发布 Mistral Large 3，参数量 1230 亿" in ai
    assert renderer.prose_review["ai"].fallback == "prose_invalid"
    assert lint_markdown(text, language="zh-Hans") == []


def test_links_or_html_in_prose_are_re_asked(llm_settings, fake_llm, tmp_path) -> None:
    linky = {"paragraphs": [{"sentences": [
        {"text": "详见 https://evil.example.net/x 的报道。", "stories": [101]}]}]}
    fake_llm.script = [by_section(linky), by_section(GOOD_AI), by_section(GOOD_DEV)]
    text, _, texts = draft_with(llm_settings, tmp_path)
    assert "evil.example.net" not in text and not texts["ai"].fallback
    assert "links other than" in fake_llm.requests[1]["messages"][2]["content"]


def test_answers_are_cached_by_content_prompt_and_model_and_calls_logged(llm_settings, fake_llm,
                                                                       store_target) -> None:
    fake_llm.script = [by_section(GOOD_AI)] * 2
    issue = prose_issue()
    with Store(store_target) as store:
        run_id = store.start_run("draft")
        first, _, counters = write_sections(llm_settings, store, issue, run_id, OpenAIBackend(llm_settings))
        assert counters["prose/ok"] == 2 and counters["llm/calls"] == 2
        logged = store.db.execute("SELECT run_id, prompt_sha, outcome FROM llm_calls").fetchall()
        assert [tuple(r) for r in logged] == [(run_id, first["ai"].prompt_sha, "ok")] * 2
        assert first["ai"].tokens > 0
        again, _, counters = write_sections(llm_settings, store, issue, run_id, OpenAIBackend(llm_settings))
        assert len(fake_llm.requests) == 2 and "llm/calls" not in counters, "same material: no second call"
        assert again["ai"].paragraphs == first["ai"].paragraphs
        # New material in a section (an edited summary) is a new question.
        issue.sections[2].stories[0].lead.enrichment.summary = "Rust 1.99 编译速度平均提升 15%。"  # type: ignore[union-attr]
        fake_llm.script = [by_section(GOOD_AI)]
        write_sections(llm_settings, store, issue, run_id, OpenAIBackend(llm_settings))
        assert len(fake_llm.requests) == 3
        assert ProseWriter(llm_settings, store, OpenAIBackend(llm_settings)).prompt_sha == first["ai"].prompt_sha


def test_endpoint_failure_keeps_story_paragraphs(llm_settings, fake_llm, tmp_path) -> None:
    fake_llm.script = [Reply(status=500)] * 4
    text, _, texts = draft_with(llm_settings, tmp_path)
    assert texts["ai"].fallback == "prose_llm_failed:llm_http_500"
    assert "**Rust 1.99 发布（英文）**：Rust 1.99 默认启用新版借用检查器" in text
    assert lint_markdown(text, language="zh-Hans") == []


def test_offline_backend_keeps_todays_story_paragraphs(workspace, fake_llm, tmp_path) -> None:
    settings = load_settings(workspace, env={}, overrides={"publication": {"prose": "section"}})
    issue = prose_issue()
    with Store(tmp_path / "prose.db") as store:
        texts, notes, counters = write_sections(settings, store, issue, store.start_run("draft"))
    assert {t.fallback for t in texts.values()} == {"prose_offline"} and counters == {"prose/offline": 2}
    assert "offline" in notes[0] and not fake_llm.requests
    prose_text = Renderer(settings).render(issue, prose=texts)
    story_text = Renderer(settings).render(issue)
    stripped = re.sub(r'<!-- curator section="\w+" prose="story"[^\n]*flags="prose_offline" -->\n', "", prose_text)
    assert stripped == story_text, "offline: today's rendering, plus a section comment that says why"


def test_list_style_keeps_story_items(llm_settings, fake_llm, tmp_path) -> None:
    settings = llm_settings.model_copy(update={"publication": llm_settings.publication.model_copy(update={"template": "list"})})
    issue = prose_issue()
    with Store(tmp_path / "prose.db") as store:
        texts, notes, _ = write_sections(settings, store, issue, store.start_run("draft"), OpenAIBackend(settings))
    assert {t.fallback for t in texts.values()} == {"prose_list_style"} and "list style" in notes[0]
    assert not fake_llm.requests, "no money spent on prose the template does not print"
    assert Renderer(settings).render(issue, prose=texts) == Renderer(settings).render(issue)


def test_a_section_left_empty_by_the_guards_keeps_story_paragraphs_and_flags_why(llm_settings, fake_llm, tmp_path) -> None:
    all_wrong = {"paragraphs": [{"sentences": [
        {"text": "Rust 1.99 的编译速度平均提升 15%。", "stories": [101]},
        {"text": "这一周开源模型很热闹。", "stories": []},
    ]}]}
    fake_llm.script = [by_section(all_wrong), by_section(GOOD_AI, GOOD_DEV)]
    text, renderer, texts = draft_with(llm_settings, tmp_path)
    assert texts["ai"].fallback == "prose_empty"
    ai = section_of(text, "AI 前沿")
    assert 'section="ai" prose="story" ' in ai
    assert 'flags="prose_empty,prose_unverified:1.99|15|Rust@101,prose_uncited" -->' in ai
    assert "编译速度平均提升 15%" not in ai and "**通义千问开源 Qwen3-Coder**：" in ai
    assert renderer.prose_review["ai"].flags[0] == "prose_empty"
    assert lint_markdown(text, language="zh-Hans") == []
