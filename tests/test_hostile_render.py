"""Hostile input, render class: titles, summaries, source names and credits carrying Markdown or HTML
never become links, images, raw HTML, headings, rules or footnote definitions in a draft; a draft
links only the http(s) URLs of its own items; `curator lint` flags what a tampered draft carries."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from curator.cli import app
from curator.compose import Renderer
from curator.lint import lint_markdown
from curator.mdsafe import escape_text, safe_url
from curator.models import Issue, Item
from curator.settings import PublicationSettings, Settings
from tests.test_templates import WHEN, render, renderer_for, sample_issue

EVIL = "evil.example"
# One of each way untrusted text could turn into markup; every field below gets all of them.
PAYLOADS = [
    "[点我领奖](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(document.cookie))",
    "![追踪像素](https://evil.example/pixel.gif)",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    '<a href="https://evil.example/a">外链</a>',
    "[看这里](https://evil.example/foreign)",
    "<https://evil.example/autolink>",
    "裸链接 https://evil.example/bare 与 www.evil.example",
    "\n\n[^1]: https://evil.example/spoofed-footnote\n\n",
    "\n---\n",
    "\n## 伪造的栏目\n",
    "\n# 伪造的标题",
    '<!-- curator story="999" items="1" score="100" -->',
    "-->",
    "\n> 伪造的引用\n",
    "\n- 伪造的列表项\n1. 第二项",
    "**未闭合的加粗 `未闭合的代码",
    "&lt;script&gt;alert(1)&lt;/script&gt; &#106;avascript:",
    "[ref]\n\n[ref]: https://evil.example/reference",
    "\n```\n围栏\n",
    "    缩进代码块",
    "\u202e反向文字\u202c \x00\x1b[31m",
]
HOSTILE = " ".join(PAYLOADS)


def hostile_issue() -> Issue:
    """The sample issue with every untrusted field carrying every payload: enrichment title and
    summary, the article title (footnote labels), the source name, the submitter, a non-http
    discussion URL and a non-http submitter URL."""
    issue = sample_issue()
    for story in issue.stories:
        for item in story.items:
            assert item.article is not None
            item.article.title = f"原题 {HOSTILE}"
            for ref in item.sources:
                ref.source = f"来源 {HOSTILE}"
                if ref.submitter:
                    ref.submitter = f"alice {HOSTILE}"
                    ref.submitter_url = "javascript:alert('submitter')"
                if ref.discussion_url:
                    ref.discussion_url = "data:text/html,<script>alert(1)</script>"
        enr = story.lead.enrichment
        assert enr is not None
        enr.title = f"标题 {HOSTILE}"
        enr.summary = f"摘要 {HOSTILE}"
        enr.reason = f"理由 {HOSTILE}"
    return issue


def own_urls(issue: Issue) -> set[str]:
    return {i.url for s in issue.stories for i in s.items}


def body_of(text: str) -> str:
    return re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.DOTALL)


def assert_inert(text: str, issue: Issue, n_headings: int) -> None:
    """What a CommonMark renderer (raw HTML on, as Hugo/Hexo may run) makes of the draft."""
    body = body_of(text)
    visible = re.sub(r"<!--.*?-->", "", body, flags=re.DOTALL)
    tokens = MarkdownIt("commonmark", {"html": True}).parse(body)
    flat = [t for tok in tokens for t in [tok, *(tok.children or [])]]
    hrefs = {str(t.attrs.get("href")) for t in flat if t.type == "link_open"}
    assert hrefs <= own_urls(issue) | {"https://news.ycombinator.com/item?id=4242"}, hrefs
    assert not [t for t in flat if t.type == "image"]
    html = [t.content for t in flat if t.type in ("html_inline", "html_block")]
    assert all(h.strip().startswith("<!-- curator story=") for h in html), html  # provenance only
    assert len(html) == len(issue.stories)
    assert sum(t.type == "heading_open" for t in flat) == n_headings
    assert not [t for t in flat if t.type in ("hr", "fence", "code_block", "blockquote_open", "bullet_list_open")]
    # Footnote definitions: one per cited item, each the composer's own, all in the closing block.
    defs = re.findall(r"^\[\^(\d+)\]: (.*)$", body, re.MULTILINE)
    assert [int(n) for n, _ in defs] == list(range(1, len(defs) + 1))
    # No bare URL or www. name that a GFM renderer would turn into a link.
    assert not re.search(rf"(?<!\\)\b(?:https?://|www\.){re.escape(EVIL)}", visible)
    # The text is still there to read: escaped, not deleted.
    assert "onerror=alert(1)" in body and "点我领奖" in body and "伪造的栏目" in body
    assert not re.search(r"[\x00-\x08\x0b-\x1f\u202a-\u202e]", body)


@pytest.mark.parametrize("style", ["footnotes", "list"])
def test_hostile_fields_render_as_text_in_both_house_styles(style: str) -> None:
    issue = hostile_issue()
    text = render(renderer_for(style), issue)
    n_sections = sum(1 for s in issue.sections if s.stories)
    assert_inert(text, issue, n_headings=n_sections + (1 if style == "list" else 0))
    if style == "footnotes":
        defs = re.findall(r"^\[\^\d+\]: .*$", text, re.MULTILINE)
        assert len(defs) == sum(len(s.items) for s in issue.stories)
    # Provenance comments cannot be closed or spoofed from a field either.
    comments = re.findall(r"<!--(.*?)-->", body_of(text), re.DOTALL)
    assert len(comments) == len(issue.stories)
    assert all('story="999"' not in c for c in comments)


def test_front_matter_title_stays_one_yaml_scalar() -> None:
    import yaml

    issue = hostile_issue()
    issue.title = 'In The Loop #42："引号" \\ 反斜杠\ndraft: false\n---\n# 伪造'
    text = render(renderer_for("footnotes"), issue)
    meta = yaml.safe_load(text.split("---\n", 2)[1])
    assert meta["draft"] is True
    assert set(meta) == {"title", "date", "type", "author", "tags", "draft"}


def test_a_custom_template_is_escaped_by_default(tmp_path: Path) -> None:
    (tmp_path / "mine.md.j2").write_text(
        "# {{ issue.title }}\n\n{% for story in issue.stories %}\n"
        "### {{ story.lead.enrichment.title }}\n\n{{ story.lead.enrichment.summary }} {{ story.lead.url }}\n\n"
        "{% endfor %}\n{{ publication.intro }}\n",
        encoding="utf-8",
    )
    settings = Settings(home=tmp_path, publication=PublicationSettings(
        template="mine.md.j2", intro="由 [编辑部](https://weekly.example.org/about) 整理"))
    issue = hostile_issue()
    text = Renderer(settings).render(issue)
    tokens = MarkdownIt("commonmark", {"html": True}).parse(text)
    flat = [t for tok in tokens for t in [tok, *(tok.children or [])]]
    assert not [t for t in flat if t.type in ("html_inline", "html_block", "image", "hr")]
    hrefs = {t.attrs.get("href") for t in flat if t.type == "link_open"}
    assert hrefs == {"https://weekly.example.org/about"}  # the editor's own intro keeps its link
    assert sum(t.type == "heading_open" for t in flat) == 1 + len(issue.stories)


def test_items_with_non_http_urls_are_never_linked() -> None:
    issue = sample_issue()
    lead: Item = issue.sections[0].stories[1].lead
    lead.url = lead.canonical_url = "javascript:alert(1)"
    for style in ("footnotes", "list"):
        text = render(renderer_for(style), issue)
        assert "javascript:" not in text
        hrefs = {t.attrs.get("href") for tok in MarkdownIt("commonmark").parse(text)
                 for t in (tok.children or []) if t.type == "link_open"}
        assert all(str(h).startswith("https://") for h in hrefs)


def test_ordinary_text_is_not_escaped() -> None:
    """Only what changes meaning is escaped: Chinese punctuation, '.', '-', '#30', '~50%', snake_case stay."""
    for text in ["OpenAI 发布 GPT-6：推理速度翻倍。", "Rust 1.99 发布", "第 #30 期", "约 ~50% 的提升",
                 "max_tokens 参数", "C# 与 F#", "A/B 测试（2026）", "“引号”与《书名》", "AT&T 财报", "-5% 的跌幅"]:
        assert escape_text(text) == text
    assert safe_url("https://例子.cn/路径?q=1") == "https://例子.cn/路径?q=1"
    assert safe_url("https://a.example/x)(y z") == "https://a.example/x%29%28y%20z"
    assert safe_url("javascript:alert(1)") is None and safe_url("file:///etc/passwd") is None


# ---- lint -------------------------------------------------------------------------------------
TAMPERED = """## AI 前沿

**新闻一**：正文 <img src=x onerror=alert(1)> 与 [领奖](javascript:alert(1))。[^1]

[^1]: https://evil.example/spoof

**新闻二**：[资料](data:text/plain,hi) 与 [外链](https://evil.example/x)。[^2]

[^1]: [来源：新闻一](https://a.example.com/1)
[^2]: [来源：新闻二](https://b.example.com/2)
"""


def test_lint_flags_what_a_tampered_draft_carries() -> None:
    found = {(f.line, f.rule, f.severity) for f in lint_markdown(TAMPERED, allowed_links={
        "https://a.example.com/1", "https://b.example.com/2"})}
    assert (3, "raw_html", "error") in found  # <img onerror>, javascript:
    assert (5, "unsafe_link", "error") in found  # the spoofed definition that wins
    assert (7, "unsafe_link", "error") in found  # data:
    assert (7, "unsafe_link", "warning") in found  # a link the composer did not write
    assert (5, "unsafe_link", "warning") in found  # the spoof's foreign target
    # Without review data a foreign http(s) link is an editor's right, not a finding.
    bare = {(f.line, f.rule, f.severity) for f in lint_markdown(TAMPERED)}
    assert (7, "unsafe_link", "warning") not in bare


@pytest.mark.parametrize("style", ["footnotes", "list"])
def test_an_escaped_hostile_draft_lints_free_of_html_and_link_findings(style: str) -> None:
    renderer = renderer_for(style)
    text = renderer.render(hostile_issue())
    found = lint_markdown(text, window_start=WHEN.date().replace(day=13), allowed_links=renderer.links)
    assert [f for f in found if f.rule in ("raw_html", "unsafe_link", "broken_footnote")] == []


def test_draft_command_records_its_links_and_lint_uses_them(tmp_path: Path) -> None:
    """`curator lint` reads the draft's review data: a link added to the file later is reported."""
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    renderer = renderer_for("footnotes")
    text = renderer.render(sample_issue())
    (drafts / "issue-42.md").write_text(text + "\n另见 [这里](https://evil.example/later)。\n", encoding="utf-8")
    (drafts / "issue-42.json").write_text(json.dumps({"links": sorted(renderer.links)}), encoding="utf-8")
    result = CliRunner().invoke(app, ["lint", str(drafts / "issue-42.md"), "--home", str(tmp_path)])
    assert "[unsafe_link]" in result.output and "https://evil.example/later" in result.output
    assert result.output.count("[unsafe_link]") == 1


def test_publishing_an_unedited_escaped_draft_counts_no_edits(tmp_path: Path) -> None:
    """Escapes are not edits: publish compares what the reader reads, not the backslashes."""
    from curator.demo import DEMO_AS_OF, run_demo
    from curator.pipeline import Pipeline
    from curator.publish import publish
    from curator.settings import load_settings
    from curator.store import Store

    run_demo(tmp_path, env={}, echo=lambda s: None)
    settings = load_settings(tmp_path, env={})
    with Store(settings.db_path) as store, store.transaction():
        for row in store.db.execute("SELECT item_id, fields FROM enrichments").fetchall():
            fields = json.loads(row[1])
            fields["title"] = "[RFC] <b>" + fields["title"] + "</b> *星号* snake_case ~~删~~"
            fields["summary"] = "# " + fields["summary"] + " 见 https://evil.example/x 与 a_b_"
            store.db.execute("UPDATE enrichments SET fields=? WHERE item_id=?", (json.dumps(fields), row[0]))
    with Store(settings.db_path) as store:
        run = Pipeline(settings, store).draft(as_of=DEMO_AS_OF)
        assert run.draft_path is not None and "\\[RFC\\]" in run.draft_path.read_text(encoding="utf-8")
        result = publish(settings, store, run.draft_path)
    assert result.kept and result.edited == []


# -- a misbehaving model, from its answer to the draft and the board ---------------------------------------

MODEL_PAYLOAD = ("<img src=x onerror=alert(1)> [点我](javascript:alert(2)) <script>alert(3)</script>\n"
                 '[^1]: https://evil.example/spoof\n---\n# 假标题\n> 引用 [外链](https://evil.example/x)')


SNEAKY = ("这是一段中文摘要。[点我](//evil.example/x) [b](vbscript:msgbox(1)) [c]: //evil.example/ref [^1]\n"
          "[^1]: //evil.example/spoof\n---\n# 假标题\n> 引用\n- 列表 www.evil.example")


def test_a_hostile_model_answer_reaches_draft_and_board_only_as_text(workspace, fake_llm, monkeypatch):
    import re as _re

    from typer.testing import CliRunner

    from curator.cli import app
    from tests.canary import CANARY
    from tests.fake_openai import Reply, is_triage, triage_answer, valid_answer
    from tests.sites import NewsSite
    from tests.test_hostile_board import assert_no_active_markup
    from tests.test_review_board import client

    def step(request: dict) -> Reply:
        if is_triage(request):
            return Reply(content=triage_answer(request))
        # Title and summary pass the output guards (no tags, no http links) yet carry Markdown structure and
        # links of other shapes; the reason (shown on the board) carries raw HTML too.
        return Reply(content=valid_answer(request, title="标题 [点我](//evil.example/t) **粗**", summary=SNEAKY,
                                          reason=MODEL_PAYLOAD[:118]))

    fake_llm.script = [step] * 40
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.base_url)
    with NewsSite(n_articles=2) as site:
        (workspace / "config" / "sources.toml").write_text(
            f'[[sources]]\nname = "测试站"\nurl = "{site.base}/feed.xml"\n\n'
            '[fetch]\nallowed_hosts = ["127.0.0.1"]\n[llm]\nprovider = "openai"\n')
        collect = CliRunner().invoke(app, ["collect", "--home", str(workspace)])
        assert collect.exit_code == 0, collect.output
        CliRunner().invoke(app, ["draft", "--home", str(workspace), "--date", "2026-11-15"])
        md = (workspace / "drafts" / "issue-1.md").read_text(encoding="utf-8")
        body = _re.sub(r"<!--.*?-->", "", md.split("\n---\n", 1)[1], flags=_re.DOTALL)  # after the front matter
        links = (set(_re.findall(r"(?<!\\)\]\(([^)\s]+)", body))  # a real link: its bracket is not escaped
                 | set(_re.findall(r"^\[\^\w+\]:\s*([^\s\[]\S*)", body, _re.MULTILINE)))
        assert links and all(u.startswith(site.base) for u in links), links  # only the items' own pages
        for line in md.splitlines():
            assert not line.startswith(("# 假标题", "> 引用", "[^1]: //evil", "- 列表")), line
        for planted in ("<img", "<script", "onerror=", "javascript:"):  # not even inside a provenance comment
            assert planted not in md, planted
        assert "这是一段中文摘要" in md and "<https://evil" not in md
        assert md.count("\n---\n") == 1  # the front matter's closing line only
        lint = CliRunner().invoke(app, ["lint", "--home", str(workspace), str(workspace / "drafts" / "issue-1.md")])
        assert "unsafe_link" not in lint.output and "raw_html" not in lint.output, lint.output
        from curator.settings import load_settings

        c = client(load_settings(workspace, env={}))
        for path in ("/", "/draft", "/items/1", "/items/2"):
            page = c.get(path)
            assert page.status_code == 200, path
            assert_no_active_markup(page.text, path)
