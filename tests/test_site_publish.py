"""Publishing to a real site: the published copy (front matter flipped, provenance dropped), file-name
patterns kept inside the workspace, the workspace's file modes, and the weekly's own Atom feed.

Real files, real SQLite, the demo corpus served on loopback (as tests/test_history.py); dates come
from the demo's pinned week, never the wall clock."""

from __future__ import annotations

import os
import re
import shutil
import stat
import threading
from pathlib import Path

import feedparser
import pytest
import yaml
from lxml import etree
from typer.testing import CliRunner

from curator import compose, site, sitepaths
from curator.cli import app
from curator.demo import DEMO_AS_OF
from curator.errors import ConfigError
from curator.pipeline import Pipeline
from curator.settings import load_settings
from curator.store import Store

runner = CliRunner()
ATOM = "{http://www.w3.org/2005/Atom}"
FLAG = {"hugo": ("draft", True, False), "hexo": ("published", False, True), "jekyll": ("published", False, True)}


@pytest.fixture
def ws(demo_template, tmp_path) -> Path:
    out = tmp_path / "ws"
    shutil.copytree(demo_template, out)
    return out


def configure(ws: Path, **publication: object) -> None:
    """A config file of the workspace's own, merged over curator.toml (`[publication]` keys)."""
    lines = ["[publication]"]
    for key, value in publication.items():
        lines.append(f"{key} = " + ("true" if value is True else "false" if value is False else f'"{value}"'))
    (ws / "config" / "zz-site.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def redraft(ws: Path, number: int = 1) -> Path:
    settings = load_settings(ws, env={})
    with Store(settings.db_path) as store:
        return Pipeline(settings, store).draft(number=number, as_of=DEMO_AS_OF).draft_path


def publish(ws: Path, path: Path) -> str:
    result = runner.invoke(app, ["publish", str(path), "--home", str(ws)])
    assert result.exit_code == 0, result.output
    return result.output


def head(text: str) -> dict:
    meta, _ = site.front_matter(text)
    assert meta, text[:300]
    return meta


# ---- front matter and provenance --------------------------------------------------------------------
@pytest.mark.parametrize("style", ["hugo", "hexo", "jekyll"])
def test_publish_flips_the_front_matter_and_leaves_the_draft_as_the_record(ws, style):
    configure(ws, front_matter=style)
    draft = redraft(ws)
    before = draft.read_text(encoding="utf-8")
    key, unpublished, published = FLAG[style]
    assert head(before)[key] is unpublished

    output = publish(ws, draft)
    copy = ws / "published" / "issue-1.md"
    assert f"wrote {copy}" in output
    text = copy.read_text(encoding="utf-8")
    meta = head(text)
    assert meta[key] is published
    assert meta["title"] == head(before)["title"]  # everything else in the front matter as it was
    assert text.count("\n---\n") == 1 and text.startswith("---\n")
    # The draft stays what curator reads back: unchanged, still unpublished, comments and all.
    assert draft.read_text(encoding="utf-8") == before
    assert "<!-- curator " in before


def test_flip_touches_only_the_leading_front_matter():
    text = "---\ntitle: x\ndraft: true  # until review\n---\n\ndraft: true\npublished: false\n"
    out = site.flip_front_matter(text)
    assert out == "---\ntitle: x\ndraft: false # until review\n---\n\ndraft: true\npublished: false\n"
    assert site.flip_front_matter("# no front matter\ndraft: true\n") == "# no front matter\ndraft: true\n"
    assert site.flip_front_matter("---\nlayout: post\npublished: False\n---\n") == "---\nlayout: post\npublished: true\n---\n"


@pytest.mark.parametrize("keep", [False, True])
def test_published_copy_drops_provenance_unless_kept(ws, keep):
    if keep:
        configure(ws, keep_provenance=True)
    draft = ws / "drafts" / "issue-1.md"
    before = draft.read_text(encoding="utf-8")
    comments = re.findall(r"<!-- curator .*?-->", before, re.DOTALL)
    assert comments and any("cost_usd=" in c for c in comments)
    publish(ws, draft)
    text = (ws / "published" / "issue-1.md").read_text(encoding="utf-8")
    if keep:
        assert re.findall(r"<!-- curator .*?-->", text, re.DOTALL) == comments
    else:
        assert "<!--" not in text and "cost_usd" not in text and "\n\n\n" not in text
        # Every story is still there, only the comment lines went.
        assert text.replace("\n", "") == re.sub(r"<!-- curator .*?-->", "", before, flags=re.DOTALL).replace(
            "\n", "").replace("draft: true", "draft: false")
    assert draft.read_text(encoding="utf-8") == before


def test_a_provenance_comment_shown_in_fenced_code_stays():
    text = "---\ndraft: true\n---\n\n<!-- curator story=\"1\" -->\n**A**：b\n\n```md\n<!-- curator story=\"9\" -->\n```\n"
    out = site.published_text(text)
    assert out == "---\ndraft: false\n---\n\n**A**：b\n\n```md\n<!-- curator story=\"9\" -->\n```\n"


# ---- file-name patterns ---------------------------------------------------------------------------
def test_jekyll_post_name_from_the_edited_title_and_a_pattern_for_drafts(ws):
    configure(ws, front_matter="jekyll", draft_path="_drafts/issue-{n}.md", published_path="_posts/{date}-{slug}.md")
    draft = redraft(ws)
    assert draft == (ws / "_drafts" / "issue-1.md").resolve() and draft.with_suffix(".json").is_file()
    text = draft.read_text(encoding="utf-8")
    text = re.sub(r'^title: ".*"$', 'title: "Rust 周报：Tokio 1.50 发布"', text, count=1, flags=re.MULTILINE)
    draft.write_text(text, encoding="utf-8")
    publish(ws, draft)
    post = ws / "_posts" / "2026-11-23-rust-tokio-1-50.md"
    assert post.is_file(), sorted(p.name for p in (ws / "_posts").iterdir())
    assert head(post.read_text(encoding="utf-8"))["published"] is True


def test_hugo_pattern_and_a_title_without_ascii_falls_back_to_the_issue_number(ws):
    configure(ws, published_path="content/posts/{n}.md")
    publish(ws, ws / "drafts" / "issue-1.md")
    assert (ws / "content" / "posts" / "1.md").is_file()
    day = DEMO_AS_OF.date()
    assert sitepaths.fill(ws, "p/{slug}.md", "k", number=3, day=day, title="本周：大模型") == (ws / "p/issue-3.md").resolve()
    assert sitepaths.slugify("In The Loop 科技周刊 #1：Rust") == "in-the-loop-1-rust"


@pytest.mark.parametrize(("pattern", "words"), [
    ("../site/_posts/{n}.md", "'..'"),
    ("/srv/site/content/{n}.md", "absolute"),
    ("content/posts/{title}.md", "{title}"),
    ("content/posts/", "folder"),
])
def test_a_path_outside_the_workspace_is_a_config_error(ws, pattern, words):
    configure(ws, published_path=pattern)
    with pytest.raises(ConfigError) as err:
        load_settings(ws, env={})
    msg = str(err.value)
    assert "publication.published_path" in msg and words in msg and "zz-site.toml" in msg
    result = runner.invoke(app, ["publish", str(ws / "drafts" / "issue-1.md"), "--home", str(ws)])
    assert result.exit_code != 0 and "publication.published_path" in result.output
    assert not (ws / "published").exists()


@pytest.mark.parametrize(("key", "value", "words"), [
    ("issue_url", "posts/{title}/", "{title}"),
    ("issue_url", "posts/{}/", "{}"),
    ("draft_path", "drafts/{n:%Y}.md", "not a valid pattern"),
    ("feed_path", "/var/www/feed.xml", "absolute"),
    ("base_url", "weekly.example.org", "http(s) URL"),
])
def test_other_site_keys_are_checked_when_config_loads(ws, key, value, words):
    configure(ws, **{key: value})
    with pytest.raises(ConfigError) as err:
        load_settings(ws, env={})
    assert f"publication.{key}" in str(err.value) and words in str(err.value)


def test_a_symlink_out_of_the_workspace_is_refused(ws, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (ws / "site").symlink_to(outside)
    configure(ws, published_path="site/{n}.md")
    result = runner.invoke(app, ["publish", str(ws / "drafts" / "issue-1.md"), "--home", str(ws)])
    assert result.exit_code != 0 and "outside the workspace" in result.output
    assert list(outside.iterdir()) == []
    with Store(load_settings(ws, env={}).db_path) as store:
        assert store.issue(1).state == "draft"  # nothing recorded: it can be published once fixed


def test_publishing_over_the_draft_itself_is_refused(ws):
    configure(ws, published_path="drafts/issue-{n}.md")
    result = runner.invoke(app, ["publish", str(ws / "drafts" / "issue-1.md"), "--home", str(ws)])
    assert result.exit_code != 0 and "the draft itself" in result.output


# ---- file modes ---------------------------------------------------------------------------------------
@pytest.fixture
def umask():
    old = os.umask(0o022)
    os.umask(old)

    def set_(value: int) -> None:
        os.umask(value)

    yield set_
    os.umask(old)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664)])
def test_files_follow_the_umask(ws, umask, mask, mode):
    umask(mask)
    configure(ws, base_url="https://weekly.example.org/")
    draft = redraft(ws)
    publish(ws, draft)
    for path in (draft, draft.with_suffix(".json"), ws / "published" / "issue-1.md", ws / "published" / "feed.xml"):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path


def test_atomic_writes_from_threads_never_change_the_umask(tmp_path, umask):
    umask(0o027)
    paths = [tmp_path / "out" / f"f{i}.md" for i in range(16)]
    threads = [threading.Thread(target=compose.write_atomic, args=(p, "x\n")) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {stat.S_IMODE(p.stat().st_mode) for p in paths} == {0o640}
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")] == []
    probe = os.umask(0o027)
    assert probe == 0o027


# ---- the Atom feed ------------------------------------------------------------------------------------
def drop_half(path: Path) -> int:
    """Delete every other story from an edited draft (they stay in the pool for the next issue)."""
    text = path.read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- curator [^>]*story=\"\d+\"[^>]*-->\n.*?\n", text, re.DOTALL)
    for block in blocks[::2]:
        text = text.replace(block, "")
    path.write_text(text, encoding="utf-8")
    return len(blocks[::2])


def test_feed_lists_each_published_issue_once_and_parses_clean(ws):
    configure(ws, base_url="https://weekly.example.org/", issue_url="posts/{n}/")
    first = ws / "drafts" / "issue-1.md"
    assert drop_half(first) > 0
    publish(ws, first)
    feed_path = ws / "published" / "feed.xml"
    after_first = feed_path.read_bytes()
    assert len(feedparser.parse(after_first).entries) == 1

    second = redraft(ws, number=2)
    assert second.name == "issue-2.md" and "<!-- curator " in second.read_text(encoding="utf-8")
    publish(ws, second)
    raw = feed_path.read_bytes()

    parsed = feedparser.parse(raw)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "In The Loop 科技周刊" and parsed.feed.link == "https://weekly.example.org/"
    entries = parsed.entries
    assert [e.link for e in entries] == ["https://weekly.example.org/posts/2/", "https://weekly.example.org/posts/1/"]
    titles = [head(p.read_text(encoding="utf-8"))["title"] for p in (second, first)]
    assert [e.title for e in entries] == titles
    intro = load_settings(ws, env={}).publication.intro
    for entry, draft in zip(entries, (second, first), strict=True):
        assert entry.updated_parsed[:3] == DEMO_AS_OF.timetuple()[:3]
        assert entry.summary == intro
        html = entry.content[0].value
        assert entry.content[0].type == "text/html" and "<h2>" in html and re.search(r"<sup>\[\d+\]</sup>", html)
        assert "cost_usd" not in html and "curator story" not in html
        kept = re.findall(r"^\*\*(.+?)\*\*：", draft.read_text(encoding="utf-8"), re.MULTILINE)
        assert kept and all(t.replace("\\", "") in html for t in kept[:3])

    # RFC 4287: feed and every entry carry id, title, updated; ids are unique; the first entry is as before.
    root = etree.fromstring(raw)
    for el in (root, *root.iter(f"{ATOM}entry")):
        for tag in ("id", "title", "updated"):
            assert el.find(f"{ATOM}{tag}") is not None and el.find(f"{ATOM}{tag}").text, (el.tag, tag)
    assert root.find(f"{ATOM}author/{ATOM}name").text
    ids = [e.findtext(f"{ATOM}id") for e in root.iter(f"{ATOM}entry")]
    assert len(set(ids)) == 2
    old = etree.fromstring(after_first).find(f"{ATOM}entry")
    assert etree.tostring(old) == etree.tostring(list(root.iter(f"{ATOM}entry"))[1])


def test_feed_without_base_url_has_stable_urn_ids(ws):
    publish(ws, ws / "drafts" / "issue-1.md")
    parsed = feedparser.parse((ws / "published" / "feed.xml").read_bytes())
    assert parsed.bozo == 0 and parsed.feed.id.startswith("urn:uuid:") and parsed.entries[0].id.startswith("urn:uuid:")
    assert "link" not in parsed.entries[0] or not parsed.entries[0].link.startswith("http")


def test_feed_turned_off(ws):
    configure(ws, feed_path="", json_feed_path="")
    output = publish(ws, ws / "drafts" / "issue-1.md")
    assert not (ws / "published" / "feed.xml").exists() and "the feed" not in output
    assert not (ws / "published" / "feed.json").exists()


def test_feed_yaml_front_matter_is_valid_yaml_after_flip(ws):
    publish(ws, ws / "drafts" / "issue-1.md")
    text = (ws / "published" / "issue-1.md").read_text(encoding="utf-8")
    block = text.split("---\n")[1]
    assert yaml.safe_load(block)["draft"] is False
