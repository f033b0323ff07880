"""Store: the full-text index of items (title, summary, article, sources, tags) and the search over it.

    items / enrichments / item_sources ─(SQL triggers)─► search_dirty ─► refresh_search_index ─► search_fts
    Query (curator/search.py) + SearchFilters ─► search ─► SearchHit, best first (bm25)

The index holds text already cut by jieba (curator.search.index_tokens) in an FTS5 table whose unicode61
tokenizer only splits on the spaces, rowid = item id. Triggers (migration `search_index`) queue every item
whose indexed text changed, whoever wrote it (a stage, re-keying, an older curator); the queue is worked
off before each search and at the end of a run, so no write path has to remember the index. The SQL for
Postgres sits beside SQLite's, one function per dialect: the same tokens in a `tsvector` ('simple').
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from curator.errors import StoreError
from curator.models import Article, Enrichment, ItemState
from curator.models.search import RanIn, SearchFilters, SearchHit
from curator.store.base import StoreBase, marks, parse_ts

if TYPE_CHECKING:  # curator.search (the tokeniser, its regexes) loads on the first search or index write,
    from collections.abc import Iterator

    from curator.search import Query  # not with every Store (`status` never needs it)

log = logging.getLogger(__name__)

BODY_CHARS = 20_000  # an article's first this many characters are indexed (a long one is still found)
REFRESH_BATCH = 200
PARALLEL_REFRESH_MIN = 1000  # from this many queued items a collect's refresh cuts words in its worker processes
_Doc = tuple[int, str, str, str, str]  # item id, then the tokens of title, summary, body, meta
BUSY_WAIT_S = 0.5  # how long a search waits for a run's write lock before searching the index as it stands
# Column weights: a word in the title counts most, then the summary, the source / tags / section, the text.
WEIGHTS = {"title": 10.0, "summary": 5.0, "body": 1.0, "meta": 3.0}

# Dated as the windows date an item: published, else discovered.
_DATE = "COALESCE(i.published_at, i.discovered_at)"
# An item already ran when the archive holds its link (our published issues, or an imported weekly's),
# or it was published in one of our issues.
_RAN = (
    "(SELECT json_array(a.issue_number, a.issue_date) FROM archive a WHERE a.canonical_url = i.canonical_url "
    "AND a.issue_number IS NOT NULL ORDER BY a.issue_number LIMIT 1)"
)
_RAN_OURS = (
    "(SELECT json_array(s.number, substr(s.published_at, 1, 10)) FROM issue_items ii "
    "JOIN issues s ON s.id = ii.issue_id WHERE ii.item_id = i.id AND s.state = 'published' "
    "AND i.state = 'published' ORDER BY s.number LIMIT 1)"
)
_SECTION = "json_extract(e.fields, '$.section')"


def _filter_sql(filters: SearchFilters, ran: str, section: str) -> tuple[list[str], list[object]]:
    """WHERE parts and their parameters, shared by both dialects (`?` placeholders)."""
    where: list[str] = []
    params: list[object] = []
    if filters.states is not None:
        states: list[object] = [s.value for s in filters.states]
        where.append(f"i.state IN ({marks(states)})" if states else "0")
        params.extend(states)
    if filters.section:
        where.append(f"({section} = ? OR EXISTS (SELECT 1 FROM issue_items ii WHERE ii.item_id = i.id "
                     "AND ii.section = ?))")
        params.extend([filters.section, filters.section])
    if filters.source:
        where.append("EXISTS (SELECT 1 FROM item_sources s WHERE s.item_id = i.id AND s.source = ?)")
        params.append(filters.source)
    if filters.since:
        where.append(f"{_DATE} >= ?")
        params.append(datetime.combine(filters.since, time()).isoformat() + "+00:00")
    if filters.until:  # the whole day: before the next midnight
        where.append(f"{_DATE} < ?")
        params.append(datetime.combine(filters.until + timedelta(days=1), time()).isoformat() + "+00:00")
    if filters.published is not None:
        where.append(f"({ran} IS {'NOT ' if filters.published else ''}NULL)")
    return where, params


def search_docs(batch: list[_Doc]) -> list[_Doc]:
    """The index's rows for a batch of (item id, title, summary, body, meta) texts: each text as its tokens
    (jieba's cut, in whichever process runs this)."""
    from curator.search import index_tokens

    return [(item_id, *map(index_tokens, texts)) for item_id, *texts in batch]  # type: ignore[misc]


class SearchQueries(StoreBase):
    """The search index: kept by triggers + `refresh_search_index`, read by `search`."""

    def search_pending(self) -> int:
        """Items whose indexed text changed since the index was last brought up to date."""
        return int(self.db.execute("SELECT COUNT(DISTINCT item_id) FROM search_dirty").fetchone()[0])

    def refresh_search_index(self, *, workers: int = 0, max_bytes: int = 0) -> int:
        """Re-index the items the triggers queued; returns how many. Safe beside writers: an item written
        again while this runs is queued again (a later seq) and indexed on the next refresh. With `workers`
        (2 or more: the end of a collect) a long queue is cut into words in that many processes."""
        top = self.db.execute("SELECT MAX(seq) FROM search_dirty").fetchone()[0]
        if top is None:
            return 0
        ids = [int(r[0]) for r in self.db.execute("SELECT DISTINCT item_id FROM search_dirty WHERE seq <= ?", (top,))]
        if len(ids) > 1000:
            log.info("indexing %d items for search (once; later searches are quick)", len(ids))
        texts = ([(item_id, *self._search_texts(item_id)) for item_id in ids[start:start + REFRESH_BATCH]]
                 for start in range(0, len(ids), REFRESH_BATCH))
        if workers >= 2 and len(ids) >= PARALLEL_REFRESH_MIN:
            from curator.workers import map_batches

            made: Iterator[list[_Doc]] = map_batches(search_docs, texts, workers=workers, max_bytes=max_bytes,
                                                     words=True)
        else:
            made = map(search_docs, texts)
        for docs in made:
            batch = [d[0] for d in docs]
            with self.transaction():
                if self.dialect.name == "postgres":  # a tsvector per item, weighted A title … D text
                    self.db.executemany("DELETE FROM search_docs WHERE item_id = ?", [(i,) for i in batch])
                    self.db.executemany(POSTGRES_UPSERT.replace("%s", "?"),
                                        [(i, t, sm, b, m) for i, t, sm, b, m in docs if any((t, sm, b, m)) and i > 0])
                    continue
                self.db.executemany("DELETE FROM search_fts WHERE rowid = ?", [(i,) for i in batch])
                self.db.executemany("INSERT INTO search_fts(rowid, title, summary, body, meta) VALUES (?, ?, ?, ?, ?)",
                                    [d for d in docs if any(d[1:])])
        with self.transaction():
            self.db.execute("DELETE FROM search_dirty WHERE seq <= ?", (top,))
        return len(ids)

    def _refresh_if_free(self) -> None:
        """Bring the index up to date unless a run holds the write lock: a search reads while a run is
        going, on the index as it stands (the run indexes what it wrote when it ends)."""
        if self.dialect.name == "postgres":  # no single writer lock there: the refresh runs beside a run
            self.refresh_search_index()
            return
        self.db.execute(f"PRAGMA busy_timeout = {int(BUSY_WAIT_S * 1000)}")
        try:
            self.refresh_search_index()
        except StoreError as exc:
            log.info("search: %d changed items are not indexed yet (%s); a run in progress indexes them when "
                     "it ends", self.search_pending(), exc)
        finally:
            self.db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")

    def _search_texts(self, item_id: int) -> tuple[str, str, str, str]:
        """(title, summary, body, meta) texts of one item, to be cut into words (`search_docs`); a negative id
        is an archive link, by its title; all empty for one that is gone."""
        if item_id < 0:
            link = self.db.execute("SELECT title FROM archive WHERE id = ?", (-item_id,)).fetchone()
            return (link["title"], "", "", "") if link else ("", "", "", "")
        row = self.db.execute("SELECT i.title, i.snippet, i.article, e.fields FROM items i LEFT JOIN enrichments e "
                              "ON e.item_id = i.id WHERE i.id = ?", (item_id,)).fetchone()
        if row is None:
            return "", "", "", ""
        article = Article.model_validate_json(row["article"]) if row["article"] else None
        enrichment = Enrichment.model_validate_json(row["fields"]) if row["fields"] else None
        sources = [r[0] for r in self.db.execute("SELECT source FROM item_sources WHERE item_id = ?", (item_id,))]
        titles = [row["title"], article.title if article else "", enrichment.title if enrichment else ""]
        summary = [enrichment.summary if enrichment else "", row["snippet"], article.description or "" if article else ""]
        meta = [*sources, *(enrichment.tags if enrichment else []), enrichment.section if enrichment else "",
                article.sitename or "" if article else "", article.author or "" if article else ""]
        body = article.text[:BODY_CHARS] if article else ""
        return ("\n".join(dict.fromkeys(t for t in titles if t)), "\n".join(dict.fromkeys(s for s in summary if s)),
                body, "\n".join(m for m in meta if m))

    def search(self, query: Query, filters: SearchFilters | None = None) -> list[SearchHit]:
        """Items matching `query` and `filters`, best first (bm25, title and summary weighted above text)."""
        from curator.search import fts5_expression

        self._refresh_if_free()
        filters = filters or SearchFilters()
        ran = f"COALESCE({_RAN}, {_RAN_OURS})"
        if self.dialect.name == "postgres":
            ran = ran.replace("json_array(", "json_build_array(").replace(") FROM", ")::text FROM")
            sql, pg_params = postgres_search_sql(query, filters)
            ranked = self.db.execute(sql.replace("%s", "?"), pg_params).fetchall()  # past-issue links: SQLite only
            return self._read_hits(ranked, ran, {})
        where, params = _filter_sql(filters, ran, _SECTION)
        weights = ", ".join(str(WEIGHTS[c]) for c in ("title", "summary", "body", "meta"))
        # Two steps: rank on the index and the filters' light columns, then read the few hits' texts. One
        # query would carry every match's article through the sort (thousands for a common word).
        ranked = self.db.execute(
            f"SELECT search_fts.rowid AS id, bm25(search_fts, {weights}) AS rank FROM search_fts "
            "JOIN items i ON i.id = search_fts.rowid LEFT JOIN enrichments e ON e.item_id = i.id "
            f"WHERE search_fts MATCH ? {''.join(' AND ' + w for w in where)} ORDER BY rank, i.id LIMIT ?",
            [fts5_expression(query), *params, filters.limit],
        ).fetchall()
        ranked = sorted([*ranked, *self._rank_archive(query, filters, weights)],
                        key=lambda r: (r["rank"], r["id"]))[:filters.limit]
        if not ranked:
            return []
        links = {-r["id"]: float(r["rank"]) for r in ranked if r["id"] < 0}
        return self._read_hits(ranked, ran, self._archive_hits(links))

    def _read_hits(self, ranked: list[Any], ran: str, archived: dict[int, SearchHit]) -> list[SearchHit]:
        """The ranked ids' hits, with their texts read in one query."""
        if not ranked:
            return []
        order: list[object] = [r["id"] for r in ranked if r["id"] > 0]
        rows = {r["id"]: r for r in self.db.execute(
            f"SELECT i.id, i.title, i.url, i.state, i.snippet, i.article, e.fields, {_DATE} AS dated, {ran} AS ran "
            f"FROM items i LEFT JOIN enrichments e ON e.item_id = i.id WHERE i.id IN ({marks(order)})", order)}
        items = {h.id: h for h in self._hits([(rows[r["id"]], float(r["rank"])) for r in ranked if r["id"] in rows])}
        return [hit for r in ranked if (hit := items.get(r["id"]) or archived.get(-r["id"])) is not None]

    def _rank_archive(self, query: Query, filters: SearchFilters, weights: str) -> list[Any]:
        """Links of past issues (`archive import`, our own published issues) that no stored item carries:
        what ran before curator collected anything. Filters about items (section, source, a state but
        published, never published) leave them out."""
        from curator.search import fts5_expression

        if (filters.section or filters.source or filters.published is False
                or (filters.states is not None and ItemState.PUBLISHED not in filters.states)):
            return []
        where, params = [], []
        if filters.since:
            where.append("a.issue_date >= ?")
            params.append(filters.since.isoformat())
        if filters.until:
            where.append("a.issue_date <= ?")
            params.append(filters.until.isoformat())
        found: list[Any] = self.db.execute(
            f"SELECT search_fts.rowid AS id, bm25(search_fts, {weights}) AS rank FROM search_fts "
            "JOIN archive a ON a.id = -search_fts.rowid WHERE search_fts MATCH ? AND search_fts.rowid < 0 "
            "AND NOT EXISTS (SELECT 1 FROM items i WHERE i.canonical_url = a.canonical_url) "  # the item's hit says it
            "AND a.id = (SELECT MIN(b.id) FROM archive b WHERE b.canonical_url = a.canonical_url) "
            f"{''.join(' AND ' + w for w in where)} ORDER BY rank LIMIT ?",
            [fts5_expression(query), *params, filters.limit]).fetchall()
        return found

    def _archive_hits(self, links: dict[int, float]) -> dict[int, SearchHit]:
        """Archive id → its hit: the first issue that carried the link."""
        if not links:
            return {}
        given: list[object] = list(links)
        out: dict[int, SearchHit] = {}
        for r in self.db.execute(
                "SELECT a.id, a.url, a.title, (SELECT MIN(b.issue_number) FROM archive b WHERE b.canonical_url = "
                "a.canonical_url) AS number, a.issue_date FROM archive a "
                f"WHERE a.id IN ({marks(given)})", given):
            day = parse_ts(r["issue_date"])
            out[r["id"]] = SearchHit(
                id=None, archive_id=r["id"], title=r["title"] or r["url"], url=r["url"], state=ItemState.PUBLISHED,
                date=day.replace(tzinfo=UTC) if day and day.tzinfo is None else day,
                ran_in=RanIn(number=r["number"], date=r["issue_date"]) if r["number"] is not None else None,
                rank=links[r["id"]], texts=[r["title"]])
        return out

    def _hits(self, rows: list[tuple[Any, float]]) -> list[SearchHit]:
        """Rows (with their rank) as hits, each with its sources."""
        ids: list[object] = [r["id"] for r, _ in rows]
        sources: dict[int, list[str]] = {int(r["id"]): [] for r, _ in rows}
        if ids:
            for s in self.db.execute(f"SELECT item_id, source FROM item_sources WHERE item_id IN ({marks(ids)}) "
                                     "ORDER BY seen_at, source", ids):
                sources[s["item_id"]].append(s["source"])
        return [_hit(r, rank, sources[r["id"]]) for r, rank in rows]


def _hit(r: Any, rank: float, sources: list[str]) -> SearchHit:
    article = Article.model_validate_json(r["article"]) if r["article"] else None
    enrichment = Enrichment.model_validate_json(r["fields"]) if r["fields"] else None
    ran = json.loads(r["ran"]) if r["ran"] else None
    return SearchHit(
        id=r["id"], title=(enrichment.title if enrichment else "") or r["title"] or (article.title if article else ""),
        url=r["url"], state=ItemState(r["state"]), sources=sources,
        section=enrichment.section if enrichment else None, tags=enrichment.tags if enrichment else [],
        date=parse_ts(r["dated"]), ran_in=RanIn(number=ran[0], date=ran[1]) if ran else None, rank=rank,
        texts=[enrichment.summary if enrichment else "", article.text[:BODY_CHARS] if article else "", r["snippet"],
               r["title"]],
    )


# ---- Postgres ---------------------------------------------------------------------------------------
# The same index for a Postgres store (#17): the tokens above in a tsvector with the 'simple' config
# (no stemming, no stop words: jieba has done the cutting), weighted A title, B summary, C meta, D text.
POSTGRES_INDEX_DDL = """
CREATE TABLE IF NOT EXISTS search_docs (
    item_id BIGINT PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    doc TSVECTOR NOT NULL
);
CREATE INDEX IF NOT EXISTS search_docs_doc ON search_docs USING GIN (doc)
"""
POSTGRES_UPSERT = (
    "INSERT INTO search_docs(item_id, doc) VALUES (%s, setweight(to_tsvector('simple', %s), 'A') || "
    "setweight(to_tsvector('simple', %s), 'B') || setweight(to_tsvector('simple', %s), 'D') || "
    "setweight(to_tsvector('simple', %s), 'C')) ON CONFLICT (item_id) DO UPDATE SET doc = excluded.doc"
)


def postgres_search_sql(query: Query, filters: SearchFilters) -> tuple[str, list[object]]:
    """The ranking step of the search as Postgres SQL (`%s` placeholders) and its parameters: rows of
    (id, rank), best first, as SQLite's first step returns them; the hits' texts are then read by id.
    Weights {D, C, B, A} mirror WEIGHTS' order of importance."""
    from curator.search import tsquery_expression

    ran = ("COALESCE((SELECT json_build_array(a.issue_number, a.issue_date)::text FROM archive a "
           "WHERE a.canonical_url = i.canonical_url AND a.issue_number IS NOT NULL ORDER BY a.issue_number LIMIT 1), "
           "(SELECT json_build_array(s.number, substr(s.published_at, 1, 10))::text FROM issue_items ii "
           "JOIN issues s ON s.id = ii.issue_id WHERE ii.item_id = i.id AND s.state = 'published' "
           "AND i.state = 'published' ORDER BY s.number LIMIT 1))")
    where, params = _filter_sql(filters, ran, "(e.fields::json ->> 'section')")
    sql = ("SELECT d.item_id AS id, -ts_rank_cd('{0.1, 0.3, 0.5, 1.0}', d.doc, q.tsq) AS rank FROM search_docs d "
           "CROSS JOIN (SELECT to_tsquery('simple', ?) AS tsq) q JOIN items i ON i.id = d.item_id "
           f"LEFT JOIN enrichments e ON e.item_id = i.id WHERE d.doc @@ q.tsq {''.join(' AND ' + w for w in where)} "
           "ORDER BY rank, i.id LIMIT ?")
    return sql.replace("?", "%s"), [tsquery_expression(query), *params, filters.limit]
