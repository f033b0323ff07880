"""The board's search page: GET /search?q=…&state=…&section=…&source=…&since=…&until=…&published=yes|no.

The parameters are read here (a bad date or state is the editor's typo: said on the page, with a 400,
never a 500); the search itself is Store.search, the same as `curator search`. Every piece of text a
hit shows is rendered by the template with autoescaping; the match marks are `<mark>` around escaped
pieces (Snippet.parts), never markup taken from the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from starlette.datastructures import QueryParams

from curator.errors import UsageError
from curator.models import ItemState
from curator.models.search import SearchFilters, SearchHit
from curator.search import Query, Snippet, parse_query, snippet
from curator.store import Store

PAGE_LIMIT = 50


@dataclass
class SearchPage:
    """What search.html shows: the form as the editor filled it, the hits or why there are none."""

    form: dict[str, str]
    states: list[str] = field(default_factory=lambda: [s.value for s in ItemState])
    hits: list[tuple[SearchHit, Snippet]] = field(default_factory=list)
    error: str | None = None
    searched: bool = False


def _day(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{name} must be a day like 2026-11-23, not {value[:20]!r}", reason="bad_search") from None


def read_params(params: QueryParams) -> tuple[dict[str, str], Query | None, SearchFilters]:
    """The form's fields (for the page to show again), the parsed query (None when empty), the filters."""
    form = {k: params.get(k, "").strip() for k in ("q", "state", "section", "source", "since", "until", "published")}
    state = form["state"]
    if state and state not in {s.value for s in ItemState}:
        raise UsageError(f"unknown state {state[:20]!r}", reason="bad_search")
    published = {"yes": True, "no": False, "": None}.get(form["published"], None)
    filters = SearchFilters(states=[ItemState(state)] if state else None, section=form["section"] or None,
                            source=form["source"] or None, since=_day(form["since"], "since"),
                            until=_day(form["until"], "until"), published=published, limit=PAGE_LIMIT)
    return form, (parse_query(form["q"]) if form["q"] else None), filters


def search_page(store: Store, params: QueryParams) -> SearchPage:
    """Run the search the page asked for (on the board's store thread); errors become the page's message."""
    page = SearchPage(form={k: params.get(k, "")[:500] for k in ("q", "state", "section", "source", "since",
                                                                  "until", "published")})
    try:
        page.form, query, filters = read_params(params)
        if query is None:
            return page
        words = query.words()
        page.hits = [(hit, snippet(hit.texts, words)) for hit in store.search(query, filters)]
        page.searched = True
    except UsageError as exc:  # the editor's typo; a store that cannot answer is the board's 500
        page.error = str(exc)
    return page
