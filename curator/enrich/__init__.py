"""Enrichment: one interface, two backends (`openai` for any OpenAI-compatible endpoint, `offline`).

    backend.enrich(EnrichRequest) -> Enrichment        raises LLMError (reason, retryable)

`choose_backend` resolves `llm.provider = "auto"`: openai when an API key is set, else offline, and
says which in the run notes.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

from curator.models import Enrichment, EnrichRequest
from curator.settings import Settings


class Backend(Protocol):
    name: str
    model: str
    prompt_sha: str

    def enrich(self, req: EnrichRequest) -> Enrichment: ...


def content_hash(title: str, text: str) -> str:
    return hashlib.sha256(f"{title}\n\n{text}".encode()).hexdigest()


def choose_backend(settings: Settings, budgets: list[Any] | None = None) -> tuple[Backend, str]:
    """The backend to use and a note for the run summary."""
    provider = settings.llm.provider
    if provider == "auto":
        provider = "openai" if settings.llm.api_key is not None else "offline"
        why = "OPENAI_API_KEY is set" if provider == "openai" else "no OPENAI_API_KEY"
    else:
        why = "llm.provider"
    if provider == "openai":
        from curator.enrich.llm import OpenAIBackend

        backend: Backend = OpenAIBackend(settings, budgets=budgets)
        return backend, f"enrichment: openai-compatible model {settings.llm.model} ({why})"
    from curator.enrich.offline import OfflineBackend

    return OfflineBackend(settings), f"enrichment ran OFFLINE: extractive summaries, keyword tags ({why})"
