"""Where an item is in the pipeline: the one enum the CLI's options name (`search --state`), kept out of
`curator.models` so `curator --help` builds its options without pydantic."""

from __future__ import annotations

import enum


class ItemState(enum.StrEnum):
    """Where an item is in the pipeline; `skipped` and `failed` carry a reason beside them."""

    DISCOVERED = "discovered"
    FETCHED = "fetched"
    EXTRACTED = "extracted"
    ENRICHED = "enriched"
    DRAFTED = "drafted"
    PUBLISHED = "published"
    SKIPPED = "skipped"
    FAILED = "failed"
