"""Shared fixtures: a workspace with the default config, the demo corpus server, the fake LLM."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An initialised curator workspace (config + prompts copied from the repo, no sources)."""
    (tmp_path / "config").mkdir()
    shutil.copyfile(REPO / "config" / "curator.toml", tmp_path / "config" / "curator.toml")
    shutil.copytree(REPO / "prompts", tmp_path / "prompts")
    return tmp_path


@pytest.fixture
def fake_llm():
    from tests.fake_openai import FakeOpenAI

    with FakeOpenAI() as fake:
        yield fake
