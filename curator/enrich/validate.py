"""What a model's answer must be, whichever provider gave it: parsed, checked, re-asked once, or failed.

    answer ─► parse (JSON, strict schema) ─► rules (taxonomy, section, zh-Hans script, markup and links,
              chatter, facts not in the source) ─► Enrichment | SoftProblems (re-ask once) | InvalidOutput

Retry owner for invalid output: tenacity re-asks once, feeding the finding back. Hard problems fail the
item (`failed:llm_invalid`, retried on a later run); soft ones (chatter, unverifiable facts) get one
re-ask, then are stripped or flagged for the reviewer. A cut-off answer is asked again once with half
the input. The provider's transport (retries of 429/5xx) is its SDK's, never looped here.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from curator import text as textutil
from curator import vocab, xlang
from curator.copytext import repeats_title
from curator.enrich import guards
from curator.enrich.backends import Attempt
from curator.enrich.schema import LLMEnrichment, TriageResult
from curator.errors import LLMError
from curator.models import Enrichment, EnrichRequest
from curator.settings import Settings
from curator.titles import headline

log = logging.getLogger(__name__)


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


def parse(content: str, model: type[BaseModel]) -> Any:
    """The answer as `model`, or InvalidOutput naming what is wrong (never echoing the answer's values)."""
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


def reask_feedback(content: str, problem: object) -> list[dict[str, str]]:
    """The messages that follow the prompt on the re-ask: the answer, and what was wrong with it."""
    return [
        {"role": "assistant", "content": content[:4000]},
        {"role": "user", "content": f"上面的回答不符合要求：{problem}。请改正后按 JSON 结构重新回答。"},
    ]


class EnrichmentRules:
    """The rules an item's summary answer is held to, for the publication's settings."""

    def __init__(self, settings: Settings, *, backend: str, model: str, prompt_sha: str) -> None:
        self.settings = settings
        self.backend, self.model, self.prompt_sha = backend, model, prompt_sha

    def check(self, req: EnrichRequest, content: str) -> Enrichment:
        out = parse(content, LLMEnrichment)
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
            reason=out.reason.strip(), backend=self.backend, model=self.model, prompt_sha=self.prompt_sha,
        )
        if textutil.is_chatter(title):
            raise InvalidOutput("the title is chatter, not a headline")
        # A summary that restates the headline tells the reader nothing twice: re-asked once, then the
        # item falls back to the offline summary (hard, like markup), never published as it is.
        repeated = [s for s in textutil.split_sentences(summary)
                    if repeats_title(s, req.title) or (title and repeats_title(s, title))]
        if repeated:
            raise InvalidOutput(f"摘要重复了标题（{repeated[0][:40]}），摘要要写标题之外的内容：发生了什么、有何意义")
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

    def accept_with_findings(self, req: EnrichRequest, soft: SoftProblems, flags: list[str]) -> Enrichment:
        """After the re-ask: chatter is stripped, facts the source lacks are flagged for the reviewer."""
        result = soft.result
        if soft.chatter:
            result = self._strip_chatter(req, result)
            flags.append("chatter_stripped")
        facts = guards.unsupported_facts(result.summary, f"{req.title}\n{req.text}")
        if facts:
            flags.append("unverified_facts:" + "|".join(facts[:5]))
        return result

    @staticmethod
    def _strip_chatter(req: EnrichRequest, result: Enrichment) -> Enrichment:
        summary, removed = textutil.strip_chatter(result.summary)
        if not summary.strip():
            raise LLMError("summary was nothing but chatter after a re-ask", reason="llm_chatter", url=req.url,
                           retryable=True)
        log.info("item %s: stripped %d chatter sentence(s) from the summary", req.item_id, len(removed))
        return result.model_copy(update={"summary": summary.strip()})


Render = Callable[[str, int], str]  # (delimiter, max_chars) -> the prompt
Call = Callable[[list[dict[str, str]], Attempt], str]  # (messages, state) -> the answer's content


def enrich_checked(req: EnrichRequest, rules: EnrichmentRules, max_chars: int, render: Render, call: Call) -> Enrichment:
    """One item's enrichment from a model: asked, checked, re-asked once with the finding (or with half the
    input after a cut-off), then accepted with findings flagged, or LLMError."""
    flags = ["injection_suspected"] if guards.injection_signals(req.text) else []
    if flags:
        log.info("item %s: source text looks like it addresses the model; flagged for review", req.item_id)
    state = Attempt(max_chars=max_chars)
    soft: SoftProblems | None = None  # an acceptable answer with findings, kept in case the re-ask is worse
    delimiter = f"<<<{secrets.token_hex(8)}>>>"
    prompt = render(delimiter, state.max_chars)
    try:
        for attempt in Retrying(stop=stop_after_attempt(2), retry=retry_if_exception_type((InvalidOutput, CutOff)),
                                reraise=True):
            with attempt:
                messages = [{"role": "user", "content": prompt}, *state.feedback]
                try:
                    content = call(messages, state)
                except CutOff:
                    # Halve what is actually sent: halving a limit the text is already under would re-send
                    # the same input (RELIABILITY row 30: one retry, *shorter*).
                    state.max_chars = min(state.max_chars, len(guards.strip_zero_width(req.text))) // 2
                    prompt = render(delimiter, state.max_chars)
                    raise
                try:
                    result = rules.check(req, content)
                except InvalidOutput as exc:
                    if isinstance(exc, SoftProblems):
                        soft = exc
                    state.feedback = reask_feedback(content, exc)
                    raise
    except SoftProblems as exc:
        result = rules.accept_with_findings(req, exc, flags)
    except InvalidOutput as exc:
        if soft is None:
            raise LLMError(f"model output invalid twice: {exc}", reason="llm_invalid", url=req.url,
                           retryable=True) from exc
        result = rules.accept_with_findings(req, soft, flags)
    except CutOff as exc:
        raise LLMError("answer cut off at the token limit twice (input already halved)", reason="llm_length",
                       url=req.url, retryable=True) from exc
    return result.model_copy(update={
        "input_tokens": state.usage[0], "output_tokens": state.usage[1], "cost_usd": state.cost,
        "flags": [*result.flags, *flags],
    })


# ---- triage's translated titles ---------------------------------------------------------------

TITLE_EN_MAX_WORDS = 16
TITLE_EN_MAX_CHARS = 120
_NOT_ENGLISH = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff\u0400-\u04ff]")
# What a model puts before or instead of a translation: "Sure! …", "Translation: …", "Title: …".
_EN_PREAMBLE = re.compile(
    r"^\W*(?:sure|okay|ok|certainly|of course|here(?:'s| is| are)|translation|translated(?: title)?|"
    r"(?:the )?english(?: title| translation)?|title|headline)\b\W*(?:[:：]|$)|^\W*(?:sure|okay|certainly)\b",
    re.IGNORECASE,
)


def needs_translation(req: EnrichRequest) -> bool:
    """A lead clustering reads as Chinese (xlang.script): only its translated title can meet an English report's."""
    return xlang.script(f"{req.title}\n{req.text[:2000]}")


def title_en_problem(title_en: str) -> str | None:
    """Why a translated title cannot stand for the headline in English, or None when it can."""
    t = title_en.strip()
    if _NOT_ENGLISH.search(t) or sum(ch.isascii() for ch in t) < 0.9 * len(t):
        return "不是英文"
    if len(t) > TITLE_EN_MAX_CHARS or len(t.split()) > TITLE_EN_MAX_WORDS:
        return f"太长（不超过 {TITLE_EN_MAX_WORDS} 个词）"
    if textutil.is_chatter(t) or _EN_PREAMBLE.search(t) or "\n" in t:
        return "带了说明文字，只要译出的标题本身"
    return None


def triage_title_problems(reqs: list[EnrichRequest], result: TriageResult) -> list[str]:
    """One finding per candidate whose title_en is there but is not a short English headline. A missing
    translation is no finding: that candidate only misses the translated-title merge."""
    wanted = {r.item_id for r in reqs if needs_translation(r)}
    found = []
    for row in result.items:
        if row.id in wanted and row.title_en.strip() and (problem := title_en_problem(row.title_en)):
            found.append(f"[{row.id}] 的 title_en {problem}")
    return found


def triage_checked(reqs: list[EnrichRequest], call: Call) -> TriageResult:
    """Triage's answer for `reqs`: parsed (InvalidOutput when it is not the schema), its translated titles
    checked and re-asked once with the findings; a translation still bad after that is dropped ("")."""
    state = Attempt(max_chars=0)
    content = call([], state)
    result: TriageResult = parse(content, TriageResult)
    problems = triage_title_problems(reqs, result)
    if problems:
        log.info("triage: %d translated title(s) unusable; asked again", len(problems))
        again = call(reask_feedback(content, "；".join(problems[:10])), state)
        try:
            result = parse(again, TriageResult)
        except InvalidOutput:
            log.info("triage: the re-ask was not the schema; the first answer's scores are kept")
    wanted = {r.item_id for r in reqs if needs_translation(r)}
    rows = [row if row.id in wanted and not (row.title_en.strip() and title_en_problem(row.title_en))
            else row.model_copy(update={"title_en": ""}) for row in result.items]
    return result.model_copy(update={"items": rows})
