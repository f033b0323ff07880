"""The sources registry: built-ins found in the package, third-party kinds through the entry-point group
`curator.sources` (a fake distribution on sys.path), broken plugins as ConfigError, the per-kind traits and
the one entry cap."""

from __future__ import annotations

import json
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curator.cli import app
from curator.errors import ConfigError
from curator.models import Candidate, Page
from curator.settings import SourceSettings, load_settings
from curator.sources import (
    ENTRY_POINT_GROUP,
    BaseSource,
    SourceResult,
    anchored_article,
    build_source,
    known_kinds,
    registry,
)
from curator.sources.rss import RssSource
from curator.sources.watch import WatchSource, entry_article, find_entries
from tests.test_sources_support import discover

BUILTIN_KINDS = ["arxiv", "atom", "feed", "github_releases", "github_submissions", "hackernews", "hn",
                 "json_feed", "jsonfeed", "rss", "watch", "youtube"]

PLUGIN = '''
from typing import ClassVar

from curator.models import Candidate
from curator.sources import BaseSource, SourceContext, SourceResult


class ThirdPartySource(BaseSource):
    """One candidate per non-blank line of a text file: `url title`."""

    kind: ClassVar[str] = "thirdparty"

    async def discover(self, ctx: SourceContext) -> SourceResult:
        resp = await ctx.fetcher.get(self.config.url, validators=ctx.validators, accept="text/plain")
        result = SourceResult(validators=resp.validators, cap=self.config.max_entries)
        for line in resp.body.decode().splitlines():
            if line.strip():
                url, _, title = line.strip().partition(" ")
                result.add(Candidate(url=url, title=title, source=self.config.name))
        return result


NOT_A_CLASS = 42
'''


def fake_distribution(root: Path, dist: str, module: str, entry_points: dict[str, str], code: str | None) -> None:
    """A distribution importlib.metadata finds on sys.path: `<dist>-0.1.dist-info/` and the module."""
    info = root / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n", encoding="utf-8")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}", encoding="utf-8")
    if code is not None:
        (root / f"{module}.py").write_text(textwrap.dedent(code), encoding="utf-8")


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plugins are loaded again (the built-ins stay as this process registered them)."""
    known_kinds()
    monkeypatch.setattr(registry, "SOURCES", dict(registry.SOURCES))
    monkeypatch.setattr(registry, "_loaded", {"builtins"})


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_registry: None) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    for name in ("curator_thirdparty_demo", "curator_broken_demo"):  # each test imports its own copy
        monkeypatch.delitem(sys.modules, name, raising=False)
    return root


def test_the_built_in_kinds_are_found_in_the_package() -> None:
    assert [k for k in known_kinds() if k in BUILTIN_KINDS] == BUILTIN_KINDS
    assert registry.SOURCES["jsonfeed"] is registry.SOURCES["rss"] is RssSource


def test_the_table_of_built_in_kinds_is_what_the_modules_register() -> None:
    """`BUILTIN_KINDS` lets a config be checked without importing a source module; it must name every kind
    each module of the package registers, and only those."""
    import importlib
    import pkgutil

    registered: dict[str, str] = {}
    for mod in pkgutil.iter_modules([str(Path(registry.__file__).parent)]):
        module = importlib.import_module(f"curator.sources.{mod.name}")
        for name, obj in vars(module).items():
            if isinstance(obj, type) and obj.__module__ == module.__name__ and name.endswith("Source"):
                registered.update({k: mod.name for k, cls in registry.SOURCES.items() if cls is obj})
    assert registered == registry.BUILTIN_KINDS
    assert sorted(registry.BUILTIN_KINDS) == BUILTIN_KINDS


def test_traits_are_class_attributes_and_only_watch_keeps_fragments() -> None:
    keepers = {cls.kind for cls in registry.SOURCES.values() if cls.keeps_fragment}
    assert keepers == {"watch"}
    assert WatchSource.keeps_fragment and not RssSource.keeps_fragment
    page = Page(url="https://n.example/notes/", final_url="https://n.example/notes/", status=200,
                content_type="text/html", text="<h2>2026-11-20</h2><p>【2026-11-20】A note of its own.</p>",
                fetched_at=datetime(2026, 11, 24, tzinfo=UTC))
    assert RssSource.own_article(page, "x", 1000) is None  # the default: no entry is its own article
    assert anchored_article(page, "no-such-entry", 1000) is None
    (entry,), _ = find_entries(page.text, page.final_url, datetime(2026, 11, 24, tzinfo=UTC))
    assert entry.anchor  # an entry on the page itself: page#anchor, its own article through the trait
    assert anchored_article(page, entry.anchor, 1000) == entry_article(page, entry.anchor, 1000) is not None


def test_the_entry_cap_lives_in_the_result() -> None:
    read = SourceResult(cap=2)
    assert list(read.capped([1, 2, 3, 4, 5])) == [1, 2] and read.dropped == {"entry_cap": 3}
    kept = SourceResult(cap=1)
    cands = [Candidate(url=f"https://a.example/{i}", title=str(i), source="s") for i in range(3)]
    assert [kept.add(c) for c in cands] == [True, False, False]
    assert kept.candidates == cands[:1] and kept.dropped == {"entry_cap": 2}
    assert SourceResult().add(cands[0])  # no cap


def test_a_third_party_kind_validates_and_discovers_through_the_entry_point_group(
    plugin_path: Path, workspace: Path, httpserver
) -> None:
    fake_distribution(plugin_path, "curator-thirdparty-demo", "curator_thirdparty_demo",
                      {"thirdparty": "curator_thirdparty_demo:ThirdPartySource"}, PLUGIN)
    assert "thirdparty" in known_kinds()
    httpserver.expect_request("/links.txt").respond_with_data(
        "https://a.example/one First one\n\nhttps://b.example/two Second\n", content_type="text/plain")
    (workspace / "config" / "sources.toml").write_text(
        f'[[sources]]\nname = "extra"\nkind = "thirdparty"\nurl = "{httpserver.url_for("/links.txt")}"\n',
        encoding="utf-8")
    settings = load_settings(workspace, env={}, kinds=known_kinds())
    source = build_source(settings.sources[0])
    assert isinstance(source, BaseSource) and type(source).__module__ == "curator_thirdparty_demo"
    result = discover(source)
    assert [(c.url, c.title) for c in result.candidates] == [
        ("https://a.example/one", "First one"), ("https://b.example/two", "Second")]


def test_an_unknown_kind_is_still_refused_before_any_run_and_lists_the_plugin_kinds(
    plugin_path: Path, workspace: Path
) -> None:
    fake_distribution(plugin_path, "curator-thirdparty-demo", "curator_thirdparty_demo",
                      {"thirdparty": "curator_thirdparty_demo:ThirdPartySource"}, PLUGIN)
    (workspace / "config" / "sources.toml").write_text(
        '[[sources]]\nname = "bad"\nkind = "gopher"\nurl = "https://g.example/"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sources\[bad\]\.kind \(config/sources\.toml line \d+\): unknown kind 'gopher'; known kinds: .*thirdparty"):
        load_settings(workspace, env={}, kinds=known_kinds())
    load_settings(workspace, env={})  # without the registry's kinds, settings leaves the kind to build time
    with pytest.raises(ConfigError, match="unknown kind 'gopher'"):
        build_source(SourceSettings(name="bad", kind="gopher", url="https://g.example/"))


@pytest.mark.parametrize(("target", "says"), [
    ("curator_broken_demo:ThirdPartySource", "cannot be loaded: ModuleNotFoundError"),
    ("curator_thirdparty_demo:NOT_A_CLASS", "is not a source class"),
    ("curator_thirdparty_demo:Missing", "cannot be loaded: AttributeError"),
])
def test_a_broken_plugin_is_a_config_error_naming_its_distribution(
    plugin_path: Path, workspace: Path, target: str, says: str
) -> None:
    fake_distribution(plugin_path, "curator-broken-demo", "curator_thirdparty_demo", {"broken": target}, PLUGIN)
    with pytest.raises(ConfigError) as err:
        known_kinds()
    assert "curator-broken-demo 0.1" in str(err.value) and "'broken'" in str(err.value) and says in str(err.value)
    (workspace / "config" / "sources.toml").write_text(
        '[[sources]]\nname = "s"\nurl = "https://s.example/feed.xml"\n', encoding="utf-8")
    env = {"CURATOR_FETCH__ALLOWED_HOSTS": json.dumps(["127.0.0.1"]), "CURATOR_LLM__PROVIDER": "offline"}
    result = CliRunner().invoke(app, ["collect", "--home", str(workspace)], env=env)
    assert result.exit_code == 78, result.output
    assert "curator-broken-demo 0.1" in result.output and "Traceback" not in result.output
    assert not (workspace / "data" / "curator.db").exists()  # refused before the store or the network
