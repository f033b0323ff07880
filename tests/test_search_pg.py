"""The Postgres dialect of search (curator/store/search.py) on a real Postgres: the same tokens in a
tsvector ('simple'), ranked with ts_rank_cd, give the hits SQLite's FTS5 gives.

Until a Postgres store lands (#17) the SQL is run through `psql` on the loopback server of tests/servers.py,
over the same documents a real SQLite store indexed; the store-level test skips with its reason."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime

import pytest

from curator.models import Enrichment
from curator.models.search import SearchFilters
from curator.search import parse_query
from curator.store import Store
from curator.store.search import POSTGRES_INDEX_DDL, POSTGRES_UPSERT, postgres_search_sql, search_docs
from tests.test_search import FILLER, add, fill

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SCHEMA = """
CREATE TABLE items (id BIGINT PRIMARY KEY, canonical_url TEXT, url TEXT, title TEXT, snippet TEXT, state TEXT,
                    published_at TEXT, discovered_at TEXT, article TEXT);
CREATE TABLE enrichments (item_id BIGINT PRIMARY KEY, fields TEXT);
CREATE TABLE item_sources (item_id BIGINT, source TEXT);
CREATE TABLE archive (canonical_url TEXT, issue_number INTEGER, issue_date TEXT);
CREATE TABLE issues (id BIGINT PRIMARY KEY, number INTEGER, state TEXT, published_at TEXT);
CREATE TABLE issue_items (issue_id BIGINT, item_id BIGINT, section TEXT);
"""


def literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool | int | float):
        return str(int(value) if isinstance(value, bool) else value)
    return "'" + str(value).replace("'", "''") + "'"


def bind(sql: str, params: list[object]) -> str:
    """psql has no bind parameters on Postgres 15: each `%s` becomes a quoted literal, in order."""
    parts = sql.split("%s")
    assert len(parts) == len(params) + 1
    return "".join(p + (literal(v) if i < len(params) else "") for i, (p, v) in
                   enumerate(zip(parts, [*params, None], strict=True)))


def psql(url: str, sql: str) -> list[list[str]]:
    out = subprocess.run(["psql", url, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True,
                         text=True, check=False, timeout=60)
    assert out.returncode == 0, out.stderr
    return [line.split("|") for line in out.stdout.splitlines() if line]


def copy_to_postgres(store: Store, url: str) -> None:
    """The SQLite store's rows and index documents, as a Postgres store would hold them."""
    psql(url, SCHEMA + POSTGRES_INDEX_DDL)
    statements = []
    for r in store.db.execute("SELECT id, canonical_url, url, title, snippet, state, published_at, discovered_at, "
                              "article FROM items"):
        statements.append(bind("INSERT INTO items VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", list(r)))
        statements.append(bind(POSTGRES_UPSERT, [r["id"], *search_docs([(r["id"], *store._search_texts(r["id"]))])[0][1:]]))
    for table, cols in (("enrichments", "item_id, fields"), ("item_sources", "item_id, source"),
                        ("archive", "canonical_url, issue_number, issue_date"),
                        ("issues", "id, number, state, published_at"), ("issue_items", "issue_id, item_id, section")):
        for r in store.db.execute(f"SELECT {cols} FROM {table}"):
            statements.append(bind(f"INSERT INTO {table}({cols}) VALUES ({', '.join(['%s'] * len(r))})", list(r)))
    psql(url, ";\n".join(statements))


def pg_ids(url: str, q: str, **filters: object) -> list[int]:
    sql, params = postgres_search_sql(parse_query(q), SearchFilters(**filters))
    return [int(row[0]) for row in psql(url, bind(sql, params))]


@pytest.fixture
def both(tmp_path, pg_url):
    if shutil.which("psql") is None:
        pytest.skip("no psql on PATH (Debian's postgresql-client)")
    from curator.models import ArchiveLink

    with Store(tmp_path / "curator.db", clock=lambda: NOW) as store:
        fill(store)
        ids = {
            "title": add(store, 1, "向量数据库的索引原理", "HNSW 与 IVF 的取舍。", summary="讲清楚近邻检索。", source="hn"),
            "summary": add(store, 2, "检索增强生成的实践", "RAG 系统的工程细节。", summary="文章比较了几种向量数据库。",
                           source="lobsters"),
            "body": add(store, 3, "本周数据工程综述", "文章很长。" * 30 + "最后提到了向量数据库的选型。", summary="数据平台的一周。"),
            "compound": add(store, 4, "大模型推理优化实践", "量化与投机解码。"),
            "looser": add(store, 5, "大语言模型的评测", "基准与方法。"),
            "english": add(store, 6, "Rust web frameworks compared", "axum and actix under load.", summary="Rust web."),
        }
        [url] = [i.canonical_url for i in store.items(ids=[ids["title"]])]
        store.add_archive_links([ArchiveLink(url, url, "t", "", 296, "2026-05-01", "x.md")])
        store.refresh_search_index()
        copy_to_postgres(store, pg_url)
        yield store, pg_url, ids


def test_postgres_ranks_and_tokenises_like_sqlite(both):
    store, url, ids = both
    assert pg_ids(url, "向量数据库") == [ids["title"], ids["summary"], ids["body"]]
    assert pg_ids(url, "大模型") == [ids["compound"]]  # 大模型推理, not 大语言模型
    assert pg_ids(url, "RUST WEB") == [ids["english"]]
    for q in ("向量数据库", "大模型", "模型", "rust", "数据 -向量", "axum OR 投机解码", '"rust web"', FILLER[0][0]):
        sqlite = [h.id for h in store.search(parse_query(q))]
        # The same hits; bm25 and ts_rank_cd weigh length differently, so near-equal hits may swap places.
        assert sorted(pg_ids(url, q)) == sorted(sqlite), q


def test_postgres_filters_like_sqlite(both):
    store, url, ids = both
    for filters in ({"source": "hn"}, {"published": True}, {"published": False}, {"section": "tech"},
                    {"limit": 1}):
        sqlite = [h.id for h in store.search(parse_query("向量数据库"), SearchFilters(**filters))]
        assert pg_ids(url, "向量数据库", **filters) == sqlite, filters  # title > summary > body on both
    assert pg_ids(url, "向量数据库", published=True) == [ids["title"]]


def test_a_postgres_store_searches_with_these_functions(pg_url):
    """The store-level check: a Postgres store (store.url) searches through the same methods as SQLite's."""
    with Store(pg_url, clock=lambda: NOW) as store:
        fill(store)
        compound = add(store, 4, "大模型推理优化实践", "量化与投机解码。")
        add(store, 5, "大语言模型的评测", "基准与方法。")
        assert [h.id for h in store.search(parse_query("大模型"))] == [compound]
        # The index follows a re-enrichment there too (triggers queue the item, the next search re-indexes).
        store.save_enrichment(compound, Enrichment(title="大模型推理优化实践", summary="向量数据库的选型。", tags=[],
                                                   section="tech", score=50, backend="offline"), "h4b")
        assert compound in [h.id for h in store.search(parse_query("向量数据库"))]


def test_a_postgres_store_finds_what_a_sqlite_store_finds(pg_url, tmp_path):
    """The same items stored in each: the same hits for the same queries and filters."""
    with Store(pg_url, clock=lambda: NOW) as pg, Store(tmp_path / "s.db", clock=lambda: NOW) as lite:
        for store in (pg, lite):
            fill(store)
            add(store, 1, "向量数据库的新选择", "正文。", summary="一周综述。", source="hn")
            add(store, 2, "本周数据工程", "文章提到向量数据库。", summary="数据平台。")
            add(store, 3, "Rust Web 框架 axum", "Rust web frameworks compared.", summary="axum and more.")
        for q in ("向量数据库", "rust", "数据 -向量", "axum OR 投机解码", FILLER[0][0]):
            for filters in ({}, {"source": "hn"}, {"section": "tech"}, {"limit": 1}):
                got = [h.id for h in pg.search(parse_query(q), SearchFilters(**filters))]
                want = [h.id for h in lite.search(parse_query(q), SearchFilters(**filters))]
                assert sorted(got) == sorted(want), (q, filters)
