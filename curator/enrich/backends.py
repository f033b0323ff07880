"""The enrichment backend contract: what the stage (enrich/stage.py) and section prose (prose.py) may ask.

    backend.enrich(EnrichRequest) -> Enrichment                 raises LLMError (reason, retryable)
    backend.triage([EnrichRequest]) -> [TriageVerdict]          one cheap batched call (when `triages`)
    backend.complete(messages, state, schema, prompt_sha) -> str   one call with a schema (when `writes_prose`)
    backend.drain_calls() -> [CallRecord]                       every call made since, for the call log

What differs between backends is stated as traits, so no caller tests a backend's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from curator.models import Enrichment, EnrichRequest


@dataclass
class CallRecord:
    """One model call, as the call log stores it (addressed by prompt, schema and model)."""

    item_id: int | None
    prompt_sha: str
    schema_hash: str
    model: str
    input_tokens: int
    output_tokens: int
    latency_ms: int
    outcome: str
    cost_usd: float = 0.0


@dataclass
class Attempt:
    """The calls of one piece of work (an item, a section), its re-asks included: what to send, what it cost."""

    max_chars: int = 0  # of article text the prompt may carry (halved after a cut-off answer)
    feedback: list[dict[str, str]] = field(default_factory=list)  # the re-ask: the answer and what was wrong
    usage: list[int] = field(default_factory=lambda: [0, 0])  # input, output tokens
    cost: float = 0.0


class TriageVerdict(BaseModel):
    """Triage's score (0-100) and section guess for one item ("" when the guess is not a configured section),
    and the English translation of a non-English title ("" when none, or none that passed the checks)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    item_id: int
    score: int
    section: str
    title_en: str = ""


class Backend(Protocol):
    name: str  # recorded with each enrichment: "openai" | "offline"
    model: str  # "" when no model answers
    prompt_sha: str  # of the summarise prompt: with the content and model, the cache key
    triage_sha: str
    # Traits. A model's answers are paid for: cached by (content, prompt, model) and asked in parallel; a
    # backend without a model is free, deterministic and instant.
    caches_answers: bool
    triages: bool  # a cheap batched triage before the full pass is worth a call
    writes_prose: bool  # can write a section as prose (`complete` with a schema)
    workers: int  # enrichments in flight at once

    def enrich(self, req: EnrichRequest) -> Enrichment: ...

    def triage(self, reqs: list[EnrichRequest]) -> list[TriageVerdict]: ...

    def complete(self, messages: list[dict[str, str]], state: Attempt, schema: type[BaseModel], prompt_sha: str) -> str: ...

    def schema_note(self, schema: type[BaseModel]) -> str: ...

    def drain_calls(self) -> list[CallRecord]: ...


def endpoint(base_url: str | None) -> str:
    """An LLM endpoint as a message names it: host and port only (no credentials, path or query)."""
    parts = urlsplit(base_url or "https://api.openai.com/v1")
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.hostname or '?'}{port}"
