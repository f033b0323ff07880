"""Front matter that reproduces a real blog's: extra keys from config pass through verbatim."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from curator.compose import Renderer
from curator.errors import ConfigError
from curator.settings import load_settings
from tests.test_templates import sample_issue

HEXO_GARDEN = """
[publication]
template = "footnotes"
front_matter = "hexo"

[publication.front_matter_extra]
type = "garden"
categories = ["周刊", "garden"]
comments = false
"""


def _draft(tmp_path: Path, toml: str) -> str:
    cfg = tmp_path / "curator.toml"
    cfg.write_text(toml, encoding="utf-8")
    settings = load_settings(tmp_path, config_files=[cfg])
    return Renderer(settings).render(sample_issue())


def _front(text: str) -> dict:  # type: ignore[type-arg]
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def test_hexo_extra_keys_pass_through_verbatim(tmp_path: Path) -> None:
    text = _draft(tmp_path, HEXO_GARDEN)
    fm = _front(text)
    assert fm["type"] == "garden"  # not folded into categories
    assert fm["categories"] == ["周刊", "garden"]  # the config's key replaces the built-in line
    assert fm["comments"] is False
    assert fm["published"] is False and fm["title"]  # the built-in keys stay
    head = text.split("---\n", 2)[1]
    assert head.count("categories:") == 1
    assert "type: garden" in head


def test_without_extra_the_front_matter_is_unchanged(tmp_path: Path) -> None:
    fm = _front(_draft(tmp_path, '[publication]\nfront_matter = "hexo"\ntype = "garden"\n'))
    assert fm["categories"] == ["garden"] and "type" not in fm


def test_a_key_yaml_cannot_hold_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="front_matter_extra"):
        _draft(tmp_path, '[publication.front_matter_extra]\n"bad key: x" = 1\n')
