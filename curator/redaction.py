"""Secret redaction: configured secrets never reach what curator writes (store, cache, drafts).

    settings ─► configured_secrets() ─► Redactor ─► .text(str) / .model(pydantic model)

A model answer can echo the API key it was called with, and a page can quote a token that sits in a
source URL. The enrichment stage passes every answer through `Redactor.model` before the cache, the
enrichments table or the call log is written, and the composer passes the finished draft and its
review data through `Redactor.text` as a last line of defence.
"""

from __future__ import annotations

import re
from typing import TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import BaseModel

from curator.settings import Settings

__all__ = ["MASK", "Redactor", "configured_secrets"]

MASK = "〔已隐去〕"
# Shorter values (a password "1234") would blank ordinary words and numbers all over a draft.
MIN_SECRET_CHARS = 6
_SECRET_KEY = re.compile(r"token|key|secret|pass(word|wd)?|pwd|auth|sig(nature)?|credential|session", re.IGNORECASE)

M = TypeVar("M", bound=BaseModel)


def _url_secrets(url: str | None) -> list[str]:
    if not url:
        return []
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    found = [password, unquote(password)] if password else []
    found += [v for k, v in parse_qsl(parts.query, keep_blank_values=False) if _SECRET_KEY.search(k)]
    return found


def configured_secrets(settings: Settings) -> list[str]:
    """The LLM key and every password or token-like query value in the configured URLs."""
    found: list[str] = []
    if settings.llm.api_key is not None:
        found.append(settings.llm.api_key.get_secret_value())
    found += _url_secrets(settings.llm.base_url)
    for src in settings.sources:
        found += _url_secrets(src.url)
    found += _url_secrets(settings.celery.broker_url) + _url_secrets(settings.celery.result_backend)
    # Longest first, so a secret that contains another is masked whole.
    return sorted({s.strip() for s in found if len(s.strip()) >= MIN_SECRET_CHARS}, key=lambda s: (-len(s), s))


class Redactor:
    """Masks each configured secret wherever it appears (also percent-encoded or JSON-escaped)."""

    def __init__(self, secrets: list[str]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            forms.update({secret, re.sub(r"[^A-Za-z0-9_.~-]", lambda m: f"%{ord(m[0]):02X}", secret),
                          secret.replace("\\", "\\\\").replace('"', '\\"')})
        ordered = sorted((f for f in forms if f), key=lambda s: (-len(s), s))
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    @classmethod
    def for_settings(cls, settings: Settings) -> Redactor:
        return cls(configured_secrets(settings))

    def text(self, value: str) -> str:
        return self._pattern.sub(MASK, value) if self._pattern is not None and value else value

    def found_in(self, value: str) -> bool:
        return self._pattern is not None and bool(self._pattern.search(value))

    def model(self, obj: M) -> M:
        """A copy of `obj` with every string field (nested lists and models too) redacted."""
        if self._pattern is None:
            return obj
        return type(obj).model_validate(self._walk(obj.model_dump()))

    def _walk(self, value: object) -> object:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self._walk(v) for v in value]
        if isinstance(value, dict):
            return {k: self._walk(v) for k, v in value.items()}
        return value
