"""Per-source keep / block rules: checked when config loads, applied in discover before anything is
fetched (and after extraction when a rule needs the page's author), recorded, counted and shown.

A loopback feed (tests/loopback.py) with real article pages, real SQLite, the offline backend; the
fixture clock (tests/conftest.py FIXTURE_NOW), never the wall's."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any
from xml.sax.saxutils import escape

import pytest
from typer.testing import CliRunner

from curator.cli import app
from curator.errors import ConfigError
from curator.pipeline import Pipeline
from curator.rules import KEEP_NONE, Rule, Subject, Verdict, judge
from curator.settings import load_settings
from curator.store import Store
from tests.loopback import LoopbackServer
from tests.sites import article_html

runner = CliRunner()


# ---- the judgement -------------------------------------------------------------------------------------
def r(field: str, match: str) -> Rule:
    return Rule(field=field, match=match)


def test_keywords_are_case_insensitive_and_regexes_are_python_regexes():
    post = Subject(title="SPONSORED: the best VPN", url="https://a.example/p/1", author="Ann", tags=("Rust",))
    assert judge([], [r("title", "sponsored")], post).verdict == Verdict.BLOCKED
    assert judge([], [r("title", "re:^sponsored")], post).verdict == Verdict.PASSED  # a regex is as written
    assert judge([], [r("title", "re:(?i)^sponsored")], post).rule == "title:re:(?i)^sponsored"
    assert judge([r("tags", "rust")], [], post) .verdict == Verdict.KEPT
    assert judge([r("tags", "go")], [], post).rule == KEEP_NONE
    # A block rule wins over a keep rule.
    assert judge([r("tags", "rust")], [r("author", "ann")], post).verdict == Verdict.BLOCKED


def test_a_rule_on_a_field_the_feed_did_not_carry_waits_for_the_page():
    bare = Subject(title="A post", url="https://a.example/p/2")  # no author, no tags in the feed
    assert judge([], [r("author", "bob")], bare).verdict == Verdict.PENDING
    assert judge([r("tags", "rust")], [], bare).verdict == Verdict.PENDING
    assert judge([], [r("title", "post"), r("author", "bob")], bare).verdict == Verdict.BLOCKED  # known is enough
    page = Subject(title="A post", url="https://a.example/p/2", author="Bob Smith", tags=())
    assert judge([], [r("author", "bob")], page, final=True).verdict == Verdict.BLOCKED
    assert judge([r("tags", "rust")], [], page, final=True).rule == KEEP_NONE


# ---- config errors -------------------------------------------------------------------------------------
def write_sources(workspace, body: str) -> None:
    (workspace / "config" / "sources.toml").write_text(body, encoding="utf-8")


@pytest.mark.parametrize(("rule", "words"), [
    ('{field = "title", match = "re:(unclosed"}', "bad regular expression"),
    ('{field = "body", match = "x"}', "'title', 'url', 'author' or 'tags'"),
    ('{field = "title", match = "re:"}', "needs a regular expression"),
    ('{field = "title", match = "   "}', "cannot be blank"),
    ('{field = "title", matches = "x"}', "unknown key"),
])
def test_a_bad_rule_is_a_config_error_naming_the_file_and_line(workspace, rule, words):
    write_sources(workspace, '[[sources]]\nname = "one"\nurl = "https://one.example/feed.xml"\n\n'
                             '[[sources]]\nname = "blog"\nurl = "https://blog.example/feed.xml"\n'
                             f'weight = 1.0\nblock = [{rule}]\n')
    with pytest.raises(ConfigError) as info:
        load_settings(workspace, env={})
    message = str(info.value)
    assert "sources[blog].block[0]" in message and "config/sources.toml line 9" in message, message
    assert words in message, message
    result = runner.invoke(app, ["sources", "check", "--home", str(workspace)])
    assert result.exit_code != 0 and words in result.output and "Traceback" not in result.output


# ---- in a run ------------------------------------------------------------------------------------------
ENTRIES = [  # (path, title, author in the feed, categories, author only on the page)
    ("/a/0", "Sponsored: the VPN every developer needs", "Ann", ["tools"], None),
    ("/a/1", "Rust 2.0 的新借用检查器", "Cy", ["Rust", "languages"], None),
    ("/promo/2", "本周优惠合集", "Dee", [], None),
    ("/a/3", "Go 1.30 发布", "Spammy Bob", ["go"], None),
    ("/a/4", "一篇没有署名的文章", None, [], "Spammy Bob"),
    ("/a/5", "数据库索引的新研究", None, ["databases"], "Eve"),
]


class RuleSite(LoopbackServer):
    """An RSS feed with authors and categories, and article pages (one carries its author only on the page)."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with lock:
                    site.hits[path] = site.hits.get(path, 0) + 1
                page = next((e for e in ENTRIES if e[0] == path), None)
                if path == "/feed.xml":
                    body, ctype = site.feed().encode(), "application/rss+xml"
                elif page is not None:
                    html = article_html(ENTRIES.index(page) + 40).replace("<title>", f"<title>{page[1]} | ", 1)
                    if page[4]:
                        html = html.replace("<head>", f'<head><meta name="author" content="{page[4]}">', 1)
                    body, ctype = html.encode(), "text/html; charset=utf-8"
                else:
                    body, ctype = b"", "text/plain"
                self.send_response(200 if body else 404)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)

    def feed(self) -> str:
        items = []
        for path, title, author, tags, _ in ENTRIES:
            cats = "".join(f"<category>{escape(t)}</category>" for t in tags)
            who = f"<dc:creator>{escape(author)}</dc:creator>" if author else ""
            items.append(f"<item><title>{escape(title)}</title><link>{self.origin}{path}</link>{who}{cats}"
                         f"<pubDate>Tue, 17 Nov 2026 08:00:00 GMT</pubDate></item>")
        return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>规则站</title>'
                + "".join(items) + "</channel></rss>")


@pytest.fixture
def site():
    with RuleSite() as s:
        yield s


def configure(workspace, site: RuleSite, rules: str) -> None:
    write_sources(workspace, f'[[sources]]\nname = "规则站"\nurl = "{site.origin}/feed.xml"\n{rules}\n'
                             '[fetch]\nallowed_hosts = ["127.0.0.1"]\n[llm]\nprovider = "offline"\ntriage = false\n')


def collect(workspace):
    settings = load_settings(workspace, env={})
    with Store(settings.db_path) as store:
        run = Pipeline(settings, store).collect()
        items = {i.url.rsplit("/", 2)[-2] + "/" + i.url.rsplit("/", 1)[-1]: i for i in store.items()}
    return run, items


BLOCKS = ('block = [{field = "title", match = "re:(?i)^sponsored"}, {field = "url", match = "/promo/"},\n'
          '         {field = "author", match = "spammy"}]\n')


def test_blocked_candidates_are_never_fetched_and_are_recorded_counted_and_shown(workspace, site):
    configure(workspace, site, BLOCKS)
    run, items = collect(workspace)
    assert run.status == "ok", run.notes
    # Blocked before fetching: on the title, the URL, the feed's author. Never requested.
    for path in ("/a/0", "/promo/2", "/a/3"):
        assert site.hits.get(path, 0) == 0, path
    blocked = {k for k, i in items.items() if i.state.value == "skipped" and i.reason == "blocked"}
    # /a/4's author was only on its page: fetched, then blocked after extraction, never enriched.
    assert blocked == {"a/0", "promo/2", "a/3", "a/4"}
    assert site.hits.get("/a/4") == 1 and items["a/4"].enrichment is None
    assert items["a/1"].state.value == "enriched" and items["a/5"].state.value == "enriched"
    assert run.counters["rules/blocked"] == 4 and run.counters["rules/pending"] == 2

    # The next night: the blocked links are known, not examined or fetched again.
    run2, items2 = collect(workspace)
    assert "rules/blocked" not in run2.counters and run2.counters["discover/known"] == len(ENTRIES)
    assert site.hits.get("/a/0", 0) == 0 and site.hits["/a/4"] == 1
    assert {k for k, i in items2.items() if i.reason == "blocked"} == blocked

    # `sources check`: each rule and how many of the last run that brought new candidates it blocked.
    check = runner.invoke(app, ["sources", "check", "--home", str(workspace)])
    assert check.exit_code == 0, check.output
    lines = check.output.splitlines()
    rule_of = {"title:re:(?i)^sponsored": 1, "url:/promo/": 1, "author:spammy": 2}
    for label, n in rule_of.items():
        assert any(label in line and line.rstrip().endswith(f"blocked {n}") for line in lines), (label, check.output)
    data = json.loads(runner.invoke(app, ["sources", "check", "--json", "--home", str(workspace)]).output)
    ruled = data[0]["rules"]
    assert {x["rule"]: x["blocked"] for x in ruled["rules"]} == rule_of and ruled["run"] == run.run_id
    # `status` shows the run's rule counters.
    status = runner.invoke(app, ["status", "--home", str(workspace)])
    assert f"#{run.run_id}" in status.output and "rules/blocked=4" in status.output, status.output


def test_keep_rules_let_only_matching_candidates_through(workspace, site):
    configure(workspace, site, 'keep = [{field = "tags", match = "rust"}, {field = "title", match = "re:数据库"}]\n')
    run, items = collect(workspace)
    passed = {k for k, i in items.items() if i.reason != "blocked"}
    assert passed == {"a/1", "a/5"}
    assert run.counters["rules/kept"] == 2 and run.counters["rules/blocked"] == 4
    # Entries without tags in the feed wait for their page (no tags there either), then fail the keep rules.
    assert site.hits.get("/promo/2", 0) == 1 and site.hits.get("/a/0", 0) == 0  # /a/0 had tags: decided early
    check = runner.invoke(app, ["sources", "check", "--home", str(workspace)])
    assert any("no keep rule matched" in line and line.rstrip().endswith("blocked 4")
               for line in check.output.splitlines()), check.output
    assert any("tags:rust" in line and line.rstrip().endswith("kept 1") for line in check.output.splitlines())


def test_a_source_without_rules_is_untouched(workspace, site):
    configure(workspace, site, "")
    run, items = collect(workspace)
    assert not any(k.startswith("rules/") for k in run.counters)
    assert all(i.reason != "blocked" for i in items.values()) and site.hits.get("/a/0") == 1
