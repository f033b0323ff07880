"""The feeds of published issues: Atom (RFC 4287) and JSON Feed 1.1, both rewritten on every `publish`.

Real files, real SQLite, the demo workspace (tests/conftest.py demo_template); dates come from the demo's
pinned week, never the wall clock. The Atom document is checked against the MUSTs of RFC 4287 (no
maintained Atom validator is on PyPI) and parsed back by feedparser; the JSON Feed against the 1.1
spec's required fields and read back by curator's own JSON Feed reader (feedparser 6.0 reads no JSON).
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from lxml import etree
from typer.testing import CliRunner

from curator.cli import app
from curator.demo import DEMO_AS_OF
from curator.pipeline import Pipeline
from curator.settings import SourceSettings, load_settings
from curator.site_feed import JSON_FEED_VERSION, atom_xml, entry_of
from curator.sources.jsonfeed import is_json_feed, parse_json_feed
from curator.store import Store

runner = CliRunner()
A = "{http://www.w3.org/2005/Atom}"
BASE = "https://weekly.example.org/"
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")
ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")


# ---- an RFC 4287 checker: the MUSTs a feed reader relies on ---------------------------------------------
def atom_problems(raw: bytes) -> list[str]:
    """Every RFC 4287 MUST the document breaks (empty: valid). Sections cited are the RFC's."""
    problems: list[str] = []
    root = etree.fromstring(raw)
    if root.tag != f"{A}feed":
        return [f"root element is {root.tag}, not atom:feed"]

    def one(el: etree._Element, tag: str, where: str) -> etree._Element | None:
        found = el.findall(f"{A}{tag}")
        if len(found) != 1:
            problems.append(f"{where} has {len(found)} atom:{tag}, exactly one required (4.1.1/4.1.2)")
            return None
        return found[0]

    def check_date(el: etree._Element | None, where: str) -> None:
        if el is not None and not RFC3339.fullmatch((el.text or "").strip()):
            problems.append(f"{where} {el.tag} {el.text!r} is not an RFC 3339 date-time (3.3)")

    def check_text(el: etree._Element | None, where: str) -> None:
        if el is None:
            return
        kind = el.get("type", "text")
        if kind not in ("text", "html", "xhtml"):
            problems.append(f"{where} {el.tag} has type {kind!r} (3.1.1)")
        if kind == "xhtml" and el.find("{http://www.w3.org/1999/xhtml}div") is None:
            problems.append(f"{where} xhtml text without its div (3.1.1.3)")

    def check_links(el: etree._Element, where: str) -> list[etree._Element]:
        links = el.findall(f"{A}link")
        for link in links:
            if not link.get("href"):
                problems.append(f"{where} atom:link without href (4.2.7.1)")
        alternates = [(ln.get("type"), ln.get("hreflang")) for ln in links if ln.get("rel", "alternate") == "alternate"]
        if len(alternates) != len(set(alternates)):
            problems.append(f"{where} has two alternate links of one type and hreflang (4.1.1/4.1.2)")
        return [ln for ln in links if ln.get("rel", "alternate") == "alternate"]

    def check_authors(el: etree._Element, where: str) -> bool:
        authors = el.findall(f"{A}author")
        for author in authors:
            names = author.findall(f"{A}name")
            if len(names) != 1 or not (names[0].text or "").strip():
                problems.append(f"{where} atom:author without exactly one name (3.2.1)")
        return bool(authors)

    feed_id = one(root, "id", "feed")
    if feed_id is not None and not ABSOLUTE_IRI.fullmatch((feed_id.text or "").strip()):
        problems.append(f"feed id {feed_id.text!r} is not an absolute IRI (4.2.6)")
    check_text(one(root, "title", "feed"), "feed")
    check_date(one(root, "updated", "feed"), "feed")
    check_links(root, "feed")
    feed_has_author = check_authors(root, "feed")
    ids = []
    for n, entry in enumerate(root.findall(f"{A}entry")):
        where = f"entry {n}"
        entry_id = one(entry, "id", where)
        if entry_id is not None:
            ids.append((entry_id.text or "").strip())
            if not ABSOLUTE_IRI.fullmatch(ids[-1]):
                problems.append(f"{where} id {ids[-1]!r} is not an absolute IRI (4.2.6)")
        check_text(one(entry, "title", where), where)
        check_date(one(entry, "updated", where), where)
        for tag in ("published", "summary", "content"):
            if len(entry.findall(f"{A}{tag}")) > 1:
                problems.append(f"{where} has more than one atom:{tag} (4.1.2)")
        check_date(entry.find(f"{A}published"), where)
        check_text(entry.find(f"{A}summary"), where)
        content = entry.find(f"{A}content")
        if content is not None and content.get("type", "text") in ("text", "html", "xhtml"):  # else a MIME type
            check_text(content, where)
        if not check_authors(entry, where) and not feed_has_author:
            problems.append(f"{where} has no atom:author and neither has the feed (4.1.1)")
        if not check_links(entry, where) and content is None:
            problems.append(f"{where} has neither atom:content nor an alternate link (4.1.2)")
    if len(ids) != len(set(ids)):
        problems.append("two entries share an atom:id (4.1.1)")
    return problems


def json_feed_problems(doc: object) -> list[str]:
    """Every JSON Feed 1.1 requirement the document breaks (https://www.jsonfeed.org/version/1.1/)."""
    if not isinstance(doc, dict):
        return ["the top level is not an object"]
    problems = []
    if doc.get("version") != JSON_FEED_VERSION:
        problems.append(f"version is {doc.get('version')!r}")
    if not isinstance(doc.get("title"), str) or not doc["title"]:
        problems.append("no title")
    items = doc.get("items")
    if not isinstance(items, list):
        return [*problems, "no items list"]
    ids = []
    for n, item in enumerate(items):
        if not isinstance(item.get("id"), str) or not item["id"]:
            problems.append(f"item {n} has no string id")
        ids.append(item.get("id"))
        if not (item.get("content_html") or item.get("content_text")):
            problems.append(f"item {n} has neither content_html nor content_text")
        for key in ("date_published", "date_modified"):
            if key in item and not RFC3339.fullmatch(item[key]):
                problems.append(f"item {n} {key} {item[key]!r} is not RFC 3339")
        for key in ("url", "external_url"):
            if key in item and not item[key].startswith(("https://", "http://")):
                problems.append(f"item {n} {key} is not absolute")
    for key in ("home_page_url", "feed_url"):
        if key in doc and not str(doc[key]).startswith(("https://", "http://")):
            problems.append(f"{key} is not absolute")
    if "authors" in doc and not all(isinstance(a, dict) and a.get("name") for a in doc["authors"]):
        problems.append("an author without a name")
    if len(ids) != len(set(ids)):
        problems.append("two items share an id")
    return problems


# ---- the workspace -------------------------------------------------------------------------------------
@pytest.fixture
def ws(demo_template, tmp_path) -> Path:
    out = tmp_path / "ws"
    shutil.copytree(demo_template, out)
    return out


def configure(ws: Path, **publication: object) -> None:
    lines = ["[publication]"]
    for key, value in publication.items():
        lines.append(f"{key} = " + (str(value) if isinstance(value, int) else f'"{value}"'))
    (ws / "config" / "zz-feeds.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def publish(ws: Path, path: Path) -> str:
    result = runner.invoke(app, ["publish", str(path), "--home", str(ws)])
    assert result.exit_code == 0, result.output
    return result.output


def redraft(ws: Path, number: int) -> Path:
    settings = load_settings(ws, env={})
    with Store(settings.db_path) as store:
        path = Pipeline(settings, store).draft(number=number, as_of=DEMO_AS_OF).draft_path
    assert path is not None
    return path


def publish_three(ws: Path) -> None:
    publish(ws, ws / "drafts" / "issue-1.md")
    for n in (2, 3):
        publish(ws, redraft(ws, n))


# ---- the tests -----------------------------------------------------------------------------------------
def test_publish_writes_both_feeds_valid_with_the_same_issues_and_absolute_links(ws):
    configure(ws, base_url=BASE, issue_url="posts/{n}/")
    output = publish(ws, ws / "drafts" / "issue-1.md")
    assert "feed.xml" in output and "feed.json" in output
    publish(ws, redraft(ws, 2))
    raw = (ws / "published" / "feed.xml").read_bytes()
    assert atom_problems(raw) == []
    parsed = feedparser.parse(raw)
    assert parsed.bozo == 0 and parsed.version == "atom10"
    assert [e.link for e in parsed.entries] == [f"{BASE}posts/2/", f"{BASE}posts/1/"]

    body = (ws / "published" / "feed.json").read_bytes()
    doc = json.loads(body)
    assert json_feed_problems(doc) == []
    assert doc["home_page_url"] == BASE and doc["feed_url"] == f"{BASE}feed.json"
    assert [i["url"] for i in doc["items"]] == [f"{BASE}posts/2/", f"{BASE}posts/1/"]
    # One issue, one id in both feeds: a reader switching formats is not shown it twice.
    assert [i["id"] for i in doc["items"]] == [e.id for e in parsed.entries]
    assert [i["title"] for i in doc["items"]] == [e.title for e in parsed.entries]
    assert "<h2>" in doc["items"][0]["content_html"] and "curator story" not in doc["items"][0]["content_html"]
    assert all(i["date_published"].startswith(DEMO_AS_OF.date().isoformat()) for i in doc["items"])

    # Read back as a subscriber's reader would (curator's own JSON Feed source).
    assert is_json_feed(body, "application/feed+json")
    back = parse_json_feed(body, f"{BASE}feed.json", SourceSettings(name="readers", url=f"{BASE}feed.json"),
                           datetime(2030, 1, 1, tzinfo=UTC))
    assert [c.url for c in back.candidates] == [f"{BASE}posts/2/", f"{BASE}posts/1/"]
    assert [c.title for c in back.candidates] == [e.title for e in parsed.entries]


def test_the_feeds_keep_the_newest_n_issues(ws):
    configure(ws, base_url=BASE, feed_entries=2)
    publish_three(ws)
    parsed = feedparser.parse((ws / "published" / "feed.xml").read_bytes())
    doc = json.loads((ws / "published" / "feed.json").read_text(encoding="utf-8"))
    assert [e.link for e in parsed.entries] == [f"{BASE}3/", f"{BASE}2/"]
    assert [i["url"] for i in doc["items"]] == [f"{BASE}3/", f"{BASE}2/"]


def test_each_feed_turns_off_on_its_own(ws):
    configure(ws, json_feed_path="")
    publish(ws, ws / "drafts" / "issue-1.md")
    assert (ws / "published" / "feed.xml").exists() and not (ws / "published" / "feed.json").exists()
    configure(ws, feed_path="", json_feed_path="site/feed.json")
    publish(ws, redraft(ws, 2))
    doc = json.loads((ws / "site" / "feed.json").read_text(encoding="utf-8"))
    assert json_feed_problems(doc) == [] and len(doc["items"]) == 2  # both published issues, no base URL
    assert all("url" not in i for i in doc["items"]) and "feed_url" not in doc


def test_feed_entries_is_checked_when_config_loads(ws):
    configure(ws, feed_entries=0)
    result = runner.invoke(app, ["publish", str(ws / "drafts" / "issue-1.md"), "--home", str(ws)])
    assert result.exit_code != 0 and "feed_entries" in result.output and "Traceback" not in result.output


def entries() -> list:
    day = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    return [entry_of(n, f"第 {n} 期", day, f"## 标题\n\n第 {n} 期正文。", "") for n in (1, 2)]


def test_the_rfc_checker_catches_each_broken_must():
    good = atom_xml(entries(), name="周刊", author="编辑部", language="zh-CN", base_url=BASE)
    assert atom_problems(good) == []

    def broken(edit) -> list[str]:
        root = etree.fromstring(good)
        edit(root)
        return atom_problems(etree.tostring(root))

    first = lambda root: root.find(f"{A}entry")
    assert broken(lambda r: first(r).remove(first(r).find(f"{A}id")))
    assert broken(lambda r: r.remove(r.find(f"{A}author")))  # no author anywhere
    assert broken(lambda r: setattr(first(r).find(f"{A}updated"), "text", "2026-11-20 08:00"))
    assert broken(lambda r: setattr(r.findall(f"{A}entry")[1].find(f"{A}id"), "text", first(r).findtext(f"{A}id")))
    assert broken(lambda r: setattr(r.find(f"{A}id"), "text", "not an iri"))


def test_the_json_feed_checker_catches_missing_required_fields():
    assert json_feed_problems({"version": JSON_FEED_VERSION, "title": "t", "items": [{"id": "1"}]})
    assert json_feed_problems({"version": "1.1", "title": "t", "items": []})
    assert json_feed_problems({"version": JSON_FEED_VERSION, "title": "t", "items": [
        {"id": "1", "content_html": "x", "url": "/relative"}]})
