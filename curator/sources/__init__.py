"""Sources: where candidate links come from, one class per kind (the registry is `sources.registry`).

    @register("rss", "atom", "feed")
    class RssSource(BaseSource): ...

A third party adds a kind through the entry-point group `curator.sources`; see `curator.sources.registry`.
"""

from __future__ import annotations

from curator.sources.registry import (
    ENTRY_POINT_GROUP,
    SOURCES,
    BaseSource,
    Source,
    SourceContext,
    SourceResult,
    anchored_article,
    build_source,
    known_kinds,
    register,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "SOURCES",
    "BaseSource",
    "Source",
    "SourceContext",
    "SourceResult",
    "anchored_article",
    "build_source",
    "known_kinds",
    "register",
]
