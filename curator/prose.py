"""Section prose: with an LLM backend, each section written as one to three paragraphs citing its stories.

    Issue ─► write_sections() ─► {section id: SectionText}     one LLM call per section, cached and logged
                 │                 SectionProse (schema) ─► check() ─► sentences that survived + flags
                 └─ offline backend / endpoint failure / nothing left ─► SectionText.fallback (story paragraphs)

Every sentence names the stories it draws on; `check` holds it to them: a sentence with no citation,
or whose numbers, quotes or names are not in the stories it cites (the model cited the wrong story), is
dropped and flagged; citations of stories outside the section are removed. The composer renders what
survived, escaped, with the footnote markers of the cited stories (curator/compose.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from curator import text as textutil
from curator import vocab
from curator.enrich import cleanup, guards
from curator.enrich.backends import Attempt, Backend
from curator.enrich.choose import choose_backend
from curator.enrich.limits import Budget
from curator.enrich.prompts import LANGUAGE_NAMES, load_prompt
from curator.enrich.schema import SectionProse
from curator.enrich.validate import CutOff, InvalidOutput, parse, reask_feedback
from curator.errors import ConfigError, LLMError
from curator.mdsafe import Markdown, escape_text, one_line
from curator.models import Issue, IssueSection, Story
from curator.settings import Settings
from curator.store import Store

log = logging.getLogger(__name__)

EXCERPT_CHARS = 1200  # of each story's article text in the prompt: enough for its facts, cheap per section
_FOOTNOTE_REF = re.compile(r"\[\^[^\]\s]{0,20}\]")
_END = ("。", "！", "？", "…", ".", "!", "?", "”", "」", "）", ")")


@dataclass(frozen=True)
class SourcedSentence:
    text: str
    stories: tuple[int, ...]


@dataclass
class SectionText:
    """What a section prints: paragraphs of checked sentences, or the reason it keeps story paragraphs."""

    section: str
    paragraphs: list[list[SourcedSentence]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    fallback: str = ""  # non-empty: render story paragraphs, and say why
    model: str = ""
    prompt_sha: str = ""
    tokens: int = 0
    cost_usd: float = 0.0

    @property
    def cited(self) -> list[int]:
        """Story ids the surviving sentences cite, in order of first citation."""
        return list(dict.fromkeys(i for p in self.paragraphs for s in p for i in s.stories))


def story_material(story: Story) -> str:
    """What a sentence citing `story` may draw on: its titles, summary and its items' texts."""
    parts: list[str] = []
    for item in story.items:
        parts.append(item.title)
        if item.enrichment:
            parts += [item.enrichment.title, item.enrichment.summary]
        if item.article:
            parts += [item.article.title, item.article.text]
    return "\n".join(p for p in parts if p)


def _simplify(text: str, settings: Settings, material: str) -> str:
    if settings.publication.language != "zh-Hans":
        return text
    return vocab.to_mainland(text, taiwan=vocab.is_taiwan_usage(material[:4000]))


def _whole(sentence: str, language: str) -> str:
    if sentence.endswith(_END):
        return sentence
    return sentence + ("。" if language.startswith("zh") else ".")


def check(section: IssueSection, out: SectionProse, settings: Settings) -> tuple[list[list[SourcedSentence]], list[str]]:
    """The model's sentences that the cited stories support, and a flag for each one dropped."""
    material = {s.id: story_material(s) for s in section.stories}
    paragraphs: list[list[SourcedSentence]] = []
    flags: list[str] = []
    for para in out.paragraphs:
        kept: list[SourcedSentence] = []
        for sent in para.sentences:
            cited = list(dict.fromkeys(sent.stories))
            foreign = [i for i in cited if i not in material]
            if foreign:
                flags.append("prose_foreign_citation:" + "|".join(map(str, foreign)))
            ids = [i for i in cited if i in material]
            # Footnote and citation markers are the composer's to add: the model's own ([^9], [1]) go.
            bare = cleanup.strip_citations(_FOOTNOTE_REF.sub("", one_line(sent.text))).strip()
            text = _simplify(bare, settings, "\n".join(material[i] for i in ids))
            if not ids:
                flags.append("prose_uncited")
                continue
            if textutil.is_chatter(text):
                flags.append("prose_chatter")
                continue
            facts = guards.unsupported_facts(text, "\n".join(material[i] for i in ids))
            if facts:
                # Supported by another story of the section: the model cited the wrong one.
                others = [sid for sid, m in material.items() if sid not in ids and not guards.unsupported_facts(text, m)]
                kind = "prose_miscited" if others else "prose_unverified"
                flags.append(f"{kind}:" + "|".join(facts[:3]) + f"@{'|'.join(map(str, ids))}")
                continue
            kept.append(SourcedSentence(_whole(text, settings.publication.language), tuple(ids)))
        if kept:
            paragraphs.append(kept)
    return paragraphs, flags


class _Invalid(Exception):
    """The answer broke the schema or the rules: re-asked once, quoting the finding."""


class ProseWriter:
    """Writes sections with an OpenAI-compatible backend; answers cached by content, prompt and model."""

    def __init__(self, settings: Settings, store: Store, backend: Backend) -> None:
        self.settings, self.store, self.backend = settings, store, backend
        self.template, sha = load_prompt(settings, "section_prose")
        self.cache_key = f"prose:{sha}"
        self.prompt_sha = sha
        self.language_name = LANGUAGE_NAMES.get(settings.publication.language, settings.publication.language)

    def _stories(self, section: IssueSection, delimiter: str) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for story in section.stories:
            enr = story.lead.enrichment
            assert enr is not None
            text = story.lead.article.text if story.lead.article else ""
            clean = guards.strip_zero_width(" ".join(text.split()))[:EXCERPT_CHARS]
            out.append({"id": story.id, "title": enr.title.replace(delimiter, ""),
                        "summary": enr.summary.replace(delimiter, ""), "excerpt": clean.replace(delimiter, "")})
        return out

    def content_hash(self, section: IssueSection) -> str:
        """The section's material (ids, titles, summaries, excerpts): a change in any re-asks the model."""
        material = [(s["id"], s["title"], s["summary"], s["excerpt"]) for s in self._stories(section, "\x00")]
        blob = json.dumps([section.id, section.title, material], ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def render(self, section: IssueSection, delimiter: str) -> str:
        import jinja2

        try:
            prompt = self.template.render(publication=self.settings.publication, language_name=self.language_name,
                                          section=section, stories=self._stories(section, delimiter),
                                          delimiter=delimiter)
        except jinja2.UndefinedError as exc:
            raise ConfigError(f"prompt 'section_prose' uses an unknown variable: {exc.message}") from exc
        return prompt + self.backend.schema_note(SectionProse)

    def _validate(self, content: str, section: IssueSection) -> SectionProse:
        try:
            out: SectionProse = parse(content, SectionProse)
        except InvalidOutput as exc:
            raise _Invalid(str(exc)) from None
        urls = {i.url for s in section.stories for i in s.items}
        text = "\n".join(s.text for p in out.paragraphs for s in p.sentences)
        problems = guards.markup_problems(text, urls)
        if problems:
            raise _Invalid("; ".join(problems))
        return out

    def _ask(self, section: IssueSection, state: Attempt) -> SectionProse:
        delimiter = f"<<<{secrets.token_hex(8)}>>>"
        messages = [{"role": "user", "content": self.render(section, delimiter)}]
        for attempt in Retrying(stop=stop_after_attempt(2), retry=retry_if_exception_type(_Invalid), reraise=True):
            with attempt:
                content = self.backend.complete(messages, state, SectionProse, self.prompt_sha)
                try:
                    return self._validate(content, section)
                except _Invalid as exc:
                    messages = [messages[0], *reask_feedback(content, exc)]
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _cached(self, key: str, model: str) -> tuple[SectionProse, int, float] | None:
        hit = self.store.cache_get(key, self.cache_key, model)
        if not hit:
            return None
        try:
            data = json.loads(hit)
            return SectionProse.model_validate(data["prose"]), int(data["tokens"]), float(data["cost_usd"])
        except (ValueError, KeyError, TypeError):  # an entry this version cannot read: ask again
            log.info("unreadable section-prose cache entry %s…; asking the model again", key[:12])
            return None

    def write(self, section: IssueSection) -> SectionText:
        model = self.backend.model or self.backend.name
        result = SectionText(section=section.id, model=model, prompt_sha=self.prompt_sha)
        key = self.content_hash(section)
        cached = self._cached(key, model)
        state = Attempt(max_chars=0)  # usage of this section's calls, re-asks included
        try:
            if cached is not None:
                # A regenerated draft shows what the section cost when it was written, as stories do.
                out, result.tokens, result.cost_usd = cached
            else:
                out = self._ask(section, state)
                result.tokens, result.cost_usd = sum(state.usage), state.cost
                self.store.cache_put(key, self.cache_key, model, json.dumps(
                    {"prose": out.model_dump(), "tokens": result.tokens, "cost_usd": result.cost_usd}))
        except _Invalid as exc:
            result.fallback = "prose_invalid"
            log.info("section %s: prose answer invalid twice (%s); story paragraphs kept", section.id, exc)
        except CutOff:
            result.fallback = "prose_llm_length"
        except LLMError as exc:
            result.fallback = f"prose_llm_failed:{exc.reason}"
        if result.fallback:
            result.tokens, result.cost_usd = sum(state.usage), state.cost
            return result
        assert out is not None
        result.paragraphs, result.flags = check(section, out, self.settings)
        if not result.paragraphs:
            result.fallback = "prose_empty"
        return result


def write_sections(settings: Settings, store: Store, issue: Issue, run_id: int,
                   backend: Backend | None = None) -> tuple[dict[str, SectionText], list[str], dict[str, int]]:
    """Prose for every section with stories; notes and counters for the draft run."""
    sections = [s for s in issue.sections if s.stories]
    counters: dict[str, int] = {}
    if not sections:
        return {}, [], counters
    if settings.publication.template == "list":
        # The numbered list style is one item per story by design; it keeps its items.
        return ({s.id: SectionText(s.id, fallback="prose_list_style") for s in sections},
                ["publication.prose = \"section\" needs the footnotes template: the list style keeps story items"],
                {"prose/list_style": len(sections)})
    if backend is None:
        backend, _ = choose_backend(settings, [Budget(settings.llm.budget_run_usd, 0.0, "run")])
    if not backend.writes_prose:
        return ({s.id: SectionText(s.id, fallback="prose_offline") for s in sections},
                ["section prose needs an LLM (no OPENAI_API_KEY): sections keep story paragraphs (offline)"],
                {"prose/offline": len(sections)})
    writer = ProseWriter(settings, store, backend)
    out: dict[str, SectionText] = {}
    for section in sections:
        try:
            out[section.id] = text = writer.write(section)
        finally:
            _log_calls(store, backend, run_id, counters)
        outcome = "prose/fallback_" + text.fallback.split(":")[0] if text.fallback else "prose/ok"
        counters[outcome] = counters.get(outcome, 0) + 1
        for flag in text.flags:
            key = f"prose/flag_{flag.split(':')[0]}"
            counters[key] = counters.get(key, 0) + 1
    failed = [t for t in out.values() if t.fallback and t.fallback != "prose_empty"]
    why = ", ".join(sorted({t.fallback for t in failed}))
    note = f"section prose failed for {len(failed)} section(s) ({why}): they keep story paragraphs; run `curator draft` again to retry"
    notes = [note] if failed else []
    return out, notes, counters


def _log_calls(store: Store, backend: Backend, run_id: int, counters: dict[str, int]) -> None:
    """Every call the section took goes to the call log, with its run."""
    for call in backend.drain_calls():
        counters["llm/calls"] = counters.get("llm/calls", 0) + 1
        store.log_llm_call(run_id=run_id, item_id=None, prompt_sha=call.prompt_sha, schema_hash=call.schema_hash,
                           model=call.model, input_tokens=call.input_tokens, output_tokens=call.output_tokens,
                           cost_usd=call.cost_usd, latency_ms=call.latency_ms, outcome=call.outcome)


# ---- what the composer prints ---------------------------------------------------------------------
@dataclass
class ProseView:
    """A section as the template prints it: its provenance comment, the stories woven into the
    paragraphs (each keeps its own story comment), the paragraphs, and the stories left as items."""

    provenance: Markdown
    woven: list[Story]
    paragraphs: list[Markdown]
    rest: list[Story]
    review: dict[str, Any]


def view(section: IssueSection, text: SectionText, notes_of: Callable[[int], list[int]], language: str) -> ProseView:
    """Sentences escaped (the model's words are untrusted text) with footnote markers rendered here."""
    joiner = "" if language.startswith("zh") else " "
    paragraphs = [
        Markdown(joiner.join(escape_text(s.text) + "".join(f"[^{n}]" for sid in s.stories for n in notes_of(sid))
                             for s in para))
        for para in text.paragraphs
    ]
    cited = set(text.cited)
    woven = [s for s in section.stories if s.id in cited]
    flags = [*([text.fallback] if text.fallback else []), *text.flags]
    fields = {
        "section": section.id, "prose": "story" if text.fallback else "section",
        "stories": ",".join(str(s.id) for s in woven) or "-", "model": text.model or "-",
        "prompt": text.prompt_sha[:12] or "-", "tokens": text.tokens, "cost_usd": f"{text.cost_usd:.4f}",
        "flags": ",".join(flags) or "-",
    }
    comment = "curator " + " ".join(f'{k}="{_comment_safe(v)}"' for k, v in fields.items())
    review = {
        "mode": fields["prose"], "fallback": text.fallback, "flags": flags,
        "stories": {str(s.id): {"notes": notes_of(s.id),
                                "sentences": [x.text for p in text.paragraphs for x in p if s.id in x.stories]}
                    for s in woven},
    }
    return ProseView(Markdown(comment), woven, paragraphs, [s for s in section.stories if s.id not in cited], review)


def _comment_safe(value: object) -> str:
    return re.sub(r"-{2,}", "-", one_line(value)).replace(">", "›").replace('"', "'")
