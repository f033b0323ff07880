"""Issue 14: with an LLM, triage translates Chinese headlines, and a second clustering pass over the
triaged stories uses the translations, so a Chinese and an English report of one event that share no
Latin name, figure or link become one story; hard negatives (another company, another figure, the same
topic's other event) stay apart. The offline backend's stories are the first pass's, unchanged."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from curator import xlang
from curator.cluster import DEFAULT_THRESHOLD, ClusterInput, merge_translated, similarity
from curator.enrich.openai import OpenAIBackend
from curator.models import EnrichRequest, ItemState
from curator.pipeline import Pipeline
from curator.settings import load_settings
from curator.store import Store
from tests.canary import CANARY
from tests.fake_openai import Reply, is_triage, valid_answer
from tests.sites import PageWeb

WHEN = datetime(2026, 11, 18, 8, 0, tzinfo=UTC)

# One event in both languages. The Chinese report writes every name in Chinese and every figure in
# words, and neither cites a link: only the translated headline can link them.
ZH_TITLE = "苹果宣布在亚利桑那州新建芯片封装工厂"
ZH_TEXT = ("苹果公司本周宣布，将在亚利桑那州新建一座芯片封装工厂，为自研处理器提供先进封装产能。"
           "公司表示，工厂将与当地的晶圆厂合作，预计创造上千个工作岗位。"
           "分析人士认为，这是苹果把供应链迁回美国本土的重要一步，也将带动周边的配套企业。")
ZH_TITLE_EN = "Apple announces a new chip packaging plant in Arizona"
EN_TITLE = "Apple Announces New Chip Packaging Plant in Arizona"
EN_TEXT = ("Apple said this week it will build a chip packaging plant in Arizona to supply advanced packaging "
           "for its in-house processors. The company said the facility will work with a nearby wafer fab and "
           "create more than a thousand jobs. Analysts see the move as a key step in bringing the supply "
           "chain back to the United States.")
# Hard negatives: a translation close to an English headline of another event.
OTHER_COMPANY = ("Amkor Announces New Chip Packaging Plant in Arizona",
                 ("Amkor Technology said it will open an advanced packaging and test facility near Phoenix, "
                 "with customers including several chip designers. Construction starts next spring and the "
                 "site is expected to employ two thousand people when complete."))
SAME_COMPANY = ("Apple Announces New Chips for AI Servers",
                ("Apple unveiled a family of server processors for its own data centers, built to run the models "
                "behind its assistant, and said they are already in use."))
NV_ZH = ("英伟达市值突破四万亿美元", ("英伟达股价本周继续上涨，市值突破四万亿美元，成为全球市值最高的公司之一。"
         "分析师认为，数据中心芯片的强劲需求是股价上涨的主要原因。"))
NV_EN_OTHER = ("Nvidia market value tops $5 trillion",
               ("Nvidia shares rose again as investors bet on demand for data center chips, lifting the "
               "company's market value past five trillion dollars for the first time."))
META_ZH = ("Meta 因数据传输在欧盟被罚款", "欧盟监管机构认定其违规向美国传输用户数据，对其处以巨额罚款。公司表示将提起上诉。")
META_EN_OTHER = ("Meta fined in South Korea over data transfers",
                 ("South Korea's privacy regulator fined Meta for sending users' data abroad without consent. "
                 "The company said it would review the decision."))


def _zh(item_id: int = 1, title_en: str | None = None, pair: tuple[str, str] = (ZH_TITLE, ZH_TEXT)) -> ClusterInput:
    return ClusterInput(item_id, pair[0], pair[1], "zh", WHEN, title_en=title_en)


def _en(item_id: int = 2, pair: tuple[str, str] = (EN_TITLE, EN_TEXT)) -> ClusterInput:
    return ClusterInput(item_id, pair[0], pair[1], "en", WHEN)


def test_only_the_translated_title_links_the_pair() -> None:
    zh, en = _zh(), _en()
    assert xlang.script(ZH_TITLE + ZH_TEXT) and not xlang.script(EN_TITLE + EN_TEXT)
    assert similarity(zh, en) < DEFAULT_THRESHOLD  # offline: no shared name, figure or link
    assert similarity(_zh(title_en=ZH_TITLE_EN), en) >= DEFAULT_THRESHOLD
    # The second pass over the two stories merges them into the smaller id.
    assert merge_translated([_zh(title_en=ZH_TITLE_EN), en], {1: 1, 2: 2}) == {2: 1}
    assert merge_translated([_zh(), en], {1: 1, 2: 2}) == {}


@pytest.mark.parametrize(("zh", "en"), [
    (_zh(title_en=ZH_TITLE_EN), _en(3, OTHER_COMPANY)),  # another company, same kind of plant, same state
    (_zh(title_en="Nvidia market value tops $4 trillion", pair=NV_ZH), _en(3, NV_EN_OTHER)),  # another figure
    (_zh(title_en="Meta fined in the EU over data transfers", pair=META_ZH), _en(3, META_EN_OTHER)),  # another place
    (_zh(title_en=ZH_TITLE_EN), _en(3, SAME_COMPANY)),  # the same company's other announcement that week
])
def test_hard_negatives_whose_translation_is_close_stay_apart(zh: ClusterInput, en: ClusterInput) -> None:
    assert similarity(zh, en) < DEFAULT_THRESHOLD
    assert merge_translated([zh, en], {zh.item_id: zh.item_id, en.item_id: en.item_id}) == {}


def test_the_second_pass_keeps_stored_story_ids_and_moves_the_newer_story() -> None:
    # The English report's story (7) is older than the Chinese one's (9): the merged story is 7.
    assert merge_translated([_zh(9, ZH_TITLE_EN), _en(7)], {9: 9, 7: 7}) == {9: 7}


# ---- triage's title_en: checked and re-asked -------------------------------------------------------

def _settings(workspace: Path, fake_llm: Any, **llm: Any) -> Any:
    return load_settings(workspace, env={"OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": fake_llm.base_url},
                         overrides={"llm": {"provider": "openai", "max_retries": 0, "timeout_s": 5, **llm}})


def _triage_reply(titles: dict[str, str]) -> Any:
    """A triage answer translating each candidate whose title is a key of `titles`."""
    def reply(request: dict[str, Any]) -> Reply:
        prompt = request["messages"][0]["content"]
        section = re.findall(r"(\w+)（[^）]*）", prompt.split("最合适的：", 1)[-1].split("\n", 1)[0])[0]
        rows = re.findall(r"^\[(\d+)\] (.*?) —— ", prompt, re.MULTILINE)
        return Reply(content=json.dumps({"items": [
            {"id": int(i), "score": 80, "section": section, "title_en": titles.get(t, "")} for i, t in rows
        ]}, ensure_ascii=False))
    return reply


def _reqs() -> list[EnrichRequest]:
    return [EnrichRequest(item_id=1, url="https://ex.cn/a", title=ZH_TITLE, text=ZH_TEXT, lang="zh", source="f",
                          content_hash="a"),
            EnrichRequest(item_id=2, url="https://ex.com/b", title=EN_TITLE, text=EN_TEXT, lang="en", source="f",
                          content_hash="b")]


@pytest.mark.parametrize("bad", [
    "苹果宣布在亚利桑那州新建芯片封装工厂",  # not translated
    "Sure! Here is the translation: Apple announces a new chip packaging plant in Arizona",  # chatter
    "Translation: Apple announces a new chip packaging plant in Arizona",  # a label before it
    " ".join(["Apple announces a new chip packaging plant in Arizona that"] * 3),  # not short
])
def test_a_bad_translated_title_is_re_asked_once_with_the_finding(workspace, fake_llm, bad: str) -> None:  # type: ignore[no-untyped-def]
    fake_llm.script = [_triage_reply({ZH_TITLE: bad}), _triage_reply({ZH_TITLE: ZH_TITLE_EN})]
    verdicts = {v.item_id: v for v in OpenAIBackend(_settings(workspace, fake_llm)).triage(_reqs())}
    assert len(fake_llm.requests) == 2
    feedback = fake_llm.requests[1]["messages"][-1]["content"]
    assert "[1] 的 title_en" in feedback and "[2]" not in feedback
    assert verdicts[1].title_en == ZH_TITLE_EN and verdicts[2].title_en == ""
    assert "title_en" in fake_llm.requests[0]["messages"][0]["content"]  # the prompt asks for it


def test_a_translation_still_bad_after_the_re_ask_is_dropped_scores_kept(workspace, fake_llm) -> None:  # type: ignore[no-untyped-def]
    fake_llm.script = [_triage_reply({ZH_TITLE: ZH_TITLE})] * 2
    verdicts = {v.item_id: v for v in OpenAIBackend(_settings(workspace, fake_llm)).triage(_reqs())}
    assert len(fake_llm.requests) == 2  # asked, re-asked once
    assert verdicts[1].title_en == "" and verdicts[1].score == 80 and set(verdicts) == {1, 2}


def test_good_translations_and_english_leads_take_one_call(workspace, fake_llm) -> None:  # type: ignore[no-untyped-def]
    # An English lead's own title is its headline: whatever the model put there is not used.
    fake_llm.script = [_triage_reply({ZH_TITLE: ZH_TITLE_EN, EN_TITLE: "这不是英文"})]
    verdicts = {v.item_id: v for v in OpenAIBackend(_settings(workspace, fake_llm)).triage(_reqs())}
    assert len(fake_llm.requests) == 1
    assert verdicts[1].title_en == ZH_TITLE_EN and verdicts[2].title_en == ""


# ---- end to end: collect with triage against the fake server ---------------------------------------

def _page(title: str, text: str) -> str:
    paras = "".join(f"<p>{s}</p>" for s in re.split(r"(?<=[。.])\s*", text) if s)
    return (f"<html><head><meta charset='utf-8'><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"{paras}</article></body></html>")


PAGES = {"/zh/apple-plant": (ZH_TITLE, ZH_TEXT), "/en/apple-plant": (EN_TITLE, EN_TEXT),
         "/en/apple-servers": SAME_COMPANY}


class BilingualWeb(PageWeb):
    def __init__(self) -> None:
        super().__init__({path: _page(*page) for path, page in PAGES.items()})

    def feed(self) -> str:
        items = "".join(f"<item><title>{t}</title><link>{self.origin}{p}</link>"
                        f"<pubDate>Wed, 18 Nov 2026 08:00:00 GMT</pubDate></item>" for p, (t, _) in PAGES.items())
        return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>b</title>{items}</channel></rss>'


def _collect(workspace: Path, fake_llm: Any, provider: str) -> dict[str, Any]:
    with BilingualWeb() as web:
        (workspace / "config" / "sources.toml").write_text(f'[[sources]]\nname = "双语"\nurl = "{web.origin}/feed.xml"\n')
        settings = load_settings(
            workspace, env={"OPENAI_API_KEY": CANARY, "OPENAI_BASE_URL": fake_llm.base_url},
            overrides={"fetch": {"allowed_hosts": ["127.0.0.1"]},
                       "llm": {"provider": provider, "triage": True, "max_retries": 0, "concurrency": 1}})
        with Store(settings.db_path) as store:
            run = Pipeline(settings, store).collect()
            items = {i.url.removeprefix(web.origin): i for i in store.items()}
    return {"run": run, "items": items}


def test_collect_with_triage_merges_the_pair_and_keeps_the_negative_apart(workspace, fake_llm) -> None:  # type: ignore[no-untyped-def]
    def answer(request: dict[str, Any]) -> Reply:
        if is_triage(request):
            return _triage_reply({ZH_TITLE: ZH_TITLE_EN})(request)
        return Reply(content=valid_answer(request))

    fake_llm.script = [answer] * 10
    got = _collect(workspace, fake_llm, "openai")
    run, items = got["run"], got["items"]
    zh, en, other = items["/zh/apple-plant"], items["/en/apple-plant"], items["/en/apple-servers"]
    assert zh.story_id == en.story_id != other.story_id
    assert run.counters["cluster/translated_joined"] == 1
    # One summary for the story (its lead, the publication's language), the other report cited under it.
    assert zh.state == ItemState.ENRICHED and zh.enrichment is not None and zh.enrichment.backend == "openai"
    assert en.state == ItemState.ENRICHED and en.reason == "same_story"
    summaries = [r for r in fake_llm.requests if not is_triage(r)]
    assert len(summaries) == 2  # the story and the negative: the merged report was not paid for
    assert run.status == "ok", run


def test_offline_collect_keeps_the_first_pass_stories(workspace, fake_llm) -> None:  # type: ignore[no-untyped-def]
    got = _collect(workspace, fake_llm, "offline")
    items = got["items"]
    assert len({i.story_id for i in items.values()}) == 3  # no translation: three stories
    assert fake_llm.requests == [] and "cluster/translated_joined" not in got["run"].counters
