"""The events a webhook hears (one typed model each) and their wording in the publication's language.

Every payload shape (payloads.py) is built from the same `Message`: a title and plain-text lines, escaped
by each service's own rules there. The generic JSON hook gets the event model itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from curator.notify.config import EventName

TOP_FINDINGS = 5  # a draft_ready message lists at most this many lint findings


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")

    publication: str
    at: datetime  # the run's clock (settings.now), so a pinned run says the week it worked on
    test: bool = False  # sent by `curator notify test`


class LintLine(BaseModel):
    line: int
    rule: str
    severity: str
    message: str


class DraftReady(_Event):
    event: Literal["draft_ready"] = "draft_ready"
    issue: int
    path: str
    stories: int
    errors: int
    warnings: int
    findings: list[LintLine] = Field(default_factory=list)  # the first TOP_FINDINGS, errors first


class RunProblem(_Event):
    event: Literal["run_degraded", "run_failed"]
    run_id: int
    command: str
    status: str  # degraded | failed | interrupted
    reasons: dict[str, int] = Field(default_factory=dict)  # the counters that made it less than asked
    counters: dict[str, int] = Field(default_factory=dict)  # all of the run's counters (the json hook carries them)
    notes: list[str] = Field(default_factory=list)
    error: str | None = None


class SourceFailing(_Event):
    event: Literal["source_failing"] = "source_failing"
    source: str
    kind: str
    failures: int  # runs in a row
    threshold: int
    last_error: str | None = None
    last_error_at: str | None = None


class BudgetNearlySpent(_Event):
    event: Literal["budget_nearly_spent"] = "budget_nearly_spent"
    run_id: int
    spent_usd: float
    budget_usd: float
    warn_ratio: float


Event = DraftReady | RunProblem | SourceFailing | BudgetNearlySpent


@dataclass(frozen=True)
class Message:
    title: str
    lines: list[str]


def _zh(language: str) -> bool:
    return language.lower().startswith("zh")


def message(event: Event, language: str) -> Message:
    """The human wording of `event`: Chinese for a zh-* publication, English otherwise."""
    zh = _zh(language)
    tag = ("［测试］" if zh else "[test] ") if event.test else ""
    title, lines = _draft(event, zh) if isinstance(event, DraftReady) else \
        _run(event, zh) if isinstance(event, RunProblem) else \
        _source(event, zh) if isinstance(event, SourceFailing) else _budget(event, zh)
    return Message(f"{tag}{event.publication}：{title}" if zh else f"{tag}{event.publication}: {title}", lines)


def _draft(e: DraftReady, zh: bool) -> tuple[str, list[str]]:
    if zh:
        lines = [f"共 {e.stories} 条；lint：{e.errors} 个错误，{e.warnings} 个警告", f"文件：{e.path}"]
        lines += [f"第 {f.line} 行 [{f.rule}] {f.message}" for f in e.findings]
        return f"第 {e.issue} 期草稿已就绪", lines
    lines = [f"{e.stories} stories; lint: {e.errors} errors, {e.warnings} warnings", f"file: {e.path}"]
    lines += [f"line {f.line} [{f.rule}] {f.message}" for f in e.findings]
    return f"draft of issue #{e.issue} is ready", lines


def _run(e: RunProblem, zh: bool) -> tuple[str, list[str]]:
    reasons = ", ".join(f"{k}={n}" for k, n in e.reasons.items())
    if zh:
        title = (f"运行 #{e.run_id}（{e.command}）部分完成：degraded" if e.event == "run_degraded"
                 else f"运行 #{e.run_id}（{e.command}）未完成：{e.status}")
        lines = ([f"错误：{e.error}"] if e.error else []) + ([f"原因：{reasons}"] if reasons else [])
        return title, [*lines, *e.notes[:3], "运行 `curator status` 查看详情"]
    title = (f"run #{e.run_id} ({e.command}) degraded" if e.event == "run_degraded"
             else f"run #{e.run_id} ({e.command}) did not finish: {e.status}")
    lines = ([f"error: {e.error}"] if e.error else []) + ([f"reasons: {reasons}"] if reasons else [])
    return title, [*lines, *e.notes[:3], "run `curator status` for details"]


def _source(e: SourceFailing, zh: bool) -> tuple[str, list[str]]:
    if zh:
        return (f"来源「{e.source}」已连续 {e.failures} 次运行失败",
                [f"最近错误：{e.last_error or '未知'}（{e.last_error_at or '-'}）",
                 "运行 `curator sources check` 查看原因"])
    return (f"source '{e.source}' failed {e.failures} runs in a row",
            [f"last error: {e.last_error or 'unknown'} ({e.last_error_at or '-'})",
             "run `curator sources check` to see why"])


def _budget(e: BudgetNearlySpent, zh: bool) -> tuple[str, list[str]]:
    share = e.spent_usd / e.budget_usd if e.budget_usd else 1.0
    if zh:
        return (f"运行 #{e.run_id} 的 LLM 预算已用 {share:.0%}",
                [f"已花费 ${e.spent_usd:.4f}，单次运行预算 ${e.budget_usd:.2f}（提醒线 {e.warn_ratio:.0%}）",
                 "预算用尽后条目会等到下一次运行；可调高 llm.budget_run_usd"])
    return (f"run #{e.run_id} has spent {share:.0%} of its LLM budget",
            [f"spent ${e.spent_usd:.4f} of the run budget ${e.budget_usd:.2f} (warning at {e.warn_ratio:.0%})",
             "past the budget, items wait for the next run; raise llm.budget_run_usd if needed"])


def sample(name: EventName, publication: str, at: datetime) -> Event:
    """A plausible event of each kind for `curator notify test` (marked as a test in its wording)."""
    common = {"publication": publication, "at": at, "test": True}
    if name == "draft_ready":
        return DraftReady.model_validate({**common, "issue": 1, "path": "drafts/issue-1.md", "stories": 12,
                                          "errors": 1, "warnings": 2, "findings": [
            {"line": 14, "rule": "broken_link", "severity": "error", "message": "link answers HTTP 404"}]})
    if name in ("run_degraded", "run_failed"):
        return RunProblem.model_validate({**common, "event": name, "run_id": 1, "command": "collect",
                                          "status": "degraded" if name == "run_degraded" else "failed",
                                          "reasons": {"enrich/llm_fallback": 2}})
    if name == "source_failing":
        return SourceFailing.model_validate({**common, "source": "example-feed", "kind": "rss", "failures": 3,
                                             "threshold": 3, "last_error": "http_503"})
    return BudgetNearlySpent.model_validate({**common, "run_id": 1, "spent_usd": 1.62, "budget_usd": 2.0,
                                             "warn_ratio": 0.8})
