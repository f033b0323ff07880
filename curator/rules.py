"""Per-source keep / block rules: a keyword or a `re:` regex on a candidate's title, URL, author or tags.

    [[sources]] keep = [{field="title", match="rust"}]  block = [{field="title", match="re:(?i)sponsored"}]

    discover: Candidate ─► judge(final=False) ─► blocked (stored, skipped:blocked) | kept/passed | pending
    extract:  Article   ─► judge(final=True) for the pending ones (the author was only on the page)

A block rule that matches blocks; with `keep` rules, only a candidate that matches one of them passes.
A rule on a field the feed did not carry (no author, no tags) cannot be decided before fetching: the
candidate is fetched and judged again once its article is extracted, before anything is paid for.
Each outcome is recorded (store/rules.py), so a blocked link is known and never examined again, and
`sources check` says which rule blocked how many.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["KEEP_NONE", "Outcome", "Rule", "Subject", "Verdict", "judge"]

RuleField = Literal["title", "url", "author", "tags"]
KEEP_NONE = "keep: no rule matched"  # the label of a candidate no keep rule let through
REGEX = "re:"


class Rule(BaseModel):
    """One rule: `match` is a keyword (case-insensitive, anywhere in the field) or `re:` + a Python regex."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: RuleField
    match: str = Field(min_length=1, max_length=500)

    @field_validator("match")
    @classmethod
    def _usable(cls, value: str) -> str:
        if value.startswith(REGEX):
            body = value[len(REGEX):]
            if not body:
                raise ValueError("`re:` needs a regular expression after it, e.g. \"re:(?i)sponsored\"")
            try:
                re.compile(body)
            except re.error as exc:
                raise ValueError(f"bad regular expression after `re:` ({exc.msg} at position {exc.pos}); "
                                 "escape special characters such as ( [ + with a backslash") from None
        elif not value.strip():
            raise ValueError("a keyword cannot be blank")
        return value

    @property
    def label(self) -> str:
        return f"{self.field}:{self.match}"

    def matches(self, values: list[str]) -> bool:
        if self.match.startswith(REGEX):
            pattern = self.match[len(REGEX):]
            return any(re.search(pattern, v) for v in values)  # re caches the compiled pattern
        word = self.match.strip().casefold()
        return any(word in v.casefold() for v in values)


@dataclass(frozen=True)
class Subject:
    """What a rule can look at. `author` / `tags` None: not known yet (the feed did not say)."""

    title: str
    url: str
    author: str | None = None
    tags: tuple[str, ...] | None = None

    def values(self, field: RuleField, *, final: bool) -> list[str] | None:
        if field == "title":
            return [self.title]
        if field == "url":
            return [self.url]
        if field == "author":
            return [self.author] if self.author else ([] if final else None)
        return list(self.tags) if self.tags else ([] if final else None)


class Verdict(enum.StrEnum):
    PASSED = "passed"  # no rule had a say (only block rules, none matched)
    KEPT = "kept"  # a keep rule matched
    BLOCKED = "blocked"
    PENDING = "pending"  # a rule needs a field known only after extraction


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    rule: str | None = None  # the label of the rule that decided (KEEP_NONE when no keep rule matched)


def judge(keep: list[Rule], block: list[Rule], subject: Subject, *, final: bool = False) -> Outcome:
    """The rules' verdict on one candidate. Not `final`: a rule on an unknown field leaves it PENDING
    rather than guessing; `final` (after extraction): an unknown field is empty."""
    waiting = False
    for rule in block:
        values = subject.values(rule.field, final=final)
        if values is None:
            waiting = True
        elif rule.matches(values):
            return Outcome(Verdict.BLOCKED, rule.label)
    if not keep:
        return Outcome(Verdict.PENDING if waiting else Verdict.PASSED)
    kept: str | None = None
    for rule in keep:
        values = subject.values(rule.field, final=final)
        if values is None:
            waiting = True
        elif kept is None and rule.matches(values):
            kept = rule.label
    if waiting:
        return Outcome(Verdict.PENDING)
    return Outcome(Verdict.KEPT, kept) if kept else Outcome(Verdict.BLOCKED, KEEP_NONE)
