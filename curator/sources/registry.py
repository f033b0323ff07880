"""Sources family: the `Source` protocol, its context and result, and the registry of kinds.

A kind is a class registered under one or more names. Built-ins are the modules of this package, each
registering its classes with `@register(...)` when imported; `BUILTIN_KINDS` names the module of each
built-in kind, so checking a config's kinds imports none of them (no feed parser for `curator status`)
and a kind's module is imported when a source of that kind is built. A third party adds a kind through
the entry-point group `curator.sources` (name = kind, value = `module:Class`):

    [project.entry-points."curator.sources"]
    gopher = "curator_gopher:GopherSource"

Both paths end in `register`, so a built-in is registered exactly the way an extension is. Adding a
built-in kind is one module here, its line in `BUILTIN_KINDS` (a test checks the table against what the
modules register) and its test; nothing outside this package names a kind: what the
pipeline and the workers need to know about one are its class traits (`keeps_fragment`, `own_article`).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from curator.errors import ConfigError
from curator.models import Article, Candidate, Page, Validators

if TYPE_CHECKING:
    from curator.http import Fetcher
    from curator.settings import SourceSettings

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "curator.sources"
# Each built-in kind and the module of this package that registers it (imported on the kind's first use).
BUILTIN_KINDS: dict[str, str] = {
    "arxiv": "arxiv", "atom": "rss", "feed": "rss", "github_releases": "github", "github_submissions": "github",
    "hackernews": "hn", "hn": "hn", "json_feed": "rss", "jsonfeed": "rss", "rss": "rss", "watch": "watch",
    "youtube": "youtube",
}


T = TypeVar("T")
E = TypeVar("E")


class CpuRunner(Protocol):
    """Runs `fn(*args)` (module-level, picklable) where CPU-heavy parsing belongs: the parser pool."""

    def __call__(self, fn: Callable[..., T], /, *args: Any) -> Awaitable[T]: ...


async def _inline(fn: Callable[..., T], *args: Any) -> T:
    return fn(*args)


@dataclass
class SourceContext:
    fetcher: Fetcher
    validators: Validators  # saved from the previous successful read of this source
    now: datetime
    # Runs CPU-heavy parsing (`await ctx.cpu(parse_feed, body, …)`) in the parser pool; inline by default.
    cpu: CpuRunner = _inline


@dataclass
class SourceResult:
    """What one read of a source yields. The entry cap (the source's `max_entries`, given as `cap`) is
    applied here and nowhere else: `capped()` for a feed, whose first entries are read and the rest left
    unread; `add()` for a source that filters its entries first (points, drafts), so the cap counts what
    it keeps. Either way the entries past the cap are counted under `dropped["entry_cap"]`."""

    candidates: list[Candidate] = field(default_factory=list)
    validators: Validators | None = None  # save only after the candidates are committed
    not_modified: bool = False
    dropped: dict[str, int] = field(default_factory=dict)  # entries left out, by reason
    cap: int | None = None  # the source's max_entries

    def drop(self, reason: str, n: int = 1) -> None:
        """Count `n` entries left out for `reason` (a counter `discover/dropped_<reason>`)."""
        self.dropped[reason] = self.dropped.get(reason, 0) + n

    def capped(self, entries: Sequence[E]) -> Sequence[E]:
        """The first `cap` entries to read; the rest count under `entry_cap` unread."""
        if self.cap is not None and len(entries) > self.cap:
            self.drop("entry_cap", len(entries) - self.cap)
            return entries[: self.cap]
        return entries

    def add(self, candidate: Candidate) -> bool:
        """Keep a candidate unless the cap is reached (then it counts under `entry_cap`); True if kept."""
        if self.cap is not None and len(self.candidates) >= self.cap:
            self.drop("entry_cap")
            return False
        self.candidates.append(candidate)
        return True


class Source(Protocol):
    """A kind of source: built from its config, it turns the shared Fetcher into Candidates.

    `discover()` raises SourceError / FetchError for a source that cannot be read; the pipeline records
    it on the source's health and goes on with the other sources."""

    kind: ClassVar[str]
    # Entries are anchors on one page (`page#entry`): the pipeline keeps the #fragment in the item's key.
    keeps_fragment: ClassVar[bool]
    config: SourceSettings

    def __init__(self, config: SourceSettings) -> None: ...

    async def discover(self, ctx: SourceContext) -> SourceResult: ...

    @classmethod
    def own_article(cls, page: Page, anchor: str, max_chars: int) -> Article | None:
        """The article of an anchored entry that lives on the fetched page itself, or None."""
        ...


class BaseSource:
    """Defaults for the traits of `Source`; built-ins subclass it, and so may an extension."""

    kind: ClassVar[str] = ""
    keeps_fragment: ClassVar[bool] = False

    def __init__(self, config: SourceSettings) -> None:
        self.config = config

    async def discover(self, ctx: SourceContext) -> SourceResult:
        raise NotImplementedError

    @classmethod
    def own_article(cls, page: Page, anchor: str, max_chars: int) -> Article | None:
        return None


SourceClass = TypeVar("SourceClass", bound=type[Source])

SOURCES: dict[str, type[Source]] = {}
_TRAITS = ("kind", "keeps_fragment", "discover", "own_article")
_loaded: set[str] = set()  # "builtins", "plugins" once each has been loaded in this process


def register(*kinds: str) -> Callable[[SourceClass], SourceClass]:
    """Register a source class under each of `kinds` (the first is usually its own `kind`)."""

    def deco(cls: SourceClass) -> SourceClass:
        for kind in kinds:
            held = SOURCES.get(kind)
            if held is not None and _is_builtin(cls) and not _is_builtin(held):
                continue  # a plugin replaced this built-in kind; importing the built-in later keeps it so
            SOURCES[kind] = cls
        return cls

    return deco


def _is_builtin(cls: type) -> bool:
    return cls.__module__.startswith(f"{__package__}.")


def build_source(config: SourceSettings) -> Source:
    _load_plugins()
    if config.kind not in SOURCES and config.kind in BUILTIN_KINDS:
        importlib.import_module(f"{__package__}.{BUILTIN_KINDS[config.kind]}")  # registers its kinds
    try:
        factory = SOURCES[config.kind]
    except KeyError:
        raise ConfigError(
            f"sources[{config.name}].kind: unknown kind '{config.kind}'; known kinds: {', '.join(known_kinds())}"
        ) from None
    return factory(config)


def known_kinds() -> list[str]:
    """Every kind, so config can be checked before a run starts (not when discover reaches it); the
    built-ins by name, without importing their modules.

    Raises ConfigError naming the distribution when an installed plugin cannot be loaded."""
    _load_plugins()
    return sorted({*BUILTIN_KINDS, *SOURCES})


def anchored_article(page: Page, anchor: str, max_chars: int) -> Article | None:
    """The article of the entry `#anchor` on `page`, from the kinds whose entries are anchors (None if no
    such kind finds it there)."""
    _load()
    for cls in dict.fromkeys(SOURCES.values()):  # each class once, in registration order
        if cls.keeps_fragment and (article := cls.own_article(page, anchor, max_chars)) is not None:
            return article
    return None


def _load() -> None:
    """Every kind's class: the built-in modules imported, the plugins loaded."""
    if "builtins" not in _loaded:
        for module in dict.fromkeys(BUILTIN_KINDS.values()):
            importlib.import_module(f"{__package__}.{module}")  # each registers its kinds on import
        _loaded.add("builtins")
    _load_plugins()


def _load_plugins() -> None:
    if "plugins" not in _loaded:
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in SOURCES or ep.name in BUILTIN_KINDS:  # a plugin may replace a built-in: say so
                log.info("source kind '%s' is provided by the plugin %s", ep.name, ep.value)
            register(ep.name)(_plugin_class(ep))
        _loaded.add("plugins")


def _plugin_class(ep: metadata.EntryPoint) -> type[Source]:
    """The class an entry point names, checked for the traits of `Source`; ConfigError naming the
    distribution (never a traceback) when it cannot be imported or is not a source class."""
    dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else "an unknown distribution"
    where = f"source kind '{ep.name}' from {dist} ({ep.value})"
    try:
        obj = ep.load()
    except Exception as exc:
        log.debug("loading %s failed", where, exc_info=True)
        raise ConfigError(
            f"{where} cannot be loaded: {type(exc).__name__}: {exc}. Fix or uninstall that package"
        ) from None
    missing = [t for t in _TRAITS if not hasattr(obj, t)] if isinstance(obj, type) else list(_TRAITS)
    if missing:
        raise ConfigError(
            f"{where} is not a source class (missing {', '.join(missing)}); "
            "subclass curator.sources.BaseSource. Fix or uninstall that package"
        )
    cls: type[Source] = obj
    return cls
