"""Store: the reads `draft`, the review board and `status` make of one issue's window, in a fixed number of
queries however large the pool grows (a year of items must not make a board page slower than the first week).

Plain SQL that SQLite and Postgres both speak (no json_extract, no COALESCE in an indexed predicate): the
window's date test is written as two ranges of one index, `published_at` when an item has one, else
`discovered_at`, and the stories decisions name are found through an index on story_id (migration
`window_indexes`); the state filter is applied to the ids those find, so no plan scans the pool.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from curator.models import Item
from curator.store.base import StoreBase, marks, ts

# A longer IN list is sent in slices: SQLite's host-parameter limit, and a plan that stays an index lookup.
_SLICE = 500

# Ids of the items dated (published, else discovered) inside [?, ?]: two ranges of one index.
_DATED = ("SELECT w.id FROM items w WHERE w.published_at >= ? AND w.published_at <= ? "
          "UNION SELECT w.id FROM items w WHERE w.published_at IS NULL AND w.discovered_at >= ? AND w.discovered_at <= ?")
# The stories the decisions on issue ? name: by story id, or by the id of an item the editor added.
_NAMED = ("SELECT d.story_id FROM decisions d WHERE d.issue_number = ? AND d.story_id IS NOT NULL "
          "UNION SELECT COALESCE(j.story_id, j.id) FROM items j JOIN decisions d ON d.item_id = j.id "
          "WHERE d.issue_number = ?")
# Ids of every member of those stories (a story's id is its first item's id, and that item's story_id is
# NULL until clustering sets it): a swap-in or an editor's add survives a regeneration although its
# story left the window since. Each branch is an index lookup, not a scan of the pool.
_DECIDED = (f"SELECT w.id FROM items w WHERE w.story_id IN ({_NAMED}) "
            f"UNION SELECT w.id FROM items w WHERE w.story_id IS NULL AND w.id IN ({_NAMED})")
_STATES = "i.state IN ('enriched', 'drafted')"


def _slices(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), _SLICE):
        yield values[start:start + _SLICE]


class WindowQueries(StoreBase):
    if TYPE_CHECKING:  # ItemQueries' reader, which Store composes with this mixin
        def _select_items(self, where: str, params: list[object]) -> list[Item]: ...

    def window_items(self, start: datetime, end: datetime, *, issue_number: int | None = None) -> list[Item]:
        """Enriched and drafted items dated (published, else discovered) inside [start, end], plus, with
        `issue_number`, every member of the stories that issue's decisions name; in id order. The caller
        applies its exact window rule (select.citable) on top: this is the superset it needs, read in two
        queries (items with their enrichment, then their sources) instead of the whole pool."""
        bounds: list[object] = [ts(start), ts(end)] * 2
        if issue_number is None:
            return self._select_items(f"{_STATES} AND i.id IN ({_DATED})", bounds)
        return self._select_items(f"{_STATES} AND i.id IN ({_DATED} UNION {_DECIDED})",
                                  [*bounds, *[issue_number] * 4])

    def window_items_per_source(self, start: datetime, end: datetime) -> dict[str, int]:
        """Per source: items dated inside [start, end] that can still be drafted (not skipped, failed or
        published); what `items_per_source` answers, through the date index."""
        return {r[0]: r[1] for r in self.db.execute(
            "SELECT s.source, COUNT(DISTINCT i.id) FROM item_sources s JOIN items i ON i.id = s.item_id "
            f"WHERE i.id IN ({_DATED}) AND i.state NOT IN ('skipped', 'failed', 'published') GROUP BY s.source",
            [ts(start), ts(end)] * 2)}

    def window_stories_per_section(self, start: datetime, end: datetime, min_score: int) -> dict[str, int]:
        """Enriched stories dated inside [start, end] with a member scoring at least `min_score`, per section
        (what `stories_per_section` answers; the enrichment's fields are read here, not by json_extract)."""
        stories: dict[str, set[int]] = {}
        for r in self.db.execute(
            "SELECT COALESCE(i.story_id, i.id) AS story, e.fields AS fields FROM items i "
            f"JOIN enrichments e ON e.item_id = i.id WHERE {_STATES} AND i.id IN ({_DATED})",
            [ts(start), ts(end)] * 2,
        ):
            fields = json.loads(r["fields"])
            if isinstance(fields.get("score"), int | float) and fields["score"] >= min_score:
                stories.setdefault(fields.get("section"), set()).add(r["story"])
        return {section: len(ids) for section, ids in stories.items()}

    def archive_issue_numbers(self, canonical_urls: Iterable[str],
                              norm_titles: Iterable[str]) -> tuple[dict[str, int | None], dict[str, int | None]]:
        """({canonical URL: issue number}, {normalised title: issue number}) for those the archive carries;
        each the archive's first row for it (the one `archive_match` finds), in slices of a few hundred."""
        out: tuple[dict[str, int | None], dict[str, int | None]] = ({}, {})
        for found, column, values in ((out[0], "canonical_url", canonical_urls), (out[1], "norm_title", norm_titles)):
            for part in _slices(sorted(set(values))):
                given: list[object] = list(part)
                rows = self.db.execute(
                    f"SELECT a.{column} AS k, a.issue_number AS n FROM archive a WHERE a.id IN "
                    f"(SELECT MIN(b.id) FROM archive b WHERE b.{column} IN ({marks(given)}) GROUP BY b.{column})",
                    given,
                )
                found.update({r["k"]: r["n"] for r in rows})
        return out
