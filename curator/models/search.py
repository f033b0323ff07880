"""What a search asks of the store, and what each hit carries back (curator/search.py, Store.search)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from curator.models.core import _Model
from curator.states import ItemState


class SearchFilters(_Model):
    """Narrowing a search: every filter given must hold (None = any)."""

    states: list[ItemState] | None = None
    section: str | None = None  # the enrichment's section, or the section it was drafted / published in
    source: str | None = None  # a configured source name (or "manual")
    since: date | None = None  # dated (published, else discovered) on or after this day, UTC
    until: date | None = None  # … on or before this day, UTC
    published: bool | None = None  # True: already ran in an issue; False: never ran
    limit: int = Field(default=20, ge=1, le=500)


class RanIn(_Model):
    """The published issue an item already ran in (ours, or one imported into the archive)."""

    number: int
    date: str | None = None  # the date as recorded (YYYY-MM-DD)


class SearchHit(_Model):
    """One matching item (or archive link), best first; `texts` are where its snippet is cut from."""

    id: int | None  # None: a link of a past issue that no stored item carries (see archive_id)
    archive_id: int | None = None
    title: str
    url: str
    state: ItemState
    sources: list[str] = Field(default_factory=list)
    section: str | None = None
    tags: list[str] = Field(default_factory=list)
    date: datetime | None = None  # published, else discovered
    ran_in: RanIn | None = None
    rank: float  # bm25 (SQLite) or ts_rank_cd (Postgres), best first; only the order means anything
    texts: list[str] = Field(default_factory=list, exclude=True)
