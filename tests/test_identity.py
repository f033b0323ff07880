"""What a user installs: the distribution's name, its licence, and the README saying both."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_the_license_file_matches_pyproject() -> None:
    assert _project()["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text.splitlines()[0] and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text  # the whole licence, not a pointer to it


def test_the_distribution_name_is_not_the_taken_curator_and_the_readme_installs_it() -> None:
    name = _project()["name"]
    assert name == "curator-weekly"  # `curator` on PyPI belongs to an unrelated project
    assert _project()["scripts"]["curator"] == "curator.cli:main"  # the command stays `curator`
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"pip install {name}" in readme
    for workflow in (ROOT / "examples" / "github-actions").glob("*.yml"):
        assert f'"{name}==' in workflow.read_text(encoding="utf-8"), workflow.name
