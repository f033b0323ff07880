"""Lint's contract: the Finding a rule reports, the Options every rule reads, the Rule signature.

Below both rule modules (`lint`, `lint_copy`) and `linkcheck`, so none of them imports another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal

from curator.markdown import Document

__all__ = ["Finding", "Options", "Rule", "Severity", "format_findings"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Finding:
    line: int
    rule: str
    message: str
    severity: Severity = "error"


@dataclass(frozen=True)
class Options:
    language: str
    window_start: date | None
    max_per_domain: int
    allowed_links: set[str] | None = None  # from the draft's review data, when it has some
    allow_http_hosts: frozenset[str] = frozenset()  # lint.allow_http_hosts: http-only sites, no non_https

    @property
    def simplified(self) -> bool:
        """Whether the issue is written in Simplified Chinese (zh, zh-Hans, zh-CN; not zh-Hant/-TW/-HK/-MO)."""
        lang = self.language.lower().replace("_", "-")
        return lang.startswith("zh") and not any(t in lang for t in ("hant", "-tw", "-hk", "-mo"))


Rule = Callable[[Document, Options], Iterator[Finding]]


def _escape_github(text: str, *, prop: bool = False) -> str:
    """A workflow command's data (`%`, CR, LF escaped) or property value (also `:` and `,`)."""
    out = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return out.replace(":", "%3A").replace(",", "%2C") if prop else out


def format_findings(findings: list[Finding], path: str, fmt: Literal["text", "github"] = "text") -> str:
    """One line per finding. text, compiler style: `drafts/issue-3.md:12: [chatter] error: …`; github: the
    workflow annotation `::error file=drafts/issue-3.md,line=12,title=chatter::…` a pull request shows inline."""
    if fmt == "github":
        return "\n".join(f"::{f.severity} file={_escape_github(path, prop=True)},line={f.line},"
                         f"title={_escape_github(f.rule, prop=True)}::{_escape_github(f'[{f.rule}] {f.message}')}"
                         for f in findings)
    return "\n".join(f"{path}:{f.line}: [{f.rule}] {f.severity}: {f.message}" for f in findings)
