"""Sources: where candidate links come from. Each kind is a class registered in SOURCES.

A source turns its config (SourceSettings) plus the shared Fetcher into Candidates. Built-ins
register exactly the way an extension would:

    @register("rss")
    class RssSource: ...

`discover()` raises SourceError / FetchError for a source that cannot be read; the pipeline records
it on the source's health and goes on with the other sources.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from curator.errors import ConfigError
from curator.models import Candidate, Validators
from curator.settings import SourceSettings

if TYPE_CHECKING:
    from curator.http import Fetcher


async def _inline(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args)


@dataclass
class SourceContext:
    fetcher: Fetcher
    validators: Validators  # saved from the previous successful read of this source
    now: datetime
    # Runs CPU-heavy parsing (`await ctx.cpu(parse_feed, body, …)`) in the parser pool; inline by default.
    cpu: Callable[..., Awaitable[Any]] = _inline


@dataclass
class SourceResult:
    candidates: list[Candidate] = field(default_factory=list)
    validators: Validators | None = None  # save only after the candidates are committed
    not_modified: bool = False
    dropped: dict[str, int] = field(default_factory=dict)  # entries left out, by reason


class Source(Protocol):
    kind: ClassVar[str]
    config: SourceSettings

    async def discover(self, ctx: SourceContext) -> SourceResult: ...


SOURCES: dict[str, Callable[[SourceSettings], Source]] = {}


def register(*kinds: str) -> Callable[[type], type]:
    def deco(cls: type) -> type:
        for kind in kinds:
            SOURCES[kind] = cls
        return cls

    return deco


def build_source(config: SourceSettings) -> Source:
    _load_builtins()
    try:
        factory = SOURCES[config.kind]
    except KeyError:
        raise ConfigError(
            f"sources[{config.name}].kind: unknown kind '{config.kind}'; known kinds: {', '.join(sorted(SOURCES))}"
        ) from None
    return factory(config)


def known_kinds() -> list[str]:
    """Every registered kind, so config can be checked before a run starts (not when discover reaches it)."""
    _load_builtins()
    return sorted(SOURCES)


def _load_builtins() -> None:
    # Each module registers its kinds on import.
    from curator.sources import arxiv, github, hn, jsonfeed, rss, watch, youtube  # noqa: F401
