"""Store: items (one per canonical URL), their sources, pages, articles, enrichments, states and retries."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from datetime import datetime

from curator.models import (
    Article,
    Candidate,
    Enrichment,
    Item,
    ItemState,
    Page,
    SourceRef,
    Validators,
    WorkItem,
)
from curator.packing import PackedPage, pack_html
from curator.store.base import RETRY_CAP, StoreBase, marks, now_utc, parse_ts, ts

# An item that moves on is no longer any worker's (curator/store/claims.py).
UNCLAIM = "claimed_by=NULL, claimed_until=NULL"
_WORK_COLUMNS = "i.id, i.url, i.canonical_url, i.title, i.snippet"
# What an Item is made of (not the stored page: an item list never holds every page's HTML in memory).
_ITEM_COLUMNS = ("i.id, i.canonical_url, i.url, i.title, i.state, i.reason, i.published_at, i.discovered_at, "
                 "i.article, i.story_id")


def _work_item(row: sqlite3.Row, stand_in: str | None = None) -> WorkItem:
    return WorkItem(id=row["id"], url=row["url"], canonical_url=row["canonical_url"], title=row["title"],
                    snippet=row["snippet"],
                    stand_in=Enrichment.model_validate_json(stand_in) if stand_in else None)



# A page's text is stored packed (curator/packing.py: zstd, level 1).

class ItemQueries(StoreBase):
    # ---- writing ---------------------------------------------------------------------------
    def add_candidate(self, cand: Candidate, canonical: str) -> tuple[int, bool]:
        """Insert a candidate (or attach its source to the existing item). Returns (item id, is new)."""
        now = ts(self.now())
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO items(canonical_url, url, title, snippet, published_at, discovered_at, state, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'discovered', ?) ON CONFLICT(canonical_url) DO NOTHING",
                (canonical, cand.url, cand.title, cand.snippet[:2000], ts(cand.published_at), now, now),
            )
            is_new = cur.rowcount == 1
            item_id = self.db.execute("SELECT id FROM items WHERE canonical_url=?", (canonical,)).fetchone()[0]
            self.db.execute(
                "INSERT INTO item_sources(item_id, source, url, seen_at, discussion_url, points, submitter, "
                "submitter_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(item_id, source) DO UPDATE SET "
                "points=COALESCE(excluded.points, item_sources.points)",
                (item_id, cand.source, cand.url, now, cand.discussion_url, cand.points, cand.submitter, cand.submitter_url),
            )
        return int(item_id), is_new

    def waiting(self, state: ItemState) -> list[WorkItem]:
        """Items at `state` (retryable failures come back here through `requeue_retryable`)."""
        rows = self.db.execute(f"SELECT {_WORK_COLUMNS} FROM items i WHERE i.state=? ORDER BY i.id", (state.value,))
        return [_work_item(r) for r in rows]

    def waiting_urls(self, state: ItemState) -> list[tuple[int, str]]:
        """(id, URL) of the items at `state`, in id order: what the fetch stage orders its work by; it reads
        each item whole (`work_item_at`) when its turn comes, so a run holds no snippet of every item."""
        rows = self.db.execute("SELECT id, url FROM items WHERE state=? ORDER BY id", (state.value,))
        return [(int(r["id"]), str(r["url"])) for r in rows]

    def requeue_retryable(self) -> int:
        """Failed items whose reason is retryable go back to the input of the stage that failed, told by what
        is stored: a page's HTML is extracted again (never fetched again), an article is enriched again, an
        item with neither is fetched again. At most RETRY_CAP attempts."""
        with self.transaction():
            cur = self.db.execute(
                "UPDATE items SET state=CASE WHEN html IS NOT NULL THEN 'fetched' "
                "WHEN article IS NOT NULL THEN 'extracted' ELSE 'discovered' END, "
                "retryable=0, reason=NULL, updated_at=?, " + UNCLAIM + " WHERE state='failed' AND retryable=1 AND attempts < ?",
                (ts(now_utc()), RETRY_CAP),
            )
        return int(cur.rowcount)

    def set_state(self, item_id: int, state: ItemState, reason: str | None = None, *, retryable: bool = False) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE items SET state=?, reason=?, retryable=?, attempts=attempts+?, updated_at=?, " + UNCLAIM + " WHERE id=?",
                (state.value, reason, int(retryable), 1 if state == ItemState.FAILED else 0, ts(now_utc()), item_id),
            )

    def is_last_attempt(self, item_id: int) -> bool:
        """Whether one more failure would leave the item failed for good (RETRY_CAP attempts)."""
        row = self.db.execute("SELECT attempts FROM items WHERE id=?", (item_id,)).fetchone()
        return row is None or row["attempts"] + 1 >= RETRY_CAP

    def page_validators(self, item_id: int) -> Validators:
        row = self.db.execute("SELECT etag, last_modified FROM items WHERE id=?", (item_id,)).fetchone()
        return Validators(etag=row["etag"], last_modified=row["last_modified"])

    def save_page(self, item_id: int, page: Page | PackedPage) -> None:
        """Store the fetched page (a packed one as it is: the fetcher packed it once, for the parser too)."""
        packed = page if isinstance(page, PackedPage) else PackedPage.of(page)
        page, html = packed.page, packed.html
        with self.transaction():
            self.db.execute(
                "UPDATE items SET state='fetched', reason=NULL, final_url=?, etag=?, last_modified=?, encoding=?, "
                "html=?, updated_at=?, " + UNCLAIM + " WHERE id=?",
                (
                    page.final_url,
                    page.validators.etag,
                    page.validators.last_modified,
                    page.encoding,
                    html,
                    ts(now_utc()),
                    item_id,
                ),
            )

    def load_page(self, item_id: int) -> Page:
        """The stored page of a fetched item (empty text if none is stored)."""
        return self.load_packed(item_id).unpack()

    def load_packed(self, item_id: int) -> PackedPage:
        """The stored page of a fetched item, its text still packed (it is unpacked by the parser that reads it)."""
        row = self.db.execute("SELECT url, final_url, encoding, etag, last_modified, html FROM items WHERE id=?",
                              (item_id,)).fetchone()
        page = Page(
            url=row["url"],
            final_url=row["final_url"] or row["url"],
            status=200,
            encoding=row["encoding"],
            validators=Validators(etag=row["etag"], last_modified=row["last_modified"]),
        )
        return PackedPage(page, bytes(row["html"]) if row["html"] else pack_html(""))

    def save_article(self, item_id: int, article: Article, content_hash: str) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE items SET state='extracted', reason=NULL, article=?, lang=?, content_hash=?, html=NULL, "
                "updated_at=?, " + UNCLAIM + " WHERE id=?",
                (article.model_dump_json(), article.lang, content_hash, ts(now_utc()), item_id),
            )

    def save_enrichment(self, item_id: int, enrichment: Enrichment, content_hash: str) -> None:
        now = ts(now_utc())
        with self.transaction():
            self.db.execute(
                "INSERT INTO enrichments(item_id, content_hash, backend, model, prompt_sha, fields, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(item_id) DO UPDATE SET content_hash=excluded.content_hash, "
                "backend=excluded.backend, model=excluded.model, prompt_sha=excluded.prompt_sha, "
                "fields=excluded.fields, created_at=excluded.created_at",
                (item_id, content_hash, enrichment.backend, enrichment.model, enrichment.prompt_sha,
                 enrichment.model_dump_json(), now),
            )
            self.db.execute(
                "UPDATE items SET state='enriched', reason=NULL, story_id=COALESCE(story_id, id), updated_at=?, "
                + UNCLAIM + " WHERE id=?",
                (now, item_id),
            )

    def refetch(self, item_id: int) -> None:
        """Send an item back to be fetched as new: its story is forgotten (a stand-in for an editor's
        find whose page could not be read, retried when the editor adds it again). The stand-in's
        enrichment stays until the real one replaces it, so the editor's words can be kept then."""
        with self.transaction():
            self.db.execute("UPDATE items SET state='discovered', reason=NULL, retryable=0, story_id=NULL, "
                            "updated_at=?, " + UNCLAIM + " WHERE id=?", (ts(now_utc()), item_id))

    def stand_ins(self, max_attempts: int = RETRY_CAP) -> list[WorkItem]:
        """Editor's finds standing in for a page not read yet (enriched by "editor"), in the pool or in a
        draft not yet published, tried fewer than `max_attempts` times; each carries its stand-in enrichment."""
        rows = self.db.execute(
            f"SELECT {_WORK_COLUMNS}, e.fields AS enrichment FROM items i JOIN enrichments e ON e.item_id=i.id "
            "WHERE e.backend='editor' AND i.attempts < ? AND (i.state='enriched' OR (i.state='drafted' AND "
            "i.id IN (SELECT ii.item_id FROM issue_items ii JOIN issues s ON s.id=ii.issue_id WHERE s.state='draft'))) "
            "ORDER BY i.id",
            (max_attempts,),
        )
        return [_work_item(r, r["enrichment"]) for r in rows]

    def replacing_stand_ins(self) -> list[WorkItem]:
        """Editor's finds whose page was read at last (extracted) while their stand-in is still stored; their
        `title` and `snippet` are the editor's words (the note)."""
        rows = self.db.execute(
            f"SELECT {_WORK_COLUMNS} FROM items i JOIN enrichments e ON e.item_id=i.id "
            "WHERE i.state='extracted' AND e.backend='editor' ORDER BY i.id"
        )
        return [_work_item(r) for r in rows]

    def release_story(self, item_id: int) -> None:
        """The item is clustered anew on this run (a stand-in whose real page was just fetched)."""
        with self.transaction():
            self.db.execute("UPDATE items SET story_id=NULL, updated_at=? WHERE id=?", (ts(now_utc()), item_id))

    def update_enrichment(self, item_id: int, enrichment: Enrichment) -> None:
        """Rewrite an item's stored enrichment fields in place (state and cache key unchanged)."""
        with self.transaction():
            self.db.execute("UPDATE enrichments SET fields=? WHERE item_id=?", (enrichment.model_dump_json(), item_id))

    def set_story_ids(self, assignments: dict[int, int]) -> int:
        """Write the stories clustering found (item id -> story id); returns how many items moved."""
        now = ts(now_utc())
        moved = 0
        with self.transaction():
            for item_id, story_id in assignments.items():
                cur = self.db.execute(
                    "UPDATE items SET story_id=?, updated_at=? WHERE id=? AND story_id IS DISTINCT FROM ?",
                    (story_id, now, item_id, story_id),
                )
                moved += cur.rowcount
        return moved

    # ---- reading items back as models ------------------------------------------------------
    def items(self, *, ids: Iterable[int] | None = None, states: Iterable[ItemState] | None = None,
              urls: Iterable[str] | None = None) -> list[Item]:
        """Items as models, filtered by id, state and/or URL as given (all optional), in id order."""
        where: list[str] = []
        params: list[object] = []
        for column, values in (("i.id", ids), ("i.state", None if states is None else [s.value for s in states]),
                               ("i.url", urls)):
            if values is not None:
                given: list[object] = list(values)
                where.append(f"{column} IN ({marks(given)})" if given else "1=0")
                params.extend(given)
        return self._select_items(" AND ".join(where) or "1=1", params)

    def item(self, item_id: int) -> Item | None:
        found = self.items(ids=[item_id])
        return found[0] if found else None

    def cluster_pool(self, since: datetime) -> dict[int, int | None]:
        """Item id -> story id (None: not in a story yet) of the pool clustering works on: items with an
        article that are not skipped or failed, and are either not in a story yet or dated (published,
        else discovered) on or after `since`. Ids only: `cluster_items` reads their articles a slice at a time."""
        return {r[0]: r[1] for r in self.db.execute(
            "SELECT i.id, i.story_id FROM items i WHERE i.article IS NOT NULL AND i.state NOT IN ('skipped', 'failed') "
            "AND (i.story_id IS NULL OR COALESCE(i.published_at, i.discovered_at) >= ?) ORDER BY i.id",
            [since.isoformat(timespec="seconds")])}

    def cluster_items(self, ids: Iterable[int], *, slice_size: int = 200) -> Iterator[Item]:
        """The items of `ids` (as `cluster_pool` gave them), read `slice_size` at a time: a run's memory
        holds one slice of articles, not the whole window's."""
        given = list(ids)
        for start in range(0, len(given), slice_size):
            yield from self.items(ids=given[start:start + slice_size])

    def enriched_story_ids(self) -> set[int]:
        """Stories with an enriched member (an extracted item's own enrichment is stale: not counted)."""
        return {r[0] for r in self.db.execute(
            "SELECT DISTINCT i.story_id FROM items i JOIN enrichments e ON e.item_id = i.id "
            "WHERE i.story_id IS NOT NULL AND i.state != 'extracted'")}

    def _select_items(self, where: str, params: list[object]) -> list[Item]:
        """`where` is written in this package only (the typed filters above), never by a caller."""
        rows = self.db.execute(
            f"SELECT {_ITEM_COLUMNS}, e.fields AS enrichment FROM items i LEFT JOIN enrichments e ON e.item_id=i.id "
            f"WHERE {where} ORDER BY i.id",
            params,
        ).fetchall()
        refs = self._source_refs([r["id"] for r in rows])
        return [
            Item(
                id=r["id"],
                canonical_url=r["canonical_url"],
                url=r["url"],
                title=r["title"],
                state=ItemState(r["state"]),
                reason=r["reason"],
                published_at=parse_ts(r["published_at"]),
                discovered_at=parse_ts(r["discovered_at"]) or now_utc(),
                sources=refs[r["id"]],
                article=Article.model_validate_json(r["article"]) if r["article"] else None,
                enrichment=Enrichment.model_validate_json(r["enrichment"]) if r["enrichment"] else None,
                story_id=r["story_id"],
            )
            for r in rows
        ]

    def _source_refs(self, ids: list[int]) -> dict[int, list[SourceRef]]:
        refs: dict[int, list[SourceRef]] = {i: [] for i in ids}
        if not ids:
            return refs
        given: list[object] = list(ids)
        for s in self.db.execute(
            f"SELECT * FROM item_sources WHERE item_id IN ({marks(given)}) ORDER BY seen_at, source", given
        ):
            refs[s["item_id"]].append(
                SourceRef(
                    source=s["source"],
                    url=s["url"],
                    seen_at=parse_ts(s["seen_at"]) or now_utc(),
                    discussion_url=s["discussion_url"],
                    points=s["points"],
                    submitter=s["submitter"],
                    submitter_url=s["submitter_url"],
                )
            )
        return refs

    def state_counts(self) -> dict[str, int]:
        """{"state" or "state:reason": items}, in key order. Grouped by the columns, so the plan reads the
        (state, reason) index alone, not every row of the pool; the keys are joined here."""
        rows = self.db.execute("SELECT state, reason, COUNT(*) AS n FROM items GROUP BY state, reason").fetchall()
        counts = {r["state"] + (f":{r['reason']}" if r["reason"] is not None else ""): r["n"] for r in rows}
        return dict(sorted(counts.items()))

    def count_items(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM items").fetchone()[0])
