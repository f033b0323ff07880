"""`curator sources …` through typer's CliRunner: add (feed discovery on loopback), OPML, check."""

import json
import tomllib

import pytest
from typer.testing import CliRunner

from curator.cli.sources import app
from curator.settings import load_settings
from curator.store import Store

runner = CliRunner()
ENV = {"CURATOR_FETCH__ALLOWED_HOSTS": json.dumps(["127.0.0.1", "localhost"]), "CURATOR_HOME": ""}
ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>B</title>
<entry><title>P</title><link href="https://b.example/p"/><updated>2026-11-18T09:00:00Z</updated></entry></feed>"""
EXISTING = """# 我们的信息源 — keep this comment
[[sources]]
name = "Simon Willison"
url = "https://simonwillison.net/atom/everything/"   # trailing comment
weight = 1.2
"""


def run(*args):
    return runner.invoke(app, [str(a) for a in args], env=ENV)


@pytest.fixture
def blog(httpserver):
    httpserver.expect_request("/").respond_with_data(
        '<html><head><link rel="alternate" type="application/atom+xml" href="/atom.xml"></head><body>hi</body></html>',
        content_type="text/html",
    )
    httpserver.expect_request("/atom.xml").respond_with_data(ATOM, content_type="application/atom+xml")
    return httpserver.url_for("/")


def test_add_discovers_the_feed_and_appends_a_valid_table(workspace, blog):
    cfg = workspace / "config" / "sources.toml"
    cfg.write_text(EXISTING, encoding="utf-8")
    result = run(
        "add", blog, "--home", workspace, "--name", 'B "博客"\\', "--section", "dev", "--weight", "1.5"
    )
    assert result.exit_code == 0, result.output
    text = cfg.read_text(encoding="utf-8")
    assert text.startswith(EXISTING)  # the rest of the file is untouched, comments included
    settings = load_settings(workspace, env={})
    added = settings.source('B "博客"\\')
    assert added is not None and added.url == blog + "atom.xml"
    assert (added.kind, added.section, added.weight) == ("rss", "dev", 1.5)
    assert [s.name for s in settings.sources] == ["Simon Willison", 'B "博客"\\']

    again = run("add", blog, "--home", workspace)  # same feed URL under another name
    assert again.exit_code == 1 and "already configured" in again.output
    same_name = run("add", "https://other.example/feed", "--home", workspace, "--name", "Simon Willison")
    assert same_name.exit_code == 1 and "already configured" in same_name.output
    assert cfg.read_text(encoding="utf-8") == text


def test_add_creates_the_file_and_a_bad_section_changes_nothing(workspace, blog):
    cfg = workspace / "config" / "sources.toml"
    bad = run("add", blog, "--home", workspace, "--section", "nope")
    assert bad.exit_code == 78 and "nope" in bad.output
    assert not cfg.exists() and not list((workspace / "config").glob("*.tmp"))
    ok = run("add", blog, "--home", workspace)
    assert ok.exit_code == 0, ok.output
    assert tomllib.loads(cfg.read_text())["sources"] == [
        {"name": "localhost", "kind": "rss", "url": blog + "atom.xml"}
    ]


def test_add_other_kinds_without_discovery_and_unknown_kinds(workspace):
    url = "https://hn.algolia.com/api/v1/search_by_date?tags=story&numericFilters=points>100"
    ok = run("add", url, "--home", workspace, "--kind", "hn", "--name", "HN")
    assert ok.exit_code == 0, ok.output
    assert load_settings(workspace, env={}).source("HN").url == url
    bad = run("add", "https://x.example/", "--home", workspace, "--kind", "gopher")
    assert bad.exit_code == 78 and "known kinds" in bad.output


def test_opml_export_then_import_into_another_workspace(workspace, tmp_path):
    (workspace / "config" / "sources.toml").write_text(
        EXISTING
        + """
[[sources]]
name = "HN"
kind = "hn"
url = "https://hn.algolia.com/api/v1/search_by_date?tags=story&numericFilters=points>100"
section = "ai"
""",
        encoding="utf-8",
    )
    out = tmp_path / "sources.opml"
    exported = run("export-opml", "--home", workspace, "--out", out)
    assert exported.exit_code == 0 and "2 source(s)" in exported.output
    assert 'curatorKind="hn"' in out.read_text()

    other = tmp_path / "other"
    (other / "config").mkdir(parents=True)
    (other / "config" / "curator.toml").write_text((workspace / "config" / "curator.toml").read_text())
    (other / "config" / "sources.toml").write_text(
        '[[sources]]\nname = "HN"\nurl = "https://simonwillison.net/atom/everything/"\n'
    )
    imported = run("import-opml", out, "--home", other)
    assert imported.exit_code == 0, imported.output
    assert "imported 1 source(s); skipped 1" in imported.output
    names = {s.name: s for s in load_settings(other, env={}).sources}
    assert names["HN (2)"].kind == "hn" and names["HN (2)"].section == "ai"  # name clash renamed, fields kept

    stdout = run("export-opml", "--home", other)
    assert stdout.exit_code == 0 and stdout.output.startswith("<?xml")


def test_check_flags_sources_failing_three_runs_in_a_row(workspace):
    (workspace / "config" / "sources.toml").write_text(
        EXISTING + '\n[[sources]]\nname = "新来的"\nurl = "https://n.example/feed"\n'
    )
    settings = load_settings(workspace, env={})
    with Store(settings.db_path) as store:
        store.sync_source("Simon Willison", "rss", "https://simonwillison.net/atom/everything/")
        for _ in range(3):
            store.record_source_error("Simon Willison", "http_503")
        store.sync_source("Gone", "rss", "https://gone.example/feed")
        store.record_source_ok("Gone", None, 7)
    result = run("check", "--home", workspace)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["name", "kind", "last", "ok", "failures", "last", "error", "items"]
    simon = next(line for line in lines if line.startswith("Simon Willison"))
    assert "http_503" in simon and "⚠ failing" in simon and " 3 " in simon
    assert "(no longer configured)" in next(line for line in lines if line.startswith("Gone"))
    assert "(not run yet)" in next(line for line in lines if line.startswith("新来的"))
    assert "1 source(s) failed 3+ runs in a row" in result.output


def test_check_before_any_run_lists_configured_sources(workspace):
    result = run("check", "--home", workspace)
    assert result.exit_code == 0 and result.output.splitlines()[0].startswith("name")
    assert not (workspace / "data").exists()  # checking never creates a store


def test_help_texts():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("add", "import-opml", "export-opml", "check"):
        assert command in result.output


def test_export_opml_writes_a_watched_page_as_a_link_and_import_reads_it_back(workspace, tmp_path):
    from curator.sources.discovery import parse_opml

    (workspace / "config" / "sources.toml").write_text(
        '[[sources]]\nname = "changelog"\nkind = "watch"\nurl = "https://tool.example/changelog"\n\n'
        '[[sources]]\nname = "blog"\nurl = "https://blog.example/feed.xml"\n')
    out = tmp_path / "subs.opml"
    assert run("export-opml", "--home", workspace, "--out", out).exit_code == 0
    text = out.read_text()
    watch = next(line for line in text.splitlines() if "changelog" in line)
    assert 'type="link"' in watch and 'htmlUrl="https://tool.example/changelog"' in watch
    assert 'curatorKind="watch"' in watch and "xmlUrl" not in watch
    assert [(t["name"], t["kind"], t["url"]) for t in parse_opml(out.read_bytes())] == [
        ("changelog", "watch", "https://tool.example/changelog"), ("blog", "rss", "https://blog.example/feed.xml")]
    fresh = tmp_path / "fresh"
    (fresh / "config").mkdir(parents=True)
    assert run("import-opml", out, "--home", fresh).exit_code == 0
    assert 'kind = "watch"' in (fresh / "config" / "sources.toml").read_text()


def test_sources_add_json(workspace, blog):
    result = run("add", blog, "--home", workspace, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["added"]["kind"] == "rss" and data["file"].endswith("sources.toml")
