"""Copy patterns shared by enrichment's cleanup and lint's copy rules: what a summary must not carry.

Scaffolding labels (`标题：`, `摘要：`), a source's citation markers (`[1]`), a video page's chrome
("如果播放没有很快开始", "show transcript"), a sentence that repeats the title. Cleanup takes them off
before summarising (`curator.enrich.cleanup`); lint reports them in a draft (`curator.lint_copy`), so
both read one definition. Pure and deterministic.
"""

from __future__ import annotations

import functools
import re

from curator import text as textutil
from curator.titles import pipe_segments

__all__ = ["CHROME", "CITATION", "SCAFFOLD", "repeats_title"]

# Labels an outline or an LLM's notes put before the prose. The label goes; for the title/keyword
# labels the whole line goes (it repeats the headline or lists tags, it is not prose).
_SCAFFOLD_DROP = r"标题|题目|主标题|副标题|关键词|关键字|标签|视频标题|title|keywords|tags"
_SCAFFOLD_KEEP = (
    r"引言|导语|前言|简介|摘要|概述|概要|总结|小结|结论|结语|核心观点|主要观点|核心内容|主要内容|内容概要|"
    r"要点|重点|亮点|背景|正文|详细内容|视频内容|视频简介|内容简介|一句话总结|tl;?dr|summary|"
    r"introduction|overview|key points?|takeaways?|conclusion|background"
)
SCAFFOLD = re.compile(
    rf"^\s*[【\[(（]?\s*(?:(?P<drop>{_SCAFFOLD_DROP})|(?P<keep>{_SCAFFOLD_KEEP}))\s*[】\])）]?\s*[:：]\s*",
    re.IGNORECASE,
)

# [1] [12] [1,2] [1-3] [1][2] 【1】 ^[1]: a source's citation markers (a repost keeps them, the
# references list does not come along).
CITATION = re.compile(
    r"\^?(?:\[\s*(?:注\s*)?\d{1,3}(?:\s*[,，、\-–]\s*\d{1,3})*\s*\]|【\s*(?:注\s*)?\d{1,3}\s*】)"
)

# Phrases of a video player and its page around the notes (a whole line for the nav words).
_CHROME_PHRASES = (
    r"如果播放没有很快开始|请尝试重启(?:您的)?设备|您观看的视频可能会添加到|已暂停自动播放|自动播放已暂停|"
    r"if playback doesn'?t begin shortly|try restarting your device|videos you watch may be added|"
    r"autoplay is paused|you'?re signed out|感谢(?:您的)?(?:观看|收看|收听)|别忘了(?:点赞|订阅|关注|投币)|一键三连|"
    r"thanks for watching|like and subscribe|(?:smash|hit) (?:that|the) like|^(?:up next|next up|接下来播放|下一个|相关推荐|猜你喜欢|热门推荐|"
    r"更多视频|推荐视频|相关视频|展开|收起|显示更多|show more|show less|subscribe|订阅|分享|share|save|保存|举报|"
    r"显示转写文稿|转写文稿|show transcript|transcript|文字记录|评论区|发表评论|"
    r"上一篇|下一篇|返回顶部|首页|登录|注册|sign in|log in|home|menu|菜单)\s*$|"
    r"^\s*(?:正在加载|loading)\W*$|^\s*(?:全部|all)\s*(?:评论|comments)\W*$"
)
CHROME = re.compile(_CHROME_PHRASES, re.IGNORECASE)


_NOT_ALNUM = re.compile(r"[\W_]+")  # \w is str.isalnum() and the underscore


def _norm(s: str) -> str:
    return _NOT_ALNUM.sub("", textutil.normalise_for_match(s))


@functools.lru_cache(maxsize=256)
def _title_refs(title: str) -> tuple[str, ...]:
    """The title and its keyword-pipe parts, normalised: once per title, not once per sentence compared."""
    return tuple(ref for ref in (_norm(part) for part in [title, *pipe_segments(title)]) if ref)


def repeats_title(sentence: str, title: str) -> bool:
    """The sentence is the title (or a keyword-pipe part of it) over again, give or take punctuation."""
    bare = _norm(sentence)
    if len(bare) < 4:
        return False
    for ref in _title_refs(title):
        if (bare == ref or (len(bare) >= 6 and bare in ref) or (len(ref) >= 6 and bare.startswith(ref)
                                                                      and len(bare) <= len(ref) * 1.3)):
            return True
    return False
