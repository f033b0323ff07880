"""The README's command list names every command `curator --help` lists (and every sources command)."""

from __future__ import annotations

import re
from pathlib import Path

from typer.main import get_command

from curator.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _names(group: object) -> list[str]:
    return sorted(getattr(group, "commands", {}))


def test_every_command_is_in_the_readme():
    root = get_command(app)
    missing = [name for name in _names(root) if not re.search(rf"curator {re.escape(name)}\b", README)]
    assert missing == []


def test_every_sources_command_is_in_the_readme():
    sources = getattr(get_command(app), "commands", {})["sources"]
    missing = [name for name in _names(sources) if not re.search(rf"sources {re.escape(name)}\b", README)]
    assert missing == []


def test_every_command_has_help_text():
    root = get_command(app)
    groups = [root, *(c for c in getattr(root, "commands", {}).values() if hasattr(c, "commands"))]
    bare = [f"{g.name} {name}" for g in groups for name, c in g.commands.items()
            if not (c.help or "").strip()]
    assert bare == []


def _readme_command_block() -> str:
    start = README.index("```sh\n.venv/bin/curator init")
    return README[start:README.index("```\n", start + 5)]


def test_the_readme_command_list_follows_curator_help():
    """The quick-start block names the commands in the order `curator --help` lists them, and every
    sources command."""
    from typer.testing import CliRunner

    help_text = CliRunner().invoke(app, ["--help"]).stdout
    listed = re.findall(r"^  (\w[\w-]*)\s", help_text.split("Commands:", 1)[1], re.MULTILINE)
    block = _readme_command_block()
    order = list(dict.fromkeys(re.findall(r"curator (\w[\w-]*)", block)))
    assert order == listed
    sources = getattr(get_command(app), "commands", {})["sources"]
    assert [n for n in _names(sources) if not re.search(rf"sources {re.escape(n)}\b", block)] == []
