"""Lint's contract: the Finding a rule reports, the Options every rule reads, the Rule signature.

Below both rule modules (`lint`, `lint_copy`) and `linkcheck`, so none of them imports another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal

from curator.markdown import Document

__all__ = ["Finding", "Options", "Rule", "Severity"]

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

    @property
    def simplified(self) -> bool:
        """Whether the issue is written in Simplified Chinese (zh, zh-Hans, zh-CN; not zh-Hant/-TW/-HK/-MO)."""
        lang = self.language.lower().replace("_", "-")
        return lang.startswith("zh") and not any(t in lang for t in ("hant", "-tw", "-hk", "-mo"))


Rule = Callable[[Document, Options], Iterator[Finding]]
