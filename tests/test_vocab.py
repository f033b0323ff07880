"""Taiwan → mainland vocabulary for zh-Hans output (phrases, not only characters)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curator import vocab
from curator.enrich.offline import OfflineBackend
from curator.models import EnrichRequest
from curator.settings import load_settings

# Taiwan words a Simplified text never uses (程式 is not here: 程式化 is mainland usage too).
WORDS = [
    ("软体", "软件"), ("演算法", "算法"), ("人工智慧", "人工智能"),
    ("硬体", "硬件"), ("记忆体", "内存"), ("伺服器", "服务器"), ("晶片", "芯片"),
]
# The list, as a Taiwan source writes it: the whole phrase table applies.
TW_WORDS = [
    ("軟體", "软件"), ("程式", "程序"), ("演算法", "算法"), ("人工智慧", "人工智能"),
    ("影片", "视频"), ("硬體", "硬件"), ("記憶體", "内存"),
]


@pytest.mark.parametrize(("tw", "mainland"), TW_WORDS)
def test_word_list_in_a_taiwan_source(tw: str, mainland: str) -> None:
    src = f"這家公司的{tw}很有名，使用者很多。"
    assert vocab.is_taiwan_usage(src)
    assert vocab.to_mainland(src, taiwan=True) == f"这家公司的{mainland}很有名，用户很多。"


@pytest.mark.parametrize(("tw", "mainland"), WORDS)
def test_word_list_in_simplified_text(tw: str, mainland: str) -> None:
    assert vocab.to_mainland(f"这家公司的{tw}很出名。") == f"这家公司的{mainland}很出名。"
    assert vocab.regional_words(f"这家公司的{tw}很出名。") == [tw]


def test_traditional_taiwan_source_gets_the_whole_table() -> None:
    src = "這款軟體可以在筆電上剪輯影片，還支援更大的記憶體。"
    assert vocab.is_taiwan_usage(src)
    assert vocab.to_mainland(src, taiwan=True) == "这款软件可以在笔电上剪辑视频，还支持更大的内存。"


@pytest.mark.parametrize("text", [
    "方程式赛车队的程序员在执行核心任务，这部影片的资料很丰富。",
    "手机支持离线翻译和线上会议，服务器宕机后可以查看截图。",
    "这是一篇进阶教程，用户可以在社群里交流。",
])
def test_mainland_words_are_left_alone(text: str) -> None:
    assert not vocab.is_taiwan_usage(text)
    assert vocab.to_mainland(text) == text
    assert vocab.regional_words(text) == []


def test_offline_backend_writes_mainland_vocabulary() -> None:
    backend = OfflineBackend(load_settings(Path(__file__).resolve().parents[1]))
    text = ("微軟宣布新版 Windows 將內建人工智慧助理，可以自動整理影片和文件。\n"
            "這套軟體需要至少 16GB 記憶體，並由新的演算法在本機執行。\n"
            "微軟表示，新功能將在明年上半年推送給所有使用者。")
    enr = backend.enrich(EnrichRequest(item_id=1, url="https://example.com/a", title="微軟新版 Windows 內建人工智慧",
                                       text=text, lang="zh", source="test"))
    out = enr.title + enr.summary
    for tw in ("软体", "人工智慧", "记忆体", "演算法", "影片"):
        assert tw not in out, out
    assert "人工智能" in enr.title


# ---- the tables derived from OpenCC: a shipped copy, used only while it matches the dictionaries -------


def _derived() -> dict[str, object]:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    try:
        import opencc_tables
    finally:
        sys.path.pop(0)
    return opencc_tables.derive()  # type: ignore[no-any-return]


def test_the_shipped_opencc_tables_are_what_the_installed_dictionaries_give() -> None:
    """curator/opencc_tables.json equals a fresh derivation (after an OpenCC upgrade: run
    tools/opencc_tables.py), and it is the copy in use: nothing is derived at start-up."""
    from curator import text

    shipped = json.loads(text.TABLES_FILE.read_text(encoding="utf-8"))
    assert shipped == _derived()
    assert text.shipped_tables() == shipped
    assert len(shipped["taiwan_phrases"]) > 300 and shipped["taiwan_phrases"]["软体"] == "软件"


def test_tables_from_other_dictionaries_are_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A shipped copy whose fingerprint is not the installed dictionaries' is ignored: the tables are
    derived, and a Taiwan word is still found and converted."""
    from curator import text

    stale = json.loads(text.TABLES_FILE.read_text(encoding="utf-8"))
    stale["fingerprint"]["dictionary/TWPhrasesRev.txt"] = "0:00000000"
    stale["taiwan_phrases"] = {}  # would find no Taiwan word at all, were it used
    stale["changeable"] = ""  # would convert no Traditional text
    path = tmp_path / "opencc_tables.json"
    path.write_text(json.dumps(stale, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(text, "TABLES_FILE", path)
    for cached in (text.shipped_tables, text._changeable, text._traditional_table, vocab._phrases, vocab._tables):
        cached.cache_clear()
    try:
        assert text.shipped_tables() == {}
        assert vocab.regional_words("这款软体很好用") == ["软体"]
        assert vocab.to_mainland("這款軟體很好用") == "这款软件很好用"
    finally:
        for cached in (text.shipped_tables, text._changeable, text._traditional_table, vocab._phrases, vocab._tables):
            cached.cache_clear()


@pytest.mark.parametrize("text", ["", "软", "这款软体", "软体。", "程式设计", "记忆体和演算法", "abc 软 体", "模型推理"])
def test_the_phrase_finder_says_what_a_search_of_every_phrase_says(text: str) -> None:
    table, finder = vocab._phrases()
    assert finder.search(text) == any(phrase in text for phrase in table)
