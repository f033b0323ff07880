"""The `openai` enrichment backend: any OpenAI-compatible endpoint (the only module that knows openai).

Retry owners: the SDK retries 429/5xx/connection errors (`max_retries` set explicitly, Retry-After
honoured by the SDK); tenacity re-asks once for output that breaks the rules, feeding the finding
back. Nothing else loops.

What comes back is checked: JSON against a strict schema, tags and section against the config,
Simplified script for zh-Hans, no chatter, no markup or foreign links, and numbers, quotes and
names against the source text. Hard problems fail the item (`failed:llm_invalid`, retried on a later
run); soft ones (chatter, unverifiable facts) get one re-ask, then are stripped or flagged for the
reviewer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jinja2
import openai
from pydantic import BaseModel, ValidationError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from curator import text as textutil
from curator import vocab
from curator.enrich import cleanup, guards
from curator.enrich.limits import Budget, RateLimiter, cost_usd, estimate_tokens
from curator.enrich.schema import LLMEnrichment, TriageResult, schema_hash, strict_json_schema
from curator.enrich.transport import call_deadline, capped_http_client, too_large
from curator.errors import BudgetExceeded, ConfigError, LLMError
from curator.models import Enrichment, EnrichRequest
from curator.settings import Settings, defaults_dir
from curator.titles import headline

log = logging.getLogger(__name__)

LANGUAGE_NAMES = {"zh-Hans": "简体中文", "zh-Hant": "繁体中文", "zh": "中文", "en": "English", "ja": "日本語"}
MAX_OUTPUT_TOKENS_EST = 400


class InvalidOutput(Exception):
    """The model answered, but not with what the schema and the rules allow."""


class SoftProblems(InvalidOutput):
    """Valid output with findings worth one re-ask (chatter, facts not in the source)."""

    def __init__(self, message: str, result: Enrichment, chatter: bool) -> None:
        super().__init__(message)
        self.result = result
        self.chatter = chatter


class CutOff(Exception):
    """finish_reason=length: re-ask once with a shorter input."""


@dataclass
class CallRecord:
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
class _Attempt:
    max_chars: int
    feedback: list[dict[str, str]] = field(default_factory=list)
    usage: list[int] = field(default_factory=lambda: [0, 0])
    cost: float = 0.0
    soft: SoftProblems | None = None  # an acceptable answer with findings, kept in case the re-ask is worse


def load_prompt(settings: Settings, name: str) -> tuple[jinja2.Template, str]:
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


class OpenAIBackend:
    name = "openai"

    def __init__(self, settings: Settings, *, client: openai.OpenAI | None = None,
                 budgets: list[Budget] | None = None) -> None:
        self.settings = settings
        self.model = settings.llm.model
        self.template, self.prompt_sha = load_prompt(settings, "summarise")
        self._triage_template, self.triage_sha = load_prompt(settings, "triage")
        self.schema_hash = schema_hash()
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
        return prompt + self._schema_note(LLMEnrichment)

    def _schema_note(self, model: type[BaseModel]) -> str:
        if self.settings.llm.response_format == "json_schema":
            return ""
        # json_object mode: the provider cannot enforce a schema, so the prompt states it.
        return "\n\n按下面的 JSON Schema 返回一个 JSON 对象：\n" + json.dumps(strict_json_schema(model), ensure_ascii=False)

    def enrich(self, req: EnrichRequest) -> Enrichment:
        flags = ["injection_suspected"] if guards.injection_signals(req.text) else []
        if flags:
            log.info("item %s: source text looks like it addresses the model; flagged for review", req.item_id)
        state = _Attempt(max_chars=self.settings.llm.max_input_chars)
        delimiter = f"<<<{secrets.token_hex(8)}>>>"
        prompt = self.render(req, delimiter, state.max_chars)
        try:
            for attempt in Retrying(stop=stop_after_attempt(2), retry=retry_if_exception_type((InvalidOutput, CutOff)),
                                    reraise=True):
                with attempt:
                    messages = [{"role": "user", "content": prompt}, *state.feedback]
                    try:
                        content = self._call(req.item_id, messages, state)
                    except CutOff:
                        # Halve what is actually sent: halving a limit the text is already under would re-send
                        # the same input (RELIABILITY row 30: one retry, *shorter*).
                        state.max_chars = min(state.max_chars, len(guards.strip_zero_width(req.text))) // 2
                        prompt = self.render(req, delimiter, state.max_chars)
                        raise
                    try:
                        result = self._validate(req, content)
                    except InvalidOutput as exc:
                        if isinstance(exc, SoftProblems):
                            state.soft = exc
                        state.feedback = [
                            {"role": "assistant", "content": content[:4000]},
                            {"role": "user", "content": f"上面的回答不符合要求：{exc}。请改正后按 JSON 结构重新回答。"},
                        ]
                        raise
        except SoftProblems as exc:
            result = self._accept_with_findings(req, exc, flags)
        except InvalidOutput as exc:
            if state.soft is None:
                raise LLMError(f"model output invalid twice: {exc}", reason="llm_invalid", url=req.url,
                               retryable=True) from exc
            result = self._accept_with_findings(req, state.soft, flags)
        except CutOff as exc:
            raise LLMError("answer cut off at the token limit twice (input already halved)", reason="llm_length",
                           url=req.url, retryable=True) from exc
        return result.model_copy(update={
            "input_tokens": state.usage[0], "output_tokens": state.usage[1], "cost_usd": state.cost,
            "flags": [*result.flags, *flags],
        })

    def _accept_with_findings(self, req: EnrichRequest, soft: SoftProblems, flags: list[str]) -> Enrichment:
        """After the re-ask: chatter is stripped, facts the source lacks are flagged for the reviewer."""
        result = soft.result
        if soft.chatter:
            result = self._strip_chatter(req, result)
            flags.append("chatter_stripped")
        facts = guards.unsupported_facts(result.summary, f"{req.title}\n{req.text}")
        if facts:
            flags.append("unverified_facts:" + "|".join(facts[:5]))
        return result

    def _strip_chatter(self, req: EnrichRequest, result: Enrichment) -> Enrichment:
        summary, removed = textutil.strip_chatter(result.summary)
        if not summary.strip():
            raise LLMError("summary was nothing but chatter after a re-ask", reason="llm_chatter", url=req.url,
                           retryable=True)
        log.info("item %s: stripped %d chatter sentence(s) from the summary", req.item_id, len(removed))
        return result.model_copy(update={"summary": summary.strip()})

    # ---- one HTTP call -------------------------------------------------------------------
    def _call(self, item_id: int | None, messages: list[dict[str, str]], state: _Attempt,
              schema_model: type[BaseModel] = LLMEnrichment, prompt_sha: str | None = None) -> str:
        est_in = estimate_tokens("".join(m["content"] for m in messages))
        est_cost = cost_usd(self.price, est_in, MAX_OUTPUT_TOKENS_EST)
        for budget in self.budgets:
            budget.reserve(est_cost)
        self.limiter.acquire(est_in + MAX_OUTPUT_TOKENS_EST)
        started = time.monotonic()
        outcome, in_tok, out_tok = "ok", 0, 0
        try:
            with call_deadline(self.settings.llm.timeout_s):  # the whole call, not each read (RELIABILITY row 31)
                resp = self.client.chat.completions.create(
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type]
                    temperature=self.settings.llm.temperature,
                    response_format=self._response_format(schema_model),  # type: ignore[arg-type]
                )
            if resp.usage is not None:
                in_tok, out_tok = resp.usage.prompt_tokens or 0, resp.usage.completion_tokens or 0
            if not resp.choices:
                outcome = "llm_empty"
                raise InvalidOutput("no choices in the answer")
            choice = resp.choices[0]
            if choice.finish_reason == "length":
                outcome = "llm_length"
                raise CutOff()
            if choice.finish_reason == "content_filter":
                outcome = "llm_filtered"
                raise LLMError("answer blocked by the provider's content filter", reason="llm_filtered")
            if getattr(choice.message, "refusal", None):
                outcome = "llm_refusal"
                raise LLMError("the model refused", reason="llm_refusal")
            return choice.message.content or ""
        except openai.APITimeoutError as exc:
            outcome = "llm_timeout"
            raise LLMError("LLM call timed out", reason="llm_timeout", retryable=True) from exc
        except openai.RateLimitError as exc:
            outcome = "llm_rate_limited"
            raise LLMError("LLM rate limit persisted after retries", reason="llm_rate_limited", retryable=True) from exc
        except openai.AuthenticationError as exc:
            outcome = "llm_auth"
            raise LLMError("the LLM endpoint rejected the API key; check OPENAI_API_KEY", reason="llm_auth") from exc
        except openai.APIStatusError as exc:
            outcome = f"llm_http_{exc.status_code}"
            raise LLMError(f"LLM endpoint answered HTTP {exc.status_code}", reason=outcome,
                           retryable=exc.status_code >= 500 or exc.status_code == 429) from exc
        except openai.APIConnectionError as exc:
            if too_large(exc):
                outcome = "llm_too_large"
                raise LLMError("the LLM endpoint's answer was over the size cap", reason=outcome) from exc
            outcome = "llm_connect"
            raise LLMError("cannot reach the LLM endpoint", reason="llm_connect", retryable=True) from exc
        finally:
            actual = cost_usd(self.price, in_tok, out_tok) if in_tok or out_tok else 0.0
            for budget in self.budgets:
                budget.settle(est_cost, actual)
            state.usage[0] += in_tok
            state.usage[1] += out_tok
            state.cost += actual
            with self._lock:
                self._calls.append(CallRecord(
                    item_id, prompt_sha or self.prompt_sha, schema_hash(schema_model), self.model, in_tok, out_tok,
                    int((time.monotonic() - started) * 1000), outcome, actual,
                ))

    def _response_format(self, model: type[BaseModel]) -> dict[str, Any]:
        if self.settings.llm.response_format == "json_schema":
            return {
                "type": "json_schema",
                "json_schema": {"name": model.__name__.lower(), "schema": strict_json_schema(model), "strict": True},
            }
        return {"type": "json_object"}

    @staticmethod
    def _parse(content: str, model: type[BaseModel]) -> Any:
        try:
            data = json.loads(content)
        except json.JSONDecodeError as exc:
            raise InvalidOutput(f"not JSON ({exc.msg} at char {exc.pos})") from None
        except RecursionError:  # `[[[[…` nested deeper than the parser goes: an invalid answer, not a crash
            raise InvalidOutput("not a JSON object (nested too deeply)") from None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            # Field names and messages only: pydantic would echo the input values otherwise.
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'root'}: {e['msg']}" for e in exc.errors(include_input=False)
            )
            raise InvalidOutput(problems) from None

    def _validate(self, req: EnrichRequest, content: str) -> Enrichment:
        out = self._parse(content, LLMEnrichment)
        bad_tags = [t for t in out.tags if t not in self.settings.tag_ids()]
        if bad_tags:
            raise InvalidOutput(f"tags not in the taxonomy: {', '.join(bad_tags)}")
        if out.section not in self.settings.section_ids():
            raise InvalidOutput(f"section must be one of {', '.join(self.settings.section_ids())}")
        title, summary = out.title.strip(), out.summary.strip()
        if self.settings.publication.language == "zh-Hans":
            taiwan = vocab.is_taiwan_usage(f"{req.title}\n{req.text[:4000]}")
            title, summary = vocab.to_mainland(title, taiwan=taiwan), vocab.to_mainland(summary, taiwan=taiwan)
        if not summary:
            raise InvalidOutput("summary is empty")
        title = headline(title).text if title else title  # a model that copied the keyword pipes
        problems = guards.markup_problems(f"{title}\n{summary}", {req.url})
        if problems:
            raise InvalidOutput("; ".join(problems))
        result = Enrichment(
            title=title, summary=summary, tags=list(dict.fromkeys(out.tags)), section=out.section, score=out.score,
            reason=out.reason.strip(), backend=self.name, model=self.model, prompt_sha=self.prompt_sha,
        )
        if textutil.is_chatter(title):
            raise InvalidOutput("the title is chatter, not a headline")
        chatter = [s for s in textutil.split_sentences(summary) if textutil.is_chatter(s)]
        facts = guards.unsupported_facts(summary, f"{req.title}\n{req.text}")
        findings = []
        if chatter:
            findings.append("摘要里有寒暄或说明改写的话（" + "；".join(chatter[:2]) + "），只写条目本身")
        if facts:
            findings.append("这些内容在原文中找不到：" + "、".join(facts[:5]) + "，只写原文中的事实")
        if findings:
            raise SoftProblems("；".join(findings), result, chatter=bool(chatter))
        return result

    # ---- triage: many items, one cheap call ----------------------------------------------
    def triage(self, reqs: list[EnrichRequest]) -> dict[int, tuple[int, str]]:
        """Scores (0-100) and a section guess for titles + snippets, in one call. Items the model
        left out are absent from the answer (the caller sends them to the full pass)."""
        delimiter = f"<<<{secrets.token_hex(8)}>>>"
        cands = [{"id": r.item_id, "title": r.title.replace(delimiter, "")[:200],
                  "snippet": guards.strip_zero_width(r.text).replace(delimiter, "")[:200].replace("\n", " ")}
                 for r in reqs]
        prompt = self._triage_template.render(
            publication=self.settings.publication, profile=self.settings.profile, sections=self.settings.sections,
            candidates=cands, delimiter=delimiter,
        ) + self._schema_note(TriageResult)
        state = _Attempt(max_chars=0)
        content = self._call(None, [{"role": "user", "content": prompt}], state, TriageResult, self.triage_sha)
        try:
            result = self._parse(content, TriageResult)
        except InvalidOutput as exc:
            raise LLMError(f"triage answer invalid: {exc}", reason="llm_invalid", retryable=True) from exc
        wanted = {r.item_id for r in reqs}
        sections = set(self.settings.section_ids())
        return {s.id: (s.score, s.section if s.section in sections else "") for s in result.items if s.id in wanted}


__all__ = ["BudgetExceeded", "CallRecord", "OpenAIBackend"]
