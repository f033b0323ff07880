"""Issue 14: a video page without notes that carries a transcript is summarised from the transcript,
cleaned of timestamps, cue numbers and voice tags; a page that carries none is still skipped.

The shapes (tests/copy_web.py): a hidden transcript panel (`class` naming a transcript, a timestamp per
segment), `itemprop="transcript"` with `[00:00:03]` stamps, schema.org `VideoObject.transcript` in
JSON-LD, a Bilibili-style subtitle cue list in a page script, and a same-site WebVTT `<track>` read by
the normal fetcher. Collected offline from the loopback web, real SQLite."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from curator import transcript
from curator.models import Item, ItemState
from curator.pipeline import Pipeline
from curator.settings import load_settings
from curator.store import Store
from tests.copy_web import CopyWeb

TRANSCRIBED = {  # page -> a sentence its transcript says (and the page text nowhere else)
    "/video/quantum-chip": "这颗芯片最大的突破在于量子纠错",
    "/video/ev-prices": "其中一家把入门车型的售价降到了十万元以内",
    "/video/headsets": "第三季度头显出货量同比下降了两成",
    "/video/db-license": "新许可证禁止云厂商直接把它作为托管服务出售",
    "/video/robots": "目前它们主要负责搬运零件和质检这类重复性工作",
}
STAMP = re.compile(r"\d{1,2}:\d{2}|-->|WEBVTT|<v |\[\d")


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Item], dict[str, int], CopyWeb]:
    import shutil

    repo = Path(__file__).resolve().parents[1]
    home = tmp_path_factory.mktemp("transcripts")
    (home / "config").mkdir()
    shutil.copyfile(repo / "config" / "curator.toml", home / "config" / "curator.toml")
    shutil.copytree(repo / "prompts", home / "prompts")
    (home / "config" / "zz-tests.toml").write_text("[run]\nmax_age_days = 0\n")
    with CopyWeb() as web:
        (home / "config" / "sources.toml").write_text(f'[[sources]]\nname = "视频"\nurl = "{web.origin}/feed.xml"\n')
        settings = load_settings(home, env={}, overrides={
            "fetch": {"allowed_hosts": ["127.0.0.1"]}, "llm": {"provider": "offline", "triage": False}})
        with Store(settings.db_path) as store:
            run = Pipeline(settings, store).collect()
            assert run.status == "ok", run
            items = {i.url.removeprefix(web.origin): i for i in store.items()}
        return items, dict(run.counters), web


@pytest.mark.parametrize("path", list(TRANSCRIBED))
def test_a_video_without_notes_is_summarised_from_its_transcript(collected, path: str) -> None:  # type: ignore[no-untyped-def]
    items, _, _ = collected
    item = items[path]
    assert item.state == ItemState.ENRICHED and item.article and item.enrichment, (item.state, item.reason)
    assert TRANSCRIBED[path] in item.article.text  # the transcript is the article text
    for chrome in ("如果播放", "次观看", "接下来播放"):
        assert chrome not in item.article.text, (path, chrome)
    assert not STAMP.search(item.article.text), item.article.text[:200]
    summary = item.enrichment.summary
    assert not STAMP.search(summary) and "次观看" not in summary and summary.endswith("。"), summary


def test_the_captions_track_is_read_with_the_normal_fetcher(collected) -> None:  # type: ignore[no-untyped-def]
    _, counters, _ = collected
    assert counters["fetch/captions"] == 1  # one page plays a same-site track
    assert "/media/robots.zh.vtt" not in collected[0]  # a file the page plays, not an item


def test_a_video_page_without_notes_or_transcript_is_still_skipped(collected) -> None:  # type: ignore[no-untyped-def]
    items, _, _ = collected
    assert (items["/video/gpt-5-no-notes"].state, items["/video/gpt-5-no-notes"].reason) == (ItemState.SKIPPED,
                                                                                              "not_article")


def test_cues_text_cleans_webvtt_and_srt() -> None:
    vtt = ("WEBVTT\nKind: captions\n\nNOTE produced by hand\n\n1\n00:00:00.000 --> 00:00:02.500 align:start\n"
           "<v Ana>We shipped the new compiler today\n\n2\n00:00:02.500 --> 00:00:05.000\n"
           "<v Ana>We shipped the new compiler today\n\n3\n00:00:05.000 --> 00:00:08.000\n"
           "<c.yellow>and it builds twice as fast.</c>\n")
    assert transcript.cues_text(vtt) == "We shipped the new compiler today and it builds twice as fast."
    srt = "1\n00:00:01,000 --> 00:00:03,000\n今天 我们发布了新版本\n\n2\n00:00:03,000 --> 00:00:06,000\n它的启动速度快了一倍\n"
    assert transcript.cues_text(srt) == "今天，我们发布了新版本，它的启动速度快了一倍。"
    greeted = "0:00\n大家好 我是老王\n0:03\n今天我们发布了新版本\n0:06\n它的启动速度快了一倍"
    assert transcript.cues_text(greeted) == "今天我们发布了新版本，它的启动速度快了一倍。"


def test_an_external_captions_url_is_not_a_transcript() -> None:
    """A YouTube-style player response names its captions on another host: nothing is fetched or read."""
    html = ("<html><body><script>var ytInitialPlayerResponse = {\"captions\": {\"playerCaptionsTracklistRenderer\": "
            "{\"captionTracks\": [{\"baseUrl\": \"https://www.youtube.com/api/timedtext?v=x&lang=en\"}]}}};</script>"
            "<video><track kind='captions' src='https://cdn.example.net/x.vtt'></video></body></html>")
    assert transcript.find(html) == ""
    assert transcript.caption_track(html, "https://video.example.com/watch/1") is None  # another host
    same = html.replace("https://cdn.example.net/x.vtt", "/subs/x.srt")
    assert transcript.caption_track(same, "https://video.example.com/watch/1") == "https://video.example.com/subs/x.srt"


def test_a_page_with_notes_keeps_its_notes_over_a_transcript() -> None:
    notes = "".join(f"<p>这是视频的第{i}段说明文字，介绍了本期节目讨论的主要内容和背景信息。</p>" for i in range(6))
    spoken = "".join(f"<p>0:{i:02d} 这是转写里的第{i}句话，内容和说明不同。</p>" for i in range(10, 20))
    html = f"<html><body><article>{notes}</article><div class='transcript'>{spoken}</div></body></html>"
    found = transcript.find(html)
    assert "转写里的第10句话" in found and "0:10" not in found
    text = "\n".join(f"这是视频的第{i}段说明文字，介绍了本期节目讨论的主要内容和背景信息。" for i in range(6))
    assert not transcript.stands_for(text, "节目", 120, found)


@pytest.mark.parametrize("name", ["class='transcript'", "class='Transcript-panel'", "id='VIDEO_TRANSCRIPT'"])
def test_a_transcript_block_is_found_whatever_the_case_of_its_name(name: str) -> None:
    spoken = "".join(f"<p>0:{i:02d} 这是转写里的第{i}句话，内容和说明不同。</p>" for i in range(10, 20))
    found = transcript.find(f"<html><body><h1>节目</h1><div {name}>{spoken}</div></body></html>")
    assert "转写里的第10句话" in found and "0:10" not in found


def test_a_page_without_transcript_words_or_cue_keys_is_not_parsed_again() -> None:
    plain = "<html><body><p>No captions here.</p><script>var t = {\"StartTime\": \"1970-01-01\"};</script></body></html>"
    assert not transcript.sniff(plain)
    assert transcript.sniff(plain.replace("No captions", "Read the Transcript"))
    assert transcript.sniff('<script>var s = [{"from": 0.5, "to": 2.0, "content": "hi"}]</script>')
