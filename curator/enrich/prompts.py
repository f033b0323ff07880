"""Prompt files (`prompts/<task>.md`): loaded once, rendered strictly (a missing variable is an error)."""

from __future__ import annotations

import hashlib

import jinja2

from curator.errors import ConfigError
from curator.settings import Settings, defaults_dir

LANGUAGE_NAMES = {"zh-Hans": "简体中文", "zh-Hant": "繁体中文", "zh": "中文", "en": "English", "ja": "日本語"}


def load_prompt(settings: Settings, name: str) -> tuple[jinja2.Template, str]:
    """The prompt's template and the sha256 of its source (part of every cache key and call record)."""
    path = settings.prompts_dir / f"{name}.md"
    if not path.exists():  # a workspace made before this prompt existed uses the bundled one
        path = defaults_dir() / "prompts" / f"{name}.md"
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"prompt file {path} cannot be read ({exc.strerror}); run `curator init` to restore it") from exc
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
                             trim_blocks=True)
    try:
        template = env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"prompt file {path}: template error on line {exc.lineno}: {exc.message}") from exc
    return template, hashlib.sha256(source.encode()).hexdigest()
