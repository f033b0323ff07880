"""Which enrichment backend a run uses: `llm.provider`, where "auto" means openai when an API key is set."""

from __future__ import annotations

from curator.enrich.backends import Backend
from curator.enrich.limits import Budget
from curator.settings import Settings


def choose_backend(settings: Settings, budgets: list[Budget] | None = None) -> tuple[Backend, str]:
    """The backend to use and a note for the run summary."""
    provider = settings.llm.provider
    if provider == "auto":
        provider = "openai" if settings.llm.api_key is not None else "offline"
        why = "OPENAI_API_KEY is set" if provider == "openai" else "no OPENAI_API_KEY"
    else:
        why = "llm.provider"
    if provider == "openai":
        from curator.enrich.openai import OpenAIBackend  # only a run that talks to a model imports the SDK

        backend: Backend = OpenAIBackend(settings, budgets=budgets)
        return backend, f"enrichment: openai-compatible model {settings.llm.model} ({why})"
    from curator.enrich.offline import OfflineBackend

    return OfflineBackend(settings, pooled=True), f"enrichment ran OFFLINE: extractive summaries, keyword tags ({why})"
