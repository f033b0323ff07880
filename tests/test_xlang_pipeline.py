"""Cross-language stories end to end: a loopback web with a Chinese and an English report of one
event (both citing the same original), a same-company report of another event, and the draft."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from curator.extract import extract_article
from curator.models import Page
from curator.pipeline import Pipeline
from curator.settings import ExtractSettings, load_settings
from curator.store import Store
from tests.sites import PageWeb

AS_OF = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ORIGINAL = "https://www.lumenlabs.example/blog/lumen-3-release"
CHROME = (
    "<nav><a href='/'>首页</a> <a href='https://twitter.example/site'>Twitter</a> "
    "<a href='https://weibo.example/site'>微博</a></nav>"
)
RELATED = (
    "<div class='related'><h3>相关推荐</h3><ul>"
    "<li><a href='https://other.example/a'>另一篇文章的标题在这里</a></li>"
    "<li><a href='https://other.example/b'>再一篇文章的标题在这里</a></li>"
    "<li><a href='https://other.example/c'>第三篇文章的标题在这里</a></li></ul></div>"
)


def _page(title: str, paras: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (
        f"<html><head><meta charset='utf-8'><title>{title}</title></head><body>{CHROME}"
        f"<article><h1>{title}</h1>{body}</article>{RELATED}</body></html>"
    )


ZH_TITLE = "Lumen Labs 发布 Lumen-3 模型：总参数 4500 亿，推理成本降低 62%"
ZH = [
    (
        "11 月 18 日，人工智能公司 Lumen Labs 发布新一代大模型 Lumen-3。该模型采用 MoE 架构，总参数 4500 亿，"
        "每个 token 激活 520 亿参数，上下文窗口为 256K。"
    ),
    (
        "官方称，与上一代相比，Lumen-3 的推理成本降低 62%，在 SWE-bench Verified 上得分 68.4%。"
        f"详情见<a href='{ORIGINAL}?utm_source=weibo'>官方博客</a>。"
    ),
    "Lumen Labs CEO Mira Castell 表示，模型权重将在 12 月开放下载。",
]
EN_TITLE = "Lumen Labs ships Lumen-3, a 450B-parameter MoE with 62% cheaper inference"
EN = [
    (
        "Lumen Labs released Lumen-3 on Wednesday, a mixture-of-experts model with 450 billion parameters, "
        "52 billion of them active per token, and a 256K context window."
    ),
    (
        f"According to the <a href='{ORIGINAL}'>announcement</a>, inference costs 62% less than the previous "
        "generation, and the model scores 68.4% on SWE-bench Verified."
    ),
    (
        "Chief executive Mira Castell said the weights would be available for download in December. "
        "We ran it on our own evaluation set over the weekend: it answered 812 of 1,000 support tickets "
        "acceptably, against 774 for the model we use today, and its median latency was 1.9 seconds."
    ),
    "The longer context mattered most on contract review, where whole documents now fit in one request.",
]
OTHER_TITLE = "Lumen Labs 完成 12 亿美元融资，估值 180 亿美元"
OTHER = [
    "11 月 19 日，Lumen Labs 宣布完成 12 亿美元 C 轮融资，投后估值 180 亿美元，由 Northgate Capital 领投。",
    "CEO Mira Castell 表示，资金将用于扩充算力。公司本周刚刚发布了 Lumen-3 模型，总参数 4500 亿。",
    "Lumen Labs 成立于 2023 年，目前员工约 400 人，此前已完成三轮融资。",
]
PAGES = {
    "/zh/lumen-3": (ZH_TITLE, _page(ZH_TITLE, ZH), 18),
    "/en/lumen-3": (EN_TITLE, _page(EN_TITLE, EN), 18),
    "/zh/lumen-funding": (OTHER_TITLE, _page(OTHER_TITLE, OTHER), 19),
}


class XlangWeb(PageWeb):
    def __init__(self) -> None:
        super().__init__({path: page[1] for path, page in PAGES.items()})

    def feed(self) -> str:
        items = "".join(
            f"<item><title>{title}</title><link>{self.origin}{path}</link>"
            f"<pubDate>{ {18: 'Wed', 19: 'Thu'}[day] }, {day} Nov 2026 08:00:00 GMT</pubDate></item>"
            for path, (title, _, day) in PAGES.items()
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>xlang web</title>'
            f"{items}</channel></rss>"
        )


def test_article_links_are_the_cited_originals_only() -> None:
    page = Page(
        url="https://news.example.cn/zh/lumen-3",
        final_url="https://news.example.cn/zh/lumen-3",
        status=200,
        text=PAGES["/zh/lumen-3"][1],
    )
    article = extract_article(page, ExtractSettings(min_chars=50))
    # The cited original, canonical (no utm tag, no www.); not the nav's social links or "related" list.
    assert article.links == ["https://lumenlabs.example/blog/lumen-3-release"]


@pytest.fixture(scope="module")
def drafted(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any], str]:
    repo = Path(__file__).resolve().parents[1]
    home = tmp_path_factory.mktemp("xlang")
    (home / "config").mkdir()
    shutil.copyfile(repo / "config" / "curator.toml", home / "config" / "curator.toml")
    shutil.copytree(repo / "prompts", home / "prompts")
    (home / "config" / "zz-tests.toml").write_text(
        "[run]\nmax_age_days = 0\n\n[drafts]\nmax_per_domain = 20\n"
    )
    # The enrich stage reads one item at a time: the story's lead is picked across slices.
    with XlangWeb() as web, pytest.MonkeyPatch.context() as mp:
        mp.setattr("curator.enrich.stage.READ_SLICE", 1)
        (home / "config" / "sources.toml").write_text(
            f'[[sources]]\nname = "双语"\nurl = "{web.origin}/feed.xml"\n'
        )
        settings = load_settings(
            home,
            env={},
            overrides={
                "fetch": {"allowed_hosts": ["127.0.0.1"]},
                "llm": {"provider": "offline", "triage": False},
            },
        )
        with Store(settings.db_path) as store:
            run = Pipeline(settings, store).collect()
            assert run.status == "ok", run
            items = {i.url.removeprefix(web.origin): i for i in store.items()}
            path = Pipeline(settings, store).draft(number=1, as_of=AS_OF).draft_path
        text = Path(path).read_text(encoding="utf-8")
    return text, items, web.origin


def test_a_chinese_and_an_english_report_are_one_story(drafted: tuple[str, dict[str, Any], str]) -> None:
    _, items, _ = drafted
    zh, en, other = items["/zh/lumen-3"], items["/en/lumen-3"], items["/zh/lumen-funding"]
    assert zh.article.lang == "zh" and en.article.lang == "en"
    assert zh.story_id == en.story_id
    # The same company the next day, another event (it repeats the model's parameter count).
    assert other.story_id not in (zh.story_id, en.story_id)


def test_the_publication_language_leads_and_every_member_is_cited(
    drafted: tuple[str, dict[str, Any], str],
) -> None:
    text, items, origin = drafted
    zh, en = items["/zh/lumen-3"], items["/en/lumen-3"]
    assert len(en.article.text) > len(zh.article.text)  # the longer text would lead without the rule
    assert zh.enrichment is not None and en.enrichment is None  # one summary per story, from the zh lead
    (block,) = [
        b for b in text.split("\n\n") if f'items="{zh.id},{en.id}"' in b or f'items="{en.id},{zh.id}"' in b
    ]
    refs = re.findall(r"\[\^(\d+)\]", block.splitlines()[-1])
    defs = dict(re.findall(r"^\[\^(\d+)\]: \[.*?\]\((\S+?)\)$", text, re.MULTILINE))
    assert sorted(defs[n] for n in refs) == sorted([f"{origin}/en/lumen-3", f"{origin}/zh/lumen-3"])
    assert block.splitlines()[-1].startswith("**Lumen Labs 发布 Lumen-3")  # the Chinese headline
