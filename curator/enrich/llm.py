"""The `openai` enrichment backend: any OpenAI-compatible endpoint (the only module that knows openai).

Retry owners: the SDK retries 429/5xx/connection errors (`max_retries` set explicitly); tenacity
retries invalid output once, feeding the validation error back. Nothing else loops.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import jinja2
import openai
from pydantic import ValidationError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from curator import text as textutil
from curator.enrich.schema import LLMEnrichment, schema_hash, strict_json_schema
from curator.errors import ConfigError, LLMError
from curator.models import EnrichRequest, Enrichment
from curator.settings import Settings

log = logging.getLogger(__name__)

LANGUAGE_NAMES = {"zh-Hans": "简体中文", "zh-Hant": "繁体中文", "zh": "中文", "en": "English", "ja": "日本語"}


class InvalidOutput(Exception):
    """The model answered, but not with what the schema and the rules allow."""


@dataclass
class CallRecord:
    item_id: int
    prompt_sha: str
    schema_hash: str
    model: str
    input_tokens: int
    output_tokens: int
    latency_ms: int
    outcome: str


def load_prompt(settings: Settings, name: str) -> tuple[jinja2.Template, str]:
    path = settings.prompts_dir / f"{name}.md"
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"prompt file {path} cannot be read ({exc.strerror}); run `curator init` to restore it") from exc
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)
    try:
        template = env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"prompt file {path}: template error on line {exc.lineno}: {exc.message}") from exc
    return template, hashlib.sha256(source.encode()).hexdigest()


class OpenAIBackend:
    name = "openai"

    def __init__(self, settings: Settings, *, client: openai.OpenAI | None = None) -> None:
        self.settings = settings
        self.model = settings.llm.model
        self.template, self.prompt_sha = load_prompt(settings, "summarise")
        self.schema_hash = schema_hash()
        key = settings.llm.api_key.get_secret_value() if settings.llm.api_key else None
        if client is None and not key:
            raise ConfigError("llm.provider is 'openai' but no API key is set: export OPENAI_API_KEY")
        self.client = client or openai.OpenAI(
            api_key=key,
            base_url=settings.llm.base_url,
            max_retries=settings.llm.max_retries,
            timeout=settings.llm.timeout_s,
        )
        self._calls: list[CallRecord] = []
        self._lock = threading.Lock()

    def drain_calls(self) -> list[CallRecord]:
        with self._lock:
            calls, self._calls = self._calls, []
        return calls

    # ---- one item ------------------------------------------------------------------------
    def render(self, req: EnrichRequest, delimiter: str) -> str:
        pub = self.settings.publication
        body = req.text.replace(delimiter, "")[: self.settings.llm.max_input_chars]
        if len(req.text) > self.settings.llm.max_input_chars:
            body += "\n[正文过长，已截断]"
        try:
            return self.template.render(
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

    def enrich(self, req: EnrichRequest) -> Enrichment:
        delimiter = f"<<<{secrets.token_hex(8)}>>>"
        messages: list[dict[str, str]] = [{"role": "user", "content": self.render(req, delimiter)}]
        usage = [0, 0]
        result: Enrichment | None = None
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(2), retry=retry_if_exception_type(InvalidOutput), reraise=True
            ):
                with attempt:
                    content = self._call(req, messages, usage)
                    try:
                        result = self._validate(req, content)
                    except InvalidOutput as exc:
                        messages = [
                            *messages[:1],
                            {"role": "assistant", "content": content[:4000]},
                            {"role": "user", "content": f"上面的回答不符合要求：{exc}。请只按 JSON 结构重新回答。"},
                        ]
                        raise
        except InvalidOutput as exc:
            raise LLMError(f"model output invalid twice: {exc}", reason="llm_invalid", url=req.url, retryable=True) from exc
        assert result is not None
        return result.model_copy(update={"input_tokens": usage[0], "output_tokens": usage[1]})

    def _call(self, req: EnrichRequest, messages: list[dict[str, str]], usage: list[int]) -> str:
        started = time.monotonic()
        outcome = "ok"
        in_tok = out_tok = 0
        try:
            resp = self.client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                temperature=self.settings.llm.temperature,
                response_format=self._response_format(),  # type: ignore[arg-type]
            )
            if resp.usage is not None:
                in_tok, out_tok = resp.usage.prompt_tokens or 0, resp.usage.completion_tokens or 0
            if not resp.choices:
                outcome = "llm_empty"
                raise InvalidOutput("no choices in the answer")
            choice = resp.choices[0]
            if choice.finish_reason == "length":
                outcome = "llm_length"
                raise LLMError("answer cut off at the token limit", reason="llm_length", url=req.url, retryable=True)
            if choice.finish_reason == "content_filter":
                outcome = "llm_filtered"
                raise LLMError("answer blocked by the provider's content filter", reason="llm_filtered", url=req.url)
            if getattr(choice.message, "refusal", None):
                outcome = "llm_refusal"
                raise LLMError("the model refused", reason="llm_refusal", url=req.url)
            return choice.message.content or ""
        except openai.APITimeoutError as exc:
            outcome = "llm_timeout"
            raise LLMError("LLM call timed out", reason="llm_timeout", url=req.url, retryable=True) from exc
        except openai.RateLimitError as exc:
            outcome = "llm_rate_limited"
            raise LLMError("LLM rate limit persisted after retries", reason="llm_rate_limited", url=req.url,
                           retryable=True) from exc
        except openai.AuthenticationError as exc:
            outcome = "llm_auth"
            raise LLMError("the LLM endpoint rejected the API key; check OPENAI_API_KEY", reason="llm_auth",
                           url=req.url) from exc
        except openai.APIStatusError as exc:
            outcome = f"llm_http_{exc.status_code}"
            raise LLMError(f"LLM endpoint answered HTTP {exc.status_code}", reason=outcome, url=req.url,
                           retryable=exc.status_code >= 500) from exc
        except openai.APIConnectionError as exc:
            outcome = "llm_connect"
            raise LLMError("cannot reach the LLM endpoint", reason="llm_connect", url=req.url, retryable=True) from exc
        except InvalidOutput:
            raise
        finally:
            usage[0] += in_tok
            usage[1] += out_tok
            with self._lock:
                self._calls.append(
                    CallRecord(req.item_id, self.prompt_sha, self.schema_hash, self.model, in_tok, out_tok,
                               int((time.monotonic() - started) * 1000), outcome)
                )

    def _response_format(self) -> dict[str, Any]:
        if self.settings.llm.response_format == "json_schema":
            return {
                "type": "json_schema",
                "json_schema": {"name": "enrichment", "schema": strict_json_schema(), "strict": True},
            }
        return {"type": "json_object"}

    def _validate(self, req: EnrichRequest, content: str) -> Enrichment:
        try:
            data = json.loads(content)
        except json.JSONDecodeError as exc:
            raise InvalidOutput(f"not JSON ({exc.msg} at char {exc.pos})") from None
        try:
            out = LLMEnrichment.model_validate(data)
        except ValidationError as exc:
            # Field names and messages only: pydantic would echo the input values otherwise.
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'root'}: {e['msg']}" for e in exc.errors(include_input=False)
            )
            raise InvalidOutput(problems) from None
        bad_tags = [t for t in out.tags if t not in self.settings.tag_ids()]
        if bad_tags:
            raise InvalidOutput(f"tags not in the taxonomy: {', '.join(bad_tags)}")
        if out.section not in self.settings.section_ids():
            raise InvalidOutput(f"section must be one of {', '.join(self.settings.section_ids())}")
        title, summary = out.title.strip(), out.summary.strip()
        if self.settings.publication.language == "zh-Hans":
            title, summary = textutil.to_simplified(title), textutil.to_simplified(summary)
        for field_name, value in (("title", title), ("summary", summary)):
            if textutil.is_chatter(value) or any(textutil.is_chatter(s) for s in textutil.split_sentences(value, "zh")):
                raise InvalidOutput(f"{field_name} contains chatter; write only the item itself")
        if not summary:
            raise InvalidOutput("summary is empty")
        return Enrichment(
            title=title,
            summary=summary,
            tags=list(dict.fromkeys(out.tags)),
            section=out.section,
            score=out.score,
            reason=out.reason.strip(),
            backend=self.name,
            model=self.model,
            prompt_sha=self.prompt_sha,
        )
