"""Search over a real SQLite store: ranking, jieba, filters, "already ran in #N", the index kept in sync."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime

import pytest

from curator.models import Article, Candidate, Enrichment, ItemState
from curator.models.review import ArchiveLink
from curator.models.search import SearchFilters
from curator.search import SearchQueryError, parse_query, snippet
from curator.store import MIGRATIONS, Store
from curator.store.migrations import statements

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FILLER = [  # so bm25's document frequencies mean something, as in a real week
    ("Kubernetes 1.32 发布说明", "本次发布带来了调度器的改进和新的存储接口。"),
    ("Python 3.14 的新特性", "解释器启动更快，错误信息更友好。"),
    ("浏览器渲染流水线详解", "从解析 HTML 到合成图层，一帧是怎样画出来的。"),
    ("PostgreSQL 18 beta", "Asynchronous I/O lands in the storage layer, with faster sequential scans."),
    ("手机芯片功耗测试", "我们对比了五款旗舰芯片在游戏场景下的功耗与发热。"),
]


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "curator.db", clock=lambda: NOW) as s:
        yield s


def add(store: Store, n: int, title: str, text: str = "", *, summary: str = "", source: str = "feed-a",
        tags: list[str] | None = None, section: str = "tech", published_at: datetime | None = None) -> int:
    url = f"https://site{n}.example/post/{n}"
    item_id, _ = store.add_candidate(Candidate(url=url, title=title, source=source, published_at=published_at), url)
    if text:
        store.save_article(item_id, Article(url=url, title=title, text=text), f"h{n}")
    if summary:
        store.save_enrichment(item_id, Enrichment(title=title, summary=summary, tags=tags or [], section=section,
                                                  score=50, backend="offline"), f"h{n}")
    return item_id


def fill(store: Store, start: int = 100) -> None:
    for k, (title, text) in enumerate(FILLER):
        add(store, start + k, title, text, summary=text)


def ids(store: Store, q: str, **filters) -> list[int]:
    return [h.id for h in store.search(parse_query(q), SearchFilters(**filters))]


def test_a_title_match_ranks_above_a_body_match(store):
    fill(store)
    body = add(store, 1, "本周数据工程综述", "文章很长。" * 30 + "最后顺带提到了向量数据库的选型。" + "其他内容。" * 30,
               summary="数据平台的一周。")
    title = add(store, 2, "向量数据库的索引原理", "HNSW 与 IVF 的取舍。", summary="讲清楚近邻检索。")
    summary = add(store, 3, "检索增强生成的实践", "RAG 系统的工程细节。", summary="文章比较了几种向量数据库。")
    assert ids(store, "向量数据库") == [title, summary, body]


def test_chinese_compounds_mixed_text_and_case(store):
    fill(store)
    compound = add(store, 1, "大模型推理优化实践", "量化、KV cache 与投机解码。")
    mixed = add(store, 2, "DeepSeek 开源 Rust 异步运行时", "基于 io_uring 的 runtime，吞吐提升明显。")
    traditional = add(store, 3, "機器學習模型的部署", "在邊緣裝置上執行推論。")
    looser = add(store, 4, "大语言模型的评测", "基准与方法。")
    assert ids(store, "大模型") == [compound]  # 大模型 finds 大模型推理 (jieba: 大 + 模型 + 推理), not 大语言模型
    assert set(ids(store, "模型")) == {compound, traditional, looser}
    assert ids(store, "向量数据库") == [] and ids(store, "数据库") == []
    assert ids(store, "推理优化") == [compound]
    assert ids(store, "deepseek") == ids(store, "DEEPSEEK") == ids(store, "DeepSeek") == [mixed]
    assert ids(store, "rust 异步") == [mixed]  # zh and en words in one query
    assert ids(store, "IO_URING") == [mixed]
    assert ids(store, "ｒｕｓｔ　异步") == [mixed]  # full-width letters and space, as a Chinese IME types them
    assert ids(store, "机器学习") == [traditional]  # Traditional text is found by Simplified words
    assert ids(store, "异步 芯片") == []  # every word must match
    assert ids(store, "芯片 OR 异步") != []


def test_phrases_exclusions_and_or(store):
    fill(store)
    a = add(store, 1, "Rust web frameworks compared", "axum, actix and rocket under load.")
    b = add(store, 2, "Rust for embedded", "no_std crates on a microcontroller; web is not the point here.")
    c = add(store, 3, "Go web servers", "net/http is all you need.")
    assert ids(store, '"rust web"') == [a]
    assert set(ids(store, "rust -embedded")) == {a}
    assert set(ids(store, "rust NOT embedded")) == {a}
    assert set(ids(store, "axum OR net/http")) == {a, c}
    assert set(ids(store, "web")) == {a, b, c}


@pytest.mark.parametrize("typed", ['"unclosed phrase', 'rust "web', "OR rust", "rust OR", "rust OR OR go",
                                   "-embedded", "NOT", "*** ( ) ^", "   "])
def test_a_query_that_cannot_be_searched_says_why(store, typed):
    with pytest.raises(SearchQueryError) as err:
        store.search(parse_query(typed))
    assert "type" in str(err.value) or "close" in str(err.value)  # it says what to do


@pytest.mark.parametrize("typed", ["NEAR(rust web)", "title:rust", "rust*", "rust AND (web", "^rust", "rust + web",
                                   "a''b", 'x""y', "rust; DROP TABLE items"])
def test_fts_syntax_typed_by_an_editor_is_searched_as_words_never_an_error(store, typed):
    fill(store)
    hit = add(store, 1, "Rust web title near drop table items", "rust web a b x y")
    found = store.search(parse_query(typed))
    assert all(h.id == hit for h in found)
    assert store.count_items() == 1 + len(FILLER)


def test_filters_by_state_section_source_dates_and_limit(store):
    fill(store)
    a = add(store, 1, "向量数据库 A", "正文", summary="摘要", source="hn", section="ai",
            published_at=datetime(2026, 11, 2, 8, tzinfo=UTC))
    b = add(store, 2, "向量数据库 B", "正文", summary="摘要", source="lobsters", section="tools",
            published_at=datetime(2026, 11, 20, 8, tzinfo=UTC))
    c = add(store, 3, "向量数据库 C", "正文", source="hn")  # extracted, not enriched; dated when discovered (NOW)
    assert set(ids(store, "向量数据库")) == {a, b, c}
    assert set(ids(store, "向量数据库", states=[ItemState.EXTRACTED])) == {c}
    assert set(ids(store, "向量数据库", states=[ItemState.ENRICHED, ItemState.EXTRACTED])) == {a, b, c}
    assert ids(store, "向量数据库", section="tools") == [b]
    assert set(ids(store, "向量数据库", source="hn")) == {a, c}
    assert set(ids(store, "向量数据库", since=date(2026, 11, 20))) == {b, c}
    assert set(ids(store, "向量数据库", until=date(2026, 11, 20))) == {a, b}  # until is the whole day
    assert ids(store, "向量数据库", since=date(2026, 11, 3), until=date(2026, 11, 21)) == [b]
    assert len(ids(store, "向量数据库", limit=2)) == 2
    assert ids(store, "向量数据库", source="nosuch") == []


def test_source_and_tags_are_searchable(store):
    fill(store)
    hit = add(store, 1, "一篇文章", "正文", summary="摘要", source="ruanyf-weekly", tags=["数据库", "开源"])
    assert ids(store, "ruanyf") == [hit]
    assert ids(store, "开源") == [hit]


def test_an_item_that_already_ran_says_in_which_issue(store):
    fill(store)
    ran = add(store, 1, "向量数据库的索引原理", "正文", summary="摘要")
    fresh = add(store, 2, "向量数据库入门", "正文", summary="摘要")
    [url] = [i.canonical_url for i in store.items(ids=[ran])]
    store.add_archive_links([ArchiveLink(url, url, "向量数据库的索引原理", "", 296, "2026-05-01", "issue-296.md")])
    hits = {h.id: h for h in store.search(parse_query("向量数据库"))}
    assert hits[ran].ran_in is not None and (hits[ran].ran_in.number, hits[ran].ran_in.date) == (296, "2026-05-01")
    assert hits[fresh].ran_in is None
    assert ids(store, "向量数据库", published=True) == [ran]
    assert ids(store, "向量数据库", published=False) == [fresh]


def test_our_own_published_issue_counts_as_ran(store):
    from curator.models import Placement

    fill(store)
    item = add(store, 1, "向量数据库的索引原理", "正文", summary="摘要")
    store.save_draft_issue(12, "drafts/issue-12.md", [Placement(item_id=item, section="ai", position=0)])
    with store.transaction():
        store.mark_published(12, "site/12.md", "2026-11-24T09:00:00+00:00")
        store.set_items_state([item], ItemState.PUBLISHED, "2026-11-24T09:00:00+00:00")
    [hit] = store.search(parse_query("索引原理"))
    assert hit.ran_in is not None and (hit.ran_in.number, hit.ran_in.date) == (12, "2026-11-24")
    assert hit.state == ItemState.PUBLISHED
    assert ids(store, "索引原理", section="ai") == [item]


def test_the_index_follows_re_enrichment_and_new_articles(store):
    fill(store)
    item = add(store, 1, "一周见闻", "正文说的是光刻机。", summary="旧摘要讲编译器。")
    assert ids(store, "编译器") == [item]
    store.save_enrichment(item, Enrichment(title="一周见闻", summary="新摘要讲数据库。", section="tech", score=40,
                                           backend="openai"), "h1b")
    assert ids(store, "编译器") == []
    assert ids(store, "数据库") == [item]
    store.update_enrichment(item, Enrichment(title="一周见闻", summary="编辑改成讲操作系统。", section="tech", score=40,
                                             backend="openai"))
    assert ids(store, "操作系统") == [item] and ids(store, "数据库") == []
    store.save_article(item, Article(url="https://site1.example/post/1", text="全新的正文讲量子计算。"), "h1c")
    assert ids(store, "量子计算") == [item] and ids(store, "光刻机") == []
    assert store.search_pending() == 0


def test_a_feed_read_again_queues_nothing_to_re_index_but_a_new_source_does(store):
    fill(store)
    url = "https://site1.example/post/1"
    item = add(store, 1, "一周见闻", "正文说的是光刻机。", summary="摘要。", source="feed-a")
    assert ids(store, "光刻机") == [item] and store.search_pending() == 0
    # The next run reads the feed again (a host that ignores validators): the same entry, new points.
    store.add_candidate(Candidate(url=url, title="一周见闻", source="feed-a", points=12), url)
    assert store.search_pending() == 0  # nothing indexed changed: no re-cut of its text on the next run
    store.add_candidate(Candidate(url=url, title="一周见闻", source="hn-front"), url)
    assert store.search_pending() == 1
    assert ids(store, "hn") == [item]


def test_the_index_follows_a_row_deleted_by_another_writer(store):
    fill(store)
    item = add(store, 1, "要删除的条目", "正文")
    assert ids(store, "删除") == [item]
    with store.transaction():
        store.db.execute("DELETE FROM item_sources WHERE item_id=?", (item,))
        store.db.execute("DELETE FROM items WHERE id=?", (item,))
    assert ids(store, "删除") == []


def test_the_index_follows_re_keying(tmp_path):
    """A link merged into another item by old URL rules comes back as its own item on open (rekey): its
    source now finds the new item, not the one it was merged into."""
    from tests.test_store_rekey import old_canonical_url

    db = tmp_path / "curator.db"
    first = "https://mp.weixin.qq.com/s?__biz=MzA5&mid=2461139000&idx=1&sn=a"
    second = "https://mp.weixin.qq.com/s?__biz=MzA5&mid=2461139123&idx=1&sn=b"
    assert old_canonical_url(first) == old_canonical_url(second)  # the old rules merged them
    with Store(db, clock=lambda: NOW) as store:
        fill(store)
        item, _ = store.add_candidate(Candidate(url=first, title="公众号文章", source="wechat-a"), old_canonical_url(first))
        store.add_candidate(Candidate(url=second, title="公众号文章", source="wechatdigest"), old_canonical_url(second))
        assert ids(store, "wechatdigest") == [item]
        with store.transaction():  # as an older curator left it: keys made with the old rules
            store.db.execute("UPDATE store_meta SET value='1' WHERE key='url_key_version'")
    with Store(db, clock=lambda: NOW) as store:
        assert store.rekeyed is not None and store.rekeyed.split == 1
        [moved] = ids(store, "wechatdigest")
        assert moved != item
        assert ids(store, "wechat-a") == [item]


def _store_before_search(path) -> None:
    """A store as the curator before search left it: every step up to `search_index`, recorded by name."""
    names = [m.name for m in MIGRATIONS]
    before = MIGRATIONS[:names.index("search_index")]
    db = sqlite3.connect(path)
    for step in before:
        for stmt in statements(step.sql):
            db.execute(stmt)
    db.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    db.executemany("INSERT INTO schema_migrations VALUES (?, '2026-11-01T00:00:00+00:00')", [(m.name,) for m in before])
    db.execute(f"PRAGMA user_version = {len(before)}")
    at = "2026-11-20T08:00:00+00:00"
    article = Article(url="https://old.example/a", title="旧文", text="这篇旧文讲分布式共识算法。").model_dump_json()
    db.execute("INSERT INTO items(id, canonical_url, url, title, discovered_at, state, article, updated_at) "
               "VALUES (1, 'https://old.example/a', 'https://old.example/a', '旧文一篇', ?, 'enriched', ?, ?)",
               (at, article, at))
    fields = Enrichment(title="旧文一篇", summary="讲 Raft 的摘要", tags=["分布式"], section="tech", score=60,
                        backend="offline").model_dump_json()
    db.execute("INSERT INTO enrichments VALUES (1, 'h', 'offline', '', '', ?, ?)", (fields, at))
    db.execute("INSERT INTO item_sources(item_id, source, url, seen_at) VALUES (1, 'oldfeed', 'https://old.example/a', ?)",
               (at,))
    db.execute("INSERT INTO archive(canonical_url, url, title, norm_title, issue_number, issue_date, source_file) "
               "VALUES ('https://older.example/b', 'https://older.example/b', '拜占庭容错综述', '', 42, '2023-01-02', 'i.md')")
    db.commit()
    db.close()


def test_the_migration_indexes_a_store_made_before_search(tmp_path):
    path = tmp_path / "curator.db"
    _store_before_search(path)
    with Store(path) as store:
        assert "search_index" in [r[0] for r in store.db.execute("SELECT name FROM schema_migrations")]
        assert store.search_pending() == 2  # the item and the archive link
        assert ids(store, "共识算法") == ids(store, "raft") == ids(store, "oldfeed") == ids(store, "分布式") == [1]
        [old] = store.search(parse_query("拜占庭"))
        assert old.id is None and old.ran_in is not None and old.ran_in.number == 42
        assert store.search_pending() == 0
    with Store(path) as store:  # reopened: nothing to apply, nothing to index again
        assert store.migrate() == [] and store.search_pending() == 0


def test_a_snippet_marks_the_match_in_the_original_text():
    words = parse_query("大模型 RUST").words()
    cut = snippet(["", "开头很长的铺垫。" * 20 + "这里讲大模型推理，用 Rust 写的。" + "后文。" * 30], words, width=60)
    marked = [p for p, m in cut.parts() if m]
    assert marked == ["大模型", "Rust"]
    assert cut.text.startswith("…") and cut.text.endswith("…") and len(cut.text) <= 62
    assert snippet(["标题里没有"], words).marks == ()


def test_every_title_typed_whole_finds_its_item_first(store):
    titles = [t for t, _ in FILLER] + ["东岭大学团队提出新型 2 比特量化方法，700 亿参数模型精度损失不到 2%",
                                       "Routing most traffic to a 3B model saved us 64 percent on LLM spend",
                                       "星河智能发布启明-4 开源权重：总参数 1400 亿的混合专家模型"]
    made = [add(store, 200 + k, t, "正文。", summary="摘要。") for k, t in enumerate(titles)]
    for item, title in zip(made, titles, strict=True):
        assert ids(store, title)[:1] == [item], title


def test_a_past_issues_link_that_no_item_carries_is_found_once(store):
    fill(store)
    item = add(store, 1, "向量数据库入门", "正文", summary="摘要", source="hn")
    [collected] = [i.canonical_url for i in store.items(ids=[item])]
    store.add_archive_links([
        ArchiveLink("https://old.example/pg", "https://old.example/pg", "向量数据库十年回顾", "", 150, "2024-03-01", "issue-150.md"),
        ArchiveLink("https://old.example/pg", "https://old.example/pg", "向量数据库十年回顾", "", 151, "2024-03-08", "issue-151.md"),
        ArchiveLink(collected, collected, "向量数据库入门", "", 160, "2024-05-01", "issue-160.md"),
    ])
    hits = store.search(parse_query("向量数据库"))
    assert len(hits) == 2  # the collected link once (as its item), the old one once (its first issue)
    [old] = [h for h in hits if h.id is None]
    assert (old.title, old.url, old.state) == ("向量数据库十年回顾", "https://old.example/pg", ItemState.PUBLISHED)
    assert old.ran_in is not None and (old.ran_in.number, old.ran_in.date) == (150, "2024-03-01")
    [mine] = [h for h in hits if h.id == item]
    assert mine.ran_in is not None and mine.ran_in.number == 160
    # Filters about items leave archive links out; the issue's date is theirs.
    assert [h.id for h in store.search(parse_query("向量数据库"), SearchFilters(source="hn"))] == [item]
    assert store.search(parse_query("向量数据库"), SearchFilters(published=False)) == []
    assert [h.id for h in store.search(parse_query("向量数据库"), SearchFilters(until=date(2024, 12, 31)))] == [None]
    assert [h.id for h in store.search(parse_query("十年回顾"), SearchFilters(states=[ItemState.PUBLISHED]))] == [None]
    assert store.search(parse_query("十年回顾"), SearchFilters(states=[ItemState.ENRICHED])) == []
    with store.transaction():  # re-keying or a hand edit deletes a row: the index follows
        store.db.execute("DELETE FROM archive WHERE url='https://old.example/pg'")
    assert [h.id for h in store.search(parse_query("向量数据库"))] == [item]


def test_a_search_while_a_run_holds_the_write_lock_answers_from_the_index_as_it_stands(tmp_path):
    path = tmp_path / "curator.db"
    with Store(path, clock=lambda: NOW) as store:
        fill(store)
        indexed = add(store, 1, "向量数据库的索引原理", "正文")
        assert ids(store, "向量数据库") == [indexed]
        later = add(store, 2, "向量数据库选型", "正文")  # queued for the index, not indexed yet
        run = sqlite3.connect(path, isolation_level=None)  # another program (a collect) writing
        run.execute("BEGIN IMMEDIATE")
        try:
            assert ids(store, "向量数据库") == [indexed]  # no "database is busy" error: the index as it stands
        finally:
            run.execute("ROLLBACK")
            run.close()
        assert set(ids(store, "向量数据库")) == {indexed, later}


def test_a_collects_refresh_cut_in_worker_processes_indexes_the_same_words(tmp_path, monkeypatch):
    """The end of a collect cuts a long queue into words in its worker processes: every queued item is
    indexed, with the rows the in-process refresh makes, and the searches find the same items."""
    from curator import workers as worker_pools
    from curator.store import search as store_search

    in_workers = []

    def spied(fn, batches, **kw):  # type: ignore[no-untyped-def]
        for made in real(fn, batches, **kw):
            in_workers.append(len(made))
            yield made

    real = worker_pools.map_batches
    monkeypatch.setattr(worker_pools, "map_batches", spied)
    monkeypatch.setattr(store_search, "PARALLEL_REFRESH_MIN", 5)
    monkeypatch.setattr(store_search, "REFRESH_BATCH", 3)  # several batches over both workers, the last short
    rows = {}
    for workers in (0, 2):
        with Store(tmp_path / f"w{workers}.db", clock=lambda: NOW) as s:
            fill(s)
            add(s, 1, "向量数据库的索引原理", "HNSW 与 IVF 的取舍。", summary="讲清楚近邻检索。", tags=["数据库"])
            add(s, 2, "Rust 编译器发布新版本", "The borrow checker got faster.", summary="编译更快了。")
            assert s.search_pending() == 7
            assert s.refresh_search_index(workers=workers) == 7
            assert s.search_pending() == 0
            rows[workers] = s.db.execute("SELECT rowid, title, summary, body, meta FROM search_fts ORDER BY rowid").fetchall()
            found = (ids(s, "向量数据库"), ids(s, "borrow checker"), ids(s, "编译"))
            assert all(found), found
    assert [tuple(r) for r in rows[2]] == [tuple(r) for r in rows[0]] and len(rows[0]) == 7
    assert in_workers == [3, 3, 1]  # the second store's refresh went through the worker processes
