"""The `openai` enrichment backend: any OpenAI-compatible endpoint (the only module that knows openai).

Retry owners: the SDK retries 429/5xx/connection errors (`max_retries` set explicitly, Retry-After
honoured by the SDK); what the answer must be, and the one re-ask, are provider-neutral (validate.py).
Each call reserves its estimated cost against the budgets, waits for the rate limiter, runs under one
overall deadline (transport.py) and is recorded for the call log, whatever its outcome.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from typing import cast

import jinja2
import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONObject, ResponseFormatJSONSchema
from pydantic import BaseModel

from curator.enrich import cleanup, guards
from curator.enrich.backends import Attempt, CallRecord, TriageVerdict, endpoint
from curator.enrich.limits import Budget, RateLimiter, cost_usd, estimate_tokens
from curator.enrich.prompts import LANGUAGE_NAMES, load_prompt
from curator.enrich.schema import LLMEnrichment, TriageResult, schema_hash, strict_json_schema
from curator.enrich.transport import call_deadline, capped_http_client, too_large
from curator.enrich.validate import CutOff, EnrichmentRules, InvalidOutput, enrich_checked, triage_checked
from curator.errors import ConfigError, LLMError, LLMUnavailable
from curator.models import Enrichment, EnrichRequest
from curator.settings import Settings

log = logging.getLogger(__name__)

MAX_OUTPUT_TOKENS_EST = 400


class _Outcome:
    """What one call came to, for its call record: filled as the answer is read."""

    def __init__(self) -> None:
        self.outcome, self.input_tokens, self.output_tokens = "ok", 0, 0


class OpenAIBackend:
    name = "openai"
    caches_answers = True
    triages = True
    writes_prose = True

    def __init__(self, settings: Settings, *, client: openai.OpenAI | None = None,
                 budgets: list[Budget] | None = None) -> None:
        self.settings = settings
        self.model = settings.llm.model
        self.workers = settings.llm.concurrency
        self.template, self.prompt_sha = load_prompt(settings, "summarise")
        self._triage_template, self.triage_sha = load_prompt(settings, "triage")
        self.schema_hash = schema_hash()
        self.rules = EnrichmentRules(settings, backend=self.name, model=self.model, prompt_sha=self.prompt_sha)
        key = settings.llm.api_key.get_secret_value() if settings.llm.api_key else None
        if client is None and not key:
            raise ConfigError("llm.provider is 'openai' but no API key is set: export OPENAI_API_KEY")
        self.client = client or openai.OpenAI(
            api_key=key,
            base_url=settings.llm.base_url,
            max_retries=settings.llm.max_retries,
            timeout=settings.llm.timeout_s,
            http_client=capped_http_client(),  # answers are read with a size cap (enrich/transport.py)
        )
        self.price = settings.llm.price()
        self.limiter = RateLimiter(settings.llm.rpm, settings.llm.tpm)
        self.budgets = budgets or []
        self._calls: list[CallRecord] = []
        self._lock = threading.Lock()

    def drain_calls(self) -> list[CallRecord]:
        with self._lock:
            calls, self._calls = self._calls, []
        return calls

    # ---- one item ------------------------------------------------------------------------
    def render(self, req: EnrichRequest, delimiter: str, max_chars: int) -> str:
        pub = self.settings.publication
        # The model reads prose, not the source's Markdown, scaffolding, [1] markers or page chrome.
        text = cleanup.clean_for_summary(req.text, req.title).text or req.text
        clean = guards.strip_zero_width(text).replace(delimiter, "")
        body = clean[:max_chars]
        if len(clean) > max_chars:
            body += "\n[正文过长，已截断]"
        try:
            prompt = self.template.render(
                publication=pub,
                language_name=LANGUAGE_NAMES.get(pub.language, pub.language),
                profile=self.settings.profile,
                tags=self.settings.tag_ids(),
                sections=self.settings.sections,
                source=req.source,
                url=req.url,
                title=req.title.replace(delimiter, ""),
                text=body,
                delimiter=delimiter,
            )
        except jinja2.UndefinedError as exc:
            raise ConfigError(f"prompt 'summarise' uses an unknown variable: {exc.message}") from exc
        return prompt + self.schema_note(LLMEnrichment)

    def schema_note(self, schema: type[BaseModel]) -> str:
        if self.settings.llm.response_format == "json_schema":
            return ""
        # json_object mode: the provider cannot enforce a schema, so the prompt states it.
        return "\n\n按下面的 JSON Schema 返回一个 JSON 对象：\n" + json.dumps(strict_json_schema(schema), ensure_ascii=False)

    def enrich(self, req: EnrichRequest) -> Enrichment:
        return enrich_checked(
            req, self.rules, self.settings.llm.max_input_chars,
            render=lambda delimiter, max_chars: self.render(req, delimiter, max_chars),
            call=lambda messages, state: self._call(req.item_id, messages, state),
        )

    def complete(self, messages: list[dict[str, str]], state: Attempt, schema: type[BaseModel], prompt_sha: str) -> str:
        """One call answering with `schema` (section prose), not tied to an item."""
        return self._call(None, messages, state, schema, prompt_sha)

    # ---- one HTTP call -------------------------------------------------------------------
    def _call(self, item_id: int | None, messages: list[dict[str, str]], state: Attempt,
              schema_model: type[BaseModel] = LLMEnrichment, prompt_sha: str | None = None) -> str:
        est_in = estimate_tokens("".join(m["content"] for m in messages))
        est_cost = cost_usd(self.price, est_in, MAX_OUTPUT_TOKENS_EST)
        for budget in self.budgets:
            budget.reserve(est_cost)
        self.limiter.acquire(est_in + MAX_OUTPUT_TOKENS_EST)
        started = time.monotonic()
        seen = _Outcome()
        try:
            with call_deadline(self.settings.llm.timeout_s):  # the whole call, not each read (RELIABILITY row 31)
                resp = self.client.chat.completions.create(
                    model=self.model,
                    messages=cast(list[ChatCompletionMessageParam], messages),
                    temperature=self.settings.llm.temperature,
                    response_format=self._response_format(schema_model),
                )
            return _content(resp, seen)
        except (openai.APIStatusError, openai.APIConnectionError) as exc:
            error = _llm_error(exc, endpoint(self.settings.llm.base_url), self.model)
            seen.outcome = error.reason
            raise error from exc
        finally:
            actual = cost_usd(self.price, seen.input_tokens, seen.output_tokens) \
                if seen.input_tokens or seen.output_tokens else 0.0
            for budget in self.budgets:
                budget.settle(est_cost, actual)
            state.usage[0] += seen.input_tokens
            state.usage[1] += seen.output_tokens
            state.cost += actual
            with self._lock:
                self._calls.append(CallRecord(
                    item_id, prompt_sha or self.prompt_sha, schema_hash(schema_model), self.model, seen.input_tokens,
                    seen.output_tokens, int((time.monotonic() - started) * 1000), seen.outcome, actual,
                ))

    def _response_format(self, model: type[BaseModel]) -> ResponseFormatJSONSchema | ResponseFormatJSONObject:
        if self.settings.llm.response_format == "json_schema":
            return {
                "type": "json_schema",
                "json_schema": {"name": model.__name__.lower(), "schema": strict_json_schema(model), "strict": True},
            }
        return {"type": "json_object"}

    # ---- triage: many items, one cheap call ----------------------------------------------
    def triage(self, reqs: list[EnrichRequest]) -> list[TriageVerdict]:
        """Scores (0-100) and a section guess for titles + snippets, in one call. Items the model
        left out are absent from the answer (the caller sends them to the full pass)."""
        delimiter = f"<<<{secrets.token_hex(8)}>>>"
        cands = [{"id": r.item_id, "title": r.title.replace(delimiter, "")[:200],
                  "snippet": guards.strip_zero_width(r.text).replace(delimiter, "")[:200].replace("\n", " ")}
                 for r in reqs]
        prompt = self._triage_template.render(
            publication=self.settings.publication, profile=self.settings.profile, sections=self.settings.sections,
            candidates=cands, delimiter=delimiter,
        ) + self.schema_note(TriageResult)
        def call(feedback: list[dict[str, str]], state: Attempt) -> str:
            messages = [{"role": "user", "content": prompt}, *feedback]
            return self._call(None, messages, state, TriageResult, self.triage_sha)

        try:
            result = triage_checked(reqs, call)
        except InvalidOutput as exc:
            raise LLMError(f"triage answer invalid: {exc}", reason="llm_invalid", retryable=True) from exc
        wanted = {r.item_id for r in reqs}
        sections = set(self.settings.section_ids())
        verdicts = {s.id: TriageVerdict(item_id=s.id, score=s.score, section=s.section if s.section in sections else "",
                                        title_en=s.title_en.strip())
                    for s in result.items if s.id in wanted}
        return list(verdicts.values())  # one per item: a repeated id keeps its last answer, as a dict would


def _content(resp: ChatCompletion, seen: _Outcome) -> str:
    """The answer's text, or the exception its finish says (cut off, filtered, refused, empty)."""
    if resp.usage is not None:
        seen.input_tokens, seen.output_tokens = resp.usage.prompt_tokens or 0, resp.usage.completion_tokens or 0
    if not resp.choices:
        seen.outcome = "llm_empty"
        raise InvalidOutput("no choices in the answer")
    choice = resp.choices[0]
    if choice.finish_reason == "length":
        seen.outcome = "llm_length"
        raise CutOff()
    if choice.finish_reason == "content_filter":
        seen.outcome = "llm_filtered"
        raise LLMError("answer blocked by the provider's content filter", reason="llm_filtered")
    if getattr(choice.message, "refusal", None):
        seen.outcome = "llm_refusal"
        raise LLMError("the model refused", reason="llm_refusal")
    return choice.message.content or ""


def _unavailable(host: str, model: str, what: str, todo: str, reason: str) -> LLMUnavailable:
    return LLMUnavailable(f"the LLM endpoint {host} (model {model}) {what}: {todo}, or run with "
                          "`--provider offline`", reason=reason)


def _llm_error(exc: openai.APIStatusError | openai.APIConnectionError, host: str, model: str) -> LLMError:
    """The SDK's error (after its own retries) as curator's: the reason is also the call's outcome. A fault
    no item is to blame for (key, model, quota, address) is LLMUnavailable: it ends the run, items wait."""
    if isinstance(exc, openai.APITimeoutError):
        return LLMError("LLM call timed out", reason="llm_timeout", retryable=True)
    if isinstance(exc, openai.RateLimitError):
        if "insufficient_quota" in (str(exc.code), str(getattr(exc, "type", ""))):
            return _unavailable(host, model, "says the account's quota is used up (HTTP 429 insufficient_quota)",
                                "add credit or raise the quota with the provider, or use another key", "llm_quota")
        return LLMError("LLM rate limit persisted after retries", reason="llm_rate_limited", retryable=True)
    if isinstance(exc, openai.AuthenticationError):
        return _unavailable(host, model, "rejected the API key (HTTP 401)",
                            "fix OPENAI_API_KEY (llm.api_key) for this endpoint", "llm_auth")
    if isinstance(exc, openai.PermissionDeniedError):
        return _unavailable(host, model, "refused the API key access (HTTP 403)",
                            "use a key allowed to call this model, or fix llm.model", "llm_forbidden")
    if isinstance(exc, openai.NotFoundError):
        return _unavailable(host, model, "answered HTTP 404 (no such model, or a wrong base_url)",
                            "fix llm.model, or llm.base_url / OPENAI_BASE_URL (it usually ends in /v1)",
                            "llm_not_found")
    if isinstance(exc, openai.APIStatusError):
        return LLMError(f"LLM endpoint answered HTTP {exc.status_code}", reason=f"llm_http_{exc.status_code}",
                        retryable=exc.status_code >= 500 or exc.status_code == 429)
    if too_large(exc):
        return LLMError("the LLM endpoint's answer was over the size cap", reason="llm_too_large")
    return _unavailable(host, model, "cannot be reached (connection failed after retries)",
                        "check llm.base_url / OPENAI_BASE_URL and that the server is running", "llm_connect")


__all__ = ["OpenAIBackend"]
