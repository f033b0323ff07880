"""Bad config and bad input (RELIABILITY.md rows 46, 47): a config file that is not UTF-8, a negative issue
number, the openai backend without a key, secrets in source URLs, and URLs a person mistyped.

Every failure is a clear message and an exit code (78 config, 2 usage), never a traceback, and nothing is
stored, written or fetched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from curator.cli import app
from curator.store import Store
from tests.raw_socket import RawServer, send_response

ENV = {"CURATOR_FETCH__ALLOWED_HOSTS": json.dumps(["127.0.0.1", "localhost"]), "CURATOR_EXTRACT__WORKERS": "0",
       "CURATOR_FETCH__RESPECT_ROBOTS": "false", "CURATOR_FETCH__RETRIES": "0", "CURATOR_HOME": "",
       "OPENAI_API_KEY": "", "CURATOR_LLM__PROVIDER": "offline"}
FEED = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>One</title><link>https://one.example/a</link></item></channel></rss>")


def cli(*args: Any, **env: str) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args], env={**ENV, **env})


class CountingSite(RawServer):
    """Answers every request with a small feed and counts them (a run must make none)."""

    def __init__(self) -> None:
        super().__init__(lambda path, sock: send_response(sock, "200 OK", {"Content-Type": "application/rss+xml"},
                                                          FEED.encode()))


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def item_urls(workspace: Path) -> list[str]:
    db = workspace / "data" / "curator.db"
    if not db.exists():
        return []
    with Store(db) as store:
        return [i.url for i in store.items()]


# -- config that is not UTF-8 --------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gb18030", "utf-16", "latin-1"])
@pytest.mark.parametrize("command", ["collect", "status", "draft"])
def test_a_config_file_that_is_not_utf8_is_a_clear_config_error(workspace, encoding, command):
    name = "Café" if encoding == "latin-1" else "我们的博客"
    (workspace / "config" / "sources.toml").write_bytes(
        f'# sources\n[[sources]]\nname = "{name}"\nurl = "https://blog.example/feed"\n'.encode(encoding))
    result = cli(command, "--home", workspace)
    assert result.exit_code == 78, result.output
    assert "sources.toml" in result.output and "not UTF-8" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert files_under(workspace / "drafts") == []


# -- draft --number ------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["-5", "0", "-1"])
def test_a_non_positive_issue_number_is_a_usage_error_and_nothing_is_written(workspace, number):
    result = cli("draft", "--home", workspace, "--number", number)
    assert result.exit_code == 2, result.output
    assert "--number" in result.output
    assert files_under(workspace / "drafts") == [] and not (workspace / "data").exists()


# -- the openai backend without a key --------------------------------------------------------------------


def test_openai_without_a_key_fails_collect_before_any_request(workspace):
    with CountingSite() as site:
        (workspace / "config" / "sources.toml").write_text(
            f'[[sources]]\nname = "s"\nurl = "{site.origin}/feed.xml"\n', encoding="utf-8")
        result = cli("collect", "--home", workspace, CURATOR_LLM__PROVIDER="openai")
        assert site.connections == 0
    assert result.exit_code == 78, result.output
    assert "OPENAI_API_KEY" in result.output and "Traceback" not in result.output
    assert item_urls(workspace) == []


def test_openai_without_a_key_fails_add_before_anything_is_stored_or_fetched(workspace):
    with CountingSite() as site:
        result = cli("add", f"{site.origin}/page", "--home", workspace, "--provider", "openai")
        assert site.connections == 0
    assert result.exit_code == 78, result.output
    assert "OPENAI_API_KEY" in result.output
    assert item_urls(workspace) == []


# -- secrets in source URLs ------------------------------------------------------------------------------

PASSWORD = "pw-hostile-config-91c2"
TOKEN = "tok-hostile-config-5d7e"


def test_source_url_secrets_never_reach_the_log_or_the_database(workspace):
    def respond(path: str, sock: Any) -> None:
        if path.startswith("/moved"):  # redirects to a URL carrying the token, then serves a non-feed
            send_response(sock, "302 Found", {"Location": f"/landing?token={TOKEN}&page=2"})
        elif path.startswith("/landing"):
            send_response(sock, "200 OK", {"Content-Type": "text/html"}, b"<html><body>not a feed</body></html>")
        else:
            send_response(sock, "200 OK", {"Content-Type": "application/rss+xml"}, FEED.encode())

    with RawServer(respond) as site:
        host = site.origin.split("//", 1)[1]
        (workspace / "config" / "sources.toml").write_text(
            f'[[sources]]\nname = "pw"\nurl = "http://editor:{PASSWORD}@{host}/feed.xml?token={TOKEN}"\n'
            f'[[sources]]\nname = "tok"\nurl = "http://{host}/feed.xml?token={TOKEN}&format=rss"\n'
            f'[[sources]]\nname = "moved"\nurl = "http://{host}/moved?token={TOKEN}"\n', encoding="utf-8")
        result = cli("-v", "collect", "--home", workspace)
    assert result.exit_code == 0, result.output
    assert "source moved failed" in result.output  # the log was written, and says which source
    assert PASSWORD not in result.output and TOKEN not in result.output
    for path in files_under(workspace / "data"):
        data = path.read_bytes()
        assert PASSWORD.encode() not in data and TOKEN.encode() not in data, path
    with Store(workspace / "data" / "curator.db") as store:
        health = {r.name: (r.url, r.last_error) for r in store.source_health()}
    assert health["pw"][1] == "credentials_in_url" and health["moved"][1] == "not_a_feed"
    assert health["tok"][0].startswith(f"http://{host}/feed.xml?token=…&format=…#sha256:")


def test_sources_add_refuses_a_url_with_a_password_without_echoing_it(workspace):
    result = cli("sources", "add", f"https://editor:{PASSWORD}@blog.example/feed", "--home", workspace)
    assert result.exit_code == 2, result.output
    assert "password" in result.output and PASSWORD not in result.output
    assert not (workspace / "config" / "sources.toml").exists()


# -- URLs a person mistyped ------------------------------------------------------------------------------

BAD_URLS = {
    "space in host": "http://exa mple.org/",
    "control character": "http://exa\x01mple.org/",
    "escape in host": "http://%zz/",
    "bad escape in path": "https://example.org/a%zzb",
    "ideographic space": "https://example.org/\u3000x",
    "tab": "https://example.org/a\tb",
    "credentials": f"https://editor:{PASSWORD}@example.org/",
    "javascript": "javascript:alert(document.cookie)",
    "no host": "http:///path",
    "bad label": "https://-bad-.example/",
    "port out of range": "https://example.org:70000/",
}


@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_curator_add_refuses_a_malformed_url_and_stores_nothing(workspace, url):
    result = cli("add", url, "--home", workspace)
    assert result.exit_code == 2, result.output
    assert "cannot add this URL" in result.output and "Traceback" not in result.output
    assert PASSWORD not in result.output
    assert item_urls(workspace) == []


@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_sources_add_refuses_a_malformed_url_and_writes_nothing(workspace, url):
    result = cli("sources", "add", url, "--home", workspace)
    assert result.exit_code == 2, result.output
    assert "cannot add this source" in result.output and PASSWORD not in result.output
    assert not (workspace / "config" / "sources.toml").exists()


def test_a_well_formed_url_is_still_added(workspace):
    result = cli("add", "  https://例子.example/路径?q=%E4%BD%A0  ", "--home", workspace, "--no-process")
    assert result.exit_code == 0, result.output
    assert item_urls(workspace) == ["https://例子.example/路径?q=%E4%BD%A0"]


# -- every part of the config is checked before any network I/O ----------------------------------------


@pytest.mark.parametrize("bad", {
    "unknown kind": 'kind = "no-such-kind"\nurl = "{origin}/feed.xml"',
    "space in url": 'url = "http://exa mple.org/feed"',
    "port out of range": 'url = "http://example.org:99999/feed"',
    "no host": 'url = "http:///feed"',
}.values(), ids=["unknown kind", "space in url", "port out of range", "no host"])
def test_a_bad_source_is_a_config_error_before_any_request_or_run(workspace, bad):
    with CountingSite() as site:
        (workspace / "config" / "sources.toml").write_text(
            f'[[sources]]\nname = "good"\nurl = "{site.origin}/feed.xml"\n'
            f'[[sources]]\nname = "bad"\n{bad.format(origin=site.origin)}\n', encoding="utf-8")
        result = cli("collect", "--home", workspace)
        assert site.connections == 0  # the good source was not read either: the run never started
    assert result.exit_code == 78, result.output
    assert "sources[bad]" in result.output and "Traceback" not in result.output
    assert not (workspace / "data" / "curator.db").exists()  # no run row, no database


@pytest.mark.parametrize("url", ["http://exa mple.org/", "http://%zz/", "javascript:alert(1)"])
def test_curator_add_with_a_bad_url_leaves_no_database_behind(workspace, url):
    result = cli("add", url, "--home", workspace)
    assert result.exit_code == 2, result.output
    assert not (workspace / "data").exists() or files_under(workspace / "data") == []


# -- odd --home and config values -------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["collect", "status", "draft"])
def test_a_home_that_is_a_file_or_missing_is_a_config_error_and_nothing_is_created(tmp_path, command):
    (tmp_path / "afile").write_text("not a folder")
    for home, says in ((tmp_path / "afile", "is a file"), (tmp_path / "missing", "no such folder")):
        result = cli(command, "--home", home)
        assert result.exit_code == 78, result.output
        assert says in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


@pytest.mark.parametrize("setting", ["[run]\nmax_age_days = 99999999999999999999", "[run]\ndeadline_s = 1e300",
                                     "[llm]\nmax_input_chars = 123456789012345678901234567890",
                                     "[extract]\nworker_max_mb = 99999999999"])
def test_a_huge_number_in_the_config_is_a_config_error_before_any_request(workspace, setting):
    with CountingSite() as site:
        (workspace / "config" / "sources.toml").write_text(
            f'[[sources]]\nname = "s"\nurl = "{site.origin}/feed.xml"\n', encoding="utf-8")
        (workspace / "config" / "zzz-probe.toml").write_text(setting + "\n", encoding="utf-8")  # read last
        result = cli("collect", "--home", workspace)
        assert site.connections == 0
    assert result.exit_code == 78, result.output
    assert setting.split("\n")[1].split(" =")[0] in result.output and "Traceback" not in result.output


def test_a_config_file_with_a_nul_byte_is_a_config_error(workspace):
    (workspace / "config" / "sources.toml").write_bytes(b'[run]\nmax_age_days = 1\x00\n')
    result = cli("status", "--home", workspace)
    assert result.exit_code == 78, result.output
    assert "sources.toml" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("args", [["draft", "--number", "9" * 30], ["review", "--port", "99999", "--no-open"],
                                  ["lint", "--window-days", "9" * 30, "x.md"]])
def test_a_huge_number_on_the_command_line_is_a_usage_error(workspace, args):
    result = cli(*args, "--home", workspace)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "OverflowError" not in result.output
    assert files_under(workspace / "drafts") == []
